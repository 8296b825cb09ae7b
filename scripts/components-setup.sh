#!/usr/bin/env bash
# Installs the component guest toolchain (tests/components/package.json:
# @bytecodealliance/jco, with @bytecodealliance/preview2-shim pinned to 0.25.0)
# with `npm ci` into BUILD/npm, outside the source tree, and prints the path
# of the jco command on stdout.
#
# Usage: scripts/components-setup.sh [BUILD]     (default: build)
#
# Idempotent: BUILD/npm/.stamp holds the checksum of package.json and
# package-lock.json; while it matches and jco is there, nothing runs.
# `npm ci --prefer-offline` takes what the npm cache already holds, so a
# machine that installed once needs no network afterwards (NPM_CONFIG_CACHE
# chooses another cache). Progress goes to stderr.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
src="$root/tests/components"
dest="$build/npm"
jco="$dest/node_modules/.bin/jco"

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "components-setup: $tool missing (scripts/deps.sh installs Debian's nodejs and npm)" >&2
        exit 2
    }
done

# jco 1.35's dependencies (rolldown, commander 14) need node 20.19 or newer;
# Debian 12's own nodejs is 18, so such a machine needs node from elsewhere.
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || {
    echo "components-setup: node $(node --version) is too old: jco 1.35 needs node >= 20.19" >&2
    exit 2
}

sum=$(cat "$src/package.json" "$src/package-lock.json" "$src/.npmrc" | sha256sum | cut -d' ' -f1)
if [ -x "$jco" ] && [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$sum" ]; then
    echo "$jco"
    exit 0
fi

mkdir -p "$dest"
rm -f "$dest/.stamp"
cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dest/"
echo "components-setup: npm ci in $dest" >&2
(cd "$dest" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2)
[ -x "$jco" ] || { echo "components-setup: npm ci did not install jco" >&2; exit 1; }
version=$("$jco" --version)
echo "components-setup: jco $version" >&2
echo "$sum" >"$dest/.stamp"
echo "$jco"
