// SPDX-License-Identifier: Apache-2.0
//
// embedded_assets.cc: lookup over the generated tables of embedded files.
#include "text/embedded_assets.h"

#include <algorithm>

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

}  // namespace vlart
