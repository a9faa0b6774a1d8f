// SPDX-License-Identifier: Apache-2.0
//
// xvla_model.h: X-VLA end to end over the op interface: vision -> BART -> policy loop.
//
// XvlaModel holds the weights (loaded once into the backend). A Plan holds everything
// one input shape needs: activations, input/output buffers, and the submodules, keyed
// by (batch, which views are present, steps). Run() uploads inputs into the plan's
// buffers, Forward() enqueues the whole computation (no allocation, no sync: capturable
// as one CUDA graph), and the outputs are downloaded. Mirrors the official
// XVLA.generate_actions (2toinf/X-VLA models/modeling_xvla.py):
//   features of valid views (DaViT + projector), invalid views exact zeros;
//   encoder input = [view-0 tokens ; text embeddings], aux = views 1.. flattened;
//   a = 0; for i = steps..1: t = i/steps; x_t = t*x1 + (1-t)*a; zero grippers;
//                            a = policy(x_t, proprio (grippers zeroed), t);
//   sigmoid on the gripper channels.
// Images come as normalised F32 planes (`images`), as the resized bytes before the
// processor's normalisation (`pixels` + `pixel_table`, the normalisation of each byte), or
// as the camera's bytes before the resize (`source_pixels` + the resize's taps +
// `pixel_table`). Bytes are a quarter of the upload; the forward's first ops resize them
// (Backend::ResizePixels: Pillow's bytes) and normalise them (Backend::NormalizePixels) on
// the device into the same planes, bit for bit.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/host_tensor.h"
#include "models/common/trace.h"
#include "models/common/weights.h"
#include "models/xvla/bart_encoder.h"
#include "models/xvla/davit.h"
#include "models/xvla/policy_transformer.h"
#include "models/xvla/xvla_config.h"
#include "ops/backend.h"

namespace vlart::xvla {

// Model inputs after the processor (host side).
struct XvlaInputs {
  HostTensor input_ids;   // I32 [B, L]       BART ids, padded to L = max_text_tokens
  HostTensor images;      // F32 [B, V, 3, S, S] normalised CHW; rows of absent views ignored
  // Or, instead of `images` (exactly one of the two holds data):
  HostTensor pixels;       // U8  [B, V, 3, S, S] the resized bytes, CHW planes
  HostTensor pixel_table;  // F32 [3, 256] images = pixel_table[c, pixels[..., c, y, x]]
  // Or the camera's bytes (then pixel_table as well): pixels = ResizePixels(source_pixels).
  HostTensor source_pixels;  // U8 [B, V, H, W, 3] every view one size (absent ones ignored)
  HostTensor resize_x;       // I32 [S, 2 + Kx] Pillow's taps per output column (resize_taps.h)
  HostTensor resize_y;       // I32 [S, 2 + Ky] and per output row
  HostTensor image_mask;  // U8  [B, V]       1 = view present
  HostTensor domain_id;   // I32 [B]
  HostTensor proprio;     // F32 [B, dp]
  HostTensor noise;       // F32 [B, A, da]   the initial noise x1
  int steps = 10;
};

struct XvlaOutputs {
  HostTensor actions;     // F32 [B, A, output_dim] after postprocess
};

struct ProjectorWeights {
  HostTensor image_projection;    // [C3, proj] host; used as x @ W, uploaded transposed
  Tensor image_projection_t;      // [proj, C3]  (nn.Linear layout)
  Tensor proj_norm_w, proj_norm_b;  // [proj]
  HostTensor row_embed, col_embed;  // [max_pos, C3/2] host: combined into pos2d
  HostTensor temporal;              // [max_temporal, C3] (optional buffer in the file)
  bool has_temporal = false;
  Tensor pos2d;                     // [g*g, C3]  concat(col[w], row[h]) at (h, w)
  Tensor temporal_row0;             // [C3]       temporal embedding of frame 0
};

struct XvlaWeights {
  DavitWeights davit;
  ProjectorWeights projector;
  BartEncoderWeights bart;
  PolicyWeights policy;
};

struct XvlaModelOptions {
  bool hoist_step_invariant = true;  // build the policy context once per call
};

class XvlaModel {
 public:
  // Describes every checkpoint tensor the model reads (for `vlart inspect` and loading).
  // `token_table_name` as DescribeBartEncoderWeights.
  static void DescribeWeights(const XvlaConfig& cfg, const std::string& token_table_name,
                              XvlaWeights* w, WeightTable* table);
  // The key holding BART's token table in `source` (shared.weight or the tied alias).
  static std::string TokenTableName(const WeightSource& source);

  static Result<std::unique_ptr<XvlaModel>> Load(const XvlaConfig& cfg, const WeightSource& source,
                                                 Backend& backend, XvlaModelOptions options = {});

  const XvlaConfig& config() const { return cfg_; }
  Backend& backend() { return be_; }
  Tracer& tracer() { return tracer_; }

  // Validates `inputs` (shapes, dtypes, ids in range, finite values, at least one view
  // per sample) and returns the actions. Allocates a plan on first use of a shape.
  Result<XvlaOutputs> Run(const XvlaInputs& inputs);

  // ---- lower level, used by the runtime (graphs, bench) -------------------------
  struct PlanKey {
    int batch;
    std::vector<uint8_t> view_mask;  // [B * V]
    int steps;
    bool pixels = false;  // images arrive as bytes (XvlaInputs::pixels or source_pixels)
    // source_pixels only: the camera size and the taps' row widths (2 + K); 0 otherwise.
    int source_height = 0, source_width = 0, taps_x = 0, taps_y = 0;
    auto operator<=>(const PlanKey&) const = default;
  };
  class Plan;
  // Checks shapes, dtypes, ranges and finiteness of `inputs` (Run calls it).
  Status Validate(const XvlaInputs& inputs) const;
  static PlanKey KeyFor(const XvlaInputs& inputs);
  // KeyFor without the view mask (no allocation): what Upload checks besides the mask.
  static PlanKey FormKeyFor(const XvlaInputs& inputs);
  Result<Plan*> GetPlan(const PlanKey& key);
  Status Upload(Plan& plan, const XvlaInputs& inputs);  // host -> the plan's input buffers
  void Forward(Plan& plan);                             // enqueue everything
  Status Download(Plan& plan, XvlaOutputs* out);        // the plan's outputs -> host
  // Stage markers for timing: called with "vision", "encoder", "policy", "post" before
  // each part is enqueued and "end" after (the runtime records events there).
  void SetStageHook(std::function<void(std::string_view)> hook) { stage_hook_ = std::move(hook); }

 private:
  XvlaModel(const XvlaConfig& cfg, Backend& backend, XvlaModelOptions options);
  void Stage(std::string_view name) {
    if (stage_hook_) stage_hook_(name);
  }

  XvlaConfig cfg_;
  Backend& be_;
  XvlaModelOptions options_;
  DType dtype_;
  std::unique_ptr<Arena> weights_arena_;
  XvlaWeights w_;
  std::map<PlanKey, std::unique_ptr<Plan>> plans_;
  Tracer tracer_;
  std::function<void(std::string_view)> stage_hook_;
};

class XvlaModel::Plan {
 public:
  Plan(const XvlaModel& model, const PlanKey& key);
  PlanKey key;
  std::vector<std::pair<int, int>> valid_views;  // (b, v) of each encoded image, in order
  std::unique_ptr<Arena> arena;
  std::unique_ptr<DavitEncoder> davit;
  std::unique_ptr<BartEncoder> bart;
  std::unique_ptr<PolicyTransformer> policy;
  // inputs
  Tensor images_f32;    // F32 [n_valid, 3, S, S] as uploaded (normalised pixels; not with bytes)
  Tensor images;        // [n_valid, 3, S, S] compute dtype (== images_f32 on f32 backends)
  Tensor pixels;        // U8 [n_valid, 3, S, S] when key.pixels (normalised into `images`)
  Tensor source;        // U8 [n_valid, H, W, 3] when key.source_height (resized into `pixels`)
  Tensor resize_x;      // I32 [S, key.taps_x] when key.source_height
  Tensor resize_y;      // I32 [S, key.taps_y]
  HostTensor uploaded_x, uploaded_y;  // what resize_x / resize_y hold (empty: nothing yet)
  Tensor pixel_table;   // F32 [3, 256] when key.pixels
  HostTensor uploaded_table;  // F32 [3, 256] what pixel_table holds (empty: nothing yet)
  Tensor ids;           // I32 [B * L]
  Tensor domains;       // I32 [B]
  Tensor proprio;       // F32 [B, dp]
  Tensor noise;         // F32 [B, A, da]
  Tensor temb;          // F32 [steps, dt]   temb(t_k) for k = 0..steps-1 (t = 1, ...)
  // activations
  Tensor vision_out;    // [n_valid, g*g, C3]
  Tensor tokens;        // [n_valid, 1 + g*g, C3]
  Tensor projected;     // [n_valid * (1 + g*g), proj]
  Tensor view_feats;    // [B, V, T, proj]   zeros for absent views
  Tensor text_emb;      // [B * L, d]
  Tensor enc_in;        // [B, T + L, d]
  Tensor vlm_features;  // [B, T + L, d]
  Tensor aux;           // [B, (V-1) * T, d]
  Tensor proprio_m;     // F32 [B, dp] grippers zeroed
  Tensor x_t;           // F32 [B, A, da]
  Tensor tok_in;        // F32 [B, A, da + dp + dt]
  Tensor action;        // F32 [B, A, da]  the running x0 estimate; the output after post
};

}  // namespace vlart::xvla
