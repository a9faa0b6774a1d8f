#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# run_on_device.sh: one GPU-machine session for the CUDA backend: the parity suite, then the op
# micro-benchmark (bf16 eager, bf16 graph replay, f32 eager), logs and CSVs under $OUT.
#
# Build here first (nvcc 13.0, sm_90a), then run on the device machine with the binaries carried:
#   cmake -S . -B build-cuda -G Ninja -DVLART_CUDA=ON -DVLART_CUDA_ARCHS=90a
#   cmake --build build-cuda --target ops_cuda_parity_test cuda_ops_bench
#   (device) bench/ops/run_on_device.sh            # carry: build-cuda/tests/ops/ops_cuda_parity_test,
#                                                   #        build-cuda/bench/ops/cuda_ops_bench
# Environment: BUILD_DIR (default build-cuda), OUT (default ./out), SANITIZE=1 adds a
# compute-sanitizer memcheck + racecheck pass over the awkward-size cases (slow),
# GTEST_FILTER narrows the parity run.
set -uo pipefail
BUILD_DIR=${BUILD_DIR:-build-cuda}
OUT=${OUT:-./out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
TEST=$BUILD_DIR/tests/ops/ops_cuda_parity_test
BENCH=$BUILD_DIR/bench/ops/cuda_ops_bench
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv > "$OUT/gpu.txt" 2>&1

status=0
echo "== parity suite"
VLART_REQUIRE_GPU=1 "$TEST" --gtest_filter="${GTEST_FILTER:-*}" --gtest_output=xml:"$OUT/parity.xml" \
  > "$OUT/parity.log" 2>&1 || status=1
grep -E "^\[  (PASSED|FAILED|SKIPPED) |tests ran|FAILED TEST" "$OUT/parity.log" | tail -40

if [[ "${SANITIZE:-0}" == "1" ]]; then
  SAN=/usr/local/cuda/bin/compute-sanitizer
  FILTER='*Awkward*:*Paths*:*Graph*:*Copy*:*Elementwise*:*Norm*:*Rope*'
  for tool in memcheck racecheck; do
    echo "== compute-sanitizer $tool"
    "$SAN" --tool "$tool" --error-exitcode 9 "$TEST" --gtest_filter="$FILTER" > "$OUT/sanitize_$tool.log" 2>&1 || status=1
    tail -3 "$OUT/sanitize_$tool.log"
  done
fi

echo "== benchmark"
"$BENCH" --mode bf16 --csv "$OUT/bench_bf16_eager.csv" > "$OUT/bench_bf16_eager.md" 2>&1 || status=1
"$BENCH" --mode bf16 --graph --csv "$OUT/bench_bf16_graph.csv" > "$OUT/bench_bf16_graph.md" 2>&1 || status=1
"$BENCH" --mode f32 --iters 50 --csv "$OUT/bench_f32_eager.csv" > "$OUT/bench_f32_eager.md" 2>&1 || status=1
cat "$OUT/bench_bf16_graph.md"
exit $status
