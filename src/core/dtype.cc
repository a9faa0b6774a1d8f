// SPDX-License-Identifier: Apache-2.0
//
// dtype.cc: the dtype table.

#include "core/dtype.h"

namespace vlart {

int DTypeBits(DType dtype) {
  switch (dtype) {
    case DType::kF64: return 64;
    case DType::kI64: return 64;
    case DType::kF32: return 32;
    case DType::kI32: return 32;
    case DType::kF16: return 16;
    case DType::kBF16: return 16;
    case DType::kI16: return 16;
    case DType::kF8E4M3: return 8;
    case DType::kI8: return 8;
    case DType::kU8: return 8;
    case DType::kBool: return 8;
    case DType::kFp4E2M1: return 4;
  }
  return 0;
}

size_t DTypeBytes(DType dtype, int64_t numel) {
  return (static_cast<size_t>(numel) * static_cast<size_t>(DTypeBits(dtype)) + 7) / 8;
}

bool IsFloat(DType dtype) {
  switch (dtype) {
    case DType::kF64:
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kF8E4M3: return true;
    case DType::kI64:
    case DType::kI32:
    case DType::kI16:
    case DType::kI8:
    case DType::kU8:
    case DType::kBool:
    case DType::kFp4E2M1: return false;
  }
  return false;
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF64: return "F64";
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kF8E4M3: return "F8_E4M3";
    case DType::kI64: return "I64";
    case DType::kI32: return "I32";
    case DType::kI16: return "I16";
    case DType::kI8: return "I8";
    case DType::kU8: return "U8";
    case DType::kBool: return "BOOL";
    case DType::kFp4E2M1: return "FP4_E2M1";
  }
  return "?";
}

std::optional<DType> DTypeFromSafetensorsName(std::string_view name) {
  if (name == "F64") return DType::kF64;
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  if (name == "F8_E4M3") return DType::kF8E4M3;
  if (name == "I64") return DType::kI64;
  if (name == "I32") return DType::kI32;
  if (name == "I16") return DType::kI16;
  if (name == "I8") return DType::kI8;
  if (name == "U8") return DType::kU8;
  if (name == "BOOL") return DType::kBool;
  return std::nullopt;
}

}  // namespace vlart
