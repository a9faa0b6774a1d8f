// SPDX-License-Identifier: Apache-2.0
//
// profile_report.cc: see the header.

#include "runtime/profile_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace vlart {

std::string FormatProfile(const std::vector<OpTiming>& ops, int top) {
  struct Agg {
    double ms = 0;
    int calls = 0;
  };
  std::map<std::string, Agg> by_kind;
  std::map<std::pair<std::string, std::string>, Agg> by_shape;
  double total = 0;
  for (const OpTiming& o : ops) {
    by_kind[o.op].ms += o.ms;
    by_kind[o.op].calls += 1;
    auto& a = by_shape[{o.op, o.shape}];
    a.ms += o.ms;
    a.calls += 1;
    total += o.ms;
  }
  std::string s = fmt::format("{} ops, {:.3f} ms in total (each op timed from the end of the one "
                              "before it: launch gap included)\n\n| op | calls | ms | share |\n|---|---:|---:|---:|\n",
                              ops.size(), total);
  std::vector<std::pair<std::string, Agg>> kinds(by_kind.begin(), by_kind.end());
  std::sort(kinds.begin(), kinds.end(), [](auto& a, auto& b) { return a.second.ms > b.second.ms; });
  for (const auto& [name, a] : kinds) {
    s += fmt::format("| {} | {} | {:.3f} | {:.1f}% |\n", name, a.calls, a.ms, 100.0 * a.ms / std::max(total, 1e-9));
  }
  std::vector<std::pair<std::pair<std::string, std::string>, Agg>> shapes(by_shape.begin(), by_shape.end());
  std::sort(shapes.begin(), shapes.end(), [](auto& a, auto& b) { return a.second.ms > b.second.ms; });
  s += "\n| op | shape | calls | ms | us per call |\n|---|---|---:|---:|---:|\n";
  for (int i = 0; i < static_cast<int>(shapes.size()) && i < top; ++i) {
    const auto& [key, a] = shapes[i];
    s += fmt::format("| {} | {} | {} | {:.3f} | {:.2f} |\n", key.first, key.second, a.calls, a.ms,
                     1000.0 * a.ms / a.calls);
  }
  return s;
}

}  // namespace vlart
