// SPDX-License-Identifier: Apache-2.0
//
// normal_fill.cc: chunked Box-Muller noise identical to Rng::Normal (see the header).

#include "core/normal_fill.h"

#include <algorithm>

#include "core/rng.h"

namespace vlart {

void NormalFill::Start(uint64_t seed, float* out, int64_t n) {
  out_ = out;
  n_ = n;
  uniforms_.resize(static_cast<size_t>(2 * pairs()));
  Rng rng(seed);
  for (int64_t p = 0; p < pairs(); ++p) rng.NextPairUniforms(&uniforms_[2 * p], &uniforms_[2 * p + 1]);
}

void NormalFill::RunChunk(int chunk) const {
  const int64_t begin = int64_t{chunk} * kChunkPairs;
  const int64_t end = std::min(pairs(), begin + kChunkPairs);
  for (int64_t p = begin; p < end; ++p) {
    const Rng::NormalPair v = Rng::BoxMuller(uniforms_[2 * p], uniforms_[2 * p + 1]);
    out_[2 * p] = static_cast<float>(v.first);
    if (2 * p + 1 < n_) out_[2 * p + 1] = static_cast<float>(v.second);
  }
}

void FillNormals(uint64_t seed, float* out, int64_t n, WorkerPool* pool) {
  NormalFill fill;
  fill.Start(seed, out, n);
  if (pool == nullptr) {
    for (int c = 0; c < fill.num_chunks(); ++c) fill.RunChunk(c);
    return;
  }
  pool->Run(fill.num_chunks(), [&](int chunk, int) { fill.RunChunk(chunk); });
}

}  // namespace vlart
