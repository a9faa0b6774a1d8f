// SPDX-License-Identifier: Apache-2.0
//
// cuda_backend_impl.h: the CudaBackend class. Its methods are spread over one *_op.cc per op
// family (validation, path choice, kernel launch); memory, Upload/Download and creation are
// in cuda_backend.cc. Host-only (uses fmt through VLART_CHECK); kernels live in *.cu.
//
// Invariants every op keeps: work goes only to stream_; nothing is allocated or
// synchronised (graph capture); scratch_ is reused by one op at a time (ops are serialised
// on the stream); AfterOp() runs once per op (launch check, VLART_CUDA_SYNC_CHECK).
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>
#include <map>
#include <optional>
#include <tuple>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "backends/cuda/cublaslt_gemm.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/cuda_backend_internal.h"
#include "backends/cuda/gemm_refine_plan.h"
#include "backends/cuda/gemm_tuning_file.h"
#include "backends/cuda/kernel_args.h"
#include "backends/cuda/kernels.h"
#include "core/tensor.h"
#include "ops/backend.h"

namespace vlart::cuda {

static_assert(kKernelMaxDims == kMaxDims, "kernel_args.h must mirror core/tensor.h");

// ---- host helpers shared by the *_op.cc files (strided.cc) ----------------------------------
StridedArg ToArg(const Tensor& t);
// A checked RowRmsScale (x [R, C], innermost contiguous) for the kernels.
RowRmsArg ToRowRmsArg(const RowRmsScale& s);
// Drops size-1 dims and merges neighbouring dims that are contiguous in every operand (all
// operands have the same shape). A fully contiguous set becomes one flat dim.
void CollapseDims(std::initializer_list<StridedArg*> args);
// All dims but the last as one row index with a uniform stride: rows = Π shape[:-1]; false
// when the leading dims cannot be expressed as a single stride. rows <= 1 gives row_stride 0.
bool CollapseRows(const Tensor& t, int64_t* rows, int64_t* row_stride);
ActKind ToActKind(Activation act);
// The row stride of a 2-D view with contiguous columns, in elements (a single row: its width).
int64_t RowStride(const Tensor& t);
// F32, F16 or BF16.
bool IsComputeFloat(DType dtype);
int ElementBytes(DType dtype);
const void* OffsetPtr(const void* p, int64_t elements, DType dtype);
void* OffsetPtr(void* p, int64_t elements, DType dtype);

// A GEMM in nn.Linear orientation, D[M, N] = act(A[M, K]·B[N, K]ᵀ + bias) + residual, with
// row-major operands (B's rows contiguous). RunGemm picks cuBLASLt (+ an epilogue pass) or
// the SIMT kernel.
struct GemmOperands {
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  // [M, K]; row stride lda, column stride a_col_stride
  DType a_dtype = DType::kF32;
  int64_t lda = 0, a_col_stride = 1;
  const void* b = nullptr;  // [N, K]; row stride ldb, contiguous rows
  DType b_dtype = DType::kF32;
  int64_t ldb = 0;
  const void* bias = nullptr;  // [N] or null
  DType bias_dtype = DType::kF32;
  int64_t bias_stride = 1;
  ActKind act = ActKind::kNone;
  const void* residual = nullptr;  // [M, N] or null; may be d itself (same strides)
  DType residual_dtype = DType::kF32;
  int64_t ldr = 0, r_col_stride = 1;
  void* d = nullptr;  // [M, N]
  DType d_dtype = DType::kF32;
  int64_t ldd = 0, d_col_stride = 1;
};
// Writes rows [row0, row0 + rows) of A into dst (dtype = B's, row stride ld).
using RowMaterializer = std::function<void(int64_t row0, int64_t rows, void* dst, int64_t ld)>;

// The device address ranges of sealed arenas (Arena::Seal): memory no op writes any more, so
// kernels may read it before waiting for the previous kernel (gemm_skinny.cu's weight
// preload). Arenas add their chunks when sealed and remove them when destroyed.
// LinearResidualLayerNorm's operands on the fused path (linear_norm_op.cc): the GEMM's A
// [M, K] (row stride lda) and B [N, K] (contiguous) in dtype, and everything after the
// product in `e` (partials unset until a split count is chosen).
struct LinearNormOperands {
  const void* a = nullptr;
  int64_t lda = 0;
  const void* b = nullptr;
  int64_t k = 0;
  DType dtype = DType::kBF16;
  SplitSumNormArgs e;
};

class SealedRanges {
 public:
  void Add(const void* base, size_t bytes);
  void Remove(const void* base);
  // True when [p, p + bytes) lies inside one sealed range.
  bool Contains(const void* p, size_t bytes) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<uintptr_t, size_t>> ranges_;
};

class CudaBackend final : public Backend {
 public:
  static Result<std::unique_ptr<CudaBackend>> Create(const CudaBackendOptions& options);
  ~CudaBackend() override;

  std::string_view name() const override { return name_; }
  Device device() const override { return Device::kCuda; }
  DType compute_dtype() const override { return compute_dtype_; }

  std::unique_ptr<Arena> NewArena() override;
  void Upload(const Tensor& host_src, const Tensor& dst) override;
  void Download(const Tensor& src, const Tensor& host_dst) override;
  void Synchronize() override;

  Result<std::unique_ptr<RecordedWork>> Record(const std::function<void()>& enqueue) override;
  std::unique_ptr<StageClock> NewStageClock(int num_marks) override;
  size_t bytes_in_use() const override;

  void Copy(const Tensor& src, const Tensor& dst) override;
  void Fill(const Tensor& dst, float value) override;
  void Prefetch(std::span<const Tensor> tensors) override;
  void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) override;
  void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) override;
  void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                    const Tensor& out) override;

  void Add(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void Mul(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y, const Tensor& out) override;
  void Activate(Activation act, const Tensor& x, const Tensor& out) override;
  void GatedActivation(Activation act, const Tensor& gate, const Tensor& up, const Tensor& out,
                       const RowRmsScale* row_scale) override;
  void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) override;

  void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
              const Tensor* residual, const Tensor& out) override;
  void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                    const Tensor& domain_ids, const Tensor& out) override;

  void LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                               const Tensor& residual, const Tensor& out, const Tensor& gamma,
                               const Tensor& beta, float eps, const Tensor& normed) override;
  void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                 const Tensor& out) override;
  void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
               const Tensor& out) override;
  void MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate, const Tensor& scale,
                        const Tensor& shift, float eps, const Tensor& out) override;
  void GatedMlp(const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w, Activation act,
                const RowRmsScale* row_scale, const Tensor* residual, const Tensor& hidden,
                const Tensor& out) override;
  void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                  const Tensor& out) override;
  void Softmax(const Tensor& x, const Tensor& out) override;
  void MeanOverTokens(const Tensor& x, const Tensor& out) override;

  void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
                 const Tensor& out) override;
  void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                        const Tensor& out) override;
  void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) override;
  void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
               float theta, const Tensor& q_out, const Tensor& k_out, const Tensor& v_out,
               const RowRmsScale* row_scale) override;

  void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& params,
              const Tensor* residual, const Tensor& out) override;

  cudaStream_t stream() const { return stream_; }
  int device_index() const { return device_; }
  Stats& stats() { return stats_; }
  int cublaslt_max_algos() const { return lt_->max_algos(); }

 private:
  CudaBackend() = default;
  // Makes device_ current for this thread (launches go to the current device).
  void BeginOp();
  // Per-op epilogue: with VLART_CUDA_SYNC_CHECK=1 (and no capture in progress) waits for the
  // stream and names `op` if the device faulted.
  void AfterOp(const char* op);
  // Counts an elementwise launch's path in stats_.
  void CountElementwise(ElementwisePath path);
  void RunGemm(const GemmOperands& g, const RowMaterializer* materialize_a);
  void RunGemmChunk(const GemmOperands& g);
  void RunSimtGemm(const GemmOperands& g);
  // vlart's bf16/f16 tensor-core GEMM when the operands qualify; false otherwise.
  bool TryGemmMma(const GemmOperands& g);
  // The tile/split configuration for a problem: timed on first eager use, cached per shape.
  GemmMmaConfig GemmConfigFor(const GemmMmaArgs& p, DType dtype);
  bool GemmConfigFits(const GemmMmaArgs& p, const GemmMmaConfig& c) const;
  // cuBLASLt. Unfused (one rounding): straight to D's dtype for a plain product (no bias,
  // activation or residual), else the product in f32 + one epilogue pass. Fused
  // (GemmMmaConfig::lt_fused; two roundings): bias and residual in cuBLASLt's epilogue with
  // a 16-bit D, an activation as a pass over D; false for a plain product (nothing to fuse)
  // and for activation + residual. `algo` is LtGemm's algorithm number for that form. false
  // when cuBLASLt rejects the problem (or has no algorithm `algo`).
  bool RunGemmLt(const GemmMmaArgs& p, DType dtype, int algo = 0, bool fused = false, bool gelu = false);
  bool RunGemmLtFused(const GemmMmaArgs& p, DType dtype, int algo, bool gelu);
  static constexpr int kGemmViaCublas = -1;  // GemmMmaConfig::tile of that candidate
  // LinearResidualLayerNorm (linear_norm_op.cc); LinearNormKey / LinearNormPick:
  // gemm_tuning_file.h. Timed on first eager use per shape, like the GEMM tuner, and kept in
  // the tuning file beside the GEMM picks.
  LinearNormPick LinearNormPickFor(const LinearNormOperands& op, const Tensor& x, const Tensor& w,
                                   const Tensor* bias, const Tensor& residual, const Tensor& gamma,
                                   const Tensor& beta, float eps);
  bool RunLinearNormFused(const LinearNormOperands& op, int splits, int algo);
  std::map<LinearNormKey, LinearNormPick> linear_norm_picks_;
  bool fuse_linear_norm_ = true;  // VLART_FUSED_LINEAR_NORM=0: always Linear then LayerNorm
  // How many of cuBLASLt's algorithms (its heuristic's first N) the LinearResidualLayerNorm
  // tuner times per split count (VLART_LINEAR_NORM_ALGOS=N; 0: all the plan keeps). 1: near-tie
  // algorithms ranked by the bursts ran differently in the model (X-VLA proj: algorithm 6 of
  // 2 splits, a 120-block cluster-4 kernel, started 3-7 us after the attention ended, beside
  // the L2 prefetch branch; the heuristic's first started at once; policy 10.27-10.34 against
  // 9.88-9.95 ms, H100 2026-11-24).
  int linear_norm_algos_ = 1;

  int device_ = 0;
  DType compute_dtype_ = DType::kBF16;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<LtGemm> lt_;
  void* scratch_ = nullptr;
  size_t scratch_bytes_ = 0;
  size_t arena_chunk_bytes_ = 0;
  size_t attention_simt_smem_limit_ = 0;
  bool sync_check_ = false;
  bool force_fallback_ = false;
  Stats stats_;
  // Bytes of every live arena's cudaMalloc'd chunks (shared with the arenas).
  std::shared_ptr<std::atomic<size_t>> arena_reserved_ = std::make_shared<std::atomic<size_t>>(0);
  std::shared_ptr<SealedRanges> sealed_ = std::make_shared<SealedRanges>();
  size_t workspace_bytes_ = 0;  // cuBLASLt workspace (and the GEMM split-K buffers below)
  int num_sms_ = 132;
  // Split-K partials and per-tile arrival counters of the tensor-core GEMM (created once;
  // the counters return to zero after every GEMM).
  static constexpr size_t kGemmWorkspaceFloats = size_t{8} << 20;  // 32 MiB
  static constexpr int64_t kGemmCounters = 1 << 16;
  float* gemm_workspace_ = nullptr;
  float* gemm_f32_ = nullptr;  // [kGemmWorkspaceFloats] f32 products of the cuBLASLt candidate
  int* gemm_counters_ = nullptr;
  bool gemm_autotune_ = true;  // VLART_GEMM_AUTOTUNE=0 turns timing off
  // The tuner times [neighbor, GEMM] pairs minus neighbors (gemm_tune_neighbor.cu);
  // VLART_GEMM_TUNE_NEIGHBOR=0: bursts of the GEMM alone (the earlier tuner, for A/B runs).
  bool gemm_tune_neighbor_ = true;
  bool gemm_late_trigger_ = true;  // VLART_GEMM_LATE_TRIGGER=0: false (GemmMmaArgs::late_trigger)
  bool lt_gelu_ = true;  // GELU-epilogue candidates (GemmMmaConfig::lt_gelu); VLART_GEMM_LT_GELU=0: none
  void* tune_out_ = nullptr;   // output of timed candidate runs
  void* staging_ = nullptr;    // pinned host buffer of Upload
  size_t staging_bytes_ = 0;
  size_t staging_used_ = 0;    // bytes of staging_ whose copies may still be in flight
  size_t tune_out_bytes_ = 0;
  bool gemm_verbose_ = false;  // VLART_GEMM_VERBOSE=1 prints every choice
  bool fused_lt_epilogues_ = true;  // CudaBackendOptions::fused_lt_epilogues
  bool fuse_residual_norm_ = true;  // MulAddAdaRmsNorm as one kernel (VLART_FUSED_RESIDUAL_NORM=0: two)
  // The fused GatedMlp's grid barrier: two words (arrival count, generation), zero at creation;
  // only this backend's stream uses them, one launch after another.
  unsigned int* grid_barrier_ = nullptr;
  bool l2_prefetch_ = true;         // CudaBackendOptions::l2_prefetch (VLART_L2_PREFETCH=0: off)
  std::map<GemmTuneKey, GemmMmaConfig> gemm_configs_;  // GemmTuneKey: gemm_tuning_file.h
  // CudaBackendOptions::gemm_tuning_file (gemm_tuning_op.cc): the stamp a usable file carries,
  // and the path ("" = none). Loaded picks have no other candidates, so Record does not re-try them.
  std::string gemm_tuning_file_;
  GemmTuningStamp gemm_tuning_stamp_;
  void LoadGemmTuning();
  void SaveGemmTuning() const;
  // The per-GEMM tuner's other candidates, settled inside the whole recorded forward
  // (recording.cc; VLART_GEMM_REFINE=0 turns it off): per shape, every candidate the bursts
  // timed besides the pick, best first, with its score over the pick's, until a Record has
  // tried the ones gemm_refine_plan.h chooses by what the shape weighs in that forward.
  bool gemm_refine_ = true;
  GemmRefinePolicy gemm_refine_policy_;
  std::map<GemmTuneKey, std::vector<GemmRefineCandidate>> gemm_refine_candidates_;
  std::map<GemmTuneKey, float> gemm_pick_us_;         // the pick's burst us, per shape
  std::map<GemmTuneKey, int> gemm_calls_recorded_;    // calls per shape in Record's capture
  bool counting_gemm_calls_ = false;                  // true only during that capture
  // Re-records `enqueue` with each chosen candidate forced in turn and keeps a pick only if
  // the whole graph replays faster with it; *graph / *exec hold the kept recording.
  void RefineGemmPicks(const std::function<void()>& enqueue, cudaGraph_t* graph,
                       cudaGraphExec_t* exec);
 public:
  std::optional<GemmMmaConfig> forced_gemm_config_;  // ForceGemmConfig (tests)
  int forced_attention_splits_ = 0;                   // ForceAttentionSplits (tests); 0: heuristic
  bool fuse_gated_mlp_ = false;  // GatedMlp as one kernel where it fits (VLART_FUSED_MLP=1, SetGatedMlpFused)
  int forced_linear_norm_splits_ = -1;  // ForceLinearNormSplits (tests): -1 tuner, 0 unfused, S
  bool force_attention_mask_ldg_ = false;             // ForceAttentionMaskLdg (tests)
  AttentionMerge forced_attention_merge_ = AttentionMerge::kAuto;  // ForceAttentionMerge (tests)
  int forced_attention_resident_splits_ = 0;          // ForceAttentionResidentSplits (tests)
  int forced_attention_rows_ = 0;  // ForceAttentionRows / VLART_ATTENTION_ROWS: -1 off, 0 auto, N warps
  // The head-folded attention's device facts (InitAttentionFlashKernels): cluster_splits is
  // the largest split count merged in a cluster (1: never, also with
  // VLART_ATTENTION_CLUSTER_MERGE=0).
  AttentionFlashDevice attention_flash_device_;
 private:
};

}  // namespace vlart::cuda
