// SPDX-License-Identifier: Apache-2.0
//
// arena.cc: CpuArena, the bump allocator of the CPU reference backend.
//
// Memory comes in host chunks from std::aligned_alloc(256, ...), at least kChunkBytes
// each (a larger request gets a chunk of its own); tensors are carved from the
// current chunk at 256-byte-aligned offsets and everything is freed when the arena
// is destroyed. New chunks are filled with 0xFF bytes, a NaN in every float dtype,
// so an op that reads a buffer nobody wrote shows NaN instead of plausible zeros.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "core/check.h"

namespace vlart::cpu {
namespace {

constexpr size_t kAlignment = 256;
constexpr size_t kChunkBytes = size_t{16} << 20;

size_t RoundUp(size_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

class CpuArena final : public Arena {
 public:
  ~CpuArena() override {
    for (void* p : chunks_) std::free(p);
  }

  Tensor Allocate(const Shape& shape, DType dtype) override {
    VLART_CHECK(!sealed_, "Arena::Allocate: the arena is sealed (Arena::Seal), cannot allocate {} {}",
                DTypeName(dtype), shape.ToString());
    for (int64_t d : shape) {
      VLART_CHECK(d >= 0, "Arena::Allocate: negative dim in {}", shape.ToString());
    }
    const size_t bytes = RoundUp(std::max<size_t>(DTypeBytes(dtype, shape.numel()), 1));
    if (bytes > chunk_left_) {
      const size_t chunk = std::max(bytes, kChunkBytes);
      void* p = std::aligned_alloc(kAlignment, chunk);
      VLART_CHECK(p != nullptr, "Arena::Allocate: out of host memory for a {}-byte chunk", chunk);
      std::memset(p, 0xff, chunk);
      chunks_.push_back(p);
      cursor_ = static_cast<std::byte*>(p);
      chunk_left_ = chunk;
    }
    void* data = cursor_;
    cursor_ += bytes;
    chunk_left_ -= bytes;
    allocated_ += bytes;
    return Tensor::Contiguous(data, dtype, shape, Device::kCpu);
  }

  size_t bytes_allocated() const override { return allocated_; }
  // Ops on the CPU run when issued: nothing is in flight and nothing reads ahead.
  void Seal() override { sealed_ = true; }
  bool sealed() const override { return sealed_; }

 private:
  std::vector<void*> chunks_;
  bool sealed_ = false;
  std::byte* cursor_ = nullptr;
  size_t chunk_left_ = 0;
  size_t allocated_ = 0;  // bytes handed out, each tensor rounded up to 256
};

}  // namespace

std::unique_ptr<Arena> NewArena() { return std::make_unique<CpuArena>(); }

}  // namespace vlart::cpu
