// SPDX-License-Identifier: Apache-2.0
//
// weight_spec.cc: CheckWeights and the report's text form.

#include "io/weight_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "io/json_parse.h"

namespace vlart {
namespace {

template <typename T, typename Line>
void AppendGroup(std::string& out, const std::vector<T>& items, size_t max_lines, Line line) {
  const size_t shown = max_lines == 0 ? items.size() : std::min(items.size(), max_lines);
  for (size_t i = 0; i < shown; ++i) out += line(items[i]) + "\n";
  if (shown < items.size()) out += fmt::format("  ... and {} more\n", items.size() - shown);
}

std::string MismatchLine(const WeightReport::ShapeMismatch& m) {
  return fmt::format("tensor '{}': expected {}, got {} ({})", Printable(m.name, 300),
                     m.expected.ToString(), m.got.ToString(), m.file);
}
std::string MissingLine(const WeightReport::Missing& m, std::string_view kind) {
  return fmt::format("tensor '{}': expected {}, got nothing (missing, {})", Printable(m.name, 300),
                     m.expected.ToString(), kind);
}
std::string DTypeLine(const WeightReport::DTypeProblem& p) {
  return fmt::format(
      "tensor '{}': expected a float dtype (F32, F16, BF16, F64, F8_E4M3), got {} ({})",
      Printable(p.name, 300), DTypeName(p.got), p.file);
}

}  // namespace

WeightReport CheckWeights(const Checkpoint& checkpoint, const std::vector<WeightSpec>& specs) {
  WeightReport r;
  r.num_specs = static_cast<int64_t>(specs.size());
  std::set<std::string_view> asked;
  for (const WeightSpec& spec : specs) {
    VLART_CHECK(asked.insert(spec.name).second, "CheckWeights: two specs name '{}'", spec.name);
    const TensorInfo* info = checkpoint.Find(spec.name);
    if (info == nullptr) {
      (spec.required ? r.missing_required : r.missing_optional).push_back({spec.name, spec.shape});
      continue;
    }
    bool ok = true;
    if (info->shape != spec.shape) {
      r.shape_mismatches.push_back(
          {spec.name, spec.shape, info->shape, checkpoint.FileNameOf(spec.name), spec.required});
      ok = false;
    }
    if (!IsFloat(info->dtype)) {
      r.dtype_problems.push_back(
          {spec.name, info->dtype, checkpoint.FileNameOf(spec.name), spec.required});
      ok = false;
    }
    if (ok) ++r.num_matched;
  }
  for (const std::string& name : checkpoint.Names()) {
    if (!asked.contains(name)) r.unexpected.push_back(name);
  }
  const auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(r.missing_required.begin(), r.missing_required.end(), by_name);
  std::sort(r.missing_optional.begin(), r.missing_optional.end(), by_name);
  std::sort(r.shape_mismatches.begin(), r.shape_mismatches.end(), by_name);
  std::sort(r.dtype_problems.begin(), r.dtype_problems.end(), by_name);
  return r;  // unexpected is already sorted (Names() is)
}

std::string FormatReport(const WeightReport& r, size_t max_lines_per_kind) {
  std::string out = fmt::format(
      "weights: {} of {} expected tensors match; {} shape mismatch{}, {} missing required, {} "
      "non-float, {} missing optional, {} unexpected\n",
      r.num_matched, r.num_specs, r.shape_mismatches.size(),
      r.shape_mismatches.size() == 1 ? "" : "es", r.missing_required.size(),
      r.dtype_problems.size(), r.missing_optional.size(), r.unexpected.size());
  AppendGroup(out, r.shape_mismatches, max_lines_per_kind, MismatchLine);
  AppendGroup(out, r.missing_required, max_lines_per_kind,
              [](const WeightReport::Missing& m) { return MissingLine(m, "required"); });
  AppendGroup(out, r.dtype_problems, max_lines_per_kind, DTypeLine);
  AppendGroup(out, r.missing_optional, max_lines_per_kind,
              [](const WeightReport::Missing& m) { return MissingLine(m, "optional"); });
  AppendGroup(out, r.unexpected, max_lines_per_kind, [](const std::string& name) {
    return fmt::format("tensor '{}': unexpected (no model spec names it)", Printable(name, 300));
  });
  return out;
}

Status WeightReport::ToStatus() const {
  if (usable()) return Status::Ok();
  // Only the blocking groups: unexpected and missing optional tensors are not errors.
  std::string text = fmt::format(
      "checkpoint weights do not match the model: {} shape mismatch{}, {} missing required, {} "
      "non-float\n",
      shape_mismatches.size(), shape_mismatches.size() == 1 ? "" : "es", missing_required.size(),
      dtype_problems.size());
  constexpr size_t kMaxLines = 10;
  AppendGroup(text, shape_mismatches, kMaxLines, MismatchLine);
  AppendGroup(text, missing_required, kMaxLines,
              [](const WeightReport::Missing& m) { return MissingLine(m, "required"); });
  AppendGroup(text, dtype_problems, kMaxLines, DTypeLine);
  text.pop_back();  // the last '\n'
  return Status(missing_required.empty() ? StatusCode::kInvalidArgument : StatusCode::kNotFound,
                std::move(text));
}

}  // namespace vlart
