// SPDX-License-Identifier: Apache-2.0
//
// checkpoint.h: Checkpoint, every tensor of a checkpoint folder behind one name lookup.
//
// A folder holds either `model.safetensors` (preferred when both exist, as
// transformers does) or a sharded set described by `model.safetensors.index.json`.
// Opening validates everything up front: every shard parses, every tensor the index
// maps is in its shard, and no shard holds a tensor the index does not map to it.
// Files are mmapped: opening reads only headers; View() is zero-copy; Load() reads
// and converts (f32/f16/bf16, bit-exact with torch casts, see io/float_cast.h).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/host_tensor.h"
#include "core/status.h"
#include "io/safetensors.h"

namespace vlart {

inline constexpr std::string_view kSingleFileName = "model.safetensors";

class Checkpoint {
 public:
  // `path` is a checkpoint folder, or one .safetensors file (its own checkpoint).
  static Result<std::unique_ptr<Checkpoint>> Open(const std::filesystem::path& path);

  const std::filesystem::path& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  // The opened files, sorted by file name.
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

  // nullptr when the checkpoint has no tensor `name`.
  const TensorInfo* Find(std::string_view name) const;
  // The file holding `name` (nullptr when absent).
  const SafetensorsFile* FileOf(std::string_view name) const;
  // That file's name without its folder, e.g. "model-00001-of-00002.safetensors" ("" when absent).
  std::string FileNameOf(std::string_view name) const;
  std::vector<std::string> Names() const;  // sorted
  size_t num_tensors() const { return index_.size(); }

  // A contiguous host copy of `name` as `want`. Same dtype: a copy. F32/F16/BF16
  // sources convert to F32/F16/BF16 (round to nearest even, as torch). Other pairs fail.
  Result<HostTensor> Load(std::string_view name, DType want) const;
  // A zero-copy, read-only CPU view into the mapped file (see SafetensorsFile::View).
  Result<Tensor> View(std::string_view name) const;

 private:
  struct Entry {
    const TensorInfo* info;
    const SafetensorsFile* file;
  };
  Checkpoint() = default;
  Status OpenSingle(const std::filesystem::path& file);
  Status OpenSharded(const std::filesystem::path& index_path);
  Status NotFoundError(std::string_view name) const;

  std::filesystem::path dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Entry, std::less<>> index_;
};

}  // namespace vlart
