// SPDX-License-Identifier: Apache-2.0
//
// prefetch_op.cc: CudaBackend::Prefetch: argument checks (ops/op_checks.h), then one L2
// prefetch launch over the tensors' bytes (prefetch.cu) on a side branch of the graph being
// captured: the side stream waits for the work enqueued so far, runs the prefetch, and Record
// joins it back just before the capture ends (JoinPrefetchBranch). No op after the hint waits
// for it. Outside a capture (eager calls) the hint only checks its arguments: an unjoined
// side stream there could still be reading when the caller frees the memory.
// CudaBackendOptions::l2_prefetch / VLART_L2_PREFETCH=1|0 switch it on and off (A/B runs).

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

static_assert(kMaxPrefetchRanges == Backend::kMaxPrefetchTensors,
              "kernel_args.h must mirror ops/backend.h");

void CudaBackend::Prefetch(std::span<const Tensor> tensors) {
  BeginOp();
  CheckPrefetchArgs(Device::kCuda, tensors);
  if (!l2_prefetch_) return;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  VLART_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capture));
  if (capture != cudaStreamCaptureStatusActive) return;
  PrefetchArgs a;
  for (const Tensor& t : tensors) {
    if (t.numel() == 0) continue;
    a.ptr[a.count] = t.data;
    a.bytes[a.count] = static_cast<int64_t>(t.nbytes());
    ++a.count;
  }
  if (a.count == 0) return;
  // Fork: the side stream joins the capture behind everything enqueued on stream_ so far.
  VLART_CUDA_CHECK(cudaEventRecord(prefetch_fork_, stream_));
  VLART_CUDA_CHECK(cudaStreamWaitEvent(prefetch_stream_, prefetch_fork_, 0));
  LaunchPrefetchL2(a, prefetch_stream_);
  prefetch_branch_open_ = true;
  ++stats_.prefetches;
  AfterOp("Prefetch");
}

void CudaBackend::JoinPrefetchBranch() {
  if (!prefetch_branch_open_) return;
  VLART_CUDA_CHECK(cudaEventRecord(prefetch_join_, prefetch_stream_));
  VLART_CUDA_CHECK(cudaStreamWaitEvent(stream_, prefetch_join_, 0));
  prefetch_branch_open_ = false;
}

}  // namespace vlart::cuda
