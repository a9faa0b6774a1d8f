#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# test.sh: set up (scripts/setup.sh), then run every CPU test and a bounded fuzz run.
#
# GPU tests (label `gpu`) skip cleanly here; they run on a CUDA machine through
# scripts/device_session.sh. Exit status is non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${VLART_BUILD_DIR:-build}

scripts/setup.sh
ctest --test-dir "$BUILD_DIR" -L cpu --output-on-failure -j "$(nproc)" --timeout 1800
if [ -x scripts/fuzz.sh ]; then
  scripts/fuzz.sh "${VLART_FUZZ_SECONDS:-60}"
fi
