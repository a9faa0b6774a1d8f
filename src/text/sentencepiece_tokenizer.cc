// SPDX-License-Identifier: Apache-2.0
//
// sentencepiece_tokenizer.cc: thin Status-returning wrapper over libsentencepiece.
#include "text/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>

#include <fstream>
#include <sstream>

#include "text/utf8.h"

namespace vlart {

SentencePieceTokenizer::SentencePieceTokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
SentencePieceTokenizer::SentencePieceTokenizer(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer& SentencePieceTokenizer::operator=(SentencePieceTokenizer&&) noexcept = default;
SentencePieceTokenizer::~SentencePieceTokenizer() = default;

Result<SentencePieceTokenizer> SentencePieceTokenizer::FromFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("loading tokenizer: {}: expected a readable SentencePiece tokenizer.model, got no such file",
                    path.string());
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  Result<SentencePieceTokenizer> tok = FromBytes(buffer.str());
  if (!tok.ok()) return tok.status().WithContext(path.string());
  return tok;
}

Result<SentencePieceTokenizer> SentencePieceTokenizer::FromBytes(std::string_view model_proto) {
  if (model_proto.empty()) {
    return DataLoss("SentencePiece model: expected a serialized ModelProto, got 0 bytes");
  }
  SentencePieceTokenizer tok;
  const sentencepiece::util::Status status = tok.sp_->LoadFromSerializedProto(model_proto);
  if (!status.ok()) {
    return DataLoss("SentencePiece model: expected a valid serialized ModelProto ({} bytes), got a load error: {}; "
                    "hint: the file may be truncated or not a tokenizer.model",
                    model_proto.size(), status.ToString());
  }
  if (tok.sp_->GetPieceSize() <= 0) {
    return DataLoss("SentencePiece model: expected pieces, got an empty vocabulary");
  }
  return tok;
}

Result<std::vector<int32_t>> SentencePieceTokenizer::Encode(std::string_view text, bool add_bos, bool add_eos) const {
  VLART_TRY(text::ValidateUtf8(text, "tokenizing text"));
  std::vector<int> pieces;
  const sentencepiece::util::Status status = sp_->Encode(text, &pieces);
  if (!status.ok()) return Internal("tokenizing text: SentencePiece Encode failed: {}", status.ToString());
  std::vector<int32_t> ids;
  ids.reserve(pieces.size() + 2);
  if (add_bos) {
    if (bos_id() < 0) return InvalidArgument("tokenizing text: add_bos: expected a model with a bos piece, got none");
    ids.push_back(bos_id());
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  if (add_eos) {
    if (eos_id() < 0) return InvalidArgument("tokenizing text: add_eos: expected a model with an eos piece, got none");
    ids.push_back(eos_id());
  }
  return ids;
}

Result<std::string> SentencePieceTokenizer::Decode(const std::vector<int32_t>& ids) const {
  const int n = sp_->GetPieceSize();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= n) {
      return InvalidArgument("decoding ids: ids[{}]: expected 0 <= id < {}, got {}", i, n, ids[i]);
    }
  }
  std::string text;
  const sentencepiece::util::Status status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &text);
  if (!status.ok()) return Internal("decoding ids: SentencePiece Decode failed: {}", status.ToString());
  return text;
}

int32_t SentencePieceTokenizer::bos_id() const { return sp_->bos_id(); }
int32_t SentencePieceTokenizer::eos_id() const { return sp_->eos_id(); }
int32_t SentencePieceTokenizer::pad_id() const { return sp_->pad_id(); }
int32_t SentencePieceTokenizer::unk_id() const { return sp_->unk_id(); }
int32_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

int32_t SentencePieceTokenizer::PieceToId(std::string_view piece) const {
  const int id = sp_->PieceToId(piece);
  if (id == sp_->unk_id() && sp_->IdToPiece(id) != piece) return -1;
  return id;
}

std::string SentencePieceTokenizer::IdToPiece(int32_t id) const {
  if (id < 0 || id >= sp_->GetPieceSize()) return std::string();
  return sp_->IdToPiece(id);
}

}  // namespace vlart
