// SPDX-License-Identifier: Apache-2.0
//
// byte_level_test.cc: the GPT-2 byte map and the hand-written GPT-2 regex split.
// The split cases were checked against tokenizers' ByteLevel.pre_tokenize_str; the
// fixture tests (bpe_tokenizer_test.cc) cover it on the whole corpus.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace vlart::text {
namespace {

std::vector<std::string> Split(const std::string& text) {
  std::vector<std::string_view> views;
  SplitGpt2(text, &views);
  std::vector<std::string> out(views.begin(), views.end());
  std::string joined;
  for (const auto& v : out) joined += v;
  EXPECT_EQ(joined, text) << "pieces must tile the input";
  return out;
}

TEST(ByteLevel, MapIsABijectionOntoPrintableCharacters) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = ByteToChar(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(cp).second);
    EXPECT_EQ(CharToByte(cp), b);
  }
  EXPECT_EQ(ByteToChar(' '), char32_t(0x120));   // "Ġ"
  EXPECT_EQ(ByteToChar('\n'), char32_t(0x10A));  // "Ċ"
  EXPECT_EQ(ByteToChar('a'), U'a');
  EXPECT_EQ(ByteToChar(0xAD), char32_t(0x143));  // the last non-printable byte
  EXPECT_EQ(CharToByte(U' '), -1);
  EXPECT_EQ(CharToByte(0x144), -1);
  std::string out;
  AppendByteLevel("a b\xC3\xA9", &out);
  EXPECT_EQ(out, "a\xC4\xA0" "b\xC3\x83\xC2\xA9");  // "aĠbÃ©"
}

TEST(ByteLevel, SplitFollowsTheGpt2Regex) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Split(""), V{});
  EXPECT_EQ(Split("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(Split("Hello  world"), (V{"Hello", " ", " world"}));
  EXPECT_EQ(Split("a   "), (V{"a", "   "}));
  EXPECT_EQ(Split("a\t\tb"), (V{"a", "\t", "\t", "b"}));
  EXPECT_EQ(Split("a \tb"), (V{"a", " ", "\t", "b"}));
  EXPECT_EQ(Split("a\n b"), (V{"a", "\n", " b"}));
  EXPECT_EQ(Split("don't I'LL"), (V{"don", "'t", " I", "'", "LL"}));
  EXPECT_EQ(Split("we're'll"), (V{"we", "'re", "'ll"}));
  EXPECT_EQ(Split("x2 2x 3.14"), (V{"x", "2", " 2", "x", " 3", ".", "14"}));
  EXPECT_EQ(Split("!'s"), (V{"!'", "s"}));
  EXPECT_EQ(Split(" !!"), (V{" !!"}));
  EXPECT_EQ(Split("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"), (V{"caf\xC3\xA9", " \xE6\x97\xA5\xE6\x9C\xAC"}));
  // A combining mark (Mn) is not \p{L}: it ends the letter run.
  EXPECT_EQ(Split("e\xCC\x81x"), (V{"e", "\xCC\x81", "x"}));
  // NBSP is white space but only U+0020 may prefix a word.
  EXPECT_EQ(Split("a\xC2\xA0" "b"), (V{"a", "\xC2\xA0", "b"}));
}

TEST(ByteLevel, SplitIsLinearOnHugeInputs) {
  // 2 MB of one white-space run, one letter run and alternating classes: each must
  // finish quickly (a quadratic split would take minutes).
  const std::string spaces(2'000'000, ' ');
  const std::string letters(2'000'000, 'a');
  std::string mixed;
  for (int i = 0; i < 400'000; ++i) mixed += "a1 !\t";
  for (const std::string* s : std::initializer_list<const std::string*>{&spaces, &letters, &mixed}) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string_view> pieces;
    SplitGpt2(*s, &pieces);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(seconds, 5.0);
    EXPECT_FALSE(pieces.empty());
  }
}

}  // namespace
}  // namespace vlart::text
