#!/usr/bin/env bash
# `make bench-http-ab BASE=DIR`: the C wasi:http component (the `/bench`
# route of bench/http.sh) served by two builds of Spry, BASE (a directory
# holding a `spry` and `spry-up` built from the commit to compare against,
# e.g. copied from a worktree of main) and this build, in alternating
# pairs: each round starts one server per build in turn (base first in odd
# rounds, new first in even ones), warms it up for 2 s and runs wrk for
# BENCH_SECONDS at concurrency 1 (wrk -t1 -c1) and 64 (wrk -t2 -c64).
# Prints each run (requests/s, the server's CPU time per request from
# /proc/PID/stat, the load average), then the medians and the new/base
# ratios. Server CPU per request is the figure to trust on a shared
# machine; requests/s moves with the neighbours.
#
# Usage: bench/http-ab.sh BASE_DIR [BUILD]
# Environment: BENCH_SECONDS (default 5), BENCH_REPS (rounds, default 5).
# Exit status: 0; 1 when a run fails; 2 when something is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: bench/http-ab.sh BASE_DIR [BUILD]}
build=${2:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
seconds=${BENCH_SECONDS:-5}
reps=${BENCH_REPS:-5}

command -v wrk >/dev/null || { echo "bench-http-ab: wrk missing (make deps)" >&2; exit 2; }
for f in "$base/spry" "$base/spry-up" "$build/spry" "$build/spry-up"; do
    [ -x "$f" ] || { echo "bench-http-ab: $f missing" >&2; exit 2; }
done

tmp=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

c_wasm=$("$root/scripts/build-http-guest.sh" "$build" 2>"$tmp/build.log") || {
    echo "bench-http-ab: scripts/build-http-guest.sh failed: $(tail -n 1 "$tmp/build.log")" >&2
    exit 2
}
mkdir -p "$tmp/app"
cp "$c_wasm" "$tmp/app/handler.wasm"
cat >"$tmp/app/spin.toml" <<'TOML'
# Written by bench/http-ab.sh.
spin_manifest_version = 2

[application]
name = "bench-http-ab"
version = "1.0.0"

[[trigger.http]]
route = "/bench"
component = "c-http"

[component.c-http]
source = "handler.wasm"
TOML

hz=$(getconf CLK_TCK)

# run DIR CONC -> "RPS CPU_US_PER_REQUEST"
run() {
    local dir=$1 conc=$2 threads=1 port=""
    [ "$conc" -gt 1 ] && threads=2
    rm -rf "$tmp/state"
    "$dir/spry" up -f "$tmp/app" --listen 127.0.0.1:0 --quiet --state-dir "$tmp/state" \
        >"$tmp/out" 2>"$tmp/err" &
    server=$!
    for _ in $(seq 1 400); do
        port=$(sed -n 's|^Serving http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$tmp/out" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$port" ] || { echo "bench-http-ab: $dir/spry up did not start:" >&2; cat "$tmp/err" >&2; exit 1; }
    wrk -t"$threads" -c"$conc" -d2s "http://127.0.0.1:$port/bench" >/dev/null 2>&1
    local t0 t1
    t0=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
    wrk -t"$threads" -c"$conc" -d"${seconds}s" "http://127.0.0.1:$port/bench" >"$tmp/wrk" 2>&1 || true
    t1=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
    server=""
    awk -v t=$((t1 - t0)) -v hz="$hz" '
        $1 == "Requests/sec:" { r = $2 }
        $2 == "requests" && $3 == "in" { n = $1 }
        /Non-2xx or 3xx responses|Socket errors/ { bad = 1 }
        END { if (bad || n == 0) { print "ERROR"; exit } printf "%.0f %.1f\n", r, t * 1e6 / hz / n }' "$tmp/wrk"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A rps cpu
echo "bench-http-ab: base $base, new $build; $reps rounds x ${seconds}s, $(nproc) CPUs"
for r in $(seq 1 "$reps"); do
    for conc in 1 64; do
        order="base new"
        [ $((r % 2)) -eq 0 ] && order="new base"
        for which in $order; do
            dir=$base
            [ "$which" = new ] && dir=$build
            res=$(run "$dir" "$conc")
            [ "$res" != ERROR ] || { echo "bench-http-ab: $which c=$conc failed" >&2; cat "$tmp/wrk" >&2; exit 1; }
            read -r a b <<<"$res"
            rps[$which/$conc]="${rps[$which/$conc]:-} $a"
            cpu[$which/$conc]="${cpu[$which/$conc]:-} $b"
            printf '  round %d c=%-3s %-4s %8s req/s  server CPU %6s us/request  load %s\n' \
                "$r" "$conc" "$which" "$a" "$b" "$(cut -d' ' -f1 /proc/loadavg)"
        done
    done
done
echo
echo "| concurrency | build | requests/s (median) | server CPU us/request (median) |"
echo "|---:|---|---:|---:|"
for conc in 1 64; do
    for which in base new; do
        # shellcheck disable=SC2086
        printf '| %s | %s | %s | %s |\n' "$conc" "$which" "$(median ${rps[$which/$conc]})" "$(median ${cpu[$which/$conc]})"
    done
done
for conc in 1 64; do
    # shellcheck disable=SC2086
    awk -v c="$conc" -v rb="$(median ${rps[base/$conc]})" -v rn="$(median ${rps[new/$conc]})" \
        -v cb="$(median ${cpu[base/$conc]})" -v cn="$(median ${cpu[new/$conc]})" \
        'BEGIN { printf "c=%s: new/base requests/s %.2f, server CPU per request %.2f\n", c, rn / rb, cn / cb }'
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
