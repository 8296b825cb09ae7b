#!/usr/bin/env bash
# Builds bench/component's second pair: hello_p1.c as a freestanding
# wasm32 core module written to WASI preview 1, and hello_p2.c as a command
# component written to WASI 0.2 (clang, then `jco embed` + `jco new`; no
# preview-1 adapter). Only rebuilds what is older than its sources or this
# script. Prints the two paths, module first.
#
# Usage: bench/p2/build.sh [BUILD]     (default: build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/bench/p2"
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
CLANG=${CLANG:-clang}
cflags=(--target=wasm32 -nostdlib -O2 -std=c17 -Wall -Wextra -Werror -Wl,--no-entry -s)
mod="$out/hello_p1.wasm"
comp="$out/hello_p2.component.wasm"
mkdir -p "$out"
if [ ! "$mod" -nt "$src/hello_p1.c" ] || [ ! "$mod" -nt "$0" ]; then
    "$CLANG" "${cflags[@]}" "$src/hello_p1.c" -o "$mod.tmp"
    mv "$mod.tmp" "$mod"
fi
newest=$(find -L "$src/hello_p2.c" "$src/wit" "$0" -type f -newer "$comp" 2>/dev/null | head -1 || true)
if [ ! -f "$comp" ] || [ -n "$newest" ]; then
    jco=$("$root/scripts/components-setup.sh" "$build")
    "$CLANG" "${cflags[@]}" "$src/hello_p2.c" -o "$out/hello_p2.core.wasm"
    "$jco" embed "$out/hello_p2.core.wasm" --wit "$src/wit" --world-name hello \
        -o "$out/hello_p2.embed.wasm" >&2
    "$jco" new "$out/hello_p2.embed.wasm" -o "$comp.tmp" >&2
    mv "$comp.tmp" "$comp"
fi
echo "$mod"
echo "$comp"
