// SPDX-License-Identifier: Apache-2.0
//
// json_config_fuzz.cc: libFuzzer target for the JSON config readers: the strict
// parser, every typed getter (on fixed paths and on paths built from the document's
// own keys), PreprocessorConfig and NormStats. Any input must give values or errors
// with messages; nothing may crash, throw or leak.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "io/json_config.h"
#include "io/norm_stats.h"
#include "io/preprocessor_config.h"

namespace {

template <typename T>
void Check(const vlart::Result<T>& r) {
  if (!r.ok() && r.status().message().empty()) std::abort();
}

void ProbePath(const vlart::JsonDocument& doc, const std::string& path) {
  Check(vlart::GetInt(doc, path));
  Check(vlart::GetInt(doc, path, 1));
  Check(vlart::GetFloat(doc, path, 0.5));
  Check(vlart::GetBool(doc, path));
  Check(vlart::GetString(doc, path, "x"));
  Check(vlart::GetIntArray(doc, path));
  Check(vlart::GetFloatArray(doc, path, {}));
  Check(vlart::GetObject(doc, path));
  (void)vlart::HasField(doc, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vlart::Result<vlart::JsonDocument> doc = vlart::ParseJsonDocument(text, "fuzz.json");
  if (!doc.ok()) {
    if (doc.status().message().empty()) std::abort();
    return 0;
  }
  Check(vlart::PreprocessorConfig::FromDocument(*doc));
  Check(vlart::NormStats::FromDocument(*doc));
  for (const char* path : {"model_type", "size", "size.height", "norm_stats.state.mean",
                           "florence_config.vision_config.depths", "a.b.c", ""}) {
    ProbePath(*doc, path);
  }
  // Paths from the document itself, two levels deep.
  int budget = 64;
  for (const auto& [k1, v1] : doc->root.items()) {
    if (--budget < 0) break;
    ProbePath(*doc, k1);
    if (!v1.is_object()) continue;
    for (const auto& [k2, unused] : v1.items()) {
      if (--budget < 0) break;
      ProbePath(*doc, k1 + "." + k2);
    }
  }
  return 0;
}
