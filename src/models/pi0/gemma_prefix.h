// SPDX-License-Identifier: Apache-2.0
//
// gemma_prefix.h: the PaliGemma language model over the prefix (images + prompt),
// producing the per-layer K/V cache the action expert attends to.
//
// openpi (pi0_pytorch.py sample_actions): one pass of paligemma.language_model over
// the prefix embeddings with the 2-D prefix mask (bidirectional among valid tokens) and
// positions cumsum(pad) - 1; the hidden outputs are discarded, only K (after RoPE) and
// V of every layer are kept. So the last layer's attention output, o_proj, MLP and the
// final norm are dead: with `skip_dead_last_layer` the last layer stops after its K/V
// (exact: nothing that is kept depends on what is skipped).
#pragma once

#include <memory>
#include <vector>

#include "models/common/trace.h"
#include "models/pi0/gemma_block.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_weights.h"
#include "ops/backend.h"

namespace vlart::pi0 {

// The K/V cache: per layer, the L prefix rows followed by room for the suffix rows the
// expert writes each step, so one contiguous key range serves its attention.
struct KvCache {
  std::vector<Tensor> k;  // per layer [B, L + S, Hkv, D]   K after RoPE
  std::vector<Tensor> v;  // per layer [B, L + S, Hkv, D]
  int64_t prefix_len = 0;  // L
};

class GemmaPrefix {
 public:
  GemmaPrefix(const GemmaConfig& cfg, const VlmWeights& weights, Backend& backend, Arena& arena,
              int64_t batch, int64_t len, DType dtype, bool skip_dead_last_layer);

  // x [B, L, W]: the prefix embeddings, used as the residual stream (overwritten).
  // positions I32 [B, L]; mask F32 [B, L, L] additive. Writes rows [0, L) of every
  // layer's K/V. Trace: "vlm.layer{l}" [B, L, W] (not the last layer when it is
  // skipped), "vlm.layer0.{input_norm,attn_out,post_norm,mlp_out}".
  void Forward(const Tensor& x, const Tensor& positions, const Tensor& mask, const KvCache& kv,
               const Tracer& trace);

 private:
  const VlmWeights& w_;
  bool skip_dead_;
  std::unique_ptr<GemmaBlock> block_;
};

}  // namespace vlart::pi0
