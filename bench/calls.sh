#!/usr/bin/env bash
# `make bench-calls`: times the loops of bench/calls.wat on `spry run
# --invoke` and prints, per export, the median ns per iteration and the
# extra cost of the call over the "nocalls" loop measured in the same run.
# With valgrind installed it also prints instructions per iteration
# (cachegrind), which this noisy shared machine does not disturb.
# Usage: bench/calls.sh BUILD [ITERATIONS]   (default 50000000; BENCH_REPS=3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
n=${2:-50000000}
reps=${BENCH_REPS:-3}
out="$build/bench"
mkdir -p "$out"
wat2wasm "$root/bench/calls.wat" -o "$out/calls.wasm"
spry="$build/spry"
exports=(nocalls calls calls3 framed)

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "bench-calls: $n iterations, median of $reps; load $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A ns
for e in "${exports[@]}"; do
    for _ in $(seq "$reps"); do
        t0=$(date +%s%N)
        "$spry" run --invoke "$e" "$out/calls.wasm" "$n" >/dev/null
        t1=$(date +%s%N)
        echo $(((t1 - t0) * 1000 / n))
    done | median >"$out/calls.$e.ps"
    ns[$e]=$(cat "$out/calls.$e.ps") # picoseconds per iteration
done
have_cg=0
command -v valgrind >/dev/null && have_cg=1
declare -A ins
if [ $have_cg = 1 ]; then
    for e in "${exports[@]}"; do
        # Instructions of a 1M-iteration run less those of a 1-iteration run.
        count() {
            valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
                "$spry" run --invoke "$e" "$out/calls.wasm" "$1" 2>&1 >/dev/null |
                sed -n 's/.*I *refs: *//p' | tr -d ,
        }
        big=$(count 1000000)
        small=$(count 1)
        ins[$e]=$(((big - small) / 999999))
    done
fi
printf '%-8s %10s %12s %12s %14s\n' export "ns/iter" "call ns" "instr/iter" "call instr"
for e in "${exports[@]}"; do
    base=${ns[nocalls]}
    callns=$(awk -v a="${ns[$e]}" -v b="$base" 'BEGIN {printf "%.2f", (a - b) / 1000}')
    [ "$e" = nocalls ] && callns="-"
    ci="-" ii="-"
    if [ $have_cg = 1 ]; then
        ii=${ins[$e]}
        [ "$e" != nocalls ] && ci=$((ins[$e] - ins[nocalls]))
    fi
    printf '%-8s %10s %12s %12s %14s\n' "$e" "$(awk -v a="${ns[$e]}" 'BEGIN {printf "%.2f", a / 1000}')" \
        "$callns" "$ii" "$ci"
done
