#!/usr/bin/env bash
# The two quick-start commands (README): `installer/dev.sh demo` and `installer/dev.sh test`.
# Each installs the Debian packages it needs (idempotent), builds, and runs. Run as root on
# Debian 12.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

usage() { echo "usage: installer/dev.sh demo|test" >&2; exit 64; }
[ $# -eq 1 ] || usage

bash installer/setup-dev.sh

case "$1" in
  demo)
    cmake --preset release >/dev/null
    cmake --build --preset release -j"$(nproc)"
    exec bash installer/demo.sh "$here/build/release"
    ;;
  test)
    cmake --preset dev >/dev/null
    cmake --build --preset dev -j"$(nproc)"
    cmake --build --preset dev --target format-check
    # libFuzzer smoke run of the batch decoder (clang build of its own, see tests/fuzz/run-smoke).
    bash tests/fuzz/run-smoke 30 2>&1 | tail -n 20
    ctest --preset dev
    ;;
  *) usage ;;
esac
