// SPDX-License-Identifier: Apache-2.0
//
// unicode_class.cc: lookup into the generated range table, with an ASCII fast path.
#include "text/unicode_class.h"

#include <algorithm>
#include <array>

namespace vlart::text {
namespace {

uint8_t LookUp(char32_t cp) {
  const detail::UnicodeRange* begin = detail::kUnicodeRanges;
  const detail::UnicodeRange* end = begin + detail::kNumUnicodeRanges;
  // First range whose last >= cp.
  const detail::UnicodeRange* it = std::lower_bound(
      begin, end, static_cast<uint32_t>(cp),
      [](const detail::UnicodeRange& r, uint32_t v) { return r.last < v; });
  if (it == end || it->first > cp) return 0;
  return it->bits;
}

std::array<uint8_t, 128> MakeAsciiTable() {
  std::array<uint8_t, 128> table{};
  for (char32_t c = 0; c < 128; ++c) table[c] = LookUp(c);
  return table;
}

}  // namespace

uint8_t UnicodeClass(char32_t cp) {
  static const std::array<uint8_t, 128> kAscii = MakeAsciiTable();
  if (cp < 128) return kAscii[cp];
  return LookUp(cp);
}

const char* UnicodeTablesVersion() { return detail::kUnicodeVersion; }

}  // namespace vlart::text
