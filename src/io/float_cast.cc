// SPDX-License-Identifier: Apache-2.0
//
// float_cast.cc: element loops for CastFloats and the thread split for big tensors.
//
// Threads: one per 4 M elements, at most min(hardware threads, 16). A 1.7 G-element
// fp32 checkpoint converts in well under a second on 16 cores; small tensors stay on
// the calling thread (thread start-up would cost more than the cast).

#include "io/float_cast.h"

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "core/check.h"
#include "core/float_convert.h"

namespace vlart {
namespace {

constexpr int64_t kElementsPerThread = int64_t{1} << 22;
constexpr int kMaxThreads = 16;

float LoadF32(const std::byte* p, DType dtype, int64_t i) {
  if (dtype == DType::kF32) {
    float v;
    std::memcpy(&v, p + i * 4, 4);
    return v;
  }
  uint16_t b;
  std::memcpy(&b, p + i * 2, 2);
  return dtype == DType::kF16 ? F16BitsToF32(b) : BF16BitsToF32(b);  // CastFloats checked dtype
}

void StoreF32(std::byte* p, DType dtype, int64_t i, float v) {
  if (dtype == DType::kF32) {
    std::memcpy(p + i * 4, &v, 4);
    return;
  }
  const uint16_t b = dtype == DType::kF16 ? F32ToF16Bits(v) : F32ToBF16Bits(v);
  std::memcpy(p + i * 2, &b, 2);
}

bool IsCastFloat(DType d) { return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16; }

void CastRange(const std::byte* src, DType from, std::byte* dst, DType to, int64_t begin,
               int64_t end) {
  if (from == to) {
    const int64_t es = DTypeBits(from) / 8;
    std::memcpy(dst + begin * es, src + begin * es, static_cast<size_t>((end - begin) * es));
    return;
  }
  for (int64_t i = begin; i < end; ++i) StoreF32(dst, to, i, LoadF32(src, from, i));
}

}  // namespace

bool IsCastSupported(DType from, DType to) { return IsCastFloat(from) && IsCastFloat(to); }

void CastFloats(const void* src, DType from, void* dst, DType to, int64_t numel) {
  VLART_CHECK(IsCastSupported(from, to), "CastFloats {} -> {}", DTypeName(from), DTypeName(to));
  VLART_CHECK(numel >= 0, "CastFloats: numel {}", numel);
  if (numel == 0) return;  // pointers may be null then (memcpy must not see them)
  const auto* s = static_cast<const std::byte*>(src);
  auto* d = static_cast<std::byte*>(dst);
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int64_t num_threads =
      std::clamp<int64_t>(numel / kElementsPerThread, 1, std::min<int64_t>(hw, kMaxThreads));
  if (num_threads == 1) {
    CastRange(s, from, d, to, 0, numel);
    return;
  }
  const int64_t chunk = (numel + num_threads - 1) / num_threads;
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(num_threads - 1));
  for (int64_t t = 1; t < num_threads; ++t) {
    const int64_t begin = std::min(numel, t * chunk);
    const int64_t end = std::min(numel, begin + chunk);
    try {
      workers.emplace_back(CastRange, s, from, d, to, begin, end);
    } catch (...) {  // no thread available: do this chunk here (std::thread throws, we do not)
      CastRange(s, from, d, to, begin, end);
    }
  }
  CastRange(s, from, d, to, 0, std::min(numel, chunk));
  for (std::thread& w : workers) w.join();
}

}  // namespace vlart
