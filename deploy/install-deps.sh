#!/usr/bin/env bash
# Installs the Debian 12 packages yardstick builds, tests and runs with,
# when any is missing. Used by tests/run.sh and deploy/quickstart.sh.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git python3 util-linux clang-format ccache
  # libraries
  libzmq3-dev cppzmq-dev capnproto libcapnp-dev libpqxx-dev libspdlog-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libgtest-dev
  # Ed25519 signatures of submissions
  libsodium-dev
  # HTTP of deploy jobs (health checks, the probe) and webhooks; nginx for the blue/green tests
  libcurl4-openssl-dev nginx-light curl openssl
  # the coordinator's dashboard, /healthz and /metrics (HTTP server); its tests drive
  # headless Chromium with Selenium and check /metrics with promtool
  libcpp-httplib-dev chromium chromium-driver python3-selenium prometheus
  # the database (server for tests and the quick start; psql for reports)
  postgresql postgresql-client
  # benchmarks compare against it
  hyperfine
  # the linker deploy/examples/build-speed.yml compares with the default one
  # (agents get the label tool=mold when it is on PATH)
  mold
  # the fuzz targets (tests/fuzz/run.sh): clang with libFuzzer and the sanitizers
  clang-14 libclang-rt-14-dev
  # the Debian packages' test (tests/package/run.sh): dpkg-shlibdeps, lintian,
  # systemd-analyze, strace, the maintainer scripts' adduser, zsh for the
  # completion's syntax, and python3-yaml for the deploy/ manifests
  dpkg-dev lintian systemd strace adduser zsh python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# The cargo-timings collector's test builds a crate: Debian's cargo unless one is on PATH.
command -v cargo >/dev/null || missing+=(cargo)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "== installing: ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
