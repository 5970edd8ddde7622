#!/usr/bin/env bash
# Checks that `systemd-analyze security --offline=true` rates every unit in a folder at or
# below a maximum exposure (0 = locked down, 10 = unprotected), and that the unit files verify.
# Usage: unit_security_test.sh UNIT_DIR MAX_EXPOSURE
set -euo pipefail
dir=${1:?usage: unit_security_test.sh UNIT_DIR MAX_EXPOSURE}
max=${2:?usage: unit_security_test.sh UNIT_DIR MAX_EXPOSURE}

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is missing (bash installer/setup-dev.sh installs systemd)"
  exit 77
fi

fail=0
units=("$dir"/*.service)
[ -e "${units[0]}" ] || { echo "FAIL: no *.service in $dir"; exit 1; }
for unit in "${units[@]}"; do
  name=$(basename "$unit")
  out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
  line=$(printf '%s\n' "$out" | grep "Overall exposure level for $name:" || true)
  score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
  if [ -z "$score" ]; then
    printf '%s\n' "$out"
    echo "FAIL: $name: no exposure level in the output of systemd-analyze security"
    fail=1
    continue
  fi
  if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
    echo "ok: $name exposure $score (at most $max)"
  else
    printf '%s\n' "$out" | grep "✗" || true
    echo "FAIL: $name exposure $score is above $max"
    fail=1
  fi
  # The directives the issue asks for, each present.
  for d in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths= ProtectHome=yes PrivateTmp=yes \
    PrivateDevices=yes 'CapabilityBoundingSet=$' RestrictAddressFamilies= \
    'SystemCallFilter=@system-service' MemoryDenyWriteExecute=yes 'Restart=on-failure' \
    'ExecReload=' '^User=' ; do
    if ! grep -q -E "^${d#^}" "$unit"; then
      echo "FAIL: $name lacks $d"
      fail=1
    fi
  done
done
exit $fail
