// SPDX-License-Identifier: Apache-2.0
//
// bpe_model.cc: BPE vocabulary/merges parsing and the merge loop (see bpe_model.h).
//
// The merge loop is the `tokenizers` Word::merge_all: a min-heap of candidate merges
// ordered by (rank, position); a popped entry is skipped when its left symbol was
// merged away or the pair at that position no longer produces the same token.
// O(k log k) for a word of k characters.
#include "text/bpe_model.h"

#include <nlohmann/json.hpp>

#include <queue>

#include "text/utf8.h"

namespace vlart::text {
namespace {

Result<std::pair<std::string, std::string>> ParseMerge(const nlohmann::json& m, size_t index) {
  if (m.is_string()) {
    const std::string& line = m.get_ref<const std::string&>();
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      return DataLoss("tokenizer.json: model.merges[{}]: expected \"<a> <b>\" (one space), got \"{}\"", index, line);
    }
    return std::make_pair(line.substr(0, space), line.substr(space + 1));
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
  }
  return DataLoss("tokenizer.json: model.merges[{}]: expected a \"a b\" string or an [\"a\", \"b\"] pair, got {}",
                  index, m.dump().substr(0, 80));
}

}  // namespace

Result<BpeModel> BpeModel::FromJson(const nlohmann::json& model) {
  BpeModel bpe;
  if (!model.is_object()) return DataLoss("tokenizer.json: model: expected an object, got {}", model.type_name());
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") {
    return Unimplemented("tokenizer.json: model.type: expected \"BPE\", got \"{}\"; hint: vlart reads byte-level BPE "
                         "tokenizers only (use SentencePieceTokenizer for tokenizer.model files)",
                         type);
  }
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    const double p = model["dropout"].is_number() ? model["dropout"].get<double>() : -1.0;
    if (p != 0.0) {
      return Unimplemented("tokenizer.json: model.dropout: expected null or 0, got {}; hint: BPE dropout is a "
                           "training-time randomisation",
                           model["dropout"].dump());
    }
  }
  // BART's converted file writes "" for both; "" and null mean "none" in `tokenizers`.
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && model[key] != "") {
      return Unimplemented("tokenizer.json: model.{}: expected null or \"\", got {}", key, model[key].dump());
    }
  }
  if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() && model["byte_fallback"].get<bool>()) {
    return Unimplemented("tokenizer.json: model.byte_fallback: expected false, got true");
  }
  if (model.contains("fuse_unk") && model["fuse_unk"].is_boolean()) bpe.fuse_unk_ = model["fuse_unk"].get<bool>();
  if (model.contains("ignore_merges") && model["ignore_merges"].is_boolean()) {
    bpe.ignore_merges_ = model["ignore_merges"].get<bool>();
  }

  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return DataLoss("tokenizer.json: model.vocab: expected an object of token -> id, got {}",
                    model.contains("vocab") ? model["vocab"].type_name() : "nothing");
  }
  const nlohmann::json& vocab = model["vocab"];
  bpe.vocab_.reserve(vocab.size());
  bpe.vocab_r_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX) {
      return DataLoss("tokenizer.json: model.vocab[\"{}\"]: expected a non-negative integer id, got {}", it.key(),
                      it.value().dump());
    }
    const auto id = static_cast<int32_t>(it.value().get<int64_t>());
    bpe.vocab_[it.key()] = id;
    bpe.vocab_r_[id] = it.key();
  }

  if (!model.contains("merges") || !model["merges"].is_array()) {
    return DataLoss("tokenizer.json: model.merges: expected an array, got {}",
                    model.contains("merges") ? model["merges"].type_name() : "nothing");
  }
  // One serialisation for the whole array, as the `tokenizers` untagged enum reads it:
  // all ["a", "b"] pairs, or all "a b" strings (where "#version" lines are skipped).
  const nlohmann::json& merges = model["merges"];
  const bool legacy = !merges.empty() && merges[0].is_string();
  bpe.merges_.reserve(merges.size());
  uint32_t rank = 0;
  for (size_t i = 0; i < merges.size(); ++i) {
    if (merges[i].is_string() != legacy) {
      return DataLoss("tokenizer.json: model.merges[{}]: expected every merge in the same form as merges[0] ({}), "
                      "got {}",
                      i, legacy ? "\"a b\" strings" : "[\"a\", \"b\"] pairs", merges[i].dump().substr(0, 80));
    }
    if (legacy && merges[i].get_ref<const std::string&>().rfind("#version", 0) == 0) continue;
    VLART_ASSIGN_OR_RETURN(auto pair, ParseMerge(merges[i], i));
    const int32_t a = bpe.TokenToId(pair.first);
    const int32_t b = bpe.TokenToId(pair.second);
    const int32_t merged = bpe.TokenToId(pair.first + pair.second);
    if (a < 0 || b < 0 || merged < 0) {
      const std::string& missing = a < 0 ? pair.first : b < 0 ? pair.second : pair.first + pair.second;
      return DataLoss("tokenizer.json: model.merges[{}]: expected tokens in the vocabulary, got \"{}\" which is not",
                      i, missing);
    }
    bpe.merges_[PairKey(a, b)] = Merge{rank++, merged};
  }

  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    const std::string unk = model["unk_token"].get<std::string>();
    bpe.unk_id_ = bpe.TokenToId(unk);
    if (bpe.unk_id_ < 0) {
      return DataLoss("tokenizer.json: model.unk_token: expected a token of the vocabulary, got \"{}\"", unk);
    }
  }
  return bpe;
}

int32_t BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  auto it = vocab_r_.find(id);
  return it == vocab_r_.end() ? nullptr : &it->second;
}

void BpeModel::Tokenize(std::string_view word, std::vector<int32_t>* ids) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t whole = TokenToId(word);
    if (whole >= 0) {
      ids->push_back(whole);
      return;
    }
  }
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    uint32_t len;  // bytes; 0 once merged into its left neighbour
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  const auto add = [&](int32_t id, uint32_t len) {
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, index - 1, index + 1, len});
  };
  int32_t pending_unk_len = 0;  // > 0: an unk symbol not yet added
  std::string ch;
  for (size_t pos = 0; pos < word.size();) {
    const size_t len = Utf8SequenceLength(static_cast<unsigned char>(word[pos]));
    ch.assign(word.substr(pos, len));
    pos += len;
    const int32_t id = TokenToId(ch);
    if (id >= 0) {
      if (pending_unk_len > 0) {
        add(unk_id_, static_cast<uint32_t>(pending_unk_len));
        pending_unk_len = 0;
      }
      add(id, static_cast<uint32_t>(len));
      continue;
    }
    if (unk_id_ < 0) continue;  // no unk_token: the character is dropped
    if (pending_unk_len > 0 && !fuse_unk_) add(unk_id_, static_cast<uint32_t>(pending_unk_len)), pending_unk_len = 0;
    pending_unk_len += static_cast<int32_t>(len);
  }
  if (pending_unk_len > 0) add(unk_id_, static_cast<uint32_t>(pending_unk_len));
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto find_merge = [&](int32_t a, int32_t b) -> const Merge* {
    auto it = merges_.find(PairKey(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const Merge* m = find_merge(symbols[i].id, symbols[i + 1].id)) {
      queue.push(Candidate{m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const int32_t right_pos = left.next;
    const Symbol right = symbols[right_pos];
    const Merge* current = find_merge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    symbols[right_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) {
      if (const Merge* m = find_merge(symbols[left.prev].id, left.id)) {
        queue.push(Candidate{m->rank, left.prev, m->new_id});
      }
    }
    if (left.next >= 0) {
      if (const Merge* m = find_merge(left.id, symbols[left.next].id)) {
        queue.push(Candidate{m->rank, top.pos, m->new_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) ids->push_back(s.id);
  }
}

}  // namespace vlart::text
