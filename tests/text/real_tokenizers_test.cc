// SPDX-License-Identifier: Apache-2.0
//
// real_tokenizers_test.cc: optional checks against real, full-size tokenizers that
// are not committed (licence and size). Skipped unless pointed at the files:
//   VLART_GEMMA_TOKENIZER=<Gemma tokenizer.model>            (256000 pieces)
//   VLART_GPT2_TOKENIZER_JSON=<GPT-2 byte-level tokenizer.json> (50257 tokens)
// data/real_expected.json holds the reference ids; tools/make_tokenizer_fixtures.py
// says where the files come from and regenerates it (--gemma-model, --gpt2-tiktoken).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "fixture_json.h"
#include "support/test_paths.h"
#include "text/bpe_tokenizer.h"
#include "text/paligemma_prompt.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart {
namespace {

const char* EnvPath(const char* name) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

nlohmann::json RealExpected(const char* key) {
  if (!std::filesystem::exists(testing::TestDataPath("text/data/real_expected.json"))) return nullptr;
  const nlohmann::json j = testing::LoadTestJson("text/data/real_expected.json");
  return j.contains(key) ? j[key] : nullptr;
}

TEST(RealTokenizers, GemmaSentencePiece) {
  const char* path = EnvPath("VLART_GEMMA_TOKENIZER");
  const nlohmann::json expected = RealExpected("gemma");
  if (path == nullptr || expected.is_null()) GTEST_SKIP() << "VLART_GEMMA_TOKENIZER not set";
  Result<SentencePieceTokenizer> tok = SentencePieceTokenizer::FromFile(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  ASSERT_EQ(tok->vocab_size(), expected["vocab_size"].get<int>()) << "not the tokenizer the ids were made with";
  for (const auto& e : expected["cases"]) {
    const std::string text = e["text"].get<std::string>();
    SCOPED_TRACE(testing::Printable(text));
    EXPECT_EQ(*tok->Encode(text, false, false), testing::IdsOf(e["ids"]));
  }
  for (const auto& e : expected["pi0"]) {
    const std::string prompt = e["prompt"].get<std::string>();
    Result<PaligemmaPromptTokens> got = TokenizePi0Prompt(*tok, prompt, 48);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->ids, testing::IdsOf(e["ids"])) << prompt;
    EXPECT_EQ(std::vector<int>(got->mask.begin(), got->mask.end()), e["mask"].get<std::vector<int>>());
  }
}

TEST(RealTokenizers, Gpt2ByteLevelBpe) {
  const char* path = EnvPath("VLART_GPT2_TOKENIZER_JSON");
  const nlohmann::json expected = RealExpected("gpt2");
  if (path == nullptr || expected.is_null()) GTEST_SKIP() << "VLART_GPT2_TOKENIZER_JSON not set";
  Result<BpeTokenizer> tok = BpeTokenizer::FromFile(path);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  ASSERT_EQ(static_cast<int>(tok->VocabSize()), expected["vocab_size"].get<int>());
  for (const auto& e : expected["cases"]) {
    const std::string text = e["text"].get<std::string>();
    SCOPED_TRACE(testing::Printable(text));
    Result<std::vector<int32_t>> ids = tok->EncodeIds(text, true);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*ids, testing::IdsOf(e["ids"]));
    EXPECT_EQ(tok->Decode(*ids, false), text);
  }
}

}  // namespace
}  // namespace vlart
