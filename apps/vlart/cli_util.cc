// SPDX-License-Identifier: Apache-2.0
//
// cli_util.cc: see cli_util.h.

#include "cli_util.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vlart::cli {

Result<std::vector<double>> ParseNumberList(const std::string& text, const std::string& flag) {
  std::vector<double> out;
  size_t pos = 0;
  int index = 0;
  while (pos <= text.size()) {
    const size_t comma = text.find(',', pos);
    const std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(item.c_str(), &end);
    const bool whole = end != item.c_str() && *end == '\0';
    if (item.empty() || !whole || errno == ERANGE || !std::isfinite(v)) {
      return InvalidArgument("{}: element {}: expected a finite number, got '{}'", flag, index, item);
    }
    out.push_back(v);
    ++index;
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

int Fail(const std::string& command, const Status& status) {
  std::fprintf(stderr, "vlart %s: %s\n", command.c_str(), status.message().c_str());
  return 1;
}

std::string ActionsJson(const HostTensor& actions) {
  const int64_t a = actions.shape()[0];
  const int64_t d = actions.shape()[1];
  std::string s = "[";
  for (int64_t i = 0; i < a; ++i) {
    s += i ? ",\n    [" : "\n    [";
    for (int64_t j = 0; j < d; ++j) {
      s += (j ? ", " : "") + fmt::format("{:.9g}", actions.data<float>()[i * d + j]);
    }
    s += "]";
  }
  return s + "\n  ]";
}

std::string TimingsJson(const CallTimings& t) {
  std::string s = fmt::format("{{\"preprocess_ms\": {:.4f}, \"upload_ms\": {:.4f}", t.preprocess_ms,
                              t.upload_ms);
  for (const auto& [name, ms] : t.stages) s += fmt::format(", \"{}_ms\": {:.4f}", name, ms);
  s += fmt::format(", \"download_ms\": {:.4f}, \"total_ms\": {:.4f}}}", t.download_ms, t.total_ms);
  return s;
}

std::string TimingsLine(const CallTimings& t) {
  std::string s = fmt::format("preprocess {:.2f} ms | upload {:.2f} ms", t.preprocess_ms, t.upload_ms);
  for (const auto& [name, ms] : t.stages) s += fmt::format(" | {} {:.2f} ms", name, ms);
  s += fmt::format(" | download {:.2f} ms | total {:.2f} ms (host wall clock)", t.download_ms,
                   t.total_ms);
  return s;
}

void AddTuningCacheOption(CLI::App* sub, std::string* path) {
  *path = DefaultTuningCache();
  sub->add_option("--tuning-cache", *path,
                  "CUDA: file of the kernel tuners' picks, reused on the same GPU and build "
                  "(skips seconds of tuning, same kernels every run); 'none': tune afresh")
      ->capture_default_str();
}

std::string TuningCachePath(const std::string& flag) { return flag == "none" ? "" : flag; }

std::string EffectiveTuningCache(const PolicyOptions& po) {
  if (po.device == "cpu") return "none";
  const char* env = std::getenv("VLART_GEMM_TUNING_FILE");
  const std::string path = env != nullptr ? env : po.tuning_cache;
  return path.empty() ? "none" : path;
}

}  // namespace vlart::cli
