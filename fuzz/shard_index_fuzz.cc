// SPDX-License-Identifier: Apache-2.0
//
// shard_index_fuzz.cc: libFuzzer target for model.safetensors.index.json parsing.
// Any input must fail with a message or give an index whose every mapped shard is a
// plain file name listed in shard_files.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "io/shard_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vlart::Result<vlart::ShardIndex> index = vlart::ParseShardIndex(text, "fuzz");
  if (!index.ok()) {
    if (index.status().message().empty()) std::abort();
    return 0;
  }
  if (index->weight_map.empty() || index->shard_files.empty()) std::abort();
  for (const auto& [name, shard] : index->weight_map) {
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "..") std::abort();
    if (!std::binary_search(index->shard_files.begin(), index->shard_files.end(), shard)) {
      std::abort();
    }
  }
  return 0;
}
