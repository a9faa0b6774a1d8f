// SPDX-License-Identifier: Apache-2.0
//
// added_vocabulary.h: the tokens of tokenizer.json's "added_tokens", found in the raw
// text before pre-tokenisation, as the `tokenizers` AddedVocabulary does.
//
// Rules reproduced from `tokenizers` 0.22 (added_vocabulary.rs):
// - Two passes. First the tokens with normalized=false are matched on the whole
//   text, then the tokens with normalized=true on the pieces in between (vlart only
//   accepts a null normalizer, so both passes see the raw text).
// - Matching is leftmost-longest and non-overlapping (Aho-Corasick LeftmostLongest),
//   in the order: special tokens, then the others, each in file order.
// - single_word drops a match with a word character (Rust regex \w) right before or
//   after it; lstrip / rstrip widen a match over the white space (Rust regex \s)
//   before / after it. A dropped match still consumes its text for the search.
// - Ids: a token whose content is in the model vocabulary takes that id; the others
//   are numbered from the model vocabulary size on, in order (the file's "id" fields
//   are only checked by `tokenizers`, with a warning, so vlart follows the same rule).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace vlart::text {

struct AddedToken {
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

// A piece of the input: an added token (token_id >= 0) or plain text (-1).
struct TextSegment {
  size_t begin = 0;  // byte offsets into the text
  size_t end = 0;
  int32_t token_id = -1;
};

class AddedVocabulary {
 public:
  // `model_vocab_size` and `model_token_to_id` give the BPE vocabulary the ids are
  // resolved against (see the header comment).
  template <typename ModelLookup>
  void Build(const std::vector<AddedToken>& tokens, size_t model_vocab_size, ModelLookup model_token_to_id);

  // Splits valid UTF-8 `text` into added tokens and plain pieces (never empty).
  void Split(std::string_view text, std::vector<TextSegment>* out) const;

  bool empty() const { return by_id_.empty(); }
  // The added token with this id, or nullptr.
  const AddedToken* FindById(int32_t id) const;
  // The id of the added token with this content, or -1.
  int32_t FindByContent(std::string_view content) const;
  bool IsSpecialContent(std::string_view content) const { return special_set_.count(std::string(content)) != 0; }

 private:
  // A byte trie over the token contents of one pass.
  struct Trie {
    struct Node {
      std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
      int32_t token_id = -1;                           // a pattern ends here
    };
    std::vector<Node> nodes{Node{}};
    void Insert(std::string_view pattern, int32_t token_id);
    // Length of the longest pattern that starts at text[pos] (0 if none); *token_id set.
    size_t LongestAt(std::string_view text, size_t pos, int32_t* token_id) const;
  };

  void FindMatches(std::string_view text, size_t base, const Trie& trie, std::vector<TextSegment>* out) const;
  void Insert(const AddedToken& token, int32_t id);

  std::unordered_map<int32_t, AddedToken> by_id_;
  std::unordered_map<std::string, int32_t> by_content_;
  std::unordered_set<std::string> special_set_;
  Trie raw_trie_;         // normalized == false
  Trie normalized_trie_;  // normalized == true
};

template <typename ModelLookup>
void AddedVocabulary::Build(const std::vector<AddedToken>& tokens, size_t model_vocab_size,
                            ModelLookup model_token_to_id) {
  // Special tokens first, then the others (the order of the `tokenizers` tries).
  std::vector<const AddedToken*> special, regular;
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    if (t.special) {
      if (special_set_.insert(t.content).second) special.push_back(&t);
    }
  }
  // Tokens already in the model vocabulary keep their id; the others are numbered
  // from the model vocabulary size on (`tokenizers` AddedVocabulary::add_tokens on
  // an empty added vocabulary). A repeated content keeps its id; its last flags win.
  int64_t next_id = static_cast<int64_t>(model_vocab_size);
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    int32_t id = FindByContent(t.content);
    if (id < 0) id = model_token_to_id(t.content);
    if (id < 0) id = static_cast<int32_t>(next_id++);
    by_content_[t.content] = id;
    by_id_[id] = t;
    if (!t.special) regular.push_back(&t);
  }
  for (const AddedToken* t : special) Insert(*t, by_content_.at(t->content));
  for (const AddedToken* t : regular) {
    if (special_set_.count(t->content) == 0) Insert(*t, by_content_.at(t->content));
  }
}

}  // namespace vlart::text
