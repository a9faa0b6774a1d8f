// SPDX-License-Identifier: Apache-2.0
//
// cpu_test_util.cc: random tensors, strided views, comparisons and test-data readers
// for the CPU reference backend's tests.

#include "cpu_test_util.h"

#include <gtest/gtest.h>

#include <bit>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "backends/cpu/cpu_backend.h"
#include "support/test_paths.h"

namespace vlart::testing {
namespace {

constexpr uint32_t kSentinelBits = 0x7fc0dead;  // a quiet NaN with a recognisable payload

int64_t OffsetOf(const Tensor& t, int64_t linear) {
  int64_t off = 0;
  for (int i = t.ndim() - 1; i >= 0; --i) {
    off += (linear % t.shape[i]) * t.stride[i];
    linear /= t.shape[i];
  }
  return off;
}

std::string IndexString(const Shape& shape, int64_t linear) {
  std::vector<int64_t> idx(shape.size());
  for (int i = shape.size() - 1; i >= 0; --i) {
    idx[i] = linear % shape[i];
    linear /= shape[i];
  }
  std::string s = "[";
  for (size_t i = 0; i < idx.size(); ++i) s += (i ? ", " : "") + std::to_string(idx[i]);
  return s + "]";
}

HostTensor ReadRaw(const std::string& file, DType dtype, const Shape& shape) {
  HostTensor t(dtype, shape);
  const auto path = TestDataPath("ops/data/" + file);
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  in.read(static_cast<char*>(t.view().data), static_cast<std::streamsize>(t.nbytes()));
  EXPECT_EQ(static_cast<size_t>(in.gcount()), t.nbytes()) << path << " is shorter than "
                                                          << shape.ToString();
  return t;
}

}  // namespace

Backend& Cpu() {
  static const std::unique_ptr<Backend> backend = CreateCpuBackend();
  return *backend;
}

HostTensor Random(const Shape& shape, uint64_t seed, float lo, float hi) {
  HostTensor t(DType::kF32, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

HostTensor RandomIntegers(const Shape& shape, uint64_t seed, int lo, int hi) {
  HostTensor t(DType::kF32, shape);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(dist(rng));
  return t;
}

HostTensor Full(const Shape& shape, float value) {
  HostTensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = value;
  return t;
}

Padded PaddedF32(const Shape& shape, const std::vector<int64_t>& pad) {
  EXPECT_EQ(static_cast<int>(pad.size()), shape.size());
  Shape big;
  for (int i = 0; i < shape.size(); ++i) big.push_back(shape[i] + pad[i]);
  Padded p;
  p.storage = HostTensor(DType::kF32, big);
  const float sentinel = std::bit_cast<float>(kSentinelBits);
  for (int64_t i = 0; i < p.storage.numel(); ++i) p.storage.data<float>()[i] = sentinel;
  p.view = p.storage.view();
  for (int i = 0; i < shape.size(); ++i) p.view = p.view.Slice(i, 0, shape[i]);
  return p;
}

std::vector<double> ToDouble(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data_as<const float>()[OffsetOf(t, i)];
  return v;
}

void FromDouble(const std::vector<double>& values, const Tensor& t) {
  ASSERT_EQ(static_cast<int64_t>(values.size()), t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    t.data_as<float>()[OffsetOf(t, i)] = static_cast<float>(values[i]);
  }
}

double At(const Tensor& t, std::initializer_list<int64_t> index) {
  return *static_cast<const float*>(t.ElementPtr(index));
}

void ExpectWithin(const Tensor& got, const std::vector<double>& want,
                  const std::vector<double>& tol, const std::string& what) {
  ASSERT_EQ(static_cast<int64_t>(want.size()), got.numel()) << what;
  ASSERT_EQ(want.size(), tol.size()) << what;
  int64_t bad = 0;
  int64_t worst = -1;
  double worst_ratio = 0.0;
  double max_ratio = 0.0;  // over all elements, for VLART_TEST_VERBOSE
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.data_as<const float>()[OffsetOf(got, i)];
    const double err = std::fabs(g - want[i]);
    const double ratio = err / (tol[i] > 0 ? tol[i] : 1e-300);
    const bool ok = err <= tol[i];  // false for NaN
    if (ok) max_ratio = std::max(max_ratio, ratio);
    if (!ok) ++bad;
    if (!ok && (worst < 0 || !(ratio <= worst_ratio))) {
      worst = i;
      worst_ratio = ratio;
    }
  }
  if (std::getenv("VLART_TEST_VERBOSE") != nullptr) {
    std::fprintf(stderr, "  %s: max |err| / tol = %.3g over %lld elements\n", what.c_str(),
                 max_ratio, static_cast<long long>(got.numel()));
  }
  if (bad > 0) {
    const double g = got.data_as<const float>()[OffsetOf(got, worst)];
    ADD_FAILURE() << what << ": " << bad << " of " << got.numel()
                  << " elements outside tolerance; worst at " << IndexString(got.shape, worst)
                  << ": got " << g << ", want " << want[worst] << ", |err| "
                  << std::fabs(g - want[worst]) << " > tol " << tol[worst];
  }
}

void ExpectBitEqual(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  int64_t bad = 0;
  int64_t first = -1;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const uint32_t g = std::bit_cast<uint32_t>(got.data_as<const float>()[OffsetOf(got, i)]);
    const uint32_t w = std::bit_cast<uint32_t>(want.data_as<const float>()[OffsetOf(want, i)]);
    if (g != w) {
      if (first < 0) first = i;
      ++bad;
    }
  }
  if (bad > 0) {
    ADD_FAILURE() << what << ": " << bad << " of " << got.numel()
                  << " elements differ bitwise; first at " << IndexString(got.shape, first)
                  << ": got " << got.data_as<const float>()[OffsetOf(got, first)] << ", want "
                  << want.data_as<const float>()[OffsetOf(want, first)];
  }
}

void ExpectExact(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  HostTensor w(DType::kF32, got.shape);
  FromDouble(want, w.view());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(static_cast<double>(w.data<float>()[i]), want[i])
        << what << ": reference value " << want[i] << " is not exact in f32";
  }
  ExpectBitEqual(got, w.view(), what);
}

void ExpectPaddingUntouched(const Padded& p, const std::string& what) {
  // Mark the view's elements, then every unmarked storage element must be the sentinel.
  std::vector<bool> in_view(static_cast<size_t>(p.storage.numel()), false);
  const float* base = p.storage.data<float>();
  const float* start = p.view.data_as<const float>();
  for (int64_t i = 0; i < p.view.numel(); ++i) in_view[(start - base) + OffsetOf(p.view, i)] = true;
  int64_t touched = 0;
  for (int64_t i = 0; i < p.storage.numel(); ++i) {
    if (!in_view[i] && std::bit_cast<uint32_t>(base[i]) != kSentinelBits) ++touched;
  }
  EXPECT_EQ(touched, 0) << what << ": " << touched << " padding elements were overwritten";
}

HostTensor ReadF32(const std::string& file, const Shape& shape) {
  return ReadRaw(file, DType::kF32, shape);
}

HostTensor ReadI32(const std::string& file, const Shape& shape) {
  return ReadRaw(file, DType::kI32, shape);
}

}  // namespace vlart::testing
