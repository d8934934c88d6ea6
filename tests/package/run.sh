#!/usr/bin/env bash
# The Debian packages, checked as a user gets them: builds them with CPack
# (in their own build folder, BUILD_DIR of the packages, prefix /usr), runs
# lintian on the three .deb, systemd-analyze verify on the units, extracts
# the packages into a temporary root, and there:
#   - checks each binary's --version (the project's version and git revision)
#     and that the completions name every subcommand of `yardstick --help`;
#   - in a private mount namespace (a copy of /etc, copy-on-write layers over
#     /usr and /var), installs them with dpkg -i: the maintainer scripts make
#     the `yardstick` user and the keys; a second dpkg -i keeps the keys and
#     a changed env file (conffiles);
#   - runs the installed coordinator and agent as that user, with those
#     keys and the packaged env files, against a throw-away PostgreSQL, and
#     submits a pipeline with the installed CLI (--wait, exit 0, its rows in
#     PostgreSQL), all under strace: no file of this source or build tree
#     may be opened; then the CI templates' scripts (deploy/ci), passing and
#     failing;
#   - upgrades them with dpkg -i to packages built from the same tree as a
#     higher version (its own build folder, UPGRADE_BUILD_DIR, default
#     build-upgrade/, with -DYARDSTICK_VERSION): dpkg runs the maintainer
#     scripts as an upgrade; the keys, a changed env file, the agent's home
#     and spool and the earlier results survive, the new coordinator applies
#     a pending migration to the old database at its start, and a new
#     pipeline runs (inside.sh says what this proves and what it cannot);
#   - then dpkg --purge, which leaves no key or env file.
# And checks deploy/ci, deploy/kubernetes, deploy/container against the
# installed binaries' --help (check_deploy.py).
# Needs root (the mount namespace). Nothing of the main build is touched.
#
#   tests/package/run.sh
#   PACKAGE_BUILD_DIR=out UPGRADE_BUILD_DIR=out2 tests/package/run.sh
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${PACKAGE_BUILD_DIR:-$root/build-package}
upgrade_build=${UPGRADE_BUILD_DIR:-$root/build-upgrade}
jobs=$(nproc 2>/dev/null || echo 2)
fail() {
  echo "tests/package/run.sh: FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (it runs the maintainer scripts in a mount namespace)"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# As tests/run.sh: one cache for every build folder of this tree, so the
# packages' two builds reuse the objects of the main one and of each other.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root} CCACHE_NOHASHDIR=1
echo "== package build ($build, prefix /usr)"
# CMAKE_SKIP_INSTALL_ALL_DEPENDENCY: cpack installs what is built here
# rather than building every test and benchmark first.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON "${launcher[@]}" >/dev/null
ninja -C "$build" -j "$jobs" yardstick yardstick-coordinator yardstick-agent \
  yardstick_completion yardstick_changelogs >/dev/null

echo "== cpack -G DEB"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB >"$build/cpack.log" 2>&1) || { cat "$build/cpack.log"; fail "cpack"; }
version=$(sed -n 's/^project(yardstick VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
debs=()
for p in yardstick yardstick-coordinator yardstick-agent; do
  deb="$build/${p}_${version}_${arch}.deb"
  [ -f "$deb" ] || fail "no package $deb (cpack made: $(ls "$build"/*.deb 2>/dev/null))"
  debs+=("$deb")
done

echo "== package metadata"
for deb in "${debs[@]}"; do
  dpkg-deb -f "$deb" Package Version Depends | sed 's/^/  /'
  # The libraries the binaries link, found by dpkg-shlibdeps.
  dpkg-deb -f "$deb" Depends | grep -q 'libzmq5' || fail "$deb: no shared-library dependencies"
done
for p in coordinator agent; do
  deb="$build/yardstick-${p}_${version}_${arch}.deb"
  ctl=$(mktemp -d)
  dpkg-deb -e "$deb" "$ctl"
  grep -qx "/etc/yardstick/$p.env" "$ctl/conffiles" || fail "$deb: $p.env is not a conffile"
  for s in postinst prerm postrm; do [ -x "$ctl/$s" ] || fail "$deb: no executable $s"; done
  rm -rf "$ctl"
done

echo "== lintian"
lintian --fail-on error,warning --suppress-tags-from-file /dev/null "${debs[@]}" ||
  fail "lintian found problems in the packages"

# The upgrade's packages: this tree again, as the next patch version, in its
# own build folder. The version lives in one generated file
# (common/version.cpp); every other object is the first build's, from ccache.
# One migration is added, numbered after the last of sql/migrations: both
# versions come from the same tree and would otherwise carry the same
# migrations, so the upgrade would have none to apply. It stands in for the
# migration a next release brings, and counts the pipelines the database
# holds when it is applied.
upgrade_start=$SECONDS
next_version=$(echo "$version" | awk -F. '{ print $1 "." $2 "." $3 + 1 }')
last_migration=$(cd "$root/sql/migrations" && ls [0-9][0-9][0-9][0-9]_*.sql | sort | tail -n 1 | cut -c1-4)
probe_version=$(printf '%04d' $((10#$last_migration + 1)))
echo "== the upgrade's packages: version $next_version ($upgrade_build), with migration $probe_version"
mkdir -p "$upgrade_build/next-migrations"
rm -f "$upgrade_build"/next-migrations/*.sql "$upgrade_build"/*.deb
cat >"$upgrade_build/next-migrations/${probe_version}_upgrade_probe.sql" <<'EOF'
-- Not one of yardstick's migrations: tests/package/run.sh builds its upgrade's
-- packages with it, standing in for the migration a next release brings. It
-- records how many pipelines the database held when it was applied.
CREATE TABLE upgrade_probe AS SELECT count(*) AS pipelines, now() AS applied_at FROM pipelines;
EOF
cmake -S "$root" -B "$upgrade_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON "${launcher[@]}" \
  -DYARDSTICK_VERSION="$next_version" -DYARDSTICK_EXTRA_MIGRATIONS_DIR="$upgrade_build/next-migrations" \
  >/dev/null
ninja -C "$upgrade_build" -j "$jobs" yardstick yardstick-coordinator yardstick-agent \
  yardstick_completion yardstick_changelogs >"$upgrade_build/ninja.log" ||
  { cat "$upgrade_build/ninja.log"; fail "the build of version $next_version"; }
(cd "$upgrade_build" && cpack -G DEB >"$upgrade_build/cpack.log" 2>&1) ||
  { cat "$upgrade_build/cpack.log"; fail "cpack (version $next_version)"; }
for p in yardstick yardstick-coordinator yardstick-agent; do
  [ -f "$upgrade_build/${p}_${next_version}_${arch}.deb" ] || fail "no package ${p}_${next_version}_${arch}.deb"
done
upgrade_build_s=$((SECONDS - upgrade_start))
echo "  $(grep -c 'Building CXX' "$upgrade_build/ninja.log" || true) objects built (or taken from ccache) and the packages made in $upgrade_build_s s"

tmp=$(mktemp -d /tmp/yardstick-package.XXXXXX)
chmod 755 "$tmp" # the postgres and yardstick users work under it
pg_dir=""
cleanup() {
  if [ -n "$pg_dir" ]; then "$root/tests/support/pg.sh" stop "$pg_dir" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pkgroot=$tmp/root
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$pkgroot"; done

echo "== systemd-analyze verify"
units=("$pkgroot/lib/systemd/system/yardstick-coordinator.service"
  "$pkgroot/lib/systemd/system/yardstick-agent.service")
user_unit=$pkgroot/usr/lib/systemd/user/yardstick-agent.service
for u in "${units[@]}" "$user_unit"; do
  [ -f "$u" ] || fail "no unit $u in the packages"
done
# The units name /usr/bin/yardstick-*: in a private mount namespace, the
# packages' usr/bin is laid over /usr/bin (overlayfs) for verify to find them.
verify() {
  unshare --mount --propagation private bash -c \
    'mount -t overlay overlay -o "lowerdir=$1/usr/bin:/usr/bin" /usr/bin && shift && systemd-analyze "$@"' \
    verify "$pkgroot" "$@" 2>&1
}
out=$(verify verify "${units[@]}") || { echo "$out"; fail "systemd-analyze verify (system units)"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify warns about the system units"; }
mkdir -m 700 "$tmp/xdg"
out=$(XDG_RUNTIME_DIR=$tmp/xdg verify --user verify "$user_unit") || { echo "$out"; fail "systemd-analyze verify (user unit)"; }
[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify warns about the user unit"; }
echo "  the two system units and the user unit verify clean"

bin=$pkgroot/usr/bin
echo "== --version"
revision=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
for b in yardstick yardstick-coordinator yardstick-agent; do
  v=$("$bin/$b" --version)
  echo "  $v"
  [ "$v" = "$b $version (git $revision)" ] || fail "$b --version says '$v'"
done

echo "== shell completion"
bash_completion=$pkgroot/usr/share/bash-completion/completions/yardstick
zsh_completion=$pkgroot/usr/share/zsh/vendor-completions/_yardstick
[ -f "$bash_completion" ] && [ -f "$zsh_completion" ] || fail "completions not installed"
subcommands=$("$bin/yardstick" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(echo "$subcommands" | wc -l)" -ge 10 ] || fail "cannot read the subcommands of yardstick --help: $subcommands"
bash -n "$bash_completion" || fail "the bash completion is not valid bash"
if command -v zsh >/dev/null; then zsh -n "$zsh_completion" || fail "the zsh completion is not valid zsh"; fi
# Complete as bash does: COMP_WORDS and COMP_CWORD, then the function.
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _yardstick
           printf "%s\n" "${COMPREPLY[@]}"' complete "$bash_completion" "$@"
}
offered=$(complete_words yardstick "")
for s in $subcommands; do
  echo "$offered" | grep -qx "$s" || fail "bash completion does not offer subcommand '$s'"
  grep -q "^        $s)" "$zsh_completion" || fail "zsh completion has no case for subcommand '$s'"
done
echo "$offered" | grep -qx completion && fail "the hidden completion subcommand is offered"
[ "$(complete_words yardstick sub)" = submit ] || fail "bash: 'yardstick sub' does not complete to submit"
complete_words yardstick submit --w | grep -qx -- --wait || fail "bash: submit --w does not offer --wait"
complete_words yardstick --insecure submit --w | grep -qx -- --wait ||
  fail "bash: a global option before the subcommand hides it"
reports=$(complete_words yardstick report "")
for f in "$root"/sql/reports/*.sql; do
  echo "$reports" | grep -qx "$(basename "$f" .sql)" || fail "bash: report $(basename "$f" .sql) not offered"
done
complete_words yardstick compare --measure "" | grep -qx instructions || fail "bash: --measure values"
echo "  bash and zsh complete $(echo $subcommands | wc -w) subcommands and $(echo "$reports" | wc -l) reports"

echo "== deploy/ci, deploy/kubernetes, deploy/container against the installed binaries"
/usr/bin/python3 "$root/tests/package/check_deploy.py" "$bin" "$root/deploy" "$build" ||
  fail "deploy/ uses what the binaries do not have (above)"

echo "== dpkg -i, the installed daemons end to end, dpkg --purge"
pg_dir=$tmp/pg
base_dsn=$("$root/tests/support/pg.sh" start "$pg_dir")
psql "$base_dsn" -qc "CREATE DATABASE yardstick_package" >/dev/null
dsn=${base_dsn/dbname=postgres/dbname=yardstick_package}
# /etc of the namespace: a copy.
cp -a /etc "$tmp/etc"
mkdir -p "$tmp/work"
chmod 755 "$tmp/work"
cp "$root/tests/package/inside.sh" "$tmp/inside.sh"
(cd "$tmp/work" && unshare --mount --propagation private \
  bash "$tmp/inside.sh" "$tmp" "$build" "$dsn" "$root/deploy" "$upgrade_build") ||
  fail "the installed packages did not run a pipeline end to end, or did not upgrade (logs above)"

# Every file the three processes opened, from strace: none of this tree.
opened=$(cat "$tmp"/trace/strace.* | grep -o '"[^"]*"' | tr -d '"' | sort -u)
[ "$(echo "$opened" | wc -l)" -gt 20 ] || fail "strace saw too few files: $opened"
echo "$opened" | grep -q "^/usr/bin/yardstick-agent$" && echo "$opened" | grep -q "libzmq" ||
  fail "strace logs do not show the binaries' own files"
if echo "$opened" | grep -F "$root" | grep -v "^$tmp"; then
  fail "the installed binaries opened files of the source or build tree (above)"
fi
echo "  strace: $(echo "$opened" | wc -l) paths opened, none under $root"
upgrade_run_s=$(cat "$tmp/upgrade.seconds")
echo "  the upgrade added $((upgrade_build_s + upgrade_run_s)) s: $upgrade_build_s s to build its packages, $upgrade_run_s s to install and check them"
echo "tests/package/run.sh: passed"
