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
//
// Speed (Prepare runs on every call, before the robot's action): the views go through
// image/image_preprocessor.h, the planar fast path that writes exactly the bytes of the
// reference path PreprocessImage (ResizeImage + NormalizeClip; tests hold them equal),
// one colour plane per task of a WorkerPool (the caller alone at batch 1; up to 3 helpers
// for batched calls; VLART_PREPROCESS_THREADS=N: N threads always, see
// WorkerPool::DefaultHelpers) together with the noise chunks; resize plans,
// tokenized instructions and (with PrepareInto) the output buffers are kept between
// calls. Prepare and PrepareInto lock the processor: one call at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "image/image.h"
#include "image/normalize.h"
#include "io/preprocessor_config.h"
#include "models/common/view_upload.h"
#include "models/xvla/xvla_config.h"
#include "models/xvla/xvla_model.h"
#include "text/bpe_tokenizer.h"

namespace vlart::xvla {

// One observation as the official /act endpoint receives it.
struct XvlaRequest {
  std::span<const Image> images;  // 1..num_views present views, slot order (borrowed)
  std::string instruction;      // language_instruction
  std::vector<double> proprio;  // dim_proprio values (ee6d: 20)
  int domain_id = 0;
};

class XvlaProcessor {
 public:
  // Reads tokenizer.json and preprocessor_config.json from a checkpoint folder.
  static Result<XvlaProcessor> Load(const std::filesystem::path& dir, const XvlaConfig& cfg,
                                    int worker_threads = -1,
                                    ImageForm image_form = ImageForm::kPlanes);
  // `worker_threads`: helper threads for Prepare (-1: WorkerPool::DefaultHelpers();
  // 0: all on the caller). Results do not depend on it. `image_form`: XvlaInputs::images
  // (kPlanes), XvlaInputs::pixels + pixel_table (kPixels: the resized bytes, normalised
  // by the model on its device into the same planes), or XvlaInputs::source_pixels +
  // resize_x / resize_y + pixel_table (kSourcePixels: the camera's bytes and Pillow's taps,
  // resized and normalised by the model on its device; for batches whose views share one
  // size and whose resize is one convolution call, else kPixels for that call).
  XvlaProcessor(const XvlaConfig& cfg, BpeTokenizer tokenizer, PreprocessorConfig image_cfg,
                int worker_threads = -1, ImageForm image_form = ImageForm::kPlanes);
  ~XvlaProcessor();
  XvlaProcessor(XvlaProcessor&&) noexcept;
  XvlaProcessor& operator=(XvlaProcessor&&) noexcept;

  // Builds model inputs for a batch. The initial noise x1 comes from `noise`
  // ([B, A, da] f32) when given, else from a deterministic N(0, 1) stream seeded by
  // `seed` (vlart's own generator: same seed, same actions). Notices (e.g. a
  // truncated instruction) are appended to `notices`.
  Result<XvlaInputs> Prepare(std::span<const XvlaRequest> batch, int steps,
                             const HostTensor* noise, uint64_t seed,
                             std::vector<std::string>* notices) const;
  // Same into `in`, reusing its buffers when their shapes fit. `in` must be empty or
  // hold an earlier result of this processor, unmodified (absent view slots that are
  // already zero are not rewritten). On an error `in` is unspecified.
  Status PrepareInto(std::span<const XvlaRequest> batch, int steps, const HostTensor* noise,
                     uint64_t seed, std::vector<std::string>* notices, XvlaInputs* in) const;

  // The reference path of one view: [3, S, S] f32 into `out` by one-shot ResizeImage
  // (Pillow-exact) + NormalizeClip. Prepare computes the same bytes faster.
  Status PreprocessImage(const Image& image, const Tensor& out) const;
  // The token ids of one instruction, padded/truncated to max_text_tokens (uncached).
  Result<std::vector<int32_t>> Tokenize(const std::string& text, bool* truncated) const;

 private:
  struct Fast;  // the fast path's state (xvla_processor.cc)
  // Checks request i and writes its ids, mask, proprio and domain into `in`.
  Status PrepareSample(const XvlaRequest& r, int64_t i, int64_t b, Fast& fast,
                       std::vector<std::string>* notices, XvlaInputs* in) const;

  XvlaConfig cfg_;
  BpeTokenizer tokenizer_;
  PreprocessorConfig image_cfg_;
  ClipNormalization norm_;
  ImageForm image_form_ = ImageForm::kPlanes;
  std::unique_ptr<Fast> fast_;
};

}  // namespace vlart::xvla
