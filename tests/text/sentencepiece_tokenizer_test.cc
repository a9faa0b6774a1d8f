// SPDX-License-Identifier: Apache-2.0
//
// sentencepiece_tokenizer_test.cc: the SentencePiece wrapper against Python's
// sentencepiece on the Gemma-like test model (data/sentencepiece_expected.json).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fixture_json.h"
#include "support/test_paths.h"
#include "text/sentencepiece_tokenizer.h"

namespace vlart {
namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char kModel[] = "assets/tokenizers/paligemma_tiny/tokenizer.model";

TEST(SentencePieceTokenizer, MatchesPythonSentencePiece) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/sentencepiece_expected.json");
  Result<SentencePieceTokenizer> tok = SentencePieceTokenizer::FromFile(testing::SourceDir() / kModel);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(tok->vocab_size(), expected["vocab_size"].get<int>());
  EXPECT_EQ(tok->pad_id(), 0);
  EXPECT_EQ(tok->eos_id(), 1);
  EXPECT_EQ(tok->bos_id(), 2);
  EXPECT_EQ(tok->unk_id(), 3);
  EXPECT_EQ(tok->IdToPiece(2), "<bos>");
  EXPECT_GE(tok->PieceToId("\n"), 4);  // a user-defined piece, as in Gemma
  EXPECT_EQ(tok->PieceToId("definitely not a piece"), -1);
  const auto& cases = testing::TokenizerCases();
  const auto& entries = expected["cases"];
  ASSERT_EQ(entries.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + " " + testing::Printable(cases[i]));
    const std::vector<int32_t> want = testing::IdsOf(entries[i]["ids"]);
    Result<std::vector<int32_t>> ids = tok->Encode(cases[i], false, false);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, want);
    std::vector<int32_t> with = want;
    with.insert(with.begin(), 2);
    with.push_back(1);
    EXPECT_EQ(*tok->Encode(cases[i], true, true), with);
    Result<std::string> text = tok->Decode(*ids);
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, entries[i].value("decode", cases[i]));
  }
}

TEST(SentencePieceTokenizer, LoadsFromMemoryLikeFromFile) {
  const std::string bytes = ReadFile(testing::SourceDir() / kModel);
  Result<SentencePieceTokenizer> from_bytes = SentencePieceTokenizer::FromBytes(bytes);
  Result<SentencePieceTokenizer> from_file = SentencePieceTokenizer::FromFile(testing::SourceDir() / kModel);
  ASSERT_TRUE(from_bytes.ok() && from_file.ok());
  const std::string text = "pick up the black bowl between the plate and the ramekin";
  EXPECT_EQ(*from_bytes->Encode(text, true, false), *from_file->Encode(text, true, false));
  SentencePieceTokenizer moved = std::move(from_bytes).value();
  EXPECT_EQ(moved.vocab_size(), from_file->vocab_size());
}

TEST(SentencePieceTokenizer, ReportsMissingAndCorruptModels) {
  Result<SentencePieceTokenizer> missing = SentencePieceTokenizer::FromFile(testing::ScratchDir() / "none.model");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("none.model"), std::string::npos);

  Result<SentencePieceTokenizer> empty = SentencePieceTokenizer::FromBytes("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);

  Result<SentencePieceTokenizer> junk = SentencePieceTokenizer::FromBytes("this is not a protobuf at all");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().code(), StatusCode::kDataLoss);

  const std::string bytes = ReadFile(testing::SourceDir() / kModel);
  const std::filesystem::path cut = testing::ScratchDir() / "cut.model";
  std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  Result<SentencePieceTokenizer> truncated = SentencePieceTokenizer::FromFile(cut);
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(truncated.status().message().find("cut.model"), std::string::npos) << truncated.status().message();
}

TEST(SentencePieceTokenizer, RejectsInvalidUtf8AndBadIds) {
  Result<SentencePieceTokenizer> tok = SentencePieceTokenizer::FromFile(testing::SourceDir() / kModel);
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->Encode("bad \xC3", true, false).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode({2, 5, 99999}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode({-1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*tok->Encode("", true, false), std::vector<int32_t>{2});
}

}  // namespace
}  // namespace vlart
