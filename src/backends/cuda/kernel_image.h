// SPDX-License-Identifier: Apache-2.0
//
// kernel_image.h: what this build's kernels were compiled for, as the current GPU runs them.
//
// A binary carries one kernel image per architecture in VLART_CUDA_ARCHS (CMake syntax: "80"
// is sm_80 code plus compute_80 PTX, "90a" sm_90a code only). The driver runs the image made
// for the device, or JIT-compiles the newest PTX not newer than the device, or has nothing
// to run ("no kernel image"). So the device's compute capability does not say which
// instructions our kernels hold: an sm_89 build JIT-compiled on an H100 has no
// griddepcontrol, no clusters and no distributed shared memory, although the H100 has them.
// Every Hopper-only path (programmatic dependent launch, cluster merges, the skinny and wgmma
// GEMMs) is therefore gated on the image, not the device: KernelImageArch() >= 900.
//
// The probe is one launch of a one-thread kernel per device, cached (thread-safe). The
// backend runs it first thing in CudaBackend::Create, before any stream capture, and turns
// "no image" into a clear error (which archs the build has, what the GPU needs).
//
// It also answers the other per-GPU fact the kernels' set-up depends on: how much dynamic
// shared memory one block may opt into (227 KB on the H100, 163 KB on A100 / Orin, 99 KB on
// RTX 30 / 40 / 50 and L40). Kernels needing more are not offered there (their fallbacks run).
//
// This header is plain C++ (cuda_runtime_api.h only): .cc and .cu files both include it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace vlart::cuda {

struct KernelImage {
  int arch = 0;                 // __CUDA_ARCH__ of the image the device runs (e.g. 800, 900)
  bool sm90a_features = false;  // compiled as sm_90a (wgmma, setmaxnreg: __CUDA_ARCH_FEAT_SM90_ALL)
};

// Probes device `device` (the current device is left unchanged) once and caches the answer.
// Returns the launch's error when the build has no image for it (cudaErrorNoKernelImageForDevice
// or cudaErrorInvalidDeviceFunction), *image left {0, false}.
cudaError_t QueryKernelImage(int device, KernelImage* image);

// __CUDA_ARCH__ of the current device's image (probed on first use), 0 when there is none.
int KernelImageArch();

// True when the current device's image can use griddepcontrol, thread-block clusters and
// distributed shared memory: the device is sm_90+ and so is the code it runs.
bool KernelImageHasHopperFeatures();

// Dynamic shared memory one block may opt into on the current device
// (cudaDevAttrMaxSharedMemoryPerBlockOptin). VLART_CUDA_SMEM_OPTIN=N lowers it (never raises
// it): on the H100, N = 101376 runs the paths of a 99 KB GPU (RTX 30 / 40 / 50, L40).
size_t SharedMemoryOptinBytes();

}  // namespace vlart::cuda
