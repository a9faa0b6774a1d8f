// SPDX-License-Identifier: Apache-2.0
//
// bpe_tokenizer.h: a byte-level BPE tokenizer read from a Hugging Face tokenizer.json,
// giving the same ids as `tokenizers` / transformers (the Florence-2 / BART family
// X-VLA uses: BartTokenizerFast with <s>=0, <pad>=1, </s>=2, <unk>=3).
//
// Pipeline (one call of Encode):
//   1. the text must be valid UTF-8 (InvalidArgument otherwise; Python strings
//      cannot hold invalid UTF-8, so there is no Hugging Face behaviour to copy);
//   2. added tokens (special or not) are cut out of the raw text (added_vocabulary.h);
//   3. each remaining piece: ByteLevel pre-tokenizer (optional prefix space, GPT-2
//      regex split, bytes mapped to printable characters; byte_level.h);
//   4. BPE merges per pre-token (bpe_model.h);
//   5. truncation to max_length minus the special tokens the post-processor adds,
//      then the post-processor's special tokens, then right padding.
// Supported tokenizer.json parts, anything else is refused with a Status:
//   normalizer null; pre_tokenizer ByteLevel; model BPE; post_processor null,
//   RobertaProcessing, BertProcessing, ByteLevel, TemplateProcessing (single), or a
//   Sequence of those; decoder ByteLevel or null; padding (for the pad id).
// The file's own "truncation" block is not applied: the caller's options decide, as
// transformers does when called with explicit padding/truncation arguments.
//
// Encode is const and thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "text/added_vocabulary.h"
#include "text/bpe_model.h"

namespace vlart {

struct BpeEncodeOptions {
  bool add_special_tokens = true;  // the post-processor's <s> ... </s>
  int max_length = 0;              // 0: no limit; needed by truncation and padding
  bool truncation = false;         // keep at most max_length ids, specials included
  bool pad_to_max_length = false;  // right-pad with pad_id() up to max_length
};

struct TokenizedText {
  std::vector<int32_t> ids;             // [S]
  std::vector<int32_t> attention_mask;  // [S] 1 for real tokens, 0 for padding
  bool truncated = false;               // content ids were dropped to fit max_length
};

class BpeTokenizer {
 public:
  static Result<BpeTokenizer> FromFile(const std::filesystem::path& path);
  // `json_text` is the content of a tokenizer.json.
  static Result<BpeTokenizer> FromJsonText(std::string_view json_text);

  // The X-VLA processor's call `tokenizer([text], padding="max_length",
  // max_length=50, truncation=True)` is Encode(text, {true, 50, true, true}).
  Result<TokenizedText> Encode(std::string_view text, const BpeEncodeOptions& options) const;
  // The ids of `text` with no truncation or padding.
  Result<std::vector<int32_t>> EncodeIds(std::string_view text, bool add_special_tokens) const;

  // `tokenizers` Tokenizer.decode: ids unknown to the vocabulary are skipped, as there.
  // (transformers' decode may further apply clean_up_tokenization_spaces; this does not.)
  std::string Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const;

  // Id of a token (added tokens first, then the BPE vocabulary), or -1.
  int32_t TokenToId(std::string_view token) const;
  // The token string of an id (byte-level form for BPE entries), or "" if unknown.
  std::string IdToToken(int32_t id) const;
  // Distinct tokens, added ones included (`get_vocab_size(with_added_tokens=True)`).
  size_t VocabSize() const { return vocab_size_; }
  // From the file's "padding" block, else the id of "<pad>", else -1.
  int32_t pad_id() const { return pad_id_; }
  // Special tokens the post-processor adds around one sequence.
  int num_special_tokens() const { return static_cast<int>(prefix_ids_.size() + suffix_ids_.size()); }

 private:
  BpeTokenizer() = default;
  static Result<BpeTokenizer> FromJson(const nlohmann::json& root);
  void EncodeContent(std::string_view text, std::vector<int32_t>* ids) const;

  text::BpeModel model_;
  text::AddedVocabulary added_;
  bool add_prefix_space_ = false;
  bool use_regex_ = true;
  bool byte_level_decoder_ = false;
  std::vector<int32_t> prefix_ids_;  // post-processor ids before the sequence
  std::vector<int32_t> suffix_ids_;  // and after it
  int32_t pad_id_ = -1;
  size_t vocab_size_ = 0;
};

}  // namespace vlart
