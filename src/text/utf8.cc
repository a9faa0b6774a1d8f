// SPDX-License-Identifier: Apache-2.0
//
// utf8.cc: UTF-8 validation and lossy repair (Unicode "maximal subpart" rule, which
// is what Rust's from_utf8_lossy and Python's errors="replace" both apply).
#include "text/utf8.h"

namespace vlart::text {
namespace {

// Length of the valid sequence at s[pos], or 0 if invalid; *consumed receives the
// length of the maximal invalid subpart (>= 1) when invalid.
size_t ValidSequenceAt(std::string_view s, size_t pos, size_t* consumed) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = b(pos);
  if (b0 < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) {
    need = 2;
  } else if (b0 == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b0 == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b0 >= 0xF1 && b0 <= 0xF3) {
    need = 3;
  } else if (b0 == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    *consumed = 1;
    return 0;
  }
  size_t i = 1;
  for (; i <= need; ++i) {
    if (pos + i >= s.size()) break;
    const unsigned char c = b(pos + i);
    const unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (c < l || c > h) break;
  }
  if (i == need + 1) return need + 1;
  *consumed = i;
  return 0;
}

}  // namespace

Status ValidateUtf8(std::string_view s, std::string_view what) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t consumed = 0;
    const size_t len = ValidSequenceAt(s, pos, &consumed);
    if (len == 0) {
      return InvalidArgument(
          "{}: expected valid UTF-8 text, got an invalid byte sequence at byte {} (byte 0x{:02X}); "
          "hint: Hugging Face tokenizers only accept Unicode strings, so vlart does not guess a repair",
          what, pos, static_cast<unsigned char>(s[pos]));
    }
    pos += len;
  }
  return Status::Ok();
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t consumed = 0;
    const size_t len = ValidSequenceAt(bytes, pos, &consumed);
    if (len > 0) {
      out.append(bytes.substr(pos, len));
      pos += len;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      pos += consumed;
    }
  }
  return out;
}

}  // namespace vlart::text
