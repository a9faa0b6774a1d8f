// SPDX-License-Identifier: Apache-2.0
//
// cuda_parity_util.h: the harness of the CUDA-vs-CPU parity suite (cuda_*_test.cc).
//
// A case builds its inputs once on the host in f32, rounded through the device dtype so
// both backends see identical values (Twin), runs the CPU reference on the host views and
// the CUDA backend on device views (strided where the case says so), and compares element
// by element against a per-element bound derived next to the case. Device outputs live in
// guarded buffers (GuardedOutput): every element outside the output view, including guard
// regions before and after, is poisoned with a NaN bit pattern and must be untouched; the
// view itself is poisoned too, so an unwritten element shows up as a NaN mismatch.
// Seeds: TestSeed(salt) = VLART_TEST_SEED (default 20261122) mixed with a per-case salt;
// every failure message carries the seed.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/host_tensor.h"
#include "ops/backend.h"

namespace vlart::testing {

// Compute modes the parity cases run in. kBF16Fallback is a bf16 backend created with
// force_fallback_kernels (SIMT GEMM / attention / direct conv), so the fallbacks are checked
// on the same cases as the fast paths.
enum class ParityMode { kF32, kBF16, kF16, kBF16Fallback };
const char* ParityModeName(ParityMode mode);
DType ModeDType(ParityMode mode);  // dtype of activations and weights on the device
std::vector<ParityMode> AllParityModes();

// Unit roundoffs (half an ulp of 1): f32 2^-24, bf16 2^-8, f16 2^-11.
inline constexpr double kUnitF32 = 1.0 / (1 << 24);
double UnitRoundoff(DType dtype);
// Smallest absolute error an output rounding can add (half the subnormal spacing of f16;
// f32/bf16 subnormals are irrelevant at these magnitudes but bounded the same way).
double AbsFloor(DType dtype);

// Bound on the difference of two f32 evaluations (CPU reference, CUDA kernel) of one
// reduction of n terms whose absolute values sum to abs_sum:
//   |Δ| <= (λ + 2λ) √n u32 abs_sum,  λ = 4.
// λ√n u Σ|terms| is the probabilistic bound of Higham & Mary (SIAM J. Sci. Comput. 2019) for
// recursive summation, which blocked and tree orders (BLAS, tensor cores, warp shuffles) only
// improve; λ = 4 puts the failure probability of one sum far below 1e-6 in their model.
// The device side gets 2λ because Hopper tensor cores may truncate intermediate f32 sums
// (at most one ulp, twice round-to-nearest's half ulp). This is the only place √n appears.
double ReductionTol(int64_t n, double abs_sum);
// Max |f'(x)| over the activations of backend.h: GELU (erf and tanh) 1.129, SiLU 1.100,
// sigmoid 0.25, identity 1: errors before an activation grow by at most this factor.
inline constexpr double kActLipschitz = 1.13;
// Error bound of evaluating one elementwise function (erff, tanhf, expf, cosf, ...) in f32 on
// the device (CUDA: <= 2 ulp) and in libm (<= 1 ulp), as a multiple of u32 times the
// magnitudes involved; 16 covers a formula of a few such calls.
inline constexpr double kFunctionUlps = 16.0;

// Seeds mixed from VLART_TEST_SEED (or a fixed default) and a per-case salt.
uint64_t TestSeed(uint64_t salt);
std::string SeedNote(uint64_t seed);  // "seed 123 (rerun with VLART_TEST_SEED=...)"

// gtest prints the mode by name ("GetParam() = BF16").
inline void PrintTo(ParityMode mode, std::ostream* os) { *os << ParityModeName(mode); }

// Harness self-check: with VLART_PARITY_SELF_CHECK=1 a second CPU reference backend stands in
// for CUDA and only the F32 cases run (the CPU backend computes in f32 only). Every comparison
// is then CPU against CPU, so this proves nothing about the kernels; it exercises the harness
// itself (views, guards, tolerance code, argument checks of every case) on machines without a
// GPU. ctest registers it as ops_cuda_parity_selfcheck (label cpu).
bool SelfCheck();
bool CudaPresent();  // a CUDA device, or the self-check stand-in
// Why the current test cannot run, or "" (used by the macros below).
std::string SkipReason(bool needs_real_cuda);
// Skips the calling test when there is no CUDA device (must be used in the test body).
#define VLART_REQUIRE_CUDA()                                                          \
  do {                                                                                \
    if (const std::string r = ::vlart::testing::SkipReason(false); !r.empty()) GTEST_SKIP() << r; \
  } while (0)
// Same, and also skipped in the self-check (tests of CUDA-only machinery: paths, graphs).
#define VLART_REQUIRE_REAL_CUDA()                                                     \
  do {                                                                                \
    if (const std::string r = ::vlart::testing::SkipReason(true); !r.empty()) GTEST_SKIP() << r; \
  } while (0)

Backend& CpuRef();
Backend& CudaFor(ParityMode mode);  // created on first use, kept for the process

// f32 values uniform in [lo, hi), seeded (mt19937_64, 24-bit mantissas: platform-stable).
HostTensor Uniform(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// Rounds every value through `dtype` (F32 leaves them unchanged).
void RoundThrough(HostTensor& t, DType dtype);
// Bits of the NaN poison pattern for dtype, widened to 32 bits (F32, F16, BF16).
uint32_t PoisonBits(DType dtype);

// One logical tensor on both sides: host f32 values exactly representable in `dtype`, and a
// device copy in `dtype`. Take the same view of both (host() and dev) for a case.
struct Twin {
  HostTensor host;  // f32
  Tensor dev;       // device, dtype
  Tensor h() const { return host.view(); }
};
Twin MakeTwin(Backend& cuda, Arena& arena, HostTensor values, DType dtype);
Twin RandomTwin(Backend& cuda, Arena& arena, const Shape& shape, DType dtype, uint64_t seed,
                float lo = -1.0f, float hi = 1.0f);
// An I32 tensor on both sides.
Twin IntTwin(Backend& cuda, Arena& arena, const std::vector<int32_t>& values, const Shape& shape);

// A device output view inside a poisoned buffer. `row_pad` > 0 makes the rows (all dims but
// the last) non-adjacent: row stride = C + row_pad. The default guard (64 elements) keeps the
// view 16-byte aligned (the buffer is 256-byte aligned), so vectorised paths can be reached;
// an odd guard or row_pad misaligns it.
struct GuardedOutput {
  Tensor buffer;  // [guard + rows * (C + row_pad) + guard], contiguous
  Tensor view;    // the op's output
  int64_t guard = 0;
};
GuardedOutput MakeGuarded(Backend& cuda, Arena& arena, const Shape& shape, DType dtype,
                          int64_t row_pad = 0, int64_t guard = 64);
// Downloads the buffer, expects every element outside the view to still hold the poison
// bits, and returns the view's values as a contiguous f32 host tensor.
HostTensor ReadGuarded(Backend& cuda, const GuardedOutput& out, const std::string& what);

// Expects, for every element, NaN where want is NaN, the same infinity where want is
// infinite, and |got - want| <= tol[i] otherwise (tol has one entry per element, or one for
// all). Reports the number of failures, the worst elements and the relative L2 error.
void ExpectClose(const HostTensor& got, const HostTensor& want, const std::vector<double>& tol,
                 const std::string& what);

// Declares a parameterised suite over every ParityMode ("Suite/AllModes.Case/BF16").
#define VLART_PARITY_SUITE(Suite)                                                              \
  class Suite : public ::testing::TestWithParam<::vlart::testing::ParityMode> {};             \
  INSTANTIATE_TEST_SUITE_P(AllModes, Suite,                                                    \
                           ::testing::ValuesIn(::vlart::testing::AllParityModes()),            \
                           [](const ::testing::TestParamInfo<::vlart::testing::ParityMode>& i) { \
                             return std::string(::vlart::testing::ParityModeName(i.param));    \
                           })

// Row-major values of any host f32 view, as double.
std::vector<double> Values(const Tensor& f32_view);
// The Euclidean norm of each row of a host f32 [R, C] view (any strides): the Cauchy-Schwarz
// bound ||x_m|| ||w_n|| of a GEMM's Σ_k |x_mk w_nk| in the Linear tolerances.
std::vector<double> RowNorms(const Tensor& rows_view);

}  // namespace vlart::testing
