// SPDX-License-Identifier: Apache-2.0
//
// io_test_util.cc: fixture values mirrored from tools/make_io_fixtures.py.

#include "io_test_util.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/float_convert.h"

namespace vlart::testing {

HostTensor FillFixture(DType dtype, const Shape& shape) {
  HostTensor t(dtype, shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float f = static_cast<float>(i - 7) * 0.25f;
    switch (dtype) {
      case DType::kF32:
        t.data<float>()[i] = f;
        break;
      case DType::kF64:
        t.data<double>()[i] = static_cast<double>(f);
        break;
      case DType::kF16:
        t.data<uint16_t>()[i] = F32ToF16Bits(f);
        break;
      case DType::kBF16:
        t.data<uint16_t>()[i] = F32ToBF16Bits(f);
        break;
      case DType::kF8E4M3:
        t.data<uint8_t>()[i] = F32ToE4M3Bits(f);
        break;
      case DType::kI64:
        t.data<int64_t>()[i] = i - 7;
        break;
      case DType::kI32:
        t.data<int32_t>()[i] = static_cast<int32_t>(i - 7);
        break;
      case DType::kI16:
        t.data<int16_t>()[i] = static_cast<int16_t>(i - 7);
        break;
      case DType::kI8:
        t.data<int8_t>()[i] = static_cast<int8_t>(i - 7);
        break;
      case DType::kU8:
        t.data<uint8_t>()[i] = static_cast<uint8_t>((37 * i) % 256);
        break;
      case DType::kBool:
        t.data<uint8_t>()[i] = (i % 3 == 0) ? 1 : 0;
        break;
      case DType::kFp4E2M1:
        ADD_FAILURE() << "no FP4 fixtures";
        break;
    }
  }
  return t;
}

std::string ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace vlart::testing
