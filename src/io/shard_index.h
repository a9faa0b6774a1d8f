// SPDX-License-Identifier: Apache-2.0
//
// shard_index.h: parsing model.safetensors.index.json, the map of a sharded checkpoint.
//
// Format (written by transformers' save_pretrained / huggingface_hub):
//   {"metadata": {"total_size": 123, ...}, "weight_map": {"tensor.name":
//   "model-00001-of-00002.safetensors", ...}}
// Shard names must be plain file names in the same folder: a name with a path
// separator, "." or ".." is rejected, so an index cannot point outside its folder.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vlart {

inline constexpr std::string_view kShardIndexFileName = "model.safetensors.index.json";

struct ShardIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> shard_files;           // distinct shard names, sorted
  std::optional<uint64_t> total_size;             // metadata.total_size, when an integer
};

// Parses and validates the index text; `label` names it in errors.
Result<ShardIndex> ParseShardIndex(std::string_view json_text, std::string_view label);

}  // namespace vlart
