#!/usr/bin/env bash
# The `guests` suite: WASI preview 1 guest programs (tests/guests/), built at
# test time, run under `spry run`, their stdout, exit status (and stderr where
# a test says so) compared with the expectations checked in beside them.
#
# Usage: scripts/run-guests.sh [BUILD] [TEST...]
#   BUILD              holds `spry` (default: build); guests go to BUILD/guests/
#   TEST               run only these tests (names of tests/guests/*.run,
#                      kernel-NAME for the benchmark kernels)
# Environment:
#   GUEST_RUNTIME=spry (default) runs BUILD/spry run; GUEST_RUNTIME=node runs
#                      tests/guests/node-wasi.mjs (node:wasi, a cross-check of
#                      the expectations); a test listed in
#                      tests/guests/node-deviations.txt that differs there
#                      counts as skipped (its diff is shown).
#   GUEST_KEEP=1       keep each test's temporary directory
#   GUEST_BUILD_ONLY=1 build the guests into BUILD/guests/ and stop
#
# A test is tests/guests/NAME.run, a bash fragment that sets
#   guest=PROGRAM      the guest (PROGRAM.c or PROGRAM.rs; default NAME)
#   opts=(...)         `spry run` options; $T is the test's fixture root
#   args=(...)         the guest's arguments after FILE.wasm
#   status=N           the expected exit status (default 0)
#   stdin=TEXT         the guest's stdin (default: empty)
#   stderr_re=REGEX    an extended regex stderr must match (default: unchecked)
#   and may define setup (before the run), client (runs in the background
#   during the run, e.g. a TCP peer) and check (after; non-zero fails).
# The expected stdout is tests/guests/NAME.out. Every test gets a fresh
# fixture (make_fixture below); whatever lies outside $T/sb, the only
# directory tests pre-open read-write, must be unchanged afterwards.
#
# Prints one ok/FAIL/skip line per test (a diff on failure) and ends with
# "N passed, N failed, N skipped". Exit status 1 when a test failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
shift || true
case $build in /*) ;; *) build="$root/$build" ;; esac
dir="$root/tests/guests"
out="$build/guests"
runtime=${GUEST_RUNTIME:-spry}
CLANG=${CLANG:-clang}
RUSTC=${RUSTC:-/usr/bin/rustc}
NODE=${NODE:-node}
only=("$@")

mkdir -p "$out"
passed=0 failed=0 skipped=0
# make_fixture, snapshot, guest_kernels (shared with scripts/run-components.sh).
# shellcheck source=guest-fixture.sh
source "$root/scripts/guest-fixture.sh"

fail() { # name, reason
    echo "FAIL $1: $2"
    failed=$((failed + 1))
}

# ---- build -----------------------------------------------------------------
# Compile and link separately, strip with -s (Debian's wasi-libc carries
# DWARF). A source containing GUEST_KEEP_NAMES keeps its name section (the
# trap test checks the function name) and drops only debug info.
# Guests ignore some raw calls' results on purpose (the next line shows them).
cflags=(--target=wasm32-wasi -O2 -std=c17 -Wall -Wextra -Werror -Wno-unused-result -D_GNU_SOURCE)
build_c() { # src wasm
    local src=$1 wasm=$2 obj="${2%.wasm}.o" strip=(-s)
    [ "$wasm" -nt "$src" ] && [ "$wasm" -nt "$dir/guest.h" ] && return 0
    grep -q GUEST_KEEP_NAMES "$src" && strip=(-Wl,--strip-debug)
    "$CLANG" "${cflags[@]}" -c "$src" -o "$obj" &&
        "$CLANG" --target=wasm32-wasi "${strip[@]}" "$obj" -o "$wasm"
}
build_rs() { # src wasm
    [ "$2" -nt "$1" ] && return 0
    "$RUSTC" --target wasm32-wasi -O -C strip=symbols --edition 2021 "$1" -o "$2"
}
build_errors=()
for src in "$dir"/*.c "$dir"/*.rs; do
    [ -e "$src" ] || continue
    name=$(basename "${src%.*}")
    case $src in
    *.c) build_c "$src" "$out/$name.wasm" || build_errors+=("$name") ;;
    *.rs) build_rs "$src" "$out/$name.wasm" || build_errors+=("$name") ;;
    esac
done

# The benchmark kernels as WASI commands (tests/guests/kernel_main.c) and as
# native programs with the same main; their outputs must agree.
# (the list and its arguments: guest_kernels in scripts/guest-fixture.sh)
kernels=("${guest_kernels[@]}")
kflags=(-std=c17 -O2 -ffreestanding -fno-math-errno -Wall -Wextra -Werror)
kmain="$dir/kernel/main.c"
"$CLANG" "${cflags[@]}" -c "$kmain" -o "$out/kernel_main.o" &&
    "$CLANG" -O2 -std=c17 -Wall -Wextra -Werror -c "$kmain" -o "$out/kernel_main.native.o" ||
    build_errors+=("kernel/main.c")
for entry in "${kernels[@]}"; do
    read -r k _ <<<"$entry"
    ksrc="$root/bench/kernels/$k.c"
    kw="$out/kernel-$k.wasm"
    kn="$out/kernel-$k.native"
    if [ ! "$kw" -nt "$ksrc" ] || [ ! "$kw" -nt "$kmain" ]; then
        { "$CLANG" --target=wasm32-wasi "${kflags[@]}" -c "$ksrc" -o "$out/kernel-$k.o" &&
            "$CLANG" --target=wasm32-wasi -s "$out/kernel_main.o" "$out/kernel-$k.o" -o "$kw" &&
            "$CLANG" "${kflags[@]}" -c "$ksrc" -o "$out/kernel-$k.native.o" &&
            "$CLANG" "$out/kernel_main.native.o" "$out/kernel-$k.native.o" -o "$kn"; } ||
            build_errors+=("kernel-$k")
    fi
done

# GUEST_BUILD_ONLY=1 (scripts/run-components.sh): build, report, run nothing.
if [ -n "${GUEST_BUILD_ONLY:-}" ]; then
    [ ${#build_errors[@]} -eq 0 ] || { echo "run-guests: did not build: ${build_errors[*]}" >&2; exit 1; }
    exit 0
fi

# ---- the runtime -----------------------------------------------------------
case $runtime in
spry)
    runner=("$build/spry" run)
    [ -x "$build/spry" ] || { echo "run-guests: $build/spry missing (run make)" >&2; exit 2; }
    ;;
node) runner=("$NODE" --no-warnings "$dir/node-wasi.mjs") ;;
*)
    echo "run-guests: GUEST_RUNTIME must be spry or node" >&2
    exit 2
    ;;
esac

# The reason a test is a known node:wasi deviation (empty: none).
node_deviation() {
    awk -v t="$1" '$1 == t { $1 = ""; sub(/^ +/, ""); print; exit }' "$dir/node-deviations.txt"
}

selected() {
    [ ${#only[@]} -eq 0 ] && return 0
    local t
    for t in "${only[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

# ---- fixtures ----------------------------------------------------------------
# make_fixture and snapshot: scripts/guest-fixture.sh, sourced at the top.

# ---- one test ----------------------------------------------------------------
run_one() { # name runfile
    local name=$1 runfile=$2 W T guest opts args status stdin stderr_re rc
    W=$(mktemp -d "${TMPDIR:-/tmp}/spry-guest-$name.XXXXXX")
    T="$W/root"
    mkdir "$T"
    make_fixture "$T"
    guest=$name opts=() args=() status=0 stdin="" stderr_re=""
    PORT=$(test_port)
    unset -f setup client check
    # shellcheck disable=SC1090
    source "$runfile"
    local wasm="$out/$guest.wasm"
    if [ ! -f "$wasm" ]; then
        fail "$name" "guest $guest did not build"
        rm -rf "$W"
        return
    fi
    declare -F setup >/dev/null && setup
    snapshot "$T" >"$W/before"
    printf '%s' "$stdin" >"$W/stdin"
    local cpid=""
    if declare -F client >/dev/null; then
        client >"$W/client.log" 2>&1 &
        cpid=$!
    fi
    rc=0
    (cd "$T" && limited 20 300 "${runner[@]}" "${opts[@]}" "$wasm" "${args[@]}" \
        <"$W/stdin" >"$W/stdout" 2>"$W/stderr") || rc=$?
    [ -n "$cpid" ] && { wait "$cpid" || echo "client exit status $?" >>"$W/client.log"; }
    snapshot "$T" >"$W/after"

    local why=()
    if ! diff -u "$dir/$name.out" "$W/stdout" >"$W/diff"; then
        why+=("stdout differs")
    fi
    [ "$rc" = "$status" ] || why+=("exit status $rc, expected $status")
    if [ -n "$stderr_re" ] && ! grep -Eq -- "$stderr_re" "$W/stderr"; then
        why+=("stderr does not match /$stderr_re/")
    fi
    if ! diff -u "$W/before" "$W/after" >"$W/outside.diff"; then
        why+=("files outside the sandbox changed")
    fi
    if declare -F check >/dev/null && ! check >"$W/check.log" 2>&1; then
        why+=("check failed: $(tr '\n' ' ' <"$W/check.log")")
    fi
    if [ ${#why[@]} -eq 0 ]; then
        echo "ok   $name"
        passed=$((passed + 1))
    elif [ -n "$deviation" ]; then
        echo "skip $name (known node:wasi deviation: $deviation)"
        skipped=$((skipped + 1))
        sed 's/^/    /' "$W/diff"
    else
        fail "$name" "$(
            IFS=';'
            echo "${why[*]}"
        )"
        [ -s "$W/diff" ] && sed 's/^/    /' "$W/diff"
        [ -s "$W/outside.diff" ] && sed 's/^/    /' "$W/outside.diff"
        [ -s "$W/stderr" ] && sed 's/^/    stderr: /' "$W/stderr" | head -n 20
        [ -s "$W/client.log" ] && sed 's/^/    client: /' "$W/client.log" | head -n 20
    fi
    if [ -n "${GUEST_KEEP:-}" ]; then
        echo "    kept $W"
    else
        rm -rf "$W"
    fi
}

# Guests that did not build fail as their tests (below); the rest here.
for e in "${build_errors[@]}"; do
    [ -f "$dir/$e.run" ] || fail "$e" "did not build"
done

for runfile in "$dir"/*.run; do
    name=$(basename "$runfile" .run)
    selected "$name" || continue
    deviation=""
    [ "$runtime" = node ] && deviation=$(node_deviation "$name")
    run_one "$name" "$runfile"
done

for entry in "${kernels[@]}"; do
    read -r k n <<<"$entry"
    selected "kernel-$k" || continue
    [ -f "$out/kernel-$k.wasm" ] || continue
    want=$("$out/kernel-$k.native" "$n" 2>&1) || true
    rc=0
    got=$(limited 60 300 "${runner[@]}" "$out/kernel-$k.wasm" "$n" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        echo "ok   kernel-$k ($got)"
        passed=$((passed + 1))
    else
        fail "kernel-$k" "n=$n: native '$want', $runtime '$got' (exit $rc)"
    fi
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
