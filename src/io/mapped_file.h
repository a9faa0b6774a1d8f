// SPDX-License-Identifier: Apache-2.0
//
// mapped_file.h: MappedFile, a whole file mapped read-only into memory (mmap).
//
// Pages are read lazily by the kernel, so opening a 7 GB checkpoint to read its
// header costs almost nothing. The mapping is PROT_READ: writing through a pointer
// into it faults. If another process truncates the file while it is mapped, reads
// past the new end raise SIGBUS; nothing in user space can prevent that.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

#include "core/status.h"

namespace vlart {

class MappedFile {
 public:
  MappedFile() = default;
  // Maps `path` (a regular file). An empty file maps to an empty span.
  static Result<MappedFile> Open(const std::filesystem::path& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }

  // Asks the kernel to start reading [offset, offset + length) ahead of use.
  void WillNeed(size_t offset, size_t length) const;

 private:
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vlart
