// SPDX-License-Identifier: Apache-2.0
// sw128x64sk.cu: one probe GEMM configuration (see probe_gemm.cuh).
#include "probe_gemm.cuh"
PROBE_REGISTER(sw128x64sk, true, 128, 64, cutlass::gemm::KernelTmaWarpSpecializedCooperative, cutlass::epilogue::TmaWarpSpecializedCooperative, cutlass::gemm::StreamKScheduler)
