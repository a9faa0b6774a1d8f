// SPDX-License-Identifier: Apache-2.0
//
// xvla_processor.cc: request -> XvlaInputs (see the header for the reference and for
// how the fast path is organised).

#include "models/xvla/xvla_processor.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <mutex>

#include "core/normal_fill.h"
#include "core/worker_pool.h"
#include "image/image_preprocessor.h"
#include "image/pixel_normalizer.h"
#include "image/resample.h"
#include "text/token_cache.h"

namespace vlart::xvla {

Result<XvlaProcessor> XvlaProcessor::Load(const std::filesystem::path& dir, const XvlaConfig& cfg,
                                          int worker_threads, ImageForm image_form) {
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
  return XvlaProcessor(cfg, std::move(tok), image_cfg, worker_threads, image_form);
}

namespace {

// A tokenized instruction as Prepare uses it.
struct CachedIds {
  std::vector<int32_t> ids;  // [max_text_tokens]
  bool truncated = false;
};

// One image plane of one present view, or (channel -1) a whole camera image copied as it
// is: a task of Prepare's worker pool.
struct PlaneTask {
  const Image* image;
  int channel;
  unsigned char* out;  // [S, S] of float (planes) or of uint8_t (bytes); [H, W, 3] bytes
};

}  // namespace

struct XvlaProcessor::Fast {
  Fast(int s, ResampleFilter filter, const ClipNormalization& norm, int worker_threads)
      : images(s, s, filter, PixelNormalizer::Clip(norm), {}),
        pool(WorkerPool::HelpersFor(worker_threads), WorkerPool::BatchedOnlyFor(worker_threads)) {}
  std::mutex mu;  // one Prepare at a time: everything below is per-call state
  ImagePreprocessor images;
  WorkerPool pool;
  TokenCache<CachedIds> ids;
  NormalFill noise;
  std::vector<PlaneTask> planes;  // this call's tasks (kept: no allocation per call)
  // The images buffer the last call filled and its view mask: absent slots found zero
  // there need no rewrite.
  const void* last_images = nullptr;
  std::vector<uint8_t> last_mask;
};

XvlaProcessor::XvlaProcessor(const XvlaConfig& cfg, BpeTokenizer tokenizer,
                             PreprocessorConfig image_cfg, int worker_threads, ImageForm image_form)
    : cfg_(cfg), tokenizer_(std::move(tokenizer)), image_cfg_(image_cfg), image_form_(image_form) {
  norm_.do_rescale = image_cfg_.do_rescale;
  norm_.rescale_factor = image_cfg_.rescale_factor;
  norm_.do_normalize = image_cfg_.do_normalize;
  for (int c = 0; c < 3; ++c) {
    norm_.mean[c] = static_cast<float>(image_cfg_.image_mean[c]);
    norm_.std[c] = static_cast<float>(image_cfg_.image_std[c]);
  }
  // PilResample and ResampleFilter share PIL's values (0..5, checked by the config parser).
  const auto filter = static_cast<ResampleFilter>(static_cast<int>(image_cfg_.resample));
  fast_ = std::make_unique<Fast>(cfg_.vision.image_size, filter, norm_, worker_threads);
}

XvlaProcessor::~XvlaProcessor() = default;
XvlaProcessor::XvlaProcessor(XvlaProcessor&&) noexcept = default;
XvlaProcessor& XvlaProcessor::operator=(XvlaProcessor&&) noexcept = default;

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
  XvlaInputs in;
  VLART_TRY(PrepareInto(batch, steps, noise, seed, notices, &in));
  return in;
}

Status XvlaProcessor::PrepareSample(const XvlaRequest& r, int64_t i, int64_t b, Fast& fast,
                                    std::vector<std::string>* notices, XvlaInputs* in) const {
  const int64_t v = cfg_.num_views;
  const int64_t l = cfg_.max_text_tokens;
  const int64_t dp = cfg_.dim_proprio();
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
    VLART_TRY(fast.images.Prepare(img.height, img.width, fast.pool.num_workers())
                  .WithContext(fmt::format("{}: image{}", who, j)));
  }
  for (int64_t j = 0; j < v; ++j) {
    in->image_mask.data<uint8_t>()[i * v + j] = j < static_cast<int64_t>(r.images.size());
  }
  const CachedIds* ids = fast.ids.Find(r.instruction);
  if (ids == nullptr) {
    bool truncated = false;
    VLART_ASSIGN_OR_RETURN(std::vector<int32_t> fresh, Tokenize(r.instruction, &truncated));
    ids = &fast.ids.Put(r.instruction, CachedIds{std::move(fresh), truncated});
  }
  if (ids->truncated && notices != nullptr) {
    notices->push_back(fmt::format(
        "{}: the instruction is longer than {} tokens and was truncated, as the reference "
        "processor does (truncation=True)", who, l));
  }
  std::memcpy(in->input_ids.data<int32_t>() + i * l, ids->ids.data(), l * sizeof(int32_t));
  if (static_cast<int64_t>(r.proprio.size()) != dp) {
    return InvalidArgument("{}: proprio: expected {} values ({} action space), got {}", who, dp,
                           cfg_.action_space.name, r.proprio.size());
  }
  for (int64_t k = 0; k < dp; ++k) {
    const double x = r.proprio[k];
    if (!std::isfinite(x)) {
      return InvalidArgument("{}: proprio[{}]: expected a finite number, got {}", who, k, x);
    }
    in->proprio.data<float>()[i * dp + k] = static_cast<float>(x);
  }
  if (r.domain_id < 0 || r.domain_id >= cfg_.policy.num_domains) {
    return InvalidArgument("{}: domain_id: expected 0..{} (this checkpoint has {} domains; "
                           "LIBERO is 3), got {}", who, cfg_.policy.num_domains - 1,
                           cfg_.policy.num_domains, r.domain_id);
  }
  in->domain_id.data<int32_t>()[i] = r.domain_id;
  return Status::Ok();
}

Status XvlaProcessor::PrepareInto(std::span<const XvlaRequest> batch, int steps,
                                  const HostTensor* noise, uint64_t seed,
                                  std::vector<std::string>* notices, XvlaInputs* in) const {
  Fast& fast = *fast_;
  std::lock_guard<std::mutex> lock(fast.mu);
  const int64_t b = static_cast<int64_t>(batch.size());
  const int64_t v = cfg_.num_views;
  const int64_t s = cfg_.vision.image_size;
  const int64_t a = cfg_.policy.num_actions;
  const int64_t da = cfg_.action_space.dim_action;
  if (b == 0) return InvalidArgument("X-VLA request: expected at least one observation, got none");
  in->steps = steps;
  EnsureHostTensor(in->input_ids, DType::kI32, {b, cfg_.max_text_tokens});
  // kSourcePixels: the camera's bytes go to the model as they are, with Pillow's taps, when
  // every view of the batch has one size whose resize is one convolution call; otherwise
  // (and for malformed images, which PrepareSample refuses) the host resizes (kPixels).
  const ResizeTaps* taps = nullptr;
  int source_h = 0, source_w = 0;
  if (image_form_ == ImageForm::kSourcePixels && !batch.empty() && !batch[0].images.empty()) {
    source_h = batch[0].images[0].height;
    source_w = batch[0].images[0].width;
    bool one_size = true;
    for (const XvlaRequest& r : batch) {
      for (const Image& img : r.images) {
        one_size = one_size && img.height == source_h && img.width == source_w && source_h > 0 &&
                   source_w > 0 && img.rgb.size() == static_cast<size_t>(source_h) * source_w * 3;
      }
    }
    // The preprocessor's plan of that size holds Pillow's taps (a size it cannot plan is
    // left to PrepareSample, which reports it).
    if (one_size && fast.images.Prepare(source_h, source_w, fast.pool.num_workers()).ok()) {
      taps = fast.images.SeparableTaps(source_h, source_w);
    }
  }
  // Missing views stay zero: a new buffer is zero; a reused one is zeroed where needed below.
  const bool source = taps != nullptr;
  const bool pixels = image_form_ != ImageForm::kPlanes;  // bytes, resized or not
  HostTensor& image_buffer = source ? in->source_pixels : pixels ? in->pixels : in->images;
  if (source) {
    const auto copy_taps = [](const HostTensor& from, HostTensor& to) {
      EnsureHostTensor(to, DType::kI32, from.shape());
      std::memcpy(to.data<void>(), from.data<void>(), from.nbytes());
    };
    copy_taps(taps->x, in->resize_x);
    copy_taps(taps->y, in->resize_y);
    in->pixels = HostTensor();
  } else {
    in->source_pixels = HostTensor();
    in->resize_x = HostTensor();
    in->resize_y = HostTensor();
  }
  if (pixels) {
    in->images = HostTensor();  // exactly one form holds data
    if (EnsureHostTensor(in->pixel_table, DType::kF32, {3, 256})) {
      for (int c = 0; c < 3; ++c) {
        for (int x = 0; x < 256; ++x) {
          in->pixel_table.data<float>()[c * 256 + x] = fast.images.Value(static_cast<uint8_t>(x), c);
        }
      }
    }
  } else {
    in->pixels = HostTensor();
    in->pixel_table = HostTensor();
  }
  const bool fresh =
      source   ? EnsureHostTensor(in->source_pixels, DType::kU8, {b, v, source_h, source_w, 3})
      : pixels ? EnsureHostTensor(in->pixels, DType::kU8, {b, v, 3, s, s})
               : EnsureHostTensor(in->images, DType::kF32, {b, v, 3, s, s});
  if (fresh) fast.last_images = nullptr;
  EnsureHostTensor(in->image_mask, DType::kU8, {b, v});
  EnsureHostTensor(in->domain_id, DType::kI32, {b});
  EnsureHostTensor(in->proprio, DType::kF32, {b, cfg_.dim_proprio()});
  EnsureHostTensor(in->noise, DType::kF32, {b, a, da});
  for (int64_t i = 0; i < b; ++i) VLART_TRY(PrepareSample(batch[i], i, b, fast, notices, in));
  if (noise != nullptr) {
    if (noise->dtype() != DType::kF32 || noise->shape() != Shape{b, a, da}) {
      return InvalidArgument("X-VLA noise: expected F32[{}, {}, {}], got {}{}", b, a, da,
                             DTypeName(noise->dtype()), noise->shape().ToString());
    }
    std::memcpy(in->noise.data<float>(), noise->data<float>(), noise->nbytes());
  }

  // Zero the absent slots the last call into this buffer left non-zero.
  const uint8_t* mask = in->image_mask.data<uint8_t>();
  const size_t per_image = source ? static_cast<size_t>(source_h) * source_w * 3
                                  : static_cast<size_t>(3 * s * s);
  const size_t element = pixels ? 1 : sizeof(float);
  auto* buffer = static_cast<unsigned char*>(image_buffer.data<void>());
  const bool reused = fast.last_images == buffer &&
                      fast.last_mask.size() == static_cast<size_t>(b * v);
  for (int64_t k = 0; k < b * v; ++k) {
    if (mask[k] == 0 && (!reused || fast.last_mask[k] != 0)) {
      std::memset(buffer + k * per_image * element, 0, per_image * element);
    }
  }

  // Tasks: every plane of every present view (or every camera image, copied), then the
  // noise chunks.
  std::vector<PlaneTask>& planes = fast.planes;
  planes.clear();
  for (int64_t i = 0; i < b; ++i) {
    for (size_t j = 0; j < batch[i].images.size(); ++j) {
      const size_t view = (i * v + static_cast<int64_t>(j)) * per_image;
      if (source) {
        planes.push_back({&batch[i].images[j], -1, buffer + view});
        continue;
      }
      for (int c = 0; c < 3; ++c) {
        planes.push_back({&batch[i].images[j], c, buffer + (view + c * s * s) * element});
      }
    }
  }
  int noise_chunks = 0;
  if (noise == nullptr) {
    fast.noise.Start(seed, in->noise.data<float>(), in->noise.numel());
    noise_chunks = fast.noise.num_chunks();
  }
  const int n_planes = static_cast<int>(planes.size());
  fast.pool.Run(n_planes + noise_chunks, [&](int task, int worker) {
    if (task < n_planes) {
      const PlaneTask& t = planes[task];
      if (t.channel < 0) {
        std::memcpy(t.out, t.image->rgb.data(), t.image->rgb.size());
      } else if (pixels) {
        fast.images.RunPlaneBytes(t.image->view(), t.channel, worker, t.out);
      } else {
        fast.images.RunPlane(t.image->view(), t.channel, worker, reinterpret_cast<float*>(t.out));
      }
    } else {
      fast.noise.RunChunk(task - n_planes);
    }
  }, fast.pool.HelpersJoin(n_planes));
  fast.last_images = buffer;
  fast.last_mask.assign(mask, mask + b * v);
  return Status::Ok();
}

}  // namespace vlart::xvla
