// SPDX-License-Identifier: Apache-2.0
//
// cpu_ops.h: the CPU reference ops as free functions (internal to backends/cpu).
//
// CpuBackend (cpu_backend.cc) forwards each Backend method to the function of the
// same name here. Each function validates its arguments (ops/op_checks.h plus the
// f32-only rule) before touching memory. Shapes and semantics are backend.h's;
// the math, reference and numerics of each op are in the header of its .cc file.
#pragma once

#include <memory>

#include "core/host_tensor.h"

#include "ops/backend.h"

namespace vlart::cpu {

// arena.cc
std::unique_ptr<Arena> NewArena();

// copy.cc
void Upload(const Tensor& host_src, const Tensor& dst);
void Download(const Tensor& src, const Tensor& host_dst);
void Copy(const Tensor& src, const Tensor& dst);
void Fill(const Tensor& dst, float value);

// embedding.cc
void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out);
void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out);
// resize_pixels.cc
void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                  const Tensor& out);

// elementwise.cc
void Add(const Tensor& a, const Tensor& b, const Tensor& out);
void Mul(const Tensor& a, const Tensor& b, const Tensor& out);
void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y, const Tensor& out);
void Activate(Activation act, const Tensor& x, const Tensor& out);
void GatedActivation(Activation act, const Tensor& gate, const Tensor& up, const Tensor& out,
                     const RowRmsScale* row_scale);
void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out);

// linear.cc
void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
            const Tensor* residual, const Tensor& out);
void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                  const Tensor& domain_ids, const Tensor& out);

// norm.cc
void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
               const Tensor& out);
void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset, const Tensor& out);
void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                const Tensor& out);
void MeanOverTokens(const Tensor& x, const Tensor& out);
// A contiguous F32 copy of t (f32, any strides) with every element of token row r multiplied by
// RmsNorm's statistic s[r] of row r of scale.x (backend.h RowRmsScale); the token row of an
// element is its linear index / (numel / R). The CPU reference of every op's row_scale.
HostTensor ScaledByRowRms(const Tensor& t, const RowRmsScale& scale);

// softmax.cc
void Softmax(const Tensor& x, const Tensor& out);

// attention.cc
void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
               const Tensor& out);
void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                      const Tensor& out);

// rope.cc
void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out);
void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
             float theta, const Tensor& q_out, const Tensor& k_out, const Tensor& v_out,
             const RowRmsScale* row_scale);

// conv.cc
void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& params,
            const Tensor* residual, const Tensor& out);

}  // namespace vlart::cpu
