// SPDX-License-Identifier: Apache-2.0
//
// bpe_model.h: the "model" section of a tokenizer.json of type BPE: vocabulary,
// ranked merges, and the merge loop that turns one pre-token into ids.
//
// Reproduces `tokenizers` 0.22 (models/bpe/model.rs, word.rs) for the options the
// byte-level BPE family uses: every character of the word starts as a symbol; the
// adjacent pair with the lowest merge rank is merged first (leftmost on ties) until
// no pair has a merge. Characters missing from the vocabulary become unk_token (runs
// fused when fuse_unk), or are dropped when there is no unk_token, as `tokenizers`
// does. ignore_merges returns a word found whole in the vocabulary as one token.
// dropout must be null/0 (inference is deterministic); continuing_subword_prefix and
// end_of_word_suffix must be null or "" and byte_fallback false (not used by this family).
// Merges are accepted in both serialisations: "a b" strings and ["a", "b"] pairs; a
// repeated pair keeps its last rank, as the Rust HashMap collect does.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace vlart::text {

class BpeModel {
 public:
  // Parses tokenizer.json["model"].
  static Result<BpeModel> FromJson(const nlohmann::json& model);

  // Appends the ids of one pre-token, given in its byte-level form, to *ids.
  void Tokenize(std::string_view word, std::vector<int32_t>* ids) const;

  // -1 if absent.
  int32_t TokenToId(std::string_view token) const;
  // nullptr if absent.
  const std::string* IdToToken(int32_t id) const;
  // Number of vocabulary entries (the `tokenizers` get_vocab_size of the model).
  size_t vocab_size() const { return vocab_.size(); }

 private:
  struct Merge {
    uint32_t rank;
    int32_t new_id;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<int32_t, std::string> vocab_r_;
  std::unordered_map<uint64_t, Merge> merges_;
  int32_t unk_id_ = -1;  // -1: no unk_token
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
};

}  // namespace vlart::text
