// SPDX-License-Identifier: Apache-2.0
//
// cuda_parity_util.cc: backends, seeded inputs, guarded outputs and the comparison of the
// CUDA parity suite (see cuda_parity_util.h).

#include "cuda_parity_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>

#include "backends/cpu/cpu_backend.h"
#include "backends/cuda/cuda_backend.h"
#include "core/check.h"
#include "core/float_convert.h"

namespace vlart::testing {

const char* ParityModeName(ParityMode mode) {
  switch (mode) {
    case ParityMode::kF32: return "F32";
    case ParityMode::kBF16: return "BF16";
    case ParityMode::kF16: return "F16";
    case ParityMode::kBF16Fallback: return "BF16Fallback";
  }
  return "?";
}

DType ModeDType(ParityMode mode) {
  switch (mode) {
    case ParityMode::kF32: return DType::kF32;
    case ParityMode::kBF16: return DType::kBF16;
    case ParityMode::kF16: return DType::kF16;
    case ParityMode::kBF16Fallback: return DType::kBF16;
  }
  return DType::kF32;
}

std::vector<ParityMode> AllParityModes() {
  return {ParityMode::kF32, ParityMode::kBF16, ParityMode::kF16, ParityMode::kBF16Fallback};
}

double UnitRoundoff(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return 1.0 / (1 << 8);
    case DType::kF16: return 1.0 / (1 << 11);
    default: return kUnitF32;
  }
}

double AbsFloor(DType dtype) {
  // f16's subnormal spacing is 2^-24, so rounding into it can move a value by 2^-25.
  if (dtype == DType::kF16) return std::ldexp(1.0, -25);
  return std::numeric_limits<float>::denorm_min();
}

double ReductionTol(int64_t n, double abs_sum) {
  constexpr double kLambda = 4.0;
  return 3.0 * kLambda * std::sqrt(static_cast<double>(std::max<int64_t>(n, 1))) * kUnitF32 * abs_sum;
}

uint64_t TestSeed(uint64_t salt) {
  uint64_t base = 20261122;
  if (const char* env = std::getenv("VLART_TEST_SEED"); env != nullptr && *env != '\0') {
    base = std::strtoull(env, nullptr, 10);
  }
  uint64_t z = base + 0x9e3779b97f4a7c15ull * (salt + 1);  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string SeedNote(uint64_t seed) {
  const char* env = std::getenv("VLART_TEST_SEED");
  return fmt::format("seed {} (VLART_TEST_SEED={})", seed, env != nullptr ? env : "unset: 20261122");
}

bool SelfCheck() {
  static const bool self_check = [] {
    const char* env = std::getenv("VLART_PARITY_SELF_CHECK");
    return env != nullptr && std::string(env) == "1";
  }();
  return self_check;
}

bool CudaPresent() {
  static const bool present = SelfCheck() || CudaDeviceAvailable();
  return present;
}

std::string SkipReason(bool needs_real_cuda) {
  if (SelfCheck()) {
    if (needs_real_cuda) return "needs a real CUDA backend (VLART_PARITY_SELF_CHECK=1)";
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const char* param = info != nullptr ? info->value_param() : nullptr;
    if (param != nullptr && std::string(param) != "F32") {
      return "the self-check runs F32 cases only (the CPU reference is f32-only)";
    }
    return "";
  }
  return CudaPresent() ? "" : "no CUDA device";
}

// Backends live until the process exits and are deliberately never destroyed: destroying
// CUDA objects from static destructors races the CUDA runtime's own teardown.
Backend& CpuRef() {
  static Backend* cpu = CreateCpuBackend().release();
  return *cpu;
}

Backend& CudaFor(ParityMode mode) {
  static Backend* backends[4] = {};
  Backend*& slot = backends[static_cast<int>(mode)];
  if (slot == nullptr && SelfCheck()) slot = CreateCpuBackend().release();
  if (slot == nullptr) {
    CudaBackendOptions options;
    options.compute_dtype = ModeDType(mode);
    options.force_fallback_kernels = mode == ParityMode::kBF16Fallback;
    Result<std::unique_ptr<Backend>> created = CreateCudaBackend(options);
    VLART_CHECK(created.ok(), "creating the CUDA backend for parity mode {}: {}", ParityModeName(mode),
                created.status().ToString());
    slot = std::move(created).value().release();
  }
  return *slot;
}

HostTensor Uniform(const Shape& shape, uint64_t seed, float lo, float hi) {
  HostTensor t(DType::kF32, shape);
  std::mt19937_64 rng(seed);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double u = static_cast<double>(rng() >> 40) * (1.0 / (1 << 24));  // [0, 1)
    p[i] = static_cast<float>(lo + (static_cast<double>(hi) - lo) * u);
  }
  return t;
}

void RoundThrough(HostTensor& t, DType dtype) {
  VLART_CHECK(t.dtype() == DType::kF32, "RoundThrough expects f32");
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (dtype == DType::kBF16) p[i] = BF16BitsToF32(F32ToBF16Bits(p[i]));
    if (dtype == DType::kF16) p[i] = F16BitsToF32(F32ToF16Bits(p[i]));
  }
}

uint32_t PoisonBits(DType dtype) {
  switch (dtype) {
    case DType::kBF16: return 0x7fa5u;  // a quiet NaN with a payload
    case DType::kF16: return 0x7e5au;
    default: return 0x7fc0dea5u;
  }
}

Twin MakeTwin(Backend& cuda, Arena& arena, HostTensor values, DType dtype) {
  RoundThrough(values, dtype);
  Twin t;
  t.dev = arena.Allocate(values.shape(), dtype);
  cuda.Upload(values.view(), t.dev);  // exact: values are representable in dtype
  t.host = std::move(values);
  return t;
}

Twin RandomTwin(Backend& cuda, Arena& arena, const Shape& shape, DType dtype, uint64_t seed,
                float lo, float hi) {
  return MakeTwin(cuda, arena, Uniform(shape, seed, lo, hi), dtype);
}

Twin IntTwin(Backend& cuda, Arena& arena, const std::vector<int32_t>& values, const Shape& shape) {
  Twin t;
  t.host = HostTensor(DType::kI32, shape);
  VLART_CHECK(static_cast<int64_t>(values.size()) == t.host.numel(), "IntTwin: {} values for {}",
              values.size(), shape.ToString());
  std::memcpy(t.host.data<int32_t>(), values.data(), values.size() * sizeof(int32_t));
  t.dev = arena.Allocate(shape, DType::kI32);
  cuda.Upload(t.host.view(), t.dev);
  return t;
}

namespace {

HostTensor PoisonedHost(DType dtype, int64_t n) {
  HostTensor t(dtype, Shape{n});
  const uint32_t bits = PoisonBits(dtype);
  for (int64_t i = 0; i < n; ++i) {
    if (dtype == DType::kF32) {
      t.data<uint32_t>()[i] = bits;
    } else {
      t.data<uint16_t>()[i] = static_cast<uint16_t>(bits);
    }
  }
  return t;
}

uint32_t RawBits(const HostTensor& t, int64_t i) {
  return t.dtype() == DType::kF32 ? t.data<uint32_t>()[i] : t.data<uint16_t>()[i];
}

float RawToF32(DType dtype, uint32_t bits) {
  if (dtype == DType::kBF16) return BF16BitsToF32(static_cast<uint16_t>(bits));
  if (dtype == DType::kF16) return F16BitsToF32(static_cast<uint16_t>(bits));
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace

GuardedOutput MakeGuarded(Backend& cuda, Arena& arena, const Shape& shape, DType dtype,
                          int64_t row_pad, int64_t guard) {
  VLART_CHECK(shape.size() >= 1, "MakeGuarded: needs rank >= 1");
  const int64_t c = shape[-1];
  const int64_t rows = c > 0 ? shape.numel() / c : 0;
  const int64_t pitch = c + row_pad;
  GuardedOutput g;
  g.guard = guard;
  g.buffer = arena.Allocate(Shape{guard + rows * pitch + guard}, dtype);
  cuda.Upload(PoisonedHost(dtype, g.buffer.numel()).view(), g.buffer);
  g.view.data = static_cast<char*>(g.buffer.data) + guard * (DTypeBits(dtype) / 8);
  g.view.dtype = dtype;
  g.view.device = g.buffer.device;
  g.view.shape = shape;
  int64_t stride = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    g.view.stride[d] = stride;
    stride *= (d == shape.size() - 1) ? pitch : shape[d];
  }
  return g;
}

HostTensor ReadGuarded(Backend& cuda, const GuardedOutput& out, const std::string& what) {
  const DType dtype = out.buffer.dtype;
  HostTensor raw(dtype, out.buffer.shape);
  cuda.Download(out.buffer, raw.view());
  const int64_t n = raw.numel();
  std::vector<char> in_view(static_cast<size_t>(n), 0);
  HostTensor values(DType::kF32, out.view.shape);
  const Tensor& v = out.view;
  for (int64_t i = 0; i < v.numel(); ++i) {
    int64_t rest = i;
    int64_t off = out.guard;
    for (int d = v.ndim() - 1; d >= 0; --d) {
      off += (rest % v.shape[d]) * v.stride[d];
      rest /= v.shape[d];
    }
    in_view[static_cast<size_t>(off)] = 1;
    values.data<float>()[i] = RawToF32(dtype, RawBits(raw, off));
  }
  const uint32_t poison = PoisonBits(dtype);
  int64_t touched = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (!in_view[static_cast<size_t>(i)] && RawBits(raw, i) != poison) {
      if (first < 0) first = i;
      ++touched;
    }
  }
  EXPECT_EQ(touched, 0) << what << ": " << touched
                        << " elements outside the output view were overwritten (first at buffer "
                           "offset "
                        << first << ", guard " << out.guard << ", view " << v.ToString() << ")";
  return values;
}

void ExpectClose(const HostTensor& got, const HostTensor& want, const std::vector<double>& tol,
                 const std::string& what) {
  ASSERT_EQ(got.numel(), want.numel()) << what;
  ASSERT_TRUE(tol.size() == 1 || static_cast<int64_t>(tol.size()) == want.numel()) << what;
  const float* g = got.data<float>();
  const float* w = want.data<float>();
  struct Bad {
    int64_t index;
    double ratio;
  };
  std::vector<Bad> bad;
  double err2 = 0.0;
  double ref2 = 0.0;
  double worst_ratio = 0.0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double t = tol.size() == 1 ? tol[0] : tol[static_cast<size_t>(i)];
    bool ok;
    double ratio;
    if (std::isnan(w[i])) {
      ok = std::isnan(g[i]);
      ratio = ok ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (std::isinf(w[i])) {
      ok = g[i] == w[i];
      ratio = ok ? 0.0 : std::numeric_limits<double>::infinity();
    } else if (!std::isfinite(g[i])) {
      ok = false;
      ratio = std::numeric_limits<double>::infinity();
    } else {
      const double e = std::fabs(static_cast<double>(g[i]) - w[i]);
      ok = e <= t;
      ratio = t > 0 ? e / t : (e > 0 ? std::numeric_limits<double>::infinity() : 0.0);
      err2 += e * e;
      ref2 += static_cast<double>(w[i]) * w[i];
    }
    worst_ratio = std::max(worst_ratio, ratio);
    if (!ok) bad.push_back({i, ratio});
  }
  if (std::getenv("VLART_TEST_VERBOSE") != nullptr) {
    std::printf("[ parity ] %s: max |err|/tol = %.3g, rel L2 = %.3g\n", what.c_str(), worst_ratio,
                ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2));
  }
  if (bad.empty()) return;
  std::sort(bad.begin(), bad.end(), [](const Bad& a, const Bad& b) { return a.ratio > b.ratio; });
  std::string report;
  for (size_t j = 0; j < std::min<size_t>(bad.size(), 6); ++j) {
    const int64_t i = bad[j].index;
    report += fmt::format("\n  [{}] want {:.9g} got {:.9g} |err| {:.3g} tol {:.3g}", i, w[i], g[i],
                          std::fabs(static_cast<double>(g[i]) - w[i]),
                          tol.size() == 1 ? tol[0] : tol[static_cast<size_t>(i)]);
  }
  ADD_FAILURE() << what << ": " << bad.size() << " of " << want.numel()
                << " elements outside tolerance (rel L2 over finite elements "
                << (ref2 > 0 ? std::sqrt(err2 / ref2) : std::sqrt(err2)) << "); worst:" << report;
}

std::vector<double> Values(const Tensor& f32_view) {
  VLART_CHECK(f32_view.dtype == DType::kF32 && f32_view.device == Device::kCpu,
              "Values: a host f32 view, got {}", f32_view.ToString());
  std::vector<double> out(static_cast<size_t>(f32_view.numel()));
  for (int64_t i = 0; i < f32_view.numel(); ++i) {
    int64_t rest = i;
    int64_t off = 0;
    for (int d = f32_view.ndim() - 1; d >= 0; --d) {
      off += (rest % f32_view.shape[d]) * f32_view.stride[d];
      rest /= f32_view.shape[d];
    }
    out[static_cast<size_t>(i)] = f32_view.data_as<const float>()[off];
  }
  return out;
}

std::vector<double> RowNorms(const Tensor& rows_view) {
  const std::vector<double> v = Values(rows_view);
  const int64_t r = rows_view.dim(0), c = rows_view.dim(1);
  std::vector<double> norms(static_cast<size_t>(r), 0.0);
  for (int64_t i = 0; i < r; ++i) {
    double s = 0;
    for (int64_t j = 0; j < c; ++j) s += v[static_cast<size_t>(i * c + j)] * v[static_cast<size_t>(i * c + j)];
    norms[static_cast<size_t>(i)] = std::sqrt(s);
  }
  return norms;
}

}  // namespace vlart::testing
