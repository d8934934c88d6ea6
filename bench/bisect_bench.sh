#!/usr/bin/env bash
# Bisection to the culprit, end to end: a throw-away PostgreSQL, a
# coordinator and one agent on loopback, and for each slowdown in SIZES
# (per cent) a repository of COMMITS commits whose commit SLOW_AT makes the
# timed step that much slower. `yardstick bisect` runs between SLOW_AT-1
# and SLOW_AT+7 (the change point a pipeline run at every 8th commit
# gives) and over the whole history (the first commit to the last). Prints,
# per case, the commit named, the steps, the runs and the wall time.
#
# WORK sleep (the default): the step sleeps 0.2 s; its time is the
# machine's timer plus a process start, so the figures are bisection's own
# cost. WORK spin: the step is the tests' CPU-bound command
# (yardstick-test-spin, 400,000,000 iterations, some 0.15 s), whose time
# carries this machine's CPU noise, so the runs a revision needs show
# (docs/change-points.md, Bisection).
#
#   bench/bisect_bench.sh [BUILD_DIR] [COMMITS] [SLOW_AT] [SIZES] [WORK]
#   bench/bisect_bench.sh build 64 41 "25 10 5"
#   bench/bisect_bench.sh build 64 41 "25 10" spin
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
commits=${2:-64}
slow_at=${3:-41}
sizes=${4:-25 10 5}
kind=${5:-sleep}
spin=$build/tests/integration/yardstick-test-spin
cli=$build/coordinator/cli/yardstick
work=$(mktemp -d)
chmod 755 "$work"  # PostgreSQL runs as its own user
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$root/tests/support/pg.sh" stop "$work/pg" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

base_dsn=$("$root/tests/support/pg.sh" start "$work/pg")
psql "$base_dsn" -qc "CREATE DATABASE bisect_bench" >/dev/null
dsn=${base_dsn/dbname=postgres/dbname=bisect_bench}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clients="tcp://127.0.0.1:$(port)"
agents="tcp://127.0.0.1:$(port)"
"$build/coordinator/yardstick-coordinator" --db "$dsn" --clients "$clients" --agents "$agents" \
  --ready-file "$work/ready" --insecure >"$work/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/ready" ] && break; sleep 0.1; done
"$build/agent/yardstick-agent" --coordinator "$agents" --name bench-1 --machine bench-1 \
  --home "$work/agent" --insecure --no-host-lock >"$work/agent.log" 2>&1 &
pids+=($!)
export YARDSTICK_COORDINATOR=$clients YARDSTICK_INSECURE=1 XDG_CACHE_HOME=$work/cache
for _ in $(seq 100); do
  "$cli" agents --json 2>/dev/null | grep -q '"connected": true' && break
  sleep 0.2
done

echo "| work | slowdown | range | commits | named | steps | runs a revision | runs | wall time (s) |"
echo "|---|---|---|---|---|---|---|---|---|"
for pct in $sizes; do
  repo=$work/repo-$pct
  mkdir -p "$repo"
  git -C "$repo" init -q
  git -C "$repo" config user.email b@e
  git -C "$repo" config user.name b
  if [ "$kind" = spin ]; then
    base=400000000
    slow=$(python3 -c "print(round($base * (1 + $pct / 100)))")
    run="$spin \$(cat s)"
  else
    base=0.2000
    slow=$(python3 -c "print(f'{0.2 * (1 + $pct / 100):.4f}')")
    run="sleep \$(cat s)"
  fi
  ids=()
  for i in $(seq 0 $((commits - 1))); do
    if [ "$i" -ge "$slow_at" ]; then echo "$slow" >"$repo/s"; else echo "$base" >"$repo/s"; fi
    echo "$i" >"$repo/commit"
    git -C "$repo" add -A
    git -C "$repo" commit -qm "commit $i"
    ids+=("$(git -C "$repo" rev-parse HEAD)")
  done
  printf 'pipeline: slow%s\ncheckout: { repo: %s }\njobs:\n  build:\n    steps:\n      - name: compile\n        run: %s\n' \
    "$pct" "$repo" "$run" >"$work/p$pct.yml"
  "$cli" submit --wait "$work/p$pct.yml" --revision "${ids[0]}" >/dev/null 2>&1
  for range in "$((slow_at - 1)):$((slow_at + 7))" "0:$((commits - 1))"; do
    good=${range%:*}
    bad=${range#*:}
    start=$(date +%s.%N)
    "$cli" bisect "slow$pct" build --step compile --good "${ids[$good]}" --bad "${ids[$bad]}" \
      --machine bench-1 --json >"$work/out.json" 2>"$work/err" || true
    end=$(date +%s.%N)
    python3 - "$work/out.json" "$pct" "$good" "$bad" "${ids[$slow_at]}" "$start" "$end" "$kind" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
pct, good, bad, culprit, start, end, kind = sys.argv[2:]
# A commit named, right or wrong; else the outcome (could not decide).
named = "commit " + str(j.get("subject", "").split()[-1]) if j.get("commit") else j["outcome"]
ok = " (wrong)" if j.get("commit") and j["commit"] != culprit else ""
print(f"| {kind} | {pct} % | {good}..{bad} | {j['commits']} | {named}{ok} | {j.get('steps', 0)} | "
      f"{j.get('runs_per_revision', '')} | {j['runs']} | {float(end) - float(start):.1f} |")
PY
  done
done
