#!/usr/bin/env bash
# Runs every test suite of a build directory and ends with one line,
# "N passed, N failed[, N skipped]", summing the suites' own closing lines.
# Usage: scripts/run-tests.sh BUILD_DIR
set -uo pipefail
build=${1:-build}
export SPRY_SRC_DIR=${SPRY_SRC_DIR:-$(pwd)}
export SPRY_BUILD_DIR=${SPRY_BUILD_DIR:-$(cd "$build" && pwd)}
# Every suite runs with the written-page check on (src/wasm/image.h): a
# pool reset or a freed memory that finds bytes changed in a 4 KiB granule
# no writer marked aborts, so a write path that forgets to mark fails here.
export SPRY_CHECK_WRITES=${SPRY_CHECK_WRITES:-1}

# The canonical-ABI guest component the unit tests load (link_abi.*) is
# built first; it needs jco, so node >= 20.19 and npm. Without them those
# unit tests skip, saying so, as does the components suite below.
abi_failed=0
abi_log=$(mktemp)
abi_rc=0
"$SPRY_SRC_DIR/scripts/build-abi-guest.sh" "$build" >"$abi_log" 2>&1 || abi_rc=$?
if [ "$abi_rc" -eq 2 ]; then
    echo "(components: node >= 20.19 and npm are missing: the canonical-ABI guest is not built)"
elif [ "$abi_rc" -ne 0 ]; then
    echo "scripts/build-abi-guest.sh failed (exit $abi_rc):"
    cat "$abi_log"
    abi_failed=1
fi
# The hand-written composed components (tests/components/compose/*.wat,
# through `jco parse`) the unit tests load (link_compose.*): the same skip.
if [ "$abi_rc" -eq 0 ]; then
    compose_rc=0
    "$SPRY_SRC_DIR/scripts/build-compose-tests.sh" "$build" >"$abi_log" 2>&1 || compose_rc=$?
    if [ "$compose_rc" -ne 0 ]; then
        echo "scripts/build-compose-tests.sh failed (exit $compose_rc):"
        cat "$abi_log"
        abi_failed=1
    fi
fi
# The wasi:http test handler (tests/http-components) the spry up tests serve
# (up.http_*): the same toolchain, the same skip.
if [ "$abi_rc" -eq 0 ]; then
    http_rc=0
    "$SPRY_SRC_DIR/scripts/build-http-guest.sh" "$build" >"$abi_log" 2>&1 || http_rc=$?
    if [ "$http_rc" -ne 0 ]; then
        echo "scripts/build-http-guest.sh failed (exit $http_rc):"
        cat "$abi_log"
        abi_failed=1
    fi
fi
rm -f "$abi_log"

# The Spin JavaScript test app (tests/http-components/js: esbuild + j2w,
# ~12 MB; cached under BUILD, a rebuild takes 10-50 s), which unit tests
# decode; it needs node >= 20.19 and npm, and those tests skip without.
js_log=$(mktemp)
js_rc=0
"$SPRY_SRC_DIR/scripts/build-js-app.sh" "$build" >"$js_log" 2>&1 || js_rc=$?
if [ "$js_rc" -eq 2 ]; then
    echo "(http components: $(grep -o 'SKIP.*' "$js_log" | head -n 1))"
elif [ "$js_rc" -ne 0 ]; then
    echo "scripts/build-js-app.sh failed (exit $js_rc):"
    cat "$js_log"
    abi_failed=1
fi
rm -f "$js_log"

suites=("unit:$build/tests/unit-tests")
if [ -x "$build/tests/spec-runner" ]; then
    suites+=("spec:$build/tests/spec-runner --build $build")
    # The tail-call proposal (return_call, return_call_indirect), which the
    # engine implements beyond Wasm 2.0.
    proposals="$SPRY_SRC_DIR/../shared/conformance/wasm-spec/proposals"
    [ -d "$proposals/tail-call" ] &&
        suites+=("tail-call:$build/tests/spec-runner --build $build --suite $proposals/tail-call --feature tail-call")
fi
# toml-test 1.0.0: every valid document decodes to its JSON, every invalid one is rejected.
[ -x "$build/tests/toml-runner" ] && suites+=("toml:$build/tests/toml-runner")
# WASI guest programs (C and Rust, built at test time) and the benchmark
# kernels as WASI commands, under spry run.
suites+=("guests:$SPRY_SRC_DIR/scripts/run-guests.sh $build")
# The same guests as WASI 0.2 command components (jco new --wasi-command).
suites+=("components:$SPRY_SRC_DIR/scripts/run-components.sh $build")
if [ -z "${SPRY_SKIP_FUZZ:-}" ]; then
    suites+=("fuzz:scripts/fuzz-smoke.sh")
else
    echo "(fuzz-smoke not run: SPRY_SKIP_FUZZ is set; the harnesses run under ASan+UBSan in make test)"
fi

total_pass=0 total_fail=$abi_failed total_skip=0 status=$abi_failed
for entry in "${suites[@]}"; do
    name=${entry%%:*}
    cmd=${entry#*:}
    echo "== suite $name: $cmd"
    log=$(mktemp)
    $cmd 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    rm -f "$log"
    if [ -z "$last" ]; then
        echo "suite $name: no summary line (exit $rc)"
        total_fail=$((total_fail + 1))
        status=1
        continue
    fi
    p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$last")
    f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$last")
    s=0
    [[ $last == *skipped* ]] && s=$(sed -E 's/.*, ([0-9]+) skipped.*/\1/' <<<"$last")
    total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "suite $name: exit status $rc with no failed test"
        total_fail=$((total_fail + 1))
    fi
    [ "$rc" -ne 0 ] && status=1
done
echo
if [ "$total_skip" -gt 0 ]; then
    echo "$total_pass passed, $total_fail failed, $total_skip skipped"
else
    echo "$total_pass passed, $total_fail failed"
fi
exit $status
