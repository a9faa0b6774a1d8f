// SPDX-License-Identifier: Apache-2.0
//
// checkpoint.cc: opening single-file and sharded checkpoint folders, and Load/View.

#include "io/checkpoint.h"

#include <fmt/format.h>

#include <cstring>
#include <system_error>

#include "io/float_cast.h"
#include "io/json_parse.h"
#include "io/mapped_file.h"
#include "io/shard_index.h"

namespace vlart {

namespace fs = std::filesystem;

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    return NotFound("checkpoint '{}': expected a folder or .safetensors file, got nothing there",
                    path.string());
  }
  std::unique_ptr<Checkpoint> ckpt(new Checkpoint());
  if (fs::is_regular_file(st)) {
    ckpt->dir_ = path.has_parent_path() ? path.parent_path() : fs::path(".");
    VLART_TRY(ckpt->OpenSingle(path));
    return ckpt;
  }
  if (!fs::is_directory(st)) {
    return InvalidArgument(
        "checkpoint '{}': expected a folder or .safetensors file, got a special file",
        path.string());
  }
  ckpt->dir_ = path;
  const fs::path single = path / kSingleFileName;
  const fs::path index = path / kShardIndexFileName;
  if (fs::exists(single, ec)) {
    VLART_TRY(ckpt->OpenSingle(single));
  } else if (fs::exists(index, ec)) {
    VLART_TRY(ckpt->OpenSharded(index));
  } else {
    return NotFound(
        "checkpoint '{}': expected {} or {}, found neither; hint: pass the folder that holds the "
        "weights",
        path.string(), kSingleFileName, kShardIndexFileName);
  }
  return ckpt;
}

Status Checkpoint::OpenSingle(const fs::path& file) {
  VLART_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsFile> f, SafetensorsFile::Open(file));
  for (const TensorInfo& t : f->tensors()) index_.emplace(t.name, Entry{&t, f.get()});
  files_.push_back(std::move(f));
  return Status::Ok();
}

Status Checkpoint::OpenSharded(const fs::path& index_path) {
  sharded_ = true;
  const std::string index_name(kShardIndexFileName);
  VLART_ASSIGN_OR_RETURN(MappedFile index_file, MappedFile::Open(index_path));
  const std::string_view text(reinterpret_cast<const char*>(index_file.bytes().data()),
                              index_file.size());
  VLART_ASSIGN_OR_RETURN(ShardIndex index, ParseShardIndex(text, index_path.string()));

  std::map<std::string, const SafetensorsFile*> by_name;
  for (const std::string& shard : index.shard_files) {
    const fs::path shard_path = dir_ / shard;
    Result<std::unique_ptr<SafetensorsFile>> f = SafetensorsFile::Open(shard_path);
    if (!f.ok()) {
      return f.status().WithContext(fmt::format("checkpoint '{}': shard '{}' (listed in {})",
                                                dir_.string(), Printable(shard), index_name));
    }
    by_name.emplace(shard, f->get());
    files_.push_back(std::move(f).value());
  }
  for (const auto& [name, shard] : index.weight_map) {
    const SafetensorsFile* file = by_name.at(shard);
    const TensorInfo* info = file->Find(name);
    if (info == nullptr) {
      return DataLoss(
          "checkpoint '{}': tensor '{}': expected in shard '{}' (as {} says), got a "
          "shard without it",
          dir_.string(), Printable(name), Printable(shard), index_name);
    }
    index_.emplace(name, Entry{info, file});
  }
  for (const auto& [shard, file] : by_name) {
    for (const TensorInfo& t : file->tensors()) {
      const auto it = index.weight_map.find(t.name);
      if (it == index.weight_map.end()) {
        return DataLoss(
            "checkpoint '{}': tensor '{}' in shard '{}': expected an entry in {}'s weight_map, "
            "got none; hint: the index is stale or the shard is from another checkpoint",
            dir_.string(), Printable(t.name), Printable(shard), index_name);
      }
      if (it->second != shard) {
        return DataLoss(
            "checkpoint '{}': tensor '{}' in shard '{}': expected only in shard '{}' (as {} "
            "says), got a second copy",
            dir_.string(), Printable(t.name), Printable(shard), Printable(it->second), index_name);
      }
    }
  }
  return Status::Ok();
}

const TensorInfo* Checkpoint::Find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.info;
}

const SafetensorsFile* Checkpoint::FileOf(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.file;
}

std::string Checkpoint::FileNameOf(std::string_view name) const {
  const SafetensorsFile* f = FileOf(name);
  return f == nullptr ? std::string() : fs::path(f->label()).filename().string();
}

std::vector<std::string> Checkpoint::Names() const {
  std::vector<std::string> names;
  names.reserve(index_.size());
  for (const auto& [name, unused] : index_) names.push_back(name);
  return names;
}

Status Checkpoint::NotFoundError(std::string_view name) const {
  return NotFound(
      "checkpoint '{}': tensor '{}': expected present, got no such tensor ({} tensors in {} "
      "file{})",
      dir_.string(), Printable(name), index_.size(), files_.size(), files_.size() == 1 ? "" : "s");
}

Result<Tensor> Checkpoint::View(std::string_view name) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return NotFoundError(name);
  return it->second.file->View(*it->second.info);
}

Result<HostTensor> Checkpoint::Load(std::string_view name, DType want) const {
  const auto it = index_.find(name);
  if (it == index_.end()) return NotFoundError(name);
  const TensorInfo& info = *it->second.info;
  const SafetensorsFile& file = *it->second.file;
  if (info.dtype != want && !IsCastSupported(info.dtype, want)) {
    return InvalidArgument(
        "loading tensor '{}' ({}): dtype: expected {} or a float (F32, F16, BF16) to convert to "
        "{}, got {}",
        Printable(name), fs::path(file.label()).filename().string(), DTypeName(want),
        DTypeName(want), DTypeName(info.dtype));
  }
  file.Prefetch(info);
  HostTensor out(want, info.shape);
  const std::span<const std::byte> src = file.Bytes(info);
  if (IsCastSupported(info.dtype, want)) {
    CastFloats(src.data(), info.dtype, out.data<std::byte>(), want, info.shape.numel());
  } else if (!src.empty()) {
    std::memcpy(out.data<std::byte>(), src.data(), src.size());
  }
  return out;
}

}  // namespace vlart
