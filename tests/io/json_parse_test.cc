// SPDX-License-Identifier: Apache-2.0
//
// json_parse_test.cc: the strict JSON parser (duplicate keys, depth, error positions).

#include "io/json_parse.h"

#include <gtest/gtest.h>

namespace vlart {
namespace {

std::string ErrorOf(std::string_view text) {
  Result<nlohmann::json> r = ParseJsonStrict(text);
  return r.ok() ? std::string("ok") : r.status().message();
}

TEST(JsonParse, ParsesValidDocuments) {
  auto r =
      ParseJsonStrict(R"(  {"a": [1, -2, 3.5, "x", true, null, {"b": {}}], "c": {"d": []}}  )");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["a"][1].get<int>(), -2);
  EXPECT_TRUE((*r)["a"][1].is_number_integer());
  EXPECT_TRUE((*r)["a"][0].is_number_unsigned());
  EXPECT_EQ((*r)["a"][6]["b"], nlohmann::json::object());
  EXPECT_EQ((*r)["c"]["d"], nlohmann::json::array());
  EXPECT_EQ(*ParseJsonStrict("[[1], [2, [3]]]"), nlohmann::json::parse("[[1], [2, [3]]]"));
  EXPECT_EQ(*ParseJsonStrict("\"s\""), "s");
}

TEST(JsonParse, RejectsDuplicateKeysAnywhere) {
  EXPECT_EQ(ErrorOf(R"({"a": 1, "a": 2})"),
            "invalid JSON: duplicate key 'a' in the top-level object");
  EXPECT_EQ(ErrorOf(R"({"x": {"y": [0, {"k": 1, "k": 1}]}})"),
            "invalid JSON: duplicate key 'k' in object 'x.y[1]'");
  EXPECT_EQ(ErrorOf(R"([{"a": 1}, {"a": 1, "b": 2, "a": 3}])"),
            "invalid JSON: duplicate key 'a' in object '[1]'");
  // Same key in sibling objects is fine.
  EXPECT_EQ(ErrorOf(R"({"a": {"k": 1}, "b": {"k": 1}})"), "ok");
}

TEST(JsonParse, ReportsLineAndColumn) {
  const std::string msg = ErrorOf("{\n  \"a\": 1,\n  \"b\": ]\n}");
  EXPECT_NE(msg.find("line 3, column 8"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  EXPECT_NE(ErrorOf("").find("unexpected end of input"), std::string::npos);
  EXPECT_NE(ErrorOf("{} x").find("expected end of input"), std::string::npos);
  EXPECT_NE(ErrorOf("[1e999]").find("number overflow"), std::string::npos);
}

TEST(JsonParse, BoundsNesting) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(ErrorOf(ok), "ok");
  const std::string deep =
      std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_NE(ErrorOf(deep).find("nesting deeper than 128 levels"), std::string::npos);
  // A million-deep document must fail fast, not overflow the stack.
  EXPECT_NE(ErrorOf(std::string(1 << 20, '[')).find("nesting deeper"), std::string::npos);
}

TEST(JsonParse, TypeNamesAndPrintable) {
  EXPECT_EQ(JsonTypeName(nlohmann::json(1)), "integer");
  EXPECT_EQ(JsonTypeName(nlohmann::json(-1)), "integer");
  EXPECT_EQ(JsonTypeName(nlohmann::json(1.5)), "float");
  EXPECT_EQ(JsonTypeName(nlohmann::json("s")), "string");
  EXPECT_EQ(JsonTypeName(nlohmann::json::array()), "array");
  EXPECT_EQ(JsonTypeName(nlohmann::json::object()), "object");
  EXPECT_EQ(JsonTypeName(nlohmann::json(nullptr)), "null");
  EXPECT_EQ(JsonTypeName(nlohmann::json(true)), "boolean");
  EXPECT_EQ(Printable("a\tb\xff"), "a\\x09b\\xff");
  EXPECT_EQ(Printable("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace vlart
