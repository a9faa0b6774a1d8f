// SPDX-License-Identifier: Apache-2.0
// sw64x144pp.cu: one probe GEMM configuration (see probe_gemm.cuh).
#include "probe_gemm.cuh"
PROBE_REGISTER(sw64x144pp, true, 64, 144, cutlass::gemm::KernelTmaWarpSpecializedPingpong, cutlass::epilogue::TmaWarpSpecialized, cutlass::gemm::PersistentScheduler)
