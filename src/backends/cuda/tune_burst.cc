// SPDX-License-Identifier: Apache-2.0
//
// tune_burst.cc: see tune_burst.h.

#include "backends/cuda/tune_burst.h"

#include <algorithm>
#include <vector>

#include "backends/cuda/cuda_check.h"

namespace vlart::cuda {

float TimeGraphBurst(cudaStream_t stream, int burst, const std::function<bool()>& launch_one) {
  bool all_ran = true;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  VLART_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  for (int b = 0; b < burst; ++b) all_ran = launch_one() && all_ran;
  VLART_CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  if (!all_ran) {  // nothing to time
    VLART_CUDA_CHECK(cudaGraphDestroy(graph));
    return -1.0f;
  }
  cudaEvent_t start, stop;
  VLART_CUDA_CHECK(cudaEventCreate(&start));
  VLART_CUDA_CHECK(cudaEventCreate(&stop));
  VLART_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  VLART_CUDA_CHECK(cudaGraphLaunch(exec, stream));  // warm-up
  std::vector<float> us;
  for (int i = 0; i < 5; ++i) {
    VLART_CUDA_CHECK(cudaEventRecord(start, stream));
    VLART_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    VLART_CUDA_CHECK(cudaEventRecord(stop, stream));
    VLART_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    VLART_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    us.push_back(ms * 1000.0f / static_cast<float>(burst));
  }
  VLART_CUDA_CHECK(cudaGraphExecDestroy(exec));
  VLART_CUDA_CHECK(cudaGraphDestroy(graph));
  VLART_CUDA_CHECK(cudaEventDestroy(start));
  VLART_CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

ColdCopies::ColdCopies(const void* src, size_t bytes, int max_copies, cudaStream_t stream)
    : src_(src), bytes_(bytes), stream_(stream) {
  constexpr size_t kColdBytes = size_t{96} << 20;  // ~2x the H100's 50 MB L2
  if (bytes == 0) return;
  copies_ = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(max_copies, 1)),
                                              (kColdBytes + bytes - 1) / bytes));
  if (copies_ <= 1) return;
  VLART_CUDA_CHECK(cudaMalloc(&buffer_, bytes * static_cast<size_t>(copies_)));
  for (int c = 0; c < copies_; ++c) {
    VLART_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(buffer_) + bytes * static_cast<size_t>(c), src,
                                     bytes, cudaMemcpyDeviceToDevice, stream));
  }
}

ColdCopies::~ColdCopies() {
  if (buffer_ == nullptr) return;
  VLART_CUDA_CHECK_TEARDOWN(cudaStreamSynchronize(stream_));
  VLART_CUDA_CHECK_TEARDOWN(cudaFree(buffer_));
}

const void* ColdCopies::Next() {
  if (buffer_ == nullptr) return src_;
  const void* p = static_cast<const char*>(buffer_) + bytes_ * static_cast<size_t>(next_);
  next_ = (next_ + 1) % copies_;
  return p;
}

}  // namespace vlart::cuda
