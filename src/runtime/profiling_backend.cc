// SPDX-License-Identifier: Apache-2.0
//
// profiling_backend.cc: see the header.

#include "runtime/profiling_backend.h"

#include <fmt/format.h>

namespace vlart {
namespace {

std::string S(const Tensor& t) { return t.shape.ToString(); }

}  // namespace

ProfilingBackend::ProfilingBackend(std::unique_ptr<Backend> inner, int max_ops)
    : inner_(std::move(inner)), clock_(inner_->NewStageClock(2 * max_ops)), max_ops_(max_ops) {}

ProfilingBackend::~ProfilingBackend() {
  clock_.reset();
  inner_.reset();
}

int ProfilingBackend::Begin(const char* op, std::string shape) {
  const int i = static_cast<int>(ops_.size());
  if (i >= max_ops_) return -1;
  ops_.push_back(OpTiming{op, std::move(shape), 0.0});
  clock_->Mark(2 * i);
  return i;
}

void ProfilingBackend::End(int index) {
  if (index >= 0) clock_->Mark(2 * index + 1);
}

std::vector<OpTiming> ProfilingBackend::Timings() const {
  std::vector<OpTiming> out = ops_;
  for (size_t i = 0; i < out.size(); ++i) {
    // From the end of the previous op to the end of this one: includes the launch gap.
    const int from = i == 0 ? 0 : static_cast<int>(2 * i - 1);
    out[i].ms = clock_->ElapsedMs(from, static_cast<int>(2 * i + 1));
  }
  return out;
}

#define VLART_PROFILED(op, shape, call) \
  do {                                  \
    const int idx_ = Begin(op, shape);  \
    call;                               \
    End(idx_);                          \
  } while (0)

void ProfilingBackend::Copy(const Tensor& src, const Tensor& dst) {
  VLART_PROFILED("Copy", S(src), inner_->Copy(src, dst));
}
void ProfilingBackend::Fill(const Tensor& dst, float value) {
  VLART_PROFILED("Fill", S(dst), inner_->Fill(dst, value));
}

void ProfilingBackend::Prefetch(std::span<const Tensor> tensors) {
  size_t bytes = 0;
  for (const Tensor& t : tensors) bytes += t.nbytes();
  VLART_PROFILED("Prefetch", fmt::format("{} tensors, {:.1f} MB", tensors.size(), bytes / 1e6),
                 inner_->Prefetch(tensors));
}
void ProfilingBackend::Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) {
  VLART_PROFILED("Embedding", S(out), inner_->Embedding(ids, table, out));
}
void ProfilingBackend::NormalizePixels(const Tensor& pixels, const Tensor& table,
                                       const Tensor& out) {
  VLART_PROFILED("NormalizePixels", S(out), inner_->NormalizePixels(pixels, table, out));
}
void ProfilingBackend::ResizePixels(const Tensor& pixels, const Tensor& taps_x,
                                    const Tensor& taps_y, const Tensor& out) {
  VLART_PROFILED("ResizePixels", S(out), inner_->ResizePixels(pixels, taps_x, taps_y, out));
}
void ProfilingBackend::Add(const Tensor& a, const Tensor& b, const Tensor& out) {
  VLART_PROFILED("Add", S(out), inner_->Add(a, b, out));
}
void ProfilingBackend::Mul(const Tensor& a, const Tensor& b, const Tensor& out) {
  VLART_PROFILED("Mul", S(out), inner_->Mul(a, b, out));
}
void ProfilingBackend::Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
                             const Tensor& out) {
  VLART_PROFILED("Axpby", S(out), inner_->Axpby(alpha, x, beta, y, out));
}
void ProfilingBackend::Activate(Activation act, const Tensor& x, const Tensor& out) {
  VLART_PROFILED("Activate", S(out), inner_->Activate(act, x, out));
}
void ProfilingBackend::GatedActivation(Activation act, const Tensor& gate, const Tensor& up,
                                       const Tensor& out, const RowRmsScale* row_scale) {
  VLART_PROFILED(row_scale != nullptr ? "GatedActivation+rms" : "GatedActivation", S(out),
                 inner_->GatedActivation(act, gate, up, out, row_scale));
}
void ProfilingBackend::MulAdd(const Tensor& a, const Tensor& b, const Tensor& c,
                              const Tensor& out) {
  VLART_PROFILED("MulAdd", S(out), inner_->MulAdd(a, b, c, out));
}
void ProfilingBackend::Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
                              const Tensor* residual, const Tensor& out) {
  VLART_PROFILED("Linear", fmt::format("{} x {}{}", S(x), S(w), residual ? " +res" : ""),
                 inner_->Linear(x, w, bias, act, residual, out));
}
void ProfilingBackend::DomainLinear(const Tensor& x, const Tensor& weight_table,
                                    const Tensor& bias_table, const Tensor& domain_ids,
                                    const Tensor& out) {
  VLART_PROFILED("DomainLinear", fmt::format("{} -> {}", S(x), S(out)),
                 inner_->DomainLinear(x, weight_table, bias_table, domain_ids, out));
}
void ProfilingBackend::LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                                               const Tensor& residual, const Tensor& out,
                                               const Tensor& gamma, const Tensor& beta, float eps,
                                               const Tensor& normed) {
  VLART_PROFILED("LinearResidualLayerNorm", fmt::format("{} x {} +res", S(x), S(w)),
                 inner_->LinearResidualLayerNorm(x, w, bias, residual, out, gamma, beta, eps, normed));
}
void ProfilingBackend::LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 float eps, const Tensor& out) {
  VLART_PROFILED("LayerNorm", S(x), inner_->LayerNorm(x, gamma, beta, eps, out));
}
void ProfilingBackend::RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
                               const Tensor& out) {
  VLART_PROFILED("RmsNorm", S(x), inner_->RmsNorm(x, w, eps, weight_offset, out));
}
void ProfilingBackend::AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift,
                                  float eps, const Tensor& out) {
  VLART_PROFILED("AdaRmsNorm", S(x), inner_->AdaRmsNorm(x, scale, shift, eps, out));
}
void ProfilingBackend::MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate,
                                        const Tensor& scale, const Tensor& shift, float eps,
                                        const Tensor& out) {
  VLART_PROFILED("MulAddAdaRmsNorm", S(x), inner_->MulAddAdaRmsNorm(x, y, gate, scale, shift, eps, out));
}
void ProfilingBackend::Softmax(const Tensor& x, const Tensor& out) {
  VLART_PROFILED("Softmax", S(x), inner_->Softmax(x, out));
}
void ProfilingBackend::MeanOverTokens(const Tensor& x, const Tensor& out) {
  VLART_PROFILED("MeanOverTokens", S(x), inner_->MeanOverTokens(x, out));
}
void ProfilingBackend::Attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor* mask, float scale, const Tensor& out) {
  VLART_PROFILED("Attention", fmt::format("q {} k {}", S(q), S(k)),
                 inner_->Attention(q, k, v, mask, scale, out));
}
void ProfilingBackend::ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v,
                                        float scale, const Tensor& out) {
  VLART_PROFILED("ChannelAttention", S(q), inner_->ChannelAttention(q, k, v, scale, out));
}
void ProfilingBackend::Rope(const Tensor& x, const Tensor& positions, float theta,
                            const Tensor& out) {
  VLART_PROFILED("Rope", S(x), inner_->Rope(x, positions, theta, out));
}
void ProfilingBackend::RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v,
                               const Tensor& positions, float theta, const Tensor& q_out,
                               const Tensor& k_out, const Tensor& v_out,
                               const RowRmsScale* row_scale) {
  VLART_PROFILED(row_scale != nullptr ? "RopeQkv+rms" : "RopeQkv",
                 fmt::format("{} {} {}", S(q), S(k), S(v)),
                 inner_->RopeQkv(q, k, v, positions, theta, q_out, k_out, v_out, row_scale));
}
void ProfilingBackend::Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias,
                              const Conv2dParams& params, const Tensor* residual,
                              const Tensor& out) {
  VLART_PROFILED("Conv2d", fmt::format("{} * {} s{}", S(x), S(w), params.stride),
                 inner_->Conv2d(x, w, bias, params, residual, out));
}

#undef VLART_PROFILED

}  // namespace vlart
