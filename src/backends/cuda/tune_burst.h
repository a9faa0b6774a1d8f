// SPDX-License-Identifier: Apache-2.0
//
// tune_burst.h: the timing tools of the backend's tuners (the per-shape GEMM tuner in
// linear_op.cc, LinearResidualLayerNorm's in linear_norm_op.cc).
//
// A sample is one replay of a CUDA graph of `burst` launches, divided by `burst`: inside a
// graph as in the model, so host launch costs (cuBLASLt's are several us, ours ~2 us) do not
// count, which stream bursts let through for short kernels. Median of 5 samples after one
// warm-up replay. ColdCopies gives a burst a fresh copy of the weights for each launch, so that
// as in a model, where every layer has its own weights, they come from HBM rather than from an
// L2 warmed by the previous launch (timing one hot copy picked configurations that lost in the
// model). Neither may run while the stream is being captured.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

namespace vlart::cuda {

// Median over 5 replays of a graph of `burst` calls of `launch_one` (after one warm-up
// replay), per call, in us; negative when a launch_one returned false inside the capture
// (nothing is timed then).
float TimeGraphBurst(cudaStream_t stream, int burst, const std::function<bool()>& launch_one);

// Up to `max_copies` device copies of `bytes` at `src`, enough to span ~2x the H100's 50 MB
// L2 (fewer for large matrices; none when one copy already spans it: Next() is `src` then).
class ColdCopies {
 public:
  ColdCopies(const void* src, size_t bytes, int max_copies, cudaStream_t stream);
  ~ColdCopies();
  ColdCopies(const ColdCopies&) = delete;
  ColdCopies& operator=(const ColdCopies&) = delete;
  // The next copy, round robin.
  const void* Next();

 private:
  const void* src_;
  size_t bytes_;
  int copies_ = 1;
  int next_ = 0;
  void* buffer_ = nullptr;
  cudaStream_t stream_;
};

}  // namespace vlart::cuda
