// SPDX-License-Identifier: Apache-2.0
//
// xvla_processor.cc: request -> XvlaInputs (see the header for the reference).

#include "models/xvla/xvla_processor.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/rng.h"
#include "image/resample.h"

namespace vlart::xvla {

Result<XvlaProcessor> XvlaProcessor::Load(const std::filesystem::path& dir, const XvlaConfig& cfg) {
  VLART_ASSIGN_OR_RETURN(BpeTokenizer tok, BpeTokenizer::FromFile(dir / "tokenizer.json"));
  PreprocessorConfig image_cfg;
  if (std::filesystem::exists(dir / "preprocessor_config.json")) {
    VLART_ASSIGN_OR_RETURN(image_cfg, PreprocessorConfig::Load(dir / "preprocessor_config.json"));
  } else {
    return NotFound("X-VLA checkpoint '{}': preprocessor_config.json is missing; hint: the "
                    "official checkpoints ship it next to config.json", dir.string());
  }
  if (!image_cfg.do_resize || image_cfg.size.is_shortest_edge() ||
      image_cfg.size.height != cfg.vision.image_size || image_cfg.size.width != cfg.vision.image_size) {
    return Unimplemented(
        "{}: image processor: expected do_resize to exactly {}x{} (X-VLA's setting), got "
        "do_resize={} size={}",
        (dir / "preprocessor_config.json").string(), cfg.vision.image_size, cfg.vision.image_size,
        image_cfg.do_resize, image_cfg.size.ToString());
  }
  if (image_cfg.do_center_crop && (image_cfg.crop_size.height != cfg.vision.image_size ||
                                   image_cfg.crop_size.width != cfg.vision.image_size)) {
    return Unimplemented("{}: image processor: a center crop to {} after the resize is not "
                         "supported", (dir / "preprocessor_config.json").string(),
                         image_cfg.crop_size.ToString());
  }
  if (tok.VocabSize() > static_cast<size_t>(cfg.text.vocab_size)) {
    return InvalidArgument("{}: tokenizer has {} ids but the model's vocab_size is {}",
                           (dir / "tokenizer.json").string(), tok.VocabSize(), cfg.text.vocab_size);
  }
  return XvlaProcessor(cfg, std::move(tok), image_cfg);
}

XvlaProcessor::XvlaProcessor(const XvlaConfig& cfg, BpeTokenizer tokenizer,
                             PreprocessorConfig image_cfg)
    : cfg_(cfg), tokenizer_(std::move(tokenizer)), image_cfg_(image_cfg) {
  norm_.do_rescale = image_cfg_.do_rescale;
  norm_.rescale_factor = image_cfg_.rescale_factor;
  norm_.do_normalize = image_cfg_.do_normalize;
  for (int c = 0; c < 3; ++c) {
    norm_.mean[c] = static_cast<float>(image_cfg_.image_mean[c]);
    norm_.std[c] = static_cast<float>(image_cfg_.image_std[c]);
  }
}

Status XvlaProcessor::PreprocessImage(const Image& image, const Tensor& out) const {
  const int s = cfg_.vision.image_size;
  VLART_ASSIGN_OR_RETURN(const ResampleFilter filter,
                         ResampleFilterFromPil(static_cast<int>(image_cfg_.resample)));
  if (image.height == s && image.width == s) return NormalizeClip(image.view(), norm_, out);
  VLART_ASSIGN_OR_RETURN(const Image resized, ResizeImage(image.view(), s, s, filter));
  return NormalizeClip(resized.view(), norm_, out);
}

Result<std::vector<int32_t>> XvlaProcessor::Tokenize(const std::string& text, bool* truncated) const {
  BpeEncodeOptions opt;
  opt.add_special_tokens = true;
  opt.max_length = cfg_.max_text_tokens;
  opt.truncation = true;
  opt.pad_to_max_length = true;
  VLART_ASSIGN_OR_RETURN(TokenizedText t, tokenizer_.Encode(text, opt));
  if (truncated != nullptr) *truncated = t.truncated;
  std::vector<int32_t> ids(t.ids.begin(), t.ids.end());
  if (static_cast<int>(ids.size()) != cfg_.max_text_tokens) {
    return Internal("tokenizer returned {} ids, expected {}", ids.size(), cfg_.max_text_tokens);
  }
  return ids;
}

Result<XvlaInputs> XvlaProcessor::Prepare(std::span<const XvlaRequest> batch, int steps,
                                          const HostTensor* noise, uint64_t seed,
                                          std::vector<std::string>* notices) const {
  const int64_t b = static_cast<int64_t>(batch.size());
  const int64_t v = cfg_.num_views;
  const int64_t s = cfg_.vision.image_size;
  const int64_t l = cfg_.max_text_tokens;
  const int64_t dp = cfg_.dim_proprio();
  const int64_t a = cfg_.policy.num_actions;
  const int64_t da = cfg_.action_space.dim_action;
  if (b == 0) return InvalidArgument("X-VLA request: expected at least one observation, got none");
  XvlaInputs in;
  in.steps = steps;
  in.input_ids = HostTensor(DType::kI32, {b, l});
  in.images = HostTensor(DType::kF32, {b, v, 3, s, s});  // zeros: missing views stay zero
  in.image_mask = HostTensor(DType::kU8, {b, v});
  in.domain_id = HostTensor(DType::kI32, {b});
  in.proprio = HostTensor(DType::kF32, {b, dp});
  for (int64_t i = 0; i < b; ++i) {
    const XvlaRequest& r = batch[i];
    const std::string who = b == 1 ? std::string("X-VLA request") : fmt::format("X-VLA request {}", i);
    if (r.images.empty() || static_cast<int64_t>(r.images.size()) > v) {
      return InvalidArgument("{}: images: expected 1 to {} views (image0..image{}), got {}", who, v,
                             v - 1, r.images.size());
    }
    for (size_t j = 0; j < r.images.size(); ++j) {
      const Image& img = r.images[j];
      if (img.height < 1 || img.width < 1 ||
          img.rgb.size() != static_cast<size_t>(img.height) * img.width * 3) {
        return InvalidArgument("{}: image{}: expected an RGB image [H, W, 3] with H, W >= 1, got "
                               "{}x{} with {} bytes", who, j, img.height, img.width, img.rgb.size());
      }
      const Tensor out = in.images.view().Select(0, i).Select(0, static_cast<int64_t>(j));
      VLART_TRY(PreprocessImage(img, out).WithContext(fmt::format("{}: image{}", who, j)));
      in.image_mask.data<uint8_t>()[i * v + static_cast<int64_t>(j)] = 1;
    }
    bool truncated = false;
    VLART_ASSIGN_OR_RETURN(const std::vector<int32_t> ids, Tokenize(r.instruction, &truncated));
    if (truncated && notices != nullptr) {
      notices->push_back(fmt::format(
          "{}: the instruction is longer than {} tokens and was truncated, as the reference "
          "processor does (truncation=True)", who, l));
    }
    std::memcpy(in.input_ids.data<int32_t>() + i * l, ids.data(), l * sizeof(int32_t));
    if (static_cast<int64_t>(r.proprio.size()) != dp) {
      return InvalidArgument("{}: proprio: expected {} values ({} action space), got {}", who, dp,
                             cfg_.action_space.name, r.proprio.size());
    }
    for (int64_t k = 0; k < dp; ++k) {
      const double x = r.proprio[k];
      if (!std::isfinite(x)) {
        return InvalidArgument("{}: proprio[{}]: expected a finite number, got {}", who, k, x);
      }
      in.proprio.data<float>()[i * dp + k] = static_cast<float>(x);
    }
    if (r.domain_id < 0 || r.domain_id >= cfg_.policy.num_domains) {
      return InvalidArgument("{}: domain_id: expected 0..{} (this checkpoint has {} domains; "
                             "LIBERO is 3), got {}", who, cfg_.policy.num_domains - 1,
                             cfg_.policy.num_domains, r.domain_id);
    }
    in.domain_id.data<int32_t>()[i] = r.domain_id;
  }
  if (noise != nullptr) {
    if (noise->dtype() != DType::kF32 || noise->shape() != Shape{b, a, da}) {
      return InvalidArgument("X-VLA noise: expected F32[{}, {}, {}], got {}{}", b, a, da,
                             DTypeName(noise->dtype()), noise->shape().ToString());
    }
    in.noise = HostTensor::CopyOf(noise->view());
  } else {
    in.noise = HostTensor(DType::kF32, {b, a, da});
    Rng rng(seed);
    for (int64_t k = 0; k < in.noise.numel(); ++k) in.noise.data<float>()[k] = rng.Normal();
  }
  return in;
}

}  // namespace vlart::xvla
