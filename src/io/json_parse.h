// SPDX-License-Identifier: Apache-2.0
//
// json_parse.h: the strict JSON parser behind every JSON file vlart reads.
//
// nlohmann::json::parse silently keeps one value when an object repeats a key; a
// safetensors header or config with a repeated key is ambiguous, so this parser
// rejects it, naming the key and where it sits. It also bounds nesting depth
// (nlohmann's copy and dump recurse) and never throws: a syntax error becomes a
// Status carrying nlohmann's "line L, column C" text.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vlart {

// Deepest nesting of arrays/objects accepted. Real configs nest < 10 levels.
inline constexpr int kMaxJsonDepth = 128;

// Parses `text` as one JSON value (surrounding whitespace allowed). Errors read
// "invalid JSON: ..." and carry no file name: callers prefix their own label.
Result<nlohmann::json> ParseJsonStrict(std::string_view text);

// "null", "boolean", "integer", "float", "string", "array" or "object".
std::string_view JsonTypeName(const nlohmann::json& value);

// `text` made safe to embed in a one-line message: control and non-ASCII bytes
// become \xHH, and anything past `max_chars` is cut with "...".
std::string Printable(std::string_view text, size_t max_chars = 120);

}  // namespace vlart
