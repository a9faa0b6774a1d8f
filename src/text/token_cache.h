// SPDX-License-Identifier: Apache-2.0
//
// token_cache.h: TokenCache, the tokenizer results of the last few prompts.
//
// A robot sends the same instruction on every step of an episode, so the policies keep
// what tokenizing it gave (ids, mask, truncation) keyed by the exact text the tokenizer
// saw (plus anything else the result depends on, folded into the key by the caller).
// Tokenizers are pure functions of their input, so a hit returns exactly what a fresh
// call would. Only successful results are stored. Not thread-safe: the owner locks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace vlart {

template <typename Value>
class TokenCache {
 public:
  explicit TokenCache(size_t capacity = 64) : capacity_(capacity) {}

  // The stored value for `key`, or null.
  const Value* Find(std::string_view key) const {
    const auto it = map_.find(std::string(key));
    return it == map_.end() ? nullptr : &it->second;
  }

  // Stores `value` for `key` (when full, forgets everything first: prompts are few).
  const Value& Put(std::string_view key, Value value) {
    if (map_.size() >= capacity_) map_.clear();
    return map_.insert_or_assign(std::string(key), std::move(value)).first->second;
  }

 private:
  size_t capacity_;
  std::unordered_map<std::string, Value> map_;
};

}  // namespace vlart
