// SPDX-License-Identifier: Apache-2.0
//
// pi0_policy.cc: loading and acting for pi0 / pi0.5 (see the header).

#include "runtime/pi0_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "io/norm_stats.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_synthetic.h"
#include "models/pi0/pi0_weights.h"
#include "runtime/backend_factory.h"
#include "runtime/profile_report.h"
#include "runtime/profiling_backend.h"

namespace vlart {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Mark indices of the model's stage hook (Pi0Model::Forward's stage names).
constexpr const char* kStages[] = {"vision", "prefix", "denoise", "post", "end"};

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// openpi's download cache (openpi.shared.download.get_cache_dir), or empty when neither
// OPENPI_DATA_HOME nor HOME is set.
fs::path OpenpiCacheDir() {
  if (const char* v = std::getenv("OPENPI_DATA_HOME"); v != nullptr && *v != '\0') {
    std::string s = v;
    if (s.starts_with("~/")) {
      const char* home = std::getenv("HOME");
      if (home != nullptr) s = std::string(home) + s.substr(1);
    }
    return s;
  }
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return {};
  return fs::path(home) / ".cache" / "openpi";
}

}  // namespace

Result<fs::path> FindPi0NormStats(const fs::path& dir) {
  const fs::path libero = dir / pi0::kLiberoNormStatsPath;
  if (IsFile(libero)) return libero;
  std::vector<fs::path> found;
  std::error_code ec;
  const fs::path assets = dir / "assets";
  if (fs::is_directory(assets, ec)) {
    for (auto it = fs::recursive_directory_iterator(assets, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().filename() == "norm_stats.json" && IsFile(it->path())) {
        found.push_back(it->path());
      }
    }
  }
  if (found.size() == 1) return found.front();
  if (found.empty()) {
    return NotFound(
        "pi0 policy: norm stats: expected {} (openpi's assets layout), got no norm_stats.json "
        "under '{}'; hint: openpi checkpoints carry assets/<asset_id>/norm_stats.json next to "
        "model.safetensors",
        libero.string(), assets.string());
  }
  std::sort(found.begin(), found.end());
  std::string list;
  for (const fs::path& p : found) list += (list.empty() ? "" : ", ") + p.string();
  return InvalidArgument(
      "pi0 policy: norm stats: expected {} or a single norm_stats.json under '{}', got {} ({})",
      libero.string(), assets.string(), found.size(), list);
}

Result<fs::path> FindPi0Tokenizer(const fs::path& dir, const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (IsFile(explicit_path)) return fs::path(explicit_path);
    return NotFound("pi0 policy: tokenizer: expected a SentencePiece model at '{}' (--tokenizer), "
                    "got no such file",
                    explicit_path);
  }
  std::vector<fs::path> looked;
  looked.push_back(dir / "tokenizer.model");
  if (const fs::path cache = OpenpiCacheDir(); !cache.empty()) {
    looked.push_back(cache / "big_vision" / "paligemma_tokenizer.model");
  }
  for (const fs::path& p : looked) {
    if (IsFile(p)) return p;
  }
  std::string list;
  for (const fs::path& p : looked) list += (list.empty() ? "" : ", ") + p.string();
  return NotFound(
      "pi0 policy: tokenizer: expected the PaliGemma SentencePiece model at one of {}, got none; "
      "hint: openpi checkpoints do not carry it: copy paligemma_tokenizer.model "
      "(gs://big_vision/paligemma_tokenizer.model) into the folder as tokenizer.model, or pass "
      "its path (--tokenizer)",
      list);
}

Pi0Policy::~Pi0Policy() {
  // Graphs and clocks reference the backend's stream: release them before the backend.
  forwards_.clear();
  model_.reset();
}

Result<std::unique_ptr<Policy>> Pi0Policy::Load(const fs::path& dir, const PolicyOptions& options) {
  std::unique_ptr<Pi0Policy> p(new Pi0Policy());
  p->options_ = options;
  VLART_ASSIGN_OR_RETURN(p->source_, pi0::OpenPi0Checkpoint(dir));
  VLART_ASSIGN_OR_RETURN(const pi0::Pi0Config cfg, pi0::LoadPi0Config(dir, *p->source_));

  // Side files first: a missing tokenizer or norm stats should not cost a weight load.
  VLART_ASSIGN_OR_RETURN(p->norm_stats_path_, FindPi0NormStats(dir));
  VLART_ASSIGN_OR_RETURN(NormStats stats, NormStats::Load(p->norm_stats_path_));
  // Images go to the model as bytes, normalised by its first op on the device (the same
  // planes, bit for bit); VLART_DEVICE_PIXELS=0 normalises on the host instead (A/B runs).
  VLART_ASSIGN_OR_RETURN(pi0::Pi0Transforms transforms,
                         pi0::Pi0Transforms::Create(cfg, std::move(stats), /*worker_threads=*/-1,
                                                    PolicyImageForm()));
  p->transforms_.emplace(std::move(transforms));
  VLART_ASSIGN_OR_RETURN(p->tokenizer_path_, FindPi0Tokenizer(dir, options.tokenizer));
  VLART_ASSIGN_OR_RETURN(SentencePieceTokenizer tok,
                         SentencePieceTokenizer::FromFile(p->tokenizer_path_));
  if (tok.vocab_size() > cfg.vocab_size) {
    return InvalidArgument(
        "pi0 policy: tokenizer '{}': expected at most {} pieces (the checkpoint's token "
        "embedding rows), got {}; hint: the tokenizer does not belong to this checkpoint",
        p->tokenizer_path_.string(), cfg.vocab_size, tok.vocab_size());
  }
  p->tokenizer_.emplace(std::move(tok));
  // pi0_libero and pi05_libero both use the pi0 prompt format (discrete_state_input=False).
  p->prompt_tokenizer_ = pi0::SentencePiecePromptTokenizer(*p->tokenizer_);

  VLART_ASSIGN_OR_RETURN(p->backend_,
                         CreateBackend(BackendSpec{options.device, options.precision, options.tuning_cache}));
  if (options.profile_ops > 0) {
    auto profiler = std::make_unique<ProfilingBackend>(std::move(p->backend_), options.profile_ops);
    p->profiler_ = profiler.get();
    p->backend_ = std::move(profiler);
  }
  pi0::Pi0ModelOptions model_options;  // every shortcut on
  // VLART_PI0_FOLD_RMS_NORMS=0: the norms as separate launches (A/B runs of the fold).
  if (const char* v = std::getenv("VLART_PI0_FOLD_RMS_NORMS"); v != nullptr && std::string_view(v) == "0") {
    model_options.fold_rms_norms = false;
  }
  VLART_ASSIGN_OR_RETURN(p->model_,
                         pi0::Pi0Model::Load(cfg, *p->source_, *p->backend_, model_options));
  return std::unique_ptr<Policy>(std::move(p));
}

std::string Pi0Policy::model_type() const { return model_->config().pi05 ? "pi05" : "pi0"; }

std::string Pi0Policy::description() const {
  const pi0::Pi0Config& c = model_->config();
  return fmt::format(
      "{}: SigLIP {}x{} ({}px/{}) + Gemma {}x{} + expert {}x{} ({} actions x {} -> {}, {} prompt "
      "tokens, {} norm) on {}",
      c.pi05 ? "pi0.5" : "pi0", c.vision.depth, c.vision.width, c.vision.image_size,
      c.vision.patch_size, c.vlm.depth, c.vlm.width, c.expert.depth, c.expert.width,
      c.action_horizon, c.action_dim, c.transforms.output_action_dim, c.max_token_len,
      pi0::NormModeName(c.transforms.norm), backend_->name());
}

Result<StagedForward*> Pi0Policy::ForwardFor(pi0::Pi0Model::Plan* plan) {
  if (auto it = forwards_.find(plan); it != forwards_.end()) return it->second.get();
  VLART_ASSIGN_OR_RETURN(
      std::unique_ptr<StagedForward> f,
      StagedForward::Create(
          *backend_, profiler_, options_.cuda_graphs, kStages,
          [this](StagedForward::StageHook hook) { model_->SetStageHook(std::move(hook)); },
          [this, plan] { model_->Forward(*plan); }));
  return forwards_.emplace(plan, std::move(f)).first->second.get();
}

Result<std::string> Pi0Policy::ProfileReport() const {
  if (profiler_ == nullptr) {
    return InvalidArgument("profile: the policy was loaded without PolicyOptions::profile_ops");
  }
  return FormatProfile(profiler_->Timings());
}

Result<std::vector<ActionChunk>> Pi0Policy::ActBatch(std::span<const Observation> batch,
                                                     const ActOptions& options) {
  const auto t0 = Clock::now();
  const pi0::Pi0Config& cfg = model_->config();
  const char* name = cfg.pi05 ? "pi0.5" : "pi0";
  if (batch.empty()) {
    return InvalidArgument("{} observations: expected at least one, got none", name);
  }
  const int64_t b = static_cast<int64_t>(batch.size());
  std::vector<pi0::LiberoObservation> requests(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Observation& o = batch[i];
    if (o.images.size() != 2) {
      return InvalidArgument(
          "{} observation{}: images: expected 2 views (LIBERO: base camera, wrist camera; the "
          "third image slot is masked as openpi does), got {}",
          name, b == 1 ? std::string() : fmt::format(" {}", i), o.images.size());
    }
    requests[i] = pi0::LiberoObservation{o.images[0].view(), o.images[1].view(), o.state, o.prompt};
  }
  // prepared_ is reused call to call (uploaded before the next); without explicit noise
  // the transforms draw MakeNoise(cfg, B, seed) alongside the images.
  pi0::Pi0Prepared& prep = prepared_;
  VLART_TRY(transforms_->PrepareInto(
      requests, prompt_tokenizer_,
      options.noise != nullptr ? std::nullopt : std::optional<uint64_t>(options.seed), &prep));
  pi0::Pi0Inputs& in = prep.inputs;
  in.steps = options.steps > 0 ? options.steps : cfg.num_steps;
  const Shape noise_shape{b, cfg.action_horizon, cfg.action_dim};
  if (options.noise != nullptr) {
    if (options.noise->dtype() != DType::kF32 || options.noise->shape() != noise_shape) {
      return InvalidArgument("{} noise: expected F32{}, got {}{}", name, noise_shape.ToString(),
                             DTypeName(options.noise->dtype()), options.noise->shape().ToString());
    }
    in.noise = HostTensor::CopyOf(options.noise->view());
  }
  VLART_TRY(model_->Validate(in));
  if (options.notices != nullptr) {
    for (const std::string& n : prep.notices) options.notices->push_back(n);
  }
  const double preprocess_ms = MsSince(t0);

  VLART_ASSIGN_OR_RETURN(pi0::Pi0Model::Plan * plan, model_->GetPlan(model_->MakePlanKey(in)));
  const auto t_upload = Clock::now();
  VLART_TRY(model_->Upload(*plan, in));
  const double upload_ms = MsSince(t_upload);

  VLART_ASSIGN_OR_RETURN(StagedForward * forward, ForwardFor(plan));
  forward->Run();
  // Wait for the forward first, so "download" is the copy alone (the forward's own time is
  // in the device stages; e2e is unchanged: the download waited for it anyway).
  backend_->Synchronize();
  const auto t_download = Clock::now();
  pi0::Pi0Outputs out;
  VLART_TRY(model_->Download(*plan, &out));
  const double download_ms = MsSince(t_download);

  // Output transforms on the host in float64 (openpi's NumPy), then F32 for the chunk.
  VLART_ASSIGN_OR_RETURN(const pi0::Pi0ActionOutputs acts, transforms_->Finish(out.x0, in.state));
  std::vector<ActionChunk> chunks(batch.size());
  for (int64_t i = 0; i < b; ++i) {
    chunks[i].actions = HostTensor::ToF32(acts.actions.view().Select(0, i));
  }
  if (options.timings != nullptr) {
    CallTimings& t = *options.timings;
    t.preprocess_ms = preprocess_ms;
    t.upload_ms = upload_ms;
    t.download_ms = download_ms;
    t.stages = forward->StageTimes();
    t.total_ms = MsSince(t0);
  }
  return chunks;
}

}  // namespace vlart
