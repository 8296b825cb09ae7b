#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs them for
# FUZZ_SECONDS * 2 in total (default 120 s), split between the harnesses:
#  - decode, run and wasi on a corpus seeded from the spec suite's modules
#    (wasi reads its input as a sequence of calls);
#  - toml on the toml-test documents;
#  - manifest (spin.toml loading without network, then the router) on
#    fuzz/seeds/manifest and the toml-test documents;
#  - wagi (CGI responses, argv and environment), canon (canonical ABI
#    lifting and round trips) and wasip2 (sequences of WASI 0.2 host calls
#    on a sandbox) on an empty corpus;
#  - http_head (the raw HTTP/1 head scanner) on a few request heads;
#  - component (the component decoder, then the linker against WASI 0.2) on
#    the components the unit tests assemble (build/fuzz-seeds/component, by
#    component_binary.write_fuzz_seeds) and a jco-built command;
#  - wit (Spry's WIT subset, component/wit.h) on fuzz/seeds/wit;
#  - http2 (a client's bytes on one HTTP/2 server connection in memory,
#    src/trigger/http2.c, answered by canned executors) on fuzz/seeds/http2
#    (written by scripts/fuzz-seeds-http2.py).
# Any crash, leak, or input slower than 1 s fails. Ends with the runner's
# "N passed, N failed" line (one test per harness).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# Percent of the total budget per harness (they add up to 100). Every
# harness is there for a parser or an interface guests and users reach;
# the engine's two keep the largest shares.
declare -A percent=([decode]=11 [run]=14 [toml]=7 [wasi]=8 [wagi]=6 [manifest]=6 [http_head]=4
                    [http_body]=3 [component]=9 [canon]=7 [wit]=5 [wasip2]=7 [outbound]=2
                    [wave]=3 [http2]=8)
harnesses="decode run toml wasi wagi manifest http_head http_body component canon wit wasip2 outbound wave http2"
declare -A share
total=0
for h in $harnesses; do
    share[$h]=$((seconds * 2 * ${percent[$h]} / 100))
    total=$((total + ${percent[$h]}))
done
[ "$total" -eq 100 ] || { echo "fuzz-smoke: shares add up to $total%, not 100%"; exit 1; }
build=build-fuzz
make -s BUILD=$build CC=clang FUZZ=1 fuzz-bins >/dev/null || { echo "fuzz: build failed"; echo "0 passed, 1 failed"; exit 1; }

corpus=$build/corpus
mkdir -p "$corpus"
# Seeds: every binary module of the converted spec suite (spec-runner makes them).
if [ -d build/spec ] && [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
    find build/spec -name '*.wasm' -size -64k | head -n 3000 | while read -r f; do
        cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-16)"
    done
fi
# TOML seeds: every document of toml-test, valid and invalid.
toml_corpus=$build/corpus-toml
toml_tests=../shared/conformance/toml-test/tests
if [ -d "$toml_tests" ] && [ -z "$(ls -A "$toml_corpus" 2>/dev/null)" ]; then
    mkdir -p "$toml_corpus"
    find "$toml_tests" -name '*.toml' | while read -r f; do
        cp "$f" "$toml_corpus/$(sha1sum "$f" | cut -c1-16)"
    done
fi
mkdir -p "$toml_corpus"
# Component seeds: the unit tests' components (make test runs them first).
component_corpus=$build/corpus-component
mkdir -p "$component_corpus"
if [ -d build/fuzz-seeds/component ]; then
    cp build/fuzz-seeds/component/* "$component_corpus/" 2>/dev/null || true
fi
# A jco-built command component, when the components suite made one: the
# harness links it against WASI 0.2 (the whole flattening walk).
[ -f build/components/exitcode.wasm ] && cp build/components/exitcode.wasm "$component_corpus/"
passed=0 failed=0
for h in $harnesses; do
    work=$build/work-$h
    rm -rf "$work"; mkdir -p "$work"
    if [ "$h" = toml ]; then cp -r "$toml_corpus" "$work/corpus"
    elif [ "$h" = wagi ] || [ "$h" = canon ] || [ "$h" = wasip2 ]; then mkdir -p "$work/corpus"
    elif [ "$h" = manifest ]; then
        cp -r "$toml_corpus" "$work/corpus"
        cp fuzz/seeds/manifest/*.toml "$work/corpus/" 2>/dev/null || true
    elif [ "$h" = wit ]; then cp -r fuzz/seeds/wit "$work/corpus"
    elif [ "$h" = outbound ]; then cp -r fuzz/seeds/outbound "$work/corpus"
    elif [ "$h" = wave ]; then cp -r fuzz/seeds/wave "$work/corpus"
    elif [ "$h" = http2 ]; then cp -r fuzz/seeds/http2 "$work/corpus"
    elif [ "$h" = component ]; then cp -r "$component_corpus" "$work/corpus"
    elif [ "$h" = http_head ]; then
        # The first byte picks the limits (even: the defaults; odd: small ones).
        mkdir -p "$work/corpus"
        printf '\0GET / HTTP/1.1\r\nHost: a\r\n\r\n' >"$work/corpus/get"
        printf '\0POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' >"$work/corpus/post"
        printf '\377\r\nGET / HTTP/1.0\r\nA: b\r\n c\r\nB:\td\n\r\n' >"$work/corpus/odd"
    elif [ "$h" = http_body ]; then
        # Byte 0: bit 0 chunked, bit 1 a 64-byte limit, the rest the slicing;
        # byte 1: the length of a length body.
        mkdir -p "$work/corpus"
        printf '\1\0005\r\nhello\r\n1;e=f\r\n!\r\n0\r\nT: t\r\n\r\nGET' >"$work/corpus/chunked"
        printf '\0\005helloGET / HTTP/1.1\r\n' >"$work/corpus/length"
        printf '\3\000ffffffff\r\n' >"$work/corpus/big"
    else cp -r "$corpus" "$work/corpus"; fi
    t=${share[$h]}
    [ "$t" -lt 1 ] && t=1
    echo "fuzz $h: ${t}s"
    if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:handle_segv=0 \
        "$build/fuzz/fuzz_$h" -max_total_time="$t" -timeout=1 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1; then
        echo "ok   fuzz.$h ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | tail -1 | awk '{print $2}') runs)"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz.$h: see $work/log and the crash/timeout/leak file in $work"
        tail -n 40 "$work/log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
