#!/usr/bin/env bash
# `make bench-component`: builds bench/hello.c as a wasm32-wasi core module
# and, with jco (scripts/components-setup.sh), as a WASI 0.2 command
# component through the preview-1 adapter (jco new --wasi-command), and
# bench/p2's pair (bench/p2/build.sh: the same freestanding program written
# to preview 1 and to WASI 0.2, no adapter); then runs BUILD/bench/component
# on each pair, in the interpreter and in the native tier.
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
mapfile -t p2 < <("$root/bench/p2/build.sh" "$build")
pairs=("$out/hello.wasm" "$out/hello.component.wasm" "${p2[0]}" "${p2[1]}")
titles=("bench/hello.c (wasi-libc); the component through the preview-1 adapter"
    "bench/p2 (freestanding); the component written to WASI 0.2")
for i in 0 1; do
    mod=${pairs[$((2 * i))]} comp=${pairs[$((2 * i + 1))]}
    [ "$i" -gt 0 ] && echo
    echo "## ${titles[$i]}"
    echo
    "$out/component" "$mod" "$comp" "$iters"
    # The same with the native tier (docs/native.md), unless BENCH_NATIVE=0;
    # its own cache, filled by the first run (whose load times include
    # compiling).
    if [ "${BENCH_NATIVE:-1}" != 0 ]; then
        echo
        SPRY_CACHE_DIR="$out/native-cache" "$out/component" --native "$mod" "$comp" 10 >/dev/null
        SPRY_CACHE_DIR="$out/native-cache" "$out/component" --native "$mod" "$comp" "$iters"
    fi
done
