#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# setup.sh: install every build dependency (Debian packages) and build vlart into build/.
#
#   scripts/setup.sh            # deps + Release build (CUDA backend too when nvcc exists)
#   VLART_CUDA=OFF scripts/setup.sh
#   VLART_BUILD_DIR=out scripts/setup.sh
#
# Safe to re-run: packages already present are skipped, the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${VLART_BUILD_DIR:-build}
CUDA_MODE=${VLART_CUDA:-AUTO}
CUDA_ARCHS=${VLART_CUDA_ARCHS:-90a}

# Debian packages. Why each is needed: docs/ARCHITECTURE.md "Build and dependencies".
# Names that exist on Debian 12 and Ubuntu 24.04 alike: libjpeg-dev is libjpeg-turbo on
# both (Debian: libjpeg62-turbo-dev), libclang-rt-dev is the sanitizer/libFuzzer runtime
# of the default clang (a versioned name would break when the default clang moves on).
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  nlohmann-json3-dev libfmt-dev libcli11-dev
  libsentencepiece-dev libopenblas-dev
  libpng-dev libjpeg-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

JOBS=${VLART_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DVLART_CUDA="$CUDA_MODE" -DVLART_CUDA_ARCHS="$CUDA_ARCHS" \
  -DVLART_BUILD_FUZZERS=ON
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: built $BUILD_DIR/vlart"
