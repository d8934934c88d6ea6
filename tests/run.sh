#!/usr/bin/env bash
# yardstick's test command: installs the Debian 12 packages it needs (when
# missing), builds, starts a throw-away PostgreSQL, and runs every test —
# unit and integration, the runnable blocks of README.md and docs/ and the
# examples of deploy/examples/ among them (tests/docs/run_docs.py) — then
# the Debian packages' test (tests/package/run.sh),
# then the unit tests again under ASan + UBSan, then
# the fuzz targets for a bounded time each (tests/fuzz/run.sh).
#
#   tests/run.sh                 everything
#   BUILD_DIR=out tests/run.sh   build somewhere else
#   YARDSTICK_TEST_DSN=... tests/run.sh   use an existing server (a superuser DSN)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
asan_build=${ASAN_BUILD_DIR:-$root/build-asan}
jobs=$(nproc 2>/dev/null || echo 2)

"$root/deploy/install-deps.sh"

echo "== formatting (clang-format, .clang-format)"
unformatted=$(cd "$root" && git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run 2>&1 | grep -c "warning:" || true)
if [ "$unformatted" != 0 ]; then
  (cd "$root" && git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run 2>&1 | grep "warning:" | head -20)
  echo "tests/run.sh: $unformatted lines are not clang-formatted (run: git ls-files '*.cpp' '*.hpp' | xargs clang-format -i)" >&2
  exit 1
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# One cache for every build folder of this tree (build/, build-package/):
# paths hashed relative to the tree, so the packages' build reuses the
# objects of the main one.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

echo "== build ($build)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
ninja -C "$build" -j "$jobs"

pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then
    "$root/tests/support/pg.sh" stop "$pg_dir" || true
    rm -rf "$pg_dir"
  fi
}
trap cleanup EXIT
if [ -z "${YARDSTICK_TEST_DSN:-}" ]; then
  pg_dir=$(mktemp -d /tmp/yardstick-test-pg.XXXXXX)
  YARDSTICK_TEST_DSN=$("$root/tests/support/pg.sh" start "$pg_dir")
  export YARDSTICK_TEST_DSN
  echo "== throw-away PostgreSQL: $YARDSTICK_TEST_DSN"
fi

echo "== tests"
(cd "$build" && ctest -j "$jobs" --output-on-failure --timeout 300)

# The Debian packages, installed and run as a user gets them (build-package/).
"$root/tests/package/run.sh"

echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer ($asan_build)"
cmake -S "$root" -B "$asan_build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DYARDSTICK_SANITIZE=ON \
  -DYARDSTICK_UNIT_ONLY=ON "${launcher[@]}" >/dev/null
ninja -C "$asan_build" -j "$jobs" unit_tests web_unit_tests
(cd "$asan_build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest -j "$jobs" --output-on-failure -L unit)

# The parsers of untrusted input under libFuzzer: FUZZ_SECONDS (default 30) per target.
"$root/tests/fuzz/run.sh"
