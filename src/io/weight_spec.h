// SPDX-License-Identifier: Apache-2.0
//
// weight_spec.h: what a model needs from a checkpoint, and the report of what it got.
//
// Model code lists every tensor it reads as a WeightSpec (checkpoint key verbatim,
// expected shape). CheckWeights compares that list with a Checkpoint; `vlart inspect`
// prints the report and loaders turn it into a Status. Report lines read
//   tensor 'x.y.weight': expected [1024, 1024], got [1024, 512] (model.safetensors)
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/checkpoint.h"

namespace vlart {

struct WeightSpec {
  std::string name;  // checkpoint key, verbatim
  Shape shape;       // expected, outermost-first
  bool required = true;
};

struct WeightReport {
  struct ShapeMismatch {
    std::string name;
    Shape expected;
    Shape got;
    std::string file;  // file name holding the tensor
    bool required;
  };
  struct DTypeProblem {
    std::string name;
    DType got;
    std::string file;
    bool required;
  };
  struct Missing {
    std::string name;
    Shape expected;
  };

  int64_t num_specs = 0;
  int64_t num_matched = 0;  // present with the right shape and a float dtype
  std::vector<Missing> missing_required;
  std::vector<Missing> missing_optional;
  std::vector<ShapeMismatch> shape_mismatches;
  std::vector<DTypeProblem> dtype_problems;  // asked-for tensors whose dtype is not a float
  std::vector<std::string> unexpected;       // in the checkpoint, named by no spec

  // True when every present tensor the model asked for has the right shape and a
  // float dtype and no required tensor is missing. Unexpected tensors do not count.
  bool usable() const {
    return missing_required.empty() && shape_mismatches.empty() && dtype_problems.empty();
  }
  // Ok when usable(); otherwise the first problems, one per line.
  Status ToStatus() const;
};

// Compares `specs` with `checkpoint`. Every list in the report is sorted by name.
// Two specs with one name are a bug in the model code (checked).
WeightReport CheckWeights(const Checkpoint& checkpoint, const std::vector<WeightSpec>& specs);

// A summary line, then one line per problem: mismatches, missing required, dtype
// problems, missing optional, unexpected. `max_lines_per_kind` bounds each group
// (a last line says how many more there are); 0 means no bound.
std::string FormatReport(const WeightReport& report, size_t max_lines_per_kind = 0);

}  // namespace vlart
