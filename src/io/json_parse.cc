// SPDX-License-Identifier: Apache-2.0
//
// json_parse.cc: a nlohmann SAX handler that builds the DOM itself, so it can refuse
// duplicate keys and deep nesting as it goes (nlohmann's own DOM builder cannot).
//
// Container pointers on the stack stay valid: a parent array only grows after the
// child on top of it has been closed, and object members never move (std::map).

#include "io/json_parse.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

namespace vlart {
namespace {

using Json = nlohmann::json;

class StrictDomBuilder {
 public:
  explicit StrictDomBuilder(Json& root) : root_(root) {}

  bool null() { return Put(Json(nullptr)); }
  bool boolean(bool v) { return Put(Json(v)); }
  bool number_integer(Json::number_integer_t v) { return Put(Json(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return Put(Json(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t& /*text*/) { return Put(Json(v)); }
  bool string(Json::string_t& v) { return Put(Json(std::move(v))); }
  bool binary(Json::binary_t& v) { return Put(Json::binary(std::move(v))); }

  bool start_object(std::size_t /*size*/) { return Open(Json::object()); }
  bool start_array(std::size_t /*size*/) { return Open(Json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(Json::string_t& k) {
    Frame& top = stack_.back();
    if (top.value->contains(k)) {
      error_ = fmt::format("invalid JSON: duplicate key '{}' in {}", Printable(k), Where());
      return false;
    }
    top.key = k;
    pending_member_ = &(*top.value)[k];
    return true;
  }

  bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                   const Json::exception& ex) {
    // what() is "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string_view what = ex.what();
    if (const size_t close = what.find("] ");
        what.starts_with("[json.exception.") && close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    error_ = "invalid JSON: " + Printable(what, 300);
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    Json* value;         // the open array or object
    std::string key;     // objects: the member being read
    int64_t index = -1;  // arrays: the element being read
  };

  // Where the next value goes: the root, the next array slot, or the member just keyed.
  Json* Slot() {
    if (stack_.empty()) return &root_;
    Frame& top = stack_.back();
    if (top.value->is_array()) {
      top.value->push_back(nullptr);
      ++top.index;
      return &top.value->back();
    }
    return pending_member_;
  }

  bool Put(Json v) {
    *Slot() = std::move(v);
    return true;
  }

  bool Open(Json container) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) {
      error_ =
          fmt::format("invalid JSON: nesting deeper than {} levels in {}", kMaxJsonDepth, Where());
      return false;
    }
    Json* slot = Slot();
    *slot = std::move(container);
    stack_.push_back(Frame{slot, {}, -1});
    return true;
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  // "top level" or "object 'a.b[3]'" for the innermost open container.
  std::string Where() const {
    if (stack_.size() <= 1) return "the top-level object";
    std::string path;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (f.value->is_array()) {
        path += fmt::format("[{}]", f.index);
      } else {
        if (!path.empty()) path += '.';
        path += Printable(f.key, 60);
      }
    }
    return fmt::format("object '{}'", path);
  }

  Json& root_;
  std::vector<Frame> stack_;
  Json* pending_member_ = nullptr;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> ParseJsonStrict(std::string_view text) {
  Json root;
  StrictDomBuilder builder(root);
  const bool ok = Json::sax_parse(text.data(), text.data() + text.size(), &builder,
                                  Json::input_format_t::json, /*strict=*/true,
                                  /*ignore_comments=*/false);
  if (!ok) {
    return DataLoss("{}", builder.error().empty() ? "invalid JSON" : builder.error());
  }
  return root;
}

std::string_view JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "float";
    case Json::value_t::string:
      return "string";
    case Json::value_t::array:
      return "array";
    case Json::value_t::object:
      return "object";
    case Json::value_t::binary:
      return "binary";
    case Json::value_t::discarded:
      return "discarded";
  }
  return "unknown";
}

std::string Printable(std::string_view text, size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 8);
  for (size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace vlart
