// SPDX-License-Identifier: Apache-2.0
//
// added_vocabulary.cc: matching added tokens in raw text (see the header for the rules).
#include "text/added_vocabulary.h"

#include <algorithm>

#include "text/unicode_class.h"
#include "text/utf8.h"

namespace vlart::text {
namespace {

// The code point that ends just before byte `pos` of valid UTF-8 `s` (pos > 0).
char32_t CodePointBefore(std::string_view s, size_t pos) {
  size_t start = pos - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  size_t len = 0;
  return DecodeUtf8At(s, start, &len);
}

// Start of the white-space run that ends `s` (Rust regex `\s*$`).
size_t TrailingSpaceStart(std::string_view s) {
  size_t pos = s.size();
  while (pos > 0) {
    size_t start = pos - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len = 0;
    if (!IsWhiteSpace(DecodeUtf8At(s, start, &len))) break;
    pos = start;
  }
  return pos;
}

// Byte length of the white-space run that starts `s` (Rust regex `^\s*`).
size_t LeadingSpaceLength(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    size_t len = 0;
    if (!IsWhiteSpace(DecodeUtf8At(s, pos, &len))) break;
    pos += len;
  }
  return pos;
}

}  // namespace

void AddedVocabulary::Trie::Insert(std::string_view pattern, int32_t token_id) {
  int32_t node = 0;
  for (char ch : pattern) {
    const auto byte = static_cast<uint8_t>(ch);
    auto& next = nodes[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), byte,
                               [](const std::pair<uint8_t, int32_t>& e, uint8_t b) { return e.first < b; });
    if (it != next.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto child = static_cast<int32_t>(nodes.size());
    next.insert(it, {byte, child});  // `next` may dangle after push_back: insert first
    nodes.push_back(Node{});
    node = child;
  }
  if (nodes[node].token_id < 0) nodes[node].token_id = token_id;  // first pattern wins
}

size_t AddedVocabulary::Trie::LongestAt(std::string_view text, size_t pos, int32_t* token_id) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& next = nodes[node].next;
    auto it = std::lower_bound(next.begin(), next.end(), byte,
                               [](const std::pair<uint8_t, int32_t>& e, uint8_t b) { return e.first < b; });
    if (it == next.end() || it->first != byte) break;
    node = it->second;
    if (nodes[node].token_id >= 0) {
      best = i + 1 - pos;
      *token_id = nodes[node].token_id;
    }
  }
  return best;
}

void AddedVocabulary::Insert(const AddedToken& token, int32_t id) {
  (token.normalized ? normalized_trie_ : raw_trie_).Insert(token.content, id);
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

int32_t AddedVocabulary::FindByContent(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? -1 : it->second;
}

void AddedVocabulary::FindMatches(std::string_view text, size_t base, const Trie& trie,
                                  std::vector<TextSegment>* out) const {
  size_t start_offset = 0;
  const bool has_patterns = trie.nodes.size() > 1;
  size_t pos = 0;
  while (has_patterns && pos < text.size()) {
    int32_t id = -1;
    const size_t len = trie.LongestAt(text, pos, &id);
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + len;
    pos = stop;  // the search goes on after the match, whatever happens to it below
    const AddedToken& token = by_id_.at(id);
    if (token.single_word) {
      const bool start_space = start == 0 || !IsWordChar(CodePointBefore(text, start));
      size_t next_len = 0;
      const bool stop_space = stop == text.size() || !IsWordChar(DecodeUtf8At(text, stop, &next_len));
      if (!start_space || !stop_space) continue;
    }
    if (token.lstrip) start = std::max(TrailingSpaceStart(text.substr(0, start)), start_offset);
    if (token.rstrip) stop += LeadingSpaceLength(text.substr(stop));
    if (start_offset < start) out->push_back({base + start_offset, base + start, -1});
    out->push_back({base + start, base + stop, id});
    start_offset = stop;
  }
  if (start_offset != text.size()) out->push_back({base + start_offset, base + text.size(), -1});
}

void AddedVocabulary::Split(std::string_view text, std::vector<TextSegment>* out) const {
  std::vector<TextSegment> first;
  FindMatches(text, 0, raw_trie_, &first);
  for (const TextSegment& seg : first) {
    if (seg.token_id >= 0) {
      out->push_back(seg);
      continue;
    }
    if (seg.end <= seg.begin) continue;  // empty pieces are dropped, as in `tokenizers`
    const size_t before = out->size();
    FindMatches(text.substr(seg.begin, seg.end - seg.begin), seg.begin, normalized_trie_, out);
    // Drop empty plain pieces the second pass may leave.
    out->erase(std::remove_if(out->begin() + before, out->end(),
                              [](const TextSegment& s) { return s.token_id < 0 && s.end <= s.begin; }),
               out->end());
  }
}

}  // namespace vlart::text
