#!/usr/bin/env bash
# yardstick in one command, on one machine: installs what is missing, builds,
# starts a throw-away PostgreSQL, a coordinator and two agents with different
# labels (CURVE keys for each, made with `yardstick keygen`; jobs signed by a
# submitter key the agents trust), runs deploy/examples/quickstart.yml (a real build of this repo's
# common/ library, checked out from this repository, on both agents), prints
# the per-machine step times from PostgreSQL, and stops everything.
#
#   deploy/quickstart.sh          run and clean up
#   deploy/quickstart.sh --keep   leave it running and print how to connect
#   deploy/quickstart.sh --stop   stop what a --keep run left running
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=${YARDSTICK_QUICKSTART_DIR:-$root/.yardstick/quickstart}
build=${BUILD_DIR:-$root/build}
keep=0
case "${1:-}" in
  --keep) keep=1 ;;
  --stop)
    # The first SIGTERM drains an agent; a second one stops its jobs.
    for f in "$state"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    sleep 1
    for f in "$state"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    "$root/tests/support/pg.sh" stop "$state/pg" || true
    echo "stopped"; exit 0 ;;
  "") ;;
  *) echo "usage: deploy/quickstart.sh [--keep|--stop]" >&2; exit 2 ;;
esac

"$root/deploy/install-deps.sh"

echo "== building"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
ninja -C "$build" yardstick yardstick-coordinator yardstick-agent
bin_cli=$build/coordinator/cli/yardstick
bin_coord=$build/coordinator/yardstick-coordinator
bin_agent=$build/agent/yardstick-agent

"$0" --stop >/dev/null 2>&1 || true
rm -rf "$state"
mkdir -p "$state"

stop_all() {
  # The first SIGTERM drains an agent; a second one stops its jobs.
  for f in "$state"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 1
  for f in "$state"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  sleep 0.5
  "$root/tests/support/pg.sh" stop "$state/pg" || true
}
[ $keep = 1 ] || trap stop_all EXIT

echo "== starting a throw-away PostgreSQL in $state/pg"
base_dsn=$("$root/tests/support/pg.sh" start "$state/pg")
psql "$base_dsn" -qc "CREATE DATABASE yardstick" >/dev/null
dsn=${base_dsn/dbname=postgres/dbname=yardstick}

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clients="tcp://127.0.0.1:$(port)"
agents="tcp://127.0.0.1:$(port)"

echo "== making keys in $state/keys (yardstick keygen)"
keys=$state/keys
mkdir -p "$keys"
pub() { sed -n 's/^public-key = "\(.*\)"$/\1/p' "$1"; }
for name in coordinator laptop buildbox you; do "$bin_cli" keygen --out "$keys/$name" >/dev/null; done
"$bin_cli" keygen --signing --out "$keys/you" >/dev/null
# Who may connect: each agent's key bound to its name; your key may submit.
printf '%s laptop\n%s buildbox\n' "$(pub "$keys/laptop.pub")" "$(pub "$keys/buildbox.pub")" \
  >"$keys/authorized-agents"
printf '%s you submit\n' "$(pub "$keys/you.pub")" >"$keys/authorized-clients"
# Whose signed jobs the agents run.
cp "$keys/you.sign.pub" "$keys/trusted-submitters"

echo "== starting the coordinator (clients $clients, agents $agents)"
"$bin_coord" --db "$dsn" --clients "$clients" --agents "$agents" --ready-file "$state/ready" \
  --secret-key "$keys/coordinator.key" --authorized-agents "$keys/authorized-agents" \
  --authorized-clients "$keys/authorized-clients" \
  >"$state/coordinator.log" 2>&1 &
echo $! >"$state/coordinator.pid"
for _ in $(seq 100); do [ -f "$state/ready" ] && break; sleep 0.1; done
[ -f "$state/ready" ] || { cat "$state/coordinator.log"; exit 1; }

echo "== starting two agents: laptop (1 slot) and buildbox (2 slots)"
for spec in laptop:1 buildbox:2; do
  name=${spec%:*}
  "$bin_agent" --coordinator "$agents" --name "$name" --machine "quickstart-$name" \
    --labels "role=$name" --slots "${spec#*:}" --home "$state/agent-$name" \
    --key "$keys/$name.key" --coordinator-key "$keys/coordinator.pub" \
    --trusted-submitters "$keys/trusted-submitters" >"$state/agent-$name.log" 2>&1 &
  echo $! >"$state/agent-$name.pid"
done
export YARDSTICK_COORDINATOR=$clients YARDSTICK_KEY=$keys/you.key
export YARDSTICK_COORDINATOR_KEY=$keys/coordinator.pub YARDSTICK_SIGNING_KEY=$keys/you.sign
for _ in $(seq 150); do
  [ "$("$bin_cli" agents --json | grep -c '"connected": true')" = 2 ] && break
  sleep 0.2
done
"$bin_cli" agents

echo "== submitting deploy/examples/quickstart.yml"
sed "s|REPO|$root|" "$root/deploy/examples/quickstart.yml" >"$state/quickstart.yml"
revision=$(git -C "$root" rev-parse HEAD)
set +e
"$bin_cli" submit "$state/quickstart.yml" --revision "$revision" --wait
rc=$?
set -e

echo
echo "== per-machine step times, from PostgreSQL (sql/reports/step_times_by_machine.sql)"
for step in checkout configure build; do
  echo "-- step: $step"
  psql "$dsn" -q -v pipeline_name=quickstart -v step="$step" -f "$root/sql/reports/step_times_by_machine.sql"
done

if [ $keep = 1 ]; then
  cat <<EOT
== left running. The binaries are in $build (coordinator/, agent/, coordinator/cli/). To use it:
  export YARDSTICK_COORDINATOR=$clients YARDSTICK_KEY=$keys/you.key
  export YARDSTICK_COORDINATOR_KEY=$keys/coordinator.pub YARDSTICK_SIGNING_KEY=$keys/you.sign
  $bin_cli agents
  $bin_cli submit $state/quickstart.yml --wait   # the example, with REPO filled in
  psql "$dsn"
  dashboard: http://$(sed -n 's/^http=//p' "$state/ready")/
  agents connect to: $agents (keys: $keys; agents run only jobs signed with you.sign)
  logs: $state/*.log
  stop: deploy/quickstart.sh --stop
EOT
fi
exit $rc
