// SPDX-License-Identifier: Apache-2.0
//
// recording.cc: CUDA-graph recording (Backend::Record), the event-based StageClock and
// the memory count of the CUDA backend.
//
// Record captures everything `enqueue` issues on the backend's stream with
// cudaStreamBeginCapture (thread-local mode: other threads' CUDA calls are not
// affected) and instantiates it once; Replay is one cudaGraphLaunch. Marks taken while
// capturing are recorded with cudaEventRecordExternal, which makes them event nodes of
// the graph, so replays keep timing the stages.
//
// VLART_CUDA_PROFILE_REPLAY=N (1-based, counted over every graph of the process) wraps the
// Nth replay in cudaProfilerStart/Stop, synchronised on both sides, so that a profiler run
// with its capture off at start (`ncu --profile-from-start off`) sees exactly one replay:
// the per-kernel time of one whole forward as the graph runs it (scripts/device_session.sh
// step `kprof`, tools/ncu_kernel_report.py).

#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>

#include <atomic>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"

namespace vlart::cuda {
namespace {

// The replay number (1-based) that VLART_CUDA_PROFILE_REPLAY asks to profile; 0: none.
long ProfiledReplay() {
  static const long n = [] {
    const char* v = std::getenv("VLART_CUDA_PROFILE_REPLAY");
    return v == nullptr ? 0L : std::strtol(v, nullptr, 10);
  }();
  return n;
}
std::atomic<long> g_replays{0};

class CudaGraphWork final : public RecordedWork {
 public:
  CudaGraphWork(cudaGraph_t graph, cudaGraphExec_t exec, cudaStream_t stream, int device)
      : graph_(graph), exec_(exec), stream_(stream), device_(device) {}
  ~CudaGraphWork() override {
    VLART_CUDA_CHECK_TEARDOWN(cudaGraphExecDestroy(exec_));
    VLART_CUDA_CHECK_TEARDOWN(cudaGraphDestroy(graph_));
  }
  void Replay() override {
    VLART_CUDA_CHECK(cudaSetDevice(device_));
    const long profiled = ProfiledReplay();
    if (profiled > 0 && ++g_replays == profiled) {
      VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
      VLART_CUDA_CHECK(cudaProfilerStart());
      VLART_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
      VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
      VLART_CUDA_CHECK(cudaProfilerStop());
      return;
    }
    VLART_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  }

 private:
  cudaGraph_t graph_;
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
  int device_;
};

class EventStageClock final : public StageClock {
 public:
  EventStageClock(int n, cudaStream_t stream) : events_(n), stream_(stream) {
    for (cudaEvent_t& e : events_) VLART_CUDA_CHECK(cudaEventCreate(&e));
  }
  ~EventStageClock() override {
    for (cudaEvent_t e : events_) VLART_CUDA_CHECK_TEARDOWN(cudaEventDestroy(e));
  }
  int num_marks() const override { return static_cast<int>(events_.size()); }
  void Mark(int index) override {
    VLART_CHECK(index >= 0 && index < num_marks(), "StageClock: mark {} of {}", index, num_marks());
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    VLART_CUDA_CHECK(cudaStreamIsCapturing(stream_, &status));
    if (status == cudaStreamCaptureStatusActive) {
      VLART_CUDA_CHECK(cudaEventRecordWithFlags(events_[index], stream_, cudaEventRecordExternal));
    } else {
      VLART_CUDA_CHECK(cudaEventRecord(events_[index], stream_));
    }
  }
  double ElapsedMs(int from, int to) const override {
    VLART_CHECK(from >= 0 && from < num_marks() && to >= 0 && to < num_marks(),
                "StageClock: marks {}..{} of {}", from, to, num_marks());
    float ms = 0.0f;
    VLART_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[from], events_[to]));
    return ms;
  }

 private:
  std::vector<cudaEvent_t> events_;
  cudaStream_t stream_;
};

}  // namespace

Result<std::unique_ptr<RecordedWork>> CudaBackend::Record(const std::function<void()>& enqueue) {
  BeginOp();
  VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
  VLART_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  enqueue();
  cudaGraph_t graph = nullptr;
  const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
  if (end != cudaSuccess) {
    return Internal("CUDA graph capture failed: {}; hint: an op synchronised, allocated or "
                    "copied to the host while recording", cudaGetErrorString(end));
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
  if (inst != cudaSuccess) {
    VLART_CUDA_CHECK(cudaGraphDestroy(graph));
    return Internal("cudaGraphInstantiate failed: {}", cudaGetErrorString(inst));
  }
  return std::unique_ptr<RecordedWork>(new CudaGraphWork(graph, exec, stream_, device_));
}

std::unique_ptr<StageClock> CudaBackend::NewStageClock(int num_marks) {
  BeginOp();
  return std::make_unique<EventStageClock>(num_marks, stream_);
}

size_t CudaBackend::bytes_in_use() const {
  return arena_reserved_->load() + scratch_bytes_ + workspace_bytes_ +
         2 * kGemmWorkspaceFloats * sizeof(float) + kGemmCounters * sizeof(int);
}

}  // namespace vlart::cuda

namespace vlart {

std::string CudaDeviceDescription(int device) {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, device) != cudaSuccess) return "unknown CUDA device";
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  return fmt::format("{} (sm_{}{}, {} SMs, {:.1f} GiB), driver {}.{}, runtime {}.{}", p.name,
                     p.major, p.minor, p.multiProcessorCount,
                     static_cast<double>(p.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0),
                     driver / 1000, (driver % 1000) / 10, runtime / 1000, (runtime % 1000) / 10);
}

}  // namespace vlart
