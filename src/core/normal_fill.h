// SPDX-License-Identifier: Apache-2.0
//
// normal_fill.h: the initial noise of a policy call, split into chunks for worker threads.
//
// NormalFill writes exactly the floats that
//   Rng rng(seed); for (int64_t i = 0; i < n; ++i) out[i] = rng.Normal();
// writes (core/rng.h), bit for bit. Start() draws all the uniforms in stream order (cheap:
// xoshiro256**), then the Box-Muller transforms (log, sqrt, sin, cos: most of the time)
// run per chunk, in any order and on any thread: chunk k fills pairs [k * kChunkPairs,
// ...), i.e. out[2 * pair] and out[2 * pair + 1], from its own uniforms only.
#pragma once

#include <cstdint>
#include <vector>

#include "core/worker_pool.h"

namespace vlart {

class NormalFill {
 public:
  static constexpr int kChunkPairs = 128;

  // out: [n] floats, written by the chunks; it must stay valid until they have run.
  void Start(uint64_t seed, float* out, int64_t n);
  int num_chunks() const { return static_cast<int>((pairs() + kChunkPairs - 1) / kChunkPairs); }
  void RunChunk(int chunk) const;

 private:
  int64_t pairs() const { return (n_ + 1) / 2; }
  float* out_ = nullptr;
  int64_t n_ = 0;
  std::vector<double> uniforms_;  // [pairs, 2] (u1, u2) per pair
};

// Start + every chunk, on `pool` when given (else on the caller).
void FillNormals(uint64_t seed, float* out, int64_t n, WorkerPool* pool = nullptr);

}  // namespace vlart
