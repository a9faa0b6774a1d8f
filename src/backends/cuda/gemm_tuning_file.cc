// SPDX-License-Identifier: Apache-2.0
//
// gemm_tuning_file.cc: see gemm_tuning_file.h.

#include "backends/cuda/gemm_tuning_file.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <vector>

namespace vlart::cuda {
namespace {

constexpr std::string_view kMagic = "vlart-gemm-tuning 3";
constexpr std::string_view kMagicV2 = "vlart-gemm-tuning 2";  // one section; still read
constexpr std::string_view kMagicV1 = "vlart-gemm-tuning 1";  // one section, GEMM lines only
constexpr std::string_view kLinearNorm = "linear_norm ";
constexpr std::string_view kStamp = "stamp ";
constexpr std::string_view kArrow = "->";
constexpr int kKeyFields = 9;
constexpr int kPickFields = 5;
constexpr int kNormKeyFields = 5;
constexpr int kNormPickFields = 2;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// The whitespace-separated integers of `s` into `out`; false unless there are exactly `want`,
// each within int's range.
bool ParseInts(std::string_view s, std::vector<long>* out, size_t want) {
  out->clear();
  for (std::string_view field : Split(Trim(s), ' ')) {
    if (field.empty()) continue;
    long v = 0;
    const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec != std::errc() || end != field.data() + field.size()) return false;
    if (v > INT32_MAX || v < INT32_MIN) return false;  // every field is an int
    out->push_back(v);
  }
  return out->size() == want;
}

}  // namespace

std::string FormatGemmTuningFile(const std::vector<GemmTuningSection>& sections) {
  std::string text = fmt::format("{}\n# written by vlart; one section per GPU and build, newest first\n", kMagic);
  for (const GemmTuningSection& section : sections) {
    const GemmTuningStamp& stamp = section.stamp;
    text += fmt::format("{}{} | {} | {} | {}\n", kStamp, stamp.device, stamp.sms,
                        stamp.cublaslt_version, stamp.build);
    for (const auto& [key, c] : section.picks.gemm) {
      const auto& [m, n, k, dtype, bias, act, residual, ldd_odd, sealed] = key;
      text += fmt::format("{} {} {} {} {} {} {} {} {} {} {} {} {} {} {}\n", m, n, k, dtype, int{bias},
                          act, int{residual}, ldd_odd, int{sealed}, kArrow, c.tile, c.splits,
                          c.lt_algo, int{c.lt_fused}, int{c.lt_gelu});
    }
    for (const auto& [key, p] : section.picks.linear_norm) {
      const auto& [m, n, k, dtype, bias] = key;
      text += fmt::format("{}{} {} {} {} {} {} {} {}\n", kLinearNorm, m, n, k, dtype, int{bias}, kArrow,
                          p.splits, p.algo);
    }
  }
  return text;
}

Result<std::vector<GemmTuningSection>> ParseGemmTuningFile(std::string_view text) {
  std::vector<GemmTuningSection> sections;
  bool seen_magic = false;
  int line_no = 0;
  std::vector<long> key, pick;
  for (std::string_view raw : Split(text, '\n')) {
    ++line_no;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (!seen_magic) {
      if (line != kMagic && line != kMagicV2 && line != kMagicV1) {
        return DataLoss("GEMM tuning file line {}: expected '{}', got '{}'", line_no, kMagic,
                        line.substr(0, 80));
      }
      seen_magic = true;
      continue;
    }
    if (line.substr(0, kStamp.size()) == kStamp || sections.empty()) {
      const std::vector<std::string_view> parts =
          line.substr(0, kStamp.size()) == kStamp ? Split(line.substr(kStamp.size()), '|')
                                                  : std::vector<std::string_view>{};
      std::vector<long> sms, version;
      if (parts.size() != 4 || !ParseInts(parts[1], &sms, 1) || !ParseInts(parts[2], &version, 1)) {
        return DataLoss("GEMM tuning file line {}: expected 'stamp <device> | <sms> | <cublasLt "
                        "version> | <build>', got '{}'", line_no, line.substr(0, 80));
      }
      GemmTuningSection section;
      section.stamp.device = std::string(Trim(parts[0]));
      section.stamp.sms = static_cast<int>(sms[0]);
      section.stamp.cublaslt_version = version[0];
      section.stamp.build = std::string(Trim(parts[3]));
      for (const GemmTuningSection& other : sections) {
        if (other.stamp == section.stamp) {
          return DataLoss("GEMM tuning file line {}: a second section for the same stamp", line_no);
        }
      }
      sections.push_back(std::move(section));
      continue;
    }
    GemmTuning& picks = sections.back().picks;
    const auto flag = [](long v) { return v == 0 || v == 1; };
    const size_t arrow = line.find(kArrow);
    if (line.substr(0, kLinearNorm.size()) == kLinearNorm) {
      if (arrow == std::string_view::npos ||
          !ParseInts(line.substr(kLinearNorm.size(), arrow - kLinearNorm.size()), &key, kNormKeyFields) ||
          !ParseInts(line.substr(arrow + kArrow.size()), &pick, kNormPickFields)) {
        return DataLoss("GEMM tuning file line {}: expected 'linear_norm', {} integers, '->', {} "
                        "integers; got '{}'", line_no, kNormKeyFields, kNormPickFields, line.substr(0, 120));
      }
      if (key[0] <= 0 || key[1] <= 0 || key[2] <= 0 || key[3] < 0 || !flag(key[4]) || pick[0] < 0 ||
          pick[1] < 0) {
        return DataLoss("GEMM tuning file line {}: a value out of range in '{}' (sizes > 0, flags "
                        "0 / 1, splits >= 0, algorithm >= 0)", line_no, line.substr(0, 120));
      }
      const LinearNormKey k{key[0], key[1], key[2], static_cast<int>(key[3]), key[4] != 0};
      const LinearNormPick p{static_cast<int>(pick[0]), static_cast<int>(pick[1])};
      if (!picks.linear_norm.emplace(k, p).second) {
        return DataLoss("GEMM tuning file line {}: a second pick for the same linear_norm key", line_no);
      }
      continue;
    }
    if (arrow == std::string_view::npos || !ParseInts(line.substr(0, arrow), &key, kKeyFields) ||
        !ParseInts(line.substr(arrow + kArrow.size()), &pick, kPickFields)) {
      return DataLoss("GEMM tuning file line {}: expected {} integers, '->', {} integers; got '{}'",
                      line_no, kKeyFields, kPickFields, line.substr(0, 120));
    }
    if (key[0] <= 0 || key[1] <= 0 || key[2] <= 0 || key[3] < 0 || key[5] < 0 || !flag(key[4]) || !flag(key[6]) ||
        !flag(key[7]) || !flag(key[8]) || pick[1] < 1 || pick[2] < 0 || !flag(pick[3]) ||
        !flag(pick[4])) {
      return DataLoss("GEMM tuning file line {}: a value out of range in '{}' (sizes > 0, "
                      "flags 0 / 1, splits >= 1, algorithm >= 0)", line_no, line.substr(0, 120));
    }
    const GemmTuneKey k{static_cast<int>(key[0]), static_cast<int>(key[1]), static_cast<int>(key[2]),
                        static_cast<int>(key[3]), key[4] != 0, static_cast<int>(key[5]), key[6] != 0,
                        static_cast<int>(key[7]), key[8] != 0};
    GemmMmaConfig c;
    c.tile = static_cast<int>(pick[0]);
    c.splits = static_cast<int>(pick[1]);
    c.lt_algo = static_cast<int>(pick[2]);
    c.lt_fused = pick[3] != 0;
    c.lt_gelu = pick[4] != 0;
    if (!picks.gemm.emplace(k, c).second) {
      return DataLoss("GEMM tuning file line {}: a second pick for the same GEMM key", line_no);
    }
  }
  if (!seen_magic || sections.empty()) {
    return DataLoss("GEMM tuning file: {} missing (expected '{}' then a 'stamp' line)",
                    seen_magic ? "the stamp line is" : "the header is", kMagic);
  }
  return sections;
}

const GemmTuning* FindGemmTuningSection(const std::vector<GemmTuningSection>& sections,
                                        const GemmTuningStamp& stamp) {
  for (const GemmTuningSection& section : sections) {
    if (section.stamp == stamp) return &section.picks;
  }
  return nullptr;
}

}  // namespace vlart::cuda
