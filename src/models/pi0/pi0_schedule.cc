// SPDX-License-Identifier: Apache-2.0
//
// pi0_schedule.cc: openpi's float32 Euler schedule and float64 time embedding.

#include "models/pi0/pi0_schedule.h"

#include <cmath>

#include "core/check.h"

namespace vlart::pi0 {

float OpenpiDt(int num_steps) {
  VLART_CHECK(num_steps >= 1, "OpenpiDt: num_steps {} < 1", num_steps);
  return static_cast<float>(-1.0 / static_cast<double>(num_steps));
}

std::vector<float> OpenpiStepTimes(int num_steps) {
  const float dt = OpenpiDt(num_steps);
  const float stop = -dt / 2.0f;  // exact (a halving)
  std::vector<float> times;
  // The guard only bounds a pathological schedule; the loop ends after num_steps (+-1).
  for (float t = 1.0f; t >= stop && static_cast<int>(times.size()) <= 2 * num_steps + 2;
       t = t + dt) {
    times.push_back(t);
  }
  return times;
}

void OpenpiTimeEmbedding(float t, int dim, float* out) {
  VLART_CHECK(dim >= 4 && dim % 2 == 0, "OpenpiTimeEmbedding: dim {} must be even and >= 4", dim);
  const int n = dim / 2;
  const double step = (1.0 - 0.0) / static_cast<double>(n - 1);
  constexpr double kMinPeriod = 4e-3;
  constexpr double kMaxPeriod = 4.0;
  constexpr double kPi = 3.141592653589793;  // math.pi
  for (int i = 0; i < n; ++i) {
    const double fraction =
        i < n / 2 ? 0.0 + step * i : 1.0 - step * static_cast<double>(n - 1 - i);
    const double period = kMinPeriod * std::pow(kMaxPeriod / kMinPeriod, fraction);
    const double scaling = 1.0 / period * 2.0 * kPi;
    const double arg = scaling * static_cast<double>(t);
    out[i] = static_cast<float>(std::sin(arg));
    out[n + i] = static_cast<float>(std::cos(arg));
  }
}

}  // namespace vlart::pi0
