// SPDX-License-Identifier: Apache-2.0
//
// norm_stats.h: NormStats, openpi's norm_stats.json (state/action normalisation).
//
// Format (openpi src/openpi/shared/normalize.py, serialize_json / deserialize_json):
//   {"norm_stats": {"state": {"mean": [...], "std": [...], "q01": [...], "q99": [...]},
//                   "actions": {...}, ...}}
// mean and std are required; q01 and q99 are optional (absent or null) and only
// needed by quantile normalisation (pi0.5; pi0 uses z-score). openpi applies them
// to the first x.shape[-1] entries, so vectors may be longer than the data.
//   z-score:  (x - mean) / (std + 1e-6)
//   quantile: (x - q01) / (q99 - q01 + 1e-6) * 2 - 1
// Values are kept as double, as JSON (and numpy) hold them.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "io/json_config.h"

namespace vlart {

struct NormStatsEntry {
  std::vector<double> mean;                // [D]
  std::vector<double> std;                 // [D]
  std::optional<std::vector<double>> q01;  // [D]; nullopt for z-score-only stats
  std::optional<std::vector<double>> q99;  // [D]
  bool has_quantiles() const { return q01.has_value() && q99.has_value(); }
};

struct NormStats {
  std::string label;                              // file path, for messages
  std::map<std::string, NormStatsEntry> entries;  // "state", "actions", ...

  // nullptr when `key` has no stats.
  const NormStatsEntry* Find(std::string_view key) const;
  // Stats for `key` that can drive quantile normalisation (openpi's _assert_quantile_stats).
  Result<const NormStatsEntry*> RequireQuantiles(std::string_view key) const;

  static Result<NormStats> FromDocument(const JsonDocument& doc);
  static Result<NormStats> Load(const std::filesystem::path& path);
};

}  // namespace vlart
