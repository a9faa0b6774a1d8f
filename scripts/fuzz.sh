#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# fuzz.sh: build the libFuzzer targets (fuzz/) with clang + ASan + UBSan in their own
# build folder and run each for a bounded time, seeded with the committed test files.
#
#   scripts/fuzz.sh            # 60 s per fuzzer
#   scripts/fuzz.sh 600        # 10 min per fuzzer
#   VLART_FUZZ_BUILD_DIR=out-fuzz VLART_FUZZ_JOBS=1 scripts/fuzz.sh 30
#
# Exit status is non-zero when a build fails or any fuzzer finds a crash, leak,
# sanitizer report or broken invariant; the reproducer is left under
# $VLART_FUZZ_BUILD_DIR/artifacts/ (rerun: build-fuzz/fuzz/<fuzzer> <artifact>).
# The growing corpus is kept in $VLART_FUZZ_BUILD_DIR/corpus/<fuzzer>/ between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${1:-60}
BUILD_DIR=${VLART_FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${VLART_JOBS:-$(nproc)}
FUZZERS=(safetensors_fuzz shard_index_fuzz json_config_fuzz)

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVLART_CUDA=OFF \
  -DVLART_BUILD_TESTS=OFF -DVLART_BUILD_FUZZERS=ON \
  -DCMAKE_C_FLAGS="$SAN" -DCMAKE_CXX_FLAGS="$SAN" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${FUZZERS[@]}"

# Seeds: the committed files each parser reads (copied, so the corpus can grow freely).
seeds() {
  case "$1" in
    safetensors_fuzz) find tests/io/corrupt tests/io/data/sharded -name '*.safetensors'
                      echo tests/io/data/python_written.safetensors ;;
    shard_index_fuzz) find tests/io -name 'model.safetensors.index.json' ;;
    json_config_fuzz) find tests/io -name '*.json' ;;
  esac
}

rm -rf "$BUILD_DIR/artifacts" "$BUILD_DIR/seeds"
mkdir -p "$BUILD_DIR/artifacts"
failed=()
for f in "${FUZZERS[@]}"; do
  corpus="$BUILD_DIR/corpus/$f"
  seed_dir="$BUILD_DIR/seeds/$f"
  mkdir -p "$corpus" "$seed_dir"
  i=0
  while IFS= read -r s; do
    cp "$s" "$seed_dir/seed_$i"
    i=$((i + 1))
  done < <(seeds "$f" | sort)
  echo "fuzz.sh: $f for ${SECONDS_EACH}s ($i seeds)"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
       "$BUILD_DIR/fuzz/$f" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
       -dict=fuzz/json.dict -print_final_stats=1 \
       -artifact_prefix="$BUILD_DIR/artifacts/$f-" "$corpus" "$seed_dir" \
       >"$BUILD_DIR/$f.log" 2>&1; then
    failed+=("$f")
    echo "fuzz.sh: $f FAILED; last lines of $BUILD_DIR/$f.log:" >&2
    tail -40 "$BUILD_DIR/$f.log" >&2
  else
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$BUILD_DIR/$f.log" | sed "s/^/fuzz.sh: $f: /" || true
  fi
done
if ((${#failed[@]})); then
  echo "fuzz.sh: failures in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#FUZZERS[@]} fuzzers ran ${SECONDS_EACH}s each without findings"
