// SPDX-License-Identifier: Apache-2.0
//
// pi0_model.h: pi0 / pi0.5 end to end over the op interface: what openpi's
// PI0Pytorch.sample_actions computes, from model inputs to x0.
//
//   vision: SigLIP + projector over the encoded image views        (siglip.h)
//   prefix: [image tokens ; embed(prompt) * sqrt(W)], prefix-LM mask over valid tokens,
//           positions cumsum(pad) - 1, Gemma pass -> per-layer K/V   (gemma_prefix.h)
//   denoise: x = noise; for t in openpi's float32 schedule: x += dt * f(x, t)
//                                                                    (action_expert.h)
//   post:   x0 copied to the output buffer (the float64 output transforms run on the
//           host, pi0_transforms.h, as openpi runs them in NumPy)
// The model owns the weights; a Plan owns everything one input shape needs (buffers for
// inputs, activations, the K/V cache, the step tables). Plans are keyed by host-side
// decisions: batch, which image views are encoded, the prefix length after the
// shortcuts, and the step count. Upload() fills a plan's input buffers (images, token
// ids, positions, masks, state, noise), Forward() only enqueues ops (no allocation, no
// synchronisation: capturable as one CUDA graph), Download() returns x0.
//
// Upload's host work is kept small (it runs on every robot step): the plan keeps its
// host-side buffers; a sample's positions and masks are functions of its prefix rows' pad
// pattern alone (Plan::HostInputs::valid), so they are rebuilt and re-uploaded only for
// the samples whose pattern differs from the one the plan's device buffers were built
// from, and the token ids only when they differ from the uploaded ones (in a robot loop
// the prompt and views repeat, so usually nothing is); images go from the caller's tensor
// straight to the device (one upload per run of consecutive encoded views). The device
// holds the same bytes either way.
//
// Images come in one of two forms (Pi0Inputs): `images`, the F32 planes openpi's
// transforms make, or `pixels`, the packed RGB bytes before them. Bytes are a quarter of the
// floats to upload and need no host pass: the forward's first op normalises them on the
// device (Backend::NormalizePixels with openpi's float32(v) / 255 * 2 - 1 as a per-byte
// table), into the same planes, bit for bit (tests/models/pi0_pixels_test.cc).
//
// Exact shortcuts (Pi0ModelOptions, each switchable; all on by default; the tests
// compare each against the reference layout on the CPU backend):
//   skip_masked_images  image views whose mask is false are not encoded and their
//                       tokens are not in the prefix (openpi runs SigLIP on the zero
//                       image and masks its 256 tokens out). Bit-identical.
//   trim_text_padding   prompt padding is not in the prefix. Bit-identical.
//     Both rest on: a removed token has pad = false, so (a) it changes no position
//     (cumsum(pad)), (b) every valid query gives it weight exp(-2.38e38 - max) = +0
//     exactly, and a 0 term changes neither the softmax's double sum nor the f32
//     accumulations of P.V. Valid tokens keep their relative order. With B > 1 the
//     prefix is as long as the longest sample; shorter ones are padded with masked rows.
//   skip_dead_prefix_compute  the last VLM layer stops after its K/V. Bit-identical.
//   cache_state_token / fold_time_path: see action_expert.h (pi0's fold is exact only
//                       up to rounding; pi0.5's precomputed adaRMS is bit-identical).
//   fold_rms_norms      every plain RMSNorm of the action expert (input_layernorm before qkv,
//                       post_attention_layernorm before gate/up: pi0's expert; not pi0.5's
//                       adaRMS, not the VLM prefix, where it measured slower) has its (1 + w)
//                       folded into that GEMM's
//                       weights at load, the GEMM runs on the residual stream x itself and
//                       the op after it (RopeQkv, GatedActivation) applies the RMS statistic
//                       per row (ops/backend.h RowRmsScale): two launches fewer per layer.
//                       Equal in real arithmetic; differs by rounding (the folded weights
//                       round W (1 + w) once, and the normalised activations are no longer
//                       rounded to the compute dtype before the GEMM). pi0_weights.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/host_tensor.h"
#include "models/common/trace.h"
#include "models/common/weights.h"
#include "models/pi0/action_expert.h"
#include "models/pi0/gemma_prefix.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "models/pi0/siglip.h"
#include "ops/backend.h"

namespace vlart::pi0 {

// openpi's additive mask value (finite, so fully masked rows stay finite).
inline constexpr float kMaskNegative = -2.3819763e38f;

// What sample_actions receives (after openpi's input transforms, pi0_transforms.h).
// Exactly one of `images` and `pixels` holds data.
struct Pi0Inputs {
  HostTensor images;      // F32 [B, V, 3, S, S] NCHW in [-1, 1] (masked views: anything finite)
  HostTensor pixels;      // U8  [B, V, S, S, 3] packed RGB bytes, or instead of `images`:
                          //     images = float32(pixels) / 255 * 2 - 1, as NCHW planes
  HostTensor image_mask;  // U8  [B, V]  1 = view present
  HostTensor tokens;      // I32 [B, L]  prompt ids, L = max_token_len (0 on padding)
  HostTensor token_mask;  // U8  [B, L]  1 = real token
  HostTensor state;       // F64 [B, A]  normalized, zero-padded state (pi0; pi0.5 ignores it)
  HostTensor noise;       // F32 [B, H, A]  the initial x (t = 1)
  int steps = 10;         // Euler steps
};

struct Pi0Outputs {
  HostTensor x0;          // F32 [B, H, A]  normalized actions (before the output transforms)
};

struct Pi0ModelOptions {
  bool skip_masked_images = true;
  bool trim_text_padding = true;
  bool skip_dead_prefix_compute = true;
  bool cache_state_token = true;  // pi0 only
  bool fold_time_path = true;
  bool fold_rms_norms = true;  // see the header: equal up to rounding
  // Every shortcut off: openpi's computation as it executes it.
  static Pi0ModelOptions Reference() { return {false, false, false, false, false, false}; }
};

class Pi0Model {
 public:
  // Describes every checkpoint tensor the model reads (for `vlart inspect`).
  static void DescribeWeights(const Pi0Config& cfg, const std::string& embed_key, Pi0Weights* w,
                              WeightTable* table) {
    DescribePi0Weights(cfg, embed_key, w, table);
  }

  static Result<std::unique_ptr<Pi0Model>> Load(const Pi0Config& cfg, const WeightSource& source,
                                                Backend& backend, Pi0ModelOptions options = {});

  const Pi0Config& config() const { return cfg_; }
  const Pi0ModelOptions& options() const { return options_; }
  Backend& backend() { return be_; }
  Tracer& tracer() { return tracer_; }

  // Validates `inputs` and returns x0. Allocates a plan on first use of a key.
  Result<Pi0Outputs> Run(const Pi0Inputs& inputs);

  // ---- lower level, used by the runtime (graphs, bench) ---------------------------
  struct PlanKey {
    int batch = 0;
    std::vector<uint8_t> encoded;  // [B * V] 1 = the view is encoded and placed in the prefix
    int prefix_len = 0;            // prefix rows after the shortcuts
    int steps = 0;
    bool pixels = false;           // images arrive as bytes (Pi0Inputs::pixels)
    auto operator<=>(const PlanKey&) const = default;
  };
  class Plan;
  // Checks shapes, dtypes, ranges and finiteness of `inputs`.
  Status Validate(const Pi0Inputs& inputs) const;
  // The plan key for (validated) inputs under this model's options.
  PlanKey MakePlanKey(const Pi0Inputs& inputs) const;
  Result<Plan*> GetPlan(const PlanKey& key);
  Status Upload(Plan& plan, const Pi0Inputs& inputs);  // host -> the plan's input buffers
  void Forward(Plan& plan);                            // enqueue everything
  Status Download(Plan& plan, Pi0Outputs* out);        // the plan's x0 -> host
  // Stage markers: "vision", "prefix", "denoise", "post" before each part is enqueued
  // and "end" after (the runtime records events there).
  void SetStageHook(std::function<void(std::string_view)> hook) { stage_hook_ = std::move(hook); }

 private:
  Pi0Model(const Pi0Config& cfg, Backend& backend, Pi0ModelOptions options);
  void Stage(std::string_view name) {
    if (stage_hook_) stage_hook_(name);
  }

  Pi0Config cfg_;
  Backend& be_;
  Pi0ModelOptions options_;
  DType dtype_;
  std::unique_ptr<Arena> weights_arena_;
  Pi0Weights w_;
  Tensor pixel_table_;  // F32 [3, 256] openpi's float32(v) / 255 * 2 - 1 of every byte v
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
  Tracer tracer_;
  std::function<void(std::string_view)> stage_hook_;
};

class Pi0Model::Plan {
 public:
  Plan(const Pi0Model& model, const PlanKey& key);
  PlanKey key;
  std::vector<std::pair<int, int>> encoded_views;  // (b, v) of each encoded image, in order
  std::vector<int> images_per_sample;              // [B] encoded views of each sample
  std::vector<int64_t> image_row0;                 // [N] first prefix row of each encoded view
  // Host layout of the last Upload: for sample b and prefix row r, the index of the
  // openpi prefix slot it holds (0 .. V*T + max_token_len - 1), or -1 for batch padding.
  std::vector<std::vector<int>> prefix_slots;
  // Host side of the inputs, allocated once with the plan (Upload reuses them).
  struct HostInputs {
    std::vector<uint8_t> valid;           // [B * L]  this call's pad mask of the prefix rows
    std::vector<int32_t> call_ids;        // [B * L]  this call's token ids
    std::vector<uint8_t> uploaded_valid;  // [B * L]  the pattern the device's positions,
                                          //          masks and suffix positions were built
                                          //          from (2: nothing uploaded yet)
    bool ids_uploaded = false;            // `ids` holds what the device's ids hold
    HostTensor ids;                       // I32 [B * L]
    HostTensor positions;                 // I32 [B, L]
    HostTensor prefix_mask;               // F32 [B, L, L]
    HostTensor suffix_positions;          // I32 [B, S]
    HostTensor suffix_mask;               // F32 [B, S, L + S]
    HostTensor state;                     // F32 [B, A]
    std::vector<float> key_row;           // [L]  one sample's mask row of a valid query
    std::vector<float> suffix_tail;       // [S, S]  the suffix-to-suffix mask (fixed by the config)
  } host;
  // How many samples' positions and masks Upload rebuilt and uploaded, and how many times
  // it uploaded the token ids (tests check that unchanged inputs skip them).
  int64_t mask_builds = 0;
  int64_t ids_uploads = 0;
  std::unique_ptr<Arena> arena;
  std::unique_ptr<SiglipEncoder> siglip;
  std::unique_ptr<GemmaPrefix> prefix;
  std::unique_ptr<ActionExpert> expert;
  float dt = 0.0f;      // openpi's float32 dt
  // inputs
  Tensor images;        // [N, 3, S, S] compute dtype, N = encoded views
  Tensor pixels;        // U8 [N, S, S, 3] when key.pixels (normalised into `images`)
  Tensor ids;           // I32 [B * L]
  Tensor positions;     // I32 [B, L]
  Tensor prefix_mask;   // F32 [B, L, L]
  Tensor suffix_positions;  // I32 [B, S]
  Tensor suffix_mask;   // F32 [B, S, L + S]
  Tensor state;         // F32 [B, A]
  Tensor noise;         // F32 [B, H, A]
  // activations
  Tensor image_tokens;  // [N, T, W] projector output
  Tensor prefix_x;      // [B, L, W] prefix embeddings, then the VLM residual stream
  KvCache kv;           // per layer [B, L + S, Hkv, D]
  Tensor x_t;           // F32 [B, H, A]
  Tensor v_t;           // F32 [B, H, A]
  Tensor x0;            // F32 [B, H, A]  output
};

}  // namespace vlart::pi0
