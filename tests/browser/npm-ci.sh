#!/bin/sh
# Installs the browser tests' npm dependencies (package-lock.json, playwright-core only: it
# downloads no browser) into a folder of the build tree, with the npm cache in the build tree
# too, so a second run is offline. Skipped when the lock file did not change since the last run.
#
#   npm-ci.sh <tests/browser source folder> <destination folder>
set -eu
src=$1
dest=$2
if ! command -v npm >/dev/null 2>&1; then
  echo "npm-ci: npm is not installed; run installer/setup-dev.sh (it installs nodejs and npm)" >&2
  exit 1
fi
mkdir -p "$dest"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
want=$(sha256sum "$dest/package-lock.json" | cut -d' ' -f1)
stamp="$dest/node_modules/.exportsync-lock.sha256"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   [ -f "$dest/node_modules/playwright-core/package.json" ]; then
  echo "npm-ci: $dest/node_modules is up to date with package-lock.json"
  exit 0
fi
cd "$dest"
# --ignore-scripts: no install script runs (playwright-core has none; it must not fetch browsers).
npm ci --cache "$dest/npm-cache" --prefer-offline --no-audit --no-fund --ignore-scripts \
  --loglevel=error
echo "$want" > "$stamp"
echo "npm-ci: installed $(node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null || echo '?') playwright-core in $dest"
