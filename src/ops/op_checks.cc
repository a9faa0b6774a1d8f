// SPDX-License-Identifier: Apache-2.0
//
// op_checks.cc: the argument checks of op_checks.h.
//
// Messages name the op, the argument and its shape (and dtype/device/strides where
// those are the problem), so a failure in a model reads like
//   "LayerNorm: gamma [63] does not match the last dim of x [2, 7, 64]".

#include "ops/op_checks.h"

#include <array>
#include <cmath>
#include <string>
#include <utility>

#include "core/check.h"

namespace vlart {
namespace {

std::string Desc(std::string_view name, const Tensor& t) {
  return fmt::format("{} {}", name, t.shape.ToString());
}

std::string StridesString(const Tensor& t) {
  std::string s = "[";
  for (int i = 0; i < t.ndim(); ++i) s += (i ? ", " : "") + std::to_string(t.stride[i]);
  return s + "]";
}

bool IsInterfaceFloat(DType d) {
  return d == DType::kF32 || d == DType::kF16 || d == DType::kBF16;
}

void CheckDevice(std::string_view op, std::string_view name, const Tensor& t, Device device) {
  VLART_CHECK(t.device == device, "{}: {} is on {}, expected {}", op, Desc(name, t),
              DeviceName(t.device), DeviceName(device));
}

void CheckDefined(std::string_view op, std::string_view name, const Tensor& t) {
  VLART_CHECK(t.numel() == 0 || t.data != nullptr, "{}: {} has no data (null pointer)", op,
              Desc(name, t));
  for (int i = 0; i < t.ndim(); ++i) {
    VLART_CHECK(t.shape[i] >= 0, "{}: {} has a negative dim", op, Desc(name, t));
    VLART_CHECK(t.stride[i] >= 0, "{}: {} has a negative stride (strides {})", op, Desc(name, t),
                StridesString(t));
  }
}

void CheckRank(std::string_view op, std::string_view name, const Tensor& t, int rank,
               std::string_view layout) {
  VLART_CHECK(t.ndim() == rank, "{}: {} must have rank {} ({}), got rank {}", op, Desc(name, t),
              rank, layout, t.ndim());
}

void CheckFloat(std::string_view op, std::string_view name, const Tensor& t) {
  VLART_CHECK(IsInterfaceFloat(t.dtype), "{}: {} has dtype {}, expected F32, F16 or BF16", op,
              Desc(name, t), DTypeName(t.dtype));
}

void CheckI32(std::string_view op, std::string_view name, const Tensor& t) {
  VLART_CHECK(t.dtype == DType::kI32, "{}: {} has dtype {}, expected I32", op, Desc(name, t),
              DTypeName(t.dtype));
}

// An input under the default rule: on the device, innermost dim contiguous.
void CheckInput(std::string_view op, std::string_view name, const Tensor& t, Device device) {
  CheckDefined(op, name, t);
  CheckDevice(op, name, t, device);
  VLART_CHECK(InnermostContiguous(t),
              "{}: {} must have a contiguous innermost dim (stride 1), got strides {}", op,
              Desc(name, t), StridesString(t));
}

void CheckContiguous(std::string_view op, std::string_view name, const Tensor& t, Device device) {
  CheckDefined(op, name, t);
  CheckDevice(op, name, t, device);
  VLART_CHECK(t.is_contiguous(), "{}: {} must be contiguous, got strides {}", op, Desc(name, t),
              StridesString(t));
}

// True when no two index tuples of t address the same element. Sufficient test: with
// the dims of size > 1 sorted by stride, each stride exceeds the extent spanned by all
// smaller ones. Every slice/permute/select of a contiguous buffer passes.
bool NonOverlapping(const Tensor& t) {
  std::array<std::pair<int64_t, int64_t>, kMaxDims> dims{};  // (stride, size)
  int n = 0;
  for (int i = 0; i < t.ndim(); ++i) {
    if (t.shape[i] > 1) dims[n++] = {t.stride[i], t.shape[i]};
  }
  for (int i = 1; i < n; ++i) {  // insertion sort by stride (at most kMaxDims entries)
    for (int j = i; j > 0 && dims[j].first < dims[j - 1].first; --j) std::swap(dims[j], dims[j - 1]);
  }
  int64_t extent = 0;  // max offset reachable with the dims seen so far
  for (int i = 0; i < n; ++i) {
    if (dims[i].first <= extent) return false;
    extent += dims[i].first * (dims[i].second - 1);
  }
  return true;
}

// An output: on the device, no element addressed twice, and (unless any_inner)
// innermost dim contiguous.
void CheckOutput(std::string_view op, std::string_view name, const Tensor& t, Device device,
                 bool any_inner = false) {
  CheckDefined(op, name, t);
  CheckDevice(op, name, t, device);
  VLART_CHECK(NonOverlapping(t),
              "{}: output {} has overlapping elements (strides {}); outputs may not broadcast",
              op, Desc(name, t), StridesString(t));
  if (!any_inner) {
    VLART_CHECK(InnermostContiguous(t),
                "{}: output {} must have a contiguous innermost dim (stride 1), got strides {}",
                op, Desc(name, t), StridesString(t));
  }
}

bool SameView(const Tensor& a, const Tensor& b) {
  if (a.data != b.data || a.shape != b.shape || a.dtype != b.dtype) return false;
  for (int i = 0; i < a.ndim(); ++i) {
    if (a.shape[i] > 1 && a.stride[i] != b.stride[i]) return false;
  }
  return true;
}

// An output that starts where an input starts always overlaps it.
void CheckNoAlias(std::string_view op, std::string_view out_name, const Tensor& out,
                  std::string_view in_name, const Tensor& in) {
  VLART_CHECK(out.numel() == 0 || in.numel() == 0 || out.data != in.data,
              "{}: {} aliases {} (same start address); {} does not allow in place", op,
              Desc(out_name, out), Desc(in_name, in), op);
}

// In place allowed: an output starting where an input starts must be exactly that view.
void CheckExactAliasOnly(std::string_view op, std::string_view out_name, const Tensor& out,
                         std::string_view in_name, const Tensor& in) {
  if (out.numel() == 0 || in.numel() == 0 || out.data != in.data) return;
  VLART_CHECK(SameView(out, in),
              "{}: {} and {} share a start address but are different views (strides {} vs {}); "
              "in place needs the identical view",
              op, Desc(out_name, out), Desc(in_name, in), StridesString(out), StridesString(in));
}

void CheckSameShape(std::string_view op, std::string_view a_name, const Tensor& a,
                    std::string_view b_name, const Tensor& b) {
  VLART_CHECK(a.shape == b.shape, "{}: {} and {} must have the same shape", op, Desc(a_name, a),
              Desc(b_name, b));
}

void CheckDim(std::string_view op, std::string_view what, std::string_view a_name,
              const Tensor& a, int64_t a_value, std::string_view b_name, const Tensor& b,
              int64_t b_value) {
  VLART_CHECK(a_value == b_value, "{}: {} and {} disagree on {} ({} vs {})", op, Desc(a_name, a),
              Desc(b_name, b), what, a_value, b_value);
}

// Rows ops (norms, softmax): x [..., C] with rank >= 1, out the same shape.
void CheckRowsOp(Device device, std::string_view op, const Tensor& x, const Tensor& out) {
  CheckInput(op, "x", x, device);
  CheckOutput(op, "out", out, device);
  CheckFloat(op, "x", x);
  CheckFloat(op, "out", out);
  VLART_CHECK(x.ndim() >= 1, "{}: x must have rank >= 1 (rows = all dims but the last)", op);
  CheckSameShape(op, "x", x, "out", out);
}

void CheckVector(std::string_view op, std::string_view name, const Tensor& t, int64_t n,
                 std::string_view of, Device device) {
  CheckContiguous(op, name, t, device);
  CheckFloat(op, name, t);
  VLART_CHECK(t.ndim() == 1 && t.shape[0] == n, "{}: {} must be [{}] ({}), got {}", op, name, n,
              of, t.shape.ToString());
}

}  // namespace

void RequireDTypes(std::string_view op, std::string_view name, const Tensor& t,
                   std::initializer_list<DType> allowed, std::string_view who) {
  std::string list;
  for (DType d : allowed) {
    if (t.dtype == d) return;
    list += (list.empty() ? "" : ", ") + std::string(DTypeName(d));
  }
  VLART_CHECK(false, "{}: {} has dtype {}, which {} does not support; expected {}", op,
              Desc(name, t), DTypeName(t.dtype), who, list);
}

bool PlanarPixels(const Tensor& t) {
  if (t.ndim() != 4) return false;
  const int64_t h = t.shape[1], w = t.shape[2], c = t.shape[3];
  auto fits = [&](int d, int64_t stride) { return t.shape[d] <= 1 || t.stride[d] == stride; };
  return fits(2, 1) && fits(1, w) && fits(3, h * w) && fits(0, c * h * w);
}

bool InnermostContiguous(const Tensor& t) {
  return t.ndim() == 0 || t.shape[-1] <= 1 || t.stride[t.ndim() - 1] == 1;
}

int64_t Conv2dOutputSize(int64_t in, int64_t kernel, const Conv2dParams& params) {
  const int64_t padded = in + 2 * static_cast<int64_t>(params.padding);
  if (padded < kernel || params.stride <= 0) return 0;
  return (padded - kernel) / params.stride + 1;
}

// ---- memory ----------------------------------------------------------------------------

namespace {
void CheckTransfer(std::string_view op, const Tensor& src, Device src_device,
                   std::string_view src_name, const Tensor& dst, Device dst_device,
                   std::string_view dst_name) {
  CheckContiguous(op, src_name, src, src_device);
  CheckContiguous(op, dst_name, dst, dst_device);
  CheckSameShape(op, src_name, src, dst_name, dst);
  if (src.dtype != dst.dtype) {
    VLART_CHECK(IsInterfaceFloat(src.dtype) && IsInterfaceFloat(dst.dtype),
                "{}: cannot convert {} {} to {} {}; only F32/F16/BF16 convert", op,
                Desc(src_name, src), DTypeName(src.dtype), Desc(dst_name, dst),
                DTypeName(dst.dtype));
  }
}
}  // namespace

void CheckUploadArgs(Device device, const Tensor& host_src, const Tensor& dst) {
  CheckTransfer("Upload", host_src, Device::kCpu, "host_src", dst, device, "dst");
}

void CheckDownloadArgs(Device device, const Tensor& src, const Tensor& host_dst) {
  CheckTransfer("Download", src, device, "src", host_dst, Device::kCpu, "host_dst");
}

// ---- data movement -----------------------------------------------------------------------

void CheckCopyArgs(Device device, const Tensor& src, const Tensor& dst) {
  constexpr std::string_view kOp = "Copy";
  CheckDefined(kOp, "src", src);
  CheckDevice(kOp, "src", src, device);
  CheckOutput(kOp, "dst", dst, device, /*any_inner=*/true);
  CheckSameShape(kOp, "src", src, "dst", dst);
  if (src.dtype != dst.dtype) {
    VLART_CHECK(IsInterfaceFloat(src.dtype) && IsInterfaceFloat(dst.dtype),
                "Copy: cannot convert {} {} to {} {}; only F32/F16/BF16 convert",
                Desc("src", src), DTypeName(src.dtype), Desc("dst", dst), DTypeName(dst.dtype));
  }
  VLART_CHECK(DTypeBits(src.dtype) % 8 == 0 || (src.is_contiguous() && dst.is_contiguous()),
              "Copy: packed dtype {} can only be copied between contiguous views",
              DTypeName(src.dtype));
  CheckNoAlias(kOp, "dst", dst, "src", src);
}

void CheckFillArgs(Device device, const Tensor& dst) {
  CheckOutput("Fill", "dst", dst, device, /*any_inner=*/true);
  CheckFloat("Fill", "dst", dst);
}

void CheckPrefetchArgs(Device device, std::span<const Tensor> tensors) {
  VLART_CHECK(static_cast<int>(tensors.size()) <= Backend::kMaxPrefetchTensors,
              "Prefetch: at most {} tensors per call, got {}", Backend::kMaxPrefetchTensors,
              tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CheckContiguous("Prefetch", fmt::format("tensors[{}]", i), tensors[i], device);
  }
}

void CheckEmbeddingArgs(Device device, const Tensor& ids, const Tensor& table, const Tensor& out) {
  constexpr std::string_view kOp = "Embedding";
  CheckInput(kOp, "ids", ids, device);
  CheckInput(kOp, "table", table, device);
  CheckOutput(kOp, "out", out, device);
  CheckI32(kOp, "ids", ids);
  CheckFloat(kOp, "table", table);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "ids", ids, 1, "[N]");
  CheckRank(kOp, "table", table, 2, "[V, D]");
  CheckRank(kOp, "out", out, 2, "[N, D]");
  CheckDim(kOp, "N", "ids", ids, ids.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "D", "table", table, table.shape[1], "out", out, out.shape[1]);
  CheckNoAlias(kOp, "out", out, "table", table);
}

void CheckNormalizePixelsArgs(Device device, const Tensor& pixels, const Tensor& table,
                              const Tensor& out) {
  constexpr std::string_view kOp = "NormalizePixels";
  CheckDefined(kOp, "pixels", pixels);
  CheckDevice(kOp, "pixels", pixels, device);
  CheckContiguous(kOp, "table", table, device);
  CheckContiguous(kOp, "out", out, device);
  VLART_CHECK(pixels.dtype == DType::kU8, "{}: {} has dtype {}, expected U8", kOp,
              Desc("pixels", pixels), DTypeName(pixels.dtype));
  VLART_CHECK(pixels.is_contiguous() || PlanarPixels(pixels),
              "{}: {} must be packed (contiguous [N, H, W, C]) or planar (a contiguous [N, C, H, W] "
              "permuted to [N, H, W, C]), got strides {}",
              kOp, Desc("pixels", pixels), StridesString(pixels));
  VLART_CHECK(table.dtype == DType::kF32, "{}: {} has dtype {}, expected F32", kOp,
              Desc("table", table), DTypeName(table.dtype));
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "pixels", pixels, 4, "[N, H, W, C]");
  CheckRank(kOp, "table", table, 2, "[C, 256]");
  CheckRank(kOp, "out", out, 4, "[N, C, H, W]");
  VLART_CHECK(table.shape[1] == 256, "{}: {} must be [C, 256] (one value per byte)", kOp,
              Desc("table", table));
  CheckDim(kOp, "N", "pixels", pixels, pixels.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "H", "pixels", pixels, pixels.shape[1], "out", out, out.shape[2]);
  CheckDim(kOp, "W", "pixels", pixels, pixels.shape[2], "out", out, out.shape[3]);
  CheckDim(kOp, "C", "pixels", pixels, pixels.shape[3], "out", out, out.shape[1]);
  CheckDim(kOp, "C", "pixels", pixels, pixels.shape[3], "table", table, table.shape[0]);
}

void CheckResizePixelsArgs(Device device, const Tensor& pixels, const Tensor& taps_x,
                           const Tensor& taps_y, const Tensor& out) {
  constexpr std::string_view kOp = "ResizePixels";
  CheckContiguous(kOp, "pixels", pixels, device);
  CheckContiguous(kOp, "taps_x", taps_x, device);
  CheckContiguous(kOp, "taps_y", taps_y, device);
  CheckContiguous(kOp, "out", out, device);
  VLART_CHECK(pixels.dtype == DType::kU8, "{}: {} has dtype {}, expected U8", kOp,
              Desc("pixels", pixels), DTypeName(pixels.dtype));
  VLART_CHECK(out.dtype == DType::kU8, "{}: {} has dtype {}, expected U8", kOp, Desc("out", out),
              DTypeName(out.dtype));
  VLART_CHECK(taps_x.dtype == DType::kI32, "{}: {} has dtype {}, expected I32", kOp,
              Desc("taps_x", taps_x), DTypeName(taps_x.dtype));
  VLART_CHECK(taps_y.dtype == DType::kI32, "{}: {} has dtype {}, expected I32", kOp,
              Desc("taps_y", taps_y), DTypeName(taps_y.dtype));
  CheckRank(kOp, "pixels", pixels, 4, "[N, H, W, C]");
  CheckRank(kOp, "taps_x", taps_x, 2, "[Wo, 2 + Kx]");
  CheckRank(kOp, "taps_y", taps_y, 2, "[Ho, 2 + Ky]");
  CheckRank(kOp, "out", out, 4, "[N, C, Ho, Wo]");
  VLART_CHECK(taps_x.shape[1] >= 3, "{}: {} must be [Wo, 2 + Kx] with Kx >= 1 (first, count, "
              "weights)", kOp, Desc("taps_x", taps_x));
  VLART_CHECK(taps_y.shape[1] >= 3, "{}: {} must be [Ho, 2 + Ky] with Ky >= 1 (first, count, "
              "weights)", kOp, Desc("taps_y", taps_y));
  CheckDim(kOp, "N", "pixels", pixels, pixels.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "C", "pixels", pixels, pixels.shape[3], "out", out, out.shape[1]);
  CheckDim(kOp, "Ho", "taps_y", taps_y, taps_y.shape[0], "out", out, out.shape[2]);
  CheckDim(kOp, "Wo", "taps_x", taps_x, taps_x.shape[0], "out", out, out.shape[3]);
  VLART_CHECK(pixels.shape[1] <= (int64_t{1} << 24) && pixels.shape[2] <= (int64_t{1} << 24),
              "{}: {}: expected H and W below 2^24", kOp, Desc("pixels", pixels));
  VLART_CHECK(out.numel() == 0 || (pixels.shape[1] >= 1 && pixels.shape[2] >= 1),
              "{}: {}: expected H and W >= 1 for a non-empty out {}", kOp, Desc("pixels", pixels),
              Desc("out", out));
}

// ---- elementwise -------------------------------------------------------------------------

void CheckBinaryElementwiseArgs(Device device, std::string_view op, const Tensor& a,
                                const Tensor& b, const Tensor& out) {
  CheckDefined(op, "a", a);
  CheckDefined(op, "b", b);
  CheckDevice(op, "a", a, device);
  CheckDevice(op, "b", b, device);
  CheckOutput(op, "out", out, device);
  CheckFloat(op, "a", a);
  CheckFloat(op, "b", b);
  CheckFloat(op, "out", out);
  VLART_CHECK(a.shape == b.shape && a.shape == out.shape,
              "{}: a {}, b {} and out {} must have the same shape; hint: broadcast with "
              "Tensor::Broadcast",
              op, a.shape.ToString(), b.shape.ToString(), out.shape.ToString());
  CheckExactAliasOnly(op, "out", out, "a", a);
  CheckExactAliasOnly(op, "out", out, "b", b);
}

void CheckActivateArgs(Device device, const Tensor& x, const Tensor& out) {
  constexpr std::string_view kOp = "Activate";
  CheckDefined(kOp, "x", x);
  CheckDevice(kOp, "x", x, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "out", out);
  CheckSameShape(kOp, "x", x, "out", out);
  CheckExactAliasOnly(kOp, "out", out, "x", x);
}

namespace {

// An op's optional RowRmsScale: x [R, C] on the device, float, innermost contiguous, one row per
// token row of the op.
void CheckRowRmsScaleArgs(Device device, std::string_view op, const RowRmsScale& s,
                          int64_t rows, std::string_view rows_of) {
  CheckInput(op, "row_scale.x", s.x, device);
  CheckFloat(op, "row_scale.x", s.x);
  CheckRank(op, "row_scale.x", s.x, 2, "[R, C]");
  VLART_CHECK(s.x.shape[0] == rows, "{}: {} must have one row per token row ({} = {}), got {}",
              op, Desc("row_scale.x", s.x), rows_of, rows, s.x.shape[0]);
  VLART_CHECK(s.x.shape[1] >= 1 || rows == 0, "{}: {} must have at least one column", op,
              Desc("row_scale.x", s.x));
  VLART_CHECK(std::isfinite(s.eps) && s.eps >= 0.0f,
              "{}: row_scale.eps must be finite and >= 0, got {}", op, s.eps);
}

}  // namespace

void CheckGatedActivationArgs(Device device, const Tensor& gate, const Tensor& up,
                              const Tensor& out, const RowRmsScale* row_scale) {
  constexpr std::string_view kOp = "GatedActivation";
  CheckDefined(kOp, "gate", gate);
  CheckDefined(kOp, "up", up);
  CheckDevice(kOp, "gate", gate, device);
  CheckDevice(kOp, "up", up, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "gate", gate);
  CheckFloat(kOp, "up", up);
  CheckFloat(kOp, "out", out);
  CheckSameShape(kOp, "gate", gate, "out", out);
  CheckSameShape(kOp, "up", up, "out", out);
  CheckExactAliasOnly(kOp, "out", out, "gate", gate);
  CheckExactAliasOnly(kOp, "out", out, "up", up);
  if (row_scale != nullptr) {
    CheckRank(kOp, "gate", gate, 2, "[R, N] with row_scale");
    CheckRowRmsScaleArgs(device, kOp, *row_scale, gate.shape[0], "gate's rows");
    CheckNoAlias(kOp, "out", out, "row_scale.x", row_scale->x);
  }
}

void CheckMulAddArgs(Device device, const Tensor& a, const Tensor& b, const Tensor& c,
                     const Tensor& out) {
  constexpr std::string_view kOp = "MulAdd";
  const std::array<std::pair<std::string_view, const Tensor*>, 3> inputs = {
      {{"a", &a}, {"b", &b}, {"c", &c}}};
  for (const auto& [name, t] : inputs) {
    CheckDefined(kOp, name, *t);
    CheckDevice(kOp, name, *t, device);
  }
  CheckOutput(kOp, "out", out, device);
  for (const auto& [name, t] : inputs) CheckFloat(kOp, name, *t);
  CheckFloat(kOp, "out", out);
  VLART_CHECK(a.shape == out.shape && b.shape == out.shape && c.shape == out.shape,
              "MulAdd: a {}, b {}, c {} and out {} must have the same shape; hint: broadcast "
              "with Tensor::Broadcast",
              a.shape.ToString(), b.shape.ToString(), c.shape.ToString(), out.shape.ToString());
  for (const auto& [name, t] : inputs) CheckExactAliasOnly(kOp, "out", out, name, *t);
}

// ---- linear algebra ----------------------------------------------------------------------

void CheckLinearArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                     const Tensor* residual, const Tensor& out) {
  constexpr std::string_view kOp = "Linear";
  CheckInput(kOp, "x", x, device);
  CheckContiguous(kOp, "w", w, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "w", w);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "x", x, 2, "[M, K]");
  CheckRank(kOp, "w", w, 2, "[N, K] as nn.Linear's [out_features, in_features]");
  CheckRank(kOp, "out", out, 2, "[M, N]");
  CheckDim(kOp, "K", "x", x, x.shape[1], "w", w, w.shape[1]);
  CheckDim(kOp, "M", "x", x, x.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "N", "w", w, w.shape[0], "out", out, out.shape[1]);
  if (bias != nullptr) CheckVector(kOp, "bias", *bias, w.shape[0], "N = w.shape[0]", device);
  if (residual != nullptr) {
    CheckInput(kOp, "residual", *residual, device);
    CheckFloat(kOp, "residual", *residual);
    CheckSameShape(kOp, "residual", *residual, "out", out);
    CheckExactAliasOnly(kOp, "out", out, "residual", *residual);
  }
  CheckNoAlias(kOp, "out", out, "x", x);
  CheckNoAlias(kOp, "out", out, "w", w);
  if (bias != nullptr) CheckNoAlias(kOp, "out", out, "bias", *bias);
}

void CheckDomainLinearArgs(Device device, const Tensor& x, const Tensor& weight_table,
                           const Tensor& bias_table, const Tensor& domain_ids, const Tensor& out) {
  constexpr std::string_view kOp = "DomainLinear";
  CheckInput(kOp, "x", x, device);
  CheckContiguous(kOp, "weight_table", weight_table, device);
  CheckContiguous(kOp, "bias_table", bias_table, device);
  CheckInput(kOp, "domain_ids", domain_ids, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "weight_table", weight_table);
  CheckFloat(kOp, "bias_table", bias_table);
  CheckI32(kOp, "domain_ids", domain_ids);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "x", x, 3, "[B, T, K]");
  CheckRank(kOp, "weight_table", weight_table, 2, "[D, K*N]");
  CheckRank(kOp, "bias_table", bias_table, 2, "[D, N]");
  CheckRank(kOp, "domain_ids", domain_ids, 1, "[B]");
  CheckRank(kOp, "out", out, 3, "[B, T, N]");
  CheckDim(kOp, "B", "x", x, x.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "T", "x", x, x.shape[1], "out", out, out.shape[1]);
  CheckDim(kOp, "B", "x", x, x.shape[0], "domain_ids", domain_ids, domain_ids.shape[0]);
  CheckDim(kOp, "N", "bias_table", bias_table, bias_table.shape[1], "out", out, out.shape[2]);
  CheckDim(kOp, "the domain count D", "weight_table", weight_table, weight_table.shape[0],
           "bias_table", bias_table, bias_table.shape[0]);
  VLART_CHECK(weight_table.shape[1] == x.shape[2] * out.shape[2],
              "DomainLinear: {} does not hold K*N = {}*{} = {} values per domain for x {} and "
              "out {}",
              Desc("weight_table", weight_table), x.shape[2], out.shape[2],
              x.shape[2] * out.shape[2], x.shape.ToString(), out.shape.ToString());
  CheckNoAlias(kOp, "out", out, "x", x);
}

// ---- normalisation -------------------------------------------------------------------------

void CheckLayerNormArgs(Device device, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        float eps, const Tensor& out) {
  constexpr std::string_view kOp = "LayerNorm";
  CheckRowsOp(device, kOp, x, out);
  const int64_t c = x.shape[-1];
  CheckVector(kOp, "gamma", gamma, c, "the last dim of x", device);
  CheckVector(kOp, "beta", beta, c, "the last dim of x", device);
  VLART_CHECK(std::isfinite(eps) && eps >= 0.0f, "LayerNorm: eps must be finite and >= 0, got {}",
              eps);
  CheckExactAliasOnly(kOp, "out", out, "x", x);
}

void CheckRmsNormArgs(Device device, const Tensor& x, const Tensor& w, float eps,
                      const Tensor& out) {
  constexpr std::string_view kOp = "RmsNorm";
  CheckRowsOp(device, kOp, x, out);
  CheckVector(kOp, "w", w, x.shape[-1], "the last dim of x", device);
  VLART_CHECK(std::isfinite(eps) && eps >= 0.0f, "RmsNorm: eps must be finite and >= 0, got {}",
              eps);
  CheckExactAliasOnly(kOp, "out", out, "x", x);
}

void CheckAdaRmsNormArgs(Device device, const Tensor& x, const Tensor& scale, const Tensor& shift,
                         float eps, const Tensor& out) {
  constexpr std::string_view kOp = "AdaRmsNorm";
  CheckRowsOp(device, kOp, x, out);
  for (const auto& [name, t] : {std::pair<std::string_view, const Tensor*>{"scale", &scale},
                                {"shift", &shift}}) {
    CheckInput(kOp, name, *t, device);
    CheckFloat(kOp, name, *t);
    VLART_CHECK(t->shape == x.shape,
                "AdaRmsNorm: {} must have the shape of x {}; hint: broadcast a [C] row or "
                "per-sample rows over the tokens with Tensor::Broadcast",
                Desc(name, *t), x.shape.ToString());
    CheckNoAlias(kOp, "out", out, name, *t);
  }
  VLART_CHECK(std::isfinite(eps) && eps >= 0.0f,
              "AdaRmsNorm: eps must be finite and >= 0, got {}", eps);
  CheckExactAliasOnly(kOp, "out", out, "x", x);
}

void CheckLinearResidualLayerNormArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                                      const Tensor& residual, const Tensor& out, const Tensor& gamma,
                                      const Tensor& beta, float eps, const Tensor& normed) {
  constexpr std::string_view kOp = "LinearResidualLayerNorm";
  CheckLinearArgs(device, x, w, bias, &residual, out);
  CheckLayerNormArgs(device, out, gamma, beta, eps, normed);
  CheckNoAlias(kOp, "normed", normed, "out", out);  // both are results
  CheckNoAlias(kOp, "normed", normed, "x", x);
  CheckNoAlias(kOp, "normed", normed, "w", w);
  CheckNoAlias(kOp, "normed", normed, "residual", residual);
  if (bias != nullptr) CheckNoAlias(kOp, "normed", normed, "bias", *bias);
  CheckNoAlias(kOp, "normed", normed, "gamma", gamma);
  CheckNoAlias(kOp, "normed", normed, "beta", beta);
  CheckNoAlias(kOp, "out", out, "gamma", gamma);
  CheckNoAlias(kOp, "out", out, "beta", beta);
}

void CheckMulAddAdaRmsNormArgs(Device device, const Tensor& x, const Tensor& y, const Tensor& gate,
                               const Tensor& scale, const Tensor& shift, float eps, const Tensor& out) {
  constexpr std::string_view kOp = "MulAddAdaRmsNorm";
  CheckMulAddArgs(device, y, gate, x, x);
  CheckAdaRmsNormArgs(device, x, scale, shift, eps, out);
  CheckNoAlias(kOp, "out", out, "x", x);  // x is updated in place, then normalised into out
  CheckNoAlias(kOp, "out", out, "y", y);
  CheckNoAlias(kOp, "out", out, "gate", gate);
}

void CheckGatedMlpArgs(Device device, const Tensor& x, const Tensor& gate_up_w, const Tensor& down_w,
                       const RowRmsScale* row_scale, const Tensor* residual, const Tensor& hidden,
                       const Tensor& out) {
  constexpr std::string_view kOp = "GatedMlp";
  CheckInput(kOp, "x", x, device);
  CheckContiguous(kOp, "gate_up_w", gate_up_w, device);
  CheckContiguous(kOp, "down_w", down_w, device);
  CheckOutput(kOp, "hidden", hidden, device);
  CheckOutput(kOp, "out", out, device);
  for (const auto& [name, t] : {std::pair<std::string_view, const Tensor*>{"x", &x},
                                {"gate_up_w", &gate_up_w}, {"down_w", &down_w},
                                {"hidden", &hidden}, {"out", &out}}) {
    CheckFloat(kOp, name, *t);
  }
  CheckRank(kOp, "x", x, 2, "[M, K]");
  CheckRank(kOp, "gate_up_w", gate_up_w, 2, "[2F, K]: the gate rows, then the up rows");
  CheckRank(kOp, "down_w", down_w, 2, "[N, F]");
  CheckRank(kOp, "hidden", hidden, 2, "[M, 2F]");
  CheckRank(kOp, "out", out, 2, "[M, N]");
  VLART_CHECK(gate_up_w.shape[0] % 2 == 0, "{}: {} must have an even number of rows (gate, then up)",
              kOp, Desc("gate_up_w", gate_up_w));
  CheckDim(kOp, "K", "x", x, x.shape[1], "gate_up_w", gate_up_w, gate_up_w.shape[1]);
  CheckDim(kOp, "F", "gate_up_w (rows / 2)", gate_up_w, gate_up_w.shape[0] / 2, "down_w", down_w,
           down_w.shape[1]);
  CheckDim(kOp, "M", "x", x, x.shape[0], "hidden", hidden, hidden.shape[0]);
  CheckDim(kOp, "2F", "gate_up_w", gate_up_w, gate_up_w.shape[0], "hidden", hidden, hidden.shape[1]);
  CheckDim(kOp, "M", "x", x, x.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "N", "down_w", down_w, down_w.shape[0], "out", out, out.shape[1]);
  if (residual != nullptr) {
    CheckInput(kOp, "residual", *residual, device);
    CheckFloat(kOp, "residual", *residual);
    CheckSameShape(kOp, "residual", *residual, "out", out);
    CheckExactAliasOnly(kOp, "out", out, "residual", *residual);
    CheckNoAlias(kOp, "hidden", hidden, "residual", *residual);
  }
  if (row_scale != nullptr) {
    CheckRowRmsScaleArgs(device, kOp, *row_scale, x.shape[0], "x's rows");
    CheckNoAlias(kOp, "hidden", hidden, "row_scale.x", row_scale->x);
  }
  CheckExactAliasOnly(kOp, "out", out, "x", x);
  CheckNoAlias(kOp, "hidden", hidden, "x", x);
  CheckNoAlias(kOp, "hidden", hidden, "out", out);
  for (const auto& [name, w] : {std::pair<std::string_view, const Tensor*>{"gate_up_w", &gate_up_w},
                                {"down_w", &down_w}}) {
    CheckNoAlias(kOp, "hidden", hidden, name, *w);
    CheckNoAlias(kOp, "out", out, name, *w);
  }
}

void CheckSoftmaxArgs(Device device, const Tensor& x, const Tensor& out) {
  CheckRowsOp(device, "Softmax", x, out);
  CheckExactAliasOnly("Softmax", "out", out, "x", x);
}

void CheckMeanOverTokensArgs(Device device, const Tensor& x, const Tensor& out) {
  constexpr std::string_view kOp = "MeanOverTokens";
  CheckInput(kOp, "x", x, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "x", x, 3, "[B, N, C]");
  CheckRank(kOp, "out", out, 2, "[B, C]");
  CheckDim(kOp, "B", "x", x, x.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "C", "x", x, x.shape[2], "out", out, out.shape[1]);
  VLART_CHECK(x.shape[1] > 0, "MeanOverTokens: x {} has no tokens to average", x.shape.ToString());
  CheckNoAlias(kOp, "out", out, "x", x);
}

// ---- attention ---------------------------------------------------------------------------

void CheckAttentionArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor* mask, float scale, const Tensor& out) {
  constexpr std::string_view kOp = "Attention";
  CheckInput(kOp, "q", q, device);
  CheckInput(kOp, "k", k, device);
  CheckInput(kOp, "v", v, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "q", q);
  CheckFloat(kOp, "k", k);
  CheckFloat(kOp, "v", v);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "q", q, 4, "[B, Sq, Hq, D]");
  CheckRank(kOp, "k", k, 4, "[B, Sk, Hkv, D]");
  CheckRank(kOp, "v", v, 4, "[B, Sk, Hkv, Dv]");
  CheckRank(kOp, "out", out, 4, "[B, Sq, Hq, Dv]");
  CheckDim(kOp, "B", "q", q, q.shape[0], "k", k, k.shape[0]);
  CheckDim(kOp, "B", "q", q, q.shape[0], "v", v, v.shape[0]);
  CheckDim(kOp, "B", "q", q, q.shape[0], "out", out, out.shape[0]);
  CheckDim(kOp, "D", "q", q, q.shape[3], "k", k, k.shape[3]);
  CheckDim(kOp, "Sk", "k", k, k.shape[1], "v", v, v.shape[1]);
  CheckDim(kOp, "Hkv", "k", k, k.shape[2], "v", v, v.shape[2]);
  CheckDim(kOp, "Sq", "q", q, q.shape[1], "out", out, out.shape[1]);
  CheckDim(kOp, "Hq", "q", q, q.shape[2], "out", out, out.shape[2]);
  CheckDim(kOp, "Dv", "v", v, v.shape[3], "out", out, out.shape[3]);
  VLART_CHECK(k.shape[2] > 0 && q.shape[2] % k.shape[2] == 0,
              "Attention: Hq = {} (q {}) must be a multiple of Hkv = {} (k {})", q.shape[2],
              q.shape.ToString(), k.shape[2], k.shape.ToString());
  VLART_CHECK(k.shape[1] > 0 || q.shape[1] == 0,
              "Attention: k {} has no keys (Sk = 0) for q {}", k.shape.ToString(),
              q.shape.ToString());
  VLART_CHECK(std::isfinite(scale), "Attention: scale must be finite, got {}", scale);
  if (mask != nullptr) {
    CheckInput(kOp, "mask", *mask, device);
    VLART_CHECK(mask->dtype == DType::kF32, "Attention: {} has dtype {}, expected F32 (additive)",
                Desc("mask", *mask), DTypeName(mask->dtype));
    const Shape want{q.shape[0], q.shape[1], k.shape[1]};
    VLART_CHECK(mask->shape == want,
                "Attention: mask {} must be [B, Sq, Sk] = {} for q {} and k {}; hint: a shared "
                "mask is a stride-0 view (Tensor::Broadcast)",
                mask->shape.ToString(), want.ToString(), q.shape.ToString(), k.shape.ToString());
  }
  CheckNoAlias(kOp, "out", out, "q", q);
  CheckNoAlias(kOp, "out", out, "k", k);
  CheckNoAlias(kOp, "out", out, "v", v);
}

void CheckChannelAttentionArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                               float scale, const Tensor& out) {
  constexpr std::string_view kOp = "ChannelAttention";
  CheckInput(kOp, "q", q, device);
  CheckInput(kOp, "k", k, device);
  CheckInput(kOp, "v", v, device);
  CheckOutput(kOp, "out", out, device);
  const std::array<std::pair<std::string_view, const Tensor*>, 4> args = {
      {{"q", &q}, {"k", &k}, {"v", &v}, {"out", &out}}};
  for (const auto& [name, t] : args) {
    CheckFloat(kOp, name, *t);
    CheckRank(kOp, name, *t, 4, "[B, N, G, d]");
  }
  CheckSameShape(kOp, "q", q, "k", k);
  CheckSameShape(kOp, "q", q, "v", v);
  CheckSameShape(kOp, "q", q, "out", out);
  VLART_CHECK(std::isfinite(scale), "ChannelAttention: scale must be finite, got {}", scale);
  CheckNoAlias(kOp, "out", out, "q", q);
  CheckNoAlias(kOp, "out", out, "k", k);
  CheckNoAlias(kOp, "out", out, "v", v);
}

void CheckRopeArgs(Device device, const Tensor& x, const Tensor& positions, float theta,
                   const Tensor& out) {
  constexpr std::string_view kOp = "Rope";
  CheckInput(kOp, "x", x, device);
  CheckInput(kOp, "positions", positions, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "out", out);
  CheckI32(kOp, "positions", positions);
  CheckRank(kOp, "x", x, 4, "[B, S, H, D]");
  CheckRank(kOp, "positions", positions, 2, "[B, S]");
  CheckSameShape(kOp, "x", x, "out", out);
  CheckDim(kOp, "B", "x", x, x.shape[0], "positions", positions, positions.shape[0]);
  CheckDim(kOp, "S", "x", x, x.shape[1], "positions", positions, positions.shape[1]);
  VLART_CHECK(x.shape[3] % 2 == 0, "Rope: head dim D of x {} must be even (rotate-half)",
              x.shape.ToString());
  VLART_CHECK(std::isfinite(theta) && theta > 0.0f, "Rope: theta must be finite and > 0, got {}",
              theta);
  CheckExactAliasOnly(kOp, "out", out, "x", x);
}

void CheckRopeQkvArgs(Device device, const Tensor& q, const Tensor& k, const Tensor& v,
                      const Tensor& positions, float theta, const Tensor& q_out,
                      const Tensor& k_out, const Tensor& v_out, const RowRmsScale* row_scale) {
  constexpr std::string_view kOp = "RopeQkv";
  CheckInput(kOp, "q", q, device);
  CheckInput(kOp, "k", k, device);
  CheckInput(kOp, "v", v, device);
  CheckInput(kOp, "positions", positions, device);
  CheckOutput(kOp, "q_out", q_out, device);
  CheckOutput(kOp, "k_out", k_out, device);
  CheckOutput(kOp, "v_out", v_out, device);
  CheckFloat(kOp, "q", q);
  CheckFloat(kOp, "k", k);
  CheckFloat(kOp, "v", v);
  CheckFloat(kOp, "q_out", q_out);
  CheckFloat(kOp, "k_out", k_out);
  CheckFloat(kOp, "v_out", v_out);
  CheckI32(kOp, "positions", positions);
  CheckRank(kOp, "q", q, 4, "[B, S, Hq, D]");
  CheckRank(kOp, "k", k, 4, "[B, S, Hkv, D]");
  CheckRank(kOp, "v", v, 4, "[B, S, Hkv, Dv]");
  CheckRank(kOp, "positions", positions, 2, "[B, S]");
  CheckSameShape(kOp, "q", q, "q_out", q_out);
  CheckSameShape(kOp, "k", k, "k_out", k_out);
  CheckSameShape(kOp, "v", v, "v_out", v_out);
  CheckDim(kOp, "B", "q", q, q.shape[0], "positions", positions, positions.shape[0]);
  CheckDim(kOp, "S", "q", q, q.shape[1], "positions", positions, positions.shape[1]);
  CheckDim(kOp, "B", "k", k, k.shape[0], "q", q, q.shape[0]);
  CheckDim(kOp, "S", "k", k, k.shape[1], "q", q, q.shape[1]);
  CheckDim(kOp, "D", "k", k, k.shape[3], "q", q, q.shape[3]);
  CheckDim(kOp, "B", "v", v, v.shape[0], "q", q, q.shape[0]);
  CheckDim(kOp, "S", "v", v, v.shape[1], "q", q, q.shape[1]);
  CheckDim(kOp, "Hkv", "v", v, v.shape[2], "k", k, k.shape[2]);
  VLART_CHECK(q.shape[3] % 2 == 0, "RopeQkv: head dim D of q {} must be even (rotate-half)",
              q.shape.ToString());
  VLART_CHECK(std::isfinite(theta) && theta > 0.0f,
              "RopeQkv: theta must be finite and > 0, got {}", theta);
  // In place only for q and k, each onto its own identical view; everything else disjoint.
  CheckExactAliasOnly(kOp, "q_out", q_out, "q", q);
  CheckExactAliasOnly(kOp, "k_out", k_out, "k", k);
  const std::array<std::pair<std::string_view, const Tensor*>, 3> ins = {
      {{"q", &q}, {"k", &k}, {"v", &v}}};
  const std::array<std::pair<std::string_view, const Tensor*>, 3> outs = {
      {{"q_out", &q_out}, {"k_out", &k_out}, {"v_out", &v_out}}};
  for (size_t o = 0; o < outs.size(); ++o) {
    for (size_t i = 0; i < ins.size(); ++i) {
      if (i == o && i < 2) continue;  // q_out/q and k_out/k: exact in place, checked above
      CheckNoAlias(kOp, outs[o].first, *outs[o].second, ins[i].first, *ins[i].second);
    }
    for (size_t p = o + 1; p < outs.size(); ++p) {
      const Tensor& a = *outs[o].second;
      const Tensor& b = *outs[p].second;
      VLART_CHECK(a.numel() == 0 || b.numel() == 0 || a.data != b.data,
                  "RopeQkv: outputs {} and {} share a start address; the three outputs must "
                  "be disjoint",
                  Desc(outs[o].first, a), Desc(outs[p].first, b));
    }
  }
  if (row_scale != nullptr) {
    CheckRowRmsScaleArgs(device, kOp, *row_scale, q.shape[0] * q.shape[1], "B * S of q");
    VLART_CHECK(q.shape[3] > 0, "RopeQkv: a row scale needs a head dim D > 0, got q {}",
                q.shape.ToString());
    for (const auto& [name, t] : outs) CheckNoAlias(kOp, name, *t, "row_scale.x", row_scale->x);
  }
}

// ---- convolution ---------------------------------------------------------------------------

void CheckConv2dArgs(Device device, const Tensor& x, const Tensor& w, const Tensor* bias,
                     const Conv2dParams& params, const Tensor* residual, const Tensor& out) {
  constexpr std::string_view kOp = "Conv2d";
  CheckDefined(kOp, "x", x);  // any strides, innermost too
  CheckDevice(kOp, "x", x, device);
  CheckContiguous(kOp, "w", w, device);
  CheckOutput(kOp, "out", out, device);
  CheckFloat(kOp, "x", x);
  CheckFloat(kOp, "w", w);
  CheckFloat(kOp, "out", out);
  CheckRank(kOp, "x", x, 4, "[B, H, W, Cin] (NHWC)");
  CheckRank(kOp, "w", w, 4, "[Cout, Cin/groups, kh, kw]");
  CheckRank(kOp, "out", out, 4, "[B, Ho, Wo, Cout] (NHWC)");
  VLART_CHECK(params.stride >= 1 && params.padding >= 0 && params.groups >= 1,
              "Conv2d: params must have stride >= 1, padding >= 0, groups >= 1; got stride {}, "
              "padding {}, groups {}",
              params.stride, params.padding, params.groups);
  const int64_t cin = x.shape[3];
  const int64_t cout = w.shape[0];
  VLART_CHECK(cin % params.groups == 0 && cout % params.groups == 0,
              "Conv2d: groups = {} must divide Cin = {} (x {}) and Cout = {} (w {})", params.groups,
              cin, x.shape.ToString(), cout, w.shape.ToString());
  VLART_CHECK(w.shape[1] == cin / params.groups,
              "Conv2d: x {} and w {} disagree on Cin/groups ({} / {} = {} vs {})",
              x.shape.ToString(), w.shape.ToString(), cin, params.groups, cin / params.groups,
              w.shape[1]);
  const int64_t ho = Conv2dOutputSize(x.shape[1], w.shape[2], params);
  const int64_t wo = Conv2dOutputSize(x.shape[2], w.shape[3], params);
  VLART_CHECK(ho > 0 && wo > 0,
              "Conv2d: kernel {}x{} does not fit x {} with padding {}", w.shape[2], w.shape[3],
              x.shape.ToString(), params.padding);
  const Shape want{x.shape[0], ho, wo, cout};
  VLART_CHECK(out.shape == want,
              "Conv2d: out {} must be [B, Ho, Wo, Cout] = {} for x {}, w {}, stride {}, padding {}",
              out.shape.ToString(), want.ToString(), x.shape.ToString(), w.shape.ToString(),
              params.stride, params.padding);
  if (bias != nullptr) CheckVector(kOp, "bias", *bias, cout, "Cout = w.shape[0]", device);
  if (residual != nullptr) {
    CheckInput(kOp, "residual", *residual, device);
    CheckFloat(kOp, "residual", *residual);
    CheckSameShape(kOp, "residual", *residual, "out", out);
    CheckExactAliasOnly(kOp, "out", out, "residual", *residual);
  }
  CheckNoAlias(kOp, "out", out, "x", x);
  CheckNoAlias(kOp, "out", out, "w", w);
}

}  // namespace vlart
