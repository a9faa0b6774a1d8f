// SPDX-License-Identifier: Apache-2.0
//
// fixture_util.h: access to tests/image/fixtures/ (made by tools/make_image_fixtures.py):
// the JSON index, raw files, and the FNV-1a 64 hash the script records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

namespace vlart::testing {

// tests/image/fixtures/<relative>
std::filesystem::path ImageFixturePath(const std::string& relative);
// The parsed index.json; an empty object (and a test failure) if it cannot be read.
const nlohmann::json& ImageFixtureIndex();
// The whole file; empty (and a test failure) if it cannot be read.
std::vector<uint8_t> ReadFileBytes(const std::filesystem::path& path);
// FNV-1a 64 of the bytes, as 16 lowercase hex digits (the script's fnv1a64).
std::string Fnv1a64Hex(std::span<const uint8_t> bytes);
// Number of positions where a and b differ, plus the length difference.
size_t CountMismatches(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace vlart::testing
