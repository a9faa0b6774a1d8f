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
#   STEPS="parity model pi0 bench profile ops sweep peers" scripts/device_session.sh   # default: all
#   STEPS=peers_pi0 PI0_PEER_ARCHS=pi0 scripts/device_session.sh   # opt-in: pi0 / pi0.5 PyTorch peers
#     (PI0_PEER_MODES=compile-bf16 PI0_PEER_TIMEOUT=590: only the torch.compile peer, one call)
#   STEPS=ab AB_ENV=VLART_L2_PREFETCH=0 scripts/device_session.sh   # A/B one switch, same call
#   STEPS=kprof scripts/device_session.sh   # per-kernel time of one graph replay (ncu), X-VLA / pi0 / pi0.5
#   STEPS=trace scripts/device_session.sh   # one forward's timeline in its graphs (CUPTI), X-VLA / pi0 / pi0.5
#   STEPS=portable scripts/device_session.sh   # the PORTABLE_ARCH build (JIT from its PTX): non-Hopper paths
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/vlart-out}
mkdir -p "$OUT"
# The device tool returns at most 8 files: logs go to LOGS and come back as one tarball.
FINAL_OUT="$OUT"
OUT=$(mktemp -d /tmp/vlart-logs.XXXX)
STEPS=${STEPS:-"parity model pi0 bench profile ops sweep peers"}
BIN=.device/bin
# The bundle arrives compressed (scripts/build_device_bundle.sh); python's tarfile needs no xz tool.
# portable.tar.xz (PORTABLE_ARCH builds, step portable) travels alone or beside it;
# .device-peers/device.tar.xz (vlart alone, for the peer steps under the 64 MiB carry limit) alone.
if [ -f .device-bundle/device.tar.xz ] || [ -f .device-bundle/portable.tar.xz ] ||
   [ -f .device-peers/device.tar.xz ]; then
  rm -rf .device
  for t in .device-peers/device.tar.xz .device-bundle/device.tar.xz .device-bundle/portable.tar.xz; do
    [ -f "$t" ] && python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall('.')" "$t"
  done
fi
# A portable-only call has no .device/bin: its own vlart makes the checkpoints and the version line.
[ -x "$BIN/vlart" ] || BIN=.device/bin-portable
export LD_LIBRARY_PATH="$PWD/.device/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export VLART_SOURCE_DIR="$PWD"
# Every process tunes afresh (the CLI's default tuning cache would carry one process's picks
# into the next and hide what an A/B changes); a step or AB_ENV may name a file.
export VLART_GEMM_TUNING_FILE=""
SUMMARY="$OUT/summary.md"
: > "$SUMMARY"
# The summary is copied to FINAL_OUT after every note: a call killed at its time limit
# still returns what was noted so far (the device tool returns $OUT's files either way).
note() { echo "$*" | tee -a "$SUMMARY"; cp "$SUMMARY" "$FINAL_OUT/summary.md" 2>/dev/null || true; }

note "## device session $(date -u +%Y-%m-%dT%H:%MZ) commit $(cat .device/COMMIT 2>/dev/null || echo unknown)"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
"$BIN/vlart" version | tee -a "$SUMMARY"
ldd "$BIN/vlart" | grep "not found" && note "MISSING LIBRARIES (see above)"

has() { [[ " $STEPS " == *" $1 "* ]]; }
# A full-size synthetic checkpoint at /tmp/<arch>-full (xvla, pi0, pi05), made when absent.
ensure_full_checkpoint() {
  local dir=$1 name
  name=$(basename "$dir")
  [ -f "$dir/model.safetensors" ] ||
    "$BIN/vlart" make-synthetic --arch "${name%-full}" --size full --seed 0 --out "$dir" > "$OUT/make_$name.log" 2>&1
}

if has parity; then
  VLART_REQUIRE_GPU=1 timeout 900 "$BIN/ops_cuda_parity_test" --gtest_filter="${PARITY_FILTER:-*}" --gtest_output=xml:"$OUT/parity.xml" \
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
  for arch in ${PI0_ARCHS:-pi0 pi05}; do
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

if has debug; then
  # A backtrace for a crashing binary: DEBUG_CMD is the command (default: the pi0 CUDA test).
  DEBUG_CMD=${DEBUG_CMD:-"$BIN/models_pi0_cuda_test --gtest_filter=Pi0CudaPolicy.*"}
  cc -shared -fPIC -O1 -o /tmp/segv_backtrace.so tools/segv_backtrace.c
  if command -v gdb > /dev/null; then
    timeout 300 gdb -q -batch -ex run -ex bt -ex "info registers rip" --args $DEBUG_CMD > "$OUT/debug.log" 2>&1
  else
    timeout 300 env LD_PRELOAD=/tmp/segv_backtrace.so $DEBUG_CMD > "$OUT/debug.log" 2>&1
  fi
  note "debug [$DEBUG_CMD]: exit $? (gdb: $(command -v gdb || echo none))"; tail -40 "$OUT/debug.log" >> "$SUMMARY"
  if [ -n "${DEBUG_CMD2:-}" ]; then
    timeout 300 env LD_PRELOAD=/tmp/segv_backtrace.so $DEBUG_CMD2 > "$OUT/debug2.log" 2>&1
    note "debug2 [$DEBUG_CMD2]: exit $?"; grep -E "^\[  |fatal|  #" "$OUT/debug2.log" | tail -40 >> "$SUMMARY"
  fi
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

if has ab; then
  # A/B of one environment switch on the same machine in the same call: every model in
  # AB_MODELS (default X-VLA, pi0, pi0.5 full size; made when absent) benched at batch
  # AB_BATCH with AB_ENV set (B) and without (A), A then B then A again; with AB_ENV_C set,
  # a third variant C (A B C A2) runs in the same call.
  for dir in ${AB_MODELS:-$FULL /tmp/pi0-full /tmp/pi05-full}; do
    name=$(basename "$dir")
    if [ ! -f "$dir/model.safetensors" ]; then
      "$BIN/vlart" make-synthetic --arch "${name%-full}" --size full --seed 0 --out "$dir" > "$OUT/make_$name.log" 2>&1
    fi
    variants="A B A2"; [ -n "${AB_ENV_C:-}" ] && variants="A B C A2"
    for variant in $variants; do
      envs=""; [ "$variant" = B ] && envs="${AB_ENV:-VLART_L2_PREFETCH=0}"
      [ "$variant" = C ] && envs="$AB_ENV_C"
      t0=$(date +%s.%N)
      env $envs timeout 600 "$BIN/vlart" bench --model "$dir" --device cuda --precision bf16 \
          --batch ${AB_BATCH:-1} --warmup 5 --iters ${AB_ITERS:-30} > "$OUT/ab_${name}_$variant.md" 2> "$OUT/ab_${name}_$variant.err"
      rc=$?
      note "ab $name $variant [${envs:-default}]: exit $rc, process $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s (load, tuning, warmup, timed calls)"
      grep -E "\| (vision|prefix|denoise|policy|encoder|upload|\*\*e2e\*\*) " "$OUT/ab_${name}_$variant.md" >> "$SUMMARY"
    done
  done
fi

if has portable; then
  # The build for one older architecture (PORTABLE_ARCH=80 scripts/build_device_bundle.sh):
  # the driver JIT-compiles its PTX for this GPU, so the kernel-image gating switches every
  # Hopper-only path off (no PDL, no cluster merges, no skinny / wgmma GEMMs) and the suites
  # below exercise the paths other GPUs run. The first launch of each kernel pays its JIT.
  PBIN=.device/bin-portable
  if [ ! -x "$PBIN/ops_cuda_parity_test" ]; then
    note "portable: no $PBIN (bundle built without PORTABLE_ARCH)"
  else
    note "portable: $("$PBIN/vlart" version | tr '\n' ' ')"
    VLART_REQUIRE_GPU=1 timeout 900 "$PBIN/ops_cuda_parity_test" --gtest_filter="${PORTABLE_FILTER:-*}" \
        > "$OUT/portable_parity.log" 2>&1
    note "portable parity: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/portable_parity.log" | tr '\n' ' ')"
    grep -E '^\[  FAILED  \]|runs this build' "$OUT/portable_parity.log" | head -40 | tee -a "$SUMMARY"
    timeout 600 "$PBIN/models_xvla_cuda_test" > "$OUT/portable_xvla_model.log" 2>&1
    note "portable xvla cuda model: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/portable_xvla_model.log" | tr '\n' ' ')"
    timeout 600 "$PBIN/models_pi0_cuda_test" > "$OUT/portable_pi0_model.log" 2>&1
    note "portable pi0 cuda model: exit $? ; $(grep -E '^\[  (PASSED|FAILED)  \]' "$OUT/portable_pi0_model.log" | tr '\n' ' ')"
    for dir in ${PORTABLE_MODELS:-$FULL}; do
      name=$(basename "$dir")
      ensure_full_checkpoint "$dir"
      timeout 600 "$PBIN/vlart" bench --model "$dir" --device cuda --precision bf16 --batch 1 --warmup 5 \
          --iters ${PORTABLE_ITERS:-20} > "$OUT/portable_bench_$name.md" 2> "$OUT/portable_bench_$name.err"
      note "portable bench $name bf16: exit $?"
      grep -E "\| (vision|prefix|denoise|policy|encoder|upload|\*\*e2e\*\*) " "$OUT/portable_bench_$name.md" >> "$SUMMARY"
    done
  fi
fi

if has profile; then
  # PROFILE_MODELS: model folders to profile (default the X-VLA one; /tmp/pi0-full and
  # /tmp/pi05-full exist once the pi0 step ran on this machine).
  for dir in ${PROFILE_MODELS:-$FULL}; do
    name=$(basename "$dir")
    timeout 600 "$BIN/vlart" bench --model "$dir" --device cuda --precision bf16 --batch 1 \
        --warmup 3 --iters 5 --profile-ops > "$OUT/profile_$name.md" 2> "$OUT/profile_$name.err"
    note "op profile $name bf16 batch 1: exit $?"; grep -A${PROFILE_LINES:-40} "op profile" "$OUT/profile_$name.err" >> "$SUMMARY"
  done
fi

if has kprof; then
  # Per-kernel time of one whole forward as the CUDA graph runs it: ncu sees only the replay
  # that VLART_CUDA_PROFILE_REPLAY picks (the 3rd: after the eager tuning call and the
  # recording), every kernel alone with caches flushed. KPROF_MODELS: checkpoint folders
  # (default X-VLA, pi0 and pi0.5 full size; made here when absent).
  for dir in ${KPROF_MODELS:-$FULL /tmp/pi0-full /tmp/pi05-full}; do
    name=$(basename "$dir")
    ensure_full_checkpoint "$dir"
    VLART_CUDA_PROFILE_REPLAY=3 timeout 400 ncu --clock-control none --cache-control all \
        --profile-from-start off --csv --page raw --print-units base \
        --metrics gpu__time_duration.sum,launch__grid_size,launch__block_size,dram__bytes_read.sum \
        "$BIN/vlart" bench --model "$dir" --device cuda --precision bf16 --batch ${KPROF_BATCH:-1} \
        --warmup 3 --iters 2 > "$OUT/kprof_$name.csv" 2> "$OUT/kprof_$name.err"
    note "kprof $name: exit $?"
    python3 tools/ncu_kernel_report.py "$OUT/kprof_$name.csv" --title "$name bf16 batch ${KPROF_BATCH:-1}" \
        > "$OUT/kprof_$name.md" 2>&1
    head -${KPROF_LINES:-45} "$OUT/kprof_$name.md" >> "$SUMMARY"
  done
fi

if has trace; then
  # One forward's GPU timeline as its CUDA graphs really run (PDL overlap and launch gaps
  # included): bench/trace's CUPTI injection library records every kernel's start and end,
  # tools/kernel_trace_report.py charges the forward's span to kernels. TRACE_MODELS:
  # checkpoint folders (default X-VLA, pi0, pi0.5 full size); TRACE_BATCH; TRACE_WINDOW
  # (START:COUNT kernels to list; default a stretch from the middle).
  # TRACE_ENV: also trace each model with these variables set (files *_env.*), same call.
  for dir in ${TRACE_MODELS:-$FULL /tmp/pi0-full /tmp/pi05-full}; do
    ensure_full_checkpoint "$dir"
    for variant in default ${TRACE_ENV:+env}; do
      name=$(basename "$dir"); envs=""
      [ "$variant" = env ] && name="${name}_env" && envs="$TRACE_ENV"
      env $envs CUDA_INJECTION64_PATH="$PWD/.device/lib/libvlart_kernel_trace.so" VLART_KERNEL_TRACE="$OUT/trace_$name.csv" \
          timeout 300 "$BIN/vlart" bench --model "$dir" --device cuda --precision bf16 --batch ${TRACE_BATCH:-1} \
          --warmup 3 --iters ${TRACE_ITERS:-10} > "$OUT/trace_$name.md" 2> "$OUT/trace_$name.err"
      note "trace $name [${envs:-default}]: exit $? ($(grep -o 'kernel_trace: .*' "$OUT/trace_$name.err" | head -1))"
      grep -E "\| (vision|prefix|denoise|policy|\*\*e2e\*\*) " "$OUT/trace_$name.md" >> "$SUMMARY"
      python3 tools/kernel_trace_report.py "$OUT/trace_$name.csv" --title "$name bf16 batch ${TRACE_BATCH:-1}" \
          ${TRACE_WINDOW:+--window "$TRACE_WINDOW"} > "$OUT/trace_report_$name.md" 2>&1
      head -${TRACE_LINES:-60} "$OUT/trace_report_$name.md" >> "$SUMMARY"
      xz -T4 "$OUT/trace_$name.csv" 2>/dev/null || true
    done
  done
fi

if has ops; then
  # OPS_GRAPH_ONLY=1: only the --graph run (launch gaps out of the numbers), at half the time.
  if [ -z "${OPS_GRAPH_ONLY:-}" ]; then
    timeout 300 "$BIN/cuda_ops_bench" ${OPS_ARGS:-} > "$OUT/ops_bench.log" 2>&1
    note "ops bench: exit $?"; tail -40 "$OUT/ops_bench.log" >> "$SUMMARY"
  fi
  timeout 300 "$BIN/cuda_ops_bench" --graph ${OPS_ARGS:-} > "$OUT/ops_bench_graph.log" 2>&1
  note "ops bench --graph: exit $?"; tail -40 "$OUT/ops_bench_graph.log" >> "$SUMMARY"
fi

if has sweep; then
  # SWEEP_FILTER: only the Linear shapes whose name contains it (e.g. "expert").
  timeout 300 "$BIN/cuda_ops_bench" --graph --gemm-sweep --iters 50 ${SWEEP_FILTER:+--filter "$SWEEP_FILTER"} \
      > "$OUT/gemm_sweep.log" 2>&1
  note "gemm sweep (graph): exit $?"
  # Best config per shape, for the summary (the full table stays in the log).
  python3 - "$OUT/gemm_sweep.log" <<'PY' | tee -a "$SUMMARY"
import re, sys
best = {}
for line in open(sys.argv[1]):
    m = re.match(r"\| (Linear .*?) \[(t-?\d+s\d+)\]\s*\| (\S+)\s*\|\s*([\d.]+)", line)
    if not m:
        continue
    shape, cfg, path, us = m.group(1).strip(), m.group(2), m.group(3), float(m.group(4))
    if shape not in best or us < best[shape][0]:
        best[shape] = (us, cfg, path)
for shape, (us, cfg, path) in best.items():
    print(f"best {shape}: {cfg} {path} {us:.2f} us")
PY
fi

if has probe; then
  # Leave-one-out timing of the wgmma GEMM's stages (VLART_WGMMA_PROBE, wrong results by design).
  for mode in 0 1 2 4 3 6; do
    VLART_WGMMA_PROBE=$mode timeout 120 "$BIN/cuda_ops_bench" --graph --gemm-sweep --iters 30 \
        --filter "${PROBE_FILTER:-X-VLA fc1}" > "$OUT/probe_$mode.log" 2>&1
    note "probe $mode: $(grep -E '^\| Linear' "$OUT/probe_$mode.log" | grep wgmma | awk -F'|' '{printf "%s=%s ", $2, $4}' | sed 's/ *Linear [^[]*\[/[/g; s/  */ /g')"
  done
fi

if has ncu; then
  # Nsight Compute on single kernels of the op bench: NCU_CASES is a ';'-separated list of
  # --filter substrings (sweep mode names configs as "[t<tile>s<splits>]"). NCU_BENCH_ARGS
  # replaces --gemm-sweep (e.g. "" for attention cases); NCU_KERNEL (a regex) picks the kernel.
  IFS=';' read -ra cases <<< "${NCU_CASES:-X-VLA fc1}"
  kernel_args=()
  [ -n "${NCU_KERNEL:-}" ] && kernel_args=(-k "regex:$NCU_KERNEL")
  i=0
  for c in "${cases[@]}"; do
    i=$((i + 1))
    timeout 240 ncu --clock-control none "${kernel_args[@]}" --launch-skip "${NCU_SKIP:-3}" --launch-count 1 \
        --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats \
        --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
        --metrics "${NCU_METRICS:-regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio,regex:sm__pipe_tensor_op_gmma.*}" \
        "$BIN/cuda_ops_bench" ${NCU_BENCH_ARGS---gemm-sweep} --iters 1 --filter "$c" > "$OUT/ncu_$i.log" 2>&1
    note "ncu [$c]: exit $?"
    grep -E "^  [A-Za-z].*(Gemm|Attention)|Duration|Throughput|Achieved Occupancy|Registers Per|Stall|L2 Hit|L1/TEX Hit|Issue Slots Busy|Executed Ipc A" \
        "$OUT/ncu_$i.log" | head -40 | tee -a "$SUMMARY"
  done
fi

if has peers && [ -d .whl ] && [ -f bench/peers/xvla_peers.py ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl > "$OUT/pip.log" 2>&1 && export PYTHONPATH=/tmp/site
  PYTHONUNBUFFERED=1 timeout 560 python3 bench/peers/xvla_peers.py --model "$FULL" \
      --vlart "$BIN/vlart" --out "$OUT/peers" --batch ${PEER_BATCH:-1} --iters 30 --warmup 5 > "$OUT/peers.log" 2>&1
  note "peers: exit $?"; tail -30 "$OUT/peers.log" >> "$SUMMARY"
fi

if has peers_pi0 && [ -d .whl ] && [ -f bench/peers/pi0_peers.py ]; then
  # LeRobot's PI0Pytorch / PI05Pytorch vs vlart on the full synthetic checkpoints of the pi0 step
  # (created here when absent). One arch takes most of a 10-minute call (the bf16 compile is the
  # bulk): PI0_PEER_ARCHS=pi0, then PI0_PEER_ARCHS=pi05 on the same warm machine. pi0.5's compile
  # took 407-431 s at 72e1de2 and did not finish within ~430 s twice at ffa8f24: PI0_PEER_ARGS
  # passes more options, e.g. "--no-vlart-bench --vlart-precisions bf16" (~60 s less before the
  # peer starts; the ratio then needs a vlart bench of the same machine).
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl > "$OUT/pip_pi0.log" 2>&1 && export PYTHONPATH=/tmp/site
  for arch in ${PI0_PEER_ARCHS:-pi0 pi05}; do
    DIR=/tmp/$arch-full
    if [ ! -f "$DIR/model.safetensors" ]; then
      ( time "$BIN/vlart" make-synthetic --arch $arch --size full --seed 0 --out "$DIR" ) \
          > "$OUT/make_${arch}_full.log" 2>&1
      note "make-synthetic $arch full: exit $? ; $(tail -4 "$OUT/make_${arch}_full.log" | tr '\n' ' ')"
    fi
    PYTHONUNBUFFERED=1 timeout ${PI0_PEER_TIMEOUT:-540} python3 bench/peers/pi0_peers.py --model "$DIR" \
        --vlart "$BIN/vlart" --out "$OUT/peers_$arch" --batch ${PEER_BATCH:-1} --iters 30 --warmup 5 \
        ${PI0_PEER_MODES:+--modes "$PI0_PEER_MODES"} ${PI0_PEER_ARGS:-} \
        2>&1 | tee "$FINAL_OUT/peers_$arch.log" > "$OUT/peers_$arch.log"
    note "peers $arch: exit $?"; tail -30 "$OUT/peers_$arch.log" >> "$SUMMARY"
  done
fi

cp "$SUMMARY" "$FINAL_OUT/summary.md"
tar -czf "$FINAL_OUT/logs.tar.gz" -C "$OUT" .
echo; echo "==================== SUMMARY ===================="; cat "$SUMMARY"
