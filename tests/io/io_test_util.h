// SPDX-License-Identifier: Apache-2.0
//
// io_test_util.h: helpers shared by the io tests (fixture values, file bytes).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/host_tensor.h"

namespace vlart::testing {

// The values tools/make_io_fixtures.py writes (fill_value there): element i is
// (i - 7) * 0.25 for floats, i - 7 for signed ints, (37 * i) % 256 for U8, i % 3 == 0 for BOOL.
HostTensor FillFixture(DType dtype, const Shape& shape);

// The whole file as bytes ("" when unreadable).
std::string ReadFileBytes(const std::filesystem::path& path);
void WriteFileBytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace vlart::testing
