#!/usr/bin/env bash
# The main job: a hub and several regional agents on loopback. Each agent takes its region's
# overlay (config/regions/MA-NN.properties) and the sample files of its plugins
# (config/samples/<plugin>/<MA-NN>/), collects them, enrols with a one-time code and syncs to
# the hub; then a summary per region (rows collected, rejected, synced) and the dashboard URL.
# "upserted" counts the rows the plugins handed to the store (a row given twice counts twice),
# "rejected" the input rows refused with a reason, "synced" the changes the hub acknowledged.
#
# Usage: installer/demo.sh BUILD_DIR [--once]
#   stays up until Ctrl-C; with --once, exits after the first full sync: 0 when every agent
#   collected without a failed plugin and has nothing left to send, 1 otherwise.
# Everything lives in BUILD_DIR/demo (made afresh on each start). Ports are picked by the
# system and written to files, so several demos or tests never collide.
set -euo pipefail

build=$(cd "${1:?usage: installer/demo.sh BUILD_DIR [--once]}" && pwd)
once=0
[ "${2:-}" = "--once" ] && once=1
here=$(cd "$(dirname "$0")/.." && pwd)
work="$build/demo"
agent_exe="$build/agent/exportsync-agent"
hub_exe="$build/central/exportsync-hub"
plugin_dir="$build/plugins"

# The offices of the demo; each runs the plugins its region overlay enables.
offices=(MA-06 MA-07 MA-09 MA-03)

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

die() { echo "demo: $*" >&2; exit 1; }
for exe in "$agent_exe" "$hub_exe"; do [ -x "$exe" ] || die "$exe is missing; build first"; done

# Waits until FILE exists (a port file), at most 20 s.
wait_file() {
  for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.1; done
  die "$2 did not start; see $3"
}

rm -rf "$work"
mkdir -p "$work/hub"
chmod 0700 "$work" "$work/hub"

# --- the hub ---------------------------------------------------------------------------------
cat > "$work/hub/hub.properties" <<PROPS
hub.listen = 127.0.0.1:0
hub.port_file = $work/hub/port
hub.data_dir = $work/hub
log.target = file
log.file = $work/hub/hub.log
log.level = notice
PROPS
token=$("$hub_exe" --config "$work/hub/hub.properties" --create-admin-token demo | tail -n 1)
# A dashboard account with a fresh password (kept in the demo folder, 0600).
password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
(umask 077 && printf '%s\n' "$password" > "$work/hub/admin-password")
"$hub_exe" --config "$work/hub/hub.properties" --create-admin admin \
  --password-file "$work/hub/admin-password" > /dev/null
"$hub_exe" --config "$work/hub/hub.properties" >> "$work/hub/hub.out" 2>&1 &
pids+=($!)
wait_file "$work/hub/port" "the hub" "$work/hub/hub.log"
hub="http://127.0.0.1:$(cat "$work/hub/port")"
admin() { curl -fsS --max-time 10 -H "Authorization: Bearer $token" "$@"; }

# --- the offices -----------------------------------------------------------------------------
for region in "${offices[@]}"; do
  home="$work/$region"
  mkdir -p "$home/state" "$home/regions"
  chmod 0700 "$home/state"
  cp "$here/config/regions/$region.properties" "$home/regions/"
  code=$(admin -X POST -H 'Content-Type: application/json' \
    -d "{\"region\": \"$region\", \"ttl_s\": 3600}" "$hub/api/v1/admin/enrolment-codes" |
    jq -r .code)
  {
    echo "include = regions/$region.properties"
    echo "agent.state_dir = $home/state"
    echo "plugins.dir = $plugin_dir"
    echo "log.target = file"
    echo "log.file = $home/agent.log"
    echo "log.level = notice"
    echo "status.listen = 127.0.0.1:0"
    echo "sync.hub_url = $hub"
    echo "sync.enrol_code = $code"
    echo "sync.heartbeat_s = 10"
  } > "$home/agent.properties"
  # Each plugin of the region reads its inbox; the region's sample files go there, and a
  # plugin's own settings for the region (e.g. csv-generic's mapping) are appended.
  for plugin in $(sed -n 's/^plugins\.enabled *= *//p' "$home/regions/$region.properties" |
    tr ',' ' '); do
    inbox="$home/inbox/$plugin"
    mkdir -p "$inbox"
    echo "plugin.$plugin.inbox = $inbox" >> "$home/agent.properties"
    echo "plugin.$plugin.interval_s = 60" >> "$home/agent.properties"
    samples="$here/config/samples/$plugin/$region"
    if [ -d "$samples" ]; then
      find "$samples" -maxdepth 1 -type f ! -name '*.properties' -exec cp {} "$inbox/" \;
      if [ -f "$samples/$plugin.properties" ]; then
        sed "s|@INBOX@|$inbox|g" "$samples/$plugin.properties" >> "$home/agent.properties"
      fi
    fi
  done
  "$agent_exe" --config "$home/agent.properties" >> "$home/agent.out" 2>&1 &
  pids+=($!)
done

# --- wait for the first full sync ------------------------------------------------------------
status_of() {
  local port_file="$work/$1/state/status.port"
  [ -s "$port_file" ] || return 1
  curl -fsS --max-time 5 "http://127.0.0.1:$(cat "$port_file")/status" 2>/dev/null
}
# An office is done when every enabled plugin has run once and nothing is left to send.
office_done() {
  status_of "$1" | jq -e '
    ([.plugins[] | select(.enabled) | has("last_result")] | all) and
    (.backlog_rows == 0) and (.sync.acked_seq > 0 or
      ([.plugins[] | select(.enabled) | .rows_upserted + .rows_removed] | add) == 0)' \
    > /dev/null 2>&1
}
deadline=$((SECONDS + 120))
pending=("${offices[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  [ $SECONDS -lt $deadline ] || break
  left=()
  for region in "${pending[@]}"; do office_done "$region" || left+=("$region"); done
  pending=("${left[@]+"${left[@]}"}")
  [ ${#pending[@]} -eq 0 ] || sleep 0.5
done

# --- summary ---------------------------------------------------------------------------------
failed=0
echo
printf '%-6s %-28s %-34s %9s %9s %9s  %s\n' region name plugins upserted rejected synced state
for region in "${offices[@]}"; do
  s=$(status_of "$region" || echo '{}')
  IFS=$'\t' read -r name plugins collected rejected synced backlog state bad < <(echo "$s" | jq -r '
    [ (.region_name_fr // "?"),
      ([.plugins[]? | select(.enabled) | .name] | join(",")),
      ([.plugins[]? | select(.enabled) | .rows_upserted // 0] | add // 0),
      ([.plugins[]? | select(.enabled) | .rows_rejected // 0] | add // 0),
      (.sync.rows_sent // 0), (.backlog_rows // -1), (.sync.state // "down"),
      ([.plugins[]? | select(.enabled and .last_result != "ok")] | length) ] | @tsv')
  status="synced"
  if [ "$backlog" != 0 ]; then status="NOT SYNCED (backlog $backlog, sync $state)"; failed=1; fi
  if [ "$bad" != 0 ]; then status="$status, $bad plugin(s) FAILED"; failed=1; fi
  printf '%-6s %-28s %-34s %9s %9s %9s  %s\n' "$region" "$name" "$plugins" \
    "$collected" "$rejected" "$synced" "$status"
done
echo
echo "hub: $hub"
echo "dashboard: $hub/   (user admin, password $password; also in $work/hub/admin-password)"
echo "admin API token (for curl -H 'Authorization: Bearer ...'): $token"
echo "rejected rows: $work/MA-*/inbox/*/rejected/*.errors.csv"
echo "logs: $work/hub/hub.log, $work/MA-*/agent.log"

if [ $once -eq 1 ]; then
  [ $failed -eq 0 ] || echo "demo: something failed; see the logs above" >&2
  exit $failed
fi
echo
echo "running; Ctrl-C stops the hub and the agents"
while true; do sleep 3600; done
