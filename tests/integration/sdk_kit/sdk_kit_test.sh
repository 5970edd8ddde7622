#!/usr/bin/env bash
# The plugin author kit end to end (issue #4), step by step as docs/plugin-guide.md tells a plugin
# author, from nothing to a plugin the agent has run:
#   1. install the SDK to a prefix          cmake --install BUILD --component sdk --prefix P
#   2. copy the template                    cp -r P/share/exportsync-sdk/template my-plugin
#   3. build it out of tree                 cmake -S my-plugin -B build -DCMAKE_PREFIX_PATH=P
#      (Release, warnings as errors)        cmake --build build
#   4. unit test it with the harness        ctest --test-dir build
#   5. check it                             P/bin/exportsync-plugin-check build/my-plugin.so --sample …
#   6. install it into a plugin folder (0755), enable it in agent.properties, then
#      exportsync-agent --list-plugins and --once, and look at the rows in the store.
# Usage: sdk_kit_test.sh BUILD_DIR WORK_DIR [CXX_COMPILER]
# BUILD_DIR is a built ExportSync tree (the SDK targets, exportsync-agent, es_package_files).
# WORK_DIR is emptied first and removed when the test passes.
set -euo pipefail

build=$(cd "${1:?usage: sdk_kit_test.sh BUILD_DIR WORK_DIR [CXX_COMPILER]}" && pwd)
work=${2:?usage: sdk_kit_test.sh BUILD_DIR WORK_DIR [CXX_COMPILER]}
cxx=${3:-}
agent=$build/agent/exportsync-agent
started=$SECONDS

step() { printf '\n== [%3ds] %s\n' $((SECONDS - started)) "$*"; }
ok() { printf 'ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*" >&2
  printf '(work folder kept: %s)\n' "$work" >&2
  exit 1
}
# expect_in NAME TEXT NEEDLE: TEXT must contain NEEDLE.
expect_in() {
  if [[ "$2" != *"$3"* ]]; then
    printf '%s\n' "$2" >&2
    fail "$1: expected to find: $3"
  fi
  ok "$1: $3"
}

[ -x "$agent" ] || fail "$agent is not built; build the ExportSync tree first"
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
sdk=$work/sdk
src=$work/my-plugin
plugin_build=$work/my-plugin/build
office=$work/office

step "1. install the SDK: cmake --install --component sdk --prefix $sdk"
cmake --install "$build" --component sdk --prefix "$sdk" >"$work/install.log" 2>&1 ||
  fail "SDK install failed: $(tail -5 "$work/install.log")"
for f in lib/cmake/ExportSyncSDK/ExportSyncSDKConfig.cmake include/exportsync/plugin.hpp \
  include/exportsync/testing/harness.hpp bin/exportsync-plugin-check \
  share/exportsync-sdk/template/CMakeLists.txt; do
  [ -e "$sdk/$f" ] || fail "the SDK install lacks $f"
done
ok "SDK installed: package, headers, harness, exportsync-plugin-check, template"

step "2. copy the template"
cp -r "$sdk/share/exportsync-sdk/template" "$src"
ok "template copied to $src"

step "3. build it out of tree (Release, no sanitizers, warnings as errors)"
configure=(cmake -S "$src" -B "$plugin_build" -DCMAKE_PREFIX_PATH="$sdk"
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_COMPILE_WARNING_AS_ERROR=ON)
if [ -n "$cxx" ]; then
  configure+=(-DCMAKE_CXX_COMPILER="$cxx")
fi
"${configure[@]}" >"$work/configure.log" 2>&1 || fail "configure failed: $(tail -20 "$work/configure.log")"
cmake --build "$plugin_build" --parallel 2 >"$work/build.log" 2>&1 ||
  fail "build failed: $(tail -40 "$work/build.log")"
[ -f "$plugin_build/my-plugin.so" ] || fail "no $plugin_build/my-plugin.so after the build"
ok "built $plugin_build/my-plugin.so"

step "4. unit test it with the harness: ctest --test-dir build"
if [ -f "$plugin_build/CTestTestfile.cmake" ]; then
  ctest --test-dir "$plugin_build" --output-on-failure >"$work/ctest.log" 2>&1 ||
    fail "the template's unit tests failed: $(tail -40 "$work/ctest.log")"
  expect_in "template unit tests" "$(cat "$work/ctest.log")" "100% tests passed"
else
  fail "the template's unit tests were not configured (GoogleTest not found?)"
fi

step "5. check it: exportsync-plugin-check build/my-plugin.so --sample samples/exportateurs.csv"
set +e
check_out=$("$sdk/bin/exportsync-plugin-check" "$plugin_build/my-plugin.so" \
  --sample "$src/samples/exportateurs.csv" 2>"$work/check.err")
check_rc=$?
set -e
printf '%s\n' "$check_out" >"$work/check.out"
[ "$check_rc" -eq 0 ] || fail "exportsync-plugin-check exited $check_rc: $(cat "$work/check.err")"
expect_in "plugin-check" "$check_out" "plugin      my-plugin 1.0.0"
expect_in "plugin-check" "$check_out" "exporters v1 (11 columns, key exporter_id)"
expect_in "plugin-check" "$check_out" "export_flows v1 (7 columns, key exporter_id, hs_code, destination, period)"
expect_in "plugin-check" "$check_out" "collect run ok: 8 upserted, 0 removed, 1 rejected"
expect_in "plugin-check" "$check_out" "exporters: 3 rows"
expect_in "plugin-check" "$check_out" "export_flows: 4 rows"
expect_in "plugin-check" "$check_out" "rejected  exportateurs.csv:6 column 'Mois'"
expect_in "plugin-check" "$check_out" "OK: my-plugin passed every check"

step "6. install into the agent's plugin folder and run it"
install -d -m 0755 "$office" "$office/plugins" "$office/state"
install -d -m 0750 "$office/inbox"
install -m 0755 "$plugin_build/my-plugin.so" "$office/plugins/"
mode=$(stat -c %a "$office/plugins/my-plugin.so")
[ "$mode" = 755 ] || fail "plugin file mode is $mode, expected 755"
cp "$src/samples/exportateurs.csv" "$office/inbox/"
cat >"$office/agent.properties" <<PROPS
agent.region = MA-07
agent.state_dir = $office/state
plugins.dir = $office/plugins
plugins.enabled = my-plugin
plugin.my-plugin.inbox = $office/inbox
log.level = warning
PROPS

set +e
list_out=$("$agent" --config "$office/agent.properties" --list-plugins 2>"$work/list.err")
list_rc=$?
set -e
[ "$list_rc" -eq 0 ] || fail "--list-plugins exited $list_rc: $list_out $(cat "$work/list.err")"
expect_in "--list-plugins" "$list_out" \
  "my-plugin 1.0.0  loaded, enabled  datasets: exporters(v1, 11 columns) export_flows(v1, 7 columns)"

set +e
once_out=$("$agent" --config "$office/agent.properties" --once 2>"$work/once.err")
once_rc=$?
set -e
[ "$once_rc" -eq 0 ] || fail "--once exited $once_rc: $once_out $(cat "$work/once.err")"
expect_in "--once" "$once_out" "ok      my-plugin: 8 upserted, 0 removed, 1 rejected"
expect_in "--once" "$once_out" "rejected exportateurs.csv:6 column 'Mois'"
expect_in "--once" "$once_out" "my-plugin/exporters: 3 rows"
expect_in "--once" "$once_out" "my-plugin/export_flows: 4 rows"
[ -f "$office/inbox/done/exportateurs.csv" ] || fail "the sample did not move to inbox/done/"
[ -f "$office/inbox/rejected/exportateurs.csv.errors.csv" ] || fail "no errors.csv in inbox/rejected/"
ok "sample moved to done/, its bad line listed in rejected/exportateurs.csv.errors.csv"

if command -v sqlite3 >/dev/null; then
  rows=$(sqlite3 "$office/state/agent.db" \
    "SELECT exporter_id || '|' || name || '|' || region FROM my_plugin__exporters ORDER BY 1;")
  expect_in "store" "$rows" "001525148000067|Atlas Tapis|MA-07"
  flows=$(sqlite3 "$office/state/agent.db" "SELECT count(*) FROM my_plugin__export_flows;")
  [ "$flows" = 4 ] || fail "store: $flows export_flows rows, expected 4"
  ok "store: 4 export_flows rows"
fi

step "done in $((SECONDS - started)) s"
rm -rf "$work"
