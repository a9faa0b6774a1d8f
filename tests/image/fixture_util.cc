// SPDX-License-Identifier: Apache-2.0
//
// fixture_util.cc: see fixture_util.h.

#include "fixture_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "support/test_paths.h"

namespace vlart::testing {

std::filesystem::path ImageFixturePath(const std::string& relative) {
  return TestDataPath("image/fixtures/" + relative);
}

const nlohmann::json& ImageFixtureIndex() {
  static const nlohmann::json index = [] {
    const std::filesystem::path path = ImageFixturePath("index.json");
    std::ifstream f(path);
    if (!f) {
      ADD_FAILURE() << "cannot read " << path << "; run tools/make_image_fixtures.py";
      return nlohmann::json::object();
    }
    return nlohmann::json::parse(f);
  }();
  return index;
}

std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::string Fnv1a64Hex(std::span<const uint8_t> bytes) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint8_t b : bytes) {
    h ^= b;
    h *= 0x100000001B3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

size_t CountMismatches(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t diff = std::max(a.size(), b.size()) - n;
  for (size_t i = 0; i < n; ++i) diff += a[i] != b[i];
  return diff;
}

}  // namespace vlart::testing
