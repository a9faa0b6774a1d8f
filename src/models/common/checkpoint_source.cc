// SPDX-License-Identifier: Apache-2.0
//
// checkpoint_source.cc: WeightSource over io::Checkpoint.

#include "models/common/checkpoint_source.h"

namespace vlart {

CheckpointSource::CheckpointSource(std::unique_ptr<Checkpoint> ckpt, std::string key_prefix)
    : ckpt_(std::move(ckpt)), prefix_(std::move(key_prefix)) {}

std::string CheckpointSource::Stored(const std::string& name) const {
  if (!prefix_.empty() && ckpt_->Find(prefix_ + name) != nullptr) return prefix_ + name;
  return name;
}

std::optional<Shape> CheckpointSource::ShapeOf(const std::string& name) const {
  const TensorInfo* info = ckpt_->Find(Stored(name));
  if (info == nullptr) return std::nullopt;
  return info->shape;
}

Result<HostTensor> CheckpointSource::LoadF32(const std::string& name) const {
  return ckpt_->Load(Stored(name), DType::kF32);
}

std::string CheckpointSource::Origin(const std::string& name) const {
  return ckpt_->FileNameOf(Stored(name));
}

std::vector<std::string> CheckpointSource::Names() const {
  std::vector<std::string> names = ckpt_->Names();
  if (prefix_.empty()) return names;
  for (std::string& n : names) {
    if (n.rfind(prefix_, 0) == 0) n = n.substr(prefix_.size());
  }
  return names;
}

}  // namespace vlart
