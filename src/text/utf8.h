// SPDX-License-Identifier: Apache-2.0
//
// utf8.h: UTF-8 validation, decoding and encoding for the tokenizers.
//
// Validation follows Rust's `str` rules (what the `tokenizers` crate requires): no
// overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
// truncated sequences. Python `str` cannot hold invalid UTF-8 either, so vlart
// rejects such input with a Status rather than guessing a repair.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vlart::text {

// Ok if `s` is valid UTF-8; otherwise InvalidArgument naming `what` and the byte offset.
Status ValidateUtf8(std::string_view s, std::string_view what);

// Decodes the code point at s[pos] of a string already known to be valid UTF-8 and
// returns it; *len receives its byte length (1..4).
inline char32_t DecodeUtf8At(std::string_view s, size_t pos, size_t* len) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *len = 2;
    return (char32_t(b0 & 0x1F) << 6) | (static_cast<unsigned char>(s[pos + 1]) & 0x3F);
  }
  if (b0 < 0xF0) {
    *len = 3;
    return (char32_t(b0 & 0x0F) << 12) | (char32_t(static_cast<unsigned char>(s[pos + 1]) & 0x3F) << 6) |
           (static_cast<unsigned char>(s[pos + 2]) & 0x3F);
  }
  *len = 4;
  return (char32_t(b0 & 0x07) << 18) | (char32_t(static_cast<unsigned char>(s[pos + 1]) & 0x3F) << 12) |
         (char32_t(static_cast<unsigned char>(s[pos + 2]) & 0x3F) << 6) |
         (static_cast<unsigned char>(s[pos + 3]) & 0x3F);
}

// Byte length of the UTF-8 sequence starting with lead byte `b0` of valid UTF-8.
inline size_t Utf8SequenceLength(unsigned char b0) {
  return b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
}

// Appends the UTF-8 encoding of `cp` (must be a Unicode scalar value) to *out.
void AppendUtf8(char32_t cp, std::string* out);

// Replaces every invalid sequence of `bytes` with U+FFFD the way Rust's
// String::from_utf8_lossy does (one replacement per maximal invalid prefix).
std::string Utf8Lossy(std::string_view bytes);

}  // namespace vlart::text
