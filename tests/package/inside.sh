#!/usr/bin/env bash
# Run by tests/package/run.sh in a private mount namespace, where dpkg
# installs the packages for real: TMP/etc (a copy of /etc) is mounted over
# /etc, and /usr and /var get copy-on-write layers in a tmpfs (overlayfs), so
# that the packages' files, dpkg's database, the `yardstick` user, the keys
# and /var/lib/yardstick land there and nowhere else.
#
#   inside.sh TMP DEB_DIR DSN DEPLOY UPGRADE_DEB_DIR
# DEB_DIR: the three .deb; DSN: an empty PostgreSQL database; DEPLOY: the
# deploy/ folder (its CI templates are run too); UPGRADE_DEB_DIR: the three
# .deb of the same tree as a higher version, with one more migration
# (run.sh), installed over the first ones as an upgrade.
set -euo pipefail
tmp=$1 debs=$2 dsn=$3 deploy=$4 upgrade_debs=$5
bin=/usr/bin
fail() {
  echo "inside.sh: FAILED: $*" >&2
  exit 1
}

mount --bind "$tmp/etc" /etc
mkdir -p "$tmp/layers"
mount -t tmpfs tmpfs "$tmp/layers"
for d in usr var; do # /bin, /lib and /sbin are /usr's (merged /usr)
  mkdir "$tmp/layers/$d" "$tmp/layers/$d.work"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$tmp/layers/$d,workdir=$tmp/layers/$d.work" "/$d"
done

# The daemons run under runuser and strace; each is stopped by its own pid
# (the child of its strace), as systemd would.
stop_all() {
  local pid
  # The agent: SIGQUIT stops it now. The coordinator: SIGTERM.
  for pid in $(pgrep -P "$(cat "$tmp/trace/agent.pid" 2>/dev/null || echo 0)" || true); do
    kill "-${agent_signal:-QUIT}" "$pid" 2>/dev/null || true
  done
  for pid in $(pgrep -P "$(cat "$tmp/trace/coordinator.pid" 2>/dev/null || echo 0)" || true); do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap stop_all EXIT

echo "-- dpkg -i (first install)"
export DEBIAN_FRONTEND=noninteractive
dpkg -i "$debs"/yardstick_*.deb "$debs"/yardstick-coordinator_*.deb "$debs"/yardstick-agent_*.deb \
  >"$tmp/dpkg-1.out" 2>&1 || { cat "$tmp/dpkg-1.out"; fail "dpkg -i"; }
grep -v '^\(Selecting\|(Reading\|Preparing\|Unpacking\|Setting up\)' "$tmp/dpkg-1.out" | sed 's/^/   /'
grep -qi 'warning\|error' "$tmp/dpkg-1.out" && fail "dpkg -i said a warning or an error (above)"
[ "$(command -v yardstick)" = /usr/bin/yardstick ] || fail "yardstick is not /usr/bin/yardstick"
getent passwd yardstick | grep -q ':/var/lib/yardstick:' || fail "no yardstick user with home /var/lib/yardstick"
[ -d /var/lib/yardstick ] || fail "no /var/lib/yardstick"
for k in coordinator agent; do
  f=/etc/yardstick/keys/$k.key
  [ "$(stat -c '%U %a' "$f")" = "yardstick 600" ] || fail "$f: $(stat -c '%U %a' "$f"), not yardstick 600"
  [ -f /etc/yardstick/keys/$k.pub ] || fail "no $k.pub"
done
sums=$(sha256sum /etc/yardstick/keys/*)

echo "-- dpkg -i again (the same version, a reinstall): keys kept, a changed env file kept"
echo "# changed by the admin" >>/etc/yardstick/agent.env
dpkg -i "$debs"/yardstick-coordinator_*.deb "$debs"/yardstick-agent_*.deb >"$tmp/dpkg-2.out" 2>&1 ||
  { cat "$tmp/dpkg-2.out"; fail "dpkg -i (again)"; }
[ "$(sha256sum /etc/yardstick/keys/*)" = "$sums" ] || fail "a second install changed the keys"
grep -q "made" "$tmp/dpkg-2.out" && fail "a second install made keys: $(cat "$tmp/dpkg-2.out")"
grep -q "changed by the admin" /etc/yardstick/agent.env || fail "the upgrade rewrote agent.env"

# Admit the agent with the very line its postinst printed.
line=$(grep -A3 'authorized-agents' "$tmp/dpkg-1.out" | sed -n 's/^    \([^ ]* [^ ]*\)$/\1/p' | head -n 1)
[ -n "$line" ] || fail "the agent's postinst printed no authorized-agents line"
echo "$line" >>/etc/yardstick/authorized-agents
# A user allowed to submit, with a key of the installed CLI.
mkdir -p "$tmp/user"
yardstick keygen --out "$tmp/user/me" >/dev/null
echo "$(sed -n 's/^public-key = "\(.*\)"$/\1/p' "$tmp/user/me.pub") me submit" >>/etc/yardstick/authorized-clients

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clients="tcp://127.0.0.1:$(port)"
agents="tcp://127.0.0.1:$(port)"

echo "-- the installed coordinator and agent, as user yardstick, from the packaged env files"
# As the units run them: the env file's variables, then this test's
# database, endpoints and lock folder on top.
run_as_unit() { # ENV_FILE LOG PID_FILE COMMAND...: PID_FILE gets the pid COMMAND runs as
  local env_file=$1 log=$2 pid_file=$3
  shift 3
  runuser -u yardstick -- env -i PATH=/usr/bin:/bin HOME=/var/lib/yardstick LANG=C.UTF-8 \
    bash -c 'set -a; . "$0"; set +a; export YARDSTICK_DB="$1" YARDSTICK_CLIENTS_ENDPOINT="$2" \
      YARDSTICK_AGENTS_ENDPOINT="$3" YARDSTICK_LOCK_DIR="$4"; echo $$ >"$5"; shift 5; exec "$@"' \
    "$env_file" "$dsn" "$clients" "$agents" "$tmp/lock" "$pid_file" "$@" >"$log" 2>&1 &
}
mkdir -p "$tmp/lock" "$tmp/trace" && chmod 1777 "$tmp/lock" "$tmp/trace"
run_as_unit /etc/yardstick/coordinator.env "$tmp/coordinator.log" "$tmp/trace/coordinator.pid" \
  strace -f -qq -e trace=file -o "$tmp/trace/strace.coordinator" "$bin/yardstick-coordinator" \
  --ready-file /var/lib/yardstick/ready --no-calibrate-new-machines
for _ in $(seq 150); do [ -f /var/lib/yardstick/ready ] && break; sleep 0.1; done
[ -f /var/lib/yardstick/ready ] || { cat "$tmp/coordinator.log"; fail "the coordinator did not start"; }
run_as_unit /etc/yardstick/agent.env "$tmp/agent.log" "$tmp/trace/agent.pid" \
  strace -f -qq -e trace=file -o "$tmp/trace/strace.agent" "$bin/yardstick-agent"

export YARDSTICK_COORDINATOR=$clients YARDSTICK_KEY=$tmp/user/me.key
export YARDSTICK_COORDINATOR_KEY=/etc/yardstick/keys/coordinator.pub
for _ in $(seq 150); do
  yardstick agents --json 2>/dev/null | grep -q '"connected": true' && break
  sleep 0.2
done
yardstick agents --json | grep -q '"connected": true' ||
  { tail -n 20 "$tmp/coordinator.log" "$tmp/agent.log"; fail "the agent did not connect"; }

cat >"$tmp/work/package.yml" <<'EOF'
pipeline: package-test
jobs:
  hello:
    steps:
      - name: hello
        run: echo hello from the installed agent
EOF
set +e
strace -f -qq -e trace=file -o "$tmp/trace/strace.cli" "$bin/yardstick" submit "$tmp/work/package.yml" \
  --revision package-test --wait >"$tmp/submit.out" 2>&1
rc=$?
set -e
sed 's/^/   /' "$tmp/submit.out"
[ $rc = 0 ] || { tail -n 20 "$tmp/coordinator.log" "$tmp/agent.log"; fail "yardstick submit --wait exited $rc"; }
rows=$(psql "$dsn" -Atc "SELECT j.state || ' ' || s.name || ' ' || s.exit_code FROM pipelines p
  JOIN jobs j ON j.pipeline_id = p.id JOIN steps s ON s.job_id = j.id WHERE p.name = 'package-test'")
[ "$rows" = "succeeded hello 0" ] || fail "PostgreSQL holds '$rows', not the succeeded step"
echo "   PostgreSQL: $rows"

echo "-- the CI templates' scripts (deploy/ci), run as their CI would, with the installed CLI"
ci_script() { # ci_script FILE: the submitting script of a template, from its YAML
  /usr/bin/python3 - "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
for job in (doc.get("jobs") or {}).values():
    for step in job.get("steps", []):
        if "run" in step and "yardstick submit" in step["run"]:
            print(step["run"])
for job in doc.values():
    if isinstance(job, dict) and "script" in job:
        print("\n".join(job["script"]))
PY
}
cat >"$tmp/work/failing.yml" <<'EOF2'
pipeline: package-test-failing
jobs:
  broken:
    steps:
      - run: exit 3
EOF2
github=$(ci_script "$deploy/ci/github-actions.yml")
gitlab=$(ci_script "$deploy/ci/gitlab-ci.yml")
[ -n "$github" ] && [ -n "$gitlab" ] || fail "no submitting script in the CI templates"
chmod 644 "$tmp/user/me.key" # GitLab's File variables are readable by others
for case in package.yml:0:succeeded failing.yml:1:failed; do
  IFS=: read -r pipeline want state <<<"$case"
  (cd "$tmp/work" && rm -f summary.md yardstick-status.txt &&
    env -u YARDSTICK_KEY -u YARDSTICK_COORDINATOR_KEY PIPELINE="$pipeline" GITHUB_SHA=abc GITHUB_REF_NAME=main \
      GITHUB_STEP_SUMMARY="$tmp/work/summary.md" CLIENT_KEY="$(cat "$tmp/user/me.key")" \
      COORDINATOR_PUB="$(cat /etc/yardstick/keys/coordinator.pub)" \
      bash -e -c "$github" >"$tmp/github.out" 2>&1) && rc=0 || rc=$?
  [ "$rc" = "$want" ] || {
    cat "$tmp/github.out"
    tail -n 20 "$tmp/coordinator.log"
    fail "GitHub template on $pipeline: exit $rc, not $want"
  }
  grep -q "exit $want" "$tmp/work/summary.md" && grep -q " $state " "$tmp/work/summary.md" ||
    { cat "$tmp/work/summary.md"; fail "GitHub template on $pipeline: the step summary lacks the table"; }
  (cd "$tmp/work" &&
    env -u YARDSTICK_KEY -u YARDSTICK_COORDINATOR_KEY PIPELINE="$pipeline" CI_COMMIT_SHA=abc \
      CI_COMMIT_REF_NAME=main YARDSTICK_CLIENT_KEY="$tmp/user/me.key" \
      YARDSTICK_COORDINATOR_PUB=/etc/yardstick/keys/coordinator.pub \
      bash -eo pipefail -c "$gitlab" >"$tmp/gitlab.out" 2>&1) && rc=0 || rc=$?
  [ "$rc" = "$want" ] || { cat "$tmp/gitlab.out"; fail "GitLab template on $pipeline: exit $rc, not $want"; }
  grep -q " $state " "$tmp/work/yardstick-status.txt" ||
    fail "GitLab template on $pipeline: yardstick-status.txt lacks the table"
  echo "   $pipeline: both templates exit $rc, with the status table ($state)"
done

echo "-- the compose file's keys service (deploy/container/compose.yaml), with the installed CLI"
keys_script=$(/usr/bin/python3 -c 'import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["services"]["keys"]["entrypoint"][2])' \
  "$deploy/container/compose.yaml")
mkdir -p "$tmp/compose-keys"
for round in 1 2; do
  sh -ec "${keys_script//\/etc\/yardstick\/keys/$tmp/compose-keys}" || fail "the keys service failed (round $round)"
  [ $round = 1 ] && sums=$(sha256sum "$tmp"/compose-keys/*.key)
done
[ "$(sha256sum "$tmp"/compose-keys/*.key)" = "$sums" ] || fail "the keys service replaced a key"
for name in coordinator agent you; do [ -f "$tmp/compose-keys/$name.key" ] || fail "no $name.key"; done
grep -qxF -e "$(sed -n 's/^public-key = "\(.*\)"$/\1/p' "$tmp/compose-keys/agent.pub") compose-agent" \
  "$tmp/compose-keys/authorized-agents" || fail "authorized-agents does not admit the agent's key"
echo "   keys made once, kept on a second run; the agent and the user admitted"

echo "-- upgrade with dpkg -i to the same tree as a higher version"
# What this proves: dpkg itself upgrades the installed packages (its
# database says the old version is installed; it runs the old prerm and
# postrm with `upgrade NEW` and the new postinst with `configure OLD`, seen
# in an execve trace of dpkg); the install scripts then make no key, and the
# key pairs, the `yardstick` user, the agent's home with its spool and the
# changed agent.env are the same bytes after the upgrade; the new binaries
# say the new version; the new coordinator, started on the database the old
# one filled, applies the one migration the old one did not have
# (upgrade_probe, which counts the pipelines it finds: the old ones) and no
# other; the new CLI shows an earlier pipeline as the old one did; a new
# pipeline runs on the new agent.
# What it cannot: both versions come from one tree, so the env files, the
# units and the wire protocol are the same in both. dpkg keeps a changed
# env file without asking only because the package's own copy did not
# change too (a question would read stdin, /dev/null here, and fail the
# upgrade); the case where both changed is not run. No systemd runs here
# (/run/systemd/system is absent), so the postinst's restart of a running
# daemon is not exercised: the old daemons are stopped before the upgrade,
# as a unit stop would (the agent drains), and the new ones started after.
# The old agent stops with every result acknowledged, so its spool holds no
# result (a drained agent deletes its acknowledged segments): the spool
# folder and its files survive byte for byte, but the delivery of
# unacknowledged results across an upgrade is not run here.
upgrade_start=$SECONDS
chmod 600 "$tmp/user/me.key" # the CI templates' part made it readable by others
old_revision=$("$bin/yardstick" --version | sed -n 's/.*(git \(.*\))$/\1/p')
old_version=$(dpkg-query -W -f '${Version}' yardstick-agent)
new_version=$(dpkg-deb -f "$(ls "$upgrade_debs"/yardstick-agent_*.deb)" Version)
dpkg --compare-versions "$new_version" gt "$old_version" || fail "$new_version is not above $old_version"
old_id=$(sed -n 's/^pipeline \([0-9]*\) submitted.*/\1/p' "$tmp/submit.out" | head -n 1)
[ -n "$old_id" ] || fail "no pipeline id in the first submit's output"
yardstick status "$old_id" >"$tmp/status-before.out" || fail "yardstick status $old_id (before the upgrade)"
pipelines_before=$(psql "$dsn" -Atc "SELECT count(*) FROM pipelines")
# The daemons stop as their units would stop them: the coordinator on
# SIGTERM, the agent drained (SIGTERM: no job is running).
agent_signal=TERM stop_all
rm -f /var/lib/yardstick/ready "$tmp"/trace/*.pid
[ -d /var/lib/yardstick/agent/spool ] || fail "the old agent left no spool folder"
spool_files=$(ls /var/lib/yardstick/agent/spool | paste -sd' ')
spool_segments=$(ls /var/lib/yardstick/agent/spool | grep -c '^spool-.*\.log$' || true)
state=$(cd /var/lib/yardstick && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
homes=$(find /var/lib/yardstick | sort)
echo "# changed by the admin before the upgrade" >>/etc/yardstick/agent.env
env_sum=$(sha256sum /etc/yardstick/agent.env /etc/yardstick/coordinator.env)
key_sums=$(sha256sum /etc/yardstick/keys/*)
user=$(getent passwd yardstick)
dpkg_status() { dpkg-query -W -f '${Package} ${Version} ${Status}\n' yardstick yardstick-coordinator yardstick-agent; }
echo "   installed: $(dpkg_status | cut -d' ' -f1,2 | paste -sd, | sed 's/,/, /g')"
# No --force-conf* option: dpkg decides about the conffiles itself.
strace -f -qq -s 256 -e trace=execve -o "$tmp/dpkg-upgrade.trace" \
  dpkg -i "$upgrade_debs"/yardstick_*.deb "$upgrade_debs"/yardstick-coordinator_*.deb \
  "$upgrade_debs"/yardstick-agent_*.deb </dev/null >"$tmp/dpkg-upgrade.out" 2>&1 ||
  { cat "$tmp/dpkg-upgrade.out"; fail "dpkg -i (the upgrade to $new_version)"; }
{ grep -v '^\(Selecting\|(Reading\|Preparing\|Unpacking\|Setting up\)' "$tmp/dpkg-upgrade.out" || true; } |
  sed 's/^/   /'
grep -qi 'warning\|error' "$tmp/dpkg-upgrade.out" && fail "the upgrade said a warning or an error (above)"
grep -q "Unpacking yardstick-agent ($new_version) over ($old_version)" "$tmp/dpkg-upgrade.out" ||
  fail "dpkg did not unpack $new_version over $old_version"
[ "$(dpkg_status | grep -c " $new_version install ok installed$")" = 3 ] ||
  fail "not all three packages are $new_version and installed: $(dpkg_status)"
echo "   installed: $(dpkg_status | cut -d' ' -f1,2 | paste -sd, | sed 's/,/, /g')"
# The maintainer scripts and their arguments, as dpkg ran them.
script_args() { # PACKAGE SCRIPT: the arguments of each run of that script, one run a line
  grep -o "execve(\"[^\"]*/$1\\.$2\", \\[[^]]*\\]" "$tmp/dpkg-upgrade.trace" |
    sed 's/^[^[]*\[//; s/\]$//; s/"//g; s/^[^,]*, //; s/, / /g' | sort -u
}
for p in yardstick-coordinator yardstick-agent; do
  [ "$(script_args "$p" prerm)" = "upgrade $new_version" ] ||
    fail "$p: dpkg ran prerm with '$(script_args "$p" prerm)', not 'upgrade $new_version'"
  [ "$(script_args "$p" postrm)" = "upgrade $new_version" ] ||
    fail "$p: dpkg ran postrm with '$(script_args "$p" postrm)', not 'upgrade $new_version'"
  [ "$(script_args "$p" postinst)" = "configure $old_version" ] ||
    fail "$p: dpkg ran postinst with '$(script_args "$p" postinst)', not 'configure $old_version'"
  echo "   $p: dpkg ran prerm upgrade $new_version, postrm upgrade $new_version, postinst configure $old_version"
done
[ -d /run/systemd/system ] ||
  echo "   no systemd here: the postinst's restart of running daemons is not exercised (the test stops and starts them)"
grep -q "made" "$tmp/dpkg-upgrade.out" && fail "the upgrade made keys"
[ "$(sha256sum /etc/yardstick/keys/*)" = "$key_sums" ] || fail "the upgrade changed a key"
[ "$(sha256sum /etc/yardstick/agent.env /etc/yardstick/coordinator.env)" = "$env_sum" ] ||
  fail "the upgrade changed an env file"
grep -q "changed by the admin before the upgrade" /etc/yardstick/agent.env || fail "agent.env lost the admin's change"
leftovers=$(ls /etc/yardstick/*.dpkg-* 2>/dev/null || true)
[ -z "$leftovers" ] || fail "dpkg left conffile copies: $leftovers"
[ "$(getent passwd yardstick)" = "$user" ] || fail "the upgrade changed the yardstick user: $(getent passwd yardstick)"
[ "$(find /var/lib/yardstick | sort)" = "$homes" ] || fail "the upgrade changed the files of /var/lib/yardstick"
[ "$(cd /var/lib/yardstick && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)" = "$state" ] ||
  fail "the upgrade changed a file of /var/lib/yardstick"
echo "   kept: the key pairs, the changed agent.env, the yardstick user, /var/lib/yardstick ($(echo "$homes" | wc -l) paths; the spool: ${spool_files:-no file}, $spool_segments segments of results)"
for b in yardstick yardstick-coordinator yardstick-agent; do
  v=$("$bin/$b" --version)
  [ "$v" = "$b $new_version (git $old_revision)" ] || fail "$b --version says '$v' after the upgrade"
done
echo "   --version: $("$bin/yardstick" --version)"
probe=$(cd /usr/share/yardstick/migrations && ls *_upgrade_probe.sql)
probe_version=$((10#${probe%%_*}))

echo "-- the upgraded coordinator on the old database, the upgraded agent"
run_as_unit /etc/yardstick/coordinator.env "$tmp/coordinator-upgraded.log" "$tmp/trace/coordinator.pid" \
  strace -f -qq -e trace=file -o "$tmp/trace/strace.coordinator-upgraded" "$bin/yardstick-coordinator" \
  --ready-file /var/lib/yardstick/ready --no-calibrate-new-machines
for _ in $(seq 150); do [ -f /var/lib/yardstick/ready ] && break; sleep 0.1; done
[ -f /var/lib/yardstick/ready ] || { cat "$tmp/coordinator-upgraded.log"; fail "the upgraded coordinator did not start"; }
applied=$(grep -o 'applying migration [0-9]*_[a-z_]*' "$tmp/coordinator-upgraded.log" || true)
[ "$applied" = "applying migration ${probe%.sql}" ] ||
  fail "the upgraded coordinator applied '$applied', not ${probe%.sql} alone"
[ "$(psql "$dsn" -Atc "SELECT max(version) FROM schema_migrations")" = "$probe_version" ] ||
  fail "schema_migrations does not end at $probe_version"
found=$(psql "$dsn" -Atc "SELECT pipelines FROM upgrade_probe")
[ "$found" = "$pipelines_before" ] ||
  fail "the migration found $found pipelines, not the $pipelines_before of the old version"
echo "   it applied migration ${probe%.sql} alone, which found the old version's $found pipelines"
run_as_unit /etc/yardstick/agent.env "$tmp/agent-upgraded.log" "$tmp/trace/agent.pid" \
  strace -f -qq -e trace=file -o "$tmp/trace/strace.agent-upgraded" "$bin/yardstick-agent"
for _ in $(seq 150); do
  yardstick agents --json 2>/dev/null | grep -q '"connected": true' && break
  sleep 0.2
done
yardstick agents --json | grep -q '"connected": true' ||
  { tail -n 20 "$tmp/coordinator-upgraded.log" "$tmp/agent-upgraded.log"; fail "the upgraded agent did not connect"; }
grep -q "the spool holds" "$tmp/agent-upgraded.log" &&
  echo "   the agent: $(grep -o 'the spool holds.*' "$tmp/agent-upgraded.log")"
yardstick status "$old_id" >"$tmp/status-after.out" || fail "yardstick status $old_id (after the upgrade)"
diff "$tmp/status-before.out" "$tmp/status-after.out" >&2 ||
  fail "pipeline $old_id reads differently after the upgrade (above)"
grep -q " succeeded " "$tmp/status-after.out" && grep -q "hello .*exit 0" "$tmp/status-after.out" ||
  { cat "$tmp/status-after.out"; fail "pipeline $old_id is not shown succeeded after the upgrade"; }
echo "   yardstick status $old_id, as before the upgrade:"
sed 's/^/     /' "$tmp/status-after.out"
set +e
yardstick submit "$tmp/work/package.yml" --revision upgrade-test --wait >"$tmp/submit-upgraded.out" 2>&1
rc=$?
set -e
[ $rc = 0 ] || { cat "$tmp/submit-upgraded.out"; tail -n 20 "$tmp/coordinator-upgraded.log" "$tmp/agent-upgraded.log"
  fail "yardstick submit --wait exited $rc after the upgrade"; }
new_id=$(sed -n 's/^pipeline \([0-9]*\) submitted.*/\1/p' "$tmp/submit-upgraded.out" | head -n 1)
[ -n "$new_id" ] && [ "$new_id" -gt "$old_id" ] || fail "no new pipeline id after the upgrade"
echo "   a new pipeline ($new_id) ran on the upgraded agent: succeeded"
echo $((SECONDS - upgrade_start)) >"$tmp/upgrade.seconds"

echo "-- dpkg --purge: the keys, lists and env files go; the user and its home stay"
stop_all
dpkg --purge yardstick-agent yardstick-coordinator yardstick >"$tmp/dpkg-3.out" 2>&1 ||
  { cat "$tmp/dpkg-3.out"; fail "dpkg --purge"; }
for f in /usr/bin/yardstick /usr/bin/yardstick-agent /etc/yardstick/agent.env \
  /etc/yardstick/coordinator.env /etc/yardstick/keys/agent.key /etc/yardstick/keys/coordinator.key \
  /etc/yardstick/authorized-agents /lib/systemd/system/yardstick-agent.service; do
  [ ! -e "$f" ] || fail "$f is left after the purge"
done
getent passwd yardstick >/dev/null || fail "the purge removed the yardstick user"
