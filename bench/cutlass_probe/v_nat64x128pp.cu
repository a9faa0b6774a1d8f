// SPDX-License-Identifier: Apache-2.0
// nat64x128pp.cu: one probe GEMM configuration (see probe_gemm.cuh).
#include "probe_gemm.cuh"
PROBE_REGISTER(nat64x128pp, false, 64, 128, cutlass::gemm::KernelTmaWarpSpecializedPingpong, cutlass::epilogue::TmaWarpSpecialized, cutlass::gemm::PersistentScheduler)
