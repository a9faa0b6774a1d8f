// SPDX-License-Identifier: Apache-2.0
//
// shard_index.cc: validation of model.safetensors.index.json (format in the header).

#include "io/shard_index.h"

#include <algorithm>
#include <set>

#include "io/json_parse.h"

namespace vlart {

Result<ShardIndex> ParseShardIndex(std::string_view json_text, std::string_view label) {
  Result<nlohmann::json> parsed = ParseJsonStrict(json_text);
  if (!parsed.ok()) return parsed.status().WithContext(fmt::format("shard index '{}'", label));
  const nlohmann::json& root = *parsed;
  if (!root.is_object()) {
    return DataLoss("shard index '{}': expected a JSON object, got {}", label, JsonTypeName(root));
  }
  ShardIndex index;
  if (const auto meta = root.find("metadata"); meta != root.end() && !meta->is_null()) {
    if (!meta->is_object()) {
      return DataLoss("shard index '{}': field 'metadata': expected an object, got {}", label,
                      JsonTypeName(*meta));
    }
    if (const auto total = meta->find("total_size");
        total != meta->end() && total->is_number_unsigned()) {
      index.total_size = total->get<uint64_t>();
    }
  }
  const auto map = root.find("weight_map");
  if (map == root.end()) {
    return DataLoss("shard index '{}': field 'weight_map': expected an object, got nothing", label);
  }
  if (!map->is_object()) {
    return DataLoss("shard index '{}': field 'weight_map': expected an object, got {}", label,
                    JsonTypeName(*map));
  }
  if (map->empty()) {
    return DataLoss("shard index '{}': field 'weight_map': expected at least one tensor, got none",
                    label);
  }
  std::set<std::string> shards;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) {
      return DataLoss("shard index '{}': weight_map['{}']: expected a file name string, got {}",
                      label, Printable(name), JsonTypeName(shard));
    }
    const std::string& file = shard.get_ref<const std::string&>();
    const bool plain = !file.empty() && file != "." && file != ".." &&
                       file.find_first_of(std::string_view("/\\\0", 3)) == std::string::npos;
    if (!plain) {
      return DataLoss(
          "shard index '{}': weight_map['{}']: expected a file name in the checkpoint folder, "
          "got '{}'",
          label, Printable(name), Printable(file));
    }
    index.weight_map.emplace(name, file);
    shards.insert(file);
  }
  index.shard_files.assign(shards.begin(), shards.end());
  return index;
}

}  // namespace vlart
