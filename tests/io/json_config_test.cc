// SPDX-License-Identifier: Apache-2.0
//
// json_config_test.cc: reading JSON config files and the typed dotted-path getters.

#include "io/json_config.h"

#include <gtest/gtest.h>

#include "io_test_util.h"
#include "support/test_paths.h"

namespace vlart {
namespace {

using testing::TestDataPath;

JsonDocument Doc(std::string_view text) {
  Result<JsonDocument> d = ParseJsonDocument(text, "config.json");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? std::move(d).value() : JsonDocument{};
}

template <typename T>
std::string ErrorOf(const Result<T>& r) {
  return r.ok() ? std::string("ok") : r.status().message();
}

TEST(JsonConfig, ReadsTheFixtureConfig) {
  auto doc = ReadJsonFile(TestDataPath("io/data/configs/config.json"));
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(*GetString(*doc, "model_type"), "toy");
  EXPECT_EQ(*GetInt(*doc, "num_actions"), 30);
  EXPECT_EQ(*GetIntArray(*doc, "florence_config.vision_config.depths"),
            (std::vector<int64_t>{1, 1, 9, 1}));
  EXPECT_DOUBLE_EQ(*GetFloat(*doc, "florence_config.vision_config.drop_path_rate"), 0.1);
  EXPECT_FALSE(*GetBool(*doc, "florence_config.vision_config.enable_checkpoint"));
  EXPECT_TRUE(GetObject(*doc, "florence_config.vision_config").ok());
  EXPECT_TRUE(HasField(*doc, "florence_config.vision_config"));
  EXPECT_FALSE(HasField(*doc, "rope_scaling"));  // null counts as unset
  EXPECT_FALSE(HasField(*doc, "nope.deeper"));
}

TEST(JsonConfig, DefaultsApplyToAbsentAndNullOnly) {
  const JsonDocument doc = Doc(R"({"a": {"n": null, "s": "x"}, "i": 3})");
  EXPECT_EQ(*GetInt(doc, "missing", 7), 7);
  EXPECT_EQ(*GetInt(doc, "a.n", 7), 7);
  EXPECT_EQ(*GetInt(doc, "a.missing.deeper", 7), 7);
  EXPECT_EQ(*GetString(doc, "a.s", "d"), "x");
  EXPECT_EQ(*GetFloatArray(doc, "f", {1.5}), std::vector<double>{1.5});
  EXPECT_EQ(*GetInt(doc, "i", 7), 3);
  // Present with the wrong type: an error even with a default.
  EXPECT_EQ(ErrorOf(GetInt(doc, "a.s", 7)),
            "config.json: field 'a.s': expected integer, got string");
}

TEST(JsonConfig, TypeErrorsNameFileFieldExpectedAndGot) {
  const JsonDocument doc = Doc(
      R"({"florence_config": {"vision_config": {"dim_embed": "256", "depths": [1, 2.5, 3],
          "big": 18446744073709551615, "list": [1, 2], "flag": 1}}, "top": [1], "f": 2.0})");
  EXPECT_EQ(ErrorOf(GetIntArray(doc, "florence_config.vision_config.dim_embed")),
            "config.json: field 'florence_config.vision_config.dim_embed': expected array of "
            "integers, got string");
  EXPECT_EQ(ErrorOf(GetIntArray(doc, "florence_config.vision_config.depths")),
            "config.json: field 'florence_config.vision_config.depths': expected array of "
            "integers, got float at index 1");
  EXPECT_EQ(ErrorOf(GetInt(doc, "florence_config.vision_config.big")),
            "config.json: field 'florence_config.vision_config.big': expected integer in int64 "
            "range, got 18446744073709551615");
  EXPECT_EQ(
      ErrorOf(GetBool(doc, "florence_config.vision_config.flag")),
      "config.json: field 'florence_config.vision_config.flag': expected boolean, got integer");
  EXPECT_EQ(ErrorOf(GetInt(doc, "f")), "config.json: field 'f': expected integer, got float");
  EXPECT_DOUBLE_EQ(*GetFloat(doc, "florence_config.vision_config.list[0]", 4.0),
                   4.0);  // no index syntax: absent
  EXPECT_EQ(*GetFloatArray(doc, "florence_config.vision_config.list"), (std::vector<double>{1, 2}));
  EXPECT_EQ(ErrorOf(GetInt(doc, "top.x")),
            "config.json: field 'top.x': expected an object at 'top', got array");
  EXPECT_EQ(ErrorOf(GetInt(doc, "nope")),
            "config.json: field 'nope': expected integer, got nothing (the field is missing)");
  EXPECT_EQ(ErrorOf(GetObject(doc, "top")), "config.json: field 'top': expected object, got array");
  EXPECT_EQ(GetInt(doc, "nope").status().code(), StatusCode::kNotFound);
}

TEST(JsonConfig, FileErrors) {
  EXPECT_NE(
      ErrorOf(ReadJsonFile(TestDataPath("io/data/configs/missing.json"))).find("file not found"),
      std::string::npos);
  const std::filesystem::path dir = testing::ScratchDir();
  testing::WriteFileBytes(dir / "bad.json", "{\n  \"a\": 1,\n  \"b\": tru\n}\n");
  const std::string bad = ErrorOf(ReadJsonFile(dir / "bad.json"));
  EXPECT_NE(bad.find("bad.json: invalid JSON: parse error at line 4, column 0: syntax error while "
                     "parsing value - invalid literal"),
            std::string::npos)
      << bad;
  testing::WriteFileBytes(dir / "arr.json", "[1, 2]");
  EXPECT_NE(ErrorOf(ReadJsonFile(dir / "arr.json"))
                .find("arr.json: expected a JSON object at the top level, got array"),
            std::string::npos);
  testing::WriteFileBytes(dir / "dup.json", R"({"a": 1, "a": 2})");
  EXPECT_NE(ErrorOf(ReadJsonFile(dir / "dup.json")).find("duplicate key 'a'"), std::string::npos);
  testing::WriteFileBytes(dir / "empty.json", "");
  EXPECT_NE(ErrorOf(ReadJsonFile(dir / "empty.json")).find("empty.json: invalid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace vlart
