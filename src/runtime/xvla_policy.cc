// SPDX-License-Identifier: Apache-2.0
//
// xvla_policy.cc: loading and acting for X-VLA (see the header).

#include "runtime/xvla_policy.h"

#include <fmt/format.h>

#include <chrono>

#include "runtime/backend_factory.h"
#include "runtime/profile_report.h"
#include "runtime/profiling_backend.h"

namespace vlart {
namespace {

using Clock = std::chrono::steady_clock;
double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Mark indices of the model's stage hook (XvlaModel::Forward's stage names).
constexpr const char* kStages[] = {"vision", "encoder", "policy", "post", "end"};

}  // namespace

XvlaPolicy::~XvlaPolicy() {
  // Graphs and clocks reference the backend's stream: release them before the backend.
  forwards_.clear();
  model_.reset();
}

Result<std::unique_ptr<Policy>> XvlaPolicy::Load(const std::filesystem::path& dir,
                                                 const PolicyOptions& options) {
  std::unique_ptr<XvlaPolicy> p(new XvlaPolicy());
  p->options_ = options;
  VLART_ASSIGN_OR_RETURN(const xvla::XvlaConfig cfg, xvla::ParseXvlaConfig(dir / "config.json"));
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<Checkpoint> ckpt, Checkpoint::Open(dir));
  if (ckpt->Find("model.transformer.pos_emb") != nullptr) {
    return Unimplemented(
        "X-VLA checkpoint '{}': this is a LeRobot-format checkpoint ('model.' keys with "
        "transformers' native Florence-2 names); vlart loads the official format "
        "(2toINF/X-VLA-*) for now",
        dir.string());
  }
  p->source_ = std::make_unique<CheckpointSource>(std::move(ckpt));
  VLART_ASSIGN_OR_RETURN(p->backend_,
                         CreateBackend(BackendSpec{options.device, options.precision, options.tuning_cache}));
  if (options.profile_ops > 0) {
    auto profiler = std::make_unique<ProfilingBackend>(std::move(p->backend_), options.profile_ops);
    p->profiler_ = profiler.get();
    p->backend_ = std::move(profiler);
  }
  VLART_ASSIGN_OR_RETURN(p->model_, xvla::XvlaModel::Load(cfg, *p->source_, *p->backend_));
  // Images go to the model as the camera's bytes, resized (Pillow's bytes) and normalised on
  // the device (the same planes, bit for bit), or as resized bytes where the batch's views
  // differ in size; VLART_DEVICE_RESIZE=0 resizes on the host, VLART_DEVICE_PIXELS=0 also
  // normalises there (A/B runs).
  VLART_ASSIGN_OR_RETURN(xvla::XvlaProcessor processor,
                         xvla::XvlaProcessor::Load(dir, cfg, /*worker_threads=*/-1,
                                                   PolicyImageForm()));
  p->processor_ = std::make_unique<xvla::XvlaProcessor>(std::move(processor));
  return std::unique_ptr<Policy>(std::move(p));
}

std::string XvlaPolicy::description() const {
  const xvla::XvlaConfig& c = model_->config();
  return fmt::format(
      "X-VLA: DaViT {}/{}/{}/{} + BART {}x{} + policy {}x{} ({} actions x {}, {} soft prompts) "
      "on {}",
      c.vision.dim_embed[0], c.vision.dim_embed[1], c.vision.dim_embed[2], c.vision.dim_embed[3],
      c.text.encoder_layers, c.text.d_model, c.policy.depth, c.policy.hidden_size,
      c.policy.num_actions, c.action_space.dim_action, c.policy.len_soft_prompts,
      backend_->name());
}

Result<StagedForward*> XvlaPolicy::ForwardFor(xvla::XvlaModel::Plan* plan) {
  if (auto it = forwards_.find(plan); it != forwards_.end()) return it->second.get();
  VLART_ASSIGN_OR_RETURN(
      std::unique_ptr<StagedForward> f,
      StagedForward::Create(
          *backend_, profiler_, options_.cuda_graphs, kStages,
          [this](StagedForward::StageHook hook) { model_->SetStageHook(std::move(hook)); },
          [this, plan] { model_->Forward(*plan); }));
  return forwards_.emplace(plan, std::move(f)).first->second.get();
}

Result<std::string> XvlaPolicy::ProfileReport() const {
  if (profiler_ == nullptr) {
    return InvalidArgument("profile: the policy was loaded without PolicyOptions::profile_ops");
  }
  return FormatProfile(profiler_->Timings());
}

Result<std::vector<ActionChunk>> XvlaPolicy::ActBatch(std::span<const Observation> batch,
                                                      const ActOptions& options) {
  const auto t0 = Clock::now();
  std::vector<xvla::XvlaRequest> requests(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Observation& o = batch[i];
    if (!o.domain_id) {
      return InvalidArgument(
          "X-VLA observation{}: domain_id: expected the embodiment's domain id (LIBERO: 3), got "
          "none",
          batch.size() == 1 ? std::string() : fmt::format(" {}", i));
    }
    requests[i] = xvla::XvlaRequest{o.images, o.prompt, o.state, *o.domain_id};
  }
  const int steps = options.steps > 0 ? options.steps : 10;
  xvla::XvlaInputs& inputs = inputs_;  // reused call to call (uploaded before the next)
  VLART_TRY(processor_->PrepareInto(requests, steps, options.noise, options.seed,
                                    options.notices, &inputs));
  VLART_TRY(model_->Validate(inputs));
  const double preprocess_ms = MsSince(t0);

  VLART_ASSIGN_OR_RETURN(xvla::XvlaModel::Plan * plan, model_->GetPlan(xvla::XvlaModel::KeyFor(inputs)));
  const auto t_upload = Clock::now();
  VLART_TRY(model_->Upload(*plan, inputs));
  const double upload_ms = MsSince(t_upload);

  VLART_ASSIGN_OR_RETURN(StagedForward * forward, ForwardFor(plan));
  forward->Run();
  // Wait for the forward first, so "download" is the copy alone (the forward's own time is
  // in the device stages; e2e is unchanged: the download waited for it anyway).
  backend_->Synchronize();
  const auto t_download = Clock::now();
  xvla::XvlaOutputs out;
  VLART_TRY(model_->Download(*plan, &out));
  const double download_ms = MsSince(t_download);

  if (options.timings != nullptr) {
    CallTimings& t = *options.timings;
    t.preprocess_ms = preprocess_ms;
    t.upload_ms = upload_ms;
    t.download_ms = download_ms;
    t.stages = forward->StageTimes();
    t.total_ms = MsSince(t0);
  }
  std::vector<ActionChunk> chunks(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    chunks[i].actions = HostTensor::CopyOf(out.actions.view().Select(0, static_cast<int64_t>(i)));
  }
  return chunks;
}

}  // namespace vlart
