// SPDX-License-Identifier: Apache-2.0
//
// preprocessor_config.cc: reading preprocessor_config.json (rules in the header).

#include "io/preprocessor_config.h"

#include <fmt/format.h>

#include <cmath>
#include <string_view>

#include "io/json_parse.h"

namespace vlart {
namespace {

using Json = nlohmann::json;

// A do_* switch: absent -> default, null -> false (Python None is falsy), else a boolean.
Result<bool> GetSwitch(const JsonDocument& doc, std::string_view key, bool default_value) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, key));
  if (v == nullptr) return default_value;
  if (v->is_null()) return false;
  if (!v->is_boolean()) return FieldTypeError(doc, key, "boolean or null", *v);
  return v->get<bool>();
}

Result<int64_t> PositiveInt(const JsonDocument& doc, std::string_view path, const Json& v) {
  if (!v.is_number_integer()) return FieldTypeError(doc, path, "positive integer", v);
  if (v.is_number_unsigned() && v.get<uint64_t>() > (uint64_t{1} << 31)) {
    return InvalidArgument("{}: field '{}': expected at most {}, got {}", doc.label, path,
                           uint64_t{1} << 31, v.get<uint64_t>());
  }
  const int64_t n = v.get<int64_t>();
  if (n <= 0)
    return InvalidArgument("{}: field '{}': expected a positive integer, got {}", doc.label, path,
                           n);
  return n;
}

// size / crop_size. `int_is_shortest_edge`: how a bare integer is read (get_size_dict's
// default_to_square=False for size, True for crop_size).
Result<ImageSize> ReadSize(const JsonDocument& doc, std::string_view key, ImageSize default_value,
                           bool int_is_shortest_edge, bool allow_shortest_edge) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, key));
  if (v == nullptr || v->is_null()) return default_value;
  ImageSize out;
  if (v->is_number_integer()) {
    VLART_ASSIGN_OR_RETURN(const int64_t n, PositiveInt(doc, key, *v));
    if (int_is_shortest_edge) {
      out.shortest_edge = n;
    } else {
      out.height = out.width = n;
    }
    return out;
  }
  if (v->is_array() && v->size() == 2) {
    VLART_ASSIGN_OR_RETURN(out.height, PositiveInt(doc, fmt::format("{}[0]", key), (*v)[0]));
    VLART_ASSIGN_OR_RETURN(out.width, PositiveInt(doc, fmt::format("{}[1]", key), (*v)[1]));
    return out;
  }
  if (v->is_object()) {
    const bool hw = v->size() == 2 && v->contains("height") && v->contains("width");
    const bool se = allow_shortest_edge && v->size() == 1 && v->contains("shortest_edge");
    if (hw) {
      VLART_ASSIGN_OR_RETURN(out.height,
                             PositiveInt(doc, fmt::format("{}.height", key), (*v)["height"]));
      VLART_ASSIGN_OR_RETURN(out.width,
                             PositiveInt(doc, fmt::format("{}.width", key), (*v)["width"]));
      return out;
    }
    if (se) {
      VLART_ASSIGN_OR_RETURN(
          out.shortest_edge,
          PositiveInt(doc, fmt::format("{}.shortest_edge", key), (*v)["shortest_edge"]));
      return out;
    }
    std::string keys;
    for (const auto& [k, unused] : v->items())
      keys += (keys.empty() ? "" : ", ") + Printable(k, 40);
    return InvalidArgument(
        "{}: field '{}': expected keys {}, got {{{}}}", doc.label, key,
        allow_shortest_edge ? "{height, width} or {shortest_edge}" : "{height, width}", keys);
  }
  return FieldTypeError(doc, key, "integer, [height, width] or object", *v);
}

// image_mean / image_std: one number for every channel or exactly 3.
Result<std::array<double, 3>> ReadRgb(const JsonDocument& doc, std::string_view key,
                                      std::array<double, 3> default_value, bool nonzero) {
  VLART_ASSIGN_OR_RETURN(const Json* v, FindField(doc, key));
  if (v == nullptr || v->is_null()) return default_value;
  std::array<double, 3> out{};
  if (v->is_number()) {
    out.fill(v->get<double>());
  } else if (v->is_array()) {
    if (v->size() != 3) {
      return InvalidArgument("{}: field '{}': expected 3 numbers (R, G, B), got {}", doc.label, key,
                             v->size());
    }
    for (size_t c = 0; c < 3; ++c) {
      if (!(*v)[c].is_number()) {
        return FieldTypeError(doc, fmt::format("{}[{}]", key, c), "number", (*v)[c]);
      }
      out[c] = (*v)[c].get<double>();
    }
  } else {
    return FieldTypeError(doc, key, "number or array of 3 numbers", *v);
  }
  if (nonzero) {
    for (size_t c = 0; c < 3; ++c) {
      if (out[c] == 0.0) {
        return InvalidArgument("{}: field '{}[{}]': expected a non-zero value (it divides), got 0",
                               doc.label, key, c);
      }
    }
  }
  return out;
}

}  // namespace

std::string ImageSize::ToString() const {
  if (is_shortest_edge()) return fmt::format("shortest_edge={}", shortest_edge);
  return fmt::format("{}x{}", height, width);
}

Result<PreprocessorConfig> PreprocessorConfig::FromDocument(const JsonDocument& doc) {
  PreprocessorConfig c;
  VLART_ASSIGN_OR_RETURN(c.image_processor_type, GetString(doc, "image_processor_type", ""));
  VLART_ASSIGN_OR_RETURN(c.do_resize, GetSwitch(doc, "do_resize", c.do_resize));
  VLART_ASSIGN_OR_RETURN(c.size, ReadSize(doc, "size", c.size, /*int_is_shortest_edge=*/true,
                                          /*allow_shortest_edge=*/true));
  VLART_ASSIGN_OR_RETURN(const bool use_square_size, GetBool(doc, "use_square_size", false));
  if (use_square_size && c.size.is_shortest_edge()) {
    c.size = ImageSize{
        .height = c.size.shortest_edge, .width = c.size.shortest_edge, .shortest_edge = 0};
  }

  VLART_ASSIGN_OR_RETURN(const Json* resample, FindField(doc, "resample"));
  if (resample != nullptr) {
    if (resample->is_null()) {
      c.resample = PilResample::kBilinear;
    } else if (!resample->is_number_integer() || resample->get<int64_t>() < 0 ||
               resample->get<int64_t>() > 5 ||
               (resample->is_number_unsigned() && resample->get<uint64_t>() > 5)) {
      return InvalidArgument(
          "{}: field 'resample': expected a PIL filter code 0..5, got {}", doc.label,
          resample->is_number_integer() ? resample->dump() : std::string(JsonTypeName(*resample)));
    } else {
      c.resample = static_cast<PilResample>(resample->get<int>());
    }
  }

  VLART_ASSIGN_OR_RETURN(c.do_center_crop, GetSwitch(doc, "do_center_crop", c.do_center_crop));
  VLART_ASSIGN_OR_RETURN(c.crop_size, ReadSize(doc, "crop_size", c.crop_size,
                                               /*int_is_shortest_edge=*/false,
                                               /*allow_shortest_edge=*/false));
  VLART_ASSIGN_OR_RETURN(c.do_rescale, GetSwitch(doc, "do_rescale", c.do_rescale));
  VLART_ASSIGN_OR_RETURN(const Json* rescale, FindField(doc, "rescale_factor"));
  if (rescale != nullptr && rescale->is_null() && c.do_rescale) {
    return InvalidArgument(
        "{}: field 'rescale_factor': expected a number, got null (do_rescale is on)", doc.label);
  }
  VLART_ASSIGN_OR_RETURN(c.rescale_factor, GetFloat(doc, "rescale_factor", c.rescale_factor));
  VLART_ASSIGN_OR_RETURN(c.do_normalize, GetSwitch(doc, "do_normalize", c.do_normalize));
  VLART_ASSIGN_OR_RETURN(c.image_mean, ReadRgb(doc, "image_mean", c.image_mean, false));
  VLART_ASSIGN_OR_RETURN(c.image_std, ReadRgb(doc, "image_std", c.image_std, true));
  VLART_ASSIGN_OR_RETURN(c.do_convert_rgb, GetSwitch(doc, "do_convert_rgb", c.do_convert_rgb));
  return c;
}

Result<PreprocessorConfig> PreprocessorConfig::Load(const std::filesystem::path& path) {
  VLART_ASSIGN_OR_RETURN(JsonDocument doc, ReadJsonFile(path));
  return FromDocument(doc);
}

}  // namespace vlart
