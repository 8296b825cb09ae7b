#!/usr/bin/env bash
# Builds the hand-written wasi:http test handler (tests/http-components/:
# handler.c against wit/) into a component:
#
#   BUILD/components/http/handler.wasm
#   BUILD/components/http/nohandler.wasm   (nohandler.wat: exports no handler)
#
# from a freestanding wasm32 core module (clang, no libc, no WASI) with
# `jco embed` and `jco new`. Only rebuilds when it is older than its
# sources or this script. Prints the component's path.
#
# Usage: scripts/build-http-guest.sh [BUILD]     (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
src="$root/tests/http-components"
out="$build/components/http"
CLANG=${CLANG:-clang}
comp="$out/handler.wasm"
newest=$(find "$src" "$0" -type f -newer "$comp" 2>/dev/null | head -1 || true)
if [ -f "$comp" ] && [ -z "$newest" ]; then
    echo "$comp"
    exit 0
fi
jco=$("$root/scripts/components-setup.sh" "$build")
mkdir -p "$out"
"$CLANG" --target=wasm32 -nostdlib -O2 -std=c17 -Wall -Wextra -Werror \
    -c "$src/handler.c" -o "$out/handler.o"
"$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -s "$out/handler.o" -o "$out/handler.core.wasm"
"$jco" embed "$out/handler.core.wasm" --wit "$src/wit" --world-name handler \
    -o "$out/handler.embed.wasm" >&2
"$jco" new "$out/handler.embed.wasm" -o "$comp.tmp" >&2
"$jco" parse "$src/nohandler.wat" -o "$out/nohandler.wasm" >&2
mv "$comp.tmp" "$comp"
echo "$comp"
