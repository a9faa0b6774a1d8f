// SPDX-License-Identifier: Apache-2.0
//
// cuda_attention_parity_test.cc: CUDA Attention and ChannelAttention against the CPU
// reference, in every ParityMode: awkward sizes, GQA/MQA, masks (full, stride-0 shared,
// BART's finfo.min padding, openpi's finite -2.38e38 with a fully masked row), q/k/v as strided
// views into one fused qkv buffer, and the model shapes (X-VLA 262x16x64, DaViT windows
// 50x144x8x32, BART 100x16x64, SigLIP 256x16x72 (one-pass kernel, head dim zero-padded to
// 80; the K/V-resident kernel with every key split and the one-pass kernel with every warp
// count), a pi0-like MQA 8x256 whose odd output pitch keeps the SIMT kernel; channel attention
// at N = 3136 / 196 / 49). The pi0 / pi0.5
// shapes (Gemma MQA 8/1 x 256: prefix with the prefix-LM + padding mask, action expert with
// padding + block-causal suffix mask, GQA 8/2, D 128) exercise the head-folded kernel
// (attention_flash.cu) with and without split keys, including fully masked rows (finite mask:
// uniform; -inf: NaN, as the CPU), its path (Stats) and the bitwise determinism of the split
// merge; its two mask paths (staged in shared memory / per-score __ldg) in contiguous, padded-
// pitch and stride-0 (query, batch) mask layouts, and their bitwise agreement; the cluster
// merge of split partials against the merge kernel, bit for bit.
//
// Attention tolerance, per output element (b, i, h, e), from a double-precision replay:
//   s_j  = fl32(fl32(scale q·k_j) + mask_ij)         (the scores both sides round to)
//   δ_j  = ReductionTol(D, |scale| Σ_d |q_d k_jd|) + 2 u32 |scale q·k_j|   (score error)
//   p_j  = softmax(s)_j;  V_e = Σ_j p_j |v_je|
//   tol  = u_out |want| + (2 max_j δ_j + kFunctionUlps u32 + ReductionTol(Sk, 1) + 2 u_in) V_e
// A score error δ moves p_j by at most 2 max δ relative (first order of the softmax); exp and
// the normalisation add a few ulps; P·V is a length-Sk reduction of p_j |v_je|; the
// tensor-core path rounds P to the input dtype (u_in, 0 in f32 mode) while the row sum uses the
// unrounded P (another u_in). In f16, a weight below 2^-14 rounds into f16's subnormal range,
// where the rounding is absolute (<= 2^-25) rather than relative: adds 2^-25 Σ_j |v_je| (the
// row sum is >= 1, since the key at the row max has weight exactly 1; split-key merges scale
// each split by w_s <= 1 and divide by a total >= 1, so the bound holds for them too). The
// online-softmax rescale and the split merge multiply O and the row sum by the same factors, so
// their exp errors cancel and leave a few f32 roundings per 64-key tile: inside kFunctionUlps
// next to the u_in terms of the 16-bit modes (the only ones that take those kernels).

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/cuda/cuda_backend_internal.h"
#include "backends/cuda/kernel_image.h"
#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr float kTorchF32Min = -3.4028234663852886e38f;  // torch.finfo(float32).min (BART)
constexpr float kOpenpiMask = -2.3819763e38f;

// kPi0Prefix: openpi's prefix mask (query i sees key j iff both are valid tokens, finite
//   -2.38e38 otherwise, so padding rows are fully masked and come out uniform); valid tokens:
//   PrefixValid. kPi0PrefixNegInf: the same with -inf (fully masked rows are NaN).
// kPi0Suffix / kPi05Suffix: the action expert's mask [B, S, L + S] (L = Sk - Sq): valid prefix
//   keys, then suffix key j visible to query q iff cumsum(ar)[j] <= cumsum(ar)[q] with
//   ar = [1, 1, 0, ...] (pi0: state, actions) or [1, 0, ...] (pi0.5). kPi0SuffixNegInf: pi0's
//   with -inf and query row 1 masked everywhere (a NaN row through the split merge).
enum class MaskKind {
  kNone, kFull, kSharedAcrossBatch, kBartPadding, kOpenpiWithFullyMaskedRow,
  kPi0Prefix, kPi0PrefixNegInf, kPi0Suffix, kPi05Suffix, kPi0SuffixNegInf,
};

struct AttnCase {
  int64_t batch, sq, sk, hq, hkv, d, dv;
  MaskKind mask;
  bool fused_qkv = false;  // q, k, v are views of one [B, S, 3, H, D] buffer (needs sq == sk, hq == hkv, d == dv)
};

std::string Describe(const AttnCase& c) {
  return fmt::format("B {} Sq {} Sk {} Hq {} Hkv {} D {} Dv {} mask {} fused {}", c.batch, c.sq, c.sk, c.hq,
                     c.hkv, c.d, c.dv, static_cast<int>(c.mask), c.fused_qkv);
}

// pi0 prefix token j of sample b (L tokens): 2 or 3 views of 256 image tokens, then the
// prompt. A 3-view prefix (L > 768) has its third view absent (masked, as pi0 does for a
// missing camera); the prompt's last 7 + 5b tokens are padding (different per sample).
bool PrefixValid(int64_t b, int64_t j, int64_t l) {
  if (l > 768 && j >= 512 && j < 768) return false;
  return j < l - (7 + 5 * b);
}

// cumsum(ar)[j] of the action expert's suffix tokens.
int SuffixCumAr(int64_t j, bool pi05) {
  if (pi05) return 1;  // ar = [1, 0, 0, ...]
  return j == 0 ? 1 : 2;  // ar = [1, 1, 0, ...]
}

HostTensor MakeMask(const AttnCase& c, uint64_t seed) {
  HostTensor m(DType::kF32, Shape{c.batch, c.sq, c.sk});
  const HostTensor noise = Uniform(m.shape(), seed, -2.0f, 2.0f);
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t i = 0; i < c.sq; ++i) {
      for (int64_t j = 0; j < c.sk; ++j) {
        const int64_t e = (b * c.sq + i) * c.sk + j;
        float v = 0.0f;
        switch (c.mask) {
          case MaskKind::kNone: break;
          case MaskKind::kFull:
          case MaskKind::kSharedAcrossBatch:
            v = (j * 7 + i * 3) % 5 == 0 ? kNegInf : noise.data<float>()[e];
            if (j == 0) v = 0.0f;  // every row keeps a finite key
            break;
          case MaskKind::kBartPadding: v = j >= c.sk - c.sk / 10 ? kTorchF32Min : 0.0f; break;
          case MaskKind::kOpenpiWithFullyMaskedRow:
            v = (i == 1 || j > i) ? kOpenpiMask : 0.0f;  // causal-ish, row 1 fully masked
            break;
          case MaskKind::kPi0Prefix:
          case MaskKind::kPi0PrefixNegInf: {
            const bool seen = PrefixValid(b, i, c.sq) && PrefixValid(b, j, c.sk);
            v = seen ? 0.0f : (c.mask == MaskKind::kPi0Prefix ? kOpenpiMask : kNegInf);
            break;
          }
          case MaskKind::kPi0Suffix:
          case MaskKind::kPi05Suffix:
          case MaskKind::kPi0SuffixNegInf: {
            const int64_t l = c.sk - c.sq;  // cached prefix tokens
            const bool pi05 = c.mask == MaskKind::kPi05Suffix;
            const bool seen = j < l ? PrefixValid(b, j, l) : SuffixCumAr(j - l, pi05) <= SuffixCumAr(i, pi05);
            const bool neg_inf = c.mask == MaskKind::kPi0SuffixNegInf;
            v = seen && !(neg_inf && i == 1) ? 0.0f : (neg_inf ? kNegInf : kOpenpiMask);
            break;
          }
        }
        m.data<float>()[e] = v;
      }
    }
  }
  return m;
}

// How the [B, Sq, Sk] mask is laid out in memory (same values). kPaddedPitch: rows Sk + pad
// apart (pitch rounded up to a multiple of 4 floats, pad filled with NaN), so the head-folded
// kernel stages it with 16-byte copies even when Sk is not a multiple of 4 (the last chunk
// straddles Sk). kQueryBroadcast: query 0's row of each sample for every query (a stride-0
// query dim). (Attention requires the keys contiguous, so m_sj is always 1 here.)
enum class MaskLayout { kContiguous, kPaddedPitch, kQueryBroadcast };

struct RunOptions {
  int force_splits = 0;      // > 0: the head-folded kernel splits its keys that many ways (clamped)
  int64_t out_row_pad = 3;   // output pitch = Dv + pad; odd pads misalign the rows (SIMT kernel)
  bool expect_flash = false;  // 16-bit modes must take the head-folded kernel (Stats)
  MaskLayout mask_layout = MaskLayout::kContiguous;
  bool force_mask_ldg = false;  // ForceAttentionMaskLdg: no shared-memory mask staging
  int expect_smem_mask = -1;    // 0 / 1: whether the head-folded kernel staged the mask (16-bit modes)
  int force_resident_splits = 0;  // > 0: the K/V-resident kernel's key splits (1, 2, 4)
  int expect_resident_split = -1;  // 0 / 1: whether the resident kernel split its keys (16-bit modes)
  int force_rows = 0;     // ForceAttentionRows: 0 heuristic, kAttentionRowsOff, or N warps per block
  bool expect_rows = false;  // 16-bit modes must take the one-pass kernel (Stats)
};

// The case's mask (MakeMask values) in `layout`, on both sides; shared-across-batch kinds get a
// stride-0 batch. h / dev are [B, Sq, Sk] views into twin.
struct MaskViews {
  Twin twin;
  Tensor h, dev;
};

MaskViews MakeMaskViews(Backend& cuda, Arena& arena, const AttnCase& c, MaskLayout layout, uint64_t seed) {
  HostTensor values = MakeMask(c, seed);
  const float* v = values.data<float>();
  MaskViews m;
  switch (layout) {
    case MaskLayout::kContiguous: {
      m.twin = MakeTwin(cuda, arena, std::move(values), DType::kF32);
      m.h = m.twin.h();
      m.dev = m.twin.dev;
      break;
    }
    case MaskLayout::kPaddedPitch: {
      const int64_t pitch = (c.sk + 1 + 3) / 4 * 4;  // at least one NaN per row, multiple of 4
      HostTensor t(DType::kF32, Shape{c.batch, c.sq, pitch});
      float* d = t.data<float>();
      std::fill(d, d + t.numel(), std::numeric_limits<float>::quiet_NaN());
      for (int64_t r = 0; r < c.batch * c.sq; ++r) std::memcpy(d + r * pitch, v + r * c.sk, c.sk * sizeof(float));
      m.twin = MakeTwin(cuda, arena, std::move(t), DType::kF32);
      m.h = m.twin.h().Slice(2, 0, c.sk);
      m.dev = m.twin.dev.Slice(2, 0, c.sk);
      break;
    }
    case MaskLayout::kQueryBroadcast: {
      m.twin = MakeTwin(cuda, arena, std::move(values), DType::kF32);
      m.h = m.twin.h().Slice(1, 0, 1).Broadcast(m.twin.h().shape);
      m.dev = m.twin.dev.Slice(1, 0, 1).Broadcast(m.twin.dev.shape);
      break;
    }
  }
  if (c.mask == MaskKind::kSharedAcrossBatch || c.mask == MaskKind::kBartPadding) {
    m.h = m.h.Slice(0, 0, 1).Broadcast(m.h.shape);  // one mask, stride-0 batch
    m.dev = m.dev.Slice(0, 0, 1).Broadcast(m.dev.shape);
  }
  return m;
}

void RunAttentionCase(ParityMode mode, const AttnCase& c, uint64_t seed, const RunOptions& opt = {}) {
  SCOPED_TRACE(SeedNote(seed) + " " + Describe(c) +
               fmt::format(" splits {} resident splits {} rows {} pad {}", opt.force_splits,
                           opt.force_resident_splits, opt.force_rows, opt.out_row_pad));
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();

  Tensor qh, kh, vh, qd, kd, vd;
  Twin fused, qt, kt, vt;
  if (c.fused_qkv) {
    fused = RandomTwin(cuda, *arena, Shape{c.batch, c.sq, 3, c.hq, c.d}, dt, seed, -1.5f, 1.5f);
    qh = fused.h().Select(2, 0), kh = fused.h().Select(2, 1), vh = fused.h().Select(2, 2);
    qd = fused.dev.Select(2, 0), kd = fused.dev.Select(2, 1), vd = fused.dev.Select(2, 2);
  } else {
    qt = RandomTwin(cuda, *arena, Shape{c.batch, c.sq, c.hq, c.d}, dt, seed, -1.5f, 1.5f);
    kt = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.d}, dt, seed + 1, -1.5f, 1.5f);
    vt = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.dv}, dt, seed + 2, -1.5f, 1.5f);
    qh = qt.h(), kh = kt.h(), vh = vt.h();
    qd = qt.dev, kd = kt.dev, vd = vt.dev;
  }
  MaskViews mask_v;
  Tensor mask_h, mask_d;
  const bool has_mask = c.mask != MaskKind::kNone;
  if (has_mask) {
    mask_v = MakeMaskViews(cuda, *arena, c, opt.mask_layout, seed + 3);
    mask_h = mask_v.h;
    mask_d = mask_v.dev;
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  const Shape out_shape{c.batch, c.sq, c.hq, c.dv};
  HostTensor want(DType::kF32, out_shape);
  CpuRef().Attention(qh, kh, vh, has_mask ? &mask_h : nullptr, scale, want.view());

  // Tolerance replay in double (see the file header).
  const std::vector<double> q = Values(qh), k = Values(kh), v = Values(vh);
  const std::vector<double> mk = has_mask ? Values(mask_h) : std::vector<double>();
  const double u_in = dt == DType::kF32 ? 0.0 : UnitRoundoff(dt);
  const double p_subnormal = dt == DType::kF16 ? std::ldexp(1.0, -25) : 0.0;  // see the header
  std::vector<double> tol(static_cast<size_t>(want.numel()));
  std::vector<double> s(static_cast<size_t>(c.sk)), p(static_cast<size_t>(c.sk));
  const int64_t group = c.hq / c.hkv;
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t h = 0; h < c.hq; ++h) {
      const int64_t g = h / group;
      for (int64_t i = 0; i < c.sq; ++i) {
        const double* qi = &q[static_cast<size_t>(((b * c.sq + i) * c.hq + h) * c.d)];
        double max_delta = 0.0;
        double m = -INFINITY;
        for (int64_t j = 0; j < c.sk; ++j) {
          const double* kj = &k[static_cast<size_t>(((b * c.sk + j) * c.hkv + g) * c.d)];
          double dot = 0.0, abs_dot = 0.0;
          for (int64_t e = 0; e < c.d; ++e) {
            dot += qi[e] * kj[e];
            abs_dot += std::fabs(qi[e] * kj[e]);
          }
          const float scaled = static_cast<float>(scale * dot);
          const float masked = has_mask ? scaled + static_cast<float>(mk[static_cast<size_t>((b * c.sq + i) * c.sk + j)]) : scaled;
          s[static_cast<size_t>(j)] = masked;
          max_delta = std::max(max_delta, ReductionTol(c.d, scale * abs_dot) + 2 * kUnitF32 * std::fabs(scaled));
          m = std::max(m, static_cast<double>(masked));
        }
        double sum = 0.0;
        for (int64_t j = 0; j < c.sk; ++j) {
          p[static_cast<size_t>(j)] = std::exp(s[static_cast<size_t>(j)] - m);
          sum += p[static_cast<size_t>(j)];
        }
        const double rel = 2 * max_delta + kFunctionUlps * kUnitF32 + ReductionTol(c.sk, 1.0) + 2 * u_in;
        for (int64_t e = 0; e < c.dv; ++e) {
          double pv = 0.0, abs_v = 0.0;
          for (int64_t j = 0; j < c.sk; ++j) {
            const double vj = std::fabs(v[static_cast<size_t>(((b * c.sk + j) * c.hkv + g) * c.dv + e)]);
            pv += p[static_cast<size_t>(j)] / sum * vj;
            abs_v += vj;
          }
          const size_t o = static_cast<size_t>(((b * c.sq + i) * c.hq + h) * c.dv + e);
          tol[o] = UnitRoundoff(dt) * std::fabs(want.data<float>()[o]) + rel * pv + p_subnormal * abs_v + AbsFloor(dt);
        }
      }
    }
  }
  GuardedOutput out = MakeGuarded(cuda, *arena, out_shape, dt, opt.out_row_pad);
  const bool real = !SelfCheck();
  if (real) {
    cuda::ForceAttentionSplits(cuda, opt.force_splits);
    cuda::ForceAttentionMaskLdg(cuda, opt.force_mask_ldg);
    cuda::ForceAttentionResidentSplits(cuda, opt.force_resident_splits);
    cuda::ForceAttentionRows(cuda, opt.force_rows);
    cuda::ResetStats(cuda);
  }
  cuda.Attention(qd, kd, vd, has_mask ? &mask_d : nullptr, scale, out.view);
  if (real) {
    cuda::ForceAttentionSplits(cuda, 0);
    cuda::ForceAttentionMaskLdg(cuda, false);
    cuda::ForceAttentionResidentSplits(cuda, 0);
    cuda::ForceAttentionRows(cuda, 0);
    const bool flash = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
    if (opt.expect_flash) {
      EXPECT_EQ(cuda::StatsOf(cuda).attention_flash, flash ? 1 : 0) << "head-folded kernel not taken";
    }
    if (opt.expect_rows) {
      EXPECT_EQ(cuda::StatsOf(cuda).attention_rows, flash ? 1 : 0) << "one-pass kernel not taken";
    }
    if (opt.expect_resident_split >= 0) {
      EXPECT_EQ(cuda::StatsOf(cuda).attention_resident, flash ? 1 : 0) << "K/V-resident kernel not taken";
      EXPECT_EQ(cuda::StatsOf(cuda).attention_resident_split, flash ? opt.expect_resident_split : 0)
          << "key split of the K/V-resident kernel";
    }
    if (opt.expect_smem_mask >= 0) {
      // Staged only where the masked instances fit the device (not at D 256 on a 99 KB GPU).
      const bool fits = cuda::AttentionFlashStagesMaskOf(cuda, static_cast<int>(c.d));
      EXPECT_EQ(cuda::StatsOf(cuda).attention_flash_smem_mask, flash && fits ? opt.expect_smem_mask : 0)
          << "mask path of the head-folded kernel";
    }
  }
  ExpectClose(ReadGuarded(cuda, out, "Attention"), want, tol, "Attention");
}

// The pi0 cases: an even output pitch (4-byte pairs), so the head-folded kernel is eligible.
constexpr RunOptions kFlash{.force_splits = 0, .out_row_pad = 2, .expect_flash = true};
RunOptions FlashSplits(int splits) { return {.force_splits = splits, .out_row_pad = 2, .expect_flash = true}; }

VLART_PARITY_SUITE(AttentionParity);

TEST_P(AttentionParity, AwkwardSizesGqaMqaAndMasks) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 2000;
  const std::vector<AttnCase> cases = {
      {1, 1, 1, 1, 1, 32, 32, MaskKind::kNone},
      {2, 7, 19, 4, 2, 64, 64, MaskKind::kFull},
      {2, 19, 7, 3, 1, 32, 32, MaskKind::kSharedAcrossBatch},
      {2, 111, 111, 2, 2, 128, 128, MaskKind::kNone},
      {1, 65, 129, 2, 1, 64, 64, MaskKind::kFull},  // one past the 64-row / 64-key tiles
      {1, 7, 19, 2, 1, 48, 48, MaskKind::kFull},    // head dim 48: SIMT kernel
      {1, 19, 111, 2, 2, 64, 32, MaskKind::kNone},  // Dv != D: SIMT kernel
      {1, 7, 7, 2, 2, 64, 64, MaskKind::kOpenpiWithFullyMaskedRow},
  };
  for (const AttnCase& c : cases) RunAttentionCase(GetParam(), c, TestSeed(++salt));
}

TEST_P(AttentionParity, ModelRealShapes) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 2100;
  const std::vector<AttnCase> cases = {
      {1, 262, 262, 16, 16, 64, 64, MaskKind::kNone, true},        // X-VLA policy, fused qkv
      {50, 144, 144, 8, 8, 32, 32, MaskKind::kNone, true},         // DaViT windows, 2 views x 25
      {1, 100, 100, 16, 16, 64, 64, MaskKind::kBartPadding, true}, // BART encoder, padded prompt
      {1, 256, 256, 8, 1, 256, 256, MaskKind::kOpenpiWithFullyMaskedRow},  // pi0-like MQA, D 256
      {2, 256, 256, 16, 16, 72, 72, MaskKind::kNone, true},        // SigLIP So400m, 2 views
      {1, 70, 201, 4, 2, 72, 72, MaskKind::kFull},                 // D 72: partial q / key tiles, GQA
  };
  for (const AttnCase& c : cases) RunAttentionCase(GetParam(), c, TestSeed(++salt));
}

// The K/V-resident kernel with its keys split over 1, 2 and 4 groups of warps (merged in shared
// memory) at the model shapes and at awkward ones: one key block (no split possible), a
// partial last key block, fewer key blocks than groups (3 blocks over 4: one group rounds to
// 2), a masked row set (BART padding, openpi's fully masked row), GQA and head dim 72.
TEST_P(AttentionParity, ResidentKeySplits) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 3100;
  struct SplitCase {
    AttnCase c;
    int key_blocks;
  };
  const std::vector<SplitCase> cases = {
      {{1, 262, 262, 16, 16, 64, 64, MaskKind::kNone, true}, 5},         // X-VLA policy
      {{1, 100, 100, 16, 16, 64, 64, MaskKind::kBartPadding, true}, 2},  // BART
      {{2, 256, 256, 16, 16, 72, 72, MaskKind::kNone, true}, 4},         // SigLIP
      {{4, 144, 144, 8, 8, 32, 32, MaskKind::kNone, true}, 3},           // DaViT windows
      {{1, 70, 201, 4, 2, 72, 72, MaskKind::kFull}, 4},                  // GQA, partial tiles
      {{1, 7, 7, 2, 2, 64, 64, MaskKind::kOpenpiWithFullyMaskedRow}, 1},
  };
  for (const SplitCase& sc : cases) {
    for (int splits : {1, 2, 4}) {
      const int effective = std::min(splits, sc.key_blocks >= 4 ? 4 : sc.key_blocks >= 2 ? 2 : 1);
      RunOptions opt;
      opt.out_row_pad = 2;  // 4-byte aligned output rows: the resident kernel is eligible
      opt.force_resident_splits = splits;
      opt.force_rows = cuda::kAttentionRowsOff;
      opt.expect_resident_split = effective > 1 ? 1 : 0;
      RunAttentionCase(GetParam(), sc.c, TestSeed(++salt), opt);
    }
  }
}

// The one-pass kernel (Sk <= 272) with every warp count at the model shapes and at awkward
// ones: one key tile, a partial last key tile and query block, Sk at the 272-key limit, Sq
// past a block's rows by one, masks (BART padding, openpi's fully masked row, a full random
// mask), GQA and head dim 72 (zero-padded to 80). Warps of a block past Sq exit early.
TEST_P(AttentionParity, RowsKernelEveryWarpCount) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 3300;
  const std::vector<AttnCase> cases = {
      {1, 262, 262, 16, 16, 64, 64, MaskKind::kNone, true},         // X-VLA policy
      {4, 262, 262, 16, 16, 64, 64, MaskKind::kNone, true},         // X-VLA policy, batch 4
      {1, 100, 100, 16, 16, 64, 64, MaskKind::kBartPadding, true},  // BART
      {2, 256, 256, 16, 16, 72, 72, MaskKind::kNone, true},         // SigLIP
      {4, 144, 144, 8, 8, 32, 32, MaskKind::kNone, true},           // DaViT windows
      {1, 70, 201, 4, 2, 72, 72, MaskKind::kFull},                  // GQA, partial tiles
      {2, 33, 272, 3, 1, 64, 64, MaskKind::kFull},                  // 272 keys, MQA, 33 rows
      {1, 7, 7, 2, 2, 64, 64, MaskKind::kOpenpiWithFullyMaskedRow}, // one key tile
      {1, 17, 9, 2, 2, 32, 32, MaskKind::kSharedAcrossBatch},
  };
  for (const AttnCase& c : cases) {
    for (int warps : {0, 2, 3, 4, 6, 8}) {
      RunOptions opt;
      opt.out_row_pad = 2;  // 4-byte aligned output rows: the kernel is eligible
      opt.force_rows = warps;
      opt.expect_rows = warps > 0;  // 0: the heuristic may leave it to the resident kernel
      RunAttentionCase(GetParam(), c, TestSeed(++salt), opt);
    }
  }
}

// Gemma prefix (VLM) attention: MQA 8/1 x 256, Sq = Sk, prefix-LM mask with padding rows.
TEST_P(AttentionParity, Pi0PrefixShapes) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 2300;
  const std::vector<AttnCase> cases = {
      {1, 532, 532, 8, 1, 256, 256, MaskKind::kPi0Prefix},  // 2 views + 20 tokens
      {1, 816, 816, 8, 1, 256, 256, MaskKind::kPi0Prefix},  // 3 views (3rd absent) + 48 tokens
      {2, 600, 600, 8, 1, 256, 256, MaskKind::kPi0Prefix},  // batch 2, per-sample padding
      {1, 300, 300, 8, 1, 256, 256, MaskKind::kPi0PrefixNegInf},  // -inf: padding rows are NaN
      {1, 130, 130, 8, 2, 256, 256, MaskKind::kPi0Prefix},  // GQA 8/2
      {1, 200, 200, 8, 1, 128, 128, MaskKind::kPi0Prefix},  // MQA, D 128
  };
  for (const AttnCase& c : cases) RunAttentionCase(GetParam(), c, TestSeed(++salt), kFlash);
}

// Action expert attention: Sq = suffix tokens against the cached prefix + the suffix itself.
TEST_P(AttentionParity, Pi0ExpertShapes) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 2400;
  const std::vector<AttnCase> cases = {
      {1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix},   // pi0, 2 views + 20 tokens
      {2, 51, 867, 8, 1, 256, 256, MaskKind::kPi0Suffix},   // pi0, batch 2, 3 views + 48 tokens
      {1, 10, 810, 8, 1, 256, 256, MaskKind::kPi05Suffix},  // pi0.5: 10 actions, 800-token prefix
      {1, 51, 640, 8, 1, 256, 256, MaskKind::kPi0Suffix},   // Sk a multiple of the 64-key tile
      {1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0SuffixNegInf},  // a NaN row through the merge
      {1, 51, 581, 8, 2, 256, 256, MaskKind::kPi0Suffix},   // GQA 8/2
      {1, 51, 581, 8, 1, 128, 128, MaskKind::kPi0Suffix},   // MQA, D 128
      {2, 37, 300, 8, 2, 128, 128, MaskKind::kFull},        // GQA, D 128, random -inf holes
      {1, 5, 9, 8, 1, 256, 256, MaskKind::kFull},           // one partial key tile
      {1, 3, 1, 8, 1, 256, 256, MaskKind::kNone},           // a single key
  };
  for (const AttnCase& c : cases) RunAttentionCase(GetParam(), c, TestSeed(++salt), kFlash);
  // An odd output pitch (2-byte aligned rows) keeps the SIMT kernel: same results.
  RunAttentionCase(GetParam(), cases[0], TestSeed(++salt), {.out_row_pad = 3});
}

// Every split count (1 = none, up to one split per 64-key tile) stays within the tolerance.
TEST_P(AttentionParity, Pi0ExpertEverySplitCount) {
  VLART_REQUIRE_CUDA();
  uint64_t salt = 2500;
  const AttnCase c{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix};
  for (int splits : {1, 2, 3, 7, 10}) RunAttentionCase(GetParam(), c, TestSeed(++salt), FlashSplits(splits));
  const AttnCase prefix{1, 300, 300, 8, 1, 256, 256, MaskKind::kPi0PrefixNegInf};
  RunAttentionCase(GetParam(), prefix, TestSeed(++salt), FlashSplits(5));
}

// The pi0 shapes take the head-folded kernel in the 16-bit modes (the expert with split keys),
// and the split merge is deterministic: repeated calls give bit-identical outputs.
TEST_P(AttentionParity, Pi0FlashPathAndDeterministicSplits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool flash = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  const AttnCase c{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix};
  const uint64_t seed = TestSeed(2600);
  const Twin q = RandomTwin(cuda, *arena, Shape{1, 51, 8, 256}, dt, seed, -1.5f, 1.5f);
  const Twin k = RandomTwin(cuda, *arena, Shape{1, 581, 1, 256}, dt, seed + 1, -1.5f, 1.5f);
  const Twin v = RandomTwin(cuda, *arena, Shape{1, 581, 1, 256}, dt, seed + 2, -1.5f, 1.5f);
  const Twin mask = MakeTwin(cuda, *arena, MakeMask(c, seed + 3), DType::kF32);
  const Tensor out = arena->Allocate(Shape{1, 51, 8, 256}, dt);
  const auto run = [&](int force_splits) {
    cuda.Fill(out, std::numeric_limits<float>::quiet_NaN());  // every element must be rewritten
    cuda::ForceAttentionSplits(cuda, force_splits);
    cuda.Attention(q.dev, k.dev, v.dev, &mask.dev, 0.0625f, out);
    cuda::ForceAttentionSplits(cuda, 0);
    HostTensor bits(dt, out.shape);
    cuda.Download(out, bits.view());
    return bits;
  };
  const auto same_bits = [](const HostTensor& a, const HostTensor& b) {
    return a.nbytes() == b.nbytes() && std::memcmp(a.data<uint8_t>(), b.data<uint8_t>(), a.nbytes()) == 0;
  };
  cuda::ResetStats(cuda);
  const HostTensor first = run(0);
  cuda::Stats s = cuda::StatsOf(cuda);
  EXPECT_EQ(s.attention_flash, flash ? 1 : 0);
  EXPECT_EQ(s.attention_flash_split, flash ? 1 : 0) << "7 row tiles cannot fill the SMs: keys split";
  EXPECT_EQ(s.attention_simt, flash ? 0 : 1);
  for (int rep = 0; rep < 3; ++rep) EXPECT_TRUE(same_bits(first, run(0))) << "heuristic splits, repeat " << rep;
  const HostTensor five = run(5);
  for (int rep = 0; rep < 3; ++rep) EXPECT_TRUE(same_bits(five, run(5))) << "5 splits, repeat " << rep;
  cuda::ResetStats(cuda);
  (void)run(1);
  s = cuda::StatsOf(cuda);
  EXPECT_EQ(s.attention_flash, flash ? 1 : 0);
  EXPECT_EQ(s.attention_flash_split, 0);
}

// The head-folded kernel's two mask paths (shared-memory staging for G >= 4 with contiguous
// keys, per-score __ldg otherwise) against the CPU, with one-tile blocks (splits = key tiles),
// multi-tile blocks and no split: contiguous masks (4-byte cp.async: Sk 581 rows are not
// 16-byte aligned), NaN-padded pitches (16-byte cp.async, a chunk straddling Sk), stride-0
// query and batch dims, G 1 / 2 / 3 (__ldg, also with a padded pitch), G 4 / 5 / 8 (staged;
// G 5's 64-row tiles start mid-query, spanning the 14-query bound), D 128 and batch 2.
TEST_P(AttentionParity, Pi0FlashMaskPaths) {
  VLART_REQUIRE_CUDA();
  struct MaskCase {
    AttnCase c;
    MaskLayout layout;
    bool smem;                // expected mask path in the 16-bit modes
    std::vector<int> splits;  // forced split counts (the last: one key tile per block)
  };
  using enum MaskLayout;
  const std::vector<MaskCase> cases = {
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kContiguous, true, {1, 3, 10}},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kPaddedPitch, true, {1, 4, 10}},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kQueryBroadcast, true, {3, 10}},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0SuffixNegInf}, kContiguous, true, {10}},  // NaN row
      {{2, 51, 867, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kContiguous, true, {5, 14}},
      {{2, 51, 300, 8, 1, 256, 256, MaskKind::kSharedAcrossBatch}, kContiguous, true, {2, 5}},
      {{2, 51, 299, 8, 1, 256, 256, MaskKind::kSharedAcrossBatch}, kPaddedPitch, true, {1, 5}},
      {{1, 51, 581, 8, 2, 256, 256, MaskKind::kPi0Suffix}, kContiguous, true, {3, 10}},  // G 4
      {{1, 51, 581, 10, 2, 256, 256, MaskKind::kFull}, kContiguous, true, {2, 10}},       // G 5
      {{1, 51, 300, 9, 3, 256, 256, MaskKind::kFull}, kContiguous, false, {5}},           // G 3
      {{1, 51, 300, 4, 2, 256, 256, MaskKind::kFull}, kContiguous, false, {1, 5}},        // G 2
      {{1, 51, 300, 2, 2, 256, 256, MaskKind::kFull}, kPaddedPitch, false, {5}},          // G 1
      {{1, 51, 581, 8, 1, 128, 128, MaskKind::kPi0Suffix}, kPaddedPitch, true, {2, 10}},  // D 128
      {{1, 5, 9, 8, 1, 256, 256, MaskKind::kFull}, kPaddedPitch, true, {1}},  // one partial key tile
      {{1, 130, 130, 8, 2, 256, 256, MaskKind::kPi0Prefix}, kContiguous, true, {1, 3}},
  };
  uint64_t salt = 2700;
  for (const MaskCase& mc : cases) {
    for (int splits : mc.splits) {
      RunOptions opt = FlashSplits(splits);
      opt.mask_layout = mc.layout;
      opt.expect_smem_mask = mc.smem ? 1 : 0;
      RunAttentionCase(GetParam(), mc.c, TestSeed(++salt), opt);
      if (SelfCheck()) break;  // CPU against CPU: the split count changes nothing
    }
  }
}

// Staging the mask in shared memory changes no bit: for every split count, the staged path and
// the forced __ldg path (ForceAttentionMaskLdg) give identical outputs, both in the layouts that
// stage with 4-byte and with 16-byte copies, at G 4, 5 and 8, D 128 and 256, batch 2 with a
// stride-0 batch mask.
TEST_P(AttentionParity, Pi0FlashMaskSmemMatchesLdgBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool flash = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
  Backend& cuda = CudaFor(mode);
  struct BitCase {
    AttnCase c;
    MaskLayout layout;
  };
  using enum MaskLayout;
  const std::vector<BitCase> cases = {
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kContiguous},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, kPaddedPitch},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0SuffixNegInf}, kContiguous},
      {{1, 51, 581, 8, 2, 256, 256, MaskKind::kPi0Suffix}, kContiguous},   // G 4
      {{1, 51, 581, 10, 2, 256, 256, MaskKind::kFull}, kPaddedPitch},      // G 5
      {{1, 51, 581, 8, 1, 128, 128, MaskKind::kPi0Suffix}, kContiguous},   // D 128
      {{2, 51, 299, 8, 1, 256, 256, MaskKind::kSharedAcrossBatch}, kPaddedPitch},
      {{1, 200, 200, 8, 1, 256, 256, MaskKind::kPi0Prefix}, kContiguous},
  };
  uint64_t salt = 2800;
  for (const BitCase& bc : cases) {
    const AttnCase& c = bc.c;
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + Describe(c) + fmt::format(" layout {}", static_cast<int>(bc.layout)));
    auto arena = cuda.NewArena();
    const Twin q = RandomTwin(cuda, *arena, Shape{c.batch, c.sq, c.hq, c.d}, dt, seed, -1.5f, 1.5f);
    const Twin k = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.d}, dt, seed + 1, -1.5f, 1.5f);
    const Twin v = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.dv}, dt, seed + 2, -1.5f, 1.5f);
    const MaskViews mask = MakeMaskViews(cuda, *arena, c, bc.layout, seed + 3);
    const Tensor out = arena->Allocate(Shape{c.batch, c.sq, c.hq, c.dv}, dt);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    const auto run = [&](int force_splits, bool force_ldg) {
      cuda.Fill(out, std::numeric_limits<float>::quiet_NaN());  // every element must be rewritten
      cuda::ForceAttentionSplits(cuda, force_splits);
      cuda::ForceAttentionMaskLdg(cuda, force_ldg);
      cuda::ResetStats(cuda);
      cuda.Attention(q.dev, k.dev, v.dev, &mask.dev, scale, out);
      cuda::ForceAttentionSplits(cuda, 0);
      cuda::ForceAttentionMaskLdg(cuda, false);
      EXPECT_EQ(cuda::StatsOf(cuda).attention_flash, flash ? 1 : 0);
      const bool staged = flash && !force_ldg && cuda::AttentionFlashStagesMaskOf(cuda, static_cast<int>(c.d));
      EXPECT_EQ(cuda::StatsOf(cuda).attention_flash_smem_mask, staged ? 1 : 0);
      HostTensor bits(dt, out.shape);
      cuda.Download(out, bits.view());
      return bits;
    };
    const int key_tiles = static_cast<int>((c.sk + 63) / 64);
    for (int splits : {1, 2, 3, key_tiles}) {
      const HostTensor staged = run(splits, false);
      const HostTensor ldg = run(splits, true);
      EXPECT_TRUE(staged.nbytes() == ldg.nbytes() &&
                  std::memcmp(staged.data<uint8_t>(), ldg.data<uint8_t>(), staged.nbytes()) == 0)
          << "shared-memory mask and __ldg mask differ, " << splits << " splits";
    }
  }
}

// The cluster merge of split partials (distributed shared memory, no merge kernel) gives the
// merge kernel's bits for every split count the device's clusters hold: one- and multi-tile
// blocks, empty splits (more splits than tiles per block allow), fully masked NaN rows, G 4,
// D 128, batch 2 and pi0.5's 13 splits. On sm_90 the portable cluster size (8) must fit.
TEST_P(AttentionParity, Pi0FlashClusterMergeMatchesMergeKernelBits) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  const bool flash = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
  Backend& cuda = CudaFor(mode);
  const int cluster_splits = cuda::AttentionClusterSplitsOf(cuda);
  // Clusters need an sm_90+ device running sm_90+ code from this build (kernel_image.h);
  // VLART_ATTENTION_CLUSTER_MERGE=0 turns them off.
  const char* merge_env = std::getenv("VLART_ATTENTION_CLUSTER_MERGE");
  if (!cuda::KernelImageHasHopperFeatures() || (merge_env != nullptr && std::strcmp(merge_env, "0") == 0)) {
    EXPECT_EQ(cluster_splits, 1) << "no cluster merge without sm_90+ code or with VLART_ATTENTION_CLUSTER_MERGE=0";
  } else {
    EXPECT_GE(cluster_splits, 8) << "sm_90+ launches portable 8-block clusters";
  }
  struct BitCase {
    AttnCase c;
    std::vector<int> splits;
  };
  const std::vector<BitCase> cases = {
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0Suffix}, {2, 3, 7, 10}},
      {{1, 51, 581, 8, 1, 256, 256, MaskKind::kPi0SuffixNegInf}, {10}},  // NaN rows
      {{2, 51, 867, 8, 1, 256, 256, MaskKind::kPi0Suffix}, {5, 14}},
      {{1, 10, 810, 8, 1, 256, 256, MaskKind::kPi05Suffix}, {13}},
      {{1, 51, 581, 8, 2, 256, 256, MaskKind::kPi0Suffix}, {4}},        // G 4
      {{1, 51, 581, 8, 1, 128, 128, MaskKind::kPi0Suffix}, {10}},       // D 128
      {{1, 300, 300, 8, 1, 256, 256, MaskKind::kPi0PrefixNegInf}, {3}},  // 38 row tiles
  };
  uint64_t salt = 2900;
  for (const BitCase& bc : cases) {
    const AttnCase& c = bc.c;
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + " " + Describe(c));
    auto arena = cuda.NewArena();
    const Twin q = RandomTwin(cuda, *arena, Shape{c.batch, c.sq, c.hq, c.d}, dt, seed, -1.5f, 1.5f);
    const Twin k = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.d}, dt, seed + 1, -1.5f, 1.5f);
    const Twin v = RandomTwin(cuda, *arena, Shape{c.batch, c.sk, c.hkv, c.dv}, dt, seed + 2, -1.5f, 1.5f);
    const Twin mask = MakeTwin(cuda, *arena, MakeMask(c, seed + 3), DType::kF32);
    const Tensor out = arena->Allocate(Shape{c.batch, c.sq, c.hq, c.dv}, dt);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
    const auto run = [&](int force_splits, bool merge_kernel) {
      cuda.Fill(out, std::numeric_limits<float>::quiet_NaN());  // every element must be rewritten
      cuda::ForceAttentionSplits(cuda, force_splits);
      cuda::ForceAttentionMerge(cuda, merge_kernel ? cuda::AttentionMerge::kKernel : cuda::AttentionMerge::kCluster);
      cuda::ResetStats(cuda);
      cuda.Attention(q.dev, k.dev, v.dev, &mask.dev, scale, out);
      cuda::ForceAttentionSplits(cuda, 0);
      cuda::ForceAttentionMerge(cuda, cuda::AttentionMerge::kAuto);
      const cuda::Stats st = cuda::StatsOf(cuda);
      EXPECT_EQ(st.attention_flash_split, flash ? 1 : 0) << force_splits << " splits";
      EXPECT_EQ(st.attention_flash_cluster_merge,
                flash && !merge_kernel && force_splits <= cluster_splits ? 1 : 0)
          << force_splits << " splits, cluster limit " << cluster_splits;
      HostTensor bits(dt, out.shape);
      cuda.Download(out, bits.view());
      return bits;
    };
    for (int splits : bc.splits) {
      const HostTensor cluster = run(splits, false);
      const HostTensor kernel = run(splits, true);
      EXPECT_TRUE(cluster.nbytes() == kernel.nbytes() &&
                  std::memcmp(cluster.data<uint8_t>(), kernel.data<uint8_t>(), cluster.nbytes()) == 0)
          << "cluster merge and merge kernel differ, " << splits << " splits";
      // and the cluster path against the CPU, within the derived tolerance
      RunAttentionCase(mode, c, seed + 7, FlashSplits(splits));
    }
  }
}

TEST_P(AttentionParity, ModelShapesTakeTheExpectedPath) {
  VLART_REQUIRE_REAL_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  auto arena = cuda.NewArena();
  // One self-attention of a fused qkv [batch, tokens, 3, heads, dim]; the path counters it left.
  const auto run = [&](int64_t batch, int64_t tokens, int64_t heads, int64_t dim) {
    const Tensor qkv = arena->Allocate(Shape{batch, tokens, 3, heads, dim}, dt);
    const Tensor out = arena->Allocate(Shape{batch, tokens, heads, dim}, dt);
    cuda.Fill(qkv, 0.25f);
    cuda::ResetStats(cuda);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
    cuda.Attention(qkv.Select(2, 0), qkv.Select(2, 1), qkv.Select(2, 2), nullptr, scale, out);
    cuda.Synchronize();
    return cuda::StatsOf(cuda);
  };
  const bool mma = mode == ParityMode::kBF16 || mode == ParityMode::kF16;
  int sms = 0;
  ASSERT_EQ(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0), cudaSuccess);

  // X-VLA, batch 1: the resident kernel's 80 blocks leave SMs to spare (132 on an H100), so it
  // splits its keys; a GPU with fewer than 80 SMs takes the one-pass kernel instead.
  const cuda::Stats s = run(1, 262, 16, 64);
  EXPECT_EQ(s.attention_mma, mma ? 1 : 0);
  EXPECT_EQ(s.attention_simt, mma ? 0 : 1);
  const bool split = sms >= 80;
  EXPECT_EQ(s.attention_resident, mma && split ? 1 : 0);
  EXPECT_EQ(s.attention_resident_split, mma && split ? 1 : 0);
  EXPECT_EQ(s.attention_rows, mma && !split ? 1 : 0);
  // Batch 4 (320 resident blocks, no split): the one-pass kernel.
  EXPECT_EQ(run(4, 262, 16, 64).attention_rows, mma ? 1 : 0) << "X-VLA batch 4 missed the one-pass kernel";
  // SigLIP So400m (pi0's vision tower), 2 views: head dim 72, zero-padded to 80; 128 blocks, so
  // the resident kernel with a key split.
  EXPECT_EQ(run(2, 256, 16, 72).attention_resident, mma && sms >= 128 ? 1 : 0)
      << "SigLIP shape missed the resident kernel";
  // BART's encoder (100 tokens, 16 x 64): 32 resident blocks, so the resident kernel with its
  // two key blocks split, not the one-pass kernel.
  const cuda::Stats sb = run(1, 100, 16, 64);
  EXPECT_EQ(sb.attention_resident_split, mma && sms >= 32 ? 1 : 0) << "BART missed the split resident kernel";
  EXPECT_EQ(sb.attention_rows, mma && sms < 32 ? 1 : 0) << "BART took the one-pass kernel";
}

// ---- ChannelAttention ------------------------------------------------------------------------

VLART_PARITY_SUITE(ChannelAttentionParity);

// Tolerance, per (b, n, g, i), from a double replay per (b, g):
//   S_ij = Σ_n q_ni k_nj;  δ_ij = ReductionTol(N, scale Σ_n |q_ni k_nj|) + 2 u32 |scale S_ij|
//   A = softmax_j(scale S);  V = Σ_j A_ij |v_nj|
//   tol = u_out |want| + (2 max_j δ_ij + kFunctionUlps u32 + ReductionTol(d, 1)) V
// (all f32 on the device: no rounding of A).
TEST_P(ChannelAttentionParity, AwkwardAndDaVitShapes) {
  VLART_REQUIRE_CUDA();
  const ParityMode mode = GetParam();
  const DType dt = ModeDType(mode);
  Backend& cuda = CudaFor(mode);
  struct Case {
    int64_t batch, n, groups, d;
  };
  uint64_t salt = 2200;
  for (const Case& c : {Case{1, 1, 1, 1}, Case{2, 7, 3, 19}, Case{1, 111, 2, 32}, Case{1, 300, 1, 64},
                        Case{2, 3136, 8, 32}, Case{2, 196, 32, 32}, Case{2, 49, 64, 32}}) {
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(SeedNote(seed) + fmt::format(" B {} N {} G {} d {}", c.batch, c.n, c.groups, c.d));
    auto arena = cuda.NewArena();
    Twin qkv = RandomTwin(cuda, *arena, Shape{c.batch, c.n, 3, c.groups, c.d}, dt, seed, -1.0f, 1.0f);
    const Tensor qh = qkv.h().Select(2, 0), kh = qkv.h().Select(2, 1), vh = qkv.h().Select(2, 2);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.n));
    const Shape shape{c.batch, c.n, c.groups, c.d};
    HostTensor want(DType::kF32, shape);
    CpuRef().ChannelAttention(qh, kh, vh, scale, want.view());

    const std::vector<double> q = Values(qh), k = Values(kh), v = Values(vh);
    const auto at = [&](const std::vector<double>& t, int64_t b, int64_t n, int64_t g, int64_t i) {
      return t[static_cast<size_t>(((b * c.n + n) * c.groups + g) * c.d + i)];
    };
    std::vector<double> tol(static_cast<size_t>(want.numel()));
    std::vector<double> a(static_cast<size_t>(c.d * c.d));
    std::vector<double> row_rel(static_cast<size_t>(c.d));
    for (int64_t b = 0; b < c.batch; ++b) {
      for (int64_t g = 0; g < c.groups; ++g) {
        for (int64_t i = 0; i < c.d; ++i) {
          double m = -INFINITY, max_delta = 0.0;
          for (int64_t j = 0; j < c.d; ++j) {
            double sij = 0.0, abs_sij = 0.0;
            for (int64_t n = 0; n < c.n; ++n) {
              sij += at(q, b, n, g, i) * at(k, b, n, g, j);
              abs_sij += std::fabs(at(q, b, n, g, i) * at(k, b, n, g, j));
            }
            a[static_cast<size_t>(i * c.d + j)] = scale * sij;
            m = std::max(m, scale * sij);
            max_delta = std::max(max_delta, ReductionTol(c.n, scale * abs_sij) + 2 * kUnitF32 * std::fabs(scale * sij));
          }
          double sum = 0.0;
          for (int64_t j = 0; j < c.d; ++j) sum += (a[static_cast<size_t>(i * c.d + j)] = std::exp(a[static_cast<size_t>(i * c.d + j)] - m));
          for (int64_t j = 0; j < c.d; ++j) a[static_cast<size_t>(i * c.d + j)] /= sum;
          row_rel[static_cast<size_t>(i)] = 2 * max_delta + kFunctionUlps * kUnitF32 + ReductionTol(c.d, 1.0);
        }
        for (int64_t n = 0; n < c.n; ++n) {
          for (int64_t i = 0; i < c.d; ++i) {
            double av = 0.0;
            for (int64_t j = 0; j < c.d; ++j) av += a[static_cast<size_t>(i * c.d + j)] * std::fabs(at(v, b, n, g, j));
            const size_t o = static_cast<size_t>(((b * c.n + n) * c.groups + g) * c.d + i);
            tol[o] = UnitRoundoff(dt) * std::fabs(want.data<float>()[o]) + row_rel[static_cast<size_t>(i)] * av + AbsFloor(dt);
          }
        }
      }
    }
    GuardedOutput out = MakeGuarded(cuda, *arena, shape, dt, 2);
    cuda.ChannelAttention(qkv.dev.Select(2, 0), qkv.dev.Select(2, 1), qkv.dev.Select(2, 2), scale, out.view);
    ExpectClose(ReadGuarded(cuda, out, "ChannelAttention"), want, tol, "ChannelAttention");
  }
}

}  // namespace
}  // namespace vlart::testing
