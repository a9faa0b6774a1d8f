// SPDX-License-Identifier: Apache-2.0
//
// backend.h: the op interface every model is written against.
//
// A Backend owns device memory (through Arenas) and runs ops in issue order on its
// stream. Ops never allocate and never synchronise, so a sequence of them can be
// captured into a CUDA graph. Outputs are passed in as preallocated views, last.
//
// Shapes are outermost-first and strides are in elements (core/tensor.h). Unless an
// op says otherwise: inputs may be any strided view whose innermost dim is
// contiguous (stride 1); outputs likewise; an output may alias an input only where
// the op says "in place allowed". Row-wise ops (norms, softmax) treat every dim but
// the last as rows, with any strides. Float inputs and outputs may be f32, bf16 or
// f16 (a backend rejects combinations it does not implement with VLART_CHECK);
// accumulation is at least f32. Upload, Download and Copy also move same-dtype
// integer data (token ids, domain ids). Copy's source and destination must not
// overlap unless they are the same view.
//
// The CPU backend (backends/cpu) is the executable spec: plain loops, f32 only.
// Every CUDA op is checked against it. A fused op exists only because a model needs
// it; its CPU version is the chain of the unfused reference ops.
//
// Adding an op: a method here, the CPU reference, the CUDA kernel, and cases in
// tests/ops (CPU unit tests and the GPU parity suite).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace vlart {

// Bump allocator for one owner (a model's weights, a model's activations for one
// batch size). Memory is freed when the Arena is destroyed. Allocation is a setup
// step; the hot path only reuses what was allocated.
class Arena {
 public:
  virtual ~Arena() = default;
  // A contiguous tensor, 256-byte aligned, contents unspecified.
  virtual Tensor Allocate(const Shape& shape, DType dtype) = 0;
  virtual size_t bytes_allocated() const = 0;
  // Declares the arena's contents final (a model's weights once loaded): from now on no op
  // writes its tensors and Allocate fails. Waits for writes still in flight. A backend may
  // then read sealed tensors ahead of the ops issued before the reader (the CUDA GEMM loads
  // sealed weights while the previous kernel finishes). Writing a sealed tensor is a bug
  // the backend does not detect.
  virtual void Seal() = 0;
  virtual bool sealed() const = 0;
};

enum class Activation {
  kNone,
  kGeluErf,   // x * 0.5 * (1 + erf(x / sqrt(2)))               (torch GELU, approximate='none')
  kGeluTanh,  // 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))    (torch GELU, approximate='tanh')
  kSilu,      // x * sigmoid(x)
  kSigmoid,   // 1 / (1 + exp(-x))
};
const char* ActivationName(Activation act);

// A recorded sequence of enqueued ops that can be replayed: on CUDA a CUDA graph
// (one launch instead of hundreds), on the CPU the recorded function run again.
class RecordedWork {
 public:
  virtual ~RecordedWork() = default;
  // Enqueues the whole sequence again, with whatever the input buffers hold now.
  virtual void Replay() = 0;
};

// Timestamps on the backend's stream for stage timing. Mark(i) enqueues timestamp i
// (also inside a recording: on CUDA it becomes an event node of the graph, so replays
// keep timing the stages). After Synchronize(), ElapsedMs(i, j) is the time from mark
// i to mark j of the most recent execution: device time on CUDA, host time on the CPU.
class StageClock {
 public:
  virtual ~StageClock() = default;
  virtual int num_marks() const = 0;
  virtual void Mark(int index) = 0;
  virtual double ElapsedMs(int from, int to) const = 0;
};

struct Conv2dParams {
  int stride = 1;
  int padding = 0;  // symmetric zero padding on H and W
  int groups = 1;
};

// The RMS statistic of another tensor's rows, applied by an op to its own inputs before its
// math (RopeQkv, GatedActivation take an optional one). For token row r of the op:
//   s[r] = 1 / sqrt(Σ_j x[r, j]² / C + eps)        (RmsNorm's statistic, accumulated in >= f32)
// and every input element of row r is multiplied by s[r] (in f32) first. x [R, C] with a
// contiguous innermost dim, R = the op's token rows (B * S for RopeQkv, gate.dim(0) for
// GatedActivation), C >= 1.
// What it is for: Norm(x) · Wᵀ with Norm(x) = x * s * (offset + w) equals s ⊙ (x · W'ᵀ) row by
// row, W' = W ⊙ (offset + w) per input column. A model that folds an RMSNorm's weight into
// the next GEMM's weights runs the GEMM on x itself and lets the op after the GEMM apply s:
// the norm's launch disappears (pi0's Gemma layers, Pi0ModelOptions::fold_rms_norms).
struct RowRmsScale {
  Tensor x;
  float eps = 0.0f;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;  // "cpu-ref", "cuda:0 bf16"
  virtual Device device() const = 0;
  // The dtype models should use for activations and weights on this backend.
  virtual DType compute_dtype() const = 0;

  // ---- memory -----------------------------------------------------------------
  virtual std::unique_ptr<Arena> NewArena() = 0;
  // host -> backend. `dst` is backend memory, contiguous, same shape; float dtypes convert.
  // `host_src` has been consumed when Upload returns (copied, or staged for an
  // asynchronous copy): the caller may overwrite or free it at once. The copy is ordered
  // before every op issued after it.
  virtual void Upload(const Tensor& host_src, const Tensor& dst) = 0;
  // backend -> host. `host_dst` contiguous, same shape; float dtypes convert.
  virtual void Download(const Tensor& src, const Tensor& host_dst) = 0;
  // Waits until every op issued so far has finished.
  virtual void Synchronize() = 0;

  // ---- recording and timing ----------------------------------------------------
  // Records the ops `enqueue` issues (it must only issue ops: no Upload, Download or
  // Synchronize, no allocation) so that Replay() repeats them. `enqueue` runs once
  // during recording; on CUDA nothing executes until the first Replay().
  virtual Result<std::unique_ptr<RecordedWork>> Record(const std::function<void()>& enqueue) = 0;
  virtual std::unique_ptr<StageClock> NewStageClock(int num_marks) = 0;
  // Device memory in use by this backend's arenas and workspaces, and the device's peak
  // since creation where the backend can tell (0 when unknown).
  virtual size_t bytes_in_use() const = 0;

  // ---- data movement ----------------------------------------------------------
  // dst = src, same shape, any strides on both sides (innermost too), float dtypes convert.
  // Concat, split, transposes, padding and window partition are views + Copy.
  virtual void Copy(const Tensor& src, const Tensor& dst) = 0;
  // Every element of dst = value (any strides).
  virtual void Fill(const Tensor& dst, float value) = 0;
  // A hint, not a computation: ops issued after it will read `tensors` (weights, typically)
  // soon, so the backend may start pulling their bytes into its last-level cache now, while
  // the ops in between run. No result changes and nothing is written; the CUDA backend
  // issues L2 prefetches that start after the ops before the hint (so it is also safe on
  // tensors that earlier ops write) and, inside a graph capture, that no later op waits
  // for; the CPU backend only checks the arguments. Each tensor contiguous, on the
  // backend's device, any dtype; at most kMaxPrefetchTensors of them.
  static constexpr int kMaxPrefetchTensors = 4;
  virtual void Prefetch(std::span<const Tensor> tensors) = 0;
  // out[n, :] = table[ids[n], :]. ids I32 [N] (caller guarantees 0 <= id < V),
  // table [V, D], out [N, D].
  virtual void Embedding(const Tensor& ids, const Tensor& table, const Tensor& out) = 0;
  // out[n, c, y, x] = table[c, pixels[n, y, x, c]] rounded to out's dtype: camera bytes to
  // a model's normalised planes (the model's per-byte normalisation as a table), so a model
  // can upload bytes instead of floats. pixels U8 [N, H, W, C], packed (contiguous) or
  // planar (the Permute({0, 2, 3, 1}) of a contiguous [N, C, H, W]); table F32 [C, 256] and
  // out [N, C, H, W] contiguous.
  virtual void NormalizePixels(const Tensor& pixels, const Tensor& table, const Tensor& out) = 0;
  // Pillow's separable 8-bit resize (ImagingResample: a horizontal pass, then a vertical
  // one), camera bytes to the model's resized planes, so a model can upload the camera's
  // bytes and resize them on its device. pixels U8 [N, H, W, C] contiguous; taps_x I32
  // [Wo, 2 + Kx] and taps_y I32 [Ho, 2 + Ky] contiguous, one row per output column / row:
  // {first input index, tap count, Kx (Ky) weights with 22 fractional bits} (what
  // image/resize_taps.h makes from a Resampler plan); out U8 [N, C, Ho, Wo] contiguous.
  //   h[n, y, xo, c]   = clip8((2^21 + sum_j taps_x[xo, 2 + j] * pixels[n, y, x0 + j, c]) >> 22)
  //   out[n, c, yo, xo] = clip8((2^21 + sum_j taps_y[yo, 2 + j] * h[n, y0 + j, xo, c]) >> 22)
  // with x0 / y0 the rows' first index, j < their count, clip8 a clamp to [0, 255]: the
  // bytes of Pillow's Image.resize, bit for bit. Taps must lie inside the input (the CPU
  // backend checks; a device backend clamps indices, so bad taps never read out of bounds).
  virtual void ResizePixels(const Tensor& pixels, const Tensor& taps_x, const Tensor& taps_y,
                            const Tensor& out) = 0;

  // ---- elementwise (same shapes; broadcast with Tensor::Broadcast, so inputs may have
  //      any strides, stride-0 innermost included; in place allowed) ------------------
  virtual void Add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  virtual void Mul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
  // out = alpha * x + beta * y
  virtual void Axpby(float alpha, const Tensor& x, float beta, const Tensor& y,
                     const Tensor& out) = 0;
  virtual void Activate(Activation act, const Tensor& x, const Tensor& out) = 0;
  // out = act(gate) * up, elementwise (a gated MLP: GeGLU, SwiGLU), computed in f32 and
  // rounded once to out's dtype. gate, up, out same shape; in place allowed (out may be
  // exactly gate or up). The CPU reference is Activate then Mul, both in f32.
  // row_scale (may be null; see RowRmsScale): gate and up of row r are first multiplied by
  // s[r]: out = act(s gate) * (s up). gate [R, N] (2-D) when row_scale is given.
  virtual void GatedActivation(Activation act, const Tensor& gate, const Tensor& up,
                               const Tensor& out, const RowRmsScale* row_scale) = 0;
  // out = c + a * b, elementwise (a gated residual: x + y * gate), computed in f32 and
  // rounded once to out's dtype. a, b, c, out same shape; in place allowed (out may be
  // exactly a, b or c). The CPU reference is Mul then Add, both in f32 (the product
  // rounded to f32 before the add, no FMA); a device may fuse the two into one FMA.
  virtual void MulAdd(const Tensor& a, const Tensor& b, const Tensor& c, const Tensor& out) = 0;

  // ---- linear algebra ---------------------------------------------------------
  // out[M, N] = act(x[M, K] · w[N, K]ᵀ + bias[N]) + residual[M, N]
  // bias and residual may be null. w is contiguous [out_features, in_features] as in
  // nn.Linear. residual may alias out (in place allowed for residual/out only).
  // Accumulation is f32. A 16-bit out is rounded once after the whole epilogue, or (a
  // backend option, e.g. CudaBackendOptions::fused_lt_epilogues) the product is rounded
  // before bias/residual are added, as PyTorch's bf16 Linear followed by an add does.
  virtual void Linear(const Tensor& x, const Tensor& w, const Tensor* bias, Activation act,
                      const Tensor* residual, const Tensor& out) = 0;
  // Per-sample weights picked by domain id (X-VLA's DomainAwareLinear):
  //   out[b, t, :] = x[b, t, :] · W_d + bias_table[d, :],  d = domain_ids[b]
  // where W_d = weight_table[d].reshape(K, N) is stored [in, out] (NOT nn.Linear's order).
  // x [B, T, K], weight_table [D, K*N], bias_table [D, N], domain_ids I32 [B], out [B, T, N].
  virtual void DomainLinear(const Tensor& x, const Tensor& weight_table, const Tensor& bias_table,
                            const Tensor& domain_ids, const Tensor& out) = 0;

  // A residual Linear followed by the LayerNorm of its result, as one op (a pre-LN
  // transformer's output projection added to the residual stream, then the next norm):
  //   out    = x[M, K] · w[N, K]ᵀ + bias[N] + residual[M, N]   (Linear, no activation)
  //   normed = LayerNorm(out, gamma, beta, eps)                (of the rounded out)
  // bias may be null; residual may alias out; normed must not overlap x, w, residual or out.
  // The default is exactly those two ops; a backend may fuse them (CUDA: the product's
  // split-K partials summed with the norm in one kernel, when its tuner finds that faster).
  virtual void LinearResidualLayerNorm(const Tensor& x, const Tensor& w, const Tensor* bias,
                                       const Tensor& residual, const Tensor& out, const Tensor& gamma,
                                       const Tensor& beta, float eps, const Tensor& normed);

  // A gated MLP (GeGLU, SwiGLU: Gemma's MLP) as one op, the chain of three ops it replaces:
  //   Linear(x, gate_up_w) -> hidden                    [g | u] = x[M, K] · gate_up_w[2F, K]ᵀ
  //   GatedActivation(act, g, u, g, row_scale)          h = act(g) * u, in place over g
  //   Linear(h, down_w, residual) -> out                out[M, N] = h · down_w[N, F]ᵀ + residual
  // hidden [M, 2F] is the caller's scratch; on return its first F columns hold h. row_scale
  // (may be null) is GatedActivation's (R = M rows: the RMS statistic of a norm folded into
  // gate_up_w, see RowRmsScale). residual (may be null) and x may each be `out` itself (the
  // identical view: x is read before out is written); hidden must not overlap any other
  // operand. The default is exactly that chain; a backend may fuse it (CUDA, few rows: one
  // kernel, gated_mlp.cu; the same math up to the order of f32 sums).
  virtual void GatedMlp(const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w,
                        Activation act, const RowRmsScale* row_scale, const Tensor* residual,
                        const Tensor& hidden, const Tensor& out);

  // ---- normalisation (rows = all dims but the last; in place allowed) --------------
  // out = (x - mean) / sqrt(var + eps) * gamma + beta, biased variance, per row of C.
  virtual void LayerNorm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                         const Tensor& out) = 0;
  // out = x * rsqrt(mean(x²) + eps) * (weight_offset + w)   (Gemma stores w as offset from 1:
  // pass weight_offset = 1). Statistics accumulated in at least f32.
  virtual void RmsNorm(const Tensor& x, const Tensor& w, float eps, float weight_offset,
                       const Tensor& out) = 0;
  // adaRMS (pi0.5): out = x * rsqrt(mean(x²) + eps) * (1 + scale) + shift, per row of C.
  // scale and shift have x's shape with a contiguous innermost dim and any other strides
  // (a [C] row or one row per sample broadcast over the tokens with Tensor::Broadcast).
  // Statistics as RmsNorm; the result computed in f32 and rounded once to out's dtype. The
  // CPU reference is RmsNorm (weight_offset 1, w = the row's scale) then Add(shift), in f32.
  virtual void AdaRmsNorm(const Tensor& x, const Tensor& scale, const Tensor& shift, float eps,
                          const Tensor& out) = 0;
  // pi0.5's gated residual followed by the next adaRMS norm, as one op:
  //   x = x + y * gate            (in place on x: MulAdd(y, gate, x, x))
  //   out = AdaRmsNorm(x, scale, shift, eps)   (of the updated, rounded x)
  // y, gate, scale and shift have x's shape (broadcast views allowed, as MulAdd / AdaRmsNorm
  // take them); out must not overlap x. The default is exactly those two ops; a backend may
  // fuse them (CUDA: one launch, the same bits).
  virtual void MulAddAdaRmsNorm(const Tensor& x, const Tensor& y, const Tensor& gate,
                                const Tensor& scale, const Tensor& shift, float eps,
                                const Tensor& out);
  // Softmax over the last dim, computed in f32 (in place allowed).
  virtual void Softmax(const Tensor& x, const Tensor& out) = 0;
  // out[b, :] = mean over n of x[b, n, :].  x [B, N, C], out [B, C].
  virtual void MeanOverTokens(const Tensor& x, const Tensor& out) = 0;

  // ---- attention ---------------------------------------------------------------
  // Multi-head attention, softmax in f32:
  //   out[b, i, h, :] = Σ_j softmax_j(scale · q[b,i,h,:]·k[b,j,g,:] + mask[b,i,j]) v[b,j,g,:]
  // q [B, Sq, Hq, D], k [B, Sk, Hkv, D], v [B, Sk, Hkv, Dv], out [B, Sq, Hq, Dv];
  // g = h / (Hq / Hkv) (MQA when Hkv = 1, GQA otherwise). mask (may be null) is an
  // additive f32 [B, Sq, Sk] (use a stride-0 batch dim to share one); a finite large
  // negative value masks (openpi uses -2.3819763e38).
  virtual void Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                         float scale, const Tensor& out) = 0;
  // DaViT channel ("group") attention. q, k, v, out are [B, N, G, d] (views into a
  // fused qkv output); for each (b, g):
  //   A[i, j] = softmax_j(scale · Σ_n q[b,n,g,i] k[b,n,g,j])      A is [d, d]
  //   out[b, n, g, i] = Σ_j A[i, j] v[b, n, g, j]
  // Florence-2 uses scale = N^-0.5 (the token count, not the group dim).
  virtual void ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                                const Tensor& out) = 0;
  // Rotary embedding, rotate-half convention, in place allowed:
  //   inv_freq[i] = theta^(-2i/D), angle = positions[b, s] * inv_freq[i], i < D/2
  //   out[..., i]       = x[..., i] cos - x[..., i + D/2] sin
  //   out[..., i + D/2] = x[..., i + D/2] cos + x[..., i] sin
  // x, out [B, S, H, D]; positions I32 [B, S].
  virtual void Rope(const Tensor& x, const Tensor& positions, float theta, const Tensor& out) = 0;
  // A decoder layer's post-projection step in one op (pi0's Gemma blocks: q rotated in place,
  // rotated k and plain v written into the KV cache):
  //   q_out = Rope(q, positions, theta)     exactly Rope above, per element
  //   k_out = Rope(k, positions, theta)     same positions and theta
  //   v_out = v                             exactly Copy (same dtype copies bits; float
  //                                         dtypes convert, round to nearest even)
  // q, q_out [B, S, Hq, D]; k, k_out [B, S, Hkv, D] (same D as q); v, v_out [B, S, Hkv, Dv];
  // positions I32 [B, S]. Any strides with a contiguous innermost dim (views into a fused
  // [B, S, Hq + 2 Hkv, D] projection and into cache slices). In place allowed for q and for k
  // (q_out == q, k_out == k as identical views); no other output may alias an input or
  // another output. The result equals Rope(q), Rope(k), Copy(v) issued separately, bit for
  // bit on every backend (the CPU reference is exactly that chain).
  // row_scale (may be null; see RowRmsScale, R = B * S, row r = b * S + s): q, k and v of
  // token (b, s) are first multiplied by s[r] in f32; then v_out = v * s[r] rounded once (a
  // conversion, no longer a bit copy), and the RoPE rotation runs on the scaled f32 values.
  virtual void RopeQkv(const Tensor& q, const Tensor& k, const Tensor& v,
                       const Tensor& positions, float theta, const Tensor& q_out,
                       const Tensor& k_out, const Tensor& v_out,
                       const RowRmsScale* row_scale) = 0;

  // ---- convolution (NHWC activations, PyTorch weight layout) ----------------------
  // out[b, y, x, co] = bias[co] + Σ w[co, ci', ky, kx] · in[b, y*s - p + ky, x*s - p + kx, g*Cg + ci']
  //                    (+ residual[b, y, x, co])
  // x [B, H, W, Cin] (any strides: an NCHW image is x.Permute({0, 2, 3, 1})),
  // w [Cout, Cin/groups, kh, kw], bias [Cout] or null, residual/out [B, Ho, Wo, Cout].
  // residual may alias out (in place allowed for residual/out only).
  virtual void Conv2d(const Tensor& x, const Tensor& w, const Tensor* bias,
                      const Conv2dParams& params, const Tensor* residual, const Tensor& out) = 0;
};

}  // namespace vlart
