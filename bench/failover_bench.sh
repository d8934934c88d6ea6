#!/usr/bin/env bash
# Failover figures, from the integration tests that break the system that
# way (tests/integration/standby_test.cpp, fault_test.cpp), run ROUNDS times
# each; prints every figure's median, minimum and maximum.
#
#   YARDSTICK_TEST_DSN=... bench/failover_bench.sh [BUILD_DIR] [ROUNDS]
#
# - leader killed (SIGKILL): ms until the standby leads, and until the
#   pipeline's next job starts on an agent;
# - leader stopped (SIGSTOP): ms until the standby leads (a lease, 2 s here,
#   has to pass first);
# - PostgreSQL primary crashed, replica promoted: ms from the promotion until
#   `yardstick status` answers again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
rounds=${2:-5}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/tests/integration/integration_tests" --gtest_repeat="$rounds" \
  --gtest_filter='Standby.LeaderKilled*:Standby.AStoppedLeader*:Fault.PrimaryCrashed*' \
  >"$out.all" 2>/dev/null || true
grep -E '^(leader killed|leader stopped|service back)' "$out.all" >"$out" || true
failed=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$out.all" || true)
rm -f "$out.all"
echo "rounds: $rounds; failed test runs: $failed"
python3 - "$out" <<'PY'
import re, statistics, sys
figures = {}
for line in open(sys.argv[1]):
    for name, rx in [("leader killed -> standby leading (ms)", r"leader killed: standby leading after (\d+)"),
                     ("leader killed -> next job started (ms)", r"the next job started after (\d+)"),
                     ("leader stopped -> standby leading (ms)", r"leader stopped: standby leading after (\d+)"),
                     ("replica promoted -> status answers (ms)", r"service back (\d+) ms")]:
        m = re.search(rx, line)
        if m:
            figures.setdefault(name, []).append(int(m.group(1)))
print(f"| figure | rounds | median | min | max |\n|---|---|---|---|---|")
for name, v in figures.items():
    print(f"| {name} | {len(v)} | {statistics.median(v):.0f} | {min(v)} | {max(v)} |")
PY
