// SPDX-License-Identifier: Apache-2.0
//
// bpe_tokenizer_test.cc: byte-level BPE against transformers / tokenizers, id for id.
//
// data/bpe_expected.json holds, for every string of data/cases.json, what
// BartTokenizerFast (called as the X-VLA processor calls it) and tokenizers return
// for the two committed tokenizer.json files (merges as "a b" strings and as pairs).
// data/bpe_flags_expected.json covers the options BART's file does not use.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "fixture_json.h"
#include "support/test_paths.h"
#include "text/bpe_tokenizer.h"

namespace vlart {
namespace {

using testing::IdsOf;
using testing::Printable;
using testing::TokenizerCases;

BpeTokenizer Load(const std::string& relative_to_root) {
  Result<BpeTokenizer> tok = BpeTokenizer::FromFile(testing::SourceDir() / relative_to_root);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return std::move(tok).value();
}

class XvlaTinyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(XvlaTinyTest, MatchesTransformersIdForId) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/bpe_expected.json");
  const BpeTokenizer tok = Load(GetParam());
  const auto& cases = TokenizerCases();
  const auto& entries = expected["cases"];
  ASSERT_EQ(entries.size(), cases.size());
  EXPECT_EQ(tok.pad_id(), expected["pad_id"].get<int>());
  EXPECT_EQ(tok.num_special_tokens(), 2);
  int checked = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string& text = cases[i];
    const nlohmann::json& e = entries[i];
    SCOPED_TRACE("case " + std::to_string(i) + " " + Printable(text));
    Result<std::vector<int32_t>> ids = tok.EncodeIds(text, true);
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    EXPECT_EQ(*ids, IdsOf(e["ids"]));
    if (e.contains("ids_no_special")) {
      Result<std::vector<int32_t>> plain = tok.EncodeIds(text, false);
      ASSERT_TRUE(plain.ok());
      EXPECT_EQ(*plain, IdsOf(e["ids_no_special"]));
    }
    for (const char* key : {"xvla", "short"}) {
      const int max_length = expected[std::string(key) + "_max_length"].get<int>();
      const nlohmann::json& x = e[key];
      Result<TokenizedText> t = tok.Encode(text, {true, max_length, true, true});
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      std::vector<int32_t> want = IdsOf(x["ids"]);
      const auto ones = x["mask_ones"].get<size_t>();
      const auto length = x["length"].get<size_t>();
      want.resize(length, expected["pad_id"].get<int32_t>());
      std::vector<int32_t> want_mask(length, 0);
      std::fill(want_mask.begin(), want_mask.begin() + ones, 1);
      EXPECT_EQ(t->ids, want) << key;
      EXPECT_EQ(t->attention_mask, want_mask) << key;
      EXPECT_EQ(t->truncated, x["truncated"].get<bool>()) << key;
    }
    EXPECT_EQ(tok.Decode(*ids, false), e.value("decode", text));
    EXPECT_EQ(tok.Decode(*ids, true), e.value("decode_skip_special", text));
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases.size()));
  EXPECT_GE(checked, 240);
}

INSTANTIATE_TEST_SUITE_P(BothMergeSerialisations, XvlaTinyTest,
                         ::testing::Values("assets/tokenizers/xvla_tiny/tokenizer.json",
                                           "assets/tokenizers/xvla_tiny_pair_merges/tokenizer.json"));

TEST(BpeTokenizer, FlagVariantsMatchTokenizers) {
  const nlohmann::json expected = testing::LoadTestJson("text/data/bpe_flags_expected.json");
  const auto& cases = TokenizerCases();
  for (const char* variant : {"a", "b"}) {
    const BpeTokenizer tok = Load(std::string("tests/text/data/bpe_flags_") + variant + ".json");
    const auto& entries = expected[variant];
    ASSERT_EQ(entries.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      const nlohmann::json& e = entries[i];
      const std::string text =
          e.contains("prefix_chars") ? testing::FirstCodePoints(cases[i], e["prefix_chars"].get<size_t>()) : cases[i];
      SCOPED_TRACE(std::string("variant ") + variant + " case " + std::to_string(i) + " " + Printable(text));
      Result<std::vector<int32_t>> ids = tok.EncodeIds(text, true);
      ASSERT_TRUE(ids.ok()) << ids.status().ToString();
      EXPECT_EQ(*ids, IdsOf(e["ids"]));
      if (e.contains("ids_no_special")) {
        EXPECT_EQ(*tok.EncodeIds(text, false), IdsOf(e["ids_no_special"]));
      }
      EXPECT_EQ(tok.Decode(*ids, false), e.value("decode", text));
      EXPECT_EQ(tok.Decode(*ids, true), e.value("decode_skip_special", text));
    }
  }
}

TEST(BpeTokenizer, XvlaCallShape) {
  const BpeTokenizer tok = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  Result<TokenizedText> t = tok.Encode("pick up the black bowl", {true, 50, true, true});
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->ids.size(), 50u);
  EXPECT_EQ(t->ids.front(), 0);  // <s>
  EXPECT_FALSE(t->truncated);
  const auto end = std::find(t->ids.begin(), t->ids.end(), 2);  // </s>
  ASSERT_NE(end, t->ids.end());
  for (auto it = end + 1; it != t->ids.end(); ++it) EXPECT_EQ(*it, 1);  // <pad>
  EXPECT_EQ(tok.TokenToId("<s>"), 0);
  EXPECT_EQ(tok.TokenToId("<pad>"), 1);
  EXPECT_EQ(tok.TokenToId("</s>"), 2);
  EXPECT_EQ(tok.TokenToId("<unk>"), 3);
  EXPECT_EQ(tok.TokenToId("no such token"), -1);
  EXPECT_EQ(tok.IdToToken(0), "<s>");
  EXPECT_EQ(tok.IdToToken(1 << 30), "");
  EXPECT_EQ(tok.TokenToId(tok.IdToToken(tok.TokenToId("<loc_5>"))), tok.TokenToId("<loc_5>"));
  EXPECT_EQ(static_cast<int32_t>(tok.VocabSize()), tok.TokenToId("<and>") + 1);  // added tokens come last
}

TEST(BpeTokenizer, TruncationEdgeCasesFollowTokenizers) {
  const BpeTokenizer tok = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  const std::string text = "pick up the black bowl and place it on the plate";
  const std::vector<int32_t> full = *tok.EncodeIds(text, true);
  ASSERT_GT(full.size(), 6u);
  // max_length == specials: only <s></s>.
  Result<TokenizedText> two = tok.Encode(text, {true, 2, true, false});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->ids, (std::vector<int32_t>{0, 2}));
  EXPECT_TRUE(two->truncated);
  // max_length < specials: `tokenizers` wraps around and keeps everything.
  Result<TokenizedText> one = tok.Encode(text, {true, 1, true, true});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->ids, full);
  EXPECT_FALSE(one->truncated);
  // Padding without truncation leaves long inputs long.
  Result<TokenizedText> pad_only = tok.Encode(text, {true, 4, false, true});
  EXPECT_EQ(pad_only->ids, full);
  // Without specials the whole budget is content.
  Result<TokenizedText> raw = tok.Encode(text, {false, 3, true, false});
  EXPECT_EQ(raw->ids, std::vector<int32_t>(full.begin() + 1, full.begin() + 4));
  EXPECT_FALSE(tok.Encode(text, {true, 0, true, false}).ok());
  EXPECT_FALSE(tok.Encode(text, {true, -3, false, false}).ok());
}

TEST(BpeTokenizer, RejectsInvalidUtf8) {
  const BpeTokenizer tok = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  Result<TokenizedText> t = tok.Encode("pick \xFF up", {true, 50, true, true});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("at byte 5"), std::string::npos) << t.status().message();
  EXPECT_FALSE(tok.EncodeIds("\xED\xA0\x80", true).ok());  // a lone surrogate, UTF-8 encoded
}

TEST(BpeTokenizer, LongInputsAreFast) {
  const BpeTokenizer tok = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  std::string words;
  while (words.size() < 1'000'000) words += "pick up the black bowl \xF0\x9F\xA4\x96 and place it on the plate 42. ";
  const std::string one_word(200'000, 'q');  // one 200k-character pre-token
  for (const std::string* s : std::initializer_list<const std::string*>{&words, &one_word}) {
    const auto t0 = std::chrono::steady_clock::now();
    Result<TokenizedText> t = tok.Encode(*s, {true, 50, true, true});
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->ids.size(), 50u);
    EXPECT_TRUE(t->truncated);
    EXPECT_LT(seconds, 10.0);  // ~0.1 s expected; generous for slow, shared machines
  }
}

TEST(BpeTokenizer, RandomTextRoundTripsAndNeverCrashes) {
  // Seeded random strings of awkward pieces: valid UTF-8 must encode, respect the
  // length contract and decode back to itself (the file has the full byte alphabet,
  // no unk, and none of these pieces hits the lstrip <mask> token); random bytes
  // must either be valid or be refused with InvalidArgument.
  const BpeTokenizer tok = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  const std::vector<std::string> pieces = {
      "a", "Z", " ", "  ", "\t", "\n", "\r\n", "'s", "'", "ll", "7", "42", "!", ".", "_", "<s>", "</s>", "<",
      "loc_", "<loc_1>", ">", "\xC3\xA9", "e\xCC\x81", "\xE6\x97\xA5", "\xF0\x9F\x98\x80", "\xE2\x80\x8D",
      "\xC2\xA0", "\xE3\x80\x80", "\xD9\x85", "\x01", "\x7F"};
  std::mt19937 rng(20240607);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) text += pieces[rng() % pieces.size()];
    SCOPED_TRACE(testing::Printable(text));
    Result<TokenizedText> t = tok.Encode(text, {true, 50, true, true});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->ids.size(), 50u);
    Result<std::vector<int32_t>> ids = tok.EncodeIds(text, false);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(t->truncated, ids->size() > 48u);
    EXPECT_EQ(tok.Decode(*ids, false), text);
    std::string bytes(rng() % 16, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    Result<std::vector<int32_t>> raw = tok.EncodeIds(bytes, true);
    if (!raw.ok()) {
      EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

Result<BpeTokenizer> FromEditedFile(const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(testing::SourceDir() / "assets/tokenizers/xvla_tiny/tokenizer.json");
  nlohmann::json j = nlohmann::json::parse(in);
  edit(j);
  return BpeTokenizer::FromJsonText(j.dump());
}

void ExpectError(const Result<BpeTokenizer>& r, StatusCode code, const std::string& fragment) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
}

TEST(BpeTokenizer, RefusesWhatItDoesNotImplement) {
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["normalizer"] = {{"type", "NFC"}}; }),
              StatusCode::kUnimplemented, "normalizer: expected null, got NFC");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }),
              StatusCode::kUnimplemented, "pre_tokenizer: expected ByteLevel, got Whitespace");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["type"] = "WordPiece"; }),
              StatusCode::kUnimplemented, "model.type: expected \"BPE\"");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["dropout"] = 0.1; }), StatusCode::kUnimplemented,
              "model.dropout");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["continuing_subword_prefix"] = "##"; }),
              StatusCode::kUnimplemented, "continuing_subword_prefix");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["decoder"] = {{"type", "WordPiece"}}; }),
              StatusCode::kUnimplemented, "decoder: expected ByteLevel or null");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["post_processor"] = {{"type", "Weird"}}; }),
              StatusCode::kUnimplemented, "post_processor");
}

TEST(BpeTokenizer, ReportsBrokenFiles) {
  ExpectError(BpeTokenizer::FromFile(testing::ScratchDir() / "missing.json"), StatusCode::kNotFound, "missing.json");
  ExpectError(BpeTokenizer::FromJsonText("{\"model\": "), StatusCode::kDataLoss, "expected valid JSON");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["merges"][0] = "a b c"; }), StatusCode::kDataLoss,
              "model.merges[0]");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["merges"][3] = {"x", "y"}; }),
              StatusCode::kDataLoss, "same form as merges[0]");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["merges"].push_back("zzzq qqqz"); }),
              StatusCode::kDataLoss, "\"zzzq\" which is not");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["vocab"]["bad"] = "x"; }), StatusCode::kDataLoss,
              "model.vocab[\"bad\"]");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"].erase("vocab"); }), StatusCode::kDataLoss,
              "model.vocab");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["model"]["unk_token"] = "<nope>"; }), StatusCode::kDataLoss,
              "unk_token");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["version"] = "2.0"; }), StatusCode::kDataLoss, "version");
  ExpectError(FromEditedFile([](nlohmann::json& j) { j["post_processor"]["cls"] = "<s>"; }), StatusCode::kDataLoss,
              "post_processor.cls");
}

TEST(BpeTokenizer, VersionLinesInStringMergesAreSkipped) {
  // A "#version" line is not a merge; ranks continue after it.
  Result<BpeTokenizer> with_version = FromEditedFile([](nlohmann::json& j) {
    j["model"]["merges"].insert(j["model"]["merges"].begin(), "#version: 0.2");
  });
  ASSERT_TRUE(with_version.ok()) << with_version.status().ToString();
  const BpeTokenizer plain = Load("assets/tokenizers/xvla_tiny/tokenizer.json");
  for (const char* text : {"pick up the black bowl", "put both moka pots on the stove"}) {
    EXPECT_EQ(*with_version->EncodeIds(text, true), *plain.EncodeIds(text, true));
  }
}

}  // namespace
}  // namespace vlart
