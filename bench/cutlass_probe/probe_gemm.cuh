// SPDX-License-Identifier: Apache-2.0
//
// probe_gemm.cuh: one CUTLASS 3 (sm90, TMA warp-specialized) bf16 GEMM configuration for the
// probe in probe_main.cu: D[m, n] = X[m, k] · W[n, k]ᵀ + bias[n], f32 accumulation, one rounding.
//
// kSwap = true computes Dᵀ = W · Xᵀ: the weights fill wgmma's 64-row M side and the tokens take
// the flexible N side (multiple of 8: 262 tokens are 2 x 144), D is then written column-major
// in CUTLASS terms, which is vlart's row-major [tokens, features]. Bias is per row of Dᵀ there.
// This is a measuring tool (bench/), not an engine kernel: it answers whether these kernels,
// launched with programmatic dependent launch inside a CUDA graph, beat cuBLASLt on a chain of
// a model's layer GEMMs with weights streamed from HBM.
#pragma once

#include <cuda_runtime.h>

#include <cute/tensor.hpp>
#include <cutlass/cutlass.h>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/operations.hpp>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>

#include "probe_registry.h"

namespace probe {

using Elt = cutlass::bfloat16_t;

template <bool kSwap, int kTileM, int kTileN, class Schedule, class EpiSchedule, class Scheduler,
          int kClusterM = 1>
struct CutlassGemm {
  using TileShape = cute::Shape<cute::Int<kTileM>, cute::Int<kTileN>, cute::_64>;
  using ClusterShape = cute::Shape<cute::Int<kClusterM>, cute::_1, cute::_1>;
  using LayoutA = cutlass::layout::RowMajor;     // K-major A
  using LayoutB = cutlass::layout::ColumnMajor;  // K-major B
  using LayoutD = std::conditional_t<kSwap, cutlass::layout::ColumnMajor, cutlass::layout::RowMajor>;
  using Fusion = std::conditional_t<kSwap, cutlass::epilogue::fusion::LinCombPerRowBias<Elt, float, Elt, Elt>,
                                    cutlass::epilogue::fusion::LinCombPerColBias<Elt, float, Elt, Elt>>;
  using Epi = typename cutlass::epilogue::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
      cutlass::epilogue::collective::EpilogueTileAuto, float, float, Elt, LayoutD, 8, Elt, LayoutD, 8,
      EpiSchedule, Fusion>::CollectiveOp;
  using Main = typename cutlass::gemm::collective::CollectiveBuilder<
      cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, Elt, LayoutA, 8, Elt, LayoutB, 8, float, TileShape,
      ClusterShape,
      cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epi::SharedStorage))>,
      Schedule>::CollectiveOp;
  using Kernel = cutlass::gemm::kernel::GemmUniversal<cute::Shape<int, int, int, int>, Main, Epi, Scheduler>;
  using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;

  static typename Gemm::Arguments Args(const Problem& p) {
    // CUTLASS problem (M', N', K): swapped, M' = features (p.n), N' = tokens (p.m).
    const int mm = kSwap ? p.n : p.m;
    const int nn = kSwap ? p.m : p.n;
    const Elt* a = static_cast<const Elt*>(kSwap ? p.w : p.x);
    const Elt* b = static_cast<const Elt*>(kSwap ? p.x : p.w);
    typename Main::StrideA da{static_cast<int64_t>(p.k), cute::_1{}, int64_t(0)};
    typename Main::StrideB db{static_cast<int64_t>(p.k), cute::_1{}, int64_t(0)};
    typename Epi::StrideD dd{};
    if constexpr (kSwap) {
      dd = typename Epi::StrideD{cute::_1{}, static_cast<int64_t>(p.n), int64_t(0)};
    } else {
      dd = typename Epi::StrideD{static_cast<int64_t>(p.n), cute::_1{}, int64_t(0)};
    }
    typename Gemm::Arguments args{cutlass::gemm::GemmUniversalMode::kGemm,
                                  {mm, nn, p.k, 1},
                                  {a, da, b, db},
                                  {{}, static_cast<Elt*>(p.d), dd, static_cast<Elt*>(p.d), dd}};
    args.epilogue.thread.alpha = 1.0f;
    args.epilogue.thread.beta = 0.0f;
    args.epilogue.thread.bias_ptr = static_cast<const Elt*>(p.bias);
    args.hw_info.device_id = 0;
    args.hw_info.sm_count = p.sm_count;
    if constexpr (std::is_same_v<Scheduler, cutlass::gemm::StreamKScheduler>) {
      args.scheduler.splits = p.splits;
    }
    return args;
  }

  static size_t Workspace(const Problem& p) { return Gemm::get_workspace_size(Args(p)); }

  // 0 on success, else a CUTLASS status code + 1.
  static int Run(const Problem& p, cudaStream_t stream, bool pdl) {
    auto args = Args(p);
    Gemm gemm;
    cutlass::Status s = gemm.can_implement(args);
    if (s != cutlass::Status::kSuccess) return 100 + static_cast<int>(s);
    s = gemm.initialize(args, p.workspace, stream);
    if (s != cutlass::Status::kSuccess) return 200 + static_cast<int>(s);
    s = gemm.run(stream, nullptr, pdl);
    return s == cutlass::Status::kSuccess ? 0 : 300 + static_cast<int>(s);
  }
};

}  // namespace probe

#define PROBE_REGISTER(NAME, ...)                                                                 \
  namespace {                                                                                     \
  using NAME##_t = probe::CutlassGemm<__VA_ARGS__>;                                               \
  const bool NAME##_registered = probe::Register(                                                 \
      probe::Variant{#NAME, &NAME##_t::Run, &NAME##_t::Workspace});                               \
  }
