// SPDX-License-Identifier: Apache-2.0
//
// json_config.cc: dotted-path lookup and the typed getters of json_config.h.

#include "io/json_config.h"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <utility>

#include "io/json_parse.h"
#include "io/mapped_file.h"

namespace vlart {
namespace {

using Json = nlohmann::json;

Status Missing(const JsonDocument& doc, std::string_view path, std::string_view expected) {
  return NotFound("{}: field '{}': expected {}, got nothing (the field is missing)", doc.label,
                  path, expected);
}

// Converters from one JSON value; `path` is only for messages.
Result<int64_t> ToInt(const JsonDocument& doc, std::string_view path, const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgument("{}: field '{}': expected integer in int64 range, got {}", doc.label,
                             path, u);
    }
    return static_cast<int64_t>(u);
  }
  return FieldTypeError(doc, path, "integer", v);
}

Result<double> ToFloat(const JsonDocument& doc, std::string_view path, const Json& v) {
  if (v.is_number_float()) return v.get<double>();
  if (v.is_number_unsigned()) return static_cast<double>(v.get<uint64_t>());
  if (v.is_number_integer()) return static_cast<double>(v.get<int64_t>());
  return FieldTypeError(doc, path, "number", v);
}

Result<bool> ToBool(const JsonDocument& doc, std::string_view path, const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  return FieldTypeError(doc, path, "boolean", v);
}

Result<std::string> ToString(const JsonDocument& doc, std::string_view path, const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return FieldTypeError(doc, path, "string", v);
}

template <typename T, typename Convert>
Result<std::vector<T>> ToArray(const JsonDocument& doc, std::string_view path, const Json& v,
                               std::string_view expected, Convert convert) {
  if (!v.is_array()) return FieldTypeError(doc, path, expected, v);
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    Result<T> element = convert(doc, fmt::format("{}[{}]", path, i), v[i]);
    if (!element.ok()) {
      if (v[i].is_number_unsigned()) return element.status();  // an integer out of int64 range
      // Name the whole field's expected type, then the offending element.
      return InvalidArgument("{}: field '{}': expected {}, got {} at index {}", doc.label, path,
                             expected, JsonTypeName(v[i]), i);
    }
    out.push_back(std::move(element).value());
  }
  return out;
}

Result<std::vector<int64_t>> ToIntArray(const JsonDocument& doc, std::string_view path,
                                        const Json& v) {
  return ToArray<int64_t>(doc, path, v, "array of integers", ToInt);
}

Result<std::vector<double>> ToFloatArray(const JsonDocument& doc, std::string_view path,
                                         const Json& v) {
  return ToArray<double>(doc, path, v, "array of numbers", ToFloat);
}

// Required: absent or null is an error.
template <typename T, typename Convert>
Result<T> GetRequired(const JsonDocument& doc, std::string_view path, std::string_view expected,
                      Convert convert) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, path));
  if (v == nullptr) return Missing(doc, path, expected);
  return convert(doc, path, *v);
}

// Optional: absent or null gives the default.
template <typename T, typename Convert>
Result<T> GetOptional(const JsonDocument& doc, std::string_view path, T default_value,
                      Convert convert) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, path));
  if (v == nullptr || v->is_null()) return default_value;
  return convert(doc, path, *v);
}

}  // namespace

Status FieldTypeError(const JsonDocument& doc, std::string_view path, std::string_view expected,
                      const nlohmann::json& got) {
  return InvalidArgument("{}: field '{}': expected {}, got {}", doc.label, path, expected,
                         JsonTypeName(got));
}

Result<JsonDocument> ParseJsonDocument(std::string_view text, std::string label) {
  Result<Json> root = ParseJsonStrict(text);
  if (!root.ok()) return root.status().WithContext(label);
  if (!root->is_object()) {
    return InvalidArgument("{}: expected a JSON object at the top level, got {}", label,
                           JsonTypeName(*root));
  }
  return JsonDocument{std::move(label), std::move(root).value()};
}

Result<JsonDocument> ReadJsonFile(const std::filesystem::path& path) {
  VLART_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path));
  const std::string_view text(reinterpret_cast<const char*>(file.bytes().data()), file.size());
  return ParseJsonDocument(text, path.string());
}

Result<const nlohmann::json*> FindField(const JsonDocument& doc, std::string_view path) {
  const Json* node = &doc.root;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string key(
        path.substr(start, dot == std::string_view::npos ? path.npos : dot - start));
    if (!node->is_object()) {
      return InvalidArgument("{}: field '{}': expected an object at '{}', got {}", doc.label, path,
                             path.substr(0, start - 1), JsonTypeName(*node));
    }
    const auto it = node->find(key);
    if (it == node->end()) return static_cast<const Json*>(nullptr);
    node = &*it;
    if (dot == std::string_view::npos) return node;
    start = dot + 1;
  }
}

bool HasField(const JsonDocument& doc, std::string_view path) {
  Result<const Json*> v = FindField(doc, path);
  return v.ok() && *v != nullptr && !(*v)->is_null();
}

Result<int64_t> GetInt(const JsonDocument& doc, std::string_view path) {
  return GetRequired<int64_t>(doc, path, "integer", ToInt);
}
Result<int64_t> GetInt(const JsonDocument& doc, std::string_view path, int64_t default_value) {
  return GetOptional<int64_t>(doc, path, default_value, ToInt);
}
Result<double> GetFloat(const JsonDocument& doc, std::string_view path) {
  return GetRequired<double>(doc, path, "number", ToFloat);
}
Result<double> GetFloat(const JsonDocument& doc, std::string_view path, double default_value) {
  return GetOptional<double>(doc, path, default_value, ToFloat);
}
Result<bool> GetBool(const JsonDocument& doc, std::string_view path) {
  return GetRequired<bool>(doc, path, "boolean", ToBool);
}
Result<bool> GetBool(const JsonDocument& doc, std::string_view path, bool default_value) {
  return GetOptional<bool>(doc, path, default_value, ToBool);
}
Result<std::string> GetString(const JsonDocument& doc, std::string_view path) {
  return GetRequired<std::string>(doc, path, "string", ToString);
}
Result<std::string> GetString(const JsonDocument& doc, std::string_view path,
                              std::string default_value) {
  return GetOptional<std::string>(doc, path, std::move(default_value), ToString);
}
Result<std::vector<int64_t>> GetIntArray(const JsonDocument& doc, std::string_view path) {
  return GetRequired<std::vector<int64_t>>(doc, path, "array of integers", ToIntArray);
}
Result<std::vector<int64_t>> GetIntArray(const JsonDocument& doc, std::string_view path,
                                         std::vector<int64_t> default_value) {
  return GetOptional<std::vector<int64_t>>(doc, path, std::move(default_value), ToIntArray);
}
Result<std::vector<double>> GetFloatArray(const JsonDocument& doc, std::string_view path) {
  return GetRequired<std::vector<double>>(doc, path, "array of numbers", ToFloatArray);
}
Result<std::vector<double>> GetFloatArray(const JsonDocument& doc, std::string_view path,
                                          std::vector<double> default_value) {
  return GetOptional<std::vector<double>>(doc, path, std::move(default_value), ToFloatArray);
}

Result<const nlohmann::json*> GetObject(const JsonDocument& doc, std::string_view path) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, path));
  if (v == nullptr) return Missing(doc, path, "object");
  if (!v->is_object()) return FieldTypeError(doc, path, "object", *v);
  return v;
}

}  // namespace vlart
