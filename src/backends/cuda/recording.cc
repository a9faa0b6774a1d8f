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
// VLART_GRAPH_DOT=PATH writes each captured graph as Graphviz text (the last capture wins);
// VLART_GRAPH_LAUNCH_TIMING=1 prints every replay's host time in cudaGraphLaunch and the node
// count. Measured with it (H100, 2026-11-25): 650-1000 us per launch of X-VLA's 2809 nodes,
// 700-800 us for pi0's 2483; the GPU runs ahead of the submission and idles ~0.2 ms in X-VLA's
// vision (docs/PERFORMANCE.md).

#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/env_switch.h"

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

// " fused+gelu", " fused" or "" after a cuBLASLt pick's algorithm number (verbose logs).
const char* LtForm(const GemmMmaConfig& c) {
  return c.lt_gelu ? " fused+gelu" : (c.lt_fused ? " fused" : "");
}

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
    static const bool timing = EnvSwitchSet("VLART_GRAPH_LAUNCH_TIMING");
    if (!timing) {
      VLART_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
      return;
    }
    // Debug: the host time one launch takes, and the graph's size.
    const auto t0 = std::chrono::steady_clock::now();
    VLART_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    size_t nodes = 0;
    VLART_CUDA_CHECK(cudaGraphGetNodes(graph_, nullptr, &nodes));
    std::fprintf(stderr, "vlart graph launch: %zu nodes, %.1f us on the host\n", nodes, us);
  }

 private:
  cudaGraph_t graph_;
  cudaGraphExec_t exec_;
  cudaStream_t stream_;
  int device_;
};

// Captures `enqueue` on `stream` and instantiates it (Record and every near-tie trial); on
// an error nothing is left to free.
Status CaptureGraph(cudaStream_t stream, const std::function<void()>& enqueue, cudaGraph_t* graph,
                    cudaGraphExec_t* exec) {
  VLART_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  enqueue();
  *graph = nullptr;
  if (const cudaError_t end = cudaStreamEndCapture(stream, graph); end != cudaSuccess) {
    return Internal("CUDA graph capture failed: {}; hint: an op synchronised, allocated or "
                    "copied to the host while recording", cudaGetErrorString(end));
  }
  // VLART_GRAPH_DOT=PATH: the captured graph as Graphviz text (debugging what a replay runs:
  // kernel, memcpy, memset and event nodes and their edges); the last capture wins.
  if (const char* dot = std::getenv("VLART_GRAPH_DOT"); dot != nullptr && dot[0] != '\0') {
    VLART_CUDA_CHECK(cudaGraphDebugDotPrint(*graph, dot, cudaGraphDebugDotFlagsVerbose));
  }
  if (const cudaError_t inst = cudaGraphInstantiate(exec, *graph, 0); inst != cudaSuccess) {
    VLART_CUDA_CHECK(cudaGraphDestroy(*graph));
    return Internal("cudaGraphInstantiate failed: {}", cudaGetErrorString(inst));
  }
  return Status::Ok();
}

// Median ms of timed replays of `a` and `b`, alternated so that drift of the machine hits both.
std::pair<double, double> TimeGraphPair(cudaGraphExec_t a, cudaGraphExec_t b, cudaStream_t stream) {
  constexpr int kWarm = 2, kTimed = 9;
  cudaEvent_t start, stop;
  VLART_CUDA_CHECK(cudaEventCreate(&start));
  VLART_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> ta, tb;
  for (int r = 0; r < kWarm + kTimed; ++r) {
    for (int which = 0; which < 2; ++which) {
      VLART_CUDA_CHECK(cudaEventRecord(start, stream));
      VLART_CUDA_CHECK(cudaGraphLaunch(which == 0 ? a : b, stream));
      VLART_CUDA_CHECK(cudaEventRecord(stop, stream));
      VLART_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0.0f;
      VLART_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      if (r >= kWarm) (which == 0 ? ta : tb).push_back(ms);
    }
  }
  VLART_CUDA_CHECK(cudaEventDestroy(start));
  VLART_CUDA_CHECK(cudaEventDestroy(stop));
  const auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  return {median(ta), median(tb)};
}

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
  // GemmConfigFor counts this capture's GEMM calls per shape (RefineGemmPicks weighs the
  // shapes by them); eager calls and the trials' re-captures are not counted.
  gemm_calls_recorded_.clear();
  counting_gemm_calls_ = gemm_refine_;
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  const Status captured = CaptureGraph(stream_, enqueue, &graph, &exec);
  counting_gemm_calls_ = false;
  if (!captured.ok()) return captured;
  if (gemm_refine_ && !gemm_refine_candidates_.empty()) RefineGemmPicks(enqueue, &graph, &exec);
  SaveGemmTuning();  // the settled picks, for later processes (no-op without a tuning file)
  return std::unique_ptr<RecordedWork>(new CudaGraphWork(graph, exec, stream_, device_));
}

// Each GEMM shape this forward used is tried with some of the tuner's other candidates
// forced (gemm_refine_plan.h: the burst near-ties, and for the shapes that weigh most a wider
// window), inside the whole recorded forward: the bursts time a GEMM between stand-in
// neighbours, while what decides is how it runs between its real ones (X-VLA's fc2: cuBLASLt
// algorithm 5 against 2 ranked within 2% in bursts and 0.2 ms apart per forward). A candidate
// is kept only if the forward's median replay is faster by GemmRefinePolicy::keep than the
// current recording; otherwise the pick stands. Shapes go heaviest first, so the light ones
// are judged beside the heavy ones' settled picks, and once a Record has spent budget_s on
// trials it starts no further shape (batch-4 plans: 55 trials, 35 s for pi0.5 without it).
// Replays must be idempotent (every model forward here is: it recomputes from its inputs). A
// shape's candidates are dropped once tried, so a later Record (another graph of the same
// shape) does not try them again; a shape too light to try here, or left by the budget, stays
// pending for another graph.
void CudaBackend::RefineGemmPicks(const std::function<void()>& enqueue, cudaGraph_t* graph,
                                  cudaGraphExec_t* exec) {
  std::vector<std::pair<float, GemmTuneKey>> shapes;  // (cost us per forward, shape)
  for (const auto& [key, others] : gemm_refine_candidates_) {
    const auto calls = gemm_calls_recorded_.find(key);
    const auto pick = gemm_pick_us_.find(key);
    if (calls == gemm_calls_recorded_.end() || pick == gemm_pick_us_.end()) continue;  // not in this graph
    shapes.emplace_back(pick->second * static_cast<float>(calls->second), key);
  }
  std::sort(shapes.begin(), shapes.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const auto t0 = std::chrono::steady_clock::now();
  int trials = 0, kept_count = 0;
  int shapes_left = static_cast<int>(shapes.size());
  for (const auto& [cost_us, key] : shapes) {
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (spent > gemm_refine_policy_.budget_s) {
      if (gemm_verbose_) {
        std::fprintf(stderr, "vlart gemm refine: budget of %.0f s spent, %d lighter shapes left as picked\n",
                     gemm_refine_policy_.budget_s, shapes_left);
      }
      break;
    }
    --shapes_left;
    const std::vector<GemmMmaConfig> tries =
        GemmRefineTrials(gemm_refine_candidates_[key], cost_us, gemm_refine_policy_);
    if (tries.empty()) continue;  // too light here; another graph may weigh it more
    gemm_refine_candidates_.erase(key);
    for (const GemmMmaConfig& tie : tries) {
      const GemmMmaConfig kept = gemm_configs_[key];
      gemm_configs_[key] = tie;
      cudaGraph_t g = nullptr;
      cudaGraphExec_t e = nullptr;
      if (!CaptureGraph(stream_, enqueue, &g, &e).ok()) {
        gemm_configs_[key] = kept;
        continue;
      }
      const auto [base_ms, tie_ms] = TimeGraphPair(*exec, e, stream_);
      const bool better = tie_ms < base_ms * (1.0 - gemm_refine_policy_.keep);
      if (gemm_verbose_) {
        std::fprintf(stderr,
                     "vlart gemm refine %dx%dx%d (%.0f us/forward): tile %d splits %d algo %d%s -> "
                     "tile %d splits %d algo %d%s: forward %.3f -> %.3f ms (%s)\n",
                     std::get<0>(key), std::get<1>(key), std::get<2>(key), cost_us, kept.tile,
                     kept.splits, kept.lt_algo, LtForm(kept), tie.tile, tie.splits, tie.lt_algo,
                     LtForm(tie), base_ms, tie_ms, better ? "kept" : "not kept");
      }
      ++trials;
      ++stats_.gemm_refine_trials;
      if (better) {
        ++kept_count;
        ++stats_.gemm_refine_kept;
        VLART_CUDA_CHECK(cudaGraphExecDestroy(*exec));
        VLART_CUDA_CHECK(cudaGraphDestroy(*graph));
        *graph = g;
        *exec = e;
      } else {
        gemm_configs_[key] = kept;
        VLART_CUDA_CHECK(cudaGraphExecDestroy(e));
        VLART_CUDA_CHECK(cudaGraphDestroy(g));
      }
    }
  }
  if (gemm_verbose_ && trials > 0) {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "vlart gemm refine: %d candidates of %zu shapes tried in %.1f s, %d kept\n",
                 trials, shapes.size(), s, kept_count);
  }
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
