// SPDX-License-Identifier: Apache-2.0
//
// preprocessor_config_test.cc: CLIPImageProcessor settings, defaults and null rules.

#include "io/preprocessor_config.h"

#include <gtest/gtest.h>

#include "support/test_paths.h"

namespace vlart {
namespace {

Result<PreprocessorConfig> Parse(std::string_view text) {
  Result<JsonDocument> doc = ParseJsonDocument(text, "preprocessor_config.json");
  if (!doc.ok()) return doc.status();
  return PreprocessorConfig::FromDocument(*doc);
}

std::string ErrorOf(std::string_view text) {
  Result<PreprocessorConfig> c = Parse(text);
  return c.ok() ? std::string("ok") : c.status().message();
}

TEST(PreprocessorConfig, XvlaStyleFile) {
  auto c =
      PreprocessorConfig::Load(testing::TestDataPath("io/data/configs/preprocessor_config.json"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->image_processor_type, "CLIPImageProcessor");
  EXPECT_TRUE(c->do_resize);
  EXPECT_FALSE(c->size.is_shortest_edge());
  EXPECT_EQ(c->size.height, 224);
  EXPECT_EQ(c->size.width, 224);
  EXPECT_EQ(c->resample, PilResample::kBicubic);
  EXPECT_FALSE(c->do_center_crop);
  EXPECT_TRUE(c->do_rescale);
  EXPECT_DOUBLE_EQ(c->rescale_factor, 0.00392156862745098);
  EXPECT_EQ(c->image_mean, (std::array<double, 3>{0.485, 0.456, 0.406}));
  EXPECT_EQ(c->image_std, (std::array<double, 3>{0.229, 0.224, 0.225}));
  EXPECT_FALSE(c->do_convert_rgb);  // null: Python None is falsy, so no conversion
}

TEST(PreprocessorConfig, EmptyObjectGivesClipDefaults) {
  auto c = Parse("{}");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->do_resize && c->do_center_crop && c->do_rescale && c->do_normalize &&
              c->do_convert_rgb);
  EXPECT_EQ(c->size.shortest_edge, 224);
  EXPECT_EQ(c->crop_size.ToString(), "224x224");
  EXPECT_EQ(c->resample, PilResample::kBicubic);
  EXPECT_DOUBLE_EQ(c->rescale_factor, 1.0 / 255.0);
  EXPECT_EQ(c->image_mean, (std::array<double, 3>{0.48145466, 0.4578275, 0.40821073}));
  EXPECT_EQ(c->image_std, (std::array<double, 3>{0.26862954, 0.26130258, 0.27577711}));
}

TEST(PreprocessorConfig, AlternativeSpellings) {
  auto a = Parse(R"({"size": 256, "crop_size": 240, "image_mean": 0.5, "resample": null})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->size.ToString(), "shortest_edge=256");
  EXPECT_EQ(a->crop_size.ToString(), "240x240");
  EXPECT_EQ(a->image_mean, (std::array<double, 3>{0.5, 0.5, 0.5}));
  EXPECT_EQ(a->resample, PilResample::kBilinear);
  auto b = Parse(R"({"size": [300, 200], "crop_size": {"height": 10, "width": 20},
                     "size_unused": 1, "do_resize": null, "image_std": null})");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->size.ToString(), "300x200");
  EXPECT_EQ(b->crop_size.ToString(), "10x20");
  EXPECT_FALSE(b->do_resize);
  EXPECT_DOUBLE_EQ(b->image_std[0], 0.26862954);
  auto c = Parse(R"({"size": {"shortest_edge": 336}, "use_square_size": true})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size.ToString(), "336x336");
}

TEST(PreprocessorConfig, BadValues) {
  EXPECT_EQ(ErrorOf(R"({"do_resize": "yes"})"),
            "preprocessor_config.json: field 'do_resize': expected boolean or null, got string");
  EXPECT_EQ(ErrorOf(R"({"size": {"longest_edge": 5}})"),
            "preprocessor_config.json: field 'size': expected keys {height, width} or "
            "{shortest_edge}, got {longest_edge}");
  EXPECT_EQ(ErrorOf(R"({"crop_size": {"shortest_edge": 5}})"),
            "preprocessor_config.json: field 'crop_size': expected keys {height, width}, got "
            "{shortest_edge}");
  EXPECT_EQ(ErrorOf(R"({"size": {"height": 0, "width": 3}})"),
            "preprocessor_config.json: field 'size.height': expected a positive integer, got 0");
  EXPECT_EQ(ErrorOf(R"({"size": 224.0})"),
            "preprocessor_config.json: field 'size': expected integer, [height, width] or object, "
            "got float");
  EXPECT_EQ(ErrorOf(R"({"resample": 9})"),
            "preprocessor_config.json: field 'resample': expected a PIL filter code 0..5, got 9");
  EXPECT_EQ(ErrorOf(R"({"image_mean": [0.5, 0.5]})"),
            "preprocessor_config.json: field 'image_mean': expected 3 numbers (R, G, B), got 2");
  EXPECT_EQ(ErrorOf(R"({"image_std": [0.5, 0, 0.5]})"),
            "preprocessor_config.json: field 'image_std[1]': expected a non-zero value (it "
            "divides), got 0");
  EXPECT_EQ(ErrorOf(R"({"rescale_factor": null})"),
            "preprocessor_config.json: field 'rescale_factor': expected a number, got null "
            "(do_rescale is on)");
  EXPECT_EQ(ErrorOf(R"({"rescale_factor": null, "do_rescale": false})"), "ok");
  EXPECT_EQ(ErrorOf(R"({"rescale_factor": "1/255"})"),
            "preprocessor_config.json: field 'rescale_factor': expected number, got string");
}

}  // namespace
}  // namespace vlart
