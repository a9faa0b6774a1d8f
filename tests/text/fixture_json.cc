// SPDX-License-Identifier: Apache-2.0
//
// fixture_json.cc: see fixture_json.h.
#include "fixture_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/test_paths.h"

namespace vlart::testing {

nlohmann::json LoadTestJson(const std::string& relative) {
  std::ifstream in(TestDataPath(relative), std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << TestDataPath(relative);
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(buffer.str(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << relative << " is not valid JSON";
  return j;
}

const std::vector<std::string>& TokenizerCases() {
  static const std::vector<std::string> cases = LoadTestJson("text/data/cases.json").get<std::vector<std::string>>();
  return cases;
}

std::vector<int32_t> IdsOf(const nlohmann::json& array) { return array.get<std::vector<int32_t>>(); }

std::string FirstCodePoints(const std::string& s, size_t n) {
  size_t pos = 0;
  for (size_t i = 0; i < n && pos < s.size(); ++i) {
    ++pos;
    while (pos < s.size() && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) ++pos;
  }
  return s.substr(0, pos);
}

std::string Printable(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > 80) out += "...";
  return "\"" + out + "\"";
}

}  // namespace vlart::testing
