// SPDX-License-Identifier: Apache-2.0
//
// golden_file.cc: golden fixtures and stage comparison (see golden_file.h).

#include "golden_file.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace vlart::testing {

GoldenFile::GoldenFile(const std::string& path) {
  auto f = SafetensorsFile::Open(path);
  if (!f.ok()) {
    ADD_FAILURE() << "cannot open golden " << path << ": " << f.status().message();
    return;
  }
  file_ = std::move(f).value();
  const auto& meta = file_->metadata();
  auto it = meta.find("fp32_vs_fp64_maxabs");
  if (it != meta.end()) {
    const nlohmann::json j = nlohmann::json::parse(it->second);
    for (const auto& [k, v] : j.items()) noise_[k] = v.get<double>();
  }
}

bool GoldenFile::Has(const std::string& name) const {
  return file_ && file_->Find(name) != nullptr;
}

HostTensor GoldenFile::F32(const std::string& name) const {
  const TensorInfo* info = file_ ? file_->Find(name) : nullptr;
  VLART_CHECK(info != nullptr, "golden tensor '{}' missing", name);
  return HostTensor::ToF32(file_->View(*info));
}

HostTensor GoldenFile::I32(const std::string& name) const {
  const HostTensor f = F32(name);
  HostTensor out(DType::kI32, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) out.data<int32_t>()[i] = static_cast<int32_t>(f.data<float>()[i]);
  return out;
}

HostTensor GoldenFile::U8(const std::string& name) const {
  const HostTensor f = F32(name);
  HostTensor out(DType::kU8, f.shape());
  for (int64_t i = 0; i < f.numel(); ++i) out.data<uint8_t>()[i] = f.data<float>()[i] != 0.0f;
  return out;
}

std::string GoldenFile::Meta(const std::string& key) const {
  if (!file_) return "";
  auto it = file_->metadata().find(key);
  return it == file_->metadata().end() ? "" : it->second;
}

double GoldenFile::Noise(const std::string& name) const {
  auto it = noise_.find(name);
  return it == noise_.end() ? 0.0 : it->second;
}

StageResult CompareStage(const GoldenFile& golden, const std::string& golden_name,
                         const std::string& our_name, const Tensor& got) {
  StageResult r;
  r.ours = our_name;
  r.golden = golden_name;
  if (!golden.Has(golden_name)) {
    ADD_FAILURE() << "golden has no tensor '" << golden_name << "'";
    return r;
  }
  const HostTensor ref = golden.F32(golden_name);
  const HostTensor ours = HostTensor::ToF32(got);
  if (ours.numel() != ref.numel()) {
    ADD_FAILURE() << our_name << " " << ours.shape().ToString() << " vs golden " << golden_name
                  << " " << ref.shape().ToString();
    return r;
  }
  bool nan = false;
  for (int64_t i = 0; i < ref.numel(); ++i) {
    const double a = ours.data<float>()[i], b = ref.data<float>()[i];
    if (std::isnan(a) != std::isnan(b)) nan = true;
    r.max_abs_diff = std::max(r.max_abs_diff, std::fabs(a - b));
    r.max_abs_ref = std::max(r.max_abs_ref, std::fabs(b));
  }
  constexpr double kEps = std::numeric_limits<float>::epsilon();
  r.tolerance = kNoiseMultiple * std::max(golden.Noise(golden_name), 4.0 * kEps * r.max_abs_ref);
  r.ok = !nan && r.max_abs_diff <= r.tolerance;
  if (nan) r.max_abs_diff = std::numeric_limits<double>::quiet_NaN();
  return r;
}

std::string FormatStages(const std::vector<StageResult>& results) {
  std::string s = fmt::format("{:<44} {:>11} {:>11} {:>10}\n", "stage (ours -> golden)", "max|diff|",
                              "tolerance", "max|ref|");
  bool first_failure_marked = false;
  for (const StageResult& r : results) {
    std::string mark = r.ok ? "" : "  FAIL";
    if (!r.ok && !first_failure_marked) {
      mark = "  <== first stage that diverged";
      first_failure_marked = true;
    }
    s += fmt::format("{:<44} {:>11.3e} {:>11.3e} {:>10.3g}{}\n", r.golden, r.max_abs_diff,
                     r.tolerance, r.max_abs_ref, mark);
  }
  return s;
}

}  // namespace vlart::testing
