// SPDX-License-Identifier: Apache-2.0
//
// cuda_graph_test.cc: ops are graph-capturable. A chain of ops (Prefetch hints, Linear with
// GELU, LayerNorm, Attention on fused-qkv views, depthwise Conv2d with residual, DomainLinear,
// Copy) is captured on the backend's stream into a CUDA graph; replays must reproduce the eager
// results bit for bit (same kernels, same cuBLASLt algorithms, deterministic reductions), and a
// DomainLinear replay must follow new domain ids uploaded between replays (ids stay on the
// device). The Prefetch hint writes nothing and is captured as a leaf branch of the graph.
// Record's GEMM refinement keeps its recording and its pick together.

#include <cuda_runtime_api.h>
#include <fmt/format.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <filesystem>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_backend_internal.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

#define EXPECT_CUDA_OK(expr) ASSERT_EQ((expr), cudaSuccess) << #expr

struct Chain {
  Twin x, w1, b1, gamma, beta, qkv, dw, dwb, img, xd, table, bias_table, ids, dense, cqkv;
  Tensor h1, ln, attn, conv, dom, copy, conv2, chan;
  std::vector<const Tensor*> outputs() const { return {&h1, &ln, &attn, &conv, &dom, &copy, &conv2, &chan}; }
};

void RunChain(Backend& be, const Chain& c) {
  const Tensor weights[] = {c.w1.dev, c.dense.dev, c.table.dev};
  be.Prefetch(weights);  // a hint: must not disturb anything around it
  be.Linear(c.x.dev, c.w1.dev, &c.b1.dev, Activation::kGeluTanh, nullptr, c.h1);
  const Tensor just_written[] = {c.h1};
  be.Prefetch(just_written);
  be.LayerNorm(c.h1, c.gamma.dev, c.beta.dev, 1e-5f, c.ln);
  be.Attention(c.qkv.dev.Select(2, 0), c.qkv.dev.Select(2, 1), c.qkv.dev.Select(2, 2), nullptr, 0.125f, c.attn);
  be.Conv2d(c.img.dev, c.dw.dev, &c.dwb.dev, Conv2dParams{1, 1, 32}, &c.img.dev, c.conv);
  be.DomainLinear(c.xd.dev, c.table.dev, c.bias_table.dev, c.ids.dev, c.dom);
  be.Copy(c.attn.Permute({0, 2, 1, 3}), c.copy);
  be.Conv2d(c.img.dev, c.dense.dev, nullptr, Conv2dParams{2, 1, 1}, nullptr, c.conv2);
  be.ChannelAttention(c.cqkv.dev.Select(2, 0), c.cqkv.dev.Select(2, 1), c.cqkv.dev.Select(2, 2), 0.05f, c.chan);
}

std::vector<std::vector<unsigned char>> Snapshot(Backend& be, const Chain& c) {
  std::vector<std::vector<unsigned char>> out;
  for (const Tensor* t : c.outputs()) {
    HostTensor h(t->dtype, t->shape);
    be.Download(*t, h.view());
    out.emplace_back(static_cast<unsigned char*>(h.view().data),
                     static_cast<unsigned char*>(h.view().data) + h.nbytes());
  }
  return out;
}

void Poison(Backend& be, const Chain& c) {
  for (const Tensor* t : c.outputs()) be.Fill(*t, -7.0f);
}

Chain MakeChain(Backend& be, Arena& arena, DType dt, uint64_t seed) {
  Chain c;
  c.x = RandomTwin(be, arena, Shape{19, 64}, dt, seed);
  c.w1 = RandomTwin(be, arena, Shape{96, 64}, dt, seed + 1);
  c.b1 = RandomTwin(be, arena, Shape{96}, dt, seed + 2);
  c.gamma = RandomTwin(be, arena, Shape{96}, dt, seed + 3);
  c.beta = RandomTwin(be, arena, Shape{96}, dt, seed + 4);
  c.qkv = RandomTwin(be, arena, Shape{2, 70, 3, 4, 64}, dt, seed + 5);
  c.dw = RandomTwin(be, arena, Shape{32, 1, 3, 3}, dt, seed + 6);
  c.dwb = RandomTwin(be, arena, Shape{32}, dt, seed + 7);
  c.img = RandomTwin(be, arena, Shape{2, 9, 9, 32}, dt, seed + 8);
  c.xd = RandomTwin(be, arena, Shape{2, 30, 72}, dt, seed + 9);
  c.table = RandomTwin(be, arena, Shape{5, 72 * 20}, dt, seed + 10);
  c.bias_table = RandomTwin(be, arena, Shape{5, 20}, dt, seed + 11);
  c.ids = IntTwin(be, arena, {3, 1}, Shape{2});
  c.h1 = arena.Allocate(Shape{19, 96}, dt);
  c.ln = arena.Allocate(Shape{19, 96}, dt);
  c.attn = arena.Allocate(Shape{2, 70, 4, 64}, dt);
  c.conv = arena.Allocate(Shape{2, 9, 9, 32}, dt);
  c.dom = arena.Allocate(Shape{2, 30, 20}, dt);
  c.copy = arena.Allocate(Shape{2, 4, 70, 64}, dt);
  c.dense = RandomTwin(be, arena, Shape{16, 32, 3, 3}, dt, seed + 12);
  c.cqkv = RandomTwin(be, arena, Shape{2, 300, 3, 4, 32}, dt, seed + 13);
  c.conv2 = arena.Allocate(Shape{2, 5, 5, 16}, dt);
  c.chan = arena.Allocate(Shape{2, 300, 4, 32}, dt);
  return c;
}

VLART_PARITY_SUITE(CudaGraphCapture);

TEST_P(CudaGraphCapture, ReplayMatchesEagerBitForBit) {
  VLART_REQUIRE_REAL_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(4000);
  SCOPED_TRACE(SeedNote(seed));
  Chain c = MakeChain(cuda, *arena, dt, seed);
  RunChain(cuda, c);  // eager (also warms cuBLASLt's plan cache)
  const auto eager = Snapshot(cuda, c);

  cudaStream_t stream = cuda::StreamOf(cuda);
  cudaGraph_t graph = nullptr;
  EXPECT_CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  RunChain(cuda, c);
  EXPECT_CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  EXPECT_CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  for (int replay = 0; replay < 2; ++replay) {
    Poison(cuda, c);
    EXPECT_CUDA_OK(cudaGraphLaunch(exec, stream));
    cuda.Synchronize();
    const auto got = Snapshot(cuda, c);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(got[i] == eager[i]) << "output " << i << " replay " << replay;
  }

  // New domain ids between replays: the captured DomainLinear reads them from the device.
  const std::vector<int32_t> new_ids = {0, 4};
  HostTensor ids_host(DType::kI32, Shape{2});
  std::memcpy(ids_host.data<int32_t>(), new_ids.data(), sizeof(int32_t) * 2);
  cuda.Upload(ids_host.view(), c.ids.dev);
  Poison(cuda, c);
  EXPECT_CUDA_OK(cudaGraphLaunch(exec, stream));
  cuda.Synchronize();
  const auto replayed = Snapshot(cuda, c);
  RunChain(cuda, c);
  const auto eager_new = Snapshot(cuda, c);
  EXPECT_TRUE(replayed[4] == eager_new[4]) << "DomainLinear replay with new ids";
  EXPECT_FALSE(eager_new[4] == eager[4]) << "new domain ids should change the DomainLinear output";
  EXPECT_CUDA_OK(cudaGraphExecDestroy(exec));
  EXPECT_CUDA_OK(cudaGraphDestroy(graph));
}

// Prefetch writes nothing (the bytes of a prefetched buffer and its neighbours stay as they
// were), launches one kernel per call that has bytes to fetch, and launches nothing with
// CudaBackendOptions::l2_prefetch = false.
TEST(CudaPrefetch, WritesNothingAndCanBeSwitchedOff) {
  VLART_REQUIRE_REAL_CUDA();
  for (bool on : {true, false}) {
    SCOPED_TRACE(on ? "l2_prefetch on" : "l2_prefetch off");
    CudaBackendOptions options;
    options.l2_prefetch = on;
    Result<std::unique_ptr<Backend>> created = CreateCudaBackend(options);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Backend& be = **created;
    auto arena = be.NewArena();
    // 3 MB + an odd tail (not a whole 128-byte line), between two guarded neighbours.
    const uint64_t seed = TestSeed(4200);
    SCOPED_TRACE(SeedNote(seed));
    const Twin before = RandomTwin(be, *arena, Shape{1000}, DType::kF32, seed);
    const Twin big = RandomTwin(be, *arena, Shape{786433}, DType::kF32, seed + 1);
    const Twin after = RandomTwin(be, *arena, Shape{1000}, DType::kBF16, seed + 2);
    const Tensor empty = big.dev.Slice(0, 0, 0);
    const Tensor ranges[] = {big.dev, empty, before.dev};
    auto bytes_of = [&be](const Twin& t) {
      HostTensor h(t.dev.dtype, t.dev.shape);
      be.Download(t.dev, h.view());
      const auto* p = static_cast<const unsigned char*>(h.view().data);
      return std::vector<unsigned char>(p, p + h.nbytes());
    };
    const auto want = std::vector{bytes_of(before), bytes_of(big), bytes_of(after)};
    cuda::ResetStats(be);
    be.Prefetch(ranges);
    be.Prefetch({});
    be.Synchronize();
    EXPECT_EQ(cuda::StatsOf(be).prefetches, on ? 1 : 0);
    const auto got = std::vector{bytes_of(before), bytes_of(big), bytes_of(after)};
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i] == want[i]) << "buffer " << i << " changed under Prefetch";
    }
    arena.reset();
  }
}

// Inside a capture the hint is a leaf branch: one more kernel node, one that nothing depends
// on, so the ops after the hint do not wait for it. Switched off, the same capture has neither.
TEST(CudaPrefetch, CapturedAsALeafBranch) {
  VLART_REQUIRE_REAL_CUDA();
  struct Shape_ {
    size_t nodes = 0, leaves = 0;
  };
  auto capture = [](bool on) -> Shape_ {
    CudaBackendOptions options;
    options.l2_prefetch = on;
    Result<std::unique_ptr<Backend>> created = CreateCudaBackend(options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return {};
    Backend& be = **created;
    auto arena = be.NewArena();
    const uint64_t seed = TestSeed(4300);
    const Twin x = RandomTwin(be, *arena, Shape{8, 64}, DType::kBF16, seed);
    const Twin w = RandomTwin(be, *arena, Shape{64, 64}, DType::kBF16, seed + 1);
    const Twin gamma = RandomTwin(be, *arena, Shape{64}, DType::kBF16, seed + 2);
    const Twin beta = RandomTwin(be, *arena, Shape{64}, DType::kBF16, seed + 3);
    const Tensor h = arena->Allocate(Shape{8, 64}, DType::kBF16);
    const Tensor ln = arena->Allocate(Shape{8, 64}, DType::kBF16);
    const Tensor ahead[] = {w.dev, gamma.dev};
    auto run = [&] {
      be.Linear(x.dev, w.dev, nullptr, Activation::kNone, nullptr, h);
      be.Prefetch(ahead);
      be.LayerNorm(h, gamma.dev, beta.dev, 1e-5f, ln);
    };
    run();  // eager first: the GEMM tuner runs outside the capture
    be.Synchronize();
    cudaStream_t stream = cuda::StreamOf(be);
    cudaGraph_t graph = nullptr;
    EXPECT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), cudaSuccess);
    run();
    EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
    Shape_ got;
    if (graph == nullptr) return got;
    EXPECT_EQ(cudaGraphGetNodes(graph, nullptr, &got.nodes), cudaSuccess);
    std::vector<cudaGraphNode_t> nodes(got.nodes);
    EXPECT_EQ(cudaGraphGetNodes(graph, nodes.data(), &got.nodes), cudaSuccess);
    for (cudaGraphNode_t n : nodes) {
      size_t dependents = 0;
      EXPECT_EQ(cudaGraphNodeGetDependentNodes(n, nullptr, nullptr, &dependents), cudaSuccess);
      if (dependents == 0) ++got.leaves;
    }
    // The graph with its leaf branch runs (the prefetch kernel launches and completes).
    cudaGraphExec_t exec = nullptr;
    EXPECT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
    EXPECT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
    EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
    return got;
  };
  const Shape_ on = capture(true);
  const Shape_ off = capture(false);
  EXPECT_EQ(off.leaves, 1u) << "the ops alone form one chain";
  EXPECT_EQ(on.nodes, off.nodes + 1) << "one prefetch kernel node";
  EXPECT_EQ(on.leaves, 2u) << "the prefetch node is a second leaf: nothing waits for it";
}

// CudaBackendOptions::gemm_tuning_file: the first backend tunes (a Linear and a
// LinearResidualLayerNorm) and its Record writes the settled picks; a second one with the
// same build tag starts with them (nothing timed) and computes the same bytes; a third with
// another build tag ignores them and tunes, adding its own section; a fourth with the first
// tag still finds the first section.
TEST(CudaGemmTuningFile, ALaterBackendStartsWithTheSettledPicks) {
  VLART_REQUIRE_REAL_CUDA();
  ::unsetenv("VLART_GEMM_TUNING_FILE");
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("vlart_gemm_tuning_{}.txt", ::getpid())).string();
  std::filesystem::remove(path);
  struct Run {
    cuda::Stats created, finished;
    std::vector<unsigned char> y;
  };
  auto run = [&path](const std::string& tag) {
    Run r;
    CudaBackendOptions options;
    options.gemm_tuning_file = path;
    options.build_tag = tag;
    Result<std::unique_ptr<Backend>> created = CreateCudaBackend(options);
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    if (!created.ok()) return r;
    Backend& be = **created;
    r.created = cuda::StatsOf(be);
    auto arena = be.NewArena();
    const uint64_t seed = TestSeed(4400);
    const Twin x = RandomTwin(be, *arena, Shape{64, 256}, DType::kBF16, seed);
    const Twin w = RandomTwin(be, *arena, Shape{512, 256}, DType::kBF16, seed + 1);
    const Twin bias = RandomTwin(be, *arena, Shape{512}, DType::kBF16, seed + 2);
    const Tensor y = arena->Allocate(Shape{64, 512}, DType::kBF16);
    // And a residual projection with the LayerNorm after it (its own tuner's pick is kept too).
    const Twin w2 = RandomTwin(be, *arena, Shape{512, 512}, DType::kBF16, seed + 3);
    const Twin gamma = RandomTwin(be, *arena, Shape{512}, DType::kBF16, seed + 4);
    const Twin beta = RandomTwin(be, *arena, Shape{512}, DType::kBF16, seed + 5);
    const Tensor out = arena->Allocate(Shape{64, 512}, DType::kBF16);
    const Tensor normed = arena->Allocate(Shape{64, 512}, DType::kBF16);
    auto linear = [&] {
      be.Linear(x.dev, w.dev, &bias.dev, Activation::kGeluTanh, nullptr, y);
      be.LinearResidualLayerNorm(y, w2.dev, &bias.dev, y, out, gamma.dev, beta.dev, 1e-5f, normed);
    };
    linear();  // eager: the tuners run here unless the file had these shapes
    auto recorded = be.Record(linear);
    EXPECT_TRUE(recorded.ok()) << recorded.status().ToString();
    if (!recorded.ok()) return r;
    for (const Tensor* t : {&y, &out, &normed}) be.Fill(*t, -7.0f);
    (*recorded)->Replay();
    be.Synchronize();
    for (const Tensor* t : {&y, &out, &normed}) {
      HostTensor h(t->dtype, t->shape);
      be.Download(*t, h.view());
      r.y.insert(r.y.end(), static_cast<unsigned char*>(h.view().data),
                 static_cast<unsigned char*>(h.view().data) + h.nbytes());
    }
    r.finished = cuda::StatsOf(be);
    return r;
  };
  const Run first = run("test-build");
  EXPECT_EQ(first.created.gemm_tuning_loaded, 0) << "no file yet";
  EXPECT_GE(first.finished.gemm_tunings, 1);
  EXPECT_EQ(first.finished.linear_norm_tunings, 1);
  ASSERT_TRUE(std::filesystem::exists(path)) << "Record writes the file";
  const Run second = run("test-build");
  EXPECT_GE(second.created.gemm_tuning_loaded, 2);
  EXPECT_EQ(second.finished.gemm_tunings, 0) << "the file's pick is used, nothing is timed";
  EXPECT_EQ(second.finished.linear_norm_tunings, 0) << "the fused op's pick came from the file too";
  EXPECT_TRUE(second.y == first.y) << "same pick, same bytes";
  const Run other = run("another-build");
  EXPECT_EQ(other.created.gemm_tuning_loaded, 0) << "a file of another build is not used";
  EXPECT_GE(other.finished.gemm_tunings, 1);
  // The other build added its own section and kept the first one's.
  const Run back = run("test-build");
  EXPECT_GE(back.created.gemm_tuning_loaded, 2) << "the first build's section survived the other's save";
  EXPECT_EQ(back.finished.gemm_tunings, 0);
  EXPECT_TRUE(back.y == first.y);
  std::filesystem::remove(path);
}

// Record's refinement (RefineGemmPicks, gemm_refine_plan.h): a forward whose one GEMM shape
// weighs ~1-2 ms (200 calls) is a heavy shape, so Record re-captures it with the tuner's other
// candidates (window widened to every candidate, at most 3) and keeps the fastest recording.
// Whatever it kept, the recording and the backend's pick must agree: a replay writes the
// bytes an eager call with the settled pick writes.
TEST(CudaGemmRefine, RecordRetriesAHeavyShapeAndKeepsRecordingAndPickTogether) {
  VLART_REQUIRE_REAL_CUDA();
  ::unsetenv("VLART_GEMM_TUNING_FILE");
  ::unsetenv("VLART_GEMM_REFINE");
  ::setenv("VLART_GEMM_REFINE_WINDOW", "1000", 1);
  ::setenv("VLART_GEMM_REFINE_MAX", "3", 1);
  Result<std::unique_ptr<Backend>> created = CreateCudaBackend(CudaBackendOptions{});
  ::unsetenv("VLART_GEMM_REFINE_WINDOW");
  ::unsetenv("VLART_GEMM_REFINE_MAX");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Backend& be = **created;
  auto arena = be.NewArena();
  const uint64_t seed = TestSeed(4500);
  const Twin x = RandomTwin(be, *arena, Shape{256, 2048}, DType::kBF16, seed);
  const Twin w = RandomTwin(be, *arena, Shape{2048, 2048}, DType::kBF16, seed + 1);
  const Tensor y = arena->Allocate(Shape{256, 2048}, DType::kBF16);
  // Every call recomputes y from x: replays are idempotent, as Record requires.
  auto forward = [&] {
    for (int i = 0; i < 200; ++i) be.Linear(x.dev, w.dev, nullptr, Activation::kNone, nullptr, y);
  };
  be.Linear(x.dev, w.dev, nullptr, Activation::kNone, nullptr, y);  // eager: the tuner runs
  auto recorded = be.Record(forward);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  const cuda::Stats stats = cuda::StatsOf(be);
  EXPECT_GE(stats.gemm_refine_trials, 1) << "a ~1-2 ms shape with other candidates is re-tried";
  EXPECT_LE(stats.gemm_refine_trials, 3) << "VLART_GEMM_REFINE_MAX";
  auto bytes = [&] {
    be.Synchronize();
    HostTensor h(y.dtype, y.shape);
    be.Download(y, h.view());
    return std::vector<unsigned char>(static_cast<unsigned char*>(h.view().data),
                                      static_cast<unsigned char*>(h.view().data) + h.nbytes());
  };
  be.Fill(y, -7.0f);
  (*recorded)->Replay();
  const std::vector<unsigned char> replayed = bytes();
  be.Fill(y, -7.0f);
  be.Linear(x.dev, w.dev, nullptr, Activation::kNone, nullptr, y);  // the settled pick, eagerly
  EXPECT_TRUE(bytes() == replayed) << "the kept recording runs the kept pick (seed " << seed << ")";
  // A second Record of the same shape tries nothing more: its candidates were settled.
  auto again = be.Record(forward);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(cuda::StatsOf(be).gemm_refine_trials, stats.gemm_refine_trials);
}

// VLART_CUDA_SYNC_CHECK=1 synchronises after every eager op and must stand aside while the
// stream is being captured (a synchronisation would invalidate the capture).
TEST(CudaSyncCheck, EagerOpsSynchroniseAndCaptureStillWorks) {
  VLART_REQUIRE_REAL_CUDA();
  ::setenv("VLART_CUDA_SYNC_CHECK", "1", 1);
  CudaBackendOptions options;
  Result<std::unique_ptr<Backend>> created = CreateCudaBackend(options);
  ::unsetenv("VLART_CUDA_SYNC_CHECK");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Backend& be = **created;
  auto arena = be.NewArena();
  const Chain c = MakeChain(be, *arena, DType::kBF16, TestSeed(4100));
  RunChain(be, c);
  const auto eager = Snapshot(be, c);
  cudaStream_t stream = cuda::StreamOf(be);
  cudaGraph_t graph = nullptr;
  EXPECT_CUDA_OK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  RunChain(be, c);
  EXPECT_CUDA_OK(cudaStreamEndCapture(stream, &graph));
  cudaGraphExec_t exec = nullptr;
  EXPECT_CUDA_OK(cudaGraphInstantiate(&exec, graph, 0));
  Poison(be, c);
  EXPECT_CUDA_OK(cudaGraphLaunch(exec, stream));
  be.Synchronize();
  EXPECT_TRUE(Snapshot(be, c) == eager);
  EXPECT_CUDA_OK(cudaGraphExecDestroy(exec));
  EXPECT_CUDA_OK(cudaGraphDestroy(graph));
  arena.reset();
}

}  // namespace
}  // namespace vlart::testing
