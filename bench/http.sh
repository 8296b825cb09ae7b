#!/usr/bin/env bash
# `make bench-http`: requests per second and latency of `spry up`, measured
# with wrk (Debian `wrk`; scripts/deps.sh installs it). One server, started
# on a free loopback port with --quiet, serves a manifest this script writes
# (the components of examples/hello plus the two wasi:http components)
# and answers every route measured:
#   wagi    GET /hello/bench   the hello component of examples/hello (a C
#                              WAGI program; a fresh instance runs per request)
#   static  GET /ping          a static_response (answered on the I/O loop)
#   c-http  GET /bench         the hand-written C wasi:http handler
#                              (tests/http-components/handler.c, built by
#                              scripts/build-http-guest.sh)
#   js      GET /hello         Spry's Spin JavaScript app (StarlingMonkey,
#                              built by scripts/build-js-app.sh)
# each at concurrency 1 (wrk -t1 -c1) and 64 (wrk -t2 -c64), BENCH_SECONDS
# each after a warm-up, the whole set repeated BENCH_REPS times in
# alternating order; the table gives the medians of the repetitions. It
# prints requests/s, p50 and p99 (wrk --latency), the server's CPU time per
# request (user + system of the spry-up process over the run, from
# /proc/PID/stat: unlike requests/s, it hardly depends on what else the
# machine runs) and the throughput ratios WAGI/static and C component/WAGI.
# The two component rows are skipped, with a line saying why, when their
# toolchain (node, npm, jco) is missing.
#
# Then, for each component, where a request's time goes inside the server:
# a second server with SPRY_LOG=debug (the spin executor logs one timing
# line per request: contexts, acquire, handler, release) answers wrk -c1 for
# BENCH_SECONDS; the medians of each part are printed. "Instantiate" is
# making the contexts and taking an instance from the pool (which
# instantiates only the first time a slot serves the component) plus giving
# it back (the pool's reset, after the response was handed over);
# "execute" is the handler's call.
#
# Everything goes to BUILD/bench/http.md too (what docs/benchmarks.md quotes).
#
# Goals: WAGI p50 at concurrency 1 under 100 us and WAGI throughput at
# least half of static_response's, judged at concurrency 64 (issue 6); the
# C component at least as fast as WAGI, the JavaScript app's p50 at
# concurrency 1 under 20 ms (issue 8). Missing a goal is reported, not an
# error. wrk runs on the same machine as the server and competes with it
# for the CPUs; the machine line says how many there are.
#
# Usage: bench/http.sh [BUILD]   (BUILD holds spry, spry-up and
#                                 examples/hello; default: build)
# Environment: BENCH_SECONDS (default 5), BENCH_REPS (default 3),
#              BENCH_WARMUP (seconds, default 2).
# Exit status: 0; 1 when a response is not 2xx or a socket error occurs or
# the server dies; 2 when something is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
seconds=${BENCH_SECONDS:-5}
reps=${BENCH_REPS:-3}
warmup=${BENCH_WARMUP:-2}
hello="$build/examples/hello"
mkdir -p "$out"

command -v wrk >/dev/null || { echo "bench-http: wrk missing (make deps / scripts/deps.sh)" >&2; exit 2; }
command -v curl >/dev/null || { echo "bench-http: curl missing (make deps)" >&2; exit 2; }
for f in "$build/spry" "$build/spry-up" "$hello/hello.wasm"; do
    [ -e "$f" ] || { echo "bench-http: $f missing (make)" >&2; exit 2; }
done

tmp=$(mktemp -d)
server=""
stop_server() {
    if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    server=""
}
cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the components ----------------------------------------------------------
# The names measured, in table order, and why a component is left out.
names=(wagi static)
skipped=()
app="$tmp/app"
mkdir -p "$app"
cp "$hello/hello.wasm" "$app/hello.wasm"
if c_wasm=$("$root/scripts/build-http-guest.sh" "$build" 2>"$tmp/build-c.log"); then
    cp "$c_wasm" "$app/handler.wasm"
    names+=(c-http)
else
    skipped+=("C wasi:http component: scripts/build-http-guest.sh failed: $(tail -n 1 "$tmp/build-c.log")")
fi
rc=0
js_wasm=$("$root/scripts/build-js-app.sh" "$build" 2>"$tmp/build-js.log") || rc=$?
if [ "$rc" -eq 0 ]; then
    cp "$js_wasm" "$app/js-app.wasm"
    names+=(js)
elif [ "$rc" -eq 2 ]; then
    skipped+=("JavaScript app: $(sed -n 's/^build-js-app: SKIP //p' "$tmp/build-js.log" | head -n 1)")
else
    skipped+=("JavaScript app: scripts/build-js-app.sh failed: $(tail -n 1 "$tmp/build-js.log")")
fi
for why in "${skipped[@]}"; do echo "bench-http: SKIP $why" >&2; done

has() { [[ " ${names[*]} " == *" $1 "* ]]; }

{
    cat <<'TOML'
# Written by bench/http.sh.
spin_manifest_version = 2

[application]
name = "bench-http"
version = "1.0.0"

[[trigger.http]]
route = "/hello/..."
component = "hello"
executor = { type = "wagi" }

[[trigger.http]]
route = "/ping"
static_response = { status_code = 200, headers = { content-type = "text/plain" }, body = "pong\n" }

[component.hello]
source = "hello.wasm"
environment = { GREETING = "Hello" }
TOML
    if has c-http; then
        printf '\n[[trigger.http]]\nroute = "/bench"\ncomponent = "c-http"\n'
        printf '\n[component.c-http]\nsource = "handler.wasm"\n'
    fi
    if has js; then
        printf '\n[[trigger.http]]\nroute = "/hello"\ncomponent = "js"\n'
        printf '\n[component.js]\nsource = "js-app.wasm"\n'
    fi
} >"$app/spin.toml"

declare -A path expect label
path[wagi]=/hello/bench expect[wagi]="Hello from Spry!" label[wagi]="WAGI \`/hello/bench\`"
path[static]=/ping expect[static]=pong label[static]="static_response \`/ping\`"
path[c-http]=/bench expect[c-http]="hello from a wasi:http component" label[c-http]="C wasi:http component \`/bench\`"
path[js]=/hello expect[js]="hello from js" label[js]="JavaScript (Spin JS SDK) \`/hello\`"

# ---- the server --------------------------------------------------------------
# start_server LOGLEVEL: spry up on the app; sets server and base.
start_server() {
    SPRY_LOG=$1 "$build/spry" up -f "$app" --listen 127.0.0.1:0 --quiet --state-dir "$tmp/state" \
        >"$tmp/stdout" 2>"$tmp/stderr" &
    server=$!
    local port=""
    for _ in $(seq 1 600); do
        port=$(sed -n 's|^Serving http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' "$tmp/stdout" | head -n 1)
        [ -n "$port" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        echo "bench-http: spry up did not start:" >&2
        cat "$tmp/stderr" >&2
        exit 1
    fi
    base="http://127.0.0.1:$port"
    for name in "${names[@]}"; do
        local got
        got=$(curl -s "$base${path[$name]}")
        [[ $got == *"${expect[$name]}"* ]] || {
            echo "bench-http: ${path[$name]} answered '$got'" >&2
            exit 1
        }
    done
}
start_server info
echo "bench-http: spry up on $base (pid $server), routes: ${names[*]}; ${reps} x ${seconds}s per case after ${warmup}s warm-ups"

# ---- one wrk run -------------------------------------------------------------
# wrk prints latencies as 96.00us, 2.30ms or 1.02s; prints "RPS P50 P99" in us.
parse_wrk() {
    awk '
    function us(v) {
        if (v ~ /us$/) return v + 0;
        if (v ~ /ms$/) return (v + 0) * 1000;
        if (v ~ /m$/) return (v + 0) * 60e6;
        if (v ~ /s$/) return (v + 0) * 1e6;
        return v + 0;
    }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    $1 == "Requests/sec:" { rps = $2 }
    $2 == "requests" && $3 == "in" { n = $1 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    /Socket errors/ { sock = $0 }
    END {
        if (bad != "" || sock != "") { print "ERROR " bad " " sock; exit }
        printf "%s %s %s %s\n", rps, p50, p99, n
    }'
}

# The server's CPU time so far, in clock ticks (utime + stime).
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)

# run NAME PATH CONC SECONDS -> "RPS P50 P99 CPU_US_PER_REQUEST"
# (--timeout 10s: the JavaScript app at concurrency 64 queues for longer
# than wrk's default 2 s would allow on a loaded machine.)
run_wrk() {
    local rpath=$2 conc=$3 secs=$4 threads=1
    [ "$conc" -gt 1 ] && threads=2
    local log="$tmp/wrk.log" t0 t1
    t0=$(server_ticks)
    wrk -t"$threads" -c"$conc" -d"${secs}s" --timeout 10s --latency "$base$rpath" >"$log" 2>&1 || true
    t1=$(server_ticks 2>/dev/null || echo "$t0")
    local r
    r=$(parse_wrk <"$log" | awk -v t="$((t1 - t0))" -v hz="$hz" \
        '$1 == "ERROR" { print; next } { printf "%s %s %s %.1f\n", $1, $2, $3, ($4 > 0 ? t * 1e6 / hz / $4 : 0) }')
    if [[ $r == ERROR* || -z $r ]] || ! kill -0 "$server" 2>/dev/null; then
        echo "bench-http: $1 at concurrency $conc failed: ${r:-no output}" >&2
        cat "$log" >&2
        echo "server stderr:" >&2
        tail -n 20 "$tmp/stderr" >&2
        exit 1
    fi
    echo "$r"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

cases=()
for conc in 1 64; do
    for name in "${names[@]}"; do cases+=("$name ${path[$name]} $conc"); done
done
for c in "${cases[@]}"; do
    read -r name p conc <<<"$c"
    run_wrk "$name" "$p" "$conc" "$warmup" >/dev/null
done

declare -A rps p50 p99 cpus
for rep in $(seq 1 "$reps"); do
    # Alternate the order so slow drift of the machine's load hits all routes.
    order=("${cases[@]}")
    if [ $((rep % 2)) -eq 0 ]; then
        order=()
        for ((i = ${#cases[@]} - 1; i >= 0; i--)); do order+=("${cases[i]}"); done
    fi
    for c in "${order[@]}"; do
        read -r name p conc <<<"$c"
        read -r r a b c < <(run_wrk "$name" "$p" "$conc" "$seconds")
        key="$name/$conc"
        rps[$key]="${rps[$key]:-} $r"
        p50[$key]="${p50[$key]:-} $a"
        p99[$key]="${p99[$key]:-} $b"
        cpus[$key]="${cpus[$key]:-} $c"
        printf '  rep %d: %-6s c=%-3s %10.0f req/s  p50 %8.0f us  p99 %8.0f us  server CPU %7.1f us/req\n' \
            "$rep" "$name" "$conc" "$r" "$a" "$b" "$c"
    done
done
stop_server

# ---- where a component request's time goes ---------------------------------------
# A server logging one timing line per component request (SPRY_LOG=debug),
# wrk -c1 on each component route; medians of each part, in us.
declare -A parts
timing=""
if has c-http || has js; then
    start_server debug
    for name in c-http js; do
        has "$name" || continue
        n0=$(wc -l <"$tmp/stderr")
        run_wrk "$name" "${path[$name]}" 1 "$seconds" >/dev/null
        tail -n +"$((n0 + 1))" "$tmp/stderr" |
            sed -n "s/^spry: debug: component $name: request timing: contexts \([0-9.]*\) us, acquire \([0-9.]*\) us, handler \([0-9.]*\) us, release \([0-9.]*\) us$/\1 \2 \3 \4/p" \
                >"$tmp/timing.$name"
        [ -s "$tmp/timing.$name" ] || {
            echo "bench-http: no timing lines for $name (SPRY_LOG=debug)" >&2
            exit 1
        }
        cols=()
        for col in 1 2 3 4; do
            # shellcheck disable=SC2046
            cols+=("$(median $(cut -d' ' -f"$col" "$tmp/timing.$name"))")
        done
        # The very first request of the component (the one start_server
        # sent) found no instance to reuse: its acquire instantiated one.
        first=$(grep -m 1 "^spry: debug: component $name: request timing: " "$tmp/stderr" |
            sed -n 's/.* acquire \([0-9.]*\) us.*/\1/p')
        parts[$name]="${cols[*]} ${first:-0} $(wc -l <"$tmp/timing.$name")"
    done
    stop_server
    timing=$(
        echo "| component | requests | contexts us | acquire us | handler (execute) us | release (reset) us | instantiate share | execute share | first acquire (instantiation) us |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        for name in c-http js; do
            has "$name" || continue
            read -r ctx acq run rel first n <<<"${parts[$name]}"
            awk -v l="${label[$name]}" -v n="$n" -v ctx="$ctx" -v acq="$acq" -v run="$run" -v rel="$rel" -v first="$first" 'BEGIN {
                inst = ctx + acq + rel; total = inst + run;
                printf "| %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.0f%% | %.0f |\n",
                    l, n, ctx, acq, run, rel, 100 * inst / total, 100 * run / total, first }'
        done
    )
fi

# ---- the table -------------------------------------------------------------------
declare -A mr m50 m99 mc
for name in "${names[@]}"; do
    for conc in 1 64; do
        key="$name/$conc"
        # shellcheck disable=SC2086
        mc[$key]=$(median ${cpus[$key]})
        # shellcheck disable=SC2086
        mr[$key]=$(median ${rps[$key]})
        # shellcheck disable=SC2086
        m50[$key]=$(median ${p50[$key]})
        # shellcheck disable=SC2086
        m99[$key]=$(median ${p99[$key]})
    done
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { ok = op == "<" ? v < g : v >= g; print (ok ? "met" : "NOT met") }'; }
r1=$(ratio "${mr[wagi/1]}" "${mr[static/1]}")
r64=$(ratio "${mr[wagi/64]}" "${mr[static/64]}")

table=$(
    echo "| route | concurrency | requests/s | p50 us | p99 us | server CPU us/request |"
    echo "|---|---:|---:|---:|---:|---:|"
    for conc in 1 64; do
        for name in "${names[@]}"; do
            key="$name/$conc"
            printf '| %s | %s | %.0f | %.0f | %.0f | %.1f |\n' "${label[$name]}" "$conc" "${mr[$key]}" "${m50[$key]}" "${m99[$key]}" "${mc[$key]}"
        done
    done
    echo "| **WAGI / static throughput** | 1 | **$r1** | | | |"
    echo "| **WAGI / static throughput** | 64 | **$r64** | | | |"
    if has c-http; then
        for conc in 1 64; do
            echo "| **C component / WAGI throughput** | $conc | **$(ratio "${mr[c-http/$conc]}" "${mr[wagi/$conc]}")** | | | |"
        done
    fi
)
goals=$(
    # Throughput is judged where the server is saturated (concurrency 64); at
    # concurrency 1 requests/s is only 1 / latency, printed for reference.
    echo "- WAGI p50 at concurrency 1: ${m50[wagi/1]} us (goal < 100 us): $(met "${m50[wagi/1]}" "<" 100)"
    echo "- WAGI / static throughput at concurrency 64: $r64 (goal >= 0.5): $(met "$r64" ">=" 0.5) (at concurrency 1: $r1)"
    if has c-http; then
        c64=$(ratio "${mr[c-http/64]}" "${mr[wagi/64]}")
        c1=$(ratio "${mr[c-http/1]}" "${mr[wagi/1]}")
        echo "- C component / WAGI throughput at concurrency 64: $c64 (goal >= 1): $(met "$c64" ">=" 1) (at concurrency 1: $c1; p50 at 1: ${m50[c-http/1]} us against WAGI's ${m50[wagi/1]} us)"
    fi
    if has js; then
        echo "- JavaScript p50 at concurrency 1: $(awk -v v="${m50[js/1]}" 'BEGIN { printf "%.2f", v / 1000 }') ms (goal < 20 ms): $(met "${m50[js/1]}" "<" 20000)"
    fi
    for why in "${skipped[@]}"; do echo "- SKIPPED: $why"; done
)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
machine=$(
    echo "- CPU: ${cpu:-unknown}, $(nproc) logical CPUs (nproc); $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2) on the same machine; Spry commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- Load average at the end (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg)"
)
echo
echo "$table"
if [ -n "$timing" ]; then
    echo
    echo "Inside the server, per component request at concurrency 1 (SPRY_LOG=debug timing lines, medians):"
    echo
    echo "$timing"
fi
echo
echo "$goals"
echo "$machine"
{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench-http\` ($reps repetitions of ${seconds} s per case, medians)."
    echo
    echo "$machine"
    echo
    echo "$table"
    if [ -n "$timing" ]; then
        echo
        echo "$timing"
    fi
    echo
    echo "$goals"
} >"$out/http.md"
echo "bench-http: wrote $out/http.md"
