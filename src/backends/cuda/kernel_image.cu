// SPDX-License-Identifier: Apache-2.0
//
// kernel_image.cu: the kernel-image probe of kernel_image.h. Compiled with the same
// architecture list as every other kernel of the backend, so the image the driver picks for
// this one-thread kernel is the one it picks for all of them.

#include "backends/cuda/kernel_image.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#include "backends/cuda/cuda_check.h"

namespace vlart::cuda {
namespace {

// out[0] = __CUDA_ARCH__ of the running image, out[1] = 1 when compiled as sm_90a.
__global__ void KernelImageProbeKernel(int* out) {
#if defined(__CUDA_ARCH__)
  out[0] = __CUDA_ARCH__;
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  out[1] = 1;
#else
  out[1] = 0;
#endif
#endif
}

// Per device ordinal: 0 = not probed, 1 = no image, else 2 + 2 * arch + sm90a.
constexpr int kMaxDevices = 64;
std::array<std::atomic<int>, kMaxDevices> g_images{};
std::array<cudaError_t, kMaxDevices> g_errors{};  // written under g_probe_mutex before g_images
std::mutex g_probe_mutex;

KernelImage Decode(int code) {
  KernelImage image;
  if (code >= 2) {
    image.arch = (code - 2) / 2;
    image.sm90a_features = ((code - 2) % 2) == 1;
  }
  return image;
}

// Runs the probe on `device` (made current for the call, then restored).
cudaError_t Probe(int device, KernelImage* image) {
  int previous = 0;
  cudaError_t setup = cudaGetDevice(&previous);
  if (setup == cudaSuccess) setup = cudaSetDevice(device);
  if (setup != cudaSuccess) {
    (void)cudaGetLastError();  // returned, not left behind for the caller's next error check
    return setup;
  }
  int* flags = nullptr;
  int host[2] = {0, 0};
  cudaError_t err = cudaMalloc(&flags, sizeof(host));
  if (err == cudaSuccess) {
    KernelImageProbeKernel<<<1, 1>>>(flags);
    err = cudaGetLastError();  // no image for this device: cudaErrorNoKernelImageForDevice
  }
  if (err == cudaSuccess) err = cudaMemcpy(host, flags, sizeof(host), cudaMemcpyDeviceToHost);
  if (flags != nullptr) {
    const cudaError_t freed = cudaFree(flags);
    if (err == cudaSuccess) err = freed;
  }
  (void)cudaGetLastError();  // a refused launch is an answer (returned), not a sticky error
  (void)cudaSetDevice(previous);
  if (err == cudaSuccess) {
    image->arch = host[0];
    image->sm90a_features = host[1] == 1;
  }
  return err;
}

}  // namespace

cudaError_t QueryKernelImage(int device, KernelImage* image) {
  *image = KernelImage{};
  if (device < 0 || device >= kMaxDevices) return cudaErrorInvalidDevice;
  int code = g_images[device].load(std::memory_order_acquire);
  if (code == 0) {
    std::lock_guard<std::mutex> lock(g_probe_mutex);
    code = g_images[device].load(std::memory_order_acquire);
    if (code == 0) {
      KernelImage probed;
      const cudaError_t err = Probe(device, &probed);
      g_errors[device] = err;
      code = err == cudaSuccess ? 2 + 2 * probed.arch + (probed.sm90a_features ? 1 : 0) : 1;
      g_images[device].store(code, std::memory_order_release);
    }
  }
  if (code == 1) return g_errors[device];
  *image = Decode(code);
  return cudaSuccess;
}

int KernelImageArch() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return 0;
  KernelImage image;
  return QueryKernelImage(device, &image) == cudaSuccess ? image.arch : 0;
}

size_t SharedMemoryOptinBytes() {
  int device = 0, optin = 0;
  VLART_CUDA_CHECK(cudaGetDevice(&device));
  VLART_CUDA_CHECK(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  size_t bytes = static_cast<size_t>(optin);
  if (const char* env = std::getenv("VLART_CUDA_SMEM_OPTIN"); env != nullptr) {
    const long long lowered = std::atoll(env);
    if (lowered > 0 && static_cast<size_t>(lowered) < bytes) bytes = static_cast<size_t>(lowered);
  }
  return bytes;
}

bool KernelImageHasHopperFeatures() {
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return false;
  }
  return major >= 9 && KernelImageArch() >= 900;
}

}  // namespace vlart::cuda
