// SPDX-License-Identifier: Apache-2.0
//
// safetensors_writer.h: writing .safetensors files byte-identical to the Python
// `safetensors` package (0.8.0; safetensors/src/tensor.rs `prepare`).
//
// Layout it reproduces: tensors sorted by decreasing dtype alignment rank (the Rust
// Dtype enum order: I64, F64, F32, I32, BF16, F16, I16, F8_E4M3, I8, U8, BOOL), then
// by name (bytewise); header is compact JSON {"__metadata__":{...},"name":{"dtype":
// ...,"shape":[...],"data_offsets":[b,e]},...} padded with spaces to a multiple of 8;
// strings escaped as serde_json does. One difference: Python's metadata is a Rust
// HashMap whose key order is random, we sort keys. With at most one metadata key
// (torch's {"format": "pt"}) the bytes are identical.
//
// Data is streamed from the views (no whole-file buffer) into a temporary file next to
// `path`, renamed into place on success, so a failed write never leaves a partial file
// and never truncates a file someone has mmapped. WriteSafetensorsStreamed writes the
// same layout from (name, shape, dtype, fill) descriptors: each tensor's bytes are
// produced only when the file reaches it, so a model larger than memory (synthetic
// full-size checkpoints) can be written one tensor at a time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace vlart {

// Writes `tensors` (CPU views, any strides) and `metadata` (omitted when empty) to `path`.
Status WriteSafetensors(const std::filesystem::path& path,
                        const std::vector<std::pair<std::string, Tensor>>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

// A tensor given by description; `fill` writes its bytes, row-major, into `dst`
// (DTypeBytes(dtype, shape.numel()) bytes) and may fail with a Status.
struct StreamedTensor {
  std::string name;
  Shape shape;
  DType dtype = DType::kF32;
  std::function<Status(std::span<std::byte> dst)> fill;
};

// Writes `tensors` with the layout WriteSafetensors gives the same names, shapes and
// dtypes (byte-identical for the same bytes). Fills run in file order; with threads > 1
// up to `threads` fills run concurrently (on their own threads: `fill` must be safe to
// call concurrently for different tensors), holding at most `threads` tensors in memory.
Status WriteSafetensorsStreamed(const std::filesystem::path& path,
                                const std::vector<StreamedTensor>& tensors,
                                const std::map<std::string, std::string>& metadata = {},
                                int threads = 1);

// The header WriteSafetensors would write: padded JSON, without the 8-byte length.
Result<std::string> SafetensorsHeader(const std::vector<std::pair<std::string, Tensor>>& tensors,
                                      const std::map<std::string, std::string>& metadata = {});

}  // namespace vlart
