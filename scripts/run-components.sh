#!/usr/bin/env bash
# The component form of the WASI guest tests: every tests/guests program,
# built as a wasm32-wasi core module (scripts/run-guests.sh), turned into a
# WASI 0.2 command component with `jco new --wasi-command` (jco bundles
# wasmtime's preview-1 -> preview-2 adapter), run under `SPRY run` with the
# module test's flags, its stdout and exit status compared with the module
# test's expectations (tests/guests/NAME.out and NAME.run).
#
# Usage: scripts/run-components.sh [BUILD [SPRY]] [-- TEST...]
#   BUILD   build directory (default: build): the toolchain goes to BUILD/npm
#           (scripts/components-setup.sh), core modules to BUILD/guests,
#           components to BUILD/components/NAME.wasm (the module's basename,
#           so argv[0] is the same)
#   SPRY    the runtime binary (default: BUILD/spry)
#   TEST    run only these tests (tests/guests/*.run names, kernel-NAME)
# Environment:
#   COMPONENT_RUNTIME=spry (default) or jco: `jco transpile` + node with
#                preview2-shim (tests/components/jco-run.mjs), a cross-check
#                of the expectations; a test in tests/components/jco-deviations.txt
#                that differs there counts as SKIP (its diff is shown).
#   GUEST_KEEP=1 keep each test's temporary directory
#
# What the adapter changes (it is guest code: wasmtime's
# crates/wasi-preview1-component-adapter, bundled in jco) is written down in
# tests/components/guests/: NAME.run is sourced after tests/guests/NAME.run
# (e.g. status=1: proc_exit(N) calls wasi:cli/exit.exit(err) for any N but 0;
# stderr_re may be an array there, every regex of it must match a line of
# stderr), NAME.out replaces tests/guests/NAME.out. Tests whose preview-1 behaviour the
# adapter cannot give, and whose component expectations are not written yet,
# are in tests/components/adapter-deviations.txt with the reason: they still
# run, and count as SKIP (diff shown) when they differ after printing
# something (a component that did not run at all is a FAIL).
#
# Part of `make test` (suite `components`), alone with `make
# test-components`. Prints one PASS/FAIL/SKIP line per test with its reasons
# and ends with "N passed, N failed, N skipped"; exit status 1 when a test
# failed. Without node >= 20.19 and npm it prints one SKIP line saying so and
# "0 passed, 0 failed, 1 skipped" (exit 0); a toolchain that fails to install
# otherwise is an error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=build
spry=""
[ $# -gt 0 ] && [ "$1" != -- ] && { build=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { spry=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
only=("$@")
case $build in /*) ;; *) build="$root/$build" ;; esac
spry=${spry:-$build/spry}
case $spry in /*) ;; *) spry="$root/$spry" ;; esac
gdir="$root/tests/guests"
cdir="$root/tests/components"
mods="$build/guests"
out="$build/components"
runtime=${COMPONENT_RUNTIME:-spry}
mkdir -p "$out"
passed=0 failed=0 skipped=0

pass() { echo "PASS $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
skip() { echo "SKIP $1: $2"; skipped=$((skipped + 1)); }

# ---- the toolchain and the core modules ---------------------------------------
setup_rc=0
jco=$("$root/scripts/components-setup.sh" "$build") || setup_rc=$?
if [ "$setup_rc" -eq 2 ]; then
    skip components "the jco toolchain needs node >= 20.19 and npm (scripts/components-setup.sh; scripts/deps.sh installs Debian's nodejs and npm)"
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 0
elif [ "$setup_rc" -ne 0 ]; then
    echo "run-components: the jco toolchain did not install (scripts/components-setup.sh)" >&2
    exit 2
fi
# The module suite's build alone (its failures show below as tests without a guest).
GUEST_BUILD_ONLY=1 "$root/scripts/run-guests.sh" "$build" || true

# ---- components ------------------------------------------------------------------
# Only when the module is newer than the component.
build_errors=()
for wasm in "$mods"/*.wasm; do
    [ -e "$wasm" ] || continue
    name=$(basename "$wasm" .wasm)
    comp="$out/$name.wasm"
    [ "$comp" -nt "$wasm" ] && continue
    if ! "$jco" new "$wasm" --wasi-command -o "$comp" >"$out/$name.log" 2>&1; then
        rm -f "$comp"
        build_errors+=("$name")
    fi
done

# ---- the runtime -----------------------------------------------------------------
shim="$build/npm/node_modules/@bytecodealliance/preview2-shim"
case $runtime in
spry)
    [ -x "$spry" ] || { echo "run-components: $spry missing (run make)" >&2; exit 2; }
    deviations_file=""
    ;;
jco)
    deviations_file="$cdir/jco-deviations.txt"
    # Transpiled under BUILD/npm so that its imports resolve to BUILD/npm/node_modules.
    js="$build/npm/transpiled"
    mkdir -p "$js"
    [ -f "$js/package.json" ] || echo '{ "type": "module" }' >"$js/package.json"
    ;;
*)
    echo "run-components: COMPONENT_RUNTIME must be spry or jco" >&2
    exit 2
    ;;
esac

# run_component COMPONENT OPTS... -- ARGS...  (stdin, stdout, stderr inherited)
run_component() {
    local comp=$1
    shift
    local o=() name
    while [ $# -gt 0 ] && [ "$1" != -- ]; do o+=("$1"); shift; done
    shift
    case $runtime in
    spry) limited 20 300 "$spry" run "${o[@]}" "$comp" "$@" ;;
    jco)
        name=$(basename "$comp" .wasm)
        if [ ! "$js/$name/$name.js" -nt "$comp" ]; then
            "$jco" transpile "$comp" -o "$js/$name" --name "$name" -q >&2 || return 125
        fi
        limited 60 300 node --no-warnings "$cdir/jco-run.mjs" "$shim" "$js/$name/$name.js" "${o[@]}" -- "$@"
        ;;
    esac
}

# The reason listed for a test in a deviations file (empty: none).
reason_in() { # file test
    [ -n "$1" ] && [ -f "$1" ] || return 0
    awk -v t="$2" '$1 == t { $1 = ""; sub(/^ +/, ""); print; exit }' "$1"
}

# " (stderr: FIRST LINE)" when there is one, for a FAIL line's reason.
stderr_head() {
    [ -s "$1" ] && printf ' (stderr: %s)' "$(head -n 1 "$1" | cut -c1-160)"
    return 0
}

selected() {
    [ ${#only[@]} -eq 0 ] && return 0
    local t
    for t in "${only[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

# shellcheck source=guest-fixture.sh
source "$root/scripts/guest-fixture.sh"

# ---- one test ----------------------------------------------------------------------
run_one() { # name runfile
    local name=$1 runfile=$2 W T guest opts args status stdin stderr_re rc
    W=$(mktemp -d "${TMPDIR:-/tmp}/spry-component-$name.XXXXXX")
    T="$W/root"
    mkdir "$T"
    make_fixture "$T"
    guest=$name opts=() args=() status=0 stdin="" stderr_re=""
    PORT=$(test_port)
    unset -f setup client check
    # shellcheck disable=SC1090
    source "$runfile"
    local expect="$gdir/$name.out" changed=""
    # shellcheck disable=SC1090
    [ -f "$cdir/guests/$name.run" ] && { source "$cdir/guests/$name.run"; changed=", component .run"; }
    [ -f "$cdir/guests/$name.out" ] && { expect="$cdir/guests/$name.out"; changed+=", component .out"; }
    local comp="$out/$guest.wasm"
    if [ ! -f "$comp" ]; then
        if [ -f "$mods/$guest.wasm" ]; then
            fail "$name" "jco new did not make a component of $guest.wasm: $(head -c 300 "$out/$guest.log" 2>/dev/null | tr '\n' ' ')"
        else
            fail "$name" "guest $guest did not build as a core module (scripts/run-guests.sh)"
        fi
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
    (cd "$T" && run_component "$comp" "${opts[@]}" -- "${args[@]}" \
        <"$W/stdin" >"$W/stdout" 2>"$W/stderr") || rc=$?
    [ -n "$cpid" ] && { wait "$cpid" || echo "client exit status $?" >>"$W/client.log"; }
    snapshot "$T" >"$W/after"

    local why=()
    diff -u "$expect" "$W/stdout" >"$W/diff" || why+=("stdout differs")
    [ "$rc" = "$status" ] || why+=("exit status $rc, expected $status$(stderr_head "$W/stderr")")
    local re
    for re in "${stderr_re[@]}"; do
        if [ -n "$re" ] && ! grep -Eq -- "$re" "$W/stderr"; then
            why+=("stderr does not match /$re/")
        fi
    done
    diff -u "$W/before" "$W/after" >"$W/outside.diff" || why+=("files outside the sandbox changed")
    if declare -F check >/dev/null && ! check >"$W/check.log" 2>&1; then
        why+=("check failed: $(tr '\n' ' ' <"$W/check.log")")
    fi
    local adapter runtime_dev
    adapter=$(reason_in "$cdir/adapter-deviations.txt" "$name")
    runtime_dev=$(reason_in "$deviations_file" "$name")
    if [ ${#why[@]} -eq 0 ]; then
        pass "$name" "exit $rc$changed"
    elif { [ -n "$adapter" ] || [ -n "$runtime_dev" ]; } && [ -s "$W/stdout" ]; then
        # A listed deviation, and the guest did run (it printed): SKIP.
        local known=()
        [ -n "$adapter" ] && known+=("adapter deviation: $adapter")
        [ -n "$runtime_dev" ] && known+=("$runtime deviation: $runtime_dev")
        skip "$name" "$(IFS=';'; echo "${why[*]}") -- known $(IFS='|'; echo "${known[*]}")"
        sed 's/^/    /' "$W/diff"
        [ -s "$W/stderr" ] && sed 's/^/    stderr: /' "$W/stderr" | head -n 5
    else
        fail "$name" "$(IFS=';'; echo "${why[*]}")"
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

for e in "${build_errors[@]}"; do
    [ -f "$gdir/$e.run" ] || [[ $e == kernel-* ]] || fail "$e" "jco new failed: $(head -c 300 "$out/$e.log" | tr '\n' ' ')"
done

for runfile in "$gdir"/*.run; do
    name=$(basename "$runfile" .run)
    selected "$name" || continue
    run_one "$name" "$runfile"
done

# The benchmark kernels: the component prints what the native build prints.
for entry in "${guest_kernels[@]}"; do
    read -r k n <<<"$entry"
    selected "kernel-$k" || continue
    if [ ! -f "$out/kernel-$k.wasm" ]; then
        fail "kernel-$k" "no component (module built: $([ -f "$mods/kernel-$k.wasm" ] && echo yes || echo no))"
        continue
    fi
    want=$("$mods/kernel-$k.native" "$n" 2>&1) || true
    rc=0
    got=$(run_component "$out/kernel-$k.wasm" -- "$n" 2>&1) || rc=$?
    if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
        pass "kernel-$k" "$got"
    else
        fail "kernel-$k" "n=$n: native '$want', $runtime '$(head -c 300 <<<"$got")' (exit $rc)"
    fi
done

# bench/component's second pair (bench/p2): the same freestanding program
# written to preview 1 (a core module) and to WASI 0.2 (a component with no
# adapter) prints the same and exits 0 in both forms.
if selected bench-p2; then
    if ! p2=$("$root/bench/p2/build.sh" "$build" 2>"$out/bench-p2.log"); then
        fail bench-p2 "bench/p2/build.sh failed: $(head -c 300 "$out/bench-p2.log" | tr '\n' ' ')"
    else
        mapfile -t p2 <<<"$p2"
        rc1=0 rc2=0
        got1=$(limited 20 300 "$spry" run "${p2[0]}" 2>&1) || rc1=$?
        got2=$(run_component "${p2[1]}" -- 2>&1) || rc2=$?
        if [ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && [ "$got1" = "hello, world" ] &&
            [ "$got2" = "hello, world" ]; then
            pass bench-p2 "both forms print hello, world"
        else
            fail bench-p2 "module '$(head -c 100 <<<"$got1")' (exit $rc1), component '$(head -c 300 <<<"$got2")' (exit $rc2)"
        fi
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
