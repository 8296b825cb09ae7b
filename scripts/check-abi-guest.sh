#!/usr/bin/env bash
# Builds the canonical-ABI test component (scripts/build-abi-guest.sh) and
# checks it on jco's JavaScript bindings (tests/components/abi/check-jco.mjs):
# the guest and tests/components/abi/README.md against an independent ABI
# implementation. utf8 and utf16 only: jco transpile has no latin1+utf16.
#
# Usage: scripts/check-abi-guest.sh [BUILD]     (default: build)
# Ends with "N passed, N failed, N skipped" (summed); exit 1 on a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
"$root/scripts/build-abi-guest.sh" "$build" >/dev/null
jco="$build/npm/node_modules/.bin/jco"
js="$build/npm/transpiled"
mkdir -p "$js"
[ -f "$js/package.json" ] || echo '{ "type": "module" }' >"$js/package.json"
p=0 f=0 s=0 status=0
for v in utf8 utf16; do
    comp="$build/components/abi/abi-$v.wasm"
    if [ ! "$js/abi-$v/abi.js" -nt "$comp" ]; then
        "$jco" transpile "$comp" -o "$js/abi-$v" --name abi --instantiation async -q >&2
    fi
    echo "== abi-$v"
    log=$(node --no-warnings "$root/tests/components/abi/check-jco.mjs" "$js/abi-$v") || status=1
    echo "$log"
    read -r a b c < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' <<<"$log")
    p=$((p + ${a:-0})) f=$((f + ${b:-1})) s=$((s + ${c:-0}))
done
echo "(abi-latin1-utf16 not checked: jco transpile has no latin1+utf16 string encoding)"
echo "$p passed, $f failed, $s skipped"
[ "$status" -eq 0 ] && [ "$f" -eq 0 ]
