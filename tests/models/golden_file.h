// SPDX-License-Identifier: Apache-2.0
//
// golden_file.h: reading a golden fixture (tests/golden/*/golden.safetensors) and
// comparing traced stages against it in execution order.
//
// Tolerance rule (derived, not tuned): the fixture's metadata holds, per tensor, the
// reference's own f32 rounding noise, max |ref_f32 - ref_f64| ("fp32_vs_fp64_maxabs").
// Our f32 CPU reference computes the same function with different summation orders
// (blocked GEMMs, other softmax/LayerNorm reductions), so its distance to the exact
// value is of the same order; |ours - ref| <= |ours - exact| + |ref - exact|. We allow
// kNoiseMultiple (8) times the larger of that noise and 4 f32 ulps of the tensor's
// largest magnitude. The smallest real mistake measured by the golden generator
// (LayerNorm eps 1e-6 instead of 1e-5) moves the actions 15x above the noise, so the
// check keeps its teeth (tests/golden/README.md, "Sensitivity").
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/host_tensor.h"
#include "io/safetensors.h"

namespace vlart::testing {

inline constexpr double kNoiseMultiple = 8.0;

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& path);

  bool Has(const std::string& name) const;
  HostTensor F32(const std::string& name) const;  // any dtype converted to f32
  HostTensor I32(const std::string& name) const;  // integer/bool tensors as i32
  HostTensor U8(const std::string& name) const;   // bool/integer tensors as u8
  std::string Meta(const std::string& key) const;
  double Noise(const std::string& name) const;  // fp32_vs_fp64_maxabs (0 when absent)

 private:
  std::unique_ptr<SafetensorsFile> file_;
  std::map<std::string, double> noise_;
};

struct StageResult {
  std::string ours, golden;
  double max_abs_diff = 0, max_abs_ref = 0, tolerance = 0;
  bool ok = false;
};

// Compares `got` (f32, any shape with the same element count) to the golden tensor.
StageResult CompareStage(const GoldenFile& golden, const std::string& golden_name,
                         const std::string& our_name, const Tensor& got);

// "stage  max|diff|  tol  max|ref|" table; marks the first failing stage.
std::string FormatStages(const std::vector<StageResult>& results);

}  // namespace vlart::testing
