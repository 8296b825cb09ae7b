#!/usr/bin/env bash
# Turns the hand-written component WAT of tests/components/compose/ into
# binaries with `jco parse` (wasm-tools parse): BUILD/components/compose/
# NAME.wasm, which the unit tests link_compose.* load.
#
# Usage: scripts/build-compose-tests.sh [BUILD]     (default: build)
#
# Only parses what is older than its .wat or this script. Exit status 2:
# node or npm is missing or too old (components-setup.sh), the tests skip.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
jco=$("$root/scripts/components-setup.sh" "$build") || exit $?
out="$build/components/compose"
mkdir -p "$out"
for wat in "$root"/tests/components/compose/*.wat; do
    name=$(basename "$wat" .wat)
    wasm="$out/$name.wasm"
    if [ "$wasm" -nt "$wat" ] && [ "$wasm" -nt "$0" ]; then
        continue
    fi
    "$jco" parse "$wat" -o "$wasm.tmp"
    mv "$wasm.tmp" "$wasm"
    echo "build-compose-tests: $wasm" >&2
done
