#!/usr/bin/env bash
# The main job until the sync issue lands: the agent collects the sample data with its plugins
# and prints what it stored. Usage: installer/demo.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: installer/demo.sh BUILD_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
work="$build/demo"
rm -rf "$work"
mkdir -p "$work/state" "$work/inbox"
chmod 0755 "$work" "$work/state"
cp "$here"/config/samples/example/*.csv "$work/inbox/"
cat > "$work/agent.properties" <<PROPS
agent.region = MA-06
agent.state_dir = $work/state
plugins.dir = $build/plugins
plugins.enabled = example
plugin.example.rows = 10
plugin.example.inbox = $work/inbox
log.level = notice
PROPS
echo "== plugins found"
"$build/agent/exportsync-agent" --config "$work/agent.properties" --list-plugins
echo "== one collect cycle"
"$build/agent/exportsync-agent" --config "$work/agent.properties" --once
echo "== what the store holds (sqlite3 $work/state/agent.db)"
sqlite3 -header -column "$work/state/agent.db" \
  "SELECT id, label, quantity, unit_price/100.0 AS price_mad FROM example__items ORDER BY id LIMIT 20;"
echo "== files handed over: $(ls "$work/inbox/done" | tr '\n' ' ')"
