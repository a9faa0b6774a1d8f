// SPDX-License-Identifier: Apache-2.0
//
// paligemma_prompt_test.cc: openpi's pi0 / pi0.5 prompt tokenisation against a
// Python copy of openpi's PaligemmaTokenizer (data/paligemma_prompt_expected.json).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "fixture_json.h"
#include "support/test_paths.h"
#include "text/paligemma_prompt.h"

namespace vlart {
namespace {

SentencePieceTokenizer LoadTiny() {
  Result<SentencePieceTokenizer> tok =
      SentencePieceTokenizer::FromFile(testing::SourceDir() / "assets/tokenizers/paligemma_tiny/tokenizer.model");
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

void ExpectTokens(const PaligemmaPromptTokens& got, const nlohmann::json& e, int max_len) {
  const std::vector<int32_t> real = testing::IdsOf(e["ids"]);
  std::vector<int32_t> ids = real;
  ids.resize(max_len, 0);
  std::vector<uint8_t> mask(max_len, 0);
  std::fill(mask.begin(), mask.begin() + real.size(), 1);
  EXPECT_EQ(got.ids, ids);
  EXPECT_EQ(got.mask, mask);
  EXPECT_EQ(got.truncation_notice, e["warning"].get<std::string>());
}

TEST(PaligemmaPrompt, CleaningMatchesPythonStrip) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/paligemma_prompt_expected.json");
  for (const auto& e : expected["clean"]) {
    const std::string prompt = e["prompt"].get<std::string>();
    SCOPED_TRACE(testing::Printable(prompt));
    Result<std::string> cleaned = CleanPaligemmaPrompt(prompt);
    ASSERT_TRUE(cleaned.ok());
    EXPECT_EQ(*cleaned, e["cleaned"].get<std::string>());
  }
  EXPECT_EQ(*CleanPaligemmaPrompt("\x1c\xC2\x85 pick_up\nthe bowl \xE3\x80\x80"), "pick up the bowl");
  EXPECT_EQ(*CleanPaligemmaPrompt("\xE2\x80\x8Bzero width stays\xE2\x80\x8B"),
            "\xE2\x80\x8Bzero width stays\xE2\x80\x8B");
  EXPECT_FALSE(CleanPaligemmaPrompt("bad \xFF").ok());
}

TEST(PaligemmaPrompt, Pi0MatchesOpenpi) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/paligemma_prompt_expected.json");
  const SentencePieceTokenizer tok = LoadTiny();
  int truncated = 0;
  for (const auto& e : expected["pi0"]) {
    const std::string prompt = e["prompt"].get<std::string>();
    const int max_len = e["max_len"].get<int>();
    SCOPED_TRACE(testing::Printable(prompt) + " max_len " + std::to_string(max_len));
    Result<PaligemmaPromptTokens> got = TokenizePi0Prompt(tok, prompt, max_len);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectTokens(*got, e, max_len);
    truncated += !got->truncation_notice.empty();
  }
  EXPECT_GT(truncated, 10);  // the max_len 12 cases exercise truncation
}

TEST(PaligemmaPrompt, Pi05MatchesOpenpi) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/paligemma_prompt_expected.json");
  const SentencePieceTokenizer tok = LoadTiny();
  for (const auto& e : expected["pi05"]) {
    const std::string prompt = e["prompt"].get<std::string>();
    const int max_len = e["max_len"].get<int>();
    SCOPED_TRACE(testing::Printable(prompt) + " state " + e["state_name"].get<std::string>());
    const std::vector<double> state = e["state"].get<std::vector<double>>();
    Result<std::vector<int>> bins = DiscretizeState(std::span<const double>(state));
    ASSERT_TRUE(bins.ok());
    EXPECT_EQ(*bins, e["digitized"].get<std::vector<int>>());
    Result<PaligemmaPromptTokens> got = TokenizePi05Prompt(tok, prompt, std::span<const double>(state), max_len);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ExpectTokens(*got, e, max_len);
    if (e["state_dtype"] == "float32") {
      // The float32 values widen exactly, so the float overload must agree.
      const std::vector<float> narrow(state.begin(), state.end());
      EXPECT_EQ(TokenizePi05Prompt(tok, prompt, std::span<const float>(narrow), max_len)->ids, got->ids);
    }
  }
}

TEST(PaligemmaPrompt, DigitizeFollowsNumpyAtTheEdges) {
  const std::vector<double> x = {-2.0, -1.0, -1.0 + 1.0 / 128, std::nextafter(-1.0 + 1.0 / 128, -2.0), 0.0,
                                 0.9921875, std::nextafter(0.9921875, 0.0), 1.0, 7.0};
  EXPECT_EQ(*DiscretizeState(std::span<const double>(x)), (std::vector<int>{-1, 0, 1, 0, 128, 255, 254, 255, 255}));
  EXPECT_EQ(*Pi05PromptText(" put_it\nhere ", std::span<const double>(x).first(2)),
            "Task: put it here, State: -1 0;\nAction: ");
}

TEST(PaligemmaPrompt, RefusesNonFiniteStateAndBadLengths) {
  const SentencePieceTokenizer tok = LoadTiny();
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    const std::vector<double> state = {0.1, bad};
    Result<PaligemmaPromptTokens> r = TokenizePi05Prompt(tok, "pick", std::span<const double>(state), 200);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("state[1]: expected a finite value"), std::string::npos);
  }
  EXPECT_FALSE(TokenizePi0Prompt(tok, "pick", 0).ok());
  EXPECT_FALSE(TokenizePi0Prompt(tok, "pick \xFF", 48).ok());
}

}  // namespace
}  // namespace vlart
