// SPDX-License-Identifier: Apache-2.0
//
// profiling_backend.h: a Backend that forwards every op to another backend and stamps a
// StageClock mark before and after it, so a recorded whole-call graph reports the time of
// each node in place (event nodes between the kernels: what the op costs inside the
// graph, launch gap included). Used by `vlart bench --profile-ops`.
//
// The marks are preallocated (`max_ops`); ops past that are forwarded unmeasured.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ops/backend.h"

namespace vlart {

struct OpTiming {
  std::string op;     // "Linear"
  std::string shape;  // "[262, 1024] x [3072, 1024]"
  double ms = 0;
};

class ProfilingBackend final : public Backend {
 public:
  ProfilingBackend(std::unique_ptr<Backend> inner, int max_ops);
  ~ProfilingBackend() override;

  // Forgets the ops seen so far; the next recorded sequence starts at mark 0.
  void ResetOps() { ops_.clear(); }
  // Per-op times of the most recent execution of the recorded ops (after Synchronize).
  std::vector<OpTiming> Timings() const;

  std::string_view name() const override { return inner_->name(); }
  Device device() const override { return inner_->device(); }
  DType compute_dtype() const override { return inner_->compute_dtype(); }
  std::unique_ptr<Arena> NewArena() override { return inner_->NewArena(); }
  void Upload(const Tensor& s, const Tensor& d) override { inner_->Upload(s, d); }
  void Download(const Tensor& s, const Tensor& d) override { inner_->Download(s, d); }
  void Synchronize() override { inner_->Synchronize(); }
  // Every capture of `enqueue` starts its marks at 0: a backend may capture it more than once
  // (CUDA settles GEMM near-ties by re-recording), and each capture issues the same ops.
  Result<std::unique_ptr<RecordedWork>> Record(const std::function<void()>& enqueue) override {
    return inner_->Record([this, &enqueue] {
      ResetOps();
      enqueue();
    });
  }
  std::unique_ptr<StageClock> NewStageClock(int n) override { return inner_->NewStageClock(n); }
  size_t bytes_in_use() const override { return inner_->bytes_in_use(); }

  void Copy(const Tensor& src, const Tensor& dst) override;
  void Fill(const Tensor& dst, float value) override;
  void Prefetch(std::span<const Tensor> tensors) override;
  void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) override;
  void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) override;
  void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                    const Tensor& out) override;
  void Add(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void Mul(const Tensor& a, const Tensor& b, const Tensor& out) override;
  void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y, const Tensor& out) override;
  void Activate(Activation act, const Tensor& x, const Tensor& out) override;
  void GatedActivation(Activation act, const Tensor& gate, const Tensor& up, const Tensor& out,
                       const RowRmsScale* row_scale) override;
  void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) override;
  void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
              const Tensor* residual, const Tensor& out) override;
  void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                    const Tensor& domain_ids, const Tensor& out) override;
  void LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                               const Tensor& residual, const Tensor& out, const Tensor& gamma,
                               const Tensor& beta, float eps, const Tensor& normed) override;
  void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                 const Tensor& out) override;
  void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
               const Tensor& out) override;
  void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                  const Tensor& out) override;
  void MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate, const Tensor& scale,
                        const Tensor& shift, float eps, const Tensor& out) override;
  void Softmax(const Tensor& x, const Tensor& out) override;
  void MeanOverTokens(const Tensor& x, const Tensor& out) override;
  void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
                 const Tensor& out) override;
  void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                        const Tensor& out) override;
  void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) override;
  void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
               float theta, const Tensor& q_out, const Tensor& k_out, const Tensor& v_out,
               const RowRmsScale* row_scale) override;
  void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& params,
              const Tensor* residual, const Tensor& out) override;

 private:
  // Marks before the op; returns the op's index (or -1 when out of marks).
  int Begin(const char* op, std::string shape);
  void End(int index);

  std::unique_ptr<Backend> inner_;
  std::unique_ptr<StageClock> clock_;
  int max_ops_;
  std::vector<OpTiming> ops_;
};

}  // namespace vlart
