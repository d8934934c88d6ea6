#!/usr/bin/env bash
# A blue/green deploy on one machine: a real nginx (unprivileged, on
# loopback) in front of two instances of service.py, "blue" and "green",
# owned by supervisor.py. A release starts the idle colour with the new
# version, waits for its health check, points nginx's upstream at it with a
# graceful reload (old connections finish on the old workers), then stops
# the old colour. No request should fail on the way.
#
#   bluegreen.sh up [VERSION]          nginx + supervisor, blue serving VERSION (v1)
#   bluegreen.sh release VERSION [--stop-old-first] [-- SERVICE ARGS...]
#   bluegreen.sh rollback              back to the version that served before the
#                                      last release (nothing to do if it never took traffic)
#   bluegreen.sh status | down
#
# Environment: BLUEGREEN_DIR (state; default ./.bluegreen), BLUEGREEN_PORT
# (nginx; default 18080; blue and green listen on the next two ports),
# BLUEGREEN_HEALTH_TIMEOUT (seconds a new colour has to become healthy; 30).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=$(mkdir -p "${BLUEGREEN_DIR:-.bluegreen}" && cd "${BLUEGREEN_DIR:-.bluegreen}" && pwd)
port=${BLUEGREEN_PORT:-18080}
health_timeout=${BLUEGREEN_HEALTH_TIMEOUT:-30}

colour_port() { [ "$1" = blue ] && echo $((port + 1)) || echo $((port + 2)); }
other() { [ "$1" = blue ] && echo green || echo blue; }
say() { echo "bluegreen: $*"; }
nginx_() { nginx -p "$dir" -c "$dir/nginx.conf" "$@"; }

healthy() {  # COLOUR: waits until its /health answers 200
  local url="http://127.0.0.1:$(colour_port "$1")/health" deadline=$((SECONDS + health_timeout))
  while [ $SECONDS -lt $deadline ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}

want() {  # COLOUR VERSION [ARGS...]: asks the supervisor for it, waits until it runs
  local colour=$1 version=$2; shift 2
  local line="$version $(colour_port "$colour") $*"
  echo "${line% }" >"$dir/$colour.want.tmp"
  mv "$dir/$colour.want.tmp" "$dir/$colour.want"
  for _ in $(seq 100); do
    [ "$(cat "$dir/$colour.running" 2>/dev/null)" = "$(cat "$dir/$colour.want")" ] && return 0
    sleep 0.1
  done
  say "the supervisor did not start $colour"; return 1
}

unwant() {
  rm -f "$dir/$1.want"
  for _ in $(seq 100); do [ -e "$dir/$1.running" ] || return 0; sleep 0.1; done
}

switch() {  # COLOUR: nginx sends new requests there
  echo "server 127.0.0.1:$(colour_port "$1");" >"$dir/upstream.conf"
  nginx_ -s reload
  echo "$1" >"$dir/live"
  sleep 0.5  # the new workers take over; the old ones finish their requests
  say "nginx now sends traffic to $1"
}

case "${1:-}" in
  up)
    version=${2:-v1}
    mkdir -p "$dir/tmp"
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$here/nginx.conf.in" >"$dir/nginx.conf"
    echo "server 127.0.0.1:$(colour_port blue);" >"$dir/upstream.conf"
    echo blue >"$dir/live"
    setsid "$here/supervisor.py" "$dir" >>"$dir/supervisor.log" 2>&1 </dev/null &
    want blue "$version"
    healthy blue || { say "blue is not healthy"; exit 1; }
    setsid nginx -p "$dir" -c "$dir/nginx.conf" </dev/null >>"$dir/nginx.out" 2>&1
    echo "$version" >"$dir/version"
    say "up: http://127.0.0.1:$port/ serves $version (blue)"
    ;;
  release)
    version=$2; shift 2
    stop_old_first=0
    if [ "${1:-}" = --stop-old-first ]; then stop_old_first=1; shift; fi
    [ "${1:-}" = -- ] && shift
    live=$(cat "$dir/live"); next=$(other "$live")
    old_version=$(cat "$dir/version")
    touch "$dir/failed_release"
    if [ $stop_old_first = 1 ]; then
      say "stopping $live first (this release has downtime)"; unwant "$live"
    fi
    say "starting $next with $version"
    want "$next" "$version" "$@"
    if ! healthy "$next"; then
      say "$next ($version) did not become healthy in ${health_timeout}s; $live keeps serving"
      unwant "$next"; exit 1
    fi
    switch "$next"
    [ $stop_old_first = 1 ] || unwant "$live"
    echo "$version" >"$dir/version"
    echo "$old_version" >"$dir/previous_version"
    rm -f "$dir/failed_release"
    say "released $version"
    ;;
  rollback)
    live=$(cat "$dir/live")
    if [ -e "$dir/failed_release" ] && [ -e "$dir/$live.running" ]; then
      rm -f "$dir/failed_release"
      say "the last release never took traffic: $live ($(cat "$dir/version")) still serves"
      exit 0
    fi
    previous=$(cat "$dir/previous_version")
    say "rolling back to $previous"
    exec "$0" release "$previous"
    ;;
  status)
    echo "live: $(cat "$dir/live") ($(cat "$dir/version"))"
    for c in blue green; do echo "$c: $(cat "$dir/$c.running" 2>/dev/null || echo stopped)"; done
    ;;
  down)
    [ -f "$dir/nginx.pid" ] && nginx_ -s quit 2>/dev/null || true
    [ -f "$dir/supervisor.pid" ] && kill "$(cat "$dir/supervisor.pid")" 2>/dev/null || true
    for _ in $(seq 50); do
      [ -e "$dir/blue.running" ] || [ -e "$dir/green.running" ] || break; sleep 0.1
    done
    say down
    ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
