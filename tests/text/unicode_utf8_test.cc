// SPDX-License-Identifier: Apache-2.0
//
// unicode_utf8_test.cc: UTF-8 validation/repair and the generated Unicode classes.
#include <gtest/gtest.h>

#include <string>

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace vlart::text {
namespace {

TEST(Utf8, AcceptsValidText) {
  EXPECT_TRUE(ValidateUtf8("", "t").ok());
  EXPECT_TRUE(ValidateUtf8("plain ascii", "t").ok());
  EXPECT_TRUE(ValidateUtf8("caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF", "t").ok());
  EXPECT_TRUE(ValidateUtf8(std::string("nul\0inside", 10), "t").ok());
}

TEST(Utf8, RejectsInvalidSequencesWithOffset) {
  const struct {
    std::string bytes;
    size_t offset;
  } cases[] = {
      {"ab\xFF", 2},               // never valid
      {"\xC0\xAF", 0},             // overlong '/'
      {"x\xE0\x80\xAF", 1},        // overlong 3-byte
      {"\xED\xA0\x80", 0},         // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},     // above U+10FFFF
      {"ok\xE6\x97", 2},           // truncated at the end
      {"\xC3 x", 0},               // missing continuation
      {"\x80", 0},                 // lone continuation
  };
  for (const auto& c : cases) {
    const Status s = ValidateUtf8(c.bytes, "tokenizing text");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("tokenizing text: expected valid UTF-8 text"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("at byte " + std::to_string(c.offset) + " "), std::string::npos) << s.message();
  }
}

TEST(Utf8, LossyRepairUsesMaximalSubparts) {
  // Each maximal invalid subpart becomes one U+FFFD (Python/Rust agree on these).
  EXPECT_EQ(Utf8Lossy("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(Utf8Lossy("\xE6\x97"), "\xEF\xBF\xBD");                        // truncated: one
  EXPECT_EQ(Utf8Lossy("\xF0\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // F0 80: three
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Utf8Lossy("ok \xE2\x82\xAC"), "ok \xE2\x82\xAC");
}

TEST(Utf8, EncodeDecodeRoundTrip) {
  for (char32_t cp : {U'\0', U'A', char32_t(0x7F), char32_t(0x80), char32_t(0x7FF), char32_t(0x800),
                      char32_t(0xFFFD), char32_t(0x10000), char32_t(0x1F600), char32_t(0x10FFFF)}) {
    std::string s;
    AppendUtf8(cp, &s);
    ASSERT_TRUE(ValidateUtf8(s, "t").ok());
    size_t len = 0;
    EXPECT_EQ(DecodeUtf8At(s, 0, &len), cp);
    EXPECT_EQ(len, s.size());
    EXPECT_EQ(Utf8SequenceLength(static_cast<unsigned char>(s[0])), s.size());
  }
}

TEST(UnicodeClass, MatchesTheEngineClasses) {
  EXPECT_TRUE(IsLetter(U'a') && IsLetter(U'Z') && IsLetter(0x00E9) && IsLetter(0x65E5) && IsLetter(0x05D0));
  EXPECT_FALSE(IsLetter(U'1') || IsLetter(U' ') || IsLetter(U'_') || IsLetter(0x0301) || IsLetter(0x1F600));
  EXPECT_TRUE(IsNumber(U'7') && IsNumber(0x2460) && IsNumber(0x216B) && IsNumber(0x00BD) && IsNumber(0x0663));
  EXPECT_FALSE(IsNumber(U'a') || IsNumber(U'.'));
  // White_Space: Oniguruma's and Rust's \s; not U+200B (Cf) nor U+001C (Python-only).
  for (char32_t cp : {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029,
                      0x202F, 0x205F, 0x3000}) {
    EXPECT_TRUE(IsWhiteSpace(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  for (char32_t cp : {0x1C, 0x1F, 0x200B, 0x180E, 0xFEFF}) EXPECT_FALSE(IsWhiteSpace(cp)) << std::hex << static_cast<uint32_t>(cp);
  // Python str.isspace adds U+001C..U+001F.
  EXPECT_TRUE(IsPythonSpace(0x1C) && IsPythonSpace(0x1F) && IsPythonSpace(0x85) && IsPythonSpace(0x3000));
  EXPECT_FALSE(IsPythonSpace(0x200B));
  // Rust regex \w: letters, marks, digits, connector punctuation, joiners, circled letters.
  for (char32_t cp : {U'a', U'_', U'5', char32_t(0x0301), char32_t(0x200D), char32_t(0x24B6), char32_t(0x2164)}) {
    EXPECT_TRUE(IsWordChar(cp)) << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_FALSE(IsWordChar(U'-') || IsWordChar(U' ') || IsWordChar(0x00BD) || IsWordChar(0x1F600));
  EXPECT_EQ(UnicodeClass(0x10FFFF), 0);
  EXPECT_STREQ(UnicodeTablesVersion(), "15.0.0");
}

}  // namespace
}  // namespace vlart::text
