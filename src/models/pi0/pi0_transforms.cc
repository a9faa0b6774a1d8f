// SPDX-License-Identifier: Apache-2.0
//
// pi0_transforms.cc: openpi's LIBERO input/output transforms (see the header).

#include "models/pi0/pi0_transforms.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <deque>
#include <mutex>
#include <type_traits>

#include "core/normal_fill.h"
#include "core/rng.h"
#include "core/worker_pool.h"
#include "image/image_preprocessor.h"
#include "image/pixel_normalizer.h"
#include "image/resize_with_pad.h"
#include "text/token_cache.h"

namespace vlart::pi0 {
namespace {

// The stats vectors normalisation reads for `key`, each of the same length.
struct StatVectors {
  const std::vector<double>* mean = nullptr;  // or q01
  const std::vector<double>* spread = nullptr;  // std, or q99
};

Result<StatVectors> Vectors(const NormStats& stats, const char* key, NormMode mode) {
  if (mode == NormMode::kQuantile) {
    VLART_ASSIGN_OR_RETURN(const NormStatsEntry* e, stats.RequireQuantiles(key));
    if (e->q01->size() != e->q99->size()) {
      return InvalidArgument("{}: norm stats '{}': expected q01 and q99 of one length, got {} and {}",
                             stats.label, key, e->q01->size(), e->q99->size());
    }
    return StatVectors{&*e->q01, &*e->q99};
  }
  const NormStatsEntry* e = stats.Find(key);
  if (e == nullptr) {
    return NotFound("{}: norm stats '{}': expected an entry (z-score mean/std), got none",
                    stats.label, key);
  }
  if (e->mean.size() != e->std.size()) {
    return InvalidArgument("{}: norm stats '{}': expected mean and std of one length, got {} and {}",
                           stats.label, key, e->mean.size(), e->std.size());
  }
  return StatVectors{&e->mean, &e->std};
}

// Checks one request image; InvalidArgument naming the request and key.
Status CheckImage(const ImageView& img, const char* key, int64_t sample) {
  if (img.data == nullptr || img.channels != 3 || img.height < 1 || img.width < 1) {
    return InvalidArgument(
        "pi0 request {} '{}': expected a uint8 RGB image [H, W, 3], got [{}, {}, {}]{}", sample,
        key, img.height, img.width, img.channels, img.data == nullptr ? " without data" : "");
  }
  return Status::Ok();
}

// The prompt tokenizer's cache, shared by copies of the returned std::function.
struct PromptCache {
  std::mutex mu;
  TokenCache<PaligemmaPromptTokens> tokens;
};

}  // namespace

PromptTokenizer SentencePiecePromptTokenizer(const SentencePieceTokenizer& tokenizer,
                                             bool discrete_state) {
  const SentencePieceTokenizer* tok = &tokenizer;
  auto cache = std::make_shared<PromptCache>();
  return [tok, discrete_state, cache](std::string_view prompt, std::span<const double> state,
                                      int max_len) -> Result<PaligemmaPromptTokens> {
    // Key: everything the result depends on (the state's exact bits only when used).
    std::string key = fmt::format("{}\x1f", max_len);
    key.append(prompt);
    if (discrete_state) {
      key.push_back('\x1f');
      key.append(reinterpret_cast<const char*>(state.data()), state.size_bytes());
    }
    std::lock_guard<std::mutex> lock(cache->mu);
    if (const PaligemmaPromptTokens* hit = cache->tokens.Find(key)) return *hit;
    Result<PaligemmaPromptTokens> fresh = discrete_state
                                              ? TokenizePi05Prompt(*tok, prompt, state, max_len)
                                              : TokenizePi0Prompt(*tok, prompt, max_len);
    if (fresh.ok()) cache->tokens.Put(key, *fresh);
    return fresh;
  };
}

// The fast path's state: per-call scratch and what is kept between calls.
struct Pi0Transforms::Fast {
  Fast(int s, int worker_threads)
      : images(s, s, ResampleFilter::kBilinear, PixelNormalizer::Openpi(), {}),
        pool(WorkerPool::HelpersFor(worker_threads), WorkerPool::BatchedOnlyFor(worker_threads)) {}
  std::mutex mu;  // one Prepare at a time
  ImagePreprocessor images;  // s x s inputs only (the copy path): others are resized first
  WorkerPool pool;
  NormalFill noise;
  std::deque<Image> resized;       // this call's resize_with_pad outputs (stable addresses)
  std::vector<ImageView> views;    // this call's views, [B, 2]
  // The images buffer the last call filled and its view mask: masked slots found
  // filled there need no rewrite.
  const void* last_images = nullptr;
  std::vector<uint8_t> last_mask;
};

Pi0Transforms::Pi0Transforms(const Pi0Config& cfg, NormStats stats, int worker_threads,
                             ImageForm image_form)
    : cfg_(cfg), stats_(std::move(stats)), image_form_(image_form) {
  fast_ = std::make_unique<Fast>(cfg_.vision.image_size, worker_threads);
}

Pi0Transforms::~Pi0Transforms() = default;
Pi0Transforms::Pi0Transforms(Pi0Transforms&&) noexcept = default;
Pi0Transforms& Pi0Transforms::operator=(Pi0Transforms&&) noexcept = default;

Result<Pi0Transforms> Pi0Transforms::Create(const Pi0Config& cfg, NormStats stats,
                                            int worker_threads, ImageForm image_form) {
  const NormMode mode = cfg.transforms.norm;
  for (const char* key : {"state", "actions"}) {
    VLART_ASSIGN_OR_RETURN(const StatVectors v, Vectors(stats, key, mode));
    if (v.mean->empty() || static_cast<int>(v.mean->size()) > cfg.action_dim) {
      return InvalidArgument("{}: norm stats '{}': expected 1..{} values (action_dim), got {}",
                             stats.label, key, cfg.action_dim, v.mean->size());
    }
  }
  // The state's own length (the request size) comes from mean/std, which every entry has.
  const NormStatsEntry* state = stats.Find("state");
  if (state->mean.empty() || static_cast<int>(state->mean.size()) > cfg.action_dim ||
      state->mean.size() != state->std.size()) {
    return InvalidArgument("{}: norm stats 'state': expected mean/std of 1..{} values, got {}/{}",
                           stats.label, cfg.action_dim, state->mean.size(), state->std.size());
  }
  if (mode == NormMode::kQuantile && state->q01->size() < state->mean.size()) {
    return InvalidArgument("{}: norm stats 'state': expected q01/q99 of {} values, got {}",
                           stats.label, state->mean.size(), state->q01->size());
  }
  return Pi0Transforms(cfg, std::move(stats), worker_threads, image_form);
}

Result<std::vector<double>> Pi0Transforms::NormalizeState(std::span<const double> x) const {
  const size_t n = static_cast<size_t>(state_dim());
  if (x.size() != n) {
    return InvalidArgument(
        "pi0 request 'observation/state': expected {} values (the norm stats' state size), got {}",
        n, x.size());
  }
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      return InvalidArgument("pi0 request 'observation/state[{}]': expected a finite value, got {}",
                             i, x[i]);
    }
  }
  VLART_ASSIGN_OR_RETURN(const StatVectors v, Vectors(stats_, "state", cfg_.transforms.norm));
  std::vector<double> out(cfg_.action_dim, 0.0);  // PadStatesAndActions: zeros after normalising
  for (size_t i = 0; i < n; ++i) {
    const double a = (*v.mean)[i], s = (*v.spread)[i];
    out[i] = cfg_.transforms.norm == NormMode::kQuantile ? (x[i] - a) / (s - a + 1e-6) * 2.0 - 1.0
                                                         : (x[i] - a) / (s + 1e-6);
  }
  return out;
}

Result<Pi0Prepared> Pi0Transforms::Prepare(std::span<const LiberoObservation> batch,
                                           const PromptTokenizer& tokenizer) const {
  Pi0Prepared p;
  VLART_TRY(PrepareInto(batch, tokenizer, std::nullopt, &p));
  return p;
}

Status Pi0Transforms::PrepareSample(const LiberoObservation& o, int64_t i,
                                    const PromptTokenizer& tokenizer, Fast& fast,
                                    Pi0Prepared* out) const {
  Pi0Inputs& in = out->inputs;
  const int s = cfg_.vision.image_size;
  const int64_t lt = cfg_.max_token_len;
  const int64_t a = cfg_.action_dim;
  for (const auto& [view, key] : {std::pair{&o.image, "observation/image"},
                                  std::pair{&o.wrist_image, "observation/wrist_image"}}) {
    VLART_TRY(CheckImage(*view, key, i));
    if (view->height == s && view->width == s) {
      fast.views.push_back(*view);
      continue;
    }
    Result<Image> resized = ResizeWithPad(*view, s, s);
    if (!resized.ok()) {
      return resized.status().WithContext(fmt::format("pi0 request {} '{}'", i, key));
    }
    fast.resized.push_back(std::move(*resized));
    fast.views.push_back(fast.resized.back().view());
  }

  Result<std::vector<double>> state = NormalizeState(o.state);
  if (!state.ok()) return state.status().WithContext(fmt::format("sample {}", i));
  std::memcpy(in.state.data<double>() + i * a, state->data(), a * sizeof(double));

  const std::span<const double> unpadded(state->data(), static_cast<size_t>(state_dim()));
  Result<PaligemmaPromptTokens> tok = tokenizer(o.prompt, unpadded, static_cast<int>(lt));
  if (!tok.ok()) return tok.status().WithContext(fmt::format("pi0 request {} 'prompt'", i));
  if (static_cast<int64_t>(tok->ids.size()) != lt || static_cast<int64_t>(tok->mask.size()) != lt) {
    return Internal("pi0 request {} 'prompt': tokenizer returned {} ids / {} mask values, expected {}",
                    i, tok->ids.size(), tok->mask.size(), lt);
  }
  for (int64_t j = 0; j < lt; ++j) {
    const int32_t id = tok->ids[j];
    if (id < 0 || id >= cfg_.vocab_size) {
      return InvalidArgument(
          "pi0 request {} 'prompt': token id {} outside the model's vocabulary of {}; hint: the "
          "tokenizer does not belong to this checkpoint",
          i, id, cfg_.vocab_size);
    }
    in.tokens.data<int32_t>()[i * lt + j] = id;
    in.token_mask.data<uint8_t>()[i * lt + j] = tok->mask[j] != 0;
  }
  if (!tok->truncation_notice.empty()) {
    out->notices.push_back(fmt::format("sample {}: {}", i, tok->truncation_notice));
  }
  return Status::Ok();
}

Status Pi0Transforms::PrepareInto(std::span<const LiberoObservation> batch,
                                  const PromptTokenizer& tokenizer,
                                  std::optional<uint64_t> noise_seed, Pi0Prepared* out) const {
  if (batch.empty()) return InvalidArgument("pi0 request: expected at least one observation, got 0");
  Fast& fast = *fast_;
  std::lock_guard<std::mutex> lock(fast.mu);
  const int64_t b = static_cast<int64_t>(batch.size());
  const int64_t nv = cfg_.num_views;
  const int64_t s = cfg_.vision.image_size;
  const int64_t lt = cfg_.max_token_len;
  const int64_t a = cfg_.action_dim;
  if (nv < 2) {
    return Unimplemented("pi0 request: LIBERO needs 2 image slots (base, wrist), the model has {}",
                         nv);
  }
  Pi0Inputs& in = out->inputs;
  out->notices.clear();
  const bool pixels = image_form_ != ImageForm::kPlanes;  // kSourcePixels: as kPixels here
  HostTensor& image_buffer = pixels ? in.pixels : in.images;
  (pixels ? in.images : in.pixels) = HostTensor();  // exactly one form holds data
  if (pixels ? EnsureHostTensor(in.pixels, DType::kU8, {b, nv, s, s, 3})
             : EnsureHostTensor(in.images, DType::kF32, {b, nv, 3, s, s})) {
    fast.last_images = nullptr;
  }
  EnsureHostTensor(in.image_mask, DType::kU8, {b, nv});
  EnsureHostTensor(in.tokens, DType::kI32, {b, lt});
  EnsureHostTensor(in.token_mask, DType::kU8, {b, lt});
  EnsureHostTensor(in.state, DType::kF64, {b, a});
  in.steps = cfg_.num_steps;
  fast.resized.clear();
  fast.views.clear();
  for (int64_t i = 0; i < b; ++i) VLART_TRY(PrepareSample(batch[i], i, tokenizer, fast, out));
  if (!pixels) {
    VLART_TRY(fast.images.Prepare(static_cast<int>(s), static_cast<int>(s),
                                  fast.pool.num_workers()));
  }

  // Slots past the two views (the right wrist): zeros_like(base) -> byte 0, -1.0 as planes,
  // masked out. Rewritten only where the last call into this buffer did not leave them so.
  uint8_t* mask = in.image_mask.data<uint8_t>();
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t v = 0; v < nv; ++v) mask[i * nv + v] = v < 2;
  }
  const int64_t per_image = 3 * s * s;
  const bool reused = fast.last_images == image_buffer.data<void>() &&
                      fast.last_mask.size() == static_cast<size_t>(b * nv);
  for (int64_t k = 0; k < b * nv; ++k) {
    if (mask[k] == 0 && (!reused || fast.last_mask[k] != 0)) {
      if (pixels) {
        std::fill_n(in.pixels.data<uint8_t>() + k * per_image, per_image, uint8_t{0});
      } else {
        std::fill_n(in.images.data<float>() + k * per_image, per_image, -1.0f);
      }
    }
  }

  // Tasks: each of the 2 views per sample (bytes: one copy; planes: 3 planes), then the
  // noise chunks.
  int noise_chunks = 0;
  if (noise_seed) {
    EnsureHostTensor(in.noise, DType::kF32, {b, cfg_.action_horizon, a});
    fast.noise.Start(*noise_seed, in.noise.data<float>(), in.noise.numel());
    noise_chunks = fast.noise.num_chunks();
  }
  const int n_image_tasks = static_cast<int>((pixels ? 2 : 6) * b);
  fast.pool.Run(n_image_tasks + noise_chunks, [&](int task, int worker) {
    if (task >= n_image_tasks) return fast.noise.RunChunk(task - n_image_tasks);
    if (pixels) {  // view (i, v) is [s, s, 3] bytes (resized above when it was not)
      const int64_t i = task / 2, v = task % 2;
      const ImageView& view = fast.views[i * 2 + v];
      std::memcpy(in.pixels.data<uint8_t>() + (i * nv + v) * per_image, view.data,
                  view.size_bytes());
      return;
    }
    const int64_t i = task / 6, v = (task / 3) % 2, c = task % 3;
    float* dst = in.images.data<float>() + (i * nv + v) * per_image + c * s * s;
    fast.images.RunPlane(fast.views[i * 2 + v], static_cast<int>(c), worker, dst);
  }, fast.pool.HelpersJoin(static_cast<int>(6 * b)));  // helpers wake for batches either way
  fast.last_images = image_buffer.data<void>();
  fast.last_mask.assign(mask, mask + b * nv);
  return Status::Ok();
}

Result<Pi0ActionOutputs> Pi0Transforms::Finish(const HostTensor& x0, const HostTensor& state) const {
  const int64_t h = cfg_.action_horizon;
  const int64_t a = cfg_.action_dim;
  if (x0.dtype() != DType::kF32 || x0.shape().size() != 3 || x0.shape()[1] != h ||
      x0.shape()[2] != a) {
    return InvalidArgument("pi0 outputs 'x0': expected F32[B, {}, {}], got {}{}", h, a,
                           DTypeName(x0.dtype()), x0.shape().ToString());
  }
  const int64_t b = x0.shape()[0];
  if (state.dtype() != DType::kF64 || state.shape() != Shape{b, a}) {
    return InvalidArgument("pi0 outputs 'state': expected F64[{}, {}], got {}{}", b, a,
                           DTypeName(state.dtype()), state.shape().ToString());
  }
  const NormMode mode = cfg_.transforms.norm;
  VLART_ASSIGN_OR_RETURN(const StatVectors av, Vectors(stats_, "actions", mode));
  VLART_ASSIGN_OR_RETURN(const StatVectors sv, Vectors(stats_, "state", mode));
  Pi0ActionOutputs out;
  out.actions_unnormalized = HostTensor(DType::kF64, {b, h, a});
  out.state_unnormalized = HostTensor(DType::kF64, {b, a});

  // Unnormalize one row of `a` values; `x32` (the model output) keeps NumPy's float32 steps.
  auto unnormalize = [&](const StatVectors& v, auto* x, double* y) {
    const size_t d = v.mean->size();
    for (int64_t j = 0; j < a; ++j) {
      if (mode == NormMode::kZScore) {
        // pad_to_dim: mean 0 and std 1 beyond the stats.
        const double mean = static_cast<size_t>(j) < d ? (*v.mean)[j] : 0.0;
        const double std = static_cast<size_t>(j) < d ? (*v.spread)[j] : 1.0;
        y[j] = static_cast<double>(x[j]) * (std + 1e-6) + mean;
      } else if (static_cast<size_t>(j) < d) {
        using T = std::remove_cv_t<std::remove_pointer_t<decltype(x)>>;
        const T half = (x[j] + T(1)) / T(2);  // float32 for x0, float64 for the state
        const double q01 = (*v.mean)[j], q99 = (*v.spread)[j];
        y[j] = static_cast<double>(half) * (q99 - q01 + 1e-6) + q01;
      } else {
        y[j] = static_cast<double>(x[j]);  // passed through
      }
    }
  };
  for (int64_t i = 0; i < b; ++i) {
    unnormalize(sv, state.data<double>() + i * a, out.state_unnormalized.data<double>() + i * a);
    for (int64_t t = 0; t < h; ++t) {
      const int64_t row = (i * h + t) * a;
      unnormalize(av, x0.data<float>() + row, out.actions_unnormalized.data<double>() + row);
    }
  }
  // AbsoluteActions(make_bool_mask(n, -1)): dims < n += state, dim n += 0.
  out.actions_absolute = HostTensor::CopyOf(out.actions_unnormalized.view());
  const int64_t n = cfg_.transforms.delta_action_dims;
  if (n > 0) {
    for (int64_t i = 0; i < b; ++i) {
      const double* st = out.state_unnormalized.data<double>() + i * a;
      for (int64_t t = 0; t < h; ++t) {
        double* row = out.actions_absolute.data<double>() + (i * h + t) * a;
        for (int64_t j = 0; j < n; ++j) row[j] += st[j];
        if (n < a) row[n] += 0.0;
      }
    }
  }
  out.actions = HostTensor::CopyOf(
      out.actions_absolute.view().Slice(2, 0, cfg_.transforms.output_action_dim));
  return out;
}

HostTensor MakeNoise(const Pi0Config& cfg, int batch, uint64_t seed) {
  HostTensor noise(DType::kF32, {batch, cfg.action_horizon, cfg.action_dim});
  Rng rng(seed);
  for (int64_t i = 0; i < noise.numel(); ++i) noise.data<float>()[i] = rng.Normal();
  return noise;
}

}  // namespace vlart::pi0
