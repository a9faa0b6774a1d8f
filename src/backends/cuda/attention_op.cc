// SPDX-License-Identifier: Apache-2.0
//
// attention_op.cc: CudaBackend::Attention and ChannelAttention: validation and path choice
// (kernels in attention*.cu and channel_attention.cu).
//
// Attention takes the one-pass kernel (attention_rows.cu: one warp per 16 query rows against
// every key) for Sk <= 272 with head dim 32/64/72 and aligned rows where the K/V-resident
// tensor-core kernel's (attention_resident.cu: Sk <= 320, same head dims and alignment) grid
// alone would fill the SMs (batch >= 4 X-VLA and SigLIP, DaViT windows), or where
// ForceAttentionRows / VLART_ATTENTION_ROWS=N force it (=0: never); else the resident one for
// short keys, else the head-folded streaming kernel (attention_flash.cu: head dim 256, or
// 128 with MQA/GQA, aligned rows: pi0's Gemma), else the streaming tensor-core kernel for
// bf16/f16 q/k/v with head dim 32, 64 or 128 and Dv == D, and the SIMT kernel otherwise (f32
// compute mode, other head dims, mixed dtypes, force_fallback_kernels). The SIMT kernel keeps
// one score per key in shared memory, so Sk is bounded by the device's opt-in shared memory
// (about 57k keys on Hopper).

#include <algorithm>
#include <cstdint>

#include "backends/cuda/cuda_backend_impl.h"
#include "backends/cuda/kernels.h"
#include "core/check.h"
#include "ops/op_checks.h"

namespace vlart::cuda {

void CudaBackend::Attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor* mask,
                            float scale, const Tensor& out) {
  BeginOp();
  // q [B, Sq, Hq, D], k [B, Sk, Hkv, D], v [B, Sk, Hkv, Dv], out [B, Sq, Hq, Dv], mask [B, Sq, Sk]
  CheckAttentionArgs(Device::kCuda, q, k, v, mask, scale, out);
  const int64_t batch = q.dim(0), sq = q.dim(1), hq = q.dim(2), d = q.dim(3);
  const int64_t sk = k.dim(1), hkv = k.dim(2), dv = v.dim(3);
  if (out.numel() == 0) {
    AfterOp("Attention");
    return;
  }
  VLART_CHECK(batch <= 65535 && hq <= 65535 && sq <= INT32_MAX && sk <= INT32_MAX && d <= INT32_MAX,
              "Attention: sizes beyond the kernels' grid: q {} k {}", q.ToString(), k.ToString());
  AttentionArgs a;
  a.batch = static_cast<int>(batch);
  a.sq = static_cast<int>(sq);
  a.sk = static_cast<int>(sk);
  a.hq = static_cast<int>(hq);
  a.hkv = static_cast<int>(hkv);
  a.d = static_cast<int>(d);
  a.dv = static_cast<int>(dv);
  a.scale = scale;
  a.q = q.data;
  a.k = k.data;
  a.v = v.data;
  a.out = out.data;
  a.q_dtype = q.dtype;
  a.k_dtype = k.dtype;
  a.v_dtype = v.dtype;
  a.out_dtype = out.dtype;
  a.q_sb = q.stride[0], a.q_ss = q.stride[1], a.q_sh = q.stride[2];
  a.k_sb = k.stride[0], a.k_ss = k.stride[1], a.k_sh = k.stride[2];
  a.v_sb = v.stride[0], a.v_ss = v.stride[1], a.v_sh = v.stride[2];
  a.o_sb = out.stride[0], a.o_ss = out.stride[1], a.o_sh = out.stride[2];
  if (mask != nullptr) {
    a.mask = mask->data_as<const float>();
    a.m_sb = mask->stride[0], a.m_si = mask->stride[1], a.m_sj = mask->stride[2];
  }
  // The one-pass kernel where the K/V-resident one's grid alone fills the SMs (X-VLA and SigLIP
  // at batch >= 4, DaViT windows), or where forced; where the resident grid leaves SMs idle
  // (X-VLA and SigLIP at batch 1, BART) the resident kernel splits its keys and was the faster
  // one inside the graphs (X-VLA batch 1: policy 11.52 against 11.77 ms, docs/PERFORMANCE.md).
  const bool resident = !force_fallback_ && AttentionResidentSupported(a);
  const int resident_splits =
      resident ? AttentionResidentSplits(a, num_sms_, forced_attention_resident_splits_) : 0;
  const bool rows_wanted = forced_attention_rows_ > 0 ||
                           (forced_attention_rows_ == 0 && (!resident || AttentionResidentBlocks(a) > num_sms_));
  const int rows_warps = !force_fallback_ && rows_wanted && AttentionRowsSupported(a)
                             ? AttentionRowsWarps(a, num_sms_, forced_attention_rows_)
                             : 0;
  if (rows_warps > 0) {
    LaunchAttentionRows(a, rows_warps, stream_);
    ++stats_.attention_mma;  // a tensor-core path too
    ++stats_.attention_rows;
  } else if (resident) {
    const int splits = resident_splits;
    LaunchAttentionResident(a, splits, stream_);
    ++stats_.attention_mma;  // a tensor-core path too
    ++stats_.attention_resident;
    if (splits > 1) ++stats_.attention_resident_split;
  } else if (!force_fallback_ && AttentionFlashSupported(a)) {
    // Partials live in scratch_ (one op at a time on the stream); a smaller scratch only
    // lowers the split count.
    const int splits = AttentionFlashSplits(a, num_sms_, scratch_bytes_, forced_attention_splits_);
    bool cluster_merge = false;
    if (splits > 1 && splits <= attention_flash_device_.cluster_splits) {
      switch (forced_attention_merge_) {
        // Wherever it fits: in the model it beat the merge kernel even where the isolated op
        // bench said otherwise (docs/PERFORMANCE.md: pi0 batch 4, 5 splits, 140 blocks).
        case AttentionMerge::kAuto:
        case AttentionMerge::kCluster: cluster_merge = true; break;
        case AttentionMerge::kKernel: cluster_merge = false; break;
      }
    }
    const AttentionFlashPath path = LaunchAttentionFlash(a, splits, scratch_, stream_, attention_flash_device_,
                                                         !force_attention_mask_ldg_, cluster_merge);
    ++stats_.attention_mma;
    ++stats_.attention_flash;
    if (splits > 1) ++stats_.attention_flash_split;
    if (path.smem_mask) ++stats_.attention_flash_smem_mask;
    if (path.cluster_merge) ++stats_.attention_flash_cluster_merge;
  } else if (!force_fallback_ && AttentionMmaSupported(a)) {
    LaunchAttention(a, AttentionPath::kMma, stream_);
    ++stats_.attention_mma;
  } else {
    VLART_CHECK(AttentionSimtSmemBytes(a) <= attention_simt_smem_limit_,
                "Attention: the SIMT kernel keeps {} keys in shared memory, limit {} bytes", sk,
                attention_simt_smem_limit_);
    LaunchAttention(a, AttentionPath::kSimt, stream_);
    ++stats_.attention_simt;
  }
  AfterOp("Attention");
}

void CudaBackend::ChannelAttention(const Tensor& q, const Tensor& k, const Tensor& v, float scale,
                                   const Tensor& out) {
  BeginOp();
  CheckChannelAttentionArgs(Device::kCuda, q, k, v, scale, out);  // all [B, N, G, d]
  const int64_t batch = q.dim(0), groups = q.dim(2), d = q.dim(3);
  VLART_CHECK(d <= 64, "ChannelAttention: group dim at most 64, got {}", d);
  VLART_CHECK(batch <= 65535 && groups <= 65535, "ChannelAttention: sizes out of range: {}", q.ToString());
  VLART_CHECK(ChannelAttentionScratchBytes(batch, groups, d, 1) <= scratch_bytes_,
              "ChannelAttention: partial scores need {} bytes of scratch, have {}; raise "
              "CudaBackendOptions::scratch_bytes",
              ChannelAttentionScratchBytes(batch, groups, d, 1), scratch_bytes_);
  LaunchChannelAttention(ToArg(q), ToArg(k), ToArg(v), scale, ToArg(out), scratch_, scratch_bytes_,
                         stream_);
  AfterOp("ChannelAttention");
}

}  // namespace vlart::cuda
