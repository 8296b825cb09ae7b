#!/usr/bin/env bash
# Builds the canonical-ABI test component (tests/components/abi/: abi.c
# against wit/abi.wit) once per string encoding of its canon options:
#
#   BUILD/components/abi/abi-utf8.wasm            string-encoding=utf8
#   BUILD/components/abi/abi-utf16.wasm           string-encoding=utf16
#   BUILD/components/abi/abi-latin1-utf16.wasm    string-encoding=latin1+utf16
#   BUILD/components/abi/abi-exports.wasm         the guest interface alone
#                                                 (world `exports` of wit-exports/,
#                                                 utf8, no imports: for spry run --invoke)
#
# each from a freestanding wasm32 core module (clang, no libc, no WASI) with
# `jco embed --string-encoding` (utf8 | utf16 | compact-utf16) and `jco new`.
# Only rebuilds what is older than abi.c, the WIT or this script. Prints the
# components' paths.
#
# Usage: scripts/build-abi-guest.sh [BUILD]     (default: build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
src="$root/tests/components/abi"
out="$build/components/abi"
CLANG=${CLANG:-clang}
jco=$("$root/scripts/components-setup.sh" "$build")
mkdir -p "$out"

# name, STRING_ENCODING (abi.c), jco's --string-encoding
variants=("utf8 0 utf8" "utf16 1 utf16" "latin1-utf16 2 compact-utf16")
for v in "${variants[@]}"; do
    read -r name num enc <<<"$v"
    comp="$out/abi-$name.wasm"
    if [ "$comp" -nt "$src/abi.c" ] && [ "$comp" -nt "$src/wit/abi.wit" ] && [ "$comp" -nt "$0" ]; then
        echo "$comp"
        continue
    fi
    core="$out/abi-$name.core.wasm"
    "$CLANG" --target=wasm32 -nostdlib -O2 -std=c17 -Wall -Wextra -Werror \
        -DSTRING_ENCODING="$num" -c "$src/abi.c" -o "$out/abi-$name.o"
    "$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -s "$out/abi-$name.o" -o "$core"
    "$jco" embed "$core" --wit "$src/wit" --world-name abi --string-encoding "$enc" \
        -o "$out/abi-$name.embed.wasm" >&2
    "$jco" new "$out/abi-$name.embed.wasm" -o "$comp" >&2
    echo "$comp"
done

# The guest interface alone: abi.c without its imports and run().
comp="$out/abi-exports.wasm"
if ! { [ "$comp" -nt "$src/abi.c" ] && [ "$comp" -nt "$src/wit-exports/exports.wit" ] && [ "$comp" -nt "$0" ]; }; then
    core="$out/abi-exports.core.wasm"
    "$CLANG" --target=wasm32 -nostdlib -O2 -std=c17 -Wall -Wextra -Werror \
        -Wno-unused-function -DSTRING_ENCODING=0 -DABI_EXPORTS_ONLY -c "$src/abi.c" -o "$out/abi-exports.o"
    "$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -s "$out/abi-exports.o" -o "$core"
    "$jco" embed "$core" --wit "$src/wit-exports" --world-name exports --string-encoding utf8 \
        -o "$out/abi-exports.embed.wasm" >&2
    "$jco" new "$out/abi-exports.embed.wasm" -o "$comp" >&2
fi
echo "$comp"
