// SPDX-License-Identifier: Apache-2.0
//
// gemma_prefix.cc: the prefix pass (see gemma_prefix.h).

#include "models/pi0/gemma_prefix.h"

#include <fmt/format.h>

namespace vlart::pi0 {

GemmaPrefix::GemmaPrefix(const GemmaConfig& cfg, const VlmWeights& weights, Backend& backend,
                         Arena& arena, int64_t batch, int64_t len, DType dtype,
                         bool skip_dead_last_layer)
    : w_(weights),
      skip_dead_(skip_dead_last_layer),
      block_(std::make_unique<GemmaBlock>(cfg, backend, arena, batch, len, dtype)) {}

void GemmaPrefix::Forward(const Tensor& x, const Tensor& positions, const Tensor& mask,
                          const KvCache& kv, const Tracer& trace) {
  const int64_t len = x.dim(1);
  if (len == 0) return;
  const int depth = static_cast<int>(w_.layers.size());
  for (int l = 0; l < depth; ++l) {
    GemmaAttentionArgs a;
    a.positions = positions;
    a.mask = mask;
    a.k_cache = kv.k[l];
    a.v_cache = kv.v[l];
    a.kv_offset = 0;
    a.kv_len = len;
    const bool kv_only = skip_dead_ && l == depth - 1;
    block_->Forward(w_.layers[l], x, a, nullptr, nullptr, kv_only, trace,
                    l == 0 ? "vlm.layer0" : "");
    if (!kv_only && trace.active()) trace(fmt::format("vlm.layer{}", l), x);
  }
}

}  // namespace vlart::pi0
