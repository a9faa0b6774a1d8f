// SPDX-License-Identifier: Apache-2.0
//
// probe_main.cu: does a CUTLASS 3 sm90 GEMM launched with programmatic dependent launch (PDL)
// beat cuBLASLt on the chains of layer GEMMs vlart's models run, with every layer's weights
// streamed from HBM as in the real forward?
//
// For each model's layer shapes (M tokens; per layer the qkv, o, fc1 / gate_up and fc2 / down
// GEMMs, D[M, N] = X[M, K] · W[N, K]ᵀ + bias, bf16, f32 accumulation) the probe
//   1. checks every CUTLASS variant's output against cuBLASLt's on layer 0 (max |diff| / max |ref|);
//   2. times each shape alone across all layers ("per shape": one CUDA graph launching that GEMM
//      once per layer, each on its own weights): cuBLASLt's best of its first 8 heuristic
//      algorithms, and every CUTLASS variant with and without PDL;
//   3. times the whole chain (every layer's four GEMMs in order, one graph): all cuBLASLt, and
//      each shape's best CUTLASS variant with PDL.
// Times are medians of graph replays (cudaEvent around each replay), in microseconds per layer.
// Only the GEMMs are timed: the attention, norms and activations between them in the model are
// absent, so the chain is a lower bound on what a GEMM swap can save, not a model latency.
//
// Usage: cutlass_gemm_probe [--models xvla,pi0,pi05,siglip,prefix] [--iters N]

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "probe_registry.h"

#define CHECK_CUDA(x)                                                                        \
  do {                                                                                       \
    cudaError_t e_ = (x);                                                                    \
    if (e_ != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
      std::exit(1);                                                                          \
    }                                                                                        \
  } while (0)
#define CHECK_LT(x)                                                                     \
  do {                                                                                  \
    cublasStatus_t s_ = (x);                                                            \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                  \
      std::fprintf(stderr, "%s:%d %s: cublas status %d\n", __FILE__, __LINE__, #x, (int)s_); \
      std::exit(1);                                                                     \
    }                                                                                   \
  } while (0)

namespace {

struct Shape {
  const char* name;
  int n, k;
};
struct Model {
  const char* name;
  int m, layers;
  std::vector<Shape> shapes;
};

const std::vector<Model> kModels = {
    {"xvla", 262, 24, {{"qkv", 3072, 1024}, {"o", 1024, 1024}, {"fc1", 4096, 1024}, {"fc2", 1024, 4096}}},
    {"pi0", 50, 18, {{"qkv", 2560, 1024}, {"o", 1024, 2048}, {"gate_up", 8192, 1024}, {"down", 1024, 4096}}},
    {"pi05", 10, 18, {{"qkv", 2560, 1024}, {"o", 1024, 2048}, {"gate_up", 8192, 1024}, {"down", 1024, 4096}}},
    {"siglip", 512, 27, {{"qkv", 3456, 1152}, {"o", 1152, 1152}, {"fc1", 4304, 1152}, {"fc2", 1152, 4304}}},
    {"prefix", 526, 18, {{"qkv", 2560, 2048}, {"o", 2048, 2048}, {"gate_up", 32768, 2048}, {"down", 2048, 16384}}},
};

__global__ void FillKernel(__nv_bfloat16* p, size_t n, uint32_t seed, float scale) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    p[i] = __float2bfloat16(scale * ((h & 0xFFFF) / 32768.0f - 1.0f));
  }
}

__nv_bfloat16* AllocRandom(size_t n, uint32_t seed, float scale) {
  __nv_bfloat16* p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, n * sizeof(__nv_bfloat16)));
  FillKernel<<<1024, 256>>>(p, n, seed, scale);
  CHECK_CUDA(cudaGetLastError());
  return p;
}

// Median of `iters` replays of the graph that `enqueue` captures, microseconds.
double TimeGraph(const std::function<bool(cudaStream_t)>& enqueue, cudaStream_t stream, int iters) {
  cudaGraph_t graph;
  CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  const bool ok = enqueue(stream);
  CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
  if (!ok) {
    CHECK_CUDA(cudaGraphDestroy(graph));
    return -1;
  }
  cudaGraphExec_t exec;
  CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  for (int i = 0; i < 3; ++i) CHECK_CUDA(cudaGraphLaunch(exec, stream));
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    CHECK_CUDA(cudaEventRecord(e0, stream));
    CHECK_CUDA(cudaGraphLaunch(exec, stream));
    CHECK_CUDA(cudaEventRecord(e1, stream));
    CHECK_CUDA(cudaEventSynchronize(e1));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, e0, e1));
    t.push_back(ms * 1000.0);
  }
  std::sort(t.begin(), t.end());
  CHECK_CUDA(cudaEventDestroy(e0));
  CHECK_CUDA(cudaEventDestroy(e1));
  CHECK_CUDA(cudaGraphExecDestroy(exec));
  CHECK_CUDA(cudaGraphDestroy(graph));
  return t[t.size() / 2];
}

// cuBLASLt: D[m, n] row-major = X·Wᵀ + bias is, column-major, Dᵀ[n, m] = W (op T) · Xᵀ.
struct LtGemm {
  cublasLtHandle_t handle;
  void* workspace = nullptr;
  size_t workspace_bytes = 32u << 20;

  struct Plan {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
    std::vector<cublasLtMatmulAlgo_t> algos;
  };
  std::map<std::string, Plan> plans;

  LtGemm() {
    CHECK_LT(cublasLtCreate(&handle));
    CHECK_CUDA(cudaMalloc(&workspace, workspace_bytes));
  }

  Plan& PlanFor(int m, int n, int k, const void* bias) {
    const std::string key = std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    Plan p;
    CHECK_LT(cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t t = CUBLAS_OP_T, nn = CUBLAS_OP_N;
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof(t)));
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &nn, sizeof(nn)));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    cudaDataType_t bt = CUDA_R_16BF;
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)));
    CHECK_LT(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, k, n, k));
    CHECK_LT(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, k, m, k));
    CHECK_LT(cublasLtMatrixLayoutCreate(&p.d, CUDA_R_16BF, n, m, n));
    cublasLtMatmulPreference_t pref;
    CHECK_LT(cublasLtMatmulPreferenceCreate(&pref));
    CHECK_LT(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &workspace_bytes, sizeof(workspace_bytes)));
    cublasLtMatmulHeuristicResult_t res[8];
    int found = 0;
    CHECK_LT(cublasLtMatmulAlgoGetHeuristic(handle, p.op, p.a, p.b, p.d, p.d, pref, 8, res, &found));
    for (int i = 0; i < found; ++i) p.algos.push_back(res[i].algo);
    cublasLtMatmulPreferenceDestroy(pref);
    return plans.emplace(key, p).first->second;
  }

  bool Run(const probe::Problem& q, int algo, cudaStream_t stream) {
    Plan& p = PlanFor(q.m, q.n, q.k, q.bias);
    if (algo >= static_cast<int>(p.algos.size())) return false;
    CHECK_LT(cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &q.bias, sizeof(q.bias)));
    const float one = 1.0f, zero = 0.0f;
    return cublasLtMatmul(handle, p.op, &one, q.w, p.a, q.x, p.b, &zero, q.d, p.d, q.d, p.d, &p.algos[algo],
                          workspace, workspace_bytes, stream) == CUBLAS_STATUS_SUCCESS;
  }
};

struct LayerWeights {
  std::vector<__nv_bfloat16*> w, bias;  // per shape
};

// A GEMM implementation choice: cuBLASLt algorithm index, or a CUTLASS variant (+PDL, splits).
struct Choice {
  int lt_algo = -1;  // >= 0: cuBLASLt
  const probe::Variant* v = nullptr;
  bool pdl = false;
  int splits = 1;
  std::string Name() const {
    if (v == nullptr) return "lt" + std::to_string(lt_algo);
    std::string s = v->name;
    if (splits > 1) s += "/s" + std::to_string(splits);
    return s + (pdl ? "+pdl" : "");
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string models = "xvla,pi0,pi05,siglip,prefix";
  int iters = 30;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--models") && i + 1 < argc) models = argv[++i];
    else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) iters = std::atoi(argv[++i]);
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("# CUTLASS GEMM probe on %s (%d SMs); %zu CUTLASS variants; medians of %d graph replays\n",
              prop.name, prop.multiProcessorCount, probe::Variants().size(), iters);
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  LtGemm lt;
  void* workspace = nullptr;
  const size_t workspace_bytes = 256u << 20;
  CHECK_CUDA(cudaMalloc(&workspace, workspace_bytes));

  for (const Model& model : kModels) {
    if (models.find(model.name) == std::string::npos) continue;
    int max_k = 0, max_n = 0;
    for (const Shape& s : model.shapes) max_k = std::max(max_k, s.k), max_n = std::max(max_n, s.n);
    __nv_bfloat16* x = AllocRandom(static_cast<size_t>(model.m) * max_k, 7, 1.0f);
    __nv_bfloat16 *d = nullptr, *d_ref = nullptr;
    CHECK_CUDA(cudaMalloc(&d, static_cast<size_t>(model.m) * max_n * 2));
    CHECK_CUDA(cudaMalloc(&d_ref, static_cast<size_t>(model.m) * max_n * 2));
    std::vector<LayerWeights> layers(model.layers);
    for (int l = 0; l < model.layers; ++l) {
      for (size_t si = 0; si < model.shapes.size(); ++si) {
        const Shape& s = model.shapes[si];
        layers[l].w.push_back(AllocRandom(static_cast<size_t>(s.n) * s.k, 1000 + 17 * l + si, 1.0f / std::sqrt(s.k)));
        layers[l].bias.push_back(AllocRandom(s.n, 5000 + 17 * l + si, 0.1f));
      }
    }
    CHECK_CUDA(cudaDeviceSynchronize());
    auto problem = [&](int l, size_t si, __nv_bfloat16* out, int splits) {
      probe::Problem p;
      p.x = x;
      p.w = layers[l].w[si];
      p.bias = layers[l].bias[si];
      p.d = out;
      p.m = model.m;
      p.n = model.shapes[si].n;
      p.k = model.shapes[si].k;
      p.workspace = workspace;
      p.sm_count = prop.multiProcessorCount;
      p.splits = splits;
      return p;
    };
    auto run = [&](const Choice& c, const probe::Problem& p, cudaStream_t s) -> bool {
      if (c.v == nullptr) return lt.Run(p, c.lt_algo, s);
      if (c.v->workspace(p) > workspace_bytes) return false;
      return c.v->run(p, s, c.pdl) == 0;
    };
    std::printf("\n## %s: M = %d, %d layers\n\n", model.name, model.m, model.layers);
    std::printf("| shape | N x K | cuBLASLt best | CUTLASS best (+PDL) | all CUTLASS (us per layer; err = max|diff|/max|ref|) |\n|---|---|---:|---:|---|\n");
    std::vector<Choice> best_lt(model.shapes.size()), best_cut(model.shapes.size());
    for (size_t si = 0; si < model.shapes.size(); ++si) {
      const Shape& s = model.shapes[si];
      const size_t count = static_cast<size_t>(model.m) * s.n;
      // Reference: cuBLASLt algorithm 0 on layer 0.
      if (!lt.Run(problem(0, si, d_ref, 1), 0, stream)) {
        std::printf("| %s | cuBLASLt failed |\n", s.name);
        continue;
      }
      std::vector<__nv_bfloat16> ref(count), got(count);
      CHECK_CUDA(cudaMemcpyAsync(ref.data(), d_ref, count * 2, cudaMemcpyDeviceToHost, stream));
      CHECK_CUDA(cudaStreamSynchronize(stream));
      float ref_max = 0;
      for (auto v : ref) ref_max = std::max(ref_max, std::fabs(__bfloat162float(v)));
      auto time_choice = [&](const Choice& c) {
        return TimeGraph(
            [&](cudaStream_t st) {
              for (int l = 0; l < model.layers; ++l)
                if (!run(c, problem(l, si, d, c.splits), st)) return false;
              return true;
            },
            stream, iters) / model.layers;
      };
      double lt_best = 1e30;
      for (int a = 0; a < 8; ++a) {
        Choice c;
        c.lt_algo = a;
        const double t = time_choice(c);
        if (t > 0 && t < lt_best) lt_best = t, best_lt[si] = c;
      }
      std::string all;
      double cut_best = 1e30;
      for (const probe::Variant& v : probe::Variants()) {
        for (int splits : {1, 2, 4}) {
          const bool stream_k = std::strstr(v.name, "sk") != nullptr;
          if (splits > 1 && !stream_k) continue;
          Choice c;
          c.v = &v;
          c.splits = splits;
          // Correctness on layer 0 first.
          CHECK_CUDA(cudaMemsetAsync(d, 0, count * 2, stream));
          if (!run(c, problem(0, si, d, splits), stream)) continue;
          CHECK_CUDA(cudaMemcpyAsync(got.data(), d, count * 2, cudaMemcpyDeviceToHost, stream));
          CHECK_CUDA(cudaStreamSynchronize(stream));
          float diff = 0;
          for (size_t i = 0; i < count; ++i)
            diff = std::max(diff, std::fabs(__bfloat162float(got[i]) - __bfloat162float(ref[i])));
          const double t0 = time_choice(c);
          c.pdl = true;
          const double t1 = time_choice(c);
          char buf[160];
          std::snprintf(buf, sizeof(buf), "%s %.2f/%.2f (err %.1e); ", c.Name().c_str(), t0, t1, diff / ref_max);
          all += buf;
          if (diff / ref_max > 1e-2) continue;  // wrong: never picked
          if (t1 > 0 && t1 < cut_best) cut_best = t1, best_cut[si] = c;
          if (t0 > 0 && t0 < cut_best) {
            cut_best = t0;
            best_cut[si] = c;
            best_cut[si].pdl = false;
          }
        }
      }
      std::printf("| %s | %dx%d | %.2f (%s) | %.2f (%s) | %s |\n", s.name, s.n, s.k, lt_best,
                  best_lt[si].Name().c_str(), cut_best, best_cut[si].v ? best_cut[si].Name().c_str() : "-",
                  all.c_str());
      std::fflush(stdout);
    }
    // The whole chain: every layer's GEMMs in order.
    auto chain = [&](const std::vector<Choice>& picks) {
      return TimeGraph(
          [&](cudaStream_t st) {
            for (int l = 0; l < model.layers; ++l)
              for (size_t si = 0; si < model.shapes.size(); ++si) {
                const Choice& c = picks[si];
                if (!run(c, problem(l, si, d, c.splits), st)) return false;
              }
            return true;
          },
          stream, iters) / model.layers;
    };
    std::vector<Choice> mixed = best_cut;
    for (size_t si = 0; si < mixed.size(); ++si)
      if (mixed[si].v == nullptr) mixed[si] = best_lt[si];
    std::vector<Choice> mixed_nopdl = mixed;
    for (auto& c : mixed_nopdl) c.pdl = false;
    std::printf("\nchain (us per layer, %zu GEMMs): cuBLASLt best algos %.2f; CUTLASS picks %.2f; same picks without PDL %.2f\n",
                model.shapes.size(), chain(best_lt), chain(mixed), chain(mixed_nopdl));
    std::fflush(stdout);
    for (auto& l : layers) {
      for (auto* p : l.w) cudaFree(p);
      for (auto* p : l.bias) cudaFree(p);
    }
    cudaFree(x);
    cudaFree(d);
    cudaFree(d_ref);
  }
  return 0;
}
