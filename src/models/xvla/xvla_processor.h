// SPDX-License-Identifier: Apache-2.0
//
// xvla_processor.h: what the official X-VLA server does to a request before the model.
//
// Mirrors models/processing_xvla.py + deploy.py of 2toinf/X-VLA: each present view
// (uint8 RGB, in the order image0, image1, image2) goes through the checkpoint's
// CLIPImageProcessor (Pillow resize to 224x224 with its filter, rescale 1/255,
// ImageNet mean/std, CHW); missing slots up to num_views are zero images with mask 0;
// the instruction is tokenized with the checkpoint's tokenizer.json as
// tokenizer([text], padding="max_length", max_length=50, truncation=True) (over-long
// instructions are truncated as the reference does, with a notice); proprio is cast
// to f32 (the server sends f64). Every input problem is a Status naming the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/normalize.h"
#include "io/preprocessor_config.h"
#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_model.h"
#include "text/bpe_tokenizer.h"

namespace vlart::xvla {

// One observation as the official /act endpoint receives it.
struct XvlaRequest {
  std::vector<Image> images;    // 1..num_views present views, slot order
  std::string instruction;      // language_instruction
  std::vector<double> proprio;  // dim_proprio values (ee6d: 20)
  int domain_id = 0;
};

class XvlaProcessor {
 public:
  // Reads tokenizer.json and preprocessor_config.json from a checkpoint folder.
  static Result<XvlaProcessor> Load(const std::filesystem::path& dir, const XvlaConfig& cfg);
  XvlaProcessor(const XvlaConfig& cfg, BpeTokenizer tokenizer, PreprocessorConfig image_cfg);

  // Builds model inputs for a batch. The initial noise x1 comes from `noise`
  // ([B, A, da] f32) when given, else from a deterministic N(0, 1) stream seeded by
  // `seed` (vlart's own generator: same seed, same actions). Notices (e.g. a
  // truncated instruction) are appended to `notices`.
  Result<XvlaInputs> Prepare(std::span<const XvlaRequest> batch, int steps,
                             const HostTensor* noise, uint64_t seed,
                             std::vector<std::string>* notices) const;

  // One view through the image processor: [3, S, S] f32 into `out`.
  Status PreprocessImage(const Image& image, const Tensor& out) const;
  // The token ids of one instruction, padded/truncated to max_text_tokens.
  Result<std::vector<int32_t>> Tokenize(const std::string& text, bool* truncated) const;

 private:
  XvlaConfig cfg_;
  BpeTokenizer tokenizer_;
  PreprocessorConfig image_cfg_;
  ClipNormalization norm_;
};

}  // namespace vlart::xvla
