#!/usr/bin/env bash
# The Debian packages end to end (issue #6). Usage: package_test.sh SOURCE_DIR WORK_DIR
#
#  1. builds the four packages from SOURCE_DIR in a Release tree of its own (WORK_DIR/build),
#     twice: revision 1, then revision 2 (the "newer build");
#  2. lints them: lintian must report no error;
#  3. makes a throw-away Debian 12 root with debootstrap, cached in $ES_TEST_CACHE
#     (/var/cache/exportsync-test: the bare root, then the root with the packages' runtime
#     dependencies, keyed by the dependency list) and installs them with apt-get install ./*.deb;
#  4. checks users, folders, modes and conffiles; runs the hub (as exportsync-hub) on loopback
#     in the root; configures and enrols the agent with installer/install.sh; checks that a
#     plugin other users can write is refused; runs the agent once (as exportsync) and
#     compares what reached the hub;
#  5. stops the hub, collects more (a backlog), upgrades to revision 2 with install.sh --debs and
#     checks that the config, the store, the backlog and the credential are all still there and
#     that the backlog then reaches the hub; a store newer than the binary is refused untouched;
#  6. removes (data kept), then purges (data gone) and lists what remains.
# No systemd runs in the root: the binaries are started directly, as the service users.
# Needs root; exits 77 (skipped) otherwise. Keeps WORK_DIR/root for inspection on failure.
set -euo pipefail
# shellcheck disable=SC2016 # dpkg-query formats are meant for dpkg-query, not the shell

src=$(cd "${1:?usage: package_test.sh SOURCE_DIR WORK_DIR}" && pwd)
work=${2:?usage: package_test.sh SOURCE_DIR WORK_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cache=${ES_TEST_CACHE:-/var/cache/exportsync-test}
mirror=${ES_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
root=$work/root
started=$SECONDS
hub_pid=""

step() { printf '\n== [%4ds] %s\n' $((SECONDS - started)) "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: the package test needs root (debootstrap, chroot, apt-get in the root)"
  exit 77
fi
for tool in debootstrap lintian dpkg-shlibdeps fakeroot chroot setpriv sqlite3 python3 cmake ninja flock; do
  command -v "$tool" >/dev/null || fail "$tool is missing; run: bash installer/setup-dev.sh"
done
mkdir -p "$work" "$cache"
work=$(cd "$work" && pwd)
root=$work/root

unmount_root() {
  if mountpoint -q "$root/proc" 2>/dev/null; then
    umount -l "$root/proc"
  fi
}
remove_root() {
  unmount_root
  if [ -d "$root" ]; then
    rm -rf --one-file-system "$root"
  fi
}
cleanup() {
  local rc=$?
  if [ -n "$hub_pid" ]; then
    kill "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
  fi
  unmount_root
  if [ "$rc" -ne 0 ]; then
    echo "package test failed after $((SECONDS - started)) s; root kept in $root, logs in $work" >&2
  fi
}
trap cleanup EXIT

# Commands in the root, with a clean environment; as a given user.
in_root() {
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}
as_user() {
  local user=$1
  shift
  in_root setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
}
# "owner:group mode" of a path in the root, as the root's users see it.
stat_of() { in_root stat -c '%U:%G %a' "$1"; }
expect_stat() {
  local got
  got=$(stat_of "$1") || fail "$1 does not exist in the root"
  [ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
  ok "$1 is $got"
}
expect_in() { # TEXT NEEDLE WHAT
  case "$1" in *"$2"*) ok "$3" ;; *) printf '%s\n' "$1" >&2; fail "$3: no '$2' in the output above" ;; esac
}
sha() { sha256sum "$root$1" | cut -d' ' -f1; }
# Runs sqlite3 on a copy of the agent's store (never on the live files: a root-owned -shm
# next to them would lock the agent out).
store_query() {
  local copy=$work/store-copy
  rm -rf "$copy" && mkdir -p "$copy"
  cp "$root"/var/lib/exportsync/agent.db* "$copy"/
  sqlite3 "$copy/agent.db" "$1"
}
http() { python3 "$here/hub_call.py" "$@"; }

# --- 1. packages ----------------------------------------------------------------------------
build=$work/build
# Warnings are the dev build's business (-Werror there); -O3 adds flow-based ones that must
# not turn this test into a compiler check.
build_packages() { # REVISION OUT_DIR
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DES_SANITIZE=OFF \
    -DES_BUILD_TESTS=OFF -DES_BENCH=OFF -DES_FUZZ=OFF -DES_WERROR=OFF -DES_PACKAGE_RELEASE="$1" \
    >"$work/cmake-$1.log" 2>&1 || {
    tail -n 30 "$work/cmake-$1.log"
    fail "configuring the package build"
  }
  rm -f "$build"/packages/*.deb
  cmake --build "$build" --target package -j"$(nproc)" >"$work/package-$1.log" 2>&1 || {
    tail -n 60 "$work/package-$1.log"
    fail "cmake --build $build --target package (revision $1)"
  }
  rm -rf "$2" && mkdir -p "$2"
  cp "$build"/packages/*.deb "$2"/
  ls -l "$2"
}
step "building the packages, revision 1 then 2 ($build)"
build_packages 1 "$work/debs-v1"
build_packages 2 "$work/debs-v2"
version=$(sed -n 's/^project(ExportSync VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
for pkg in exportsync-agent exportsync-plugins exportsync-hub exportsync-sdk-dev; do
  for rev in 1 2; do
    [ -f "$work/debs-v$rev/${pkg}_${version}-${rev}_amd64.deb" ] ||
      fail "no ${pkg}_${version}-${rev}_amd64.deb was built"
  done
done
ok "4 packages, revisions 1 and 2"
agent_deb=$work/debs-v1/exportsync-agent_${version}-1_amd64.deb
depends=$(dpkg-deb -f "$agent_deb" Depends)
for lib in libc6 libstdc++6 libpocofoundation libpoconet libsqlite3 libzstd adduser; do
  expect_in "$depends" "$lib" "exportsync-agent depends on $lib"
done
expect_in "$(dpkg-deb -f "$work/debs-v1/exportsync-hub_${version}-1_amd64.deb" Depends)" \
  libpoconetssl "exportsync-hub depends on libpoconetssl"
expect_in "$(dpkg-deb -I "$agent_deb" conffiles)" /etc/exportsync/agent.properties \
  "agent.properties is a conffile"
plugins_list=$(dpkg-deb -c "$work/debs-v1/exportsync-plugins_${version}-1_amd64.deb")
expect_in "$(printf '%s\n' "$plugins_list" | grep '/usr/lib/exportsync/plugins/example.so')" \
  "-rw-r--r-- root/root" "the example plugin is packaged, root-owned, mode 0644"

# --- 2. lintian -----------------------------------------------------------------------------
step "lintian"
lintian_out=$(lintian --fail-on error --tag-display-limit 0 "$work"/debs-v1/*.deb 2>&1) || {
  printf '%s\n' "$lintian_out"
  fail "lintian reports errors"
}
printf '%s\n' "${lintian_out:-(no tags)}"
if printf '%s\n' "$lintian_out" | grep -q '^E:'; then fail "lintian reports errors"; fi
ok "lintian: no error ($(printf '%s\n' "$lintian_out" | grep -c '^W:' || true) warnings)"

# --- 3. the Debian 12 root ------------------------------------------------------------------
# Runtime dependencies of the packages (first alternative, no versions, not ours).
deps=$(for d in "$work"/debs-v1/*.deb; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v -e '^$' -e '^exportsync-' | sort -u | tr '\n' ' ')
key=$(printf '%s %s %s' "$suite" "$mirror" "$deps" | sha256sum | cut -c1-12)
base_tar=$cache/$suite-root.tar
deps_tar=$cache/$suite-root-deps-$key.tar

prepare_root() {
  mkdir -p "$root/proc"
  mount -t proc proc "$root/proc"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  # No service starts in the root (there is no systemd in it anyway).
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  local node
  for node in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
    IFS=: read -r name major minor <<<"$node"
    [ -c "$root/dev/$name" ] || { rm -f "$root/dev/$name"; mknod -m 0666 "$root/dev/$name" c "$major" "$minor"; }
  done
}
retry() { # TRIES COMMAND...
  local n=$1 i
  shift
  for ((i = 1; i <= n; i++)); do
    "$@" && return 0
    echo "attempt $i of $n failed: $*" >&2
    sleep $((i * 5))
  done
  return 1
}

step "Debian 12 root ($deps_tar)"
remove_root
exec 9>"$cache/lock"
flock 9 # one test at a time builds or reads the cache
if [ -f "$deps_tar" ]; then
  mkdir -p "$root" && tar -C "$root" -xf "$deps_tar"
  prepare_root
  ok "root from the cache"
else
  if [ ! -f "$base_tar" ]; then
    tmp=$(mktemp -d "$cache/debootstrap.XXXXXX")
    echo "debootstrap --variant=minbase $suite from $mirror (first run: a few minutes)"
    debootstrap_once() {
      rm -rf --one-file-system "$tmp" && mkdir -p "$tmp"
      debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 20 "$work/debootstrap.log" >&2; return 1; }
    }
    retry 3 debootstrap_once || fail "debootstrap failed; see $work/debootstrap.log"
    rm -f "$tmp"/var/cache/apt/archives/*.deb
    tar -C "$tmp" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
    rm -rf --one-file-system "$tmp"
  fi
  mkdir -p "$root" && tar -C "$root" -xf "$base_tar"
  prepare_root
  echo "installing the runtime dependencies: $deps"
  # shellcheck disable=SC2086 # one word per package
  retry 3 in_root sh -c "apt-get update -q && apt-get install -y -q --no-install-recommends $deps" \
    >"$work/apt-deps.log" 2>&1 || { tail -n 30 "$work/apt-deps.log"; fail "installing $deps in the root"; }
  in_root apt-get clean
  unmount_root
  rm -f "$cache/$suite-root-deps-"*.tar
  tar -C "$root" -cf "$deps_tar.tmp" . && mv "$deps_tar.tmp" "$deps_tar"
  mount -t proc proc "$root/proc"
  ok "root made and cached"
fi
flock -u 9

# --- 4. install, configure, enrol, run --------------------------------------------------------
step "apt-get install ./*.deb (revision 1)"
mkdir -p "$root/tmp/debs-v1" "$root/tmp/debs-v2"
cp "$work"/debs-v1/*.deb "$root/tmp/debs-v1/"
cp "$work"/debs-v2/*.deb "$root/tmp/debs-v2/"
cp "$src/installer/install.sh" "$root/tmp/install.sh"
install_v1() { in_root sh -c 'cd /tmp/debs-v1 && apt-get install -y -q ./*.deb'; }
if ! install_v1 >"$work/apt-install.log" 2>&1; then
  # A dependency the cached root lacks: fetch the package lists, then try again.
  in_root apt-get update -q >>"$work/apt-install.log" 2>&1 || true
  install_v1 >>"$work/apt-install.log" 2>&1 || { tail -n 40 "$work/apt-install.log"; fail "apt-get install ./*.deb"; }
fi
ok "installed: $(in_root dpkg-query -W -f='${Package} ${Version}, ' 'exportsync-*')"

in_root getent passwd exportsync >/dev/null || fail "no exportsync user"
in_root getent passwd exportsync-hub >/dev/null || fail "no exportsync-hub user"
ok "system users exportsync and exportsync-hub"
expect_stat /var/lib/exportsync "exportsync:exportsync 750"
expect_stat /var/lib/exportsync-hub "exportsync-hub:exportsync-hub 700"
expect_stat /etc/exportsync/agent.properties "root:exportsync 640"
expect_stat /etc/exportsync/hub.properties "root:exportsync-hub 640"
expect_stat /usr/lib/exportsync/plugins "root:root 755"
expect_stat /usr/lib/exportsync/plugins/example.so "root:root 644"
expect_stat /usr/bin/exportsync-agent "root:root 755"
for f in /lib/systemd/system/exportsync-agent.service /lib/systemd/system/exportsync-hub.service \
  /usr/include/exportsync/plugin_abi.h /usr/share/man/man8/exportsync-agent.8.gz; do
  in_root test -f "$f" || fail "$f is missing"
done
ok "units, SDK headers and manual pages installed"
regions=$(find "$src/config/regions" -name '*.properties' 2>/dev/null | wc -l)
[ "$(in_root sh -c 'ls /etc/exportsync/regions/*.properties 2>/dev/null | wc -l')" -eq "$regions" ] ||
  fail "expected $regions region overlays in /etc/exportsync/regions"
ok "$regions region overlays in /etc/exportsync/regions"
in_root exportsync-agent --version

# The hub, configured as an admin would (conffile edits must survive the upgrade), on a port
# that was free a moment ago: the agent must find it again after the upgrade.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
hub=http://127.0.0.1:$port
sed -i "s/^hub.listen *=.*/hub.listen = 127.0.0.1:$port/" "$root/etc/exportsync/hub.properties"
printf 'hub.port_file = /var/lib/exportsync-hub/port\n' >>"$root/etc/exportsync/hub.properties"
start_hub() { # LOG_NAME
  rm -f "$root/var/lib/exportsync-hub/port"
  # Not through in_root: $! must be the hub itself (chroot, env and setpriv each exec the next).
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    setpriv --reuid=exportsync-hub --regid=exportsync-hub --init-groups -- \
    exportsync-hub --config /etc/exportsync/hub.properties >"$work/$1.log" 2>&1 &
  hub_pid=$!
  local i
  for ((i = 0; i < 200; i++)); do
    [ -s "$root/var/lib/exportsync-hub/port" ] && break
    kill -0 "$hub_pid" 2>/dev/null || { cat "$work/$1.log"; fail "the hub exited"; }
    sleep 0.1
  done
  [ "$(cat "$root/var/lib/exportsync-hub/port")" = "$port" ] || fail "the hub is not on port $port"
  http GET "$hub/api/v1/health" >/dev/null || fail "the hub does not answer on $hub"
  ok "hub up on $hub (as exportsync-hub)"
}
stop_hub() {
  kill -TERM "$hub_pid"
  wait "$hub_pid" || true
  hub_pid=""
}
step "hub in the root, enrolment code"
start_hub hub-1
token=$(as_user exportsync-hub exportsync-hub --config /etc/exportsync/hub.properties \
  --create-admin-token package-test | tail -n 1)
[ -n "$token" ] || fail "no admin token"
code=$(http POST "$hub/api/v1/admin/enrolment-codes" "$token" '{"region":"MA-06"}' code)
[ -n "$code" ] || fail "no enrolment code"
ok "enrolment code for MA-06"

# This office's own overlay (an admin's file, listed after the region's so it wins): the
# example plugin with an inbox, whatever plugins the region's overlay names. install.sh must
# keep it in `include` when it adds the region's.
cat >"$root/etc/exportsync/package-test.properties" <<'EOF'
plugins.enabled = example
plugin.example.rows = 10
plugin.example.inbox = /var/lib/exportsync/inbox/example
status.listen = 127.0.0.1:0
EOF
printf 'include = package-test.properties\n' >>"$root/etc/exportsync/agent.properties"
mkdir -p "$root/var/lib/exportsync/inbox/example"
cp "$src"/config/samples/example/*.csv "$root/var/lib/exportsync/inbox/example/"
in_root chown -R exportsync:exportsync /var/lib/exportsync/inbox

step "installer/install.sh: region, hub, enrolment"
out=$(in_root bash /tmp/install.sh --region MA-06 --hub-url "$hub" --enrol-code "$code" --yes 2>&1) || {
  printf '%s\n' "$out"
  fail "install.sh exited with an error"
}
printf '%s\n' "$out"
expect_in "$out" "enrolled as agent" "install.sh enrolled the agent"
expect_in "$out" "hub accepts the credential" "install.sh checked the credential with the hub"
cfg=$root/etc/exportsync/agent.properties
grep -q "^sync.hub_url = $hub\$" "$cfg" || fail "sync.hub_url not set in agent.properties"
grep -q "^agent.region = MA-06\$" "$cfg" || fail "agent.region not set in agent.properties"
if [ -f "$src/config/regions/MA-06.properties" ]; then
  grep -q "^include = regions/MA-06.properties, package-test.properties\$" "$cfg" ||
    fail "include is not 'regions/MA-06.properties, package-test.properties': $(grep '^include' "$cfg")"
fi
ok "agent.properties: region, include and hub set"
expect_stat /var/lib/exportsync/credentials.properties "exportsync:exportsync 600"
expect_stat /etc/exportsync/agent.properties "root:exportsync 640"

step "plugins other users can write are refused"
in_root chmod o+w /usr/lib/exportsync/plugins/example.so
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --list-plugins 2>&1) || true
expect_in "$out" "example.so' refused: it is writable by every user" "a world-writable plugin file is refused"
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --check-config 2>&1) &&
  fail "--check-config passed with a world-writable plugin"
expect_in "$out" "PROBLEM: plugin file '/usr/lib/exportsync/plugins/example.so' refused: it is writable by every user" \
  "--check-config names the world-writable plugin"
in_root chmod o-w /usr/lib/exportsync/plugins/example.so
in_root chmod o+w /usr/lib/exportsync/plugins
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --list-plugins 2>&1) || true
expect_in "$out" "is in folder '/usr/lib/exportsync/plugins', which is writable by every user" \
  "every plugin in a world-writable folder is refused"
in_root chmod 0755 /usr/lib/exportsync/plugins
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --list-plugins 2>&1) ||
  { printf '%s\n' "$out"; fail "--list-plugins"; }
shipped=$(in_root sh -c 'ls /usr/lib/exportsync/plugins/*.so | wc -l')
if printf '%s\n' "$out" | grep -q refused; then
  printf '%s\n' "$out"
  fail "a packaged plugin is refused"
fi
ok "the $shipped packaged plugins all load ($(printf '%s\n' "$out" | grep -c 'loaded\|enabled' || true) lines)"

step "agent --once as exportsync: collect and sync"
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --once 2>&1) || {
  printf '%s\n' "$out"
  fail "exportsync-agent --once"
}
printf '%s\n' "$out" | tail -n 12
expect_in "$out" "sync: ok" "the agent synced to the hub"
items=$(store_query "SELECT count(*) FROM example__items")
# 10 synthetic items, and the inbox file's good lines (its bad ones are rejected with a report).
[ "$items" -gt 10 ] || fail "the store holds $items items: none from the inbox file"
in_root test -f /var/lib/exportsync/inbox/example/done/articles-2024.csv || fail "the inbox file is not in done/"
hub_items=$(($(http GET "$hub/api/v1/datasets/example/items.csv?region=MA-06" "$token" | grep -c .) - 1))
[ "$hub_items" -eq "$items" ] || fail "the hub holds $hub_items items, the agent $items"
ok "$items items in the store and at the hub; the inbox file moved to done/"
out=$(in_root bash /tmp/install.sh --check 2>&1) || { printf '%s\n' "$out"; fail "install.sh --check"; }
expect_in "$out" "all checks passed" "install.sh --check passes"

# --- 5. backlog, upgrade, newer store ---------------------------------------------------------
step "hub down: collect a backlog"
stop_hub
sed -i 's/^plugin.example.rows = 10$/plugin.example.rows = 20/' "$root/etc/exportsync/package-test.properties"
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --once 2>&1) &&
  fail "--once reported success with the hub down"
expect_in "$out" "sync: FAILED" "the sync fails while the hub is down"
out=$(in_root bash /tmp/install.sh --check 2>&1) && fail "install.sh --check passed with the hub down"
expect_in "$out" "PROBLEM: hub $hub cannot be reached" "install.sh --check says the hub cannot be reached"
items=$(store_query "SELECT count(*) FROM example__items")
runs=$(store_query "SELECT count(*) FROM example__runs")
backlog=$(store_query "SELECT count(*) FROM _changes")
[ "$backlog" -gt 10 ] || fail "expected a backlog of more than 10 changes, found $backlog"
declare -A before
for f in /etc/exportsync/agent.properties /etc/exportsync/hub.properties \
  /etc/exportsync/package-test.properties /var/lib/exportsync/credentials.properties; do
  before[$f]=$(sha "$f")
done
ok "store: $items items, $runs runs, backlog of $backlog changes"

step "upgrade to revision 2 with install.sh --debs"
rc=0
out=$(in_root bash /tmp/install.sh --debs /tmp/debs-v2 --yes 2>&1) || rc=$?
printf '%s\n' "$out" | grep -v '^\(Get\|Selecting\|Preparing\|Unpacking\|Setting up\|Reading\)' | tail -n 25
[ "$rc" -eq 2 ] || fail "install.sh --debs: exit $rc, expected 2 (installed, the hub being down)"
for pkg in exportsync-agent exportsync-plugins exportsync-hub exportsync-sdk-dev; do
  v=$(in_root dpkg-query -W -f='${Version}' "$pkg")
  [ "$v" = "${version}-2" ] || fail "$pkg is at $v after the upgrade, expected ${version}-2"
done
ok "every package at ${version}-2"
for f in "${!before[@]}"; do
  [ "$(sha "$f")" = "${before[$f]}" ] || fail "$f changed in the upgrade"
done
ok "config (with the admin's edits) and credential unchanged"
expect_stat /var/lib/exportsync "exportsync:exportsync 750"
expect_stat /var/lib/exportsync/credentials.properties "exportsync:exportsync 600"
[ "$(store_query "SELECT count(*) FROM example__items")" -eq "$items" ] || fail "items lost in the upgrade"
[ "$(store_query "SELECT count(*) FROM example__runs")" -eq "$runs" ] || fail "runs lost in the upgrade"
[ "$(store_query "SELECT count(*) FROM _changes")" -eq "$backlog" ] || fail "backlog lost in the upgrade"
ok "store and backlog unchanged: $items items, $backlog changes waiting"

step "after the upgrade: the backlog reaches the hub"
start_hub hub-2
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/agent.properties --once 2>&1) || {
  printf '%s\n' "$out"
  fail "exportsync-agent --once after the upgrade"
}
expect_in "$out" "sync: ok" "the upgraded agent synced"
[ "$(store_query "SELECT count(*) FROM _changes")" -eq 0 ] || fail "changes still wait after the sync"
items=$(store_query "SELECT count(*) FROM example__items")
hub_items=$(($(http GET "$hub/api/v1/datasets/example/items.csv?region=MA-06" "$token" | grep -c .) - 1))
hub_runs=$(($(http GET "$hub/api/v1/datasets/example/runs.csv?region=MA-06" "$token" | grep -c .) - 1))
[ "$hub_items" -eq "$items" ] || fail "the hub holds $hub_items items, the agent $items"
[ "$hub_runs" -eq $((runs + 1)) ] || fail "the hub holds $hub_runs runs, expected $((runs + 1))"
ok "hub: $hub_items items, $hub_runs runs; nothing waits"
stop_hub

step "a store newer than the binary is refused, untouched"
in_root install -d -o exportsync -g exportsync -m 0750 /var/lib/exportsync-newer
cp "$root"/var/lib/exportsync/agent.db* "$root/var/lib/exportsync-newer/"
sqlite3 "$root/var/lib/exportsync-newer/agent.db" "PRAGMA user_version = 99" >/dev/null
in_root chown -R exportsync:exportsync /var/lib/exportsync-newer
cat >"$root/etc/exportsync/newer.properties" <<'EOF'
agent.region = MA-06
agent.state_dir = /var/lib/exportsync-newer
plugins.dir = /usr/lib/exportsync/plugins
plugins.enabled = example
status.listen = off
EOF
sum=$(sha /var/lib/exportsync-newer/agent.db)
rc=0
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/newer.properties --once 2>&1) || rc=$?
[ "$rc" -eq 70 ] || { printf '%s\n' "$out"; fail "exit $rc on a newer store, expected 70"; }
expect_in "$out" "has schema version 99 but this agent supports up to" "the newer store is refused"
expect_in "$out" "written by a newer agent" "the refusal says why"
[ "$(sha /var/lib/exportsync-newer/agent.db)" = "$sum" ] || fail "the newer store was modified"
ok "the newer store is unchanged"
out=$(as_user exportsync exportsync-agent --config /etc/exportsync/newer.properties --check-config 2>&1) &&
  fail "--check-config passed on a newer store"
expect_in "$out" "PROBLEM: store '/var/lib/exportsync-newer/agent.db' has schema version 99" \
  "--check-config names the newer store"
rm -rf "$root/var/lib/exportsync-newer" "$root/etc/exportsync/newer.properties"

# --- 6. remove, purge -------------------------------------------------------------------------
step "remove (data kept), then purge (data gone)"
in_root apt-get remove -y -q exportsync-plugins exportsync-agent >"$work/apt-remove.log" 2>&1 ||
  { tail -n 20 "$work/apt-remove.log"; fail "apt-get remove"; }
in_root test ! -e /usr/bin/exportsync-agent || fail "exportsync-agent still installed after remove"
for f in /var/lib/exportsync/agent.db /var/lib/exportsync/credentials.properties /etc/exportsync/agent.properties; do
  in_root test -f "$f" || fail "$f is gone after remove (only purge may delete it)"
done
ok "remove keeps the store, the credential and the config"
rm -f "$root/etc/exportsync/package-test.properties" # the admin's own file: not the package's
in_root apt-get purge -y -q exportsync-agent exportsync-plugins exportsync-hub exportsync-sdk-dev \
  >"$work/apt-purge.log" 2>&1 || { tail -n 20 "$work/apt-purge.log"; fail "apt-get purge"; }
[ -z "$(in_root dpkg-query -W -f='${Package} ${Status}\n' 'exportsync-*' 2>/dev/null | grep -v 'not-installed')" ] ||
  fail "packages left after purge: $(in_root dpkg-query -W 'exportsync-*')"
remains=$(cd "$root" && find . -path ./proc -prune -o -path ./tmp -prune -o \
  \( -name '*exportsync*' -o -path './etc/exportsync*' \) -print | sed 's/^\.//' || true)
if [ -n "$remains" ]; then
  printf 'left after purge:\n%s\n' "$remains"
  fail "files are left after purge"
fi
ok "purge: no file or folder named exportsync is left"
ok "what remains: the system users $(in_root getent passwd exportsync exportsync-hub | cut -d: -f1 | paste -sd' ') (Debian keeps system users)"

unmount_root
remove_root
step "package test passed"
