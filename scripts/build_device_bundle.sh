#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# build_device_bundle.sh: builds the CUDA binaries here (nvcc, sm_90a) and stages them in
# .device/ (git-ignored) with the shared libraries the GPU machine's image lacks, so a
# device session spends its time running, not compiling. Then, from the device tool:
#   run(command="scripts/device_session.sh", carry=[".device-bundle"])   (peer steps: below)
# PORTABLE_ARCH=80 also stages a build for that architecture (below; ~+10 min here) in
# .device-bundle/portable.tar.xz: run(command="STEPS=portable scripts/device_session.sh",
# carry=[".device-bundle/portable.tar.xz"]).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${VLART_CUDA_BUILD_DIR:-build-cuda}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVLART_CUDA=ON \
      -DVLART_CUDA_ARCHS="${VLART_CUDA_ARCHS:-90a}" > /dev/null
# Each binary embeds the CUDA kernels (~8 MB) and a device call carries at most 64 MiB with
# the working tree, so the bundle travels xz-compressed (~15 MB for all five binaries) as
# .device-bundle/device.tar.xz; device_session.sh unpacks it into .device/.
# BUNDLE_BINS picks a subset (e.g. "vlart ops_cuda_parity_test") when the kernels have grown
# and all five no longer fit one call's 64 MiB beside the tree; the steps that need a binary
# left out fail in that call.
TARGETS=${BUNDLE_BINS:-"vlart ops_cuda_parity_test models_xvla_cuda_test models_pi0_cuda_test cuda_ops_bench"}
cmake --build "$BUILD" -j "$(nproc)" --target $TARGETS vlart_kernel_trace
rm -rf .device && mkdir -p .device/bin .device/lib
for target in $TARGETS; do
  case $target in
    vlart) cp "$BUILD/vlart" .device/bin/ ;;
    ops_cuda_parity_test) cp "$BUILD/tests/ops/ops_cuda_parity_test" .device/bin/ ;;
    models_*) cp "$BUILD/tests/models/$target" .device/bin/ ;;
    cuda_ops_bench) cp "$BUILD/bench/ops/cuda_ops_bench" .device/bin/ ;;
    *) echo "build_device_bundle.sh: unknown BUNDLE_BINS entry $target" >&2; exit 2 ;;
  esac
done
strip .device/bin/*
# The kernel tracer (bench/trace, a CUPTI injection library: step `trace`) and the CUPTI it
# was built against, which the device image does not promise.
cp "$BUILD/bench/trace/libvlart_kernel_trace.so" .device/lib/
cp -L "$(dirname "$(readlink -f "$(command -v nvcc)")")/../lib/libcupti.so.13" .device/lib/ 2>/dev/null ||
  cp -L /usr/local/cuda/lib64/libcupti.so.13 .device/lib/
# Debian-only libraries (the device image is Ubuntu 24.04: it has OpenBLAS, libgomp,
# libpng and libstdc++ of its own, but not Debian's libjpeg62-turbo soname). Its own
# libsentencepiece.so.0 is a different release under the same soname (no ABI promise):
# Debian's 0.1.97 headers against it crashed inside SentencePieceProcessor::Normalize, so
# the library we compiled against travels too.
for lib in libjpeg.so.62 libsentencepiece.so.0; do cp -L "/lib/x86_64-linux-gnu/$lib" .device/lib/; done
# PORTABLE_ARCH=80: the tests and vlart built for that architecture only, in .device/bin-portable/
# (step `portable`): on the H100 the driver JIT-compiles their PTX, so every non-Hopper path
# runs there (docs/ARCHITECTURE.md, "Building for GPUs").
if [ -n "${PORTABLE_ARCH:-}" ]; then
  PBUILD="$BUILD-sm$PORTABLE_ARCH"
  cmake -S . -B "$PBUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVLART_CUDA=ON \
        -DVLART_CUDA_ARCHS="$PORTABLE_ARCH" > /dev/null
  cmake --build "$PBUILD" -j "$(nproc)" --target vlart ops_cuda_parity_test models_xvla_cuda_test models_pi0_cuda_test
  mkdir -p .device/bin-portable
  cp "$PBUILD/vlart" "$PBUILD/tests/ops/ops_cuda_parity_test" "$PBUILD/tests/models/models_xvla_cuda_test" \
     "$PBUILD/tests/models/models_pi0_cuda_test" .device/bin-portable/
  strip .device/bin-portable/*
fi
git rev-parse --short=12 HEAD > .device/COMMIT
rm -rf .device-bundle && mkdir -p .device-bundle
tar -cf - --exclude=.device/bin-portable .device | xz -6 -T"$(nproc)" > .device-bundle/device.tar.xz
du -sh .device .device-bundle/device.tar.xz
# The portable build travels alone (~12 MB; with device.tar.xz and the tree it would pass the
# 64 MiB a call carries): carry=[".device-bundle/portable.tar.xz"] for a STEPS=portable call.
if [ -d .device/bin-portable ]; then
  tar -cf - .device/bin-portable .device/lib .device/COMMIT | xz -6 -T"$(nproc)" > .device-bundle/portable.tar.xz
  du -sh .device-bundle/portable.tar.xz
fi
# The peer steps need only `vlart` and the Debian libraries: with the full bundle (~38 MB), the
# wheels and the tree a call can pass 64 MiB. .device-peers/device.tar.xz (~8 MB, beside the
# bundle so a full-bundle call does not carry it) is that subset, which device_session.sh
# unpacks when it is what came: carry=[".device-peers", ".whl"] for a STEPS=peers / peers_pi0 call.
rm -rf .device-peers && mkdir -p .device-peers
tar -cf - .device/bin/vlart .device/lib/libjpeg.so.62 .device/lib/libsentencepiece.so.0 .device/COMMIT |
  xz -6 -T"$(nproc)" > .device-peers/device.tar.xz
du -sh .device-peers/device.tar.xz
