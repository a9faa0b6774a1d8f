// SPDX-License-Identifier: Apache-2.0
//
// npy.h: reading NumPy .npy files (what a Python user hands vlart as injected noise).
//
// Supports format versions 1.0-3.0, little-endian float32 / float64 ('<f4', '<f8'),
// C order; the result is converted to f32. Everything else (Fortran order, object
// arrays, big-endian, truncated data, header lies) is a clear error.
#pragma once

#include <filesystem>
#include <span>
#include <string>

#include "core/host_tensor.h"
#include "core/status.h"

namespace vlart {

Result<HostTensor> ReadNpyF32(const std::filesystem::path& path);
Result<HostTensor> ParseNpyF32(std::span<const uint8_t> bytes, const std::string& label);

}  // namespace vlart
