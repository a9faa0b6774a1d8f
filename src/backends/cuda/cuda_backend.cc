// SPDX-License-Identifier: Apache-2.0
//
// cuda_backend.cc: CudaBackend creation and teardown, the cudaMalloc'd bump Arena,
// Upload/Download (host-side dtype conversion, bit-exact with torch via float_convert.h),
// Synchronize, the per-op hooks (device selection, VLART_CUDA_SYNC_CHECK) and the accessors
// of cuda_backend_internal.h.

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <atomic>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "core/float_convert.h"
#include "core/float_convert_array.h"
#include "core/host_tensor.h"
#include "ops/op_checks.h"

namespace vlart {
namespace cuda {
namespace {

constexpr size_t kArenaAlignment = 256;

// True when the environment variable `name` is set to exactly `value`.
bool EnvIs(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string_view(v) == value;
}

bool EnvFlag(const char* name) { return EnvIs(name, "1"); }

// The error for a GPU this build has no code for (QueryKernelImage failed with `err`): which
// GPU, which architectures the build has, and the VLART_CUDA_ARCHS entry that would cover it.
Status NoKernelImage(int device, cudaError_t err) {
  cudaDeviceProp prop{};
  const bool known = cudaGetDeviceProperties(&prop, device) == cudaSuccess;
  (void)cudaGetLastError();
  const int sm = known ? prop.major * 10 + prop.minor : 0;
  // sm_90 wants the arch-specific 90a (wgmma); every other GPU its plain number.
  const std::string arch = sm == 90 ? "90a" : std::to_string(sm);
  return Unimplemented(
      "creating CUDA backend: device {} ({}): kernels: expected code for sm_{}, got a build for "
      "CUDA archs {} ({}); hint: rebuild with VLART_CUDA_ARCHS=\"{}\" scripts/setup.sh "
      "(docs/ARCHITECTURE.md, \"Building for GPUs\")",
      device, known ? prop.name : "unknown GPU", known ? std::to_string(sm) : "?",
      VLART_CUDA_ARCHS_STRING, cudaGetErrorName(err), arch);
}

size_t RoundUp(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Bump allocator over cudaMalloc'd chunks; everything is freed with the arena.
class CudaArena final : public Arena {
 public:
  CudaArena(int device, size_t chunk_bytes, std::shared_ptr<std::atomic<size_t>> reserved,
            std::shared_ptr<SealedRanges> sealed_ranges)
      : device_(device),
        chunk_bytes_(chunk_bytes),
        reserved_(std::move(reserved)),
        sealed_ranges_(std::move(sealed_ranges)) {}
  ~CudaArena() override {
    for (const Chunk& c : chunks_) {
      if (sealed_) sealed_ranges_->Remove(c.base);
      VLART_CUDA_CHECK_TEARDOWN(cudaFree(c.base));
      *reserved_ -= c.size;
    }
  }

  Tensor Allocate(const Shape& shape, DType dtype) override {
    const int64_t numel = shape.numel();
    VLART_CHECK(numel >= 0, "CudaArena: negative shape {}", shape.ToString());
    VLART_CHECK(!sealed_, "CudaArena: the arena is sealed (Arena::Seal), cannot allocate {} {}",
                DTypeName(dtype), shape.ToString());
    // Empty tensors still get a distinct, aligned address.
    const size_t bytes = RoundUp(std::max<size_t>(DTypeBytes(dtype, numel), 1), kArenaAlignment);
    if (chunks_.empty() || chunks_.back().size - chunks_.back().used < bytes) {
      const size_t size = std::max(chunk_bytes_, bytes);
      int previous = 0;
      VLART_CUDA_CHECK(cudaGetDevice(&previous));
      VLART_CUDA_CHECK(cudaSetDevice(device_));
      void* base = nullptr;
      const cudaError_t err = cudaMalloc(&base, size);
      VLART_CHECK(err == cudaSuccess,
                  "CudaArena: cudaMalloc of {} bytes on device {} failed: {} ({} bytes already "
                  "allocated by this arena)",
                  size, device_, cudaGetErrorString(err), bytes_allocated_);
      VLART_CUDA_CHECK(cudaSetDevice(previous));
      chunks_.push_back({static_cast<char*>(base), size, 0});
      *reserved_ += size;
    }
    Chunk& c = chunks_.back();
    void* data = c.base + c.used;
    c.used += bytes;
    bytes_allocated_ += bytes;
    return Tensor::Contiguous(data, dtype, shape, Device::kCuda);
  }

  size_t bytes_allocated() const override { return bytes_allocated_; }

  void Seal() override {
    if (sealed_) return;
    int previous = 0;
    VLART_CUDA_CHECK(cudaGetDevice(&previous));
    VLART_CUDA_CHECK(cudaSetDevice(device_));
    VLART_CUDA_CHECK(cudaDeviceSynchronize());  // every write to the arena has landed
    VLART_CUDA_CHECK(cudaSetDevice(previous));
    for (const Chunk& c : chunks_) sealed_ranges_->Add(c.base, c.used);
    sealed_ = true;
  }
  bool sealed() const override { return sealed_; }

 private:
  struct Chunk {
    char* base;
    size_t size;
    size_t used;
  };
  int device_;
  size_t chunk_bytes_;
  std::vector<Chunk> chunks_;
  size_t bytes_allocated_ = 0;
  std::shared_ptr<std::atomic<size_t>> reserved_;  // the backend's total of cudaMalloc'd chunks
  std::shared_ptr<SealedRanges> sealed_ranges_;     // the backend's registry (Seal adds to it)
  bool sealed_ = false;
};

// Writes element i of `dtype` (F32/F16/BF16) into `dst` from an f32 value, rounding like torch.
void StoreHost(void* dst, DType dtype, int64_t i, float v) {
  switch (dtype) {
    case DType::kF32: static_cast<float*>(dst)[i] = v; return;
    case DType::kF16: static_cast<uint16_t*>(dst)[i] = F32ToF16Bits(v); return;
    case DType::kBF16: static_cast<uint16_t*>(dst)[i] = F32ToBF16Bits(v); return;
    case DType::kF8E4M3:
    case DType::kF64:
    case DType::kI64:
    case DType::kI32:
    case DType::kI16:
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kFp4E2M1: break;
  }
  VLART_CHECK(false, "StoreHost: unsupported dtype {}", DTypeName(dtype));
}

}  // namespace

Result<std::unique_ptr<CudaBackend>> CudaBackend::Create(const CudaBackendOptions& options) {
  // Options first: a bad value is an error before any device is touched.
  int lt_algos = options.cublaslt_max_algos;
  if (const char* env = std::getenv("VLART_LT_ALGOS"); env != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (end == env || *end != '\0' || n < 1 || n > LtGemm::kMaxAlgosLimit) {
      return InvalidArgument("creating CUDA backend: VLART_LT_ALGOS: expected an integer 1..{}, got \"{}\"",
                             LtGemm::kMaxAlgosLimit, env);
    }
    lt_algos = static_cast<int>(n);
  }
  int count = 0;
  const cudaError_t count_err = cudaGetDeviceCount(&count);
  if (count_err != cudaSuccess || count == 0) {
    return Unimplemented("creating CUDA backend: devices: expected at least one, got none ({}); hint: "
                         "check the driver with nvidia-smi",
                         count_err == cudaSuccess ? "cudaGetDeviceCount returned 0"
                                                  : cudaGetErrorString(count_err));
  }
  if (options.device < 0 || options.device >= count) {
    return InvalidArgument("creating CUDA backend: device: expected 0 <= device < {}, got {}", count,
                           options.device);
  }
  if (!IsComputeFloat(options.compute_dtype)) {
    return InvalidArgument("creating CUDA backend: compute dtype: expected F32, F16 or BF16, got {}",
                           DTypeName(options.compute_dtype));
  }
  std::unique_ptr<CudaBackend> be(new CudaBackend());
  be->device_ = options.device;
  be->compute_dtype_ = options.compute_dtype;
  be->arena_chunk_bytes_ = std::max<size_t>(options.arena_chunk_bytes, kArenaAlignment);
  be->sync_check_ = EnvFlag("VLART_CUDA_SYNC_CHECK");
  be->force_fallback_ = options.force_fallback_kernels || EnvFlag("VLART_CUDA_FALLBACK");
  be->name_ = fmt::format("cuda:{} {}{}", options.device, DTypeName(options.compute_dtype),
                          be->force_fallback_ ? " fallback" : "");

  const auto fail = [](const char* what, cudaError_t err) {
    return Internal("creating CUDA backend: {}: {} ({})", what, cudaGetErrorName(err),
                    cudaGetErrorString(err));
  };
  if (cudaError_t e = cudaSetDevice(options.device); e != cudaSuccess) return fail("cudaSetDevice", e);
  // Before anything launches: does this build hold code the GPU can run (kernel_image.h)?
  KernelImage image;
  if (cudaError_t e = QueryKernelImage(options.device, &image); e != cudaSuccess) {
    return NoKernelImage(options.device, e);
  }
  if (cudaError_t e = cudaStreamCreateWithFlags(&be->stream_, cudaStreamNonBlocking); e != cudaSuccess) {
    return fail("cudaStreamCreateWithFlags", e);
  }
  if (options.scratch_bytes > 0) {
    if (cudaError_t e = cudaMalloc(&be->scratch_, options.scratch_bytes); e != cudaSuccess) {
      return fail("cudaMalloc(scratch)", e);
    }
  }
  be->scratch_bytes_ = options.scratch_bytes;
  VLART_ASSIGN_OR_RETURN(be->lt_, LtGemm::Create(options.cublaslt_workspace_bytes, lt_algos));
  be->workspace_bytes_ = options.cublaslt_workspace_bytes;
  be->attention_simt_smem_limit_ = InitAttentionKernels();
  InitAttentionResidentKernels();
  InitAttentionRowsKernels();
  be->attention_flash_device_ = InitAttentionFlashKernels();
  // Switches for same-call A/B runs (scripts/device_session.sh, STEPS=ab AB_ENV=...):
  if (EnvIs("VLART_ATTENTION_CLUSTER_MERGE", "0")) {
    be->attention_flash_device_.cluster_splits = 1;  // split partials through the merge kernel
  }
  if (EnvIs("VLART_ATTENTION_MERGE", "cluster")) be->forced_attention_merge_ = AttentionMerge::kCluster;
  if (EnvIs("VLART_ATTENTION_MERGE", "kernel")) be->forced_attention_merge_ = AttentionMerge::kKernel;
  if (EnvIs("VLART_ATTENTION_CLUSTER_SPREAD", "0")) {
    be->attention_flash_device_.spread_smem_bytes = 0;  // clusters may pack two blocks per SM
  }
  if (const char* env = std::getenv("VLART_ATTENTION_ROWS"); env != nullptr) {
    // 0: the one-pass kernel off (K/V-resident kernel instead); N: N warps per block.
    const int warps = std::atoi(env);
    be->forced_attention_rows_ = warps > 0 ? warps : -1;
  }
  if (const char* env = std::getenv("VLART_ATTENTION_RESIDENT_SPLITS"); env != nullptr) {
    be->forced_attention_resident_splits_ = std::max(0, std::atoi(env));  // 1: no key split
  }
  be->fuse_residual_norm_ = !EnvIs("VLART_FUSED_RESIDUAL_NORM", "0");  // 0: MulAdd, AdaRmsNorm
  be->fuse_linear_norm_ = !EnvIs("VLART_FUSED_LINEAR_NORM", "0");  // 0: Linear, LayerNorm
  be->fuse_gated_mlp_ = EnvIs("VLART_FUSED_MLP", "1");  // opt-in: slower in pi0.5's graph (H100)
  InitGatedMlpKernels();
  if (cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&be->grid_barrier_), 2 * sizeof(unsigned int));
      e != cudaSuccess) {
    return fail("cudaMalloc(grid barrier)", e);
  }
  VLART_CUDA_CHECK(cudaMemset(be->grid_barrier_, 0, 2 * sizeof(unsigned int)));
  if (const char* env = std::getenv("VLART_LINEAR_NORM_ALGOS"); env != nullptr) {
    be->linear_norm_algos_ = std::max(0, std::atoi(env));  // the first N algorithms (0: all)
  }
  InitGemmMmaKernels();
  if (cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&be->gemm_workspace_), kGemmWorkspaceFloats * sizeof(float));
      e != cudaSuccess) {
    return fail("cudaMalloc(gemm workspace)", e);
  }
  if (cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&be->gemm_f32_),
                                 kGemmWorkspaceFloats * sizeof(float));
      e != cudaSuccess) {
    return fail("cudaMalloc(gemm f32 products)", e);
  }
  if (cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&be->gemm_counters_), kGemmCounters * sizeof(int)); e != cudaSuccess) {
    return fail("cudaMalloc(gemm counters)", e);
  }
  VLART_CUDA_CHECK(cudaMemset(be->gemm_counters_, 0, kGemmCounters * sizeof(int)));
  if (EnvIs("VLART_GEMM_AUTOTUNE", "0")) be->gemm_autotune_ = false;
  if (EnvIs("VLART_GEMM_TUNE_NEIGHBOR", "0")) be->gemm_tune_neighbor_ = false;
  if (EnvIs("VLART_GEMM_LT_GELU", "0")) be->lt_gelu_ = false;
  if (EnvIs("VLART_GEMM_LATE_TRIGGER", "0")) be->gemm_late_trigger_ = false;
  be->fused_lt_epilogues_ = options.fused_lt_epilogues && !EnvFlag("VLART_GEMM_SINGLE_ROUNDING");
  if (EnvFlag("VLART_GEMM_VERBOSE")) be->gemm_verbose_ = true;
  if (EnvIs("VLART_GEMM_REFINE", "0")) be->gemm_refine_ = false;
  // The heaviest shapes' re-try window and count (gemm_refine_plan.h); WINDOW=0.04 MAX=3 is
  // the near-ties alone.
  if (const char* env = std::getenv("VLART_GEMM_REFINE_WINDOW"); env != nullptr) {
    be->gemm_refine_policy_.heavy_window = std::max(0.0f, std::strtof(env, nullptr));
  }
  if (const char* env = std::getenv("VLART_GEMM_REFINE_MAX"); env != nullptr) {
    be->gemm_refine_policy_.max_heavy = std::max(0, std::atoi(env));
  }
  if (const char* env = std::getenv("VLART_GEMM_REFINE_KEEP"); env != nullptr) {
    be->gemm_refine_policy_.keep = std::max(0.0, std::strtod(env, nullptr));
  }
  if (const char* env = std::getenv("VLART_GEMM_REFINE_BUDGET_S"); env != nullptr) {
    be->gemm_refine_policy_.budget_s = std::max(0.0, std::strtod(env, nullptr));
  }
  be->l2_prefetch_ = options.l2_prefetch && !EnvIs("VLART_L2_PREFETCH", "0");
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, options.device) == cudaSuccess &&
      sms > 0) {
    be->num_sms_ = sms;
  }
  const char* tuning_env = std::getenv("VLART_GEMM_TUNING_FILE");
  be->gemm_tuning_file_ = tuning_env != nullptr ? tuning_env : options.gemm_tuning_file;
  if (!be->gemm_tuning_file_.empty()) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, options.device) == cudaSuccess) be->gemm_tuning_stamp_.device = prop.name;
    be->gemm_tuning_stamp_.sms = be->num_sms_;
    be->gemm_tuning_stamp_.cublaslt_version = static_cast<long>(cublasLtGetVersion());
    be->gemm_tuning_stamp_.build = options.build_tag;
    be->LoadGemmTuning();
  }
  (void)cudaGetLastError();  // clear non-sticky errors of probing calls (none expected)
  return be;
}

CudaBackend::~CudaBackend() {
  if (stream_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaStreamSynchronize(stream_));
  lt_.reset();
  if (scratch_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(scratch_));
  if (gemm_workspace_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(gemm_workspace_));
  if (tune_out_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(tune_out_));
  if (gemm_f32_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(gemm_f32_));
  if (staging_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFreeHost(staging_));
  if (gemm_counters_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(gemm_counters_));
  if (grid_barrier_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaFree(grid_barrier_));
  if (stream_ != nullptr) VLART_CUDA_CHECK_TEARDOWN(cudaStreamDestroy(stream_));
}

std::unique_ptr<Arena> CudaBackend::NewArena() {
  return std::make_unique<CudaArena>(device_, arena_chunk_bytes_, arena_reserved_, sealed_);
}

void SealedRanges::Add(const void* base, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  ranges_.emplace_back(reinterpret_cast<uintptr_t>(base), bytes);
}

void SealedRanges::Remove(const void* base) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto b = reinterpret_cast<uintptr_t>(base);
  std::erase_if(ranges_, [b](const std::pair<uintptr_t, size_t>& r) { return r.first == b; });
}

bool SealedRanges::Contains(const void* p, size_t bytes) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (const auto& [base, size] : ranges_) {
    if (a >= base && a - base <= size && bytes <= size - (a - base)) return true;
  }
  return false;
}

void CudaBackend::BeginOp() {
  int current = -1;
  VLART_CUDA_CHECK(cudaGetDevice(&current));
  if (current != device_) VLART_CUDA_CHECK(cudaSetDevice(device_));
}

void CudaBackend::AfterOp(const char* op) {
  VLART_CUDA_CHECK_LAUNCH();
  if (!sync_check_) return;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  VLART_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capture));
  if (capture != cudaStreamCaptureStatusNone) return;  // synchronising would break the capture
  const cudaError_t err = cudaStreamSynchronize(stream_);
  VLART_CHECK(err == cudaSuccess, "VLART_CUDA_SYNC_CHECK: op {} faulted on {}: {} ({})", op, name_,
              cudaGetErrorName(err), cudaGetErrorString(err));
}

void CudaBackend::Upload(const Tensor& host_src, const Tensor& dst) {
  BeginOp();
  CheckUploadArgs(Device::kCuda, host_src, dst);  // both contiguous, same shape
  const int64_t n = dst.numel();
  if (n == 0) return;
  const size_t bytes = DTypeBytes(dst.dtype, n);
  // Everything goes through a pinned staging buffer: a DMA from pinned memory runs at PCIe
  // speed, a pageable one is copied by the driver first. Uploads fill the buffer one after
  // another (256-byte aligned) and return once their copy is queued: the host source may be
  // reused at once (it was copied into staging), and the stream orders the copy before any
  // later op. Only when the buffer is full does Upload wait for the copies in flight and
  // start over at its beginning; Synchronize and Download (which wait anyway) start it over
  // too. (One cudaStreamSynchronize per upload cost pi0 ~1 ms over its 8 uploads.)
  size_t offset = (staging_used_ + 255) / 256 * 256;
  if (offset + bytes > staging_bytes_) {
    VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
    offset = 0;
    if (staging_bytes_ < bytes) {
      if (staging_ != nullptr) VLART_CUDA_CHECK(cudaFreeHost(staging_));
      const size_t grow = std::max(bytes, size_t{16} << 20);
      VLART_CUDA_CHECK(cudaMallocHost(&staging_, grow));
      staging_bytes_ = grow;
    }
  }
  staging_used_ = offset + bytes;
  auto* staging = static_cast<unsigned char*>(staging_) + offset;
  if (host_src.dtype != dst.dtype) {  // F32/F16/BF16 (checked): convert on the host like torch
    if (host_src.dtype == DType::kF32) {
      // Tight per-dtype loops (the compiler vectorises them): the per-element dtype switch of
      // StoreHost cost ~5 ns per element, ~1.5 ms for two 224x224 views. bf16 runs the AVX2
      // build of the loop where the CPU has it (~2.3x the SSE2 one, bench/host/upload_bench).
      const float* s = host_src.data_as<const float>();
      auto* d16 = reinterpret_cast<uint16_t*>(staging);
      if (dst.dtype == DType::kBF16) {
        F32ToBF16Array(s, d16, n);
      } else if (dst.dtype == DType::kF16) {
        for (int64_t i = 0; i < n; ++i) d16[i] = F32ToF16Bits(s[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) StoreHost(staging, dst.dtype, i, s[i]);
      }
    } else {
      for (int64_t i = 0; i < n; ++i) StoreHost(staging, dst.dtype, i, LoadAsF32(host_src, i));
    }
  } else {
    std::memcpy(staging, host_src.data, bytes);
  }
  VLART_CUDA_CHECK(cudaMemcpyAsync(dst.data, staging, bytes, cudaMemcpyHostToDevice, stream_));
}

void CudaBackend::Download(const Tensor& src, const Tensor& host_dst) {
  BeginOp();
  CheckDownloadArgs(Device::kCuda, src, host_dst);  // both contiguous, same shape
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype == host_dst.dtype) {
    VLART_CUDA_CHECK(cudaMemcpyAsync(host_dst.data, src.data, DTypeBytes(src.dtype, n),
                                     cudaMemcpyDeviceToHost, stream_));
    VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
    staging_used_ = 0;  // every upload's copy has finished
    return;
  }
  std::vector<unsigned char> staging(DTypeBytes(src.dtype, n));
  VLART_CUDA_CHECK(cudaMemcpyAsync(staging.data(), src.data, staging.size(), cudaMemcpyDeviceToHost,
                                   stream_));
  VLART_CUDA_CHECK(cudaStreamSynchronize(stream_));
  staging_used_ = 0;
  Tensor staged = src;
  staged.data = staging.data();
  staged.device = Device::kCpu;
  for (int64_t i = 0; i < n; ++i) StoreHost(host_dst.data, host_dst.dtype, i, LoadAsF32(staged, i));
}

void CudaBackend::Synchronize() {
  BeginOp();
  const cudaError_t err = cudaStreamSynchronize(stream_);
  VLART_CHECK(err == cudaSuccess, "Synchronize on {}: {} ({})", name_, cudaGetErrorName(err),
              cudaGetErrorString(err));
  staging_used_ = 0;
}

// ---- cuda_backend_internal.h ----------------------------------------------------------------
namespace {
CudaBackend& AsCuda(Backend& backend) {
  auto* cuda = dynamic_cast<CudaBackend*>(&backend);
  VLART_CHECK(cuda != nullptr, "{} is not a CUDA backend", backend.name());
  return *cuda;
}
}  // namespace

cudaStream_t StreamOf(Backend& backend) { return AsCuda(backend).stream(); }
int DeviceOf(Backend& backend) { return AsCuda(backend).device_index(); }
Stats StatsOf(Backend& backend) { return AsCuda(backend).stats(); }
void ResetStats(Backend& backend) { AsCuda(backend).stats() = Stats{}; }

void ForceAttentionSplits(Backend& backend, int splits) {
  AsCuda(backend).forced_attention_splits_ = splits > 0 ? splits : 0;
}

void ForceLinearNormSplits(Backend& backend, int splits) {
  AsCuda(backend).forced_linear_norm_splits_ = splits >= 0 ? splits : -1;
}

void SetGatedMlpFused(Backend& backend, bool on) { AsCuda(backend).fuse_gated_mlp_ = on; }

void ForceAttentionMaskLdg(Backend& backend, bool on) { AsCuda(backend).force_attention_mask_ldg_ = on; }

void ForceAttentionMerge(Backend& backend, AttentionMerge mode) {
  AsCuda(backend).forced_attention_merge_ = mode;
}

void ForceAttentionResidentSplits(Backend& backend, int splits) {
  AsCuda(backend).forced_attention_resident_splits_ = splits > 0 ? splits : 0;
}

void ForceAttentionRows(Backend& backend, int warps) {
  AsCuda(backend).forced_attention_rows_ = warps < 0 ? kAttentionRowsOff : warps;
}

int AttentionClusterSplitsOf(Backend& backend) { return AsCuda(backend).attention_flash_device_.cluster_splits; }
bool AttentionFlashStagesMaskOf(Backend& backend, int d) {
  (void)AsCuda(backend);  // a CUDA backend (its Create ran InitAttentionFlashKernels)
  return AttentionFlashMaskStagingFits(d);
}
int CublasLtMaxAlgosOf(Backend& backend) { return AsCuda(backend).cublaslt_max_algos(); }

void ForceGemmConfig(Backend& backend, int tile, int splits, int lt_algo, bool lt_fused, bool lt_gelu) {
  CudaBackend& be = AsCuda(backend);
  if (tile < 0 && tile != kForceCublas) {
    be.forced_gemm_config_.reset();
  } else {
    be.forced_gemm_config_ = GemmMmaConfig{tile, splits, lt_algo, lt_fused, lt_gelu};
  }
}

}  // namespace cuda

Result<std::unique_ptr<Backend>> CreateCudaBackend(const CudaBackendOptions& options) {
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaBackend> be, cuda::CudaBackend::Create(options));
  return std::unique_ptr<Backend>(std::move(be));
}

bool CudaDeviceAvailable() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace vlart
