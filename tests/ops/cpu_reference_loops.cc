// SPDX-License-Identifier: Apache-2.0
//
// cpu_reference_loops.cc: the double-precision reference loops of cpu_reference_loops.h.

#include "cpu_reference_loops.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu_test_util.h"

namespace vlart::testing {

void AttentionReference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                        double scale, std::vector<double>* want, std::vector<double>* tol) {
  const int64_t batch = q.shape[0], sq = q.shape[1], hq = q.shape[2], d = q.shape[3];
  const int64_t sk = k.shape[1], hkv = k.shape[2], dv = v.shape[3];
  want->assign(batch * sq * hq * dv, 0.0);
  tol->assign(batch * sq * hq * dv, 0.0);
  std::vector<double> s(sk), e(sk), p(sk);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < sq; ++i) {
      for (int64_t h = 0; h < hq; ++h) {
        const int64_t g = h / (hq / hkv);
        double max_err = 0.0;
        for (int64_t j = 0; j < sk; ++j) {
          double dot = 0.0, abs = 0.0;
          for (int64_t c = 0; c < d; ++c) {
            const double t = At(q, {b, i, h, c}) * At(k, {b, j, g, c});
            dot += t;
            abs += std::fabs(t);
          }
          s[j] = scale * dot;
          double err = Gamma(d) * std::fabs(scale) * abs + kU * std::fabs(s[j]);
          if (mask != nullptr) {
            const double mv = At(*mask, {b, i, j});
            // A huge finite mask absorbs the score in f32 (the masked score is the mask
            // value itself); small masks add exactly here and cost u |s| in f32.
            s[j] = std::fabs(mv) >= 1e30
                       ? static_cast<double>(static_cast<float>(s[j]) + static_cast<float>(mv))
                       : s[j] + mv;
            err += kU * std::fabs(s[j]);
          }
          if (std::fabs(s[j]) < 1e30) max_err = std::max(max_err, err);
        }
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0.0;
        for (int64_t j = 0; j < sk; ++j) sum += (e[j] = std::exp(s[j] - m));
        for (int64_t j = 0; j < sk; ++j) p[j] = e[j] / sum;
        // The denominator carries every weight's subtraction rounding, weighted by p.
        double avg_sub = 0.0;
        for (int64_t j = 0; j < sk; ++j) avg_sub += p[j] > 0 ? p[j] * kU * std::fabs(s[j] - m) : 0.0;
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0.0, weighted_abs = 0.0, weight_err = 0.0;
          for (int64_t j = 0; j < sk; ++j) {
            const double vv = At(v, {b, j, g, c});
            acc += p[j] * vv;
            weighted_abs += p[j] * std::fabs(vv);
            weight_err += p[j] * std::fabs(vv) *
                          (2 * max_err + kU * std::fabs(s[j] - m) + avg_sub + 6 * kU);
          }
          const int64_t o = ((b * sq + i) * hq + h) * dv + c;
          (*want)[o] = acc;
          (*tol)[o] = weight_err + Gamma(sk) * weighted_abs + 1e-30;
        }
      }
    }
  }
}

// Per (b, g): A = softmax_j(scale Σ_n q[n, i] k[n, j]), out[n, i] = Σ_j A[i, j] v[n, j];
// the bound follows AttentionReference with D -> N (the reduced dim) and Sk -> d.
void ChannelAttentionReference(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                               std::vector<double>* want, std::vector<double>* tol) {
  const int64_t batch = q.shape[0], n = q.shape[1], groups = q.shape[2], d = q.shape[3];
  want->assign(batch * n * groups * d, 0.0);
  tol->assign(batch * n * groups * d, 0.0);
  std::vector<double> s(d), a(d * d), rel(d * d);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t i = 0; i < d; ++i) {
        double max_err = 0.0;
        for (int64_t j = 0; j < d; ++j) {
          double dot = 0.0, abs = 0.0;
          for (int64_t t = 0; t < n; ++t) {
            const double p = At(q, {b, t, g, i}) * At(k, {b, t, g, j});
            dot += p;
            abs += std::fabs(p);
          }
          s[j] = scale * dot;
          max_err = std::max(max_err, Gamma(n) * std::fabs(scale) * abs + kU * std::fabs(s[j]));
        }
        const double m = *std::max_element(s.begin(), s.end());
        double sum = 0.0;
        for (int64_t j = 0; j < d; ++j) sum += std::exp(s[j] - m);
        double avg_sub = 0.0;
        for (int64_t j = 0; j < d; ++j) {
          a[i * d + j] = std::exp(s[j] - m) / sum;
          avg_sub += a[i * d + j] * kU * std::fabs(s[j] - m);
        }
        for (int64_t j = 0; j < d; ++j) {
          rel[i * d + j] = 2 * max_err + kU * std::fabs(s[j] - m) + avg_sub + 6 * kU;
        }
      }
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t i = 0; i < d; ++i) {
          double acc = 0.0, abs = 0.0, err = 0.0;
          for (int64_t j = 0; j < d; ++j) {
            const double vv = At(v, {b, t, g, j});
            acc += a[i * d + j] * vv;
            abs += a[i * d + j] * std::fabs(vv);
            err += a[i * d + j] * std::fabs(vv) * rel[i * d + j];
          }
          const int64_t o = ((b * n + t) * groups + g) * d + i;
          (*want)[o] = acc;
          (*tol)[o] = err + Gamma(d) * abs + 1e-30;
        }
      }
    }
  }
}

void RopeReference(const Tensor& x, const Tensor& positions, double theta,
                   std::vector<double>* want, std::vector<double>* tol) {
  const int64_t batch = x.shape[0], seq = x.shape[1], heads = x.shape[2], dim = x.shape[3];
  const int64_t half = dim / 2;
  want->assign(x.numel(), 0.0);
  tol->assign(x.numel(), 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      const double pos = *static_cast<const int32_t*>(positions.ElementPtr({b, s}));
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = 0; i < half; ++i) {
          const double inv_freq = std::pow(theta, -2.0 * i / dim);
          const double angle = pos * inv_freq;
          const double x1 = At(x, {b, s, h, i}), x2 = At(x, {b, s, h, i + half});
          const int64_t o = ((b * seq + s) * heads + h) * dim;
          (*want)[o + i] = x1 * std::cos(angle) - x2 * std::sin(angle);
          (*want)[o + i + half] = x2 * std::cos(angle) + x1 * std::sin(angle);
          const double t = (std::fabs(pos) * inv_freq * 3 * kU + 4 * kU) *
                               (std::fabs(x1) + std::fabs(x2)) +
                           1e-30;
          (*tol)[o + i] = t;
          (*tol)[o + i + half] = t;
        }
      }
    }
  }
}

}  // namespace vlart::testing
