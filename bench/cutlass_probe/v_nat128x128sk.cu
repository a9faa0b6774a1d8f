// SPDX-License-Identifier: Apache-2.0
// nat128x128sk.cu: one probe GEMM configuration (see probe_gemm.cuh).
#include "probe_gemm.cuh"
PROBE_REGISTER(nat128x128sk, false, 128, 128, cutlass::gemm::KernelTmaWarpSpecializedCooperative, cutlass::epilogue::TmaWarpSpecializedCooperative, cutlass::gemm::StreamKScheduler)
