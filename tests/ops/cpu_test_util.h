// SPDX-License-Identifier: Apache-2.0
//
// cpu_test_util.h: helpers for the CPU reference backend's tests (tests/ops/cpu_*).
//
// The CPU backend's memory is host memory, so tests pass HostTensor views straight to
// ops. References are computed in double by loops written from the math in backend.h;
// comparisons take a per-element bound derived from f32 rounding (kU = 2^-24, the unit
// roundoff of f32) and report the worst element.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/host_tensor.h"
#include "ops/backend.h"

namespace vlart::testing {

// Unit roundoff of f32: |fl(x) - x| <= kU |x| for one correctly rounded operation.
inline constexpr double kU = 1.0 / (1 << 24);

// Wilkinson bound for a length-n sum or dot product computed in f32 in any order (FMA
// or not): |fl(Σ) - Σ| <= gamma_n Σ|terms|, gamma_n = n u / (1 - n u).
inline double Gamma(int64_t n) { return n * kU / (1.0 - n * kU); }

// The shared backend under test.
Backend& Cpu();

// f32 tensor with uniform values in [lo, hi), seeded.
HostTensor Random(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);
// f32 tensor with uniform integer values in [lo, hi], seeded.
HostTensor RandomIntegers(const Shape& shape, uint64_t seed, int lo, int hi);
// f32 tensor filled with `value`.
HostTensor Full(const Shape& shape, float value);

// A strided f32 view into a larger buffer: every dim i is embedded in a buffer dim of
// size shape[i] + pad[i] (pad at the end), so rows are not adjacent. Padding elements
// hold a sentinel (a NaN payload) so a stray read shows up, and can be checked unchanged.
struct Padded {
  HostTensor storage;
  Tensor view;
};
Padded PaddedF32(const Shape& shape, const std::vector<int64_t>& pad);

// Row-major values of any f32 view, as double.
std::vector<double> ToDouble(const Tensor& f32_view);
// Writes row-major values into any f32 view.
void FromDouble(const std::vector<double>& values, const Tensor& f32_view);

// Value of element `index` (one entry per dim) of an f32 view, as double.
double At(const Tensor& f32_view, std::initializer_list<int64_t> index);

// Expects |got[i] - want[i]| <= tol[i] for every element (got: any f32 view, row-major).
// On failure prints the count, the worst element (by error / tol), its index and values.
// With VLART_TEST_VERBOSE set, also prints the largest |err| / tol seen (how much of the
// derived bound the backend used).
void ExpectWithin(const Tensor& got, const std::vector<double>& want,
                  const std::vector<double>& tol, const std::string& what);
// Bitwise equality of two f32 views of the same shape.
void ExpectBitEqual(const Tensor& got, const Tensor& want, const std::string& what);
// Bitwise equality of an f32 view with exact values.
void ExpectExact(const Tensor& got, const std::vector<double>& want, const std::string& what);

// Every padding element of p.storage (outside p.view) still holds the sentinel.
void ExpectPaddingUntouched(const Padded& p, const std::string& what);

// Raw little-endian f32 / i32 test data under tests/ops/data/ (gen_torch_refs.py).
HostTensor ReadF32(const std::string& file, const Shape& shape);
HostTensor ReadI32(const std::string& file, const Shape& shape);

}  // namespace vlart::testing
