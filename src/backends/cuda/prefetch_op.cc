// SPDX-License-Identifier: Apache-2.0
//
// prefetch_op.cc: CudaBackend::Prefetch: argument checks (ops/op_checks.h), then one L2
// prefetch launch over the tensors' bytes (prefetch.cu: a leaf branch of the graph while
// capturing, so no op waits for it). CudaBackendOptions::l2_prefetch =
// false (or VLART_L2_PREFETCH=0) makes it check the arguments and launch nothing, for A/B runs.

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

static_assert(kMaxPrefetchRanges == Backend::kMaxPrefetchTensors,
              "kernel_args.h must mirror ops/backend.h");

void CudaBackend::Prefetch(std::span<const Tensor> tensors) {
  BeginOp();
  CheckPrefetchArgs(Device::kCuda, tensors);
  if (!l2_prefetch_) return;
  PrefetchArgs a;
  for (const Tensor& t : tensors) {
    if (t.numel() == 0) continue;
    a.ptr[a.count] = t.data;
    a.bytes[a.count] = static_cast<int64_t>(t.nbytes());
    ++a.count;
  }
  if (a.count == 0) return;
  LaunchPrefetchL2(a, stream_);
  ++stats_.prefetches;
  AfterOp("Prefetch");
}

}  // namespace vlart::cuda
