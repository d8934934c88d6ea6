#!/usr/bin/env bash
# What the leader's fence (migration 0014, yardstick_fence) costs a turn:
# pgbench, one client, ROUNDS rounds of SECONDS each, four transactions
# side by side in one run: an idle turn (SELECT 1) and a writing turn (an
# INSERT), each without and with the fence. Prints each one's median
# latency over the rounds.
#
#   bench/fence_bench.sh "host=127.0.0.1 port=5432 user=yardstick dbname=postgres" [ROUNDS] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dsn=${1:?usage: fence_bench.sh DSN [ROUNDS] [SECONDS]}
rounds=${2:-5}
seconds=${3:-5}
pgbench=$(ls -d /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -n 1)
db=yardstick_fence_bench
work=$(mktemp -d)
trap 'rm -rf "$work"; psql "$dsn" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
psql "$dsn" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
bdsn="$dsn dbname=$db"  # the last dbname wins
psql "$bdsn" -q -f "$root/sql/migrations/0014_leader.sql"
psql "$bdsn" -qc "CREATE TABLE t (id bigserial PRIMARY KEY, v int)"
printf 'BEGIN;\nSELECT 1;\nCOMMIT;\n' >"$work/idle.sql"
printf 'BEGIN;\nSELECT yardstick_fence(0, false);\nSELECT 1;\nCOMMIT;\n' >"$work/idle-fenced.sql"
printf 'BEGIN;\nINSERT INTO t (v) VALUES (1);\nCOMMIT;\n' >"$work/write.sql"
printf 'BEGIN;\nSELECT yardstick_fence(0, false);\nINSERT INTO t (v) VALUES (1);\nCOMMIT;\n' >"$work/write-fenced.sql"
for r in $(seq "$rounds"); do
  for f in idle idle-fenced write write-fenced; do
    ms=$("$pgbench" -n -T "$seconds" -c 1 -f "$work/$f.sql" "$bdsn" 2>/dev/null | sed -n 's/latency average = \([0-9.]*\) ms/\1/p')
    echo "$f $ms" >>"$work/out"
  done
done
python3 - "$work/out" <<'PY'
import statistics, sys
v = {}
for line in open(sys.argv[1]):
    k, ms = line.split()
    v.setdefault(k, []).append(float(ms))
print("| transaction | rounds | median latency (ms) | fence adds (ms) |\n|---|---|---|---|")
for k in ["idle", "idle-fenced", "write", "write-fenced"]:
    base = k.replace("-fenced", "")
    add = statistics.median(v[k]) - statistics.median(v[base]) if k != base else None
    print(f"| {k} | {len(v[k])} | {statistics.median(v[k]):.3f} | {'' if add is None else f'{add:+.3f}'} |")
PY
