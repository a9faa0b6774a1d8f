// SPDX-License-Identifier: Apache-2.0
// sw128x144co.cu: one probe GEMM configuration (see probe_gemm.cuh).
#include "probe_gemm.cuh"
PROBE_REGISTER(sw128x144co, true, 128, 144, cutlass::gemm::KernelTmaWarpSpecializedCooperative, cutlass::epilogue::TmaWarpSpecializedCooperative, cutlass::gemm::PersistentScheduler)
