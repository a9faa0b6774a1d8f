#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# device_session.sh: one GPU session's work in one command (the lent H100/H200 machine).
#
# Runs prebuilt binaries carried in .device/ (built on the dev machine by
# scripts/build_device_bundle.sh) so no device time goes to compiling: GPU parity tests,
# the X-VLA CUDA model tests, the full-size synthetic X-VLA bench (bf16/f32, batch
# sweep, graphs on/off), the pi0 / pi0.5 CUDA model tests and full-size synthetic pi0 /
# pi0.5 benches (`pi0`), the op micro-benchmark, and (with the carried wheels) the
# PyTorch peers. Every log lands under $OUT; a summary table is printed last.
#
#   STEPS="parity model pi0 bench ops peers" scripts/device_session.sh   # default: all
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/vlart-out}
mkdir -p "$OUT"
# The device tool returns at most 8 files: logs go to LOGS and come back as one tarball.
FINAL_OUT="$OUT"
OUT=$(mktemp -d /tmp/vlart-logs.XXXX)
STEPS=${STEPS:-"parity model pi0 bench profile ops peers"}
BIN=.device/bin
export LD_LIBRARY_PATH="$PWD/.device/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export VLART_SOURCE_DIR="$PWD"
SUMMARY="$OUT/summary.md"
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

note "## device session $(date -u +%Y-%m-%dT%H:%MZ) commit $(cat .device/COMMIT 2>/dev/null || echo unknown)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
"$BIN/vlart" version | tee -a "$SUMMARY"
ldd "$BIN/vlart" | grep "not found" && note "MISSING LIBRARIES (see above)"

has() { [[ " $STEPS " == *" $1 "* ]]; }

if has parity; then
  VLART_REQUIRE_GPU=1 timeout 900 "$BIN/ops_cuda_parity_test" --gtest_output=xml:"$OUT/parity.xml" \
      > "$OUT/parity.log" 2>&1
  note "parity: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/parity.log" | tr '\n' ' ')"
  grep -E '^\[  FAILED  \]' "$OUT/parity.log" | head -40 | tee -a "$SUMMARY"
fi

if has model; then
  timeout 600 "$BIN/models_xvla_cuda_test" > "$OUT/model.log" 2>&1
  note "xvla cuda model: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/model.log" | tr '\n' ' ')"
  grep -E "rel L2|FAILED|<==|max\|diff" "$OUT/model.log" | head -40 | tee -a "$SUMMARY"
fi

if has pi0; then
  # Tiny goldens on CUDA (f32 golden rule, bf16 budget, graph replay): ~10-20 s.
  timeout 600 "$BIN/models_pi0_cuda_test" > "$OUT/pi0_model.log" 2>&1
  note "pi0 cuda model: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/pi0_model.log" | tr '\n' ' ')"
  grep -E "rel L2|FAILED|<==|max\|diff|not exact" "$OUT/pi0_model.log" | head -60 | tee -a "$SUMMARY"
  # Full-size synthetic pi0 / pi0.5 (3.5B parameters, bf16 files of ~7 GB, written on all cores).
  for arch in pi0 pi05; do
    DIR=/tmp/$arch-full
    if [ ! -f "$DIR/model.safetensors" ]; then
      ( time "$BIN/vlart" make-synthetic --arch $arch --size full --seed 0 --out "$DIR" ) \
          > "$OUT/make_${arch}_full.log" 2>&1
      note "make-synthetic $arch full: exit $? ; $(tail -4 "$OUT/make_${arch}_full.log" | tr '\n' ' ')"
    fi
    VLART_GEMM_VERBOSE=1 timeout 900 "$BIN/vlart" bench --model "$DIR" --device cuda --precision bf16 \
        --batch 1,4 --warmup 5 --iters ${PI0_ITERS:-30} > "$OUT/bench_${arch}_bf16.md" 2> "$OUT/bench_${arch}_bf16.err"
    note "bench $arch bf16 (graphs): exit $?"; cat "$OUT/bench_${arch}_bf16.md" >> "$SUMMARY"
    grep -E "^bench:|vlart bench:" "$OUT/bench_${arch}_bf16.err" >> "$SUMMARY"
  done
fi

FULL=/tmp/xvla-full
if has bench || has peers || has profile; then
  if [ ! -f "$FULL/model.safetensors" ]; then
    ( time "$BIN/vlart" make-synthetic --arch xvla --size full --seed 0 --out "$FULL" ) > "$OUT/make_full.log" 2>&1
    note "make-synthetic full: $(tail -3 "$OUT/make_full.log" | tr '\n' ' ')"
  fi
fi

if has bench; then
  VLART_GEMM_VERBOSE=1 timeout 900 "$BIN/vlart" bench --model "$FULL" --device cuda --precision bf16 --batch 1,4 \
      --warmup 10 --iters ${ITERS:-50} > "$OUT/bench_bf16.md" 2> "$OUT/bench_bf16.err"
  note "bench bf16 (graphs): exit $?"; cat "$OUT/bench_bf16.md" >> "$SUMMARY"
  timeout 600 "$BIN/vlart" bench --model "$FULL" --device cuda --precision bf16 --batch 1 \
      --warmup 3 --iters 20 --no-graphs > "$OUT/bench_bf16_eager.md" 2> "$OUT/bench_bf16_eager.err"
  note "bench bf16 eager: exit $?"; grep -E "e2e|policy|vision" "$OUT/bench_bf16_eager.md" >> "$SUMMARY"
  timeout 600 "$BIN/vlart" bench --model "$FULL" --device cuda --precision f32 --batch 1 \
      --warmup 3 --iters 10 > "$OUT/bench_f32.md" 2> "$OUT/bench_f32.err"
  note "bench f32: exit $?"; grep -E "e2e|policy|vision" "$OUT/bench_f32.md" >> "$SUMMARY"
fi

if has profile; then
  timeout 600 "$BIN/vlart" bench --model "$FULL" --device cuda --precision bf16 --batch 1 \
      --warmup 3 --iters 5 --profile-ops > "$OUT/profile.md" 2> "$OUT/profile.err"
  note "op profile bf16 batch 1: exit $?"; grep -A40 "op profile" "$OUT/profile.err" >> "$SUMMARY"
fi

if has ops; then
  timeout 300 "$BIN/cuda_ops_bench" > "$OUT/ops_bench.log" 2>&1
  note "ops bench: exit $?"; tail -40 "$OUT/ops_bench.log" >> "$SUMMARY"
fi

if has peers && [ -d .whl ] && [ -f bench/peers/xvla_peers.py ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl > "$OUT/pip.log" 2>&1 && export PYTHONPATH=/tmp/site
  PYTHONUNBUFFERED=1 timeout 900 python3 bench/peers/xvla_peers.py --checkpoint "$FULL" \
      --vlart "$BIN/vlart" --out "$OUT/peers" > "$OUT/peers.log" 2>&1
  note "peers: exit $?"; tail -30 "$OUT/peers.log" >> "$SUMMARY"
fi

cp "$SUMMARY" "$FINAL_OUT/summary.md"
tar -czf "$FINAL_OUT/logs.tar.gz" -C "$OUT" .
echo; echo "==================== SUMMARY ===================="; cat "$SUMMARY"
