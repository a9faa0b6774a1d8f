// SPDX-License-Identifier: Apache-2.0
//
// cpu_backend.cc: CpuBackend, the Backend that forwards every op to backends/cpu's
// free functions (cpu_ops.h). Ops run synchronously on the calling thread (with
// OpenMP/OpenBLAS helpers), so Synchronize has nothing to wait for.

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/recording.h"

#include "backends/cpu/cpu_ops.h"
#include "ops/op_checks.h"

namespace vlart {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string_view name() const override { return "cpu-ref"; }
  Device device() const override { return Device::kCpu; }
  DType compute_dtype() const override { return DType::kF32; }

  std::unique_ptr<Arena> NewArena() override { return cpu::NewArena(); }
  void Upload(const Tensor& host_src, const Tensor& dst) override { cpu::Upload(host_src, dst); }
  void Download(const Tensor& src, const Tensor& host_dst) override {
    cpu::Download(src, host_dst);
  }
  void Synchronize() override {}

  Result<std::unique_ptr<RecordedWork>> Record(const std::function<void()>& enqueue) override {
    return cpu::RecordFunction(enqueue);
  }
  std::unique_ptr<StageClock> NewStageClock(int num_marks) override {
    return cpu::NewHostStageClock(num_marks);
  }
  size_t bytes_in_use() const override { return 0; }

  void Copy(const Tensor& src, const Tensor& dst) override { cpu::Copy(src, dst); }
  void Fill(const Tensor& dst, float value) override { cpu::Fill(dst, value); }
  // Host memory has no cache to warm ahead of time worth a hint: the checks only.
  void Prefetch(std::span<const Tensor> tensors) override {
    CheckPrefetchArgs(Device::kCpu, tensors);
  }
  void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) override {
    cpu::Embedding(ids, table, out);
  }
  void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) override {
    cpu::NormalizePixels(pixels, table, out);
  }
  void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                    const Tensor& out) override {
    cpu::ResizePixels(pixels, taps_x, taps_y, out);
  }

  void Add(const Tensor& a, const Tensor& b, const Tensor& out) override { cpu::Add(a, b, out); }
  void Mul(const Tensor& a, const Tensor& b, const Tensor& out) override { cpu::Mul(a, b, out); }
  void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
             const Tensor& out) override {
    cpu::Axpby(alpha, x, beta, y, out);
  }
  void Activate(Activation act, const Tensor& x, const Tensor& out) override {
    cpu::Activate(act, x, out);
  }
  void GatedActivation(Activation act, const Tensor& gate, const Tensor& up, const Tensor& out,
                       const RowRmsScale* row_scale) override {
    cpu::GatedActivation(act, gate, up, out, row_scale);
  }
  void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) override {
    cpu::MulAdd(a, b, c, out);
  }

  void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
              const Tensor* residual, const Tensor& out) override {
    cpu::Linear(x, w, bias, act, residual, out);
  }
  void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                    const Tensor& domain_ids, const Tensor& out) override {
    cpu::DomainLinear(x, weight_table, bias_table, domain_ids, out);
  }

  void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                 const Tensor& out) override {
    cpu::LayerNorm(x, gamma, beta, eps, out);
  }
  void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
               const Tensor& out) override {
    cpu::RmsNorm(x, w, eps, weight_offset, out);
  }
  void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                  const Tensor& out) override {
    cpu::AdaRmsNorm(x, scale, shift, eps, out);
  }
  void Softmax(const Tensor& x, const Tensor& out) override { cpu::Softmax(x, out); }
  void MeanOverTokens(const Tensor& x, const Tensor& out) override {
    cpu::MeanOverTokens(x, out);
  }

  void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                 float scale, const Tensor& out) override {
    cpu::Attention(q, k, v, mask, scale, out);
  }
  void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                        const Tensor& out) override {
    cpu::ChannelAttention(q, k, v, scale, out);
  }
  void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) override {
    cpu::Rope(x, positions, theta, out);
  }
  void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& positions,
               float theta, const Tensor& q_out, const Tensor& k_out, const Tensor& v_out,
               const RowRmsScale* row_scale) override {
    cpu::RopeQkv(q, k, v, positions, theta, q_out, k_out, v_out, row_scale);
  }

  void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& params,
              const Tensor* residual, const Tensor& out) override {
    cpu::Conv2d(x, w, bias, params, residual, out);
  }
};

}  // namespace

std::unique_ptr<Backend> CreateCpuBackend() { return std::make_unique<CpuBackend>(); }

}  // namespace vlart
