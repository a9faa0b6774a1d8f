// SPDX-License-Identifier: Apache-2.0
//
// pi0_test_util.h: shared helpers of the pi0 / pi0.5 tests: the tiny golden checkpoints
// (tests/golden/pi0/{pi0_tiny,pi05_tiny}, tests/golden/pi0/README.md), their model
// inputs, and row-mapped stage comparison.
//
// Row mapping: with the shortcuts on, our prefix holds a subset of openpi's prefix rows
// (Pi0Model::Plan::prefix_slots says which) and the cached pi0 expert runs the action
// rows only; CompareRows compares the rows that correspond. Tolerance rule as
// golden_file.h with no recorded noise (the pi0 goldens have none): kNoiseMultiple (8)
// x 4 f32 ulps of the stage's largest magnitude. The README's independent NumPy
// re-derivation of the same goldens lands within that (<= 6.6e-6 on values up to ~5).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/host_tensor.h"
#include "golden_file.h"
#include "io/safetensors.h"
#include "models/common/checkpoint_source.h"
#include "models/pi0/pi0_config.h"
#include "models/pi0/pi0_model.h"

namespace vlart::testing {

struct Pi0Tiny {
  std::string name;  // "pi0_tiny" or "pi05_tiny"
  pi0::Pi0Config cfg;
  std::unique_ptr<CheckpointSource> source;
  std::unique_ptr<GoldenFile> golden;
  std::unique_ptr<SafetensorsFile> golden_raw;  // for the float64 tensors
};

// Loads tests/golden/pi0/<name> (config from its config.json and weights).
Pi0Tiny LoadPi0Tiny(const std::string& name);

// A golden tensor in its stored dtype (F64 stays F64).
HostTensor GoldenRaw(const Pi0Tiny& t, const std::string& name);

// The model inputs openpi's sample_actions received (inputs.*, noise).
pi0::Pi0Inputs GoldenModelInputs(const Pi0Tiny& t);
// The same with the images as the raw bytes openpi normalised (Pi0Inputs::pixels): view 0 =
// raw.image, view 1 = raw.wrist_image, view 2 = zeros (openpi's zeros_like(base), masked).
pi0::Pi0Inputs GoldenPixelInputs(const Pi0Tiny& t);
// The samples `which` of `in` (the `images` form; `pixels` is not carried), in that order.
pi0::Pi0Inputs Gather(const pi0::Pi0Inputs& in, const std::vector<int64_t>& which);

// Row pairs (ours, golden) per sample.
using RowPairs = std::vector<std::vector<std::pair<int64_t, int64_t>>>;
// Prefix rows of `plan` that hold openpi slot s, for every s (all = false: only the
// slots whose pad mask is true in the golden).
RowPairs PrefixRowPairs(const pi0::Pi0Model::Plan& plan, const Pi0Tiny& t, bool all);
// Rows [offset, offset + n) of ours against rows [goffset, goffset + n) of the golden.
RowPairs RangePairs(int64_t batch, int64_t offset, int64_t goffset, int64_t n);

// Compares rows: ours [B, R, ...] vs golden [B, Rg, ...] (trailing dims flattened),
// tolerance kNoiseMultiple * 4 f32 ulps of the compared golden values' largest magnitude.
StageResult CompareRows(const std::string& golden_name, const std::string& ours_name,
                        const HostTensor& ours, const HostTensor& golden, const RowPairs& pairs);
// Same, every row in order (shapes must have the same element count per sample).
StageResult CompareAll(const std::string& golden_name, const std::string& ours_name,
                       const HostTensor& ours, const HostTensor& golden);

// True when the two tensors hold the same bytes.
bool BitEqual(const HostTensor& a, const HostTensor& b);
// Largest |a - b| (as double).
double MaxAbsDiff(const HostTensor& a, const HostTensor& b);

}  // namespace vlart::testing
