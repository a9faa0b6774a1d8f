// SPDX-License-Identifier: Apache-2.0
//
// norm_stats_test.cc: openpi norm_stats.json, with and without quantiles.

#include "io/norm_stats.h"

#include <gtest/gtest.h>

#include "support/test_paths.h"

namespace vlart {
namespace {

std::string ErrorOf(std::string_view text) {
  Result<JsonDocument> doc = ParseJsonDocument(text, "norm_stats.json");
  if (!doc.ok()) return doc.status().message();
  Result<NormStats> s = NormStats::FromDocument(*doc);
  return s.ok() ? std::string("ok") : s.status().message();
}

TEST(NormStats, ReadsFixture) {
  auto s = NormStats::Load(testing::TestDataPath("io/data/configs/norm_stats.json"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const NormStatsEntry* state = s->Find("state");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->mean, (std::vector<double>{0.1, -0.2, 0.3}));
  EXPECT_EQ(state->std, (std::vector<double>{1.0, 0.5, 0.25}));
  ASSERT_TRUE(state->has_quantiles());
  EXPECT_EQ(*state->q99, (std::vector<double>{1.0, 2.0, 3.0}));
  const NormStatsEntry* actions = s->Find("actions");
  ASSERT_NE(actions, nullptr);
  EXPECT_FALSE(actions->q01.has_value());  // null
  EXPECT_FALSE(actions->has_quantiles());
  EXPECT_EQ(s->Find("images"), nullptr);

  EXPECT_TRUE(s->RequireQuantiles("state").ok());
  auto no_q = s->RequireQuantiles("actions");
  ASSERT_FALSE(no_q.ok());
  EXPECT_NE(no_q.status().message().find(
                "norm stats 'actions': expected q01 and q99 (quantile normalisation), got neither"),
            std::string::npos)
      << no_q.status().message();
  EXPECT_EQ(s->RequireQuantiles("x").status().code(), StatusCode::kNotFound);
}

TEST(NormStats, AbsentQuantilesAreFine) {
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"state": {"mean": [1], "std": [2]}}})"), "ok");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {}, "extra": 1})"), "ok");
}

TEST(NormStats, BadFiles) {
  EXPECT_EQ(
      ErrorOf(R"({"state": {}})"),
      "norm_stats.json: field 'norm_stats': expected object, got nothing (the field is missing)");
  EXPECT_EQ(
      ErrorOf(R"({"norm_stats": {"state": [1]}})"),
      "norm_stats.json: field 'norm_stats.state': expected object with mean and std, got array");
  EXPECT_EQ(
      ErrorOf(R"({"norm_stats": {"state": {"mean": [1]}}})"),
      "norm_stats.json: field 'norm_stats.state.std': expected array of numbers, got nothing");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"state": {"mean": [1, "2"], "std": [1, 1]}}})"),
            "norm_stats.json: field 'norm_stats.state.mean': expected array of numbers, got string "
            "at index 1");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"state": {"mean": [1, 2], "std": [1]}}})"),
            "norm_stats.json: field 'norm_stats.state.std': expected 2 values (as mean), got 1");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"a": {"mean": [1], "std": [1], "q01": [0, 0]}}})"),
            "norm_stats.json: field 'norm_stats.a.q01': expected 1 values (as mean), got 2");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"a": {"mean": [], "std": []}}})"),
            "norm_stats.json: field 'norm_stats.a.mean': expected at least one value, got none");
  EXPECT_EQ(ErrorOf(R"({"norm_stats": {"a": {"mean": [[1]], "std": [1]}}})"),
            "norm_stats.json: field 'norm_stats.a.mean': expected array of numbers, got array at "
            "index 0");
}

}  // namespace
}  // namespace vlart
