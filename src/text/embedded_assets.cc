// SPDX-License-Identifier: Apache-2.0
//
// embedded_assets.cc: lookup over the generated tables of embedded files.
#include "text/embedded_assets.h"

#include <algorithm>
#include <fstream>

namespace vlart {

std::span<const uint8_t> EmbeddedAsset(std::string_view name) {
  for (const embedded::EmbeddedFile& f : embedded::TokenizerAssets()) {
    if (name == f.name) return std::span<const uint8_t>(f.data, f.size);
  }
  return {};
}

std::vector<std::string_view> EmbeddedAssetNames() {
  std::vector<std::string_view> names;
  for (const embedded::EmbeddedFile& f : embedded::TokenizerAssets()) names.emplace_back(f.name);
  std::sort(names.begin(), names.end());
  return names;
}

Status WriteEmbeddedAsset(std::string_view name, const std::filesystem::path& path) {
  const std::span<const uint8_t> bytes = EmbeddedAsset(name);
  if (bytes.empty()) {
    return NotFound("writing embedded asset: \"{}\": expected one of the embedded files, got an unknown name", name);
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    return Internal("writing embedded asset: {}: expected a writable file, got a write error; hint: does the "
                    "folder exist?",
                    path.string());
  }
  return Status::Ok();
}

}  // namespace vlart
