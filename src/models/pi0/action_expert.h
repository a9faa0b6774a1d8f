// SPDX-License-Identifier: Apache-2.0
//
// action_expert.h: the suffix (state / action tokens) and the Gemma action expert, one
// Euler step at a time: v_t = f(x_t, t).
//
// openpi PI0Pytorch.embed_suffix + denoise_step (models_pytorch/pi0_pytorch.py):
//   time_emb = sincos(t)                                   (pi0_schedule.h)
//   pi0:   tokens = [state_proj(state), action_time_mlp_out(swish(action_time_mlp_in(
//                     concat[action_in_proj(x_t), time_emb])))]      S = 1 + H
//          suffix ar mask [1, 1, 0, ...]: the state token sees the prefix and itself,
//          actions see the prefix, the state and each other
//   pi0.5: tokens = action_in_proj(x_t)                    S = H, ar [1, 0, ...]
//          cond = swish(time_mlp_out(swish(time_mlp_in(time_emb)))); every expert norm
//          is adaRMS with [scale, shift, gate] = Dense(cond) (gemma_block.h)
//   expert layers over the tokens, keys = [prefix K/V ; suffix K/V], positions
//   sum(prefix pad) + arange(S); final (ada)RMSNorm; last H rows -> action_out_proj.
// The action path (projections, time MLPs, modulation denses) is f32; the expert blocks
// run in the compute dtype.
//
// Shortcuts (ExpertOptions; tests/models/pi0_golden_test.cc proves each):
//   cache_state_token (pi0): the state token attends only to the prefix and itself, so
//     its per-layer hidden states and K/V are the same at every step. Begin() runs it
//     through the expert once (its last layer only to K/V) and writes its K/V at cache
//     row L; each step then runs the H action tokens alone. Bit-identical on the CPU
//     reference: the removed keys had softmax weight exactly 0 (exp of the finite
//     -2.38e38 mask underflows to +0) and every kept product is the same operation.
//   fold_time_path: the time path depends only on t, i.e. on the step index.
//     pi0.5: cond(t_k) and every adaRMS modulation Dense(cond) are computed for all
//       steps when the plan is built, then read per step. Bit-identical (same ops, one
//       row per step instead of one per sample).
//     pi0: action_time_mlp_in(concat[a, tau]) = W_a a + (W_t tau + b): the bracket is a
//       per-step bias computed at plan time. NOT bit-identical: the f32 dot product over
//       [a, tau] is split into two sums, so the pre-activation differs by rounding only
//       (|diff| <= 2 gamma_{2We+1} (sum |w z| + |b|), checked by the tests).
#pragma once

#include <memory>
#include <vector>

#include "models/common/trace.h"
#include "models/pi0/gemma_block.h"
#include "models/pi0/gemma_prefix.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "ops/backend.h"

namespace vlart::pi0 {

struct ExpertOptions {
  bool cache_state_token = true;
  bool fold_time_path = true;
};

class ActionExpert {
 public:
  // Buffers for `batch` samples after a prefix of `prefix_len` rows and `steps` Euler
  // steps. Enqueues the step tables (time embeddings; folded time path) right away:
  // they depend on t only, not on the inputs.
  ActionExpert(const Pi0Config& cfg, const Pi0Weights& weights, Backend& backend, Arena& arena,
               int64_t batch, int64_t prefix_len, int steps, const ExpertOptions& options,
               DType dtype);

  // Once per call, before the steps. state F32 [B, A] (pi0; unused by pi0.5);
  // positions I32 [B, S]; mask F32 [B, S, L + S] (S = cfg.suffix_len()).
  // Trace: "expert.state.layer{l}" (pi0 with the state cache).
  void Begin(const Tensor& state, const KvCache& kv, const Tensor& positions, const Tensor& mask,
             const Tracer& trace);

  // Step k: x_t F32 [B, H, A] -> v_t F32 [B, H, A]. Trace "step{k}.time_emb",
  // ".suffix_embs", ".action_time_pre" (pi0), ".adarms_cond" (pi0.5), and for k = 0
  // "step0.action_emb" (pi0), "step0.expert.layer{l}", "step0.expert.layer0.*",
  // "step0.expert.final_norm" ([B, H, We]: the action rows).
  void Step(int k, const Tensor& x_t, const Tensor& v_t, const KvCache& kv,
            const Tensor& positions, const Tensor& mask, const Tracer& trace);

  int steps() const { return steps_; }
  const std::vector<float>& times() const { return times_; }

 private:
  struct Site {  // one adaRMS norm site: [scale | shift | gate] rows
    Tensor table;  // [steps, 3We] compute dtype (folded) or [B, 3We] (per step)
    Tensor f32;    // [steps or B, 3We] f32 staging
  };
  void BuildTimeTables();
  void ComputeStepModulations(int k);                  // unfolded pi0.5
  AdaModulation Modulation(const Site& site, int k) const;
  // Runs the expert's layers over x. With adaRMS (pi0.5) and no tracer, each layer's MLP
  // residual is fused with the next layer's input norm (AdaChain), and with the final norm
  // into `final_out` when `final_ada` is given (then the caller skips that norm).
  void RunLayers(const Tensor& x, const Tensor& positions, const Tensor& mask, int64_t kv_offset,
                 int64_t kv_len, const KvCache& kv, int k, bool state_pass, const Tracer& trace,
                 const AdaModulation* final_ada = nullptr, const Tensor& final_out = Tensor());

  const Pi0Config& cfg_;
  const Pi0Weights& w_;
  Backend& be_;
  int64_t batch_, prefix_len_;
  std::vector<float> times_;  // t of every step (openpi's float32 schedule)
  int steps_;                 // loop iterations = times_.size()
  ExpertOptions opt_;
  int64_t s_full_;  // suffix tokens per step in openpi (1 + H or H)
  int64_t s_run_;   // tokens run per step here (H when the state token is cached)
  std::unique_ptr<GemmaBlock> block_;

  Tensor temb_;         // F32 [steps, We]    time embedding of every step
  Tensor time_bias_;    // F32 [steps, We]    pi0 folded: W_t tau_k + b
  Tensor cond_table_;   // F32 [steps, We]    pi0.5 folded: cond(t_k)
  Tensor time_tmp_;     // F32 [max(steps, B), We]
  Tensor cond_;         // F32 [B, We]        pi0.5 unfolded: this step's cond
  Tensor temb_rows_;    // F32 [B, We]        this step's time embedding per sample
  std::vector<Site> sites_;  // pi0.5: 2 per layer (input, post) + the final norm
  Tensor suffix_;       // F32 [B, S_full, We]  suffix embeddings (row 0: pi0 state token)
  Tensor action_emb_;   // F32 [B * H, We]
  Tensor cat_;          // F32 [B * H, 2We]  pi0 unfolded: [action_emb, time_emb]
  Tensor hmid_;         // F32 [B * H, We]   pi0 action-time MLP hidden
  Tensor atm_out_;      // F32 [B * H, We]
  Tensor stream_;       // [B, S_run, We] compute dtype: the expert's residual stream
  Tensor state_stream_; // [B, 1, We]  pi0 cached state token
  Tensor final_;        // [B, H, We]  compute dtype
  Tensor final_f32_;    // F32 [B * H, We]
};

}  // namespace vlart::pi0
