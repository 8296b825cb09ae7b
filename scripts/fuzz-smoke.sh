#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan+UBSan) and runs them for
# FUZZ_SECONDS * 2 in total (default 120 s), split between the harnesses:
# decode, run and wasi on a corpus seeded from the spec suite's modules
# (wasi reads its input as a sequence of calls), toml on the toml-test
# documents, wagi (CGI responses, argv and environment) on an empty corpus,
# manifest (spin.toml loading without network, then the router) on
# fuzz/seeds/manifest and the toml-test documents, http_head (the raw
# HTTP/1 head scanner) on a few request heads.
# Any crash, leak, or input slower than 1 s fails. Ends with the runner's
# "N passed, N failed" line (one test per harness).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# Seconds per harness, out of the total budget (two harnesses used to get
# FUZZ_SECONDS each).
declare -A share=([decode]=$((seconds * 2 * 24 / 100)) [run]=$((seconds * 2 * 24 / 100))
                  [toml]=$((seconds * 2 * 14 / 100)) [wasi]=$((seconds * 2 * 14 / 100))
                  [wagi]=$((seconds * 2 * 9 / 100)) [manifest]=$((seconds * 2 * 10 / 100))
                  [http_head]=$((seconds * 2 * 5 / 100)))
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
passed=0 failed=0
for h in decode run toml wasi wagi manifest http_head; do
    work=$build/work-$h
    rm -rf "$work"; mkdir -p "$work"
    if [ "$h" = toml ]; then cp -r "$toml_corpus" "$work/corpus"
    elif [ "$h" = wagi ]; then mkdir -p "$work/corpus"
    elif [ "$h" = manifest ]; then
        cp -r "$toml_corpus" "$work/corpus"
        cp fuzz/seeds/manifest/*.toml "$work/corpus/"
    elif [ "$h" = http_head ]; then
        # The first byte picks the limits (even: the defaults; odd: small ones).
        mkdir -p "$work/corpus"
        printf '\0GET / HTTP/1.1\r\nHost: a\r\n\r\n' >"$work/corpus/get"
        printf '\0POST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc' >"$work/corpus/post"
        printf '\377\r\nGET / HTTP/1.0\r\nA: b\r\n c\r\nB:\td\n\r\n' >"$work/corpus/odd"
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
