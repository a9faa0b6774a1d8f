// SPDX-License-Identifier: Apache-2.0
//
// bpe_tokenizer.cc: tokenizer.json parsing and the encode/decode pipeline of
// bpe_tokenizer.h. Section names in messages are the tokenizer.json keys.
#include "text/bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace vlart {
namespace {

std::string TypeOf(const nlohmann::json& j) {
  if (j.is_object() && j.contains("type") && j["type"].is_string()) return j["type"].get<std::string>();
  return j.is_object() ? "<object without type>" : j.type_name();
}

Status CheckNormalizer(const nlohmann::json& root) {
  if (!root.contains("normalizer") || root["normalizer"].is_null()) return Status::Ok();
  return Unimplemented(
      "tokenizer.json: normalizer: expected null, got {}; hint: the byte-level BPE family (BART, Florence-2, "
      "GPT-2, RoBERTa) has no normalizer, and vlart does not implement the others",
      TypeOf(root["normalizer"]));
}

// A [token, id] pair of RobertaProcessing / BertProcessing.
Result<int32_t> SpecialPairId(const nlohmann::json& pp, const char* key) {
  if (!pp.contains(key) || !pp[key].is_array() || pp[key].size() != 2 || !pp[key][1].is_number_integer()) {
    return DataLoss("tokenizer.json: post_processor.{}: expected a [token, id] pair, got {}", key,
                    pp.contains(key) ? pp[key].dump() : "nothing");
  }
  return pp[key][1].get<int32_t>();
}

// Adds one post-processor's single-sequence special tokens around the current ones.
Status ParsePostProcessor(const nlohmann::json& pp, std::vector<int32_t>* prefix, std::vector<int32_t>* suffix) {
  if (pp.is_null()) return Status::Ok();
  const std::string type = TypeOf(pp);
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    VLART_ASSIGN_OR_RETURN(const int32_t cls, SpecialPairId(pp, "cls"));
    VLART_ASSIGN_OR_RETURN(const int32_t sep, SpecialPairId(pp, "sep"));
    prefix->insert(prefix->begin(), cls);
    suffix->push_back(sep);
    return Status::Ok();
  }
  if (type == "ByteLevel") return Status::Ok();  // only trims offsets
  if (type == "Sequence") {
    if (!pp.contains("processors") || !pp["processors"].is_array()) {
      return DataLoss("tokenizer.json: post_processor.processors: expected an array");
    }
    for (const auto& p : pp["processors"]) VLART_TRY(ParsePostProcessor(p, prefix, suffix));
    return Status::Ok();
  }
  if (type == "TemplateProcessing") {
    if (!pp.contains("single") || !pp["single"].is_array()) {
      return DataLoss("tokenizer.json: post_processor.single: expected an array of template pieces");
    }
    const nlohmann::json specials = pp.value("special_tokens", nlohmann::json::object());
    std::vector<int32_t> before, after;
    int sequences = 0;
    for (const auto& piece : pp["single"]) {
      if (piece.contains("Sequence")) {
        if (piece["Sequence"].value("id", std::string()) != "A") {
          return DataLoss("tokenizer.json: post_processor.single: expected sequence A only, got {}", piece.dump());
        }
        ++sequences;
        continue;
      }
      if (!piece.contains("SpecialToken") || !piece["SpecialToken"].contains("id")) {
        return DataLoss("tokenizer.json: post_processor.single: expected Sequence or SpecialToken, got {}",
                        piece.dump());
      }
      const std::string name = piece["SpecialToken"]["id"].get<std::string>();
      if (!specials.contains(name) || !specials[name].contains("ids") || !specials[name]["ids"].is_array()) {
        return DataLoss("tokenizer.json: post_processor.special_tokens: expected an entry for \"{}\" with ids", name);
      }
      for (const auto& id : specials[name]["ids"]) (sequences == 0 ? before : after).push_back(id.get<int32_t>());
    }
    if (sequences != 1) {
      return DataLoss("tokenizer.json: post_processor.single: expected exactly one $A, got {}", sequences);
    }
    prefix->insert(prefix->begin(), before.begin(), before.end());
    suffix->insert(suffix->end(), after.begin(), after.end());
    return Status::Ok();
  }
  return Unimplemented(
      "tokenizer.json: post_processor: expected null, RobertaProcessing, BertProcessing, TemplateProcessing, "
      "ByteLevel or Sequence, got {}",
      type);
}

Result<std::vector<text::AddedToken>> ParseAddedTokens(const nlohmann::json& root) {
  std::vector<text::AddedToken> tokens;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return tokens;
  if (!root["added_tokens"].is_array()) return DataLoss("tokenizer.json: added_tokens: expected an array");
  for (size_t i = 0; i < root["added_tokens"].size(); ++i) {
    const auto& t = root["added_tokens"][i];
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string()) {
      return DataLoss("tokenizer.json: added_tokens[{}]: expected an object with a \"content\" string", i);
    }
    text::AddedToken token;
    token.content = t["content"].get<std::string>();
    VLART_TRY(text::ValidateUtf8(token.content, "tokenizer.json: added_tokens content"));
    token.single_word = t.value("single_word", false);
    token.lstrip = t.value("lstrip", false);
    token.rstrip = t.value("rstrip", false);
    token.normalized = t.value("normalized", true);
    token.special = t.value("special", false);
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

Result<BpeTokenizer> BpeTokenizer::FromFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("loading tokenizer: {}: expected a readable tokenizer.json, got no such file", path.string());
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  Result<BpeTokenizer> tok = FromJsonText(buffer.str());
  if (!tok.ok()) return tok.status().WithContext(path.string());
  return tok;
}

Result<BpeTokenizer> BpeTokenizer::FromJsonText(std::string_view json_text) {
  nlohmann::json root = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return DataLoss("tokenizer.json: expected valid JSON, got a parse error; hint: the file may be truncated");
  }
  return FromJson(root);
}

Result<BpeTokenizer> BpeTokenizer::FromJson(const nlohmann::json& root) {
  if (!root.is_object()) return DataLoss("tokenizer.json: expected a JSON object, got {}", root.type_name());
  if (root.contains("version") && root["version"] != "1.0") {
    return DataLoss("tokenizer.json: version: expected \"1.0\", got {}", root["version"].dump());
  }
  VLART_TRY(CheckNormalizer(root));

  BpeTokenizer tok;
  if (!root.contains("model")) return DataLoss("tokenizer.json: model: expected an object, got nothing");
  VLART_ASSIGN_OR_RETURN(tok.model_, text::BpeModel::FromJson(root["model"]));

  const nlohmann::json pre = root.value("pre_tokenizer", nlohmann::json());
  if (TypeOf(pre) != "ByteLevel") {
    return Unimplemented("tokenizer.json: pre_tokenizer: expected ByteLevel, got {}; hint: vlart implements the "
                         "byte-level BPE family only",
                         TypeOf(pre));
  }
  tok.add_prefix_space_ = pre.value("add_prefix_space", true);
  tok.use_regex_ = pre.value("use_regex", true);

  VLART_TRY(ParsePostProcessor(root.value("post_processor", nlohmann::json()), &tok.prefix_ids_, &tok.suffix_ids_));

  const nlohmann::json decoder = root.value("decoder", nlohmann::json());
  if (!decoder.is_null()) {
    if (TypeOf(decoder) != "ByteLevel") {
      return Unimplemented("tokenizer.json: decoder: expected ByteLevel or null, got {}", TypeOf(decoder));
    }
    tok.byte_level_decoder_ = true;
  }

  VLART_ASSIGN_OR_RETURN(const auto added, ParseAddedTokens(root));
  const text::BpeModel& model = tok.model_;
  tok.added_.Build(added, model.vocab_size(), [&](const std::string& c) { return model.TokenToId(c); });
  // Distinct added contents that the BPE vocabulary lacks extend the id space.
  std::vector<std::string> extra;
  for (const auto& t : added) {
    if (!t.content.empty() && model.TokenToId(t.content) < 0) extra.push_back(t.content);
  }
  std::sort(extra.begin(), extra.end());
  tok.vocab_size_ = model.vocab_size() + static_cast<size_t>(std::unique(extra.begin(), extra.end()) - extra.begin());

  const nlohmann::json padding = root.value("padding", nlohmann::json());
  if (padding.is_object() && padding.contains("pad_id") && padding["pad_id"].is_number_integer()) {
    tok.pad_id_ = padding["pad_id"].get<int32_t>();
  } else {
    tok.pad_id_ = tok.TokenToId("<pad>");
  }
  return tok;
}

void BpeTokenizer::EncodeContent(std::string_view text, std::vector<int32_t>* ids) const {
  std::vector<text::TextSegment> segments;
  added_.Split(text, &segments);
  std::vector<std::string_view> pieces;
  std::string prefixed;
  std::string byte_level;
  for (const text::TextSegment& seg : segments) {
    if (seg.token_id >= 0) {
      ids->push_back(seg.token_id);
      continue;
    }
    std::string_view piece = text.substr(seg.begin, seg.end - seg.begin);
    if (add_prefix_space_ && (piece.empty() || piece[0] != ' ')) {
      prefixed.clear();
      prefixed.push_back(' ');
      prefixed.append(piece.data(), piece.size());
      piece = prefixed;
    }
    pieces.clear();
    if (use_regex_) {
      text::SplitGpt2(piece, &pieces);
    } else {
      pieces.push_back(piece);
    }
    for (std::string_view word : pieces) {
      byte_level.clear();
      text::AppendByteLevel(word, &byte_level);
      model_.Tokenize(byte_level, ids);
    }
  }
}

Result<TokenizedText> BpeTokenizer::Encode(std::string_view text, const BpeEncodeOptions& options) const {
  VLART_TRY(text::ValidateUtf8(text, "tokenizing text"));
  if (options.max_length < 0) {
    return InvalidArgument("tokenizing text: max_length: expected >= 0 (0 for no limit), got {}", options.max_length);
  }
  if ((options.truncation || options.pad_to_max_length) && options.max_length == 0) {
    return InvalidArgument("tokenizing text: max_length: expected > 0 with truncation or padding, got 0");
  }
  TokenizedText out;
  std::vector<int32_t> content;
  EncodeContent(text, &content);

  if (options.truncation) {
    // `tokenizers` computes max_length - n_special in an unsigned type: when
    // max_length is smaller than the special tokens it wraps and nothing is cut.
    const int n_special = options.add_special_tokens ? num_special_tokens() : 0;
    if (options.max_length >= n_special) {
      const size_t limit = static_cast<size_t>(options.max_length - n_special);
      if (content.size() > limit) {
        content.resize(limit);
        out.truncated = true;
      }
    }
  }
  if (options.add_special_tokens) {
    out.ids.reserve(content.size() + prefix_ids_.size() + suffix_ids_.size());
    out.ids.insert(out.ids.end(), prefix_ids_.begin(), prefix_ids_.end());
    out.ids.insert(out.ids.end(), content.begin(), content.end());
    out.ids.insert(out.ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  } else {
    out.ids = std::move(content);
  }
  out.attention_mask.assign(out.ids.size(), 1);
  if (options.pad_to_max_length && out.ids.size() < static_cast<size_t>(options.max_length)) {
    if (pad_id_ < 0) {
      return InvalidArgument("tokenizing text: pad id: expected a padding block or a <pad> token in tokenizer.json, "
                             "got neither; hint: pad_to_max_length needs one");
    }
    out.ids.resize(options.max_length, pad_id_);
    out.attention_mask.resize(options.max_length, 0);
  }
  return out;
}

Result<std::vector<int32_t>> BpeTokenizer::EncodeIds(std::string_view text, bool add_special_tokens) const {
  BpeEncodeOptions options;
  options.add_special_tokens = add_special_tokens;
  VLART_ASSIGN_OR_RETURN(TokenizedText t, Encode(text, options));
  return std::move(t.ids);
}

std::string BpeTokenizer::Decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    std::string token;
    if (const text::AddedToken* t = added_.FindById(id)) {
      token = t->content;
    } else if (const std::string* s = model_.IdToToken(id)) {
      token = *s;
    } else {
      continue;  // unknown ids are skipped, as in `tokenizers`
    }
    if (skip_special_tokens && added_.IsSpecialContent(token)) continue;
    tokens.push_back(std::move(token));
  }
  std::string out;
  if (!byte_level_decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) out.push_back(' ');
      out.append(tokens[i]);
    }
    return out;
  }
  // ByteLevel decoder: each token's characters back to bytes (a token with a
  // character outside the byte map is taken as its raw UTF-8), then lossy UTF-8.
  std::string bytes;
  std::string token_bytes;
  for (const std::string& token : tokens) {
    token_bytes.clear();
    bool mapped = true;
    for (size_t pos = 0; pos < token.size();) {
      size_t len = 0;
      const int b = text::CharToByte(text::DecodeUtf8At(token, pos, &len));
      if (b < 0) {
        mapped = false;
        break;
      }
      token_bytes.push_back(static_cast<char>(b));
      pos += len;
    }
    bytes.append(mapped ? token_bytes : token);
  }
  return text::Utf8Lossy(bytes);
}

int32_t BpeTokenizer::TokenToId(std::string_view token) const {
  const int32_t added = added_.FindByContent(token);
  return added >= 0 ? added : model_.TokenToId(token);
}

std::string BpeTokenizer::IdToToken(int32_t id) const {
  if (const text::AddedToken* t = added_.FindById(id)) return t->content;
  if (const std::string* s = model_.IdToToken(id)) return *s;
  return std::string();
}

}  // namespace vlart
