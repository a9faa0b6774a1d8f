// SPDX-License-Identifier: Apache-2.0
//
// bench_stats.h: order statistics of a sample of timings (median, p90, p99, mean, sd).
// Percentiles use the nearest-rank method on the sorted sample (no interpolation), so a
// reported p99 is a time that was actually measured.
#pragma once

#include <vector>

namespace vlart::cli {

struct SampleStats {
  int n = 0;
  double median = 0, p90 = 0, p99 = 0, mean = 0, sd = 0, min = 0, max = 0;
};

SampleStats Summarize(std::vector<double> sample);

}  // namespace vlart::cli
