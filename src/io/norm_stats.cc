// SPDX-License-Identifier: Apache-2.0
//
// norm_stats.cc: reading and validating norm_stats.json (format in the header).

#include "io/norm_stats.h"

#include <fmt/format.h>

#include "io/json_parse.h"

namespace vlart {
namespace {

using Json = nlohmann::json;

Result<std::vector<double>> ReadVector(const JsonDocument& doc, const std::string& path,
                                       const Json& v) {
  if (!v.is_array()) return FieldTypeError(doc, path, "array of numbers", v);
  std::vector<double> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number()) {
      return InvalidArgument("{}: field '{}': expected array of numbers, got {} at index {}",
                             doc.label, path, JsonTypeName(v[i]), i);
    }
    out.push_back(v[i].get<double>());
  }
  return out;
}

Result<NormStatsEntry> ReadEntry(const JsonDocument& doc, const std::string& key, const Json& v) {
  const std::string base = "norm_stats." + key;
  if (!v.is_object()) return FieldTypeError(doc, base, "object with mean and std", v);
  NormStatsEntry e;
  for (const char* field : {"mean", "std"}) {
    const auto it = v.find(field);
    if (it == v.end() || it->is_null()) {
      return NotFound("{}: field '{}.{}': expected array of numbers, got nothing", doc.label, base,
                      field);
    }
  }
  VLART_ASSIGN_OR_RETURN(e.mean, ReadVector(doc, base + ".mean", v["mean"]));
  VLART_ASSIGN_OR_RETURN(e.std, ReadVector(doc, base + ".std", v["std"]));
  if (e.mean.empty()) {
    return InvalidArgument("{}: field '{}.mean': expected at least one value, got none", doc.label,
                           base);
  }
  if (e.std.size() != e.mean.size()) {
    return InvalidArgument("{}: field '{}.std': expected {} values (as mean), got {}", doc.label,
                           base, e.mean.size(), e.std.size());
  }
  for (const char* field : {"q01", "q99"}) {
    const auto it = v.find(field);
    if (it == v.end() || it->is_null()) continue;
    VLART_ASSIGN_OR_RETURN(std::vector<double> q,
                           ReadVector(doc, fmt::format("{}.{}", base, field), *it));
    if (q.size() != e.mean.size()) {
      return InvalidArgument("{}: field '{}.{}': expected {} values (as mean), got {}", doc.label,
                             base, field, e.mean.size(), q.size());
    }
    (std::string_view(field) == "q01" ? e.q01 : e.q99) = std::move(q);
  }
  return e;
}

}  // namespace

const NormStatsEntry* NormStats::Find(std::string_view key) const {
  const auto it = entries.find(std::string(key));
  return it == entries.end() ? nullptr : &it->second;
}

Result<const NormStatsEntry*> NormStats::RequireQuantiles(std::string_view key) const {
  const NormStatsEntry* e = Find(key);
  if (e == nullptr) {
    return NotFound("{}: norm stats '{}': expected an entry, got none", label, key);
  }
  if (!e->has_quantiles()) {
    return InvalidArgument(
        "{}: norm stats '{}': expected q01 and q99 (quantile normalisation), got {}; hint: "
        "these stats were computed for z-score normalisation",
        label, key, e->q01 ? "only q01" : (e->q99 ? "only q99" : "neither"));
  }
  return e;
}

Result<NormStats> NormStats::FromDocument(const JsonDocument& doc) {
  VLART_ASSIGN_OR_RETURN(const Json* root, GetObject(doc, "norm_stats"));
  NormStats stats;
  stats.label = doc.label;
  for (const auto& [key, value] : root->items()) {
    VLART_ASSIGN_OR_RETURN(NormStatsEntry e, ReadEntry(doc, key, value));
    stats.entries.emplace(key, std::move(e));
  }
  return stats;
}

Result<NormStats> NormStats::Load(const std::filesystem::path& path) {
  VLART_ASSIGN_OR_RETURN(JsonDocument doc, ReadJsonFile(path));
  return FromDocument(doc);
}

}  // namespace vlart
