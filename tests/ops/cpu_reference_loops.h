// SPDX-License-Identifier: Apache-2.0
//
// cpu_reference_loops.h: double-precision reference loops with per-element error bounds,
// shared by the CPU backend's tests (written from backend.h's math, not from the backend).
//
// Each function fills `want` (row-major over the output shape, in double) and `tol`, a
// bound on |f32 result - want| derived next to the function from f32 rounding.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace vlart::testing {

// Attention: out [B, Sq, Hq, Dv] from q [B, Sq, Hq, D], k [B, Sk, Hkv, D], v [B, Sk, Hkv, Dv],
// mask [B, Sq, Sk] or null. With E a bound on any score's error (gamma_D scale Σ|q k|,
// plus u |s| for the scale and the mask add), each softmax weight p_j has a relative
// error below r_j = 2E + u |s_j - max| + Σ_k p_k u |s_k - max| + 6u: a score error E
// moves weights by 2E; the f32 subtraction s - max costs u |s - max| in the numerator
// and, p-weighted, in the denominator; expf (<= 2 ulp) and the division a few u. Then
// tol = Σ_j p_j |v_j| r_j + gamma_Sk Σ_j p_j |v_j| for the weighted sum of v.
void AttentionReference(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                        double scale, std::vector<double>* want, std::vector<double>* tol);

// ChannelAttention: out [B, N, G, d]; the bound follows AttentionReference with D -> N
// (the reduced dim) and Sk -> d.
void ChannelAttentionReference(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                               std::vector<double>* want, std::vector<double>* tol);

// Rope in double (inv_freq and angle exact). The f32 op rounds the angle (powf within an
// ulp, reciprocal, product: |pos| inv_freq 3u), which moves the rotated pair by that
// angle error times (|x1| + |x2|); cosf/sinf (<= 1 ulp), two products and the sum add
// 4u (|x1| + |x2|).
void RopeReference(const Tensor& x, const Tensor& positions, double theta,
                   std::vector<double>* want, std::vector<double>* tol);

}  // namespace vlart::testing
