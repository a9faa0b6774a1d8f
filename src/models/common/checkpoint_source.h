// SPDX-License-Identifier: Apache-2.0
//
// checkpoint_source.h: a WeightSource over a checkpoint folder (io::Checkpoint).
//
// `key_prefix` is stripped from every stored name before the model sees it, which is
// how LeRobot checkpoints (keys under "model.") load through the same tables as the
// official ones; names without the prefix stay visible unchanged.
#pragma once

#include <memory>
#include <string>

#include "io/checkpoint.h"
#include "models/common/weights.h"

namespace vlart {

class CheckpointSource : public WeightSource {
 public:
  explicit CheckpointSource(std::unique_ptr<Checkpoint> ckpt, std::string key_prefix = "");

  std::optional<Shape> ShapeOf(const std::string& name) const override;
  Result<HostTensor> LoadF32(const std::string& name) const override;
  std::string Origin(const std::string& name) const override;
  std::vector<std::string> Names() const override;

  const Checkpoint& checkpoint() const { return *ckpt_; }

 private:
  std::string Stored(const std::string& name) const;  // the key as stored in the files
  std::unique_ptr<Checkpoint> ckpt_;
  std::string prefix_;
};

}  // namespace vlart
