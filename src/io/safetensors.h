// SPDX-License-Identifier: Apache-2.0
//
// safetensors.h: SafetensorsFile, a validated, zero-copy reader of one .safetensors file.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON, then the data
// section. Validation mirrors the reference Rust reader (huggingface/safetensors,
// safetensors/src/tensor.rs: read_metadata + Metadata::validate) and is stricter in
// two ways: repeated names are rejected (serde keeps the last), and a dtype vlart has
// no DType for is rejected. Accepted like the reference: unknown fields inside an
// entry, `"__metadata__": null`, entries in any order in the JSON. Required like the
// reference: N <= 100,000,000; tensors sorted by offset tile the data section exactly
// (no gaps, no overlaps, nothing after the last one); end - begin == numel * size.
//
// Every failure is a Status naming the file (its label) and the tensor; nothing an
// input holds can crash the parser or make it read outside the buffer.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/mapped_file.h"

namespace vlart {

// The reference reader's cap on the JSON header (safetensors' MAX_HEADER_SIZE).
inline constexpr size_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;  // the checkpoint key, verbatim
  DType dtype = DType::kF32;
  Shape shape;             // outermost-first, as stored
  size_t file_offset = 0;  // first byte, counted from the start of the file
  size_t nbytes = 0;       // numel * element size
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. The label in messages is the path as given.
  static Result<std::unique_ptr<SafetensorsFile>> Open(const std::filesystem::path& path);

  // Validates a whole file already in memory. The bytes are borrowed: they must
  // outlive the returned object (and every View of it). Open() is this on an mmap.
  static Result<std::unique_ptr<SafetensorsFile>> OpenFromMemory(std::span<const std::byte> bytes,
                                                                 std::string label);

  const std::string& label() const { return label_; }
  // nullptr when no tensor has that name.
  const TensorInfo* Find(std::string_view name) const;
  // Every tensor, sorted by name.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  std::vector<std::string> Names() const;  // sorted
  // The "__metadata__" map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Bytes of the JSON header (N) and where the data section starts (8 + N).
  size_t header_bytes() const { return header_bytes_; }
  size_t file_size() const { return bytes_.size(); }

  // A zero-copy CPU view of the tensor's bytes, valid while this object lives. The
  // memory is read-only (writing faults). The pointer is element-aligned for files
  // written by the safetensors package (>= 0.3 pads the header to 8 bytes and sorts
  // tensors by decreasing alignment) but need not be for other writers: see
  // IsAligned. `info` must come from this file.
  Tensor View(const TensorInfo& info) const;
  // The tensor's raw bytes.
  std::span<const std::byte> Bytes(const TensorInfo& info) const;
  // True when View(info).data is aligned to the element size.
  bool IsAligned(const TensorInfo& info) const;
  // Hints the kernel to read the tensor's pages ahead (no-op for in-memory files).
  void Prefetch(const TensorInfo& info) const;

 private:
  SafetensorsFile() = default;

  std::string label_;
  MappedFile mapping_;  // empty for OpenFromMemory
  std::span<const std::byte> bytes_;
  size_t header_bytes_ = 0;
  std::vector<TensorInfo> tensors_;  // sorted by name
  std::map<std::string, std::string> metadata_;
};

}  // namespace vlart
