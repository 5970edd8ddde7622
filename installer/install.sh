#!/usr/bin/env bash
# ExportSync office installer: installs the agent's Debian packages, sets the office's region
# and its hub, enrols the agent with a one-time code and starts the service. Run as root on
# Debian 12. See docs/operations.md.
#
#   install.sh [--debs DIR] [--region MA-NN] [--hub-url URL] [--enrol-code CODE]
#              [--ca-file FILE] [--yes]
#   install.sh --check
#
# Missing values are asked for (from a terminal), with the current configuration as default;
# --yes never asks: what is not given keeps its current value. Run again with --debs DIR to
# upgrade: the config, the store, the backlog and the credential are kept.
# --check changes nothing: it checks the configuration, the state folder, the store, the
# plugins, the credential and the hub, and says what is wrong and what to do.
set -euo pipefail

readonly CONFIG=/etc/exportsync/agent.properties
readonly STATE=/var/lib/exportsync
readonly CA_COPY=/etc/exportsync/hub-ca.pem
readonly AGENT_USER=exportsync

debs="" region="" hub_url="" code="" ca_file="" check=0 yes=0

say() { printf 'install: %s\n' "$*"; }
die() {
  printf 'install: ERROR: %s\n' "$*" >&2
  exit 1
}
usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 64
}

while [ $# -gt 0 ]; do
  case "$1" in
    --debs) debs=${2:?--debs needs a folder}; shift 2 ;;
    --region) region=${2:?--region needs a code (MA-01 .. MA-12)}; shift 2 ;;
    --hub-url) hub_url=${2:?--hub-url needs a URL}; shift 2 ;;
    --enrol-code | --enroll-code) code=${2:?--enrol-code needs a code}; shift 2 ;;
    --ca-file) ca_file=${2:?--ca-file needs a file}; shift 2 ;;
    --check) check=1; shift ;;
    --yes | -y) yes=1; shift ;;
    -h | --help) usage ;;
    *) printf 'install: unknown option %s\n' "$1" >&2; usage ;;
  esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and writes $CONFIG); e.g. sudo $0 $*"

interactive() { [ "$yes" -eq 0 ] && [ -t 0 ]; }
systemd_running() { [ -d /run/systemd/system ]; }

# Runs a command as the agent's user, so that what it creates (credential, store) is the agent's.
as_agent() { setpriv --reuid="$AGENT_USER" --regid="$AGENT_USER" --init-groups -- "$@"; }

# The value of `key` in the main config file (not its overlays); empty when unset.
get_key() {
  sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$CONFIG" | tail -n 1 | sed 's/[[:space:]]*$//'
}

# Sets `key = value` in the main config file: replaces the active line, or appends one.
set_key() {
  local key=$1 value=$2 tmp
  tmp=$(mktemp "$CONFIG.XXXXXX")
  if grep -q "^[[:space:]]*${key}[[:space:]]*=" "$CONFIG"; then
    awk -v k="$key" -v v="$value" '
      BEGIN { re = "^[[:space:]]*" k "[[:space:]]*=" }
      $0 ~ re { if (!done) { print k " = " v; done = 1 }; next }
      { print }' "$CONFIG" > "$tmp"
  else
    cat "$CONFIG" > "$tmp"
    printf '%s = %s\n' "$key" "$value" >> "$tmp"
  fi
  # Keep the packaged owner and mode (root:exportsync 0640): the config may hold a code.
  chown --reference="$CONFIG" "$tmp"
  chmod --reference="$CONFIG" "$tmp"
  mv "$tmp" "$CONFIG"
}

ask() {
  local prompt=$1 default=$2 answer
  read -r -p "$prompt${default:+ [$default]}: " answer
  printf '%s' "${answer:-$default}"
}

check_installation() {
  local rc=0
  if ! dpkg-query -W -f='${Status}' exportsync-agent 2>/dev/null | grep -q "install ok installed"; then
    say "PROBLEM: the exportsync-agent package is not installed; run: $0 --debs DIR"
    return 1
  fi
  say "package exportsync-agent $(dpkg-query -W -f='${Version}' exportsync-agent)" \
    "$(dpkg-query -W -f='${Status}' exportsync-plugins 2>/dev/null | grep -q 'install ok installed' &&
      echo "with exportsync-plugins $(dpkg-query -W -f='${Version}' exportsync-plugins)" ||
      echo "WITHOUT exportsync-plugins (no plugin to run)")"
  # The agent checks its own configuration, files, credential and hub, as its own user.
  as_agent exportsync-agent --config "$CONFIG" --check-config | sed 's/^/install: /' || rc=1
  if systemd_running; then
    local enabled active
    enabled=$(systemctl is-enabled exportsync-agent 2>/dev/null || true)
    active=$(systemctl is-active exportsync-agent 2>/dev/null || true)
    if [ "$active" = "active" ]; then
      say "ok: service exportsync-agent is active ($enabled)"
    else
      say "PROBLEM: service exportsync-agent is $active ($enabled); see: journalctl -u exportsync-agent -n 50; start it: systemctl enable --now exportsync-agent"
      rc=1
    fi
  else
    say "note: systemd is not running here; the service cannot be checked"
  fi
  return $rc
}

if [ "$check" -eq 1 ]; then
  if check_installation; then
    say "all checks passed"
    exit 0
  fi
  say "some checks failed: see PROBLEM above"
  exit 1
fi

# --- packages ---------------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
if [ -n "$debs" ]; then
  [ -d "$debs" ] || die "--debs '$debs' is not a folder"
  debs=$(cd "$debs" && pwd)
  files=()
  for pkg in exportsync-agent exportsync-plugins exportsync-hub exportsync-sdk-dev; do
    # The agent and its plugins always; the others only to upgrade them with the agent.
    case "$pkg" in exportsync-agent | exportsync-plugins) ;; *) installed "$pkg" || continue ;; esac
    newest=$(find "$debs" -maxdepth 1 -name "${pkg}_*.deb" | sort -V | tail -n 1)
    [ -n "$newest" ] || die "no ${pkg}_*.deb in $debs"
    files+=("$newest")
  done
  say "installing ${files[*]##*/}"
  # confold: a config the admin (or this script) changed is kept as it is.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${files[@]}"
elif ! installed exportsync-agent; then
  interactive && [ "$(ask "install exportsync-agent and exportsync-plugins with apt-get? (y/n)" y)" = y ] ||
    [ "$yes" -eq 1 ] || die "exportsync-agent is not installed; pass --debs DIR (the built .deb files)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q exportsync-agent exportsync-plugins
fi
[ -f "$CONFIG" ] || die "$CONFIG is missing; reinstall: apt-get install --reinstall -o Dpkg::Options::=--force-confmiss exportsync-agent"

# --- region and hub ---------------------------------------------------------------------------
current_region=$(get_key agent.region)
current_hub=$(get_key sync.hub_url)
if [ -z "$region" ] && interactive; then
  region=$(ask "region of this office (MA-01 .. MA-12)" "$current_region")
fi
if [ -z "$hub_url" ] && interactive; then
  hub_url=$(ask "hub URL (https://host:port)" "$current_hub")
fi
if [ -n "$region" ]; then
  [[ "$region" =~ ^MA-(0[1-9]|1[0-2])$ ]] || die "--region '$region' is not a region code; write MA-01 to MA-12"
  set_key agent.region "$region"
  # The region's overlay (its names and plugins), in place of any other region's in `include`.
  others=$(get_key include | tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' |
    grep -v -E '^(regions/)?MA-[0-9][0-9]\.properties$' | grep -v '^$' | paste -sd, - || true)
  if [ -f "/etc/exportsync/regions/$region.properties" ]; then
    set_key include "regions/$region.properties${others:+, $others}"
    say "region $region, with its overlay /etc/exportsync/regions/$region.properties"
  else
    if [ -n "$others" ]; then set_key include "$others"; else sed -i '/^[[:space:]]*include[[:space:]]*=/d' "$CONFIG"; fi
    say "region $region (no overlay /etc/exportsync/regions/$region.properties: set plugins.enabled in $CONFIG)"
  fi
fi
if [ -n "$hub_url" ]; then
  [[ "$hub_url" =~ ^https?://[^/]+ ]] || die "--hub-url '$hub_url' is not an http(s) URL; write https://host[:port]"
  set_key sync.hub_url "${hub_url%/}"
  say "hub ${hub_url%/}"
fi
if [ -n "$ca_file" ]; then
  [ -r "$ca_file" ] || die "--ca-file '$ca_file' cannot be read"
  grep -q "BEGIN CERTIFICATE" "$ca_file" || die "--ca-file '$ca_file' holds no PEM certificate"
  # A copy the service can read (it cannot see /home or /root).
  install -m 0644 -o root -g root "$ca_file" "$CA_COPY"
  set_key sync.ca_file "$CA_COPY"
  say "hub certificates verified with $CA_COPY"
fi

# The agent refuses a bad key with the key named (exit 78): better now than at start.
rc=0
msg=$(as_agent exportsync-agent --config "$CONFIG" --check-config 2>&1) || rc=$?
[ "$rc" -ne 78 ] || die "the configuration is refused: ${msg#exportsync-agent: }"

# --- enrolment --------------------------------------------------------------------------------
if [ -f "$STATE/credentials.properties" ]; then
  if [ -n "$code" ]; then
    say "already enrolled ($(sed -n 's/^agent_id *= *//p' "$STATE/credentials.properties")): the code is not used;" \
      "to enrol again, move $STATE/credentials.properties away first"
  fi
else
  if [ -z "$code" ] && interactive; then
    code=$(ask "one-time enrolment code from the central admins (empty: later)" "")
  fi
  if [ -n "$code" ]; then
    hub=$(get_key sync.hub_url)
    [ -n "$hub" ] || die "no hub URL to enrol with: pass --hub-url"
    as_agent exportsyncctl --config "$CONFIG" enroll --hub "$hub" --code "$code" | sed 's/^/install: /' ||
      die "enrolment failed (see above); ask the central admins for a new code if it was used or expired"
  else
    say "not enrolled: the agent collects offline until: runuser -u $AGENT_USER -- exportsyncctl enroll --hub URL --code CODE"
  fi
fi

# --- service ----------------------------------------------------------------------------------
if systemd_running; then
  systemctl enable exportsync-agent >/dev/null 2>&1 || die "systemctl enable exportsync-agent failed"
  # A restart, not a reload: the region is one of the keys that need one.
  systemctl restart exportsync-agent || true
  sleep 2
  if systemctl is-active --quiet exportsync-agent; then
    say "service exportsync-agent started"
  else
    journalctl -u exportsync-agent -n 20 --no-pager >&2 || true
    die "service exportsync-agent did not stay up; see above"
  fi
else
  say "systemd is not running here: start the agent with" \
    "runuser -u $AGENT_USER -- exportsync-agent --config $CONFIG"
fi

if check_installation; then
  say "done: all checks passed"
else
  say "installed, but some checks failed: see PROBLEM above (install.sh --check runs them again)"
  exit 2
fi
