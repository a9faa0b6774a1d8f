// SPDX-License-Identifier: Apache-2.0
//
// fixture_json.h: reading the expected-ids JSON files under tests/text/data/.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace vlart::testing {

// Parses tests/<relative>; fails the test (and returns null) when unreadable.
nlohmann::json LoadTestJson(const std::string& relative);
// tests/text/data/cases.json: the input strings, indexed like the expected entries.
const std::vector<std::string>& TokenizerCases();
std::vector<int32_t> IdsOf(const nlohmann::json& array);
// The first `n` code points of valid UTF-8 `s`.
std::string FirstCodePoints(const std::string& s, size_t n);
// Escaped, printable form of a test string for failure messages (first 80 bytes).
std::string Printable(const std::string& s);

}  // namespace vlart::testing
