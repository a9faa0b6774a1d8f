// SPDX-License-Identifier: Apache-2.0
//
// fixed_order_backend.cc: see fixed_order_backend.h.

#include "fixed_order_backend.h"

#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/check.h"
#include "core/host_tensor.h"

namespace vlart::testing {
namespace {

float At(const Tensor& t, std::initializer_list<int64_t> idx) {
  return *static_cast<const float*>(t.ElementPtr(idx));
}
float& Ref(const Tensor& t, std::initializer_list<int64_t> idx) {
  return *static_cast<float*>(t.ElementPtr(idx));
}

class FixedOrderBackend : public Backend {
 public:
  FixedOrderBackend() : cpu_(CreateCpuBackend()) {}

  std::string_view name() const override { return "fixed-order (test)"; }
  Device device() const override { return Device::kCpu; }
  DType compute_dtype() const override { return DType::kF32; }
  std::unique_ptr<Arena> NewArena() override { return cpu_->NewArena(); }
  void Upload(const Tensor& s, const Tensor& d) override { cpu_->Upload(s, d); }
  void Download(const Tensor& s, const Tensor& d) override { cpu_->Download(s, d); }
  void Synchronize() override { cpu_->Synchronize(); }
  Result<std::unique_ptr<RecordedWork>> Record(const std::function<void()>& enqueue) override {
    return cpu_->Record(enqueue);
  }
  std::unique_ptr<StageClock> NewStageClock(int n) override { return cpu_->NewStageClock(n); }
  size_t bytes_in_use() const override { return 0; }
  void Copy(const Tensor& s, const Tensor& d) override { cpu_->Copy(s, d); }
  void Fill(const Tensor& d, float v) override { cpu_->Fill(d, v); }
  void Prefetch(std::span<const Tensor> t) override { cpu_->Prefetch(t); }
  void Embedding(const Tensor& i, const Tensor& t, const Tensor& o) override { cpu_->Embedding(i, t, o); }
  void NormalizePixels(const Tensor& p, const Tensor& t, const Tensor& o) override {
    cpu_->NormalizePixels(p, t, o);
  }
  void ResizePixels(const Tensor& p, const Tensor& x, const Tensor& y, const Tensor& o) override {
    cpu_->ResizePixels(p, x, y, o);
  }
  void Add(const Tensor& a, const Tensor& b, const Tensor& o) override { cpu_->Add(a, b, o); }
  void Mul(const Tensor& a, const Tensor& b, const Tensor& o) override { cpu_->Mul(a, b, o); }
  void Axpby(float al, const Tensor& x, float be, const Tensor& y, const Tensor& o) override {
    cpu_->Axpby(al, x, be, y, o);
  }
  void Activate(Activation a, const Tensor& x, const Tensor& o) override { cpu_->Activate(a, x, o); }
  void GatedActivation(Activation a, const Tensor& g, const Tensor& u, const Tensor& o,
                       const RowRmsScale* rs) override {
    cpu_->GatedActivation(a, g, u, o, rs);
  }
  void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& o) override {
    cpu_->MulAdd(a, b, c, o);
  }
  void DomainLinear(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& d,
                    const Tensor& o) override {
    cpu_->DomainLinear(x, w, b, d, o);
  }
  void LayerNorm(const Tensor& x, const Tensor& g, const Tensor& b, float e, const Tensor& o) override {
    cpu_->LayerNorm(x, g, b, e, o);
  }
  void RmsNorm(const Tensor& x, const Tensor& w, float e, float off, const Tensor& o) override {
    cpu_->RmsNorm(x, w, e, off, o);
  }
  void AdaRmsNorm(const Tensor& x, const Tensor& s, const Tensor& sh, float e, const Tensor& o) override {
    cpu_->AdaRmsNorm(x, s, sh, e, o);
  }
  void Softmax(const Tensor& x, const Tensor& o) override { cpu_->Softmax(x, o); }
  void MeanOverTokens(const Tensor& x, const Tensor& o) override { cpu_->MeanOverTokens(x, o); }
  void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float s,
                        const Tensor& o) override {
    cpu_->ChannelAttention(q, k, v, s, o);
  }
  void Rope(const Tensor& x, const Tensor& p, float th, const Tensor& o) override { cpu_->Rope(x, p, th, o); }
  void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& p, float th,
               const Tensor& qo, const Tensor& ko, const Tensor& vo,
               const RowRmsScale* rs) override {
    cpu_->RopeQkv(q, k, v, p, th, qo, ko, vo, rs);
  }

  // out = act(x.w^T + bias) + residual; the product into a scratch first (residual may alias out).
  void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
              const Tensor* residual, const Tensor& out) override {
    const int64_t m = x.dim(0), k = x.dim(1), n = w.dim(0);
    HostTensor acc(DType::kF32, {m, n});
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        float s = 0.0f;
        for (int64_t kk = 0; kk < k; ++kk) s = s + At(x, {i, kk}) * At(w, {j, kk});
        if (bias != nullptr) s = s + At(*bias, {j});
        acc.data<float>()[i * n + j] = s;
      }
    }
    if (act != Activation::kNone) cpu_->Activate(act, acc.view(), acc.view());
    if (residual != nullptr) {
      cpu_->Add(acc.view(), *residual, out);
    } else {
      cpu_->Copy(acc.view(), out);
    }
  }

  void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask, float scale,
                 const Tensor& out) override {
    const int64_t b = q.dim(0), sq = q.dim(1), hq = q.dim(2), d = q.dim(3);
    const int64_t sk = k.dim(1), hkv = k.dim(2), dv = v.dim(3);
    HostTensor row(DType::kF32, {sk});
    float* p = row.data<float>();
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t h = 0; h < hq; ++h) {
        const int64_t g = h / (hq / hkv);
        for (int64_t i = 0; i < sq; ++i) {
          for (int64_t j = 0; j < sk; ++j) {
            float s = 0.0f;
            for (int64_t c = 0; c < d; ++c) s = s + At(q, {bi, i, h, c}) * At(k, {bi, j, g, c});
            s = scale * s;
            if (mask != nullptr) s = s + At(*mask, {bi, i, j});
            p[j] = s;
          }
          cpu_->Softmax(row.view(), row.view());
          for (int64_t c = 0; c < dv; ++c) {
            float s = 0.0f;
            for (int64_t j = 0; j < sk; ++j) s = s + p[j] * At(v, {bi, j, g, c});
            Ref(out, {bi, i, h, c}) = s;
          }
        }
      }
    }
  }

  void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias, const Conv2dParams& prm,
              const Tensor* residual, const Tensor& out) override {
    VLART_CHECK(prm.groups == 1 && prm.padding == 0, "fixed-order Conv2d: groups/padding unsupported");
    const int64_t b = out.dim(0), ho = out.dim(1), wo = out.dim(2), co = out.dim(3);
    const int64_t ci = w.dim(1), kh = w.dim(2), kw = w.dim(3);
    for (int64_t bi = 0; bi < b; ++bi) {
      for (int64_t y = 0; y < ho; ++y) {
        for (int64_t xx = 0; xx < wo; ++xx) {
          for (int64_t o = 0; o < co; ++o) {
            float s = 0.0f;
            for (int64_t c = 0; c < ci; ++c) {
              for (int64_t ky = 0; ky < kh; ++ky) {
                for (int64_t kx = 0; kx < kw; ++kx) {
                  s = s + At(w, {o, c, ky, kx}) * At(x, {bi, y * prm.stride + ky, xx * prm.stride + kx, c});
                }
              }
            }
            if (bias != nullptr) s = s + At(*bias, {o});
            if (residual != nullptr) s = s + At(*residual, {bi, y, xx, o});
            Ref(out, {bi, y, xx, o}) = s;
          }
        }
      }
    }
  }

 private:
  std::unique_ptr<Backend> cpu_;
};

}  // namespace

std::unique_ptr<Backend> CreateFixedOrderBackend() { return std::make_unique<FixedOrderBackend>(); }

}  // namespace vlart::testing
