#!/usr/bin/env bash
# Installs every build and test dependency of ExportSync from Debian 12 packages.
# Idempotent: packages already present are left alone. Run as root.
set -euo pipefail

packages=(
  build-essential g++ cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  libpoco-dev libssl-dev
  libboost-dev libboost-filesystem-dev
  libzstd-dev zstd
  libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  openssl ca-certificates procps python3 curl jq
  # Packaging and the package test (tests/integration/install): CPack DEB, lintian, a Debian 12
  # root made with debootstrap, and systemd-analyze for the units' exposure score.
  dpkg-dev fakeroot lintian debootstrap debian-archive-keyring systemd util-linux
  # Dashboard browser tests (tests/browser): headless Chromium driven by playwright-core (npm).
  chromium nodejs npm
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-dev: run as root (apt-get needs it); e.g. sudo $0" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  # A nodejs from another source (e.g. NodeSource) already ships npm and conflicts with Debian's.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-dev: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup-dev: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
