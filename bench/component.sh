#!/usr/bin/env bash
# `make bench-component`: builds bench/hello.c as a wasm32-wasi core module
# and, with jco (scripts/components-setup.sh), as a WASI 0.2 command
# component, then runs BUILD/bench/component on both.
# Usage: bench/component.sh BUILD [ITERATIONS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
iters=${2:-2000}
jco=$("$root/scripts/components-setup.sh" "$build")
out="$build/bench"
mkdir -p "$out"
if [ ! "$out/hello.wasm" -nt "$root/bench/hello.c" ]; then
    clang --target=wasm32-wasi -O2 -s "$root/bench/hello.c" -o "$out/hello.wasm"
fi
if [ ! "$out/hello.component.wasm" -nt "$out/hello.wasm" ]; then
    "$jco" new "$out/hello.wasm" --wasi-command -o "$out/hello.component.wasm" >&2
fi
"$out/component" "$out/hello.wasm" "$out/hello.component.wasm" "$iters"
# The same with the native tier (docs/native.md), unless BENCH_NATIVE=0; its
# own cache, filled by the first run (whose load times include compiling).
if [ "${BENCH_NATIVE:-1}" != 0 ]; then
    echo
    SPRY_CACHE_DIR="$out/native-cache" "$out/component" --native "$out/hello.wasm" \
        "$out/hello.component.wasm" 10 >/dev/null
    SPRY_CACHE_DIR="$out/native-cache" "$out/component" --native "$out/hello.wasm" \
        "$out/hello.component.wasm" "$iters"
fi
