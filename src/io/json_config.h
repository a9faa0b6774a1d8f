// SPDX-License-Identifier: Apache-2.0
//
// json_config.h: reading JSON config files and typed access to their fields by dotted path.
//
//   VLART_ASSIGN_OR_RETURN(JsonDocument doc, ReadJsonFile(dir / "config.json"));
//   VLART_ASSIGN_OR_RETURN(auto depths, GetIntArray(doc, "florence_config.vision_config.depths"));
//   VLART_ASSIGN_OR_RETURN(int64_t n, GetInt(doc, "num_actions", 30));  // default when absent
//
// Errors name the file and the full path:
//   "config.json: field 'florence_config.vision_config.dim_embed': expected array of integers, got
//   string"
// Rules: a getter with a default returns it when the field is absent or null (HF
// configs write null for "unset"); a getter without one fails on absent or null. A
// present field of the wrong type is an error either way, never silently defaulted.
// Integers must be JSON integers (2.0 is not an int); floats accept integers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace vlart {

struct JsonDocument {
  std::string label;    // how errors name the document: the file path as given
  nlohmann::json root;  // always an object
};

// Reads and strictly parses `path` (duplicate keys are errors); the top level must be an object.
Result<JsonDocument> ReadJsonFile(const std::filesystem::path& path);
// The same from text already in memory; `label` names it in errors.
Result<JsonDocument> ParseJsonDocument(std::string_view text, std::string label);

// The value at `path` ("a.b.c"), nullptr when any part is absent. An error when a
// part before the last exists but is not an object.
Result<const nlohmann::json*> FindField(const JsonDocument& doc, std::string_view path);
// True when the field exists and is not null (false as well on a lookup error).
bool HasField(const JsonDocument& doc, std::string_view path);

Result<int64_t> GetInt(const JsonDocument& doc, std::string_view path);
Result<int64_t> GetInt(const JsonDocument& doc, std::string_view path, int64_t default_value);
Result<double> GetFloat(const JsonDocument& doc, std::string_view path);
Result<double> GetFloat(const JsonDocument& doc, std::string_view path, double default_value);
Result<bool> GetBool(const JsonDocument& doc, std::string_view path);
Result<bool> GetBool(const JsonDocument& doc, std::string_view path, bool default_value);
Result<std::string> GetString(const JsonDocument& doc, std::string_view path);
Result<std::string> GetString(const JsonDocument& doc, std::string_view path,
                              std::string default_value);
Result<std::vector<int64_t>> GetIntArray(const JsonDocument& doc, std::string_view path);
Result<std::vector<int64_t>> GetIntArray(const JsonDocument& doc, std::string_view path,
                                         std::vector<int64_t> default_value);
Result<std::vector<double>> GetFloatArray(const JsonDocument& doc, std::string_view path);
Result<std::vector<double>> GetFloatArray(const JsonDocument& doc, std::string_view path,
                                          std::vector<double> default_value);
// A required object field, e.g. a nested config block. The pointer lives as long as `doc`.
Result<const nlohmann::json*> GetObject(const JsonDocument& doc, std::string_view path);

// "{label}: field '{path}': expected {expected}, got {JsonTypeName(got)}", for
// callers that validate fields themselves.
Status FieldTypeError(const JsonDocument& doc, std::string_view path, std::string_view expected,
                      const nlohmann::json& got);

}  // namespace vlart
