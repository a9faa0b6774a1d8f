// SPDX-License-Identifier: Apache-2.0
//
// rope.cu: rotary position embedding (rotate-half convention, in place allowed), and RopeQkv:
// Rope(q), Rope(k) and Copy(v) of a decoder layer in one launch.
//
// Math:      angle = positions[b, s] * inv_freq[i], i < D/2
//            out[..., i]       = x[..., i] cos(angle) - x[..., i + D/2] sin(angle)
//            out[..., i + D/2] = x[..., i + D/2] cos(angle) + x[..., i] sin(angle)
//            RopeQkv: q_out = Rope(q), k_out = Rope(k) (same positions, theta, D),
//                     v_out = v (Copy: equal dtypes copy bits, else convert through f32).
//                     With a row scale (backend.h RowRmsScale) every q, k, v element of token
//                     r is first multiplied by s[r] (f32, rounded), then rotated / stored.
// Mapping:   Rope: one thread per (b, s, h, i < D/2) pair; it reads both halves before writing
//            both, so out == x (in place) is safe.
//            RopeQkv: grid.y walks the B*S tokens (grid-stride beyond 65535); within a token
//            the work is Hq + 2 Hkv "slots" of D/2 threads each, laid out slot-major along
//            grid.x * block.x: slot < Hq rotates one q head, the next Hkv slots rotate the k
//            heads, the last Hkv copy the v heads (thread i copies elements i, i + D/2, ... <
//            Dv). Consecutive threads touch consecutive i, so every load and store of a warp
//            is coalesced; the in-token decode is one 32-bit division per thread (RopeKernel
//            does four 64-bit ones per pair), and the block is sized to the per-token work
//            (at most 256, a multiple of 32). Expert (B 1, S 50, Hq 8, Hkv 1, D 256): 1280
//            threads per token, grid 5 x 50 of 256. pi0 prefix (S ~526-788): 5 x S blocks.
//            Launched with PDL (pdl.cuh): it may be scheduled while the qkv GEMM drains.
//            Row scale: every block reduces its token's row of x (all its threads, the
//            surplus ones too, then only those with work go on): ~1-2 KB from L2 per block;
//            each thread issues its own reads first, so they overlap the reduction's
//            (VLART_ROW_SCALE_EARLY_READS=0 issues them after; same-call A/B, H100: pi0
//            denoise 9.08 against 9.09 ms, no measurable difference). The switch is a template
//            argument: as a runtime kernel flag it changed this kernel's code and cost pi0's
//            denoise ~0.9 ms (docs/PERFORMANCE.md, "pi0 under 15 ms").
// Numerics:  inv_freq[i] = 1 / powf(theta, 2i / D) is computed on the host in f32 (rope_op.cc)
//            and passed by value, so device powf's ulp error never enters; the angle is one
//            f32 product, cos/sin are the accurate cosf/sinf (full range reduction; positions
//            reach ~1000 rad), and the rotation rounds each product and then the sum
//            (__fmul_rn / __fsub_rn / __fadd_rn: no FMA contraction, as the CPU reference's
//            -ffp-contract=off), then once more at the store. Rope and RopeQkv share that
//            code (RopeAngle, RopeRotate), and the explicit roundings leave the compiler no
//            contraction choice that could differ between the two kernels, so RopeQkv is
//            bit-identical to Rope + Rope + Copy. (Before RopeQkv existed, RopeKernel wrote
//            the rotation as plain a*b - c*d, which nvcc contracted into an FMA in one output
//            and left ptxas to decide in the other.)
// Reference: backends/cpu Rope / RopeQkv; HF Gemma rotary embedding (f32 freqs,
//            cat(freqs, freqs)); parity in tests/ops/cuda_parity_test.cc and
//            cuda_rope_parity_test.cc.

#include <cstdint>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_common.cuh"
#include "backends/cuda/env_switch.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/pdl.cuh"

namespace vlart::cuda {
namespace {

// cos and sin of positions * inv_freq, the f32 angle of one token and frequency.
__device__ __forceinline__ void RopeAngle(int32_t position, float inv_freq, float* c, float* sn) {
  const float angle = __fmul_rn(static_cast<float>(position), inv_freq);
  *c = cosf(angle);
  *sn = sinf(angle);
}

// The rotated pair (x1 c - x2 sn, x2 c + x1 sn), every product and sum rounded to f32.
__device__ __forceinline__ void RopeRotate(float x1, float x2, float c, float sn, float* o1,
                                           float* o2) {
  *o1 = __fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, sn));
  *o2 = __fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, sn));
}

__global__ void RopeKernel(RopeArgs p, int64_t total) {
  const int64_t heads = p.x.shape[2];
  const int64_t seq = p.x.shape[1];
  for (int64_t idx = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; idx < total;
       idx += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rest = idx;
    const int i = static_cast<int>(rest % p.half);
    rest /= p.half;
    const int64_t h = rest % heads;
    rest /= heads;
    const int64_t s = rest % seq;
    const int64_t b = rest / seq;
    float c, sn;
    RopeAngle(p.positions[b * p.pos_sb + s * p.pos_ss], p.inv_freq[i], &c, &sn);
    const int64_t xo = b * p.x.stride[0] + s * p.x.stride[1] + h * p.x.stride[2];
    const int64_t oo = b * p.out.stride[0] + s * p.out.stride[1] + h * p.out.stride[2];
    const int64_t xs = p.x.stride[3];
    const int64_t os = p.out.stride[3];
    const float x1 = LoadAsFloat(p.x.data, p.x.dtype, xo + i * xs);
    const float x2 = LoadAsFloat(p.x.data, p.x.dtype, xo + (i + p.half) * xs);
    float o1, o2;
    RopeRotate(x1, x2, c, sn, &o1, &o2);
    StoreFromFloat(p.out.data, p.out.dtype, oo + i * os, o1);
    StoreFromFloat(p.out.data, p.out.dtype, oo + (i + p.half) * os, o2);
  }
}

// ---- RopeQkv -------------------------------------------------------------------------------

// Rotates pair i of head h of token (b, s): x -> out (may be the same view).
__device__ __forceinline__ void RotateHead(const RopeQkvView& x, const RopeQkvView& out, int64_t b,
                                           int64_t s, int64_t h, int i, int half, float c, float sn) {
  const int64_t xo = b * x.sb + s * x.ss + h * x.sh;
  const int64_t oo = b * out.sb + s * out.ss + h * out.sh;
  const float x1 = LoadAsFloat(x.data, x.dtype, xo + i);
  const float x2 = LoadAsFloat(x.data, x.dtype, xo + i + half);
  float o1, o2;
  RopeRotate(x1, x2, c, sn, &o1, &o2);
  StoreFromFloat(out.data, out.dtype, oo + i, o1);
  StoreFromFloat(out.data, out.dtype, oo + i + half, o2);
}

// Copies elements i, i + step, ... < dv of head h of token (b, s), as Copy does: equal dtypes
// move the bits (F32 4 bytes, F16/BF16 2), different ones convert through f32.
__device__ __forceinline__ void CopyHead(const RopeQkvView& v, const RopeQkvView& out, int64_t b,
                                         int64_t s, int64_t h, int i, int step, int dv) {
  const int64_t vo = b * v.sb + s * v.ss + h * v.sh;
  const int64_t oo = b * out.sb + s * out.ss + h * out.sh;
  if (v.dtype == out.dtype) {
    if (v.dtype == DType::kF32) {
      for (int j = i; j < dv; j += step) {
        static_cast<uint32_t*>(out.data)[oo + j] = static_cast<const uint32_t*>(v.data)[vo + j];
      }
    } else {
      for (int j = i; j < dv; j += step) {
        static_cast<uint16_t*>(out.data)[oo + j] = static_cast<const uint16_t*>(v.data)[vo + j];
      }
    }
  } else {
    for (int j = i; j < dv; j += step) {
      StoreFromFloat(out.data, out.dtype, oo + j, LoadAsFloat(v.data, v.dtype, vo + j));
    }
  }
}

// With a row scale, one thread's work on one token is split around the row statistic: its
// reads (the two elements of its pair or its first two v elements, and the position) go out
// before the statistic's, which do not depend on them, so both are in flight together (one
// global round trip instead of two); then every element is multiplied by the scale (rounded
// to f32, as the CPU chain stores it) and rotated or stored: the arithmetic of RotateHead and
// CopyHead on the scaled inputs, the same bits.
struct ScaledReads {
  float x1 = 0.0f;
  float x2 = 0.0f;
  int32_t position = 0;
};

// The slot's source view and head: q heads, then k heads, then v heads.
__device__ __forceinline__ const RopeQkvView& SlotSource(const RopeQkvArgs& p, int slot, int64_t* h) {
  if (slot < p.hq) {
    *h = slot;
    return p.q;
  }
  if (slot < p.hq + p.hkv) {
    *h = slot - p.hq;
    return p.k;
  }
  *h = slot - p.hq - p.hkv;
  return p.v;
}

__device__ __forceinline__ const RopeQkvView& SlotDest(const RopeQkvArgs& p, int slot) {
  return slot < p.hq ? p.q_out : (slot < p.hq + p.hkv ? p.k_out : p.v_out);
}

__device__ __forceinline__ ScaledReads LoadScaledToken(const RopeQkvArgs& p, int slot, int i, int64_t b,
                                                       int64_t s) {
  int64_t h = 0;
  const RopeQkvView& x = SlotSource(p, slot, &h);
  const int64_t xo = b * x.sb + s * x.ss + h * x.sh;
  ScaledReads r;
  if (slot < p.hq + p.hkv) {
    r.x1 = LoadAsFloat(x.data, x.dtype, xo + i);
    r.x2 = LoadAsFloat(x.data, x.dtype, xo + i + p.half);
    r.position = p.positions[b * p.pos_sb + s * p.pos_ss];
  } else {
    if (i < p.dv) r.x1 = LoadAsFloat(x.data, x.dtype, xo + i);
    if (i + p.half < p.dv) r.x2 = LoadAsFloat(x.data, x.dtype, xo + i + p.half);
  }
  return r;
}

__device__ __forceinline__ void StoreScaledToken(const RopeQkvArgs& p, const ScaledReads& r, int slot, int i,
                                                 int64_t b, int64_t s, float scale) {
  int64_t h = 0;
  const RopeQkvView& x = SlotSource(p, slot, &h);
  const RopeQkvView& out = SlotDest(p, slot);
  const int64_t oo = b * out.sb + s * out.ss + h * out.sh;
  const float x1 = __fmul_rn(r.x1, scale);
  const float x2 = __fmul_rn(r.x2, scale);
  if (slot < p.hq + p.hkv) {
    float c, sn, o1, o2;
    RopeAngle(r.position, p.inv_freq[i], &c, &sn);
    RopeRotate(x1, x2, c, sn, &o1, &o2);
    StoreFromFloat(out.data, out.dtype, oo + i, o1);
    StoreFromFloat(out.data, out.dtype, oo + i + p.half, o2);
    return;
  }
  if (i < p.dv) StoreFromFloat(out.data, out.dtype, oo + i, x1);
  if (i + p.half < p.dv) StoreFromFloat(out.data, out.dtype, oo + i + p.half, x2);
  const int64_t xo = b * x.sb + s * x.ss + h * x.sh;
  for (int j = i + 2 * p.half; j < p.dv; j += p.half) {  // v heads wider than 2 x half
    StoreFromFloat(out.data, out.dtype, oo + j, __fmul_rn(LoadAsFloat(x.data, x.dtype, xo + j), scale));
  }
}

// kEarlyReads: a template argument, not a runtime flag: with a flag (0acecfd) pi0's denoise
// ran ~0.9 ms slower in every run after it (docs/PERFORMANCE.md).
template <bool kScaled, bool kEarlyReads>
__global__ void RopeQkvKernel(RopeQkvArgs p, int work_per_token) {
  __shared__ float scratch[32];
  PdlAllowDependents();
  PdlWaitPrior();
  const int w = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (!kScaled && w >= work_per_token) return;  // the scaled kernel's threads all reduce
  const bool active = w < work_per_token;
  const int slot = w / p.half;
  const int i = w - slot * p.half;
  const int64_t tokens = p.batch * p.seq;
  for (int64_t t = blockIdx.y; t < tokens; t += gridDim.y) {  // uniform over the block
    const int64_t b = t / p.seq;
    const int64_t s = t - b * p.seq;
    if constexpr (kScaled) {
      if constexpr (kEarlyReads) {
        const ScaledReads r = active ? LoadScaledToken(p, slot, i, b, s) : ScaledReads{};
        const float scale = BlockRowInvRms(p.rms, t, scratch);
        if (active) StoreScaledToken(p, r, slot, i, b, s, scale);
      } else {  // VLART_ROW_SCALE_EARLY_READS=0 (A/B runs): the reads after the statistic
        const float scale = BlockRowInvRms(p.rms, t, scratch);
        if (active) StoreScaledToken(p, LoadScaledToken(p, slot, i, b, s), slot, i, b, s, scale);
      }
      continue;
    }
    if (slot < p.hq + p.hkv) {
      float c, sn;
      RopeAngle(p.positions[b * p.pos_sb + s * p.pos_ss], p.inv_freq[i], &c, &sn);
      if (slot < p.hq) {
        RotateHead(p.q, p.q_out, b, s, slot, i, p.half, c, sn);
      } else {
        RotateHead(p.k, p.k_out, b, s, slot - p.hq, i, p.half, c, sn);
      }
    } else {
      CopyHead(p.v, p.v_out, b, s, slot - p.hq - p.hkv, i, p.half, p.dv);
    }
  }
}

}  // namespace

void LaunchRope(const RopeArgs& args, cudaStream_t stream) {
  const int64_t total = args.x.shape[0] * args.x.shape[1] * args.x.shape[2] * args.half;
  if (total == 0) return;
  constexpr int kThreads = 256;
  RopeKernel<<<GridFor(total, kThreads), kThreads, 0, stream>>>(args, total);
  VLART_CUDA_CHECK_LAUNCH();
}

void LaunchRopeQkv(const RopeQkvArgs& args, cudaStream_t stream) {
  const int64_t tokens = args.batch * args.seq;
  if (tokens == 0 || args.half == 0) return;  // half >= 1 is checked on the host (D > 0)
  const int slots = args.hq + 2 * args.hkv;
  const int work = slots * args.half;  // threads per token (host checks keep it far below 2^31)
  if (work == 0) return;
  constexpr int kMaxThreads = 256;
  const int threads = work >= kMaxThreads ? kMaxThreads : (work + 31) / 32 * 32;
  const unsigned int grid_x = static_cast<unsigned int>((work + threads - 1) / threads);
  constexpr int64_t kMaxGridY = 65535;
  const unsigned int grid_y = static_cast<unsigned int>(tokens < kMaxGridY ? tokens : kMaxGridY);
  static const bool early = EnvSwitchOn("VLART_ROW_SCALE_EARLY_READS");  // A/B runs
  auto* kernel = args.rms.x == nullptr ? RopeQkvKernel<false, true>
                 : early               ? RopeQkvKernel<true, true>
                                       : RopeQkvKernel<true, false>;
  LaunchPdl(kernel, dim3(grid_x, grid_y, 1), dim3(threads, 1, 1), 0, stream, 1, args, work);
  VLART_CUDA_CHECK_LAUNCH();
}

}  // namespace vlart::cuda
