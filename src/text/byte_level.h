// SPDX-License-Identifier: Apache-2.0
//
// byte_level.h: GPT-2's byte <-> printable-character mapping and its pre-tokenizer.
//
// Byte-level BPE never sees raw bytes: every UTF-8 byte of the text is replaced by
// one printable code point (GPT-2 `bytes_to_unicode`: printable Latin-1 bytes map to
// themselves, the other 68 bytes to U+0100..U+0143, in byte order), and the BPE
// vocabulary is written in those characters ("Ġ" is the space byte 0x20).
//
// SplitGpt2 is a hand-written, linear-time equivalent of the `tokenizers` ByteLevel
// regex run by Oniguruma (leftmost alternative wins, backtracking semantics):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// The alternatives cover every character, so the pieces tile the input exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vlart::text {

// The code point GPT-2 maps byte `b` to.
char32_t ByteToChar(uint8_t b);

// The byte a mapped code point stands for, or -1 if `cp` is not one of the 256.
int CharToByte(char32_t cp);

// Appends the byte-level form of `bytes` (each byte as its mapped character, UTF-8
// encoded) to *out.
void AppendByteLevel(std::string_view bytes, std::string* out);

// Splits valid UTF-8 `text` into the pieces of the GPT-2 regex (views into `text`),
// appending them to *pieces. An empty text gives no piece.
void SplitGpt2(std::string_view text, std::vector<std::string_view>* pieces);

}  // namespace vlart::text
