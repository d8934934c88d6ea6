#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -DYARDSTICK_FUZZ=ON: ASan + UBSan) in a
# build folder of their own and runs each for a bounded time, starting from
# a copy of its committed seed corpus (tests/fuzz/corpus/TARGET/, which does
# not grow). A crash, a leak, a timeout or running out of memory fails the
# run; the input that caused it is kept in $build/artifacts/ and the command
# that reproduces it is printed.
#
#   tests/fuzz/run.sh                          every target, 30 s each
#   FUZZ_SECONDS=300 tests/fuzz/run.sh pipeline  one target, longer
#   FUZZ_BUILD_DIR=out tests/fuzz/run.sh       build somewhere else
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=$(nproc 2>/dev/null || echo 2)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do
    f=${f##*/fuzz_}
    targets+=("${f%.cpp}")
  done
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== fuzz targets: build ($build)"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DYARDSTICK_FUZZ=ON "${launcher[@]}" >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]/#/fuzz_}"

artifacts=$build/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/yardstick-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  cp -r "$root/tests/fuzz/corpus/$t" "$work/$t"
  echo "== fuzz_$t: ${seconds} s from $(ls "$work/$t" | wc -l) seeds"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=1 \
    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$work/$t" >"$work/$t.log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$work/$t.log" | tail -1 || tail -3 "$work/$t.log"
  else
    cp "$work/$t.log" "$artifacts/$t.log"
    tail -40 "$work/$t.log"
    echo "fuzz_$t FAILED; its output: $artifacts/$t.log"
    for a in "$artifacts/$t"-*; do
      [ -e "$a" ] && echo "  kept input: $a  (reproduce: $bin $a)"
    done
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "tests/fuzz/run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "== fuzzing: ${#targets[@]} targets, ${seconds} s each, nothing found"
