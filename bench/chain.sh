#!/usr/bin/env bash
# `make bench-chain`: what service chaining costs. One `spry up` (BUILD's,
# or SPRY_UP_BIN's: an older build to compare) serves the C wasi:http
# handler (tests/http-components/handler.c) twice: as `front` on every path
# and as `back` on a private route only. Measured with wrk, alternating, in
# BENCH_REPS rounds of BENCH_SECONDS each:
#   direct  GET /bench   front answers itself (the baseline of the same run)
#   chain   GET /chain   front's outgoing request to
#                        http://back.spin.internal/bench, relayed back
# at concurrency 1 and 4. Prints the medians of requests/s and of the
# server's CPU time per request (user + system of the spry-up process,
# /proc/PID/stat), the chain/direct ratio of each, and the load average
# before and after (a shared machine: the ratios are what to compare).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
secs=${BENCH_SECONDS:-4}
reps=${BENCH_REPS:-3}
command -v wrk >/dev/null || { echo "bench-chain: wrk is not installed (scripts/deps.sh)"; exit 0; }
handler=$("$root/scripts/build-http-guest.sh" "$build" 2>/dev/null) || {
    echo "bench-chain: skipped: the C handler component is not built (needs node and npm)"
    exit 0
}
up=${SPRY_UP_BIN:-$build/spry}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "bench-chain"
[[trigger.http]]
route = "/..."
component = "front"
[[trigger.http]]
route = { private = true }
component = "back"
[component.front]
source = "$handler"
allowed_outbound_hosts = ["http://back.spin.internal"]
[component.back]
source = "$handler"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$up" up -f "$dir/spin.toml" --listen "127.0.0.1:$port" --quiet >"$dir/up.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do
    curl -s -o /dev/null "$base/bench" && break
    sleep 0.1
done
hdr='x-chain-url: http://back.spin.internal/bench'
[ "$(curl -s -H "$hdr" "$base/chain")" = "hello from a wasi:http component" ] ||
    { echo "bench-chain: /chain does not answer"; cat "$dir/up.log"; exit 1; }
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# run NAME CONC PATH [HEADER]: appends "rps cpu_us_per_request" to $dir/NAME.CONC
run() {
    local name=$1 conc=$2 path=$3 out t0 t1 rps n
    shift 3
    t0=$(cpu)
    out=$(wrk -t1 -c"$conc" -d"${secs}s" "$@" "$base$path")
    t1=$(cpu)
    rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
    n=$(awk '/requests in/{print $1}' <<<"$out")
    echo "$rps $(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$hz" 'BEGIN{printf "%.1f", (b-a)/hz*1e6/n}')" \
        >>"$dir/$name.$conc"
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$reps"); do
    for c in 1 4; do
        run direct "$c" /bench
        run chain "$c" /chain -H "$hdr"
    done
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
med() { sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }
echo "service chaining: $up, ${reps} x ${secs}s alternating, load average $load0 -> $load1"
printf '%-8s %5s %12s %12s %14s\n' route conc 'req/s' 'CPU us/req' 'ratio (req/s)'
for c in 1 4; do
    d=$(cut -d' ' -f1 "$dir/direct.$c" | med)
    k=$(cut -d' ' -f1 "$dir/chain.$c" | med)
    printf '%-8s %5s %12s %12s %14s\n' direct "$c" "$d" "$(cut -d' ' -f2 "$dir/direct.$c" | med)" 1
    printf '%-8s %5s %12s %12s %14s\n' chain "$c" "$k" "$(cut -d' ' -f2 "$dir/chain.$c" | med)" \
        "$(awk -v a="$k" -v b="$d" 'BEGIN{printf "%.3f", a/b}')"
done
