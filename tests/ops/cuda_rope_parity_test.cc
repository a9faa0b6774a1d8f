// SPDX-License-Identifier: Apache-2.0
//
// cuda_rope_parity_test.cc: CUDA RopeQkv (Rope q in place, Rope k into the K cache, Copy v into
// the V cache, one launch) in every ParityMode, two ways:
//   1. against the CPU reference (Rope, Rope, Copy on the host) with the Rope parity bound;
//   2. against the three separate CUDA ops (Rope, Rope, Copy) on identical device buffers, bit
//      for bit over the whole guarded buffers (the fused kernel shares RopeKernel's angle and
//      rotation code and Copy's conversions, so nothing may differ, not even a guard element).
// Shapes: the pi0 action expert (B 1, S 50 / 10, Hq 8, Hkv 1, D 256, cache offset after the
// prefix), the pi0 prefix (B 2, S 526), and awkward ones: odd S, D 64 / 32 / 2, Hkv 2, batch 3,
// Dv != D (v from its own buffer), padded (odd, misaligned) head pitches in the fused buffer and
// the caches, k in place, f32 caches under 16-bit activations (the converting Copy branch), and
// more than 65535 tokens (the kernel's grid-stride over tokens). Fused qkv buffers and caches
// are guarded outputs (cuda_parity_util.h): the rows of the cache outside [offset, offset + S)
// keep their NaN poison, so a stray write shows up as a mismatch.
//
// Tolerance (as RopeParity in cuda_parity_test.cc): both sides compute the same f32 angle (same
// inv_freq bits, one f32 product); cos/sin differ by a few ulps (CUDA <= 2, libm <= 1); the
// rotation rounds its products and its sum: together kFunctionUlps u32 (|x1| + |x2|) for the
// pair; then the output rounding u_out |want| and AbsFloor(out). v is exact (tolerance 0): its
// values are representable in every dtype involved.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "cuda_parity_util.h"

namespace vlart::testing {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kTheta = 10000.0f;

struct QkvCase {
  const char* name;
  int64_t b, s, hq, hkv, d, dv;  // dv != d: v from its own buffer instead of the fused qkv
  int64_t cache_len, offset;     // caches [B, cache_len, Hkv, *], written at [offset, offset + S)
  int64_t pad = 0;               // row_pad of the fused buffer and the caches (head pitch D + pad)
  bool k_in_place = false;       // k_out = k (the fused buffer) instead of the K cache
};

std::vector<QkvCase> Cases() {
  return {
      {"pi0 expert", 1, 50, 8, 1, 256, 256, 50 + 37, 37},
      {"pi0.5 expert", 1, 10, 8, 1, 256, 256, 10 + 37, 37},
      {"pi0 prefix", 2, 526, 8, 1, 256, 256, 526 + 50, 0},
      {"odd S, D 64, Hkv 2, padded", 1, 7, 3, 2, 64, 64, 11, 3, 1},
      {"batch 3, D 32, Dv 48", 3, 13, 4, 2, 32, 48, 20, 7, 2},
      {"D 2", 2, 3, 1, 1, 2, 2, 5, 1},
      {"k in place, D 64", 2, 9, 4, 2, 64, 64, 9, 0, 0, true},
      {"70000 tokens", 1, 70000, 1, 1, 2, 2, 70000, 0},
  };
}

std::vector<int32_t> PositionsFor(int64_t n, uint64_t seed) {
  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = static_cast<int32_t>((i * 389 + seed) % 1024);
  return pos;
}

// Per-element bound of a rotated [B, S, H, D] view (header): x is the host input, want the CPU
// result, both f32 views; returns one bound per element in row-major order.
std::vector<double> RopeTol(const Tensor& x, const Tensor& want, DType out_dtype) {
  const std::vector<double> xv = Values(x), wv = Values(want);
  const int64_t d = x.shape[3], half = d / 2;
  std::vector<double> tol(wv.size());
  for (size_t i = 0; i < wv.size(); ++i) {
    const int64_t j = static_cast<int64_t>(i) % d;
    const size_t base = i - static_cast<size_t>(j);
    const double mag = std::fabs(xv[base + j % half]) + std::fabs(xv[base + j % half + half]);
    tol[i] = UnitRoundoff(out_dtype) * std::fabs(wv[i]) + kFunctionUlps * kUnitF32 * mag +
             AbsFloor(out_dtype);
  }
  return tol;
}

// Scatters `part` (row-major over a [B, n, H, E] sub-block) into `whole` (row-major over
// [B, N, Hall, E]) at token offset t0 and head offset h0.
void Scatter(const std::vector<double>& part, const Shape& part_shape, int64_t t0, int64_t h0,
             const Shape& whole_shape, std::vector<double>* whole) {
  const int64_t n = part_shape[1], h = part_shape[2], e = part_shape[3];
  for (int64_t b = 0; b < part_shape[0]; ++b) {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t hh = 0; hh < h; ++hh) {
        for (int64_t x = 0; x < e; ++x) {
          const int64_t src = ((b * n + t) * h + hh) * e + x;
          const int64_t dst =
              ((b * whole_shape[1] + t0 + t) * whole_shape[2] + h0 + hh) * whole_shape[3] + x;
          (*whole)[static_cast<size_t>(dst)] = part[static_cast<size_t>(src)];
        }
      }
    }
  }
}

HostTensor Nans(const Shape& shape) {
  HostTensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = kNaN;
  return t;
}

// The raw bytes of a guarded buffer (guards included).
std::vector<unsigned char> RawBytes(Backend& be, const GuardedOutput& g) {
  HostTensor raw(g.buffer.dtype, g.buffer.shape);
  be.Download(g.buffer, raw.view());
  const auto* p = static_cast<const unsigned char*>(raw.view().data);
  return std::vector<unsigned char>(p, p + raw.nbytes());
}

void ExpectSameBytes(const std::vector<unsigned char>& got, const std::vector<unsigned char>& want,
                     int elem_bytes, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      ADD_FAILURE() << what << ": fused and separate ops differ first at buffer element "
                    << i / static_cast<size_t>(elem_bytes) << " (byte " << i << ")";
      return;
    }
  }
}

// Device buffers of one run: the fused qkv (q, and k when in place, rotated in it), the caches.
struct Buffers {
  GuardedOutput fused, k_cache, v_cache;
  Tensor v_own;  // [B, S, Hkv, Dv] when Dv != D
};

VLART_PARITY_SUITE(RopeQkvParity);

TEST_P(RopeQkvParity, MatchesCpuAndSeparateOpsBitForBit) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  uint64_t salt = 900;
  for (const QkvCase& c : Cases()) {
    auto arena = cuda.NewArena();
    const uint64_t seed = TestSeed(++salt);
    const int64_t heads = c.hq + 2 * c.hkv;
    const Shape fused_shape{c.b, c.s, heads, c.d};
    const Shape kc_shape{c.b, c.cache_len, c.hkv, c.d}, vc_shape{c.b, c.cache_len, c.hkv, c.dv};
    const Twin fused = RandomTwin(cuda, *arena, fused_shape, dt, seed, -2.0f, 2.0f);
    const Twin v_own = RandomTwin(cuda, *arena, Shape{c.b, c.s, c.hkv, c.dv}, dt, seed + 1, -2.0f, 2.0f);
    const Twin pos = IntTwin(cuda, *arena, PositionsFor(c.b * c.s, seed), Shape{c.b, c.s});
    auto q_of = [&](const Tensor& f) { return f.Slice(2, 0, c.hq); };
    auto k_of = [&](const Tensor& f) { return f.Slice(2, c.hq, c.hq + c.hkv); };
    auto v_of = [&](const Tensor& f, const Tensor& own) {
      return c.dv == c.d ? f.Slice(2, c.hq + c.hkv, heads) : own;
    };
    auto rows = [&](const Tensor& cache) { return cache.Slice(1, c.offset, c.offset + c.s); };

    // CPU reference on the host values: the three ops.
    HostTensor want_fused = HostTensor::CopyOf(fused.h());
    HostTensor want_k = Nans(kc_shape), want_v = Nans(vc_shape);
    CpuRef().Rope(q_of(fused.h()), pos.h(), kTheta, q_of(want_fused.view()));
    CpuRef().Rope(k_of(fused.h()), pos.h(), kTheta,
                  c.k_in_place ? k_of(want_fused.view()) : rows(want_k.view()));
    CpuRef().Copy(v_of(fused.h(), v_own.h()), rows(want_v.view()));

    std::vector<DType> cache_dtypes = {dt};
    if (dt != DType::kF32) cache_dtypes.push_back(DType::kF32);  // the converting branches
    for (DType cdt : cache_dtypes) {
      SCOPED_TRACE(fmt::format("{}: {}, caches {}", c.name, SeedNote(seed), DTypeName(cdt)));
      // Bounds over the whole guarded views.
      std::vector<double> fused_tol(static_cast<size_t>(want_fused.numel()), 0.0);
      Scatter(RopeTol(q_of(fused.h()), q_of(want_fused.view()), dt), q_of(fused.h()).shape, 0, 0,
              fused_shape, &fused_tol);
      std::vector<double> k_tol(static_cast<size_t>(want_k.numel()), 0.0);
      if (c.k_in_place) {
        Scatter(RopeTol(k_of(fused.h()), k_of(want_fused.view()), dt), k_of(fused.h()).shape, 0,
                c.hq, fused_shape, &fused_tol);
      } else {
        Scatter(RopeTol(k_of(fused.h()), rows(want_k.view()), cdt), k_of(fused.h()).shape,
                c.offset, 0, kc_shape, &k_tol);
      }

      // Two identical sets of device buffers: one for RopeQkv, one for the separate ops.
      auto make = [&]() {
        Buffers bufs;
        bufs.fused = MakeGuarded(cuda, *arena, fused_shape, dt, c.pad);
        cuda.Copy(fused.dev, bufs.fused.view);
        bufs.k_cache = MakeGuarded(cuda, *arena, kc_shape, cdt, c.pad);
        bufs.v_cache = MakeGuarded(cuda, *arena, vc_shape, cdt, c.pad);
        bufs.v_own = v_own.dev;
        return bufs;
      };
      const Buffers fu = make(), sep = make();
      {
        const Tensor f = fu.fused.view;
        cuda.RopeQkv(q_of(f), k_of(f), v_of(f, fu.v_own), pos.dev, kTheta, q_of(f),
                     c.k_in_place ? k_of(f) : rows(fu.k_cache.view), rows(fu.v_cache.view), nullptr);
      }
      {
        const Tensor f = sep.fused.view;
        cuda.Rope(q_of(f), pos.dev, kTheta, q_of(f));
        cuda.Rope(k_of(f), pos.dev, kTheta, c.k_in_place ? k_of(f) : rows(sep.k_cache.view));
        cuda.Copy(v_of(f, sep.v_own), rows(sep.v_cache.view));
      }

      // 1. Against the CPU reference.
      ExpectClose(ReadGuarded(cuda, fu.fused, "fused qkv"), want_fused, fused_tol,
                  "RopeQkv fused qkv (q in place, k and v unchanged)");
      if (c.k_in_place) {
        ExpectClose(ReadGuarded(cuda, fu.k_cache, "K cache"), Nans(kc_shape), {0.0},
                    "RopeQkv K cache untouched (k in place)");
      } else {
        ExpectClose(ReadGuarded(cuda, fu.k_cache, "K cache"), want_k, k_tol, "RopeQkv K cache");
      }
      ExpectClose(ReadGuarded(cuda, fu.v_cache, "V cache"), want_v, {0.0}, "RopeQkv V cache");

      // 2. Against the separate CUDA ops, every byte of every buffer.
      ExpectSameBytes(RawBytes(cuda, fu.fused), RawBytes(cuda, sep.fused), DTypeBits(dt) / 8,
                      "fused qkv buffer");
      ExpectSameBytes(RawBytes(cuda, fu.k_cache), RawBytes(cuda, sep.k_cache), DTypeBits(cdt) / 8,
                      "K cache buffer");
      ExpectSameBytes(RawBytes(cuda, fu.v_cache), RawBytes(cuda, sep.v_cache), DTypeBits(cdt) / 8,
                      "V cache buffer");
    }
  }
}

// RopeQkv with a row scale (the folded GemmaRMSNorm: RowRmsScale of the residual stream x
// [B * S, W]): q, k, v of token r scaled by s[r] before the rotation and the cache write, at
// pi0's expert (W 1024) and prefix (W 2048) shapes and an awkward one (odd S, Hkv 2, W 100, x
// in f32 under 16-bit q/k/v), against the CPU chain (scaled f32 copies, then Rope, Rope, Copy).
// Tolerance: RopeTol on the unscaled inputs times s (the scaled inputs' bound), plus what a
// statistic kRowStatUlps f32 ulps off the CPU's moves a result (u32 kRowStatUlps |want|), v:
// one rounding of v s (u_out |want|) plus the same statistic term. The statistic bound: the
// CPU sums x² in double and rounds once; a block sums in f32, <= C/256 + 10 roundings of a
// positive running sum (C <= 2048: <= 18 u32 on mean(x²)), half of it through the square root,
// + 3 roundings: 16 u32 with room.
TEST_P(RopeQkvParity, RowScaleMatchesTheCpuChain) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  constexpr double kRowStatUlps = 16.0;
  constexpr float kEps = 1e-6f;
  struct Case {
    const char* name;
    int64_t b, s, hq, hkv, d, width, cache_len, offset;
    bool x_f32;
  };
  const std::vector<Case> cases = {
      {"pi0 expert", 1, 51, 8, 1, 256, 1024, 51 + 37, 37, false},
      {"pi0 prefix B 2", 2, 300, 8, 1, 256, 2048, 300, 0, false},
      {"odd S, Hkv 2, W 100, f32 x", 2, 7, 3, 2, 64, 100, 11, 3, true},
  };
  uint64_t salt = 980;
  for (const Case& c : cases) {
    auto arena = cuda.NewArena();
    const uint64_t seed = TestSeed(++salt);
    SCOPED_TRACE(fmt::format("{}: {}", c.name, SeedNote(seed)));
    const int64_t heads = c.hq + 2 * c.hkv, rows = c.b * c.s;
    const Shape fused_shape{c.b, c.s, heads, c.d}, cache_shape{c.b, c.cache_len, c.hkv, c.d};
    const Twin fused = RandomTwin(cuda, *arena, fused_shape, dt, seed, -2.0f, 2.0f);
    const Twin pos = IntTwin(cuda, *arena, PositionsFor(rows, seed), Shape{c.b, c.s});
    HostTensor xv(DType::kF32, Shape{rows, c.width});
    {
      const HostTensor base = Uniform(Shape{rows, c.width}, seed + 5, -1.0f, 1.0f);
      for (int64_t r = 0; r < rows; ++r) {
        const float scale = std::pow(10.0f, static_cast<float>(r % 5) - 2.5f);  // s ~0.05 .. 550
        for (int64_t j = 0; j < c.width; ++j) {
          xv.data<float>()[r * c.width + j] = base.data<float>()[r * c.width + j] * scale;
        }
      }
    }
    const Twin x = MakeTwin(cuda, *arena, std::move(xv), c.x_f32 ? DType::kF32 : dt);
    auto q_of = [&](const Tensor& f) { return f.Slice(2, 0, c.hq); };
    auto k_of = [&](const Tensor& f) { return f.Slice(2, c.hq, c.hq + c.hkv); };
    auto v_of = [&](const Tensor& f) { return f.Slice(2, c.hq + c.hkv, heads); };
    auto rows_of = [&](const Tensor& cache) { return cache.Slice(1, c.offset, c.offset + c.s); };

    HostTensor want_fused = HostTensor::CopyOf(fused.h());
    HostTensor want_k = Nans(cache_shape), want_v = Nans(cache_shape);
    const RowRmsScale rs_host{x.h(), kEps}, rs_dev{x.dev, kEps};
    CpuRef().RopeQkv(q_of(fused.h()), k_of(fused.h()), v_of(fused.h()), pos.h(), kTheta,
                     q_of(want_fused.view()), rows_of(want_k.view()), rows_of(want_v.view()), &rs_host);

    // Per-token statistic on the host (double), for the bounds.
    std::vector<double> st(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
      double sq = 0.0;
      for (int64_t j = 0; j < c.width; ++j) {
        const double v = x.host.data<float>()[r * c.width + j];
        sq += v * v;
      }
      st[static_cast<size_t>(r)] = 1.0 / std::sqrt(sq / static_cast<double>(c.width) + kEps);
    }
    // Bounds over [B, S, H, D] sub-blocks (row-major), scattered into the guarded layouts.
    auto scaled_rope_tol = [&](const Tensor& in, const Tensor& want) {
      std::vector<double> tol = RopeTol(in, want, dt);
      const std::vector<double> wv = Values(want);
      const size_t per_token = static_cast<size_t>(in.shape[2] * in.shape[3]);
      for (size_t i = 0; i < tol.size(); ++i) {
        const double si = st[i / per_token];
        tol[i] = (tol[i] - AbsFloor(dt) - UnitRoundoff(dt) * std::fabs(wv[i])) * si +
                 UnitRoundoff(dt) * std::fabs(wv[i]) + kRowStatUlps * kUnitF32 * std::fabs(wv[i]) +
                 AbsFloor(dt);
      }
      return tol;
    };
    std::vector<double> fused_tol(static_cast<size_t>(want_fused.numel()), 0.0);
    Scatter(scaled_rope_tol(q_of(fused.h()), q_of(want_fused.view())), q_of(fused.h()).shape, 0, 0,
            fused_shape, &fused_tol);
    std::vector<double> k_tol(static_cast<size_t>(want_k.numel()), 0.0);
    Scatter(scaled_rope_tol(k_of(fused.h()), rows_of(want_k.view())), k_of(fused.h()).shape,
            c.offset, 0, cache_shape, &k_tol);
    std::vector<double> v_tol(static_cast<size_t>(want_v.numel()), 0.0);
    {
      const std::vector<double> wv = Values(rows_of(want_v.view()));
      std::vector<double> part(wv.size());
      for (size_t i = 0; i < wv.size(); ++i) {
        part[i] = (UnitRoundoff(dt) + kRowStatUlps * kUnitF32) * std::fabs(wv[i]) + AbsFloor(dt);
      }
      Scatter(part, v_of(fused.h()).shape, c.offset, 0, cache_shape, &v_tol);
    }

    GuardedOutput f = MakeGuarded(cuda, *arena, fused_shape, dt);
    cuda.Copy(fused.dev, f.view);
    GuardedOutput kc = MakeGuarded(cuda, *arena, cache_shape, dt);
    GuardedOutput vc = MakeGuarded(cuda, *arena, cache_shape, dt);
    cuda.RopeQkv(q_of(f.view), k_of(f.view), v_of(f.view), pos.dev, kTheta, q_of(f.view),
                 rows_of(kc.view), rows_of(vc.view), &rs_dev);
    ExpectClose(ReadGuarded(cuda, f, "fused qkv"), want_fused, fused_tol,
                "RopeQkv row scale: fused qkv (q in place, k and v unchanged)");
    ExpectClose(ReadGuarded(cuda, kc, "K cache"), want_k, k_tol, "RopeQkv row scale: K cache");
    ExpectClose(ReadGuarded(cuda, vc, "V cache"), want_v, v_tol, "RopeQkv row scale: V cache");
  }
}

// The model issues RopeQkv inside a recorded CUDA graph (PDL launch): a replay must write what
// the eager call wrote, bit for bit, and follow new positions uploaded between replays.
TEST_P(RopeQkvParity, RecordedReplayMatchesEagerCall) {
  VLART_REQUIRE_CUDA();
  const DType dt = ModeDType(GetParam());
  Backend& cuda = CudaFor(GetParam());
  auto arena = cuda.NewArena();
  const uint64_t seed = TestSeed(950);
  SCOPED_TRACE(SeedNote(seed));
  const int64_t b = 1, s = 50, hq = 8, hkv = 1, d = 256, len = 87, off = 37;
  const Twin fused = RandomTwin(cuda, *arena, Shape{b, s, hq + 2 * hkv, d}, dt, seed, -2.0f, 2.0f);
  const Twin pos = IntTwin(cuda, *arena, PositionsFor(b * s, seed), Shape{b, s});
  const Tensor q = fused.dev.Slice(2, 0, hq), k = fused.dev.Slice(2, hq, hq + hkv),
               v = fused.dev.Slice(2, hq + hkv, hq + 2 * hkv);
  const Tensor q_out = arena->Allocate(Shape{b, s, hq, d}, dt);
  const Tensor kc = arena->Allocate(Shape{b, len, hkv, d}, dt);
  const Tensor vc = arena->Allocate(Shape{b, len, hkv, d}, dt);
  auto run = [&]() {
    cuda.RopeQkv(q, k, v, pos.dev, kTheta, q_out, kc.Slice(1, off, off + s),
                 vc.Slice(1, off, off + s), nullptr);
  };
  auto snapshot = [&]() {
    std::vector<std::vector<unsigned char>> out;
    for (const Tensor* t : {&q_out, &kc, &vc}) {
      HostTensor h(t->dtype, t->shape);
      cuda.Download(*t, h.view());
      const auto* p = static_cast<const unsigned char*>(h.view().data);
      out.emplace_back(p, p + h.nbytes());
    }
    return out;
  };
  auto poison = [&]() {
    for (const Tensor* t : {&q_out, &kc, &vc}) cuda.Fill(*t, -7.0f);
  };
  poison();
  run();
  const auto eager = snapshot();
  Result<std::unique_ptr<RecordedWork>> work = cuda.Record(run);
  ASSERT_TRUE(work.ok()) << work.status().ToString();
  poison();
  (*work)->Replay();
  EXPECT_TRUE(snapshot() == eager) << "replay differs from the eager call";
  // New positions between replays: the replay must use them (the graph holds the pointer).
  const std::vector<int32_t> shifted = PositionsFor(b * s, seed + 17);
  HostTensor shifted_host(DType::kI32, Shape{b, s});
  std::memcpy(shifted_host.data<int32_t>(), shifted.data(), shifted.size() * sizeof(int32_t));
  cuda.Upload(shifted_host.view(), pos.dev);
  poison();
  run();
  const auto eager2 = snapshot();
  poison();
  (*work)->Replay();
  EXPECT_TRUE(snapshot() == eager2) << "replay after new positions differs from the eager call";
  EXPECT_FALSE(eager2 == eager) << "new positions changed nothing: the case proves nothing";
}

}  // namespace
}  // namespace vlart::testing
