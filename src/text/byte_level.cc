// SPDX-License-Identifier: Apache-2.0
//
// byte_level.cc: GPT-2 byte mapping and the GPT-2 pre-tokenizer regex, by hand.
//
// SplitGpt2 decodes the text once into code points with their classes, then walks
// it: at each position the first regex alternative that matches is taken, exactly as
// Oniguruma's backtracking search would, so there is no backtracking here and the
// cost is linear in the text length.
#include "text/byte_level.h"

#include <array>

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace vlart::text {
namespace {

constexpr int kMappedLimit = 256 + 68;  // every mapped code point is below this

struct ByteTables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<std::string, 256> byte_to_utf8;
  std::array<int16_t, kMappedLimit> char_to_byte{};  // -1 where no byte maps
};

const ByteTables& Tables() {
  static const ByteTables tables = [] {
    ByteTables t;
    t.char_to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t.byte_to_char[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      AppendUtf8(t.byte_to_char[b], &t.byte_to_utf8[b]);
      t.char_to_byte[t.byte_to_char[b]] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return tables;
}

enum class CharKind : uint8_t { kLetter, kNumber, kSpace, kOther };

CharKind KindOf(char32_t cp) {
  const uint8_t bits = UnicodeClass(cp);
  if (bits & kLetter) return CharKind::kLetter;
  if (bits & kNumber) return CharKind::kNumber;
  if (bits & kWhiteSpace) return CharKind::kSpace;
  return CharKind::kOther;
}

}  // namespace

char32_t ByteToChar(uint8_t b) { return Tables().byte_to_char[b]; }

int CharToByte(char32_t cp) {
  return cp < kMappedLimit ? Tables().char_to_byte[cp] : -1;
}

void AppendByteLevel(std::string_view bytes, std::string* out) {
  const ByteTables& t = Tables();
  for (char c : bytes) out->append(t.byte_to_utf8[static_cast<uint8_t>(c)]);
}

void SplitGpt2(std::string_view text, std::vector<std::string_view>* pieces) {
  // Decode once: code points, their kinds and byte offsets (offsets has n+1 entries).
  std::vector<char32_t> cps;
  std::vector<CharKind> kinds;
  std::vector<size_t> offsets;
  cps.reserve(text.size());
  kinds.reserve(text.size());
  offsets.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    size_t len = 0;
    const char32_t cp = DecodeUtf8At(text, pos, &len);
    cps.push_back(cp);
    kinds.push_back(KindOf(cp));
    offsets.push_back(pos);
    pos += len;
  }
  const size_t n = cps.size();
  offsets.push_back(text.size());

  const auto run_end = [&](size_t from, CharKind kind) {
    size_t j = from;
    while (j < n && kinds[j] == kind) ++j;
    return j;
  };

  size_t i = 0;
  while (i < n) {
    const char32_t c = cps[i];
    size_t end = 0;
    // 's|'t|'re|'ve|'m|'ll|'d  (case-sensitive)
    if (c == U'\'' && i + 1 < n) {
      const char32_t c1 = cps[i + 1];
      if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') {
        end = i + 2;
      } else if (i + 2 < n) {
        const char32_t c2 = cps[i + 2];
        if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l')) {
          end = i + 3;
        }
      }
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: the optional space is U+0020 only.
    if (end == 0) {
      const bool space_prefix = c == U' ' && i + 1 < n && kinds[i + 1] != CharKind::kSpace;
      const size_t body = space_prefix ? i + 1 : i;
      const CharKind kind = kinds[body];
      if (kind != CharKind::kSpace) end = run_end(body, kind);
    }
    // `\s+(?!\S)` then `\s+`: a white-space run, minus its last character when a
    // non-space follows and the run is longer than one.
    if (end == 0) {
      const size_t k = run_end(i, CharKind::kSpace);
      if (k == n) {
        end = n;
      } else if (k - 1 > i) {
        end = k - 1;
      } else {
        end = k;
      }
    }
    pieces->push_back(text.substr(offsets[i], offsets[end] - offsets[i]));
    i = end;
  }
}

}  // namespace vlart::text
