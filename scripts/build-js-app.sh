#!/usr/bin/env bash
# Builds Spry's Spin JavaScript test app (tests/http-components/js/) the way
# Spin's http-js template does: esbuild bundles src/index.js (the Spin
# esbuild plugin marks the WIT imports external), then `j2w` from
# @spinframework/build-tools (componentize-js around StarlingMonkey) makes a
# component of the bundle, exporting wasi:http/incoming-handler@0.2.3.
#
#   BUILD/http-js/                          npm ci of package.json + lock, the
#                                           copied sources, bundle.js
#   BUILD/tests/http-components/js-app.wasm the component (~12 MB)
#   BUILD/tests/http-components/js-app.world its imports and exports as jco
#                                           lists them ("import wasi:io/poll@0.2.12")
#   BUILD/tests/http-components/spin.toml   a manifest serving it on /...
#
# Usage: scripts/build-js-app.sh [BUILD]     (default: build)
#
# Cached: npm ci runs again only when package.json, package-lock.json or
# .npmrc change (BUILD/http-js/.stamp); the component is rebuilt only when a
# source, the toolchain or this script is newer than it. Prints the path of
# the component on stdout; progress goes to stderr. Exit status 2, with one
# "build-js-app: SKIP ..." line on stderr, when node >= 20.19 or npm is
# missing (callers skip with that reason); any other failure is an error.
# `npm ci --prefer-offline` takes what the npm cache holds, so a machine that
# installed once needs no network afterwards.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
src="$root/tests/http-components/js"
work="$build/http-js"
out="$build/tests/http-components"
app="$out/js-app.wasm"

for tool in node npm; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "build-js-app: SKIP $tool missing (the Spin JS toolchain needs node >= 20.19 and npm)" >&2
        exit 2
    }
done
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
         process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' || {
    echo "build-js-app: SKIP node $(node --version) is too old: the Spin JS toolchain (jco 1.35) needs node >= 20.19" >&2
    exit 2
}

# ---- the toolchain -------------------------------------------------------------
sum=$(cat "$src/package.json" "$src/package-lock.json" "$src/.npmrc" | sha256sum | cut -d' ' -f1)
if [ ! -x "$work/node_modules/.bin/j2w" ] || [ "$(cat "$work/.stamp" 2>/dev/null)" != "$sum" ]; then
    mkdir -p "$work"
    rm -f "$work/.stamp"
    cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$work/"
    echo "build-js-app: npm ci in $work" >&2
    (cd "$work" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2)
    [ -x "$work/node_modules/.bin/j2w" ] || { echo "build-js-app: npm ci did not install j2w" >&2; exit 1; }
    echo "$sum" >"$work/.stamp"
fi

# ---- the app -------------------------------------------------------------------
fresh=1
[ -f "$app" ] || fresh=0
for f in "$src"/src/* "$src/build.mjs" "$0" "$work/.stamp"; do
    [ "$fresh" -eq 1 ] && [ "$f" -nt "$app" ] && fresh=0
done
if [ "$fresh" -eq 0 ]; then
    # Node resolves the build's imports next to build.mjs, and the Spin build
    # tools read the WIT worlds from the package.json of their working
    # directory: both live in $work.
    rm -rf "$work/src" "$work/out"
    cp -r "$src/src" "$src/build.mjs" "$work/"
    mkdir -p "$work/out" "$out"
    start=$(date +%s)
    (cd "$work" && node build.mjs src out >&2)
    (cd "$work" && node_modules/.bin/j2w -i out/bundle.js -o out/js-app.wasm >&2)
    # j2w reports its errors but exits 0: the output file is the proof.
    [ -s "$work/out/js-app.wasm" ] || { echo "build-js-app: j2w wrote no component" >&2; exit 1; }
    # What jco (wasm-tools) says the component imports and exports, one
    # "import NAME" / "export NAME" per line: the unit test
    # component.js_app_imports compares Spry's decoder with it.
    "$work/node_modules/.bin/jco" wit "$work/out/js-app.wasm" |
        sed -n 's/^ *\(import\|export\) \([^ ;]*\);$/\1 \2/p' >"$work/out/js-app.world"
    [ -s "$work/out/js-app.world" ] || { echo "build-js-app: jco wit listed nothing" >&2; exit 1; }
    mv "$work/out/js-app.world" "$out/js-app.world"
    mv "$work/out/js-app.wasm" "$app"
    echo "build-js-app: built $app ($(stat -c %s "$app") bytes) in $(($(date +%s) - start)) s" >&2
fi
cat >"$out/spin.toml" <<'TOML'
# Written by scripts/build-js-app.sh: Spry's Spin JavaScript test app.
spin_manifest_version = 2

[application]
name = "spry-js-app"
version = "0.1.0"

[[trigger.http]]
route = "/..."
component = "js-app"

[component.js-app]
source = "js-app.wasm"
# The outbound route's tests reach servers they start on the loopback.
allowed_outbound_hosts = ["http://127.0.0.1:*"]
TOML
echo "$app"
