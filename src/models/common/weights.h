// SPDX-License-Identifier: Apache-2.0
//
// weights.h: how a model names, checks and loads its tensors.
//
// A model describes every checkpoint tensor it reads ONCE, in a WeightTable: the
// checkpoint key (verbatim), the shape the code expects, whether it is required,
// and where it goes (a backend Tensor in the compute dtype, or an f32 HostTensor for
// load-time algebra such as fusing q/k/v or transposing a projection). The same table
// gives `vlart inspect` its expected-tensor list (WeightSpecs) and drives loading, so
// the two cannot drift.
//
// WeightSource abstracts where tensors come from (a checkpoint folder, or an
// in-memory map in tests).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/host_tensor.h"
#include "core/status.h"
#include "ops/backend.h"

namespace vlart {

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The stored shape of `name`, or nullopt when the source has no such tensor.
  virtual std::optional<Shape> ShapeOf(const std::string& name) const = 0;
  // The tensor converted to f32 (errors for non-float dtypes).
  virtual Result<HostTensor> LoadF32(const std::string& name) const = 0;
  // Where `name` lives, for messages ("model.safetensors").
  virtual std::string Origin(const std::string& name) const = 0;
  // Every tensor name the source holds.
  virtual std::vector<std::string> Names() const = 0;
};

// An in-memory WeightSource (tests, synthetic models).
class MapWeightSource : public WeightSource {
 public:
  void Put(const std::string& name, HostTensor tensor);
  std::optional<Shape> ShapeOf(const std::string& name) const override;
  Result<HostTensor> LoadF32(const std::string& name) const override;
  std::string Origin(const std::string& name) const override { return "memory"; }
  std::vector<std::string> Names() const override;

 private:
  std::map<std::string, HostTensor> tensors_;
};

struct WeightSlot {
  std::string name;         // checkpoint key, verbatim
  Shape shape;              // expected shape
  bool required = true;     // optional slots may be absent (then *present is false)
  Tensor* device = nullptr; // loaded into the backend in the compute dtype, or
  HostTensor* host = nullptr;  // loaded as f32 on the host (exactly one of the two)
  bool* present = nullptr;  // set for optional slots
};

class WeightTable {
 public:
  void Device(std::string name, Shape shape, Tensor* dst);
  void Host(std::string name, Shape shape, HostTensor* dst);
  void OptionalHost(std::string name, Shape shape, HostTensor* dst, bool* present);
  // Prefix every name added after this call with `prefix` until the next call.
  void SetPrefix(std::string prefix) { prefix_ = std::move(prefix); }

  const std::vector<WeightSlot>& slots() const { return slots_; }

 private:
  std::string prefix_;
  std::vector<WeightSlot> slots_;
};

// Checks every slot against the source (missing required tensors, shape mismatches)
// and returns one Status listing all problems, e.g.
//   tensor 'x.y.weight': expected [1024, 1024], got [1024, 512] (model.safetensors)
Status CheckWeightTable(const WeightTable& table, const WeightSource& source);

// Loads every slot: host slots as f32, device slots uploaded into `arena` in `dtype`.
// Calls CheckWeightTable first, so a bad checkpoint fails before anything is uploaded.
Status LoadWeightTable(const WeightTable& table, const WeightSource& source, Backend& backend,
                       Arena& arena, DType dtype);

// Uploads a host tensor into `arena` in `dtype` (load-time helper for derived weights).
Tensor UploadTensor(const HostTensor& host, Backend& backend, Arena& arena, DType dtype);

}  // namespace vlart
