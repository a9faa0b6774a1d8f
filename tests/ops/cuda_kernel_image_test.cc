// SPDX-License-Identifier: Apache-2.0
//
// cuda_kernel_image_test.cc: the kernel-image probe (backends/cuda/kernel_image.h) against the
// device and the build. The image the device runs must be one of the architectures this
// build compiled (VLART_CUDA_ARCHS) and no newer than the device, and every Hopper-only path
// (programmatic dependent launch, the skinny and wgmma GEMMs) must be on only when both the
// device and that image are sm_90+. On the H100 with the default 90a build: arch 900 with the
// sm_90a features. A build for "80" run on the H100 (the driver JIT-compiles its compute_80
// PTX) gets arch 800 and must switch every Hopper-only path off.

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "backends/cuda/kernel_image.h"
#include "backends/cuda/kernels.h"
#include "cuda_parity_util.h"

namespace vlart::cuda {
bool PdlEnabled();  // pdl.cuh (a CUDA header: declared here for this host-only test)
}  // namespace vlart::cuda

namespace vlart::testing {
namespace {

// VLART_CUDA_ARCHS_TEXT ("80,90a") as __CUDA_ARCH__ values (800, 900).
std::vector<int> BuiltArchs() {
  std::vector<int> out;
  std::stringstream list(VLART_CUDA_ARCHS_STRING);
  std::string item;
  while (std::getline(list, item, ',')) {
    const std::string digits = item.substr(0, item.find_first_not_of("0123456789"));
    if (!digits.empty()) out.push_back(std::stoi(digits) * 10);
  }
  return out;
}

TEST(CudaKernelImage, IsABuiltArchitectureNoNewerThanTheDevice) {
  VLART_REQUIRE_REAL_CUDA();
  int device = 0, major = 0, minor = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), cudaSuccess);
  cuda::KernelImage image;
  ASSERT_EQ(cuda::QueryKernelImage(device, &image), cudaSuccess);
  EXPECT_LE(image.arch, (major * 10 + minor) * 10) << "the device runs code newer than itself";
  const std::vector<int> built = BuiltArchs();
  ASSERT_FALSE(built.empty()) << "VLART_CUDA_ARCHS_STRING " << VLART_CUDA_ARCHS_STRING;
  bool listed = false;
  for (int a : built) listed = listed || a == image.arch;
  EXPECT_TRUE(listed) << "image arch " << image.arch << " is not among the built " << VLART_CUDA_ARCHS_STRING;
  if (image.sm90a_features) {
    EXPECT_EQ(image.arch, 900);
  }
  // Cached: the same answer, and the current-device helpers agree with it.
  cuda::KernelImage again;
  ASSERT_EQ(cuda::QueryKernelImage(device, &again), cudaSuccess);
  EXPECT_EQ(again.arch, image.arch);
  EXPECT_EQ(again.sm90a_features, image.sm90a_features);
  EXPECT_EQ(cuda::KernelImageArch(), image.arch);
  std::printf("device sm_%d%d runs this build's code for arch %d%s (built: %s)\n", major, minor,
              image.arch, image.sm90a_features ? " with sm_90a features" : "", VLART_CUDA_ARCHS_STRING);
}

TEST(CudaKernelImage, HopperOnlyPathsNeedTheDeviceAndTheCode) {
  VLART_REQUIRE_REAL_CUDA();
  (void)CudaFor(ParityMode::kBF16);  // a backend exists: every kernel family is initialised
  int device = 0, major = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), cudaSuccess);
  cuda::KernelImage image;
  ASSERT_EQ(cuda::QueryKernelImage(device, &image), cudaSuccess);
  const bool hopper = major >= 9 && image.arch >= 900;
  EXPECT_EQ(cuda::KernelImageHasHopperFeatures(), hopper);
  const char* pdl_env = std::getenv("VLART_PDL");
  const bool pdl_off = pdl_env != nullptr && std::strcmp(pdl_env, "0") == 0;
  EXPECT_EQ(cuda::PdlEnabled(), hopper && !pdl_off);
  if (!hopper) {
    EXPECT_FALSE(cuda::GemmSkinnyOffered());
    EXPECT_TRUE(cuda::GemmSkinnyCandidates(10, 1024, 4096, 132).empty());
  }
  if (cuda::GemmWgmmaAvailable()) {
    EXPECT_TRUE(image.sm90a_features);
  }
  if (!image.sm90a_features) {
    EXPECT_TRUE(cuda::GemmWgmmaCandidates(64, 1024, 4096, 132).empty());
  }
}

TEST(CudaKernelImage, BadDeviceOrdinalIsAnErrorNotACrash) {
  VLART_REQUIRE_REAL_CUDA();
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  cuda::KernelImage image;
  EXPECT_EQ(cuda::QueryKernelImage(-1, &image), cudaErrorInvalidDevice);
  EXPECT_NE(cuda::QueryKernelImage(count, &image), cudaSuccess);  // one past the last device
  EXPECT_EQ(image.arch, 0);
  int device = -1;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_GE(device, 0);  // the current device survived the failed probe
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // and no error was left behind
}

}  // namespace
}  // namespace vlart::testing
