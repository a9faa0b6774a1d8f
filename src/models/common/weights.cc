// SPDX-License-Identifier: Apache-2.0
//
// weights.cc: weight tables, checking and loading.

#include "models/common/weights.h"

#include <fmt/format.h>

namespace vlart {

void MapWeightSource::Put(const std::string& name, HostTensor tensor) {
  tensors_[name] = std::move(tensor);
}

std::optional<Shape> MapWeightSource::ShapeOf(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return std::nullopt;
  return it->second.shape();
}

Result<HostTensor> MapWeightSource::LoadF32(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) return NotFound("tensor '{}': not in memory source", name);
  return HostTensor::ToF32(it->second.view());
}

std::vector<std::string> MapWeightSource::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, t] : tensors_) names.push_back(name);
  return names;
}

void WeightTable::Device(std::string name, Shape shape, Tensor* dst) {
  slots_.push_back(WeightSlot{prefix_ + name, shape, true, dst, nullptr, nullptr});
}

void WeightTable::Host(std::string name, Shape shape, HostTensor* dst) {
  slots_.push_back(WeightSlot{prefix_ + name, shape, true, nullptr, dst, nullptr});
}

void WeightTable::OptionalHost(std::string name, Shape shape, HostTensor* dst, bool* present) {
  slots_.push_back(WeightSlot{prefix_ + name, shape, false, nullptr, dst, present});
}

Status CheckWeightTable(const WeightTable& table, const WeightSource& source) {
  std::string problems;
  int count = 0;
  for (const WeightSlot& slot : table.slots()) {
    const std::optional<Shape> got = source.ShapeOf(slot.name);
    if (!got) {
      if (slot.required) {
        problems += fmt::format("\n  tensor '{}': expected {}, got nothing (missing)", slot.name,
                                slot.shape.ToString());
        ++count;
      }
      continue;
    }
    if (*got != slot.shape) {
      problems += fmt::format("\n  tensor '{}': expected {}, got {} ({})", slot.name,
                              slot.shape.ToString(), got->ToString(), source.Origin(slot.name));
      ++count;
    }
  }
  if (count == 0) return Status::Ok();
  return InvalidArgument("checkpoint does not match the model: {} problem{}:{}", count,
                         count == 1 ? "" : "s", problems);
}

Tensor UploadTensor(const HostTensor& host, Backend& backend, Arena& arena, DType dtype) {
  Tensor dst = arena.Allocate(host.shape(), dtype);
  backend.Upload(host.view(), dst);
  return dst;
}

Status LoadWeightTable(const WeightTable& table, const WeightSource& source, Backend& backend,
                       Arena& arena, DType dtype) {
  VLART_TRY(CheckWeightTable(table, source));
  for (const WeightSlot& slot : table.slots()) {
    const bool present = source.ShapeOf(slot.name).has_value();
    if (slot.present != nullptr) *slot.present = present;
    if (!present) continue;
    VLART_ASSIGN_OR_RETURN(HostTensor t, source.LoadF32(slot.name));
    if (slot.host != nullptr) {
      *slot.host = std::move(t);
    } else {
      VLART_CHECK(slot.device != nullptr, "slot '{}' has no destination", slot.name);
      *slot.device = UploadTensor(t, backend, arena, dtype);
    }
  }
  return Status::Ok();
}

}  // namespace vlart
