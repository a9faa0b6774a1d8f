// SPDX-License-Identifier: Apache-2.0
//
// cuda_ops_bench.cc: times the CUDA backend's ops at the models' real shapes with CUDA events.
//
// What is timed: device time of one op, from an event recorded before it to one after it on
// the backend's stream. Linear weights rotate over copies totalling > 96 MB (each call reads
// its weights from HBM, as each layer of a model does); other inputs stay resident (warm L2
// unless --cold-l2, which rewrites a 128 MiB
// buffer before every timed call). --graph captures 20 back-to-back calls into a CUDA graph and
// reports replay time / 20 (launch gaps mostly gone: what the op costs inside a captured act()).
// Warm-up calls are excluded; the table shows median and p90 over --iters samples, the path the
// backend took (cuda_backend_internal.h Stats), and a napkin floor max(bytes / 3.0 TB/s,
// FLOP / rate) with rate = 700 TFLOP/s for bf16/f16 tensor cores and 50 TFLOP/s for f32
// (performance.md §0c / §2.1: measured H100 copy 3.0 TB/s, ~700 TFLOP/s bf16 cuBLASLt).
// Inputs are random (never zeros: zeros run faster than real data).
//
//   cuda_ops_bench [--mode bf16|f16|f32] [--iters 200] [--graph] [--cold-l2] [--fallback]
//                  [--filter substring] [--csv file] [--probe]
//
// --probe (bf16): after timing each attention case whose kernel has a timing probe
// (kernel_probe.cuh: the resident and the D 256 flash kernels), replays a graph of 20 calls
// with the probe instances and prints, for the last call, where its blocks' time went: launch
// skew and span (%globaltimer), and per mark the median / max clock from block entry and the
// median phase since the previous mark (clock64 at the device's rated clock).

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_backend_internal.h"
#include "backends/cuda/kernels.h"
#include "core/host_tensor.h"

namespace vlart {
namespace {

#define BENCH_CUDA(expr)                                                                  \
  do {                                                                                    \
    const cudaError_t e_ = (expr);                                                        \
    if (e_ != cudaSuccess) {                                                              \
      std::fprintf(stderr, "%s failed: %s\n", #expr, cudaGetErrorString(e_));             \
      std::exit(1);                                                                       \
    }                                                                                     \
  } while (0)

struct Options {
  DType dtype = DType::kBF16;
  int iters = 200;
  bool graph = false;
  bool cold_l2 = false;
  bool fallback = false;
  std::string filter;
  std::string csv;
  bool gemm_sweep = false;  // Linear shapes only, once per tensor-core GEMM config the tuner may pick
  bool probe = false;       // --probe: per-phase block timing of the probed attention kernels
};

// Which kernel timing probe a case can run (kernel_probe.cuh), with its marks' names.
enum class ProbeKind { kNone, kResident, kFlash };

struct BenchCase {
  std::string name;   // op and model shape
  double flop = 0;    // useful FLOP per call
  double bytes = 0;   // minimal bytes moved per call (inputs read once, outputs written once)
  std::function<void()> run;
  ProbeKind probe = ProbeKind::kNone;
};

class Bench {
 public:
  Bench(Backend& be, const Options& o, int num_sms)
      : be_(be), opt_(o), num_sms_(num_sms), arena_(be.NewArena()) {}
  int num_sms() const { return num_sms_; }

  // A random tensor (uniform [-1, 1)) of the bench dtype unless given.
  Tensor Rand(const Shape& shape, DType dtype) {
    const Tensor t = arena_->Allocate(shape, dtype);
    be_.Upload(RandHost(shape).view(), t);
    return t;
  }
  Tensor Rand(const Shape& shape) { return Rand(shape, opt_.dtype); }
  // `count` random weight tensors of one shape in their own arena, sealed (Arena::Seal) as a
  // model's weights are, so kernels may load them ahead (gemm_skinny.cu).
  std::vector<Tensor> SealedWeights(const Shape& shape, int count) {
    weight_arenas_.push_back(be_.NewArena());
    Arena& arena = *weight_arenas_.back();
    std::vector<Tensor> out;
    for (int c = 0; c < count; ++c) {
      out.push_back(arena.Allocate(shape, opt_.dtype));
      be_.Upload(RandHost(shape).view(), out.back());
    }
    arena.Seal();
    return out;
  }
  Tensor Empty(const Shape& shape) { return Empty(shape, opt_.dtype); }
  Tensor Empty(const Shape& shape, DType dtype) {
    const Tensor t = arena_->Allocate(shape, dtype);
    be_.Fill(t, 0.5f);
    return t;
  }
  Tensor Ints(const Shape& shape, int modulo) {
    HostTensor h(DType::kI32, shape);
    for (int64_t i = 0; i < h.numel(); ++i) h.data<int32_t>()[i] = static_cast<int32_t>(i % modulo);
    const Tensor t = arena_->Allocate(shape, DType::kI32);
    be_.Upload(h.view(), t);
    return t;
  }
  Tensor Upload(const HostTensor& h) {
    const Tensor t = arena_->Allocate(h.shape(), h.dtype());
    be_.Upload(h.view(), t);
    return t;
  }
  double Elem() const { return DTypeBits(opt_.dtype) / 8.0; }
  Backend& backend() { return be_; }
  DType dtype() const { return opt_.dtype; }

  void Add(BenchCase c) {
    if (!opt_.filter.empty() && c.name.find(opt_.filter) == std::string::npos) return;
    cases_.push_back(std::move(c));
  }

  void RunAll() {
    cudaStream_t stream = cuda::StreamOf(be_);
    void* flush = nullptr;
    constexpr size_t kFlushBytes = size_t{128} << 20;
    if (opt_.cold_l2) BENCH_CUDA(cudaMalloc(&flush, kFlushBytes));
    cudaEvent_t start, stop;
    BENCH_CUDA(cudaEventCreate(&start));
    BENCH_CUDA(cudaEventCreate(&stop));
    FILE* csv = opt_.csv.empty() ? nullptr : std::fopen(opt_.csv.c_str(), "w");
    if (csv != nullptr) std::fprintf(csv, "op,path,median_us,p90_us,floor_us,tflops,tbps\n");
    std::printf("backend %s, %s, %s L2, %d samples\n\n", std::string(be_.name()).c_str(),
                opt_.graph ? "CUDA-graph replay / 20" : "eager, event per call",
                opt_.cold_l2 ? "cold" : "warm", opt_.iters);
    std::printf("| %-48s | %-22s | %9s | %9s | %9s | %7s | %6s |\n", "op (shape)", "path", "median us",
                "p90 us", "floor us", "TFLOP/s", "TB/s");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(50, '-').c_str(), std::string(24, '-').c_str(),
                std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
                std::string(9, '-').c_str(), std::string(8, '-').c_str());
    for (BenchCase& c : cases_) {
      for (int i = 0; i < 5; ++i) c.run();  // warm-up: plan caches, clocks
      be_.Synchronize();
      cuda::ResetStats(be_);
      c.run();
      be_.Synchronize();
      const std::string path = PathOf(cuda::StatsOf(be_));
      std::vector<float> samples;
      cudaGraphExec_t exec = nullptr;
      constexpr int kGraphCalls = 20;
      if (opt_.graph) {
        exec = CaptureCalls(c, kGraphCalls, stream);
        BENCH_CUDA(cudaGraphLaunch(exec, stream));
      }
      for (int it = 0; it < opt_.iters; ++it) {
        if (flush != nullptr) BENCH_CUDA(cudaMemsetAsync(flush, it & 0xff, kFlushBytes, stream));
        BENCH_CUDA(cudaEventRecord(start, stream));
        if (opt_.graph) {
          BENCH_CUDA(cudaGraphLaunch(exec, stream));
        } else {
          c.run();
        }
        BENCH_CUDA(cudaEventRecord(stop, stream));
        BENCH_CUDA(cudaEventSynchronize(stop));
        float ms = 0;
        BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
        samples.push_back(opt_.graph ? ms / kGraphCalls : ms);
      }
      if (exec != nullptr) BENCH_CUDA(cudaGraphExecDestroy(exec));
      std::sort(samples.begin(), samples.end());
      const double med = samples[samples.size() / 2] * 1e3;
      const double p90 = samples[std::min(samples.size() - 1, samples.size() * 9 / 10)] * 1e3;
      const double rate = opt_.dtype == DType::kF32 ? 50e12 : 700e12;
      const double floor_us = std::max(c.bytes / 3.0e12, c.flop / rate) * 1e6;
      const double tflops = c.flop / (med * 1e-6) / 1e12;
      const double tbps = c.bytes / (med * 1e-6) / 1e12;
      std::printf("| %-48s | %-22s | %9.2f | %9.2f | %9.2f | %7.1f | %6.2f |\n", c.name.c_str(),
                  path.c_str(), med, p90, floor_us, tflops, tbps);
      if (csv != nullptr) {
        std::fprintf(csv, "\"%s\",%s,%.3f,%.3f,%.3f,%.2f,%.3f\n", c.name.c_str(), path.c_str(), med, p90,
                     floor_us, tflops, tbps);
      }
    }
    if (opt_.probe) {
      for (BenchCase& c : cases_) {
        if (c.probe != ProbeKind::kNone) Probe(c, stream);
      }
    }
    if (csv != nullptr) std::fclose(csv);
    BENCH_CUDA(cudaEventDestroy(start));
    BENCH_CUDA(cudaEventDestroy(stop));
    if (flush != nullptr) BENCH_CUDA(cudaFree(flush));
  }

 private:
  // A CUDA graph of `calls` back-to-back calls of the case, instantiated.
  static cudaGraphExec_t CaptureCalls(BenchCase& c, int calls, cudaStream_t stream) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    BENCH_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < calls; ++i) c.run();
    BENCH_CUDA(cudaStreamEndCapture(stream, &graph));
    BENCH_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    BENCH_CUDA(cudaGraphDestroy(graph));
    return exec;
  }

  // Replays a graph of 20 calls of `c` with its kernel's probe instance and prints the last
  // call's per-block phases (the buffer is rewritten by every call: the last one stays).
  void Probe(BenchCase& c, cudaStream_t stream) {
    constexpr int kMaxBlocks = 8192;
    constexpr int kCalls = 20;
    unsigned long long* buf = nullptr;
    const size_t bytes = sizeof(unsigned long long) * kMaxBlocks * cuda::kProbeSlots;
    BENCH_CUDA(cudaMalloc(reinterpret_cast<void**>(&buf), bytes));
    BENCH_CUDA(cudaMemsetAsync(buf, 0, bytes, stream));
    const bool flash = c.probe == ProbeKind::kFlash;
    const auto set = [&](const cuda::KernelProbeBuffer& p) {
      be_.Synchronize();
      if (flash) {
        cuda::SetAttentionFlashProbe(p);
      } else {
        cuda::SetAttentionResidentProbe(p);
      }
    };
    set({buf, kMaxBlocks});
    cudaGraphExec_t exec = CaptureCalls(c, kCalls, stream);
    for (int i = 0; i < 3; ++i) BENCH_CUDA(cudaGraphLaunch(exec, stream));
    BENCH_CUDA(cudaStreamSynchronize(stream));
    BENCH_CUDA(cudaGraphExecDestroy(exec));
    set({nullptr, 0});
    std::vector<unsigned long long> h(static_cast<size_t>(kMaxBlocks) * cuda::kProbeSlots);
    BENCH_CUDA(cudaMemcpy(h.data(), buf, bytes, cudaMemcpyDeviceToHost));
    BENCH_CUDA(cudaFree(buf));
    int clock_khz = 0;
    BENCH_CUDA(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, cuda::DeviceOf(be_)));
    const double us_per_clk = 1e3 / clock_khz;
    static const char* const kFlashMarks[] = {"", "", "", "PDL wait over", "Q + K(t0) landed", "first S + softmax",
                                              "V(t0) landed", "first P.V", "all key tiles", "cluster barrier 1",
                                              "merged", "stored (barrier 2)", "", "", ""};
    static const char* const kResidentMarks[] = {"", "", "", "PDL wait over", "K, V, Q landed", "key blocks done",
                                                 "split merge done", "stored", "", "", "", "", "", "", ""};
    const char* const* names = flash ? kFlashMarks : kResidentMarks;
    std::vector<const unsigned long long*> blocks;
    for (int b = 0; b < kMaxBlocks; ++b) {
      const unsigned long long* s = h.data() + static_cast<size_t>(b) * cuda::kProbeSlots;
      if (s[2] != 0) blocks.push_back(s);
    }
    if (blocks.empty()) {
      std::printf("\nprobe %s: no block recorded (not a probed kernel path?)\n", c.name.c_str());
      return;
    }
    unsigned long long t0 = ~0ull, t1 = 0, e_last = 0;
    std::vector<int> sms;
    for (const auto* s : blocks) {
      t0 = std::min(t0, s[0]);
      e_last = std::max(e_last, s[0]);
      t1 = std::max(t1, s[cuda::kProbeEndSlot]);
      sms.push_back(static_cast<int>(s[1]));
    }
    std::sort(sms.begin(), sms.end());
    const int distinct_sms = static_cast<int>(std::unique(sms.begin(), sms.end()) - sms.begin());
    std::printf("\nprobe %s: %zu blocks on %d SMs; block entries spread over %.2f us, first entry to "
                "last end %.2f us (globaltimer); clocks at the rated %.0f MHz\n\n",
                c.name.c_str(), blocks.size(), distinct_sms, (e_last - t0) / 1e3, (t1 - t0) / 1e3, clock_khz / 1e3);
    std::printf("| mark | after | blocks | median us from entry | max us from entry | median us since previous mark |\n");
    std::printf("|---:|---|---:|---:|---:|---:|\n");
    const auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (int mark = cuda::kProbeFirstMark; mark < cuda::kProbeEndSlot; ++mark) {
      std::vector<double> from_entry, phase;
      for (const auto* s : blocks) {
        if (s[mark] == 0) continue;
        from_entry.push_back(static_cast<double>(s[mark] - s[2]) * us_per_clk);
        int prev = mark - 1;
        while (prev > 2 && s[prev] == 0) --prev;
        phase.push_back(static_cast<double>(s[mark] - s[prev]) * us_per_clk);
      }
      if (from_entry.empty()) continue;
      std::printf("| %d | %s | %zu | %.2f | %.2f | %.2f |\n", mark, names[mark], from_entry.size(),
                  median(from_entry), *std::max_element(from_entry.begin(), from_entry.end()), median(phase));
    }
  }

  static std::string PathOf(const cuda::Stats& s) {
    std::string p;
    const auto add = [&p](int64_t n, const char* what) {
      if (n <= 0) return;
      if (!p.empty()) p += '+';
      p += what;
    };
    add(s.conv_depthwise, "dwconv");
    add(s.conv_im2col_gemm, "im2col");
    add(s.conv_direct, "directconv");
    add(s.gemm_mma - s.gemm_wgmma - s.gemm_skinny, "mma-gemm");
    add(s.gemm_wgmma, "wgmma-gemm");
    add(s.gemm_cublaslt, "cublasLt");
    add(s.gemm_simt, "simt-gemm");
    add(s.epilogue_passes, "epilogue");
    add(s.gemm_skinny, "skinny-gemm");
    add(s.gemm_b_sealed, "sealed-b");
    add(s.attention_resident, "resident-attn");
    add(s.attention_flash - s.attention_flash_split, "flash-attn");
    add(s.attention_flash_split, "flash-attn-split");
    add(s.attention_flash_smem_mask, "smem-mask");
    add(s.attention_flash_cluster_merge, "cluster-merge");
    add(s.attention_resident_split, "key-split");
    add(s.attention_mma - s.attention_resident - s.attention_flash, "mma");
    add(s.attention_simt, "simt-attn");
    add(s.elementwise_vec, "rows-vec");
    add(s.elementwise_rows, "rows");
    add(s.elementwise_strided, "strided");
    add(s.ada_rms_norm_vec, "ada-rms-vec");
    return p.empty() ? "kernel" : p;
  }

  Backend& be_;
  Options opt_;
  int num_sms_ = 0;
  // f32 host values, uniform [-1, 1).
  HostTensor RandHost(const Shape& shape) {
    HostTensor h(DType::kF32, shape);
    for (int64_t i = 0; i < h.numel(); ++i) h.data<float>()[i] = static_cast<float>(dist_(rng_));
    return h;
  }

  std::unique_ptr<Arena> arena_;
  std::vector<std::unique_ptr<Arena>> weight_arenas_;
  std::mt19937 rng_{20261122};
  std::uniform_real_distribution<double> dist_{-1.0, 1.0};
  std::vector<BenchCase> cases_;
};

// With `sweep`, one case per tensor-core GEMM config the tuner may pick for this shape (forced
// through ForceGemmConfig: the tuner itself times eagerly, launch overhead included, while
// these rows show what each config costs inside a graph); otherwise one case, tuner's choice.
void AddLinear(Bench& b, const char* model, int64_t m, int64_t k, int64_t n, bool bias, Activation act,
               bool residual, bool sweep = false) {
  // Weights rotate over enough copies to exceed the L2 twice (as in a model, where each layer
  // has its own weights and they stream from HBM); activations stay hot.
  const double e = b.Elem();
  const double w_bytes = e * n * k;
  const int copies = static_cast<int>(std::min(8.0, std::ceil(96.0 * (1 << 20) / w_bytes)));
  const std::vector<Tensor> ws = b.SealedWeights({n, k}, copies);
  auto next = std::make_shared<int>(0);
  const auto pick = [ws, next]() -> const Tensor& {
    const Tensor& w = ws[static_cast<size_t>(*next)];
    *next = (*next + 1) % static_cast<int>(ws.size());
    return w;
  };
  const Tensor x = b.Rand({m, k});
  const Tensor bv = b.Rand({n});
  const Tensor out = b.Rand({m, n});
  const std::string name = fmt::format("Linear {} {}x{}->{}{}{}{}", model, m, k, n, bias ? " +b" : "",
                                       act != Activation::kNone ? std::string(" +") + ActivationName(act) : "",
                                       residual ? " +res(in place)" : "");
  const double flop = 2.0 * m * k * n;
  const double bytes = e * (m * k + n * k + n + m * n * (residual ? 2 : 1));
  if (!sweep) {
    b.Add({name, flop, bytes, [=, &b]() {
             cuda::ForceGemmConfig(b.backend(), -1, 1);
             b.backend().Linear(x, pick(), bias ? &bv : nullptr, act, residual ? &out : nullptr, out);
           }});
    return;
  }
  std::vector<cuda::GemmMmaConfig> configs = cuda::GemmMmaCandidates(m, n, k, b.num_sms());
  if (!cuda::GemmWgmmaOffered()) {  // the experimental Hopper kernel is swept as well
    for (const cuda::GemmMmaConfig& w : cuda::GemmWgmmaCandidates(m, n, k, b.num_sms())) configs.push_back(w);
  }
  if (!cuda::GemmSkinnyOffered()) {  // and the few-row kernel when VLART_SKINNY=0 leaves it out
    for (const cuda::GemmMmaConfig& w : cuda::GemmSkinnyCandidates(m, n, k, b.num_sms())) configs.push_back(w);
  }
  configs.push_back(cuda::GemmMmaConfig{cuda::kForceCublas, 1});  // shown as [t-2s1]
  for (const cuda::GemmMmaConfig& c : configs) {
    b.Add({fmt::format("{} [t{}s{}]", name, c.tile, c.splits), flop, bytes, [=, &b]() {
             cuda::ForceGemmConfig(b.backend(), c.tile, c.splits);
             b.backend().Linear(x, pick(), bias ? &bv : nullptr, act, residual ? &out : nullptr, out);
           }});
  }
}

// openpi's additive mask F32 [B, Sq, Sk] (0 / -2.38e38): the last 8 prefix tokens are padding;
// Sq == Sk: the prefix-LM mask (valid tokens see each other, padding rows fully masked);
// Sq < Sk: the action expert's (valid prefix keys, then pi0's block-causal suffix: the state
// token sees itself, the actions see the state and each other).
HostTensor Pi0Mask(int64_t batch, int64_t sq, int64_t sk) {
  constexpr float kMasked = -2.3819763e38f;
  const int64_t prefix = sq == sk ? sk : sk - sq;
  const auto valid = [&](int64_t j) { return j < prefix - 8; };
  HostTensor m(DType::kF32, {batch, sq, sk});
  float* p = m.data<float>();
  for (int64_t bi = 0; bi < batch; ++bi) {
    for (int64_t i = 0; i < sq; ++i) {
      for (int64_t j = 0; j < sk; ++j) {
        bool seen = false;
        if (sq == sk) {
          seen = valid(i) && valid(j);
        } else if (j < prefix) {
          seen = valid(j);
        } else {
          seen = (j - prefix == 0 ? 1 : 2) <= (i == 0 ? 1 : 2);
        }
        *p++ = seen ? 0.0f : kMasked;
      }
    }
  }
  return m;
}

// splits > 0 forces the head-folded kernel's key split count (ForceAttentionSplits): "[sN]" rows
// show what the split heuristic trades. mask_ldg forces its per-score __ldg mask path
// (ForceAttentionMaskLdg): "[ldg]" rows A/B the shared-memory mask staging (same results).
// merge forces how split partials merge (ForceAttentionMerge): "[mk]" rows the merge kernel,
// "[cl]" rows the cluster merge, A/B against the backend's choice (same results).
void AddAttention(Bench& b, const char* model, int64_t batch, int64_t s, int64_t sk, int64_t hq, int64_t hkv,
                  int64_t d, bool fused, bool pi0_mask = false, int splits = 0, bool mask_ldg = false,
                  cuda::AttentionMerge merge = cuda::AttentionMerge::kAuto) {
  const double e = b.Elem();
  Tensor q, k, v;
  if (fused) {
    const Tensor qkv = b.Rand({batch, s, 3, hq, d});
    q = qkv.Select(2, 0), k = qkv.Select(2, 1), v = qkv.Select(2, 2);
  } else {
    q = b.Rand({batch, s, hq, d});
    k = b.Rand({batch, sk, hkv, d});
    v = b.Rand({batch, sk, hkv, d});
  }
  const Tensor out = b.Empty({batch, s, hq, d});
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const Tensor mask = pi0_mask ? b.Upload(Pi0Mask(batch, s, sk)) : Tensor();
  b.Add({fmt::format("Attention {} B{} Sq{} Sk{} H{}/{} D{}{}{}{}{}", model, batch, s, sk, hq, hkv, d,
                     pi0_mask ? " +mask" : "", splits > 0 ? fmt::format(" [s{}]", splits) : "",
                     mask_ldg ? " [ldg]" : "",
                     merge == cuda::AttentionMerge::kKernel    ? " [mk]"
                     : merge == cuda::AttentionMerge::kCluster ? " [cl]"
                                                               : ""),
         4.0 * batch * hq * s * sk * d,
         e * (batch * (s * hq * d * 2 + 2 * sk * hkv * d)) + (pi0_mask ? 4.0 * batch * s * sk : 0.0),
         [=, &b]() {
           cuda::ForceAttentionSplits(b.backend(), splits);
           cuda::ForceAttentionMaskLdg(b.backend(), mask_ldg);
           cuda::ForceAttentionMerge(b.backend(), merge);
           b.backend().Attention(q, k, v, pi0_mask ? &mask : nullptr, scale, out);
           cuda::ForceAttentionSplits(b.backend(), 0);
           cuda::ForceAttentionMaskLdg(b.backend(), false);
           cuda::ForceAttentionMerge(b.backend(), cuda::AttentionMerge::kAuto);
         },
         d == 256 ? ProbeKind::kFlash : ProbeKind::kResident});
}

// Self-attention on a fused qkv buffer ([batch, s, 3, h, d] views), with `force` setting the
// backend's kernel choice before each call and the defaults restored after it; `tag` names
// the choice in the row.
void AddForcedSelfAttention(Bench& b, const char* model, int64_t batch, int64_t s, int64_t h, int64_t d,
                            const std::string& tag, std::function<void(Backend&)> force, ProbeKind probe) {
  const double e = b.Elem();
  const Tensor qkv = b.Rand({batch, s, 3, h, d});
  const Tensor q = qkv.Select(2, 0), k = qkv.Select(2, 1), v = qkv.Select(2, 2);
  const Tensor out = b.Empty({batch, s, h, d});
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  b.Add({fmt::format("Attention {} B{} Sq{} Sk{} H{}/{} D{} {}", model, batch, s, s, h, h, d, tag),
         4.0 * batch * h * s * s * d, e * (batch * 4.0 * s * h * d), [=, &b]() {
           force(b.backend());
           b.backend().Attention(q, k, v, nullptr, scale, out);
           cuda::ForceAttentionRows(b.backend(), 0);
           cuda::ForceAttentionResidentSplits(b.backend(), 0);
         },
         probe});
}

// The K/V-resident kernel (the one-pass kernel off) with its key split forced to `splits`
// groups of warps (ForceAttentionResidentSplits): "[rN]" rows A/B the split.
void AddResidentAttention(Bench& b, const char* model, int64_t batch, int64_t s, int64_t h, int64_t d,
                          int splits) {
  AddForcedSelfAttention(b, model, batch, s, h, d, fmt::format("[r{}]", splits),
                         [splits](Backend& be) {
                           cuda::ForceAttentionResidentSplits(be, splits);
                           cuda::ForceAttentionRows(be, cuda::kAttentionRowsOff);
                         },
                         ProbeKind::kResident);
}

// The one-pass kernel's warps per block forced to `warps` (ForceAttentionRows: "[wN]"; "[w-]"
// leaves it to the K/V-resident kernel's own choice, "[w0]" is the heuristic).
void AddRowsAttention(Bench& b, const char* model, int64_t batch, int64_t s, int64_t h, int64_t d, int warps) {
  AddForcedSelfAttention(b, model, batch, s, h, d, warps < 0 ? std::string("[w-]") : fmt::format("[w{}]", warps),
                         [warps](Backend& be) {
                           cuda::ForceAttentionRows(be, warps < 0 ? cuda::kAttentionRowsOff : warps);
                         },
                         ProbeKind::kNone);
}

// One pi0 action-expert layer minus its norms, as GemmaBlock issues it (qkv GEMM, attention
// over the cached prefix, o_proj + residual, gate_up, GeGLU, down + residual), with the
// layer's weights rotating over 8 sets (277 MB, > 5x the L2) like 18 layers do. With
// `prefetch`, the Backend::Prefetch hints GemmaBlock issues: o_proj and gate_up before the
// attention, down and the next set's qkv before the MLP. The two rows A/B the hint.
void AddExpertLayer(Bench& b, bool prefetch) {
  constexpr int64_t kRows = 51, kWidth = 1024, kHeads = 8, kHeadDim = 256, kMlp = 4096;
  constexpr int64_t kKeys = 581, kSets = 8;
  struct Weights {
    Tensor qkv, o, gate_up, down;
  };
  std::vector<Weights> sets;
  for (int i = 0; i < kSets; ++i) {
    sets.push_back(Weights{b.Rand({(kHeads + 2) * kHeadDim, kWidth}), b.Rand({kWidth, kHeads * kHeadDim}),
                           b.Rand({2 * kMlp, kWidth}), b.Rand({kWidth, kMlp})});
  }
  const Tensor x = b.Rand({kRows, kWidth});
  const Tensor h = b.Rand({kRows, kWidth});
  const Tensor qkv = b.Empty({kRows, (kHeads + 2) * kHeadDim});
  const Tensor k = b.Rand({1, kKeys, 1, kHeadDim});
  const Tensor v = b.Rand({1, kKeys, 1, kHeadDim});
  const Tensor attn = b.Empty({kRows, kHeads * kHeadDim});
  const Tensor hid = b.Empty({kRows, 2 * kMlp});
  const Tensor mask = b.Upload(Pi0Mask(1, kRows, kKeys));
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHeadDim));
  auto next = std::make_shared<int>(0);
  const double e = b.Elem();
  const double w_elems = (kHeads + 2) * kHeadDim * kWidth + kWidth * kHeads * kHeadDim + 3 * kMlp * kWidth;
  b.Add({fmt::format("ExpertLayer pi0 51 rows, K/V {} (no norms){}", kKeys, prefetch ? " +prefetch" : ""),
         2.0 * kRows * w_elems + 4.0 * kHeads * kRows * kKeys * kHeadDim, e * w_elems,
         [=, &b]() {
           Backend& be = b.backend();
           const Weights& w = sets[static_cast<size_t>(*next)];
           *next = (*next + 1) % static_cast<int>(sets.size());
           const Weights& following = sets[static_cast<size_t>(*next)];
           be.Linear(h, w.qkv, nullptr, Activation::kNone, nullptr, qkv);
           if (prefetch) {
             const Tensor ahead[] = {w.o, w.gate_up};
             be.Prefetch(ahead);
           }
           be.Attention(qkv.Slice(1, 0, kHeads * kHeadDim).Reshape({1, kRows, kHeads, kHeadDim}), k, v, &mask,
                        scale, attn.Reshape({1, kRows, kHeads, kHeadDim}));
           be.Linear(attn, w.o, nullptr, Activation::kNone, &x, x);
           if (prefetch) {
             const Tensor ahead[] = {w.down, following.qkv};
             be.Prefetch(ahead);
           }
           be.Linear(h, w.gate_up, nullptr, Activation::kNone, nullptr, hid);
           const Tensor gate = hid.Slice(1, 0, kMlp);
           be.GatedActivation(Activation::kGeluTanh, gate, hid.Slice(1, kMlp, 2 * kMlp), gate, nullptr);
           be.Linear(gate, w.down, nullptr, Activation::kNone, &x, x);
         }});
}

void AddChannelAttention(Bench& b, const char* model, int64_t batch, int64_t n, int64_t groups, int64_t d) {
  const Tensor qkv = b.Rand({batch, n, 3, groups, d});
  const Tensor out = b.Empty({batch, n, groups, d});
  const float scale = 1.0f / std::sqrt(static_cast<float>(n));
  b.Add({fmt::format("ChannelAttention {} B{} N{} G{} d{}", model, batch, n, groups, d),
         4.0 * batch * groups * n * d * d, b.Elem() * batch * n * groups * d * 4,
         [=, &b]() { b.backend().ChannelAttention(qkv.Select(2, 0), qkv.Select(2, 1), qkv.Select(2, 2), scale, out); }});
}

void AddConv(Bench& b, const char* model, int64_t batch, int64_t h, int64_t w, int64_t cin, int64_t cout, int k,
             int stride, int pad, int groups, bool residual, bool nchw_f32_image) {
  Tensor x;
  if (nchw_f32_image) {
    x = b.Rand({batch, cin, h, w}, DType::kF32).Permute({0, 2, 3, 1});
  } else {
    x = b.Rand({batch, h, w, cin});
  }
  const Tensor wt = b.Rand({cout, cin / groups, k, k});
  const Tensor bias = b.Rand({cout});
  const int64_t ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
  const Tensor res = b.Rand({batch, ho, wo, cout});
  const Tensor out = b.Empty({batch, ho, wo, cout});
  const double e = b.Elem();
  const double x_bytes = (nchw_f32_image ? 4.0 : e) * batch * h * w * cin;
  b.Add({fmt::format("Conv2d {} {}x{}x{}x{} -> {} k{} s{} g{}{}", model, batch, h, w, cin, cout, k, stride, groups,
                     residual ? " +res" : ""),
         2.0 * batch * ho * wo * cout * (cin / groups) * k * k,
         x_bytes + e * (cout * (cin / groups) * k * k + batch * ho * wo * cout * (residual ? 2 : 1)),
         [=, &b]() {
           b.backend().Conv2d(x, wt, &bias, Conv2dParams{stride, pad, groups}, residual ? &res : nullptr, out);
         }});
}

void AddRows(Bench& b) {
  const double e = b.Elem();
  {
    const Tensor x = b.Rand({262, 1024}), g = b.Rand({1024}), beta = b.Rand({1024}), out = b.Empty({262, 1024});
    b.Add({"LayerNorm X-VLA 262x1024", 0, e * 2 * 262 * 1024,
           [=, &b]() { b.backend().LayerNorm(x, g, beta, 1e-5f, out); }});
  }
  {
    const Tensor x = b.Rand({2, 3136, 256}), g = b.Rand({256}), beta = b.Rand({256}), out = b.Empty({2, 3136, 256});
    b.Add({"LayerNorm DaViT-0 2x3136x256", 0, e * 2 * 2 * 3136 * 256,
           [=, &b]() { b.backend().LayerNorm(x, g, beta, 1e-5f, out); }});
  }
  {
    const Tensor x = b.Rand({51, 1024}), w = b.Rand({1024}), out = b.Empty({51, 1024});
    b.Add({"RmsNorm pi0-expert 51x1024", 0, e * 2 * 51 * 1024,
           [=, &b]() { b.backend().RmsNorm(x, w, 1e-6f, 1.0f, out); }});
  }
  {
    const Tensor x = b.Rand({16, 262, 262}), out = b.Empty({16, 262, 262});
    b.Add({"Softmax 16x262x262", 0, e * 2 * 16 * 262 * 262, [=, &b]() { b.backend().Softmax(x, out); }});
  }
  {
    const Tensor x = b.Rand({2, 3136, 256}), out = b.Empty({2, 256});
    b.Add({"MeanOverTokens 2x3136x256", 0, e * 2 * 3136 * 256, [=, &b]() { b.backend().MeanOverTokens(x, out); }});
  }
  {
    const Tensor x = b.Rand({1, 532, 8, 256}), pos = b.Ints({1, 532}, 1000);
    b.Add({"Rope pi0-prefix 1x532x8x256 in place", 0, e * 2 * 532 * 8 * 256,
           [=, &b]() { b.backend().Rope(x, pos, 10000.0f, x); }});
  }
  // pi0's Gemma layers after the qkv projection: q rotated in place in the fused [1, S, 8+2, 256]
  // output, k rotated into and v copied into the K/V caches at the chunk's offset. RopeQkv (the
  // model's call, one launch) against the Rope + Rope + Copy it replaced, on the same views;
  // compare the two with --graph (the launch gaps are what the fusion removes).
  for (auto [model, s, offset] : {std::tuple<const char*, int64_t, int64_t>{"pi0-expert", 50, 788},
                                  {"pi0.5-expert", 10, 788},
                                  {"pi0-prefix", 526, 0}}) {
    constexpr int64_t kHq = 8, kHkv = 1, kD = 256;
    const Tensor qkv = b.Rand({1, s, kHq + 2 * kHkv, kD}), pos = b.Ints({1, s}, 1000);
    const Tensor kc = b.Empty({1, offset + s, kHkv, kD}), vc = b.Empty({1, offset + s, kHkv, kD});
    const Tensor q = qkv.Slice(2, 0, kHq), k = qkv.Slice(2, kHq, kHq + kHkv),
                 v = qkv.Slice(2, kHq + kHkv, kHq + 2 * kHkv);
    const Tensor k_out = kc.Slice(1, offset, offset + s), v_out = vc.Slice(1, offset, offset + s);
    const std::string shape = fmt::format("{} 1x{}x({}+2x{})x{}", model, s, kHq, kHkv, kD);
    const double bytes = e * 2 * s * (kHq + 2 * kHkv) * kD;
    b.Add({"RopeQkv " + shape, 0, bytes, [=, &b]() {
             b.backend().RopeQkv(q, k, v, pos, 10000.0f, q, k_out, v_out, nullptr);
           }});
    b.Add({"Rope+Rope+Copy " + shape, 0, bytes, [=, &b]() {
             b.backend().Rope(q, pos, 10000.0f, q);
             b.backend().Rope(k, pos, 10000.0f, k_out);
             b.backend().Copy(v, v_out);
           }});
    // The folded input norm (Pi0ModelOptions::fold_rms_norms): RopeQkv applying the RMS
    // statistic of the residual stream x, against the RmsNorm launch it replaces.
    const int64_t width = s == 526 ? 2048 : 1024;
    const Tensor x = b.Rand({s, width}), normed = b.Empty({s, width}), nw = b.Rand({width});
    const RowRmsScale rs{x, 1e-6f};
    b.Add({"RopeQkv+rms " + shape, 0, bytes + e * s * width, [=, &b]() {
             b.backend().RopeQkv(q, k, v, pos, 10000.0f, q, k_out, v_out, &rs);
           }});
    b.Add({fmt::format("RmsNorm {} {}x{}", model, s, width), 0, e * 2 * s * width,
           [=, &b]() { b.backend().RmsNorm(x, nw, 1e-6f, 1.0f, normed); }});
  }
  {
    const Tensor x = b.Rand({262, 1024}), y = b.Rand({262, 1024}), out = b.Empty({262, 1024});
    b.Add({"Add 262x1024", 0, e * 3 * 262 * 1024, [=, &b]() { b.backend().Add(x, y, out); }});
    b.Add({"Activate gelu_tanh 262x1024", 0, e * 2 * 262 * 1024,
           [=, &b]() { b.backend().Activate(Activation::kGeluTanh, x, out); }});
  }
  // pi0's GeGLU: gate and up are the column halves of the [rows, 2m] gate_up Linear output (row
  // stride 2m). GatedActivation (the model's call) writes into the gate half of another such
  // buffer here, so repeated calls keep their inputs; Mul and Activate are the two ops it
  // replaced, on the same views.
  for (auto [model, rows, m] : {std::tuple<const char*, int64_t, int64_t>{"pi0-prefix", 526, 16384},
                                {"pi0-expert", 50, 4096}}) {
    const Tensor hid = b.Rand({rows, 2 * m}), dst = b.Empty({rows, 2 * m});
    const Tensor gate = hid.Slice(1, 0, m), up = hid.Slice(1, m, 2 * m), out = dst.Slice(1, 0, m);
    const std::string shape = fmt::format("{} {}x{} of {}x{}", model, rows, m, rows, 2 * m);
    b.Add({"GatedActivation gelu_tanh " + shape, 0, e * 3 * rows * m,
           [=, &b]() { b.backend().GatedActivation(Activation::kGeluTanh, gate, up, out, nullptr); }});
    const int64_t width = rows == 526 ? 2048 : 1024;
    const Tensor x = b.Rand({rows, width});
    const RowRmsScale rs{x, 1e-6f};
    b.Add({"GatedActivation+rms gelu_tanh " + shape, 0, e * (3 * rows * m + rows * width),
           [=, &b]() { b.backend().GatedActivation(Activation::kGeluTanh, gate, up, out, &rs); }});
    b.Add({"Mul " + shape, 0, e * 3 * rows * m, [=, &b]() { b.backend().Mul(gate, up, out); }});
    b.Add({"Activate gelu_tanh " + shape, 0, e * 2 * rows * m,
           [=, &b]() { b.backend().Activate(Activation::kGeluTanh, gate, out); }});
  }
  // pi0.5's adaRMS layers at the action-expert shape [1, 50, 1024]: scale, shift and gate are
  // slices of a [1, 3072] modulation row broadcast over the tokens. AdaRmsNorm and MulAdd (the
  // model's calls) next to the RmsNorm + Add and Mul + Add pairs they replaced.
  {
    const Shape shape{1, 50, 1024};
    const Tensor x = b.Rand(shape), y = b.Rand(shape), out = b.Empty(shape), row = b.Rand({3072});
    const Tensor scale = row.Slice(0, 0, 1024), shift = row.Slice(0, 1024, 2048), gate = row.Slice(0, 2048, 3072);
    const Tensor scale_b = scale.Broadcast(shape), shift_b = shift.Broadcast(shape), gate_b = gate.Broadcast(shape);
    b.Add({"AdaRmsNorm pi05-expert 1x50x1024", 0, e * 2 * 50 * 1024,
           [=, &b]() { b.backend().AdaRmsNorm(x, scale_b, shift_b, 1e-6f, out); }});
    b.Add({"RmsNorm + Add pi05-expert 1x50x1024", 0, e * 4 * 50 * 1024, [=, &b]() {
             b.backend().RmsNorm(x, scale, 1e-6f, 1.0f, out);
             b.backend().Add(out, shift_b, out);
           }});
    b.Add({"MulAdd gated residual pi05-expert 1x50x1024", 0, e * 3 * 50 * 1024,
           [=, &b]() { b.backend().MulAdd(y, gate_b, x, out); }});
    b.Add({"Mul + Add gated residual pi05-expert 1x50x1024", 0, e * 5 * 50 * 1024, [=, &b]() {
             b.backend().Mul(y, gate_b, out);
             b.backend().Add(x, out, out);
           }});
  }
  {
    // DaViT window partition of a padded 60x60x256 map (2 views): one strided Copy.
    const Tensor x = b.Rand({2, 5, 12, 5, 12, 256}), out = b.Empty({2, 5, 5, 12, 12, 256});
    b.Add({"Copy window-partition 2x60x60x256", 0, e * 2 * 2 * 3600 * 256,
           [=, &b]() { b.backend().Copy(x.Permute({0, 1, 3, 2, 4, 5}), out); }});
  }
  {
    const Tensor x = b.Rand({1, 30, 72}), table = b.Rand({30, 72 * 1024}), bias = b.Rand({30, 1024});
    const Tensor ids = b.Ints({1}, 30), out = b.Empty({1, 30, 1024});
    b.Add({"DomainLinear X-VLA 1x30x72->1024", 2.0 * 30 * 72 * 1024, e * (30 * 72 + 72 * 1024 + 1024 + 30 * 1024),
           [=, &b]() { b.backend().DomainLinear(x, table, bias, ids, out); }});
  }
}

int Main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--mode") {
      const std::string m = next();
      if (m == "bf16") {
        opt.dtype = DType::kBF16;
      } else if (m == "f16") {
        opt.dtype = DType::kF16;
      } else if (m == "f32") {
        opt.dtype = DType::kF32;
      } else {
        std::fprintf(stderr, "--mode: expected bf16, f16 or f32, got %s\n", m.c_str());
        return 2;
      }
    } else if (a == "--iters") {
      opt.iters = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--graph") {
      opt.graph = true;
    } else if (a == "--cold-l2") {
      opt.cold_l2 = true;
    } else if (a == "--fallback") {
      opt.fallback = true;
    } else if (a == "--filter") {
      opt.filter = next();
    } else if (a == "--csv") {
      opt.csv = next();
    } else if (a == "--gemm-sweep") {
      opt.gemm_sweep = true;
    } else if (a == "--probe") {
      opt.probe = true;
    } else {
      std::fprintf(stderr,
                   "usage: cuda_ops_bench [--mode bf16|f16|f32] [--iters N] [--graph] [--cold-l2] "
                   "[--fallback] [--filter substring] [--csv file] [--gemm-sweep] [--probe]\n");
      return 2;
    }
  }
  CudaBackendOptions bo;
  bo.compute_dtype = opt.dtype;
  bo.force_fallback_kernels = opt.fallback;
  Result<std::unique_ptr<Backend>> created = CreateCudaBackend(bo);
  if (!created.ok()) {
    std::fprintf(stderr, "cuda_ops_bench: %s\n", created.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Backend> be = std::move(created).value();
  cudaDeviceProp prop{};
  BENCH_CUDA(cudaGetDeviceProperties(&prop, cuda::DeviceOf(*be)));
  std::printf("device %s (%d SMs), CUDA runtime bench of vlart ops\n", prop.name, prop.multiProcessorCount);
  {
    Bench b(*be, opt, prop.multiProcessorCount);
    const bool sw = opt.gemm_sweep;
    // X-VLA policy layer (24 per step, 10 steps): 262 tokens, width 1024, MLP 4096.
    AddLinear(b, "X-VLA qkv", 262, 1024, 3072, true, Activation::kNone, false, sw);
    AddLinear(b, "X-VLA proj", 262, 1024, 1024, true, Activation::kNone, true, sw);
    AddLinear(b, "X-VLA fc1", 262, 1024, 4096, true, Activation::kGeluTanh, false, sw);
    AddLinear(b, "X-VLA fc2", 262, 4096, 1024, true, Activation::kNone, true, sw);
    // pi0 action expert (M ~ 51): q/k/v 1024 -> 2560, o 2048 -> 1024, gate+up 1024 -> 8192, down 4096 -> 1024.
    AddLinear(b, "pi0-expert qkv", 51, 1024, 2560, false, Activation::kNone, false, sw);
    AddLinear(b, "pi0-expert o", 51, 2048, 1024, false, Activation::kNone, true, sw);
    AddLinear(b, "pi0-expert gate_up", 51, 1024, 8192, false, Activation::kNone, false, sw);
    AddLinear(b, "pi0-expert down", 51, 4096, 1024, false, Activation::kNone, true, sw);
    // pi0.5 action expert: 10 rows, same weights.
    AddLinear(b, "pi05-expert gate_up", 10, 1024, 8192, false, Activation::kNone, false, sw);
    AddLinear(b, "pi05-expert down", 10, 4096, 1024, false, Activation::kNone, true, sw);
    // BART encoder (M = 100 prompt tokens).
    AddLinear(b, "BART fc1", 100, 1024, 4096, true, Activation::kGeluErf, false, sw);
    if (sw) {
      b.RunAll();
      return 0;
    }
    AddAttention(b, "X-VLA", 1, 262, 262, 16, 16, 64, true);
    AddAttention(b, "DaViT windows", 50, 144, 144, 8, 8, 32, true);
    AddAttention(b, "BART", 1, 100, 100, 16, 16, 64, true);
    AddAttention(b, "SigLIP", 2, 256, 256, 16, 16, 72, true);
    for (int warps : {-1, 0, 2, 3, 4, 6, 8}) {
      AddRowsAttention(b, "X-VLA", 1, 262, 16, 64, warps);
      AddRowsAttention(b, "X-VLA", 4, 262, 16, 64, warps);
      AddRowsAttention(b, "SigLIP", 2, 256, 16, 72, warps);
      AddRowsAttention(b, "SigLIP", 8, 256, 16, 72, warps);
      AddRowsAttention(b, "BART", 1, 100, 16, 64, warps);
      AddRowsAttention(b, "DaViT windows", 50, 144, 8, 32, warps);
    }
    for (int splits : {1, 2, 4}) {
      AddResidentAttention(b, "X-VLA", 1, 262, 16, 64, splits);
      AddResidentAttention(b, "SigLIP", 2, 256, 16, 72, splits);
      AddResidentAttention(b, "BART", 1, 100, 16, 64, splits);
      AddResidentAttention(b, "DaViT windows", 50, 144, 8, 32, splits);
    }
    AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false);
    AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false, true);
    for (int splits : {1, 2, 4, 7, 10}) AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false, true, splits);
    for (int splits : {2, 4, 7, 10}) {
      AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false, true, splits, false, cuda::AttentionMerge::kKernel);
      AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false, true, splits, false, cuda::AttentionMerge::kCluster);
    }
    for (int splits : {0, 1, 10}) AddAttention(b, "pi0-expert MQA", 1, 51, 581, 8, 1, 256, false, true, splits, true);
    AddAttention(b, "pi0-expert MQA", 1, 51, 867, 8, 1, 256, false, true);
    AddAttention(b, "pi05-expert MQA", 1, 10, 810, 8, 1, 256, false, true);
    AddAttention(b, "pi05-expert MQA", 1, 10, 810, 8, 1, 256, false, true, 0, false, cuda::AttentionMerge::kKernel);
    AddAttention(b, "pi0-expert MQA", 4, 51, 581, 8, 1, 256, false, true);
    AddAttention(b, "pi0-expert MQA", 4, 51, 581, 8, 1, 256, false, true, 0, false, cuda::AttentionMerge::kCluster);
    AddAttention(b, "pi0-prefix MQA", 1, 532, 532, 8, 1, 256, false, true);
    AddAttention(b, "pi0-prefix MQA", 1, 532, 532, 8, 1, 256, false, true, 0, false, cuda::AttentionMerge::kCluster);
    for (int splits : {2, 3, 4, 6}) AddAttention(b, "pi0-prefix MQA", 1, 532, 532, 8, 1, 256, false, true, splits);
    AddAttention(b, "pi0-prefix MQA", 1, 532, 532, 8, 1, 256, false, true, 0, true);
    AddAttention(b, "pi0-prefix MQA", 1, 816, 816, 8, 1, 256, false, true);
    AddAttention(b, "pi0-prefix MQA", 4, 816, 816, 8, 1, 256, false, true);
    AddExpertLayer(b, false);
    AddExpertLayer(b, true);
    AddChannelAttention(b, "DaViT-0", 2, 3136, 8, 32);
    AddChannelAttention(b, "DaViT-2", 2, 196, 32, 32);
    AddConv(b, "DaViT-0 dw", 2, 56, 56, 256, 256, 3, 1, 1, 256, true, false);
    AddConv(b, "DaViT-2 dw", 2, 14, 14, 1024, 1024, 3, 1, 1, 1024, true, false);
    AddConv(b, "DaViT stage-0 embed", 2, 224, 224, 3, 256, 7, 4, 3, 1, false, true);
    AddConv(b, "DaViT stage-1 embed", 2, 56, 56, 256, 512, 3, 2, 1, 1, false, false);
    AddRows(b);
    b.RunAll();
  }
  return 0;
}

}  // namespace
}  // namespace vlart

int main(int argc, char** argv) { return vlart::Main(argc, argv); }
