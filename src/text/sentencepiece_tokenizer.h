// SPDX-License-Identifier: Apache-2.0
//
// sentencepiece_tokenizer.h: a SentencePiece tokenizer.model (PaliGemma / Gemma for
// pi0 and pi0.5), wrapping libsentencepiece so the ids are the library's own.
//
// Encode(text, add_bos, add_eos) is Python's
// SentencePieceProcessor.encode(text, add_bos=..., add_eos=...): the model's
// normaliser and pieces, then bos_id() prepended / eos_id() appended. Text must be
// valid UTF-8 (a Python str cannot be anything else). Gemma's ids: pad 0, eos 1,
// bos 2, unk 3. Encode/Decode are const and thread-safe (the library's processor is).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace vlart {

class SentencePieceTokenizer {
 public:
  static Result<SentencePieceTokenizer> FromFile(const std::filesystem::path& path);
  // `model_proto` is the content of a tokenizer.model (a serialized ModelProto).
  static Result<SentencePieceTokenizer> FromBytes(std::string_view model_proto);

  SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept;
  SentencePieceTokenizer& operator=(SentencePieceTokenizer&&) noexcept;
  ~SentencePieceTokenizer();

  Result<std::vector<int32_t>> Encode(std::string_view text, bool add_bos, bool add_eos) const;
  // Control ids (bos/eos/pad) decode to nothing, as in SentencePiece.
  Result<std::string> Decode(const std::vector<int32_t>& ids) const;

  // -1 where the model has no such token.
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;
  int32_t vocab_size() const;
  // -1 if `piece` is not in the vocabulary (unk pieces map to unk_id in SentencePiece;
  // this reports them as absent instead).
  int32_t PieceToId(std::string_view piece) const;
  std::string IdToPiece(int32_t id) const;  // "" when out of range

 private:
  SentencePieceTokenizer();
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace vlart
