// SPDX-License-Identifier: Apache-2.0
//
// dtype.h: element types of tensors, their sizes and names.
//
// Sizes are in bits so that packed 4-bit formats fit the same table: a tensor's
// byte size is ceil(numel * bits / 8). Names match safetensors' dtype strings
// where safetensors has one ("F32", "BF16", "F8_E4M3", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace vlart {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kF8E4M3,   // OCP FP8 E4M3 (finite, max 448), as torch.float8_e4m3fn
  kF64,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
  kFp4E2M1,  // packed 4-bit E2M1, two per byte (low nibble first); scales live beside it
};

// Bits per element (4 for kFp4E2M1).
int DTypeBits(DType dtype);

// Bytes for `numel` elements, rounding packed formats up to whole bytes.
size_t DTypeBytes(DType dtype, int64_t numel);

// True for types whose elements are individually addressable floats.
bool IsFloat(DType dtype);

// "F32", "BF16", ... (safetensors spelling where one exists).
std::string_view DTypeName(DType dtype);

// Parses a safetensors dtype string; nullopt for unknown or unsupported names.
std::optional<DType> DTypeFromSafetensorsName(std::string_view name);

}  // namespace vlart
