// SPDX-License-Identifier: Apache-2.0
//
// preprocessor_config.h: PreprocessorConfig, a Hugging Face preprocessor_config.json
// for a CLIPImageProcessor (what X-VLA ships).
//
// Semantics follow the slow, PIL-based transformers CLIPImageProcessor (<= 4.51, the
// version X-VLA's reference pins; see /work/shared/specs/xvla.md section 1.2):
//   - absent fields take the class defaults below;
//   - null for a boolean switch is Python None, which is falsy: the step is OFF (this
//     is how X-VLA's `"do_convert_rgb": null` disables RGB conversion);
//   - null for size, crop_size, image_mean or image_std takes the default;
//   - null resample means PIL BILINEAR (transformers' resize() fallback);
//   - size may be an int (-> shortest_edge), [h, w], {"height","width"} or
//     {"shortest_edge"}; crop_size an int (-> square), [h, w] or {"height","width"};
//   - image_mean / image_std may be one number (used for all 3 channels) or 3 numbers.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/status.h"
#include "io/json_config.h"

namespace vlart {

// PIL resampling filter codes, as stored in "resample".
enum class PilResample : int {
  kNearest = 0,
  kLanczos = 1,
  kBilinear = 2,
  kBicubic = 3,
  kBox = 4,
  kHamming = 5,
};

// Either an exact {height, width} or "scale the shorter side to shortest_edge".
struct ImageSize {
  int64_t height = 0;  // exact size when shortest_edge == 0
  int64_t width = 0;
  int64_t shortest_edge = 0;  // > 0: keep aspect ratio, shorter side becomes this
  bool is_shortest_edge() const { return shortest_edge > 0; }
  std::string ToString() const;  // "224x224" or "shortest_edge=224"
};

struct PreprocessorConfig {
  std::string image_processor_type;  // e.g. "CLIPImageProcessor"; empty when absent
  bool do_resize = true;
  ImageSize size{.height = 0, .width = 0, .shortest_edge = 224};
  PilResample resample = PilResample::kBicubic;
  bool do_center_crop = true;
  ImageSize crop_size{.height = 224, .width = 224, .shortest_edge = 0};
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean = {0.48145466, 0.4578275, 0.40821073};  // OPENAI_CLIP_MEAN, RGB
  std::array<double, 3> image_std = {0.26862954, 0.26130258, 0.27577711};  // OPENAI_CLIP_STD, RGB
  bool do_convert_rgb = true;

  static Result<PreprocessorConfig> FromDocument(const JsonDocument& doc);
  static Result<PreprocessorConfig> Load(const std::filesystem::path& path);
};

}  // namespace vlart
