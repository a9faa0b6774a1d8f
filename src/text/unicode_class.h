// SPDX-License-Identifier: Apache-2.0
//
// unicode_class.h: the few Unicode character classes the tokenizers need, without ICU.
//
// The classes come from a generated range table (unicode_tables.cc, written by
// tools/gen_unicode_tables.py from Python's unicodedata, Unicode 15.0). They are the
// classes the Hugging Face `tokenizers` engines use: \p{L}, \p{N} and \s of the GPT-2
// pre-tokenizer regex (Oniguruma), \s and \w of the Rust `regex` crate (added-token
// lstrip/rstrip/single_word), plus Python's str.isspace() for openpi's prompt.strip().
// The Rust crates use a newer Unicode (16.0): code points unassigned in 15.0 but
// assigned later are classed "other" here; every code point assigned in 15.0 agrees
// (checked by `tools/gen_unicode_tables.py --check`).
#pragma once

#include <cstdint>

namespace vlart::text {

enum UnicodeClassBit : uint8_t {
  kLetter = 1,       // \p{L}: Lu Ll Lt Lm Lo
  kNumber = 2,       // \p{N}: Nd Nl No
  kWhiteSpace = 4,   // \s: Unicode White_Space (Oniguruma and Rust regex agree)
  kWordChar = 8,     // \w of the Rust regex crate
  kPythonSpace = 16  // Python str.isspace()
};

// The class bits of one code point (0 for "none of these").
uint8_t UnicodeClass(char32_t cp);

inline bool IsLetter(char32_t cp) { return (UnicodeClass(cp) & kLetter) != 0; }
inline bool IsNumber(char32_t cp) { return (UnicodeClass(cp) & kNumber) != 0; }
inline bool IsWhiteSpace(char32_t cp) { return (UnicodeClass(cp) & kWhiteSpace) != 0; }
inline bool IsWordChar(char32_t cp) { return (UnicodeClass(cp) & kWordChar) != 0; }
inline bool IsPythonSpace(char32_t cp) { return (UnicodeClass(cp) & kPythonSpace) != 0; }

// The Unicode version the tables were generated from, e.g. "15.0.0".
const char* UnicodeTablesVersion();

namespace detail {
struct UnicodeRange {
  uint32_t first;  // inclusive
  uint32_t last;   // inclusive
  uint8_t bits;    // UnicodeClassBit mask, never 0
};
extern const char kUnicodeVersion[];
extern const int kNumUnicodeRanges;
extern const UnicodeRange kUnicodeRanges[];
}  // namespace detail

}  // namespace vlart::text
