#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# build.sh: builds the CUTLASS GEMM probe (sm_90a) into OUT_DIR (default build-probe/).
# CUTLASS 4.2 headers come from the nvidia-cutlass PyPI wheel (headers only, never committed):
# CUTLASS_INCLUDE points at its source/include, else the wheel is downloaded and unpacked into
# OUT_DIR/cutlass. JOBS translation units compile in parallel (each takes ~1.5 min).
set -euo pipefail
cd "$(dirname "$0")"
OUT_DIR=${OUT_DIR:-$PWD/../../build-probe}
JOBS=${JOBS:-2}
mkdir -p "$OUT_DIR"
if [ -z "${CUTLASS_INCLUDE:-}" ]; then
  CUTLASS_INCLUDE="$OUT_DIR/cutlass/cutlass_library/source/include"
  if [ ! -f "$CUTLASS_INCLUDE/cutlass/cutlass.h" ]; then
    python3 -m pip download --no-deps nvidia-cutlass==4.2.0.0 -d "$OUT_DIR/wheel" >/dev/null
    python3 -c "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith('cutlass_library/source/include/')]" \
      "$(ls "$OUT_DIR"/wheel/nvidia_cutlass-*.whl | head -1)" "$OUT_DIR/cutlass"
  fi
fi
# CUTLASS 4.2's stream-K scheduler binds a const member to a non-const reference in
# is_last_tile (rejected by nvcc 13 once PDL instantiates it): patch the unpacked copy to pass
# a local copy, which is what its own comment asks for.
python3 - "$CUTLASS_INCLUDE/cutlass/gemm/kernel/sm90_tile_scheduler_stream_k.hpp" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "    return not get_current_work_for_linear_idx(\n        unit_iter_start_,"
new = ("    uint32_t unit_iter_start_copy = unit_iter_start_;\n"
       "    return not get_current_work_for_linear_idx(\n        unit_iter_start_copy,")
if old in s:
    open(p, 'w').write(s.replace(old, new))
PY
# -DNDEBUG: without it device asserts are calls, and ptxas serialises the wgmma pipeline (C7510).
FLAGS=(-std=c++17 -O3 -DNDEBUG -arch=sm_90a --expt-relaxed-constexpr -DCUTE_SM90_EXTENDED_MMA_SHAPES_ENABLED
       -DCUTLASS_ENABLE_GDC_FOR_SM90 -I"$CUTLASS_INCLUDE" -I.)
objs=()
for src in v_*.cu probe_main.cu; do
  obj="$OUT_DIR/${src%.cu}.o"
  objs+=("$obj")
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ probe_gemm.cuh -nt "$obj" ]; then
    echo "nvcc $src"
    nvcc "${FLAGS[@]}" -c "$src" -o "$obj" &
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  fi
done
wait
nvcc -arch=sm_90a -o "$OUT_DIR/cutlass_gemm_probe" "${objs[@]}" -lcublasLt -lcublas
echo "built $OUT_DIR/cutlass_gemm_probe"
