#!/bin/sh
# What the example pipeline benchmarks: the service's time from start to its
# first healthy answer. Starts service.py on PORT (default 18090), returns
# as soon as GET /health answers 200, and stops it.
port=${1:-18090}
python3 "$(dirname "$0")/service.py" --port "$port" --version bench 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$port/health"; do
  i=$((i + 1))
  [ $i -lt 1000 ] || { echo "the service never answered on port $port" >&2; exit 1; }
  kill -0 $pid 2>/dev/null || { echo "the service exited" >&2; exit 1; }
  sleep 0.005
done
