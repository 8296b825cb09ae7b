#!/usr/bin/env bash
# `make bench`: builds every kernel in bench/kernels for wasm32 and for the
# host with the same compiler and flags, runs each on the same n natively, on
# Spry (bench/driver.c) and on node's WebAssembly, checks that the three
# checksums agree, and prints per-kernel median times, the ratios to native,
# their geometric means (of the medians, and of the fastest runs, which
# shared machines disturb less) and Spry's translation speed. The table and the
# machine description also go to BUILD/bench/results.md.
#
# Usage: bench/run.sh [BUILD]   (BUILD holds libspry.a; default: build)
# Environment:
#   BENCH_REPS=5        repetitions per kernel and runtime (the median counts)
#   BENCH_KERNELS="a b" run only these kernels
#   BENCH_QUICK=1       small inputs, for a smoke test (times are meaningless)
#   CC, LDFLAGS         compiler and link flags for the Spry driver (default cc,
#                       -pthread; make passes its own, so SANITIZE=1 works)
#   CLANG, NODE         kernel compiler (default clang), node (default node)
#   BENCH_NATIVE=0      skip the Spry native-tier column (SPRY_NATIVE=1 runs of the
#                       same driver; docs/native.md); its cache is BUILD/bench/native-cache
# Exit status: 0; 1 when checksums disagree or a runtime fails; 2 on a build
# error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
reps=${BENCH_REPS:-5}
CC=${CC:-cc}
LDFLAGS=${LDFLAGS:--pthread}
CLANG=${CLANG:-clang}
NODE=${NODE:-node}

# name, n (about 100 ms natively on the machine in docs/benchmarks.md),
# quick n, what it exercises.
kernels=(
    "hash     22000000 1000000 integer: 64-bit multiply/xor-shift chain"
    "crc32    600      30      integer: table-driven CRC-32"
    "chacha   1100000  50000   integer: 32-bit add/rotate/xor (ChaCha20)"
    "matmul   550      30      float: 96x96 f64 matrix multiply"
    "nbody    36000    2000    float: n-body with sqrt and division"
    "sieve    12       1       memory: sieve of Eratosthenes, 4 MiB"
    "sort     5        1       memory+branches: quicksort of 256 Ki keys"
    "base64   2000     100     memory: base64 encode/decode bytes"
    "fib      37       27      calls: recursive fib and tak"
    "icall    10000000 500000  calls: indirect calls through a table"
    "interp   2200000  150000  branches: switch-dispatched bytecode VM"
)

kflags=(-std=c17 -O2 -ffreestanding -fno-math-errno -Wall -Wextra -Werror)
hflags=(-std=c17 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE)

die_build() {
    echo "bench: build failed: $*" >&2
    exit 2
}

mkdir -p "$out"

# ---- the machine -----------------------------------------------------------
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cpus=$(nproc 2>/dev/null || echo "?")
tpc=$(lscpu 2>/dev/null | sed -n 's/^Thread(s) per core: *//p' | head -n 1)
family=$(lscpu 2>/dev/null | sed -n 's/^CPU family: *//p' | head -n 1)
model=$(lscpu 2>/dev/null | sed -n 's/^Model: *//p' | head -n 1)
os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
machine=(
    "CPU: ${cpu:-unknown} (family ${family:-?}, model ${model:-?}), $cpus logical CPUs (${tpc:-?} thread(s) per core)"
    "OS: ${os:-unknown}, kernel $(uname -sr)"
    "Kernel compiler (wasm32 and native): $("$CLANG" --version | head -n 1)"
    "Driver compiler: $("$CC" --version | head -n 1)"
    "node: $("$NODE" --version)"
    "Spry: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
        git -C "$root" diff --quiet HEAD -- src include 2>/dev/null || echo " (engine sources modified)")"
    "Load average before the run (1/5/15 min): $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
)

# ---- build -----------------------------------------------------------------
echo "bench: building kernels into $out"
"$CLANG" "${hflags[@]}" -c "$root/bench/native_main.c" -o "$out/native_main.o" ||
    die_build native_main.c
names=()
for entry in "${kernels[@]}"; do
    read -r name _ <<<"$entry"
    if [ -n "${BENCH_KERNELS:-}" ] && [[ " $BENCH_KERNELS " != *" $name "* ]]; then
        continue
    fi
    names+=("$name")
    src="$root/bench/kernels/$name.c"
    "$CLANG" --target=wasm32 "${kflags[@]}" -c "$src" -o "$out/$name.wasm.o" || die_build "$src"
    "$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry -Wl,--export=run -s \
        "$out/$name.wasm.o" -o "$out/$name.wasm" || die_build "$name.wasm"
    "$CLANG" "${kflags[@]}" -c "$src" -o "$out/$name.native.o" || die_build "$src"
    "$CLANG" "$out/native_main.o" "$out/$name.native.o" -o "$out/$name.native" ||
        die_build "$name.native"
done
[ ${#names[@]} -gt 0 ] || die_build "no kernel matches BENCH_KERNELS='${BENCH_KERNELS:-}'"

# A larger, varied input for translation speed: every kernel at five
# optimisation levels, linked into one module (translated, never run).
corpus_objs=()
corpus_exports=()
for entry in "${kernels[@]}"; do
    read -r name _ <<<"$entry"
    for opt in O1 O2 O3 Os Oz; do
        o="$out/corpus-$name-$opt.o"
        "$CLANG" --target=wasm32 "${kflags[@]/-O2/-$opt}" "-Drun=run_${name}_$opt" \
            -c "$root/bench/kernels/$name.c" -o "$o" || die_build "corpus $name -$opt"
        corpus_objs+=("$o")
        corpus_exports+=("-Wl,--export=run_${name}_$opt")
    done
done
"$CLANG" --target=wasm32 -nostdlib -Wl,--no-entry "${corpus_exports[@]}" -s \
    "${corpus_objs[@]}" -o "$out/translate.wasm" || die_build translate.wasm

# The Spry column needs the engine in libspry.a. Until every function the
# driver calls is defined there, the column is reported as pending.
spry=""
spry_missing=""
lib="$build/libspry.a"
"$CC" "${hflags[@]}" -I"$root/include" -c "$root/bench/driver.c" -o "$out/driver.o" ||
    die_build driver.c
if [ ! -f "$lib" ]; then
    spry_missing="$lib does not exist (run make first)"
else
    defined=$(nm -g --defined-only "$lib" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u)
    for sym in $(nm -u "$out/driver.o" | awk '$2 ~ /^spry_/ { print $2 }' | sort -u); do
        grep -qx "$sym" <<<"$defined" || spry_missing="$spry_missing $sym"
    done
    [ -n "$spry_missing" ] && spry_missing="libspry.a does not define:$spry_missing"
fi
if [ -z "$spry_missing" ]; then
    # libcrypto: the native tier keys its cache with SHA-256 (docs/native.md).
    "$CC" $LDFLAGS "$out/driver.o" "$lib" -lm -lcrypto -o "$out/spry-bench" || die_build spry-bench
    spry="$out/spry-bench"
else
    echo "bench: Spry column pending: $spry_missing"
fi

# ---- run -------------------------------------------------------------------
# field KEY LINE: the value of KEY=... in a runner's result line.
field() {
    tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

status=0
rows=()
tbytes=0
tms=0
echo "bench: $reps repetitions each, median reported"
for name in "${names[@]}"; do
    for entry in "${kernels[@]}"; do
        read -r k n quick what <<<"$entry"
        [ "$k" = "$name" ] && break
    done
    [ -n "${BENCH_QUICK:-}" ] && n=$quick

    nat=$("$out/$name.native" "$n" "$reps") || {
        echo "bench: $name: native run failed" >&2
        status=1
        continue
    }
    nod=$("$NODE" "$root/bench/run-node.mjs" "$out/$name.wasm" "$n" "$reps") || {
        echo "bench: $name: node run failed" >&2
        status=1
        continue
    }
    sp=""
    if [ -n "$spry" ]; then
        sp=$("$spry" "$out/$name.wasm" "$n" "$reps") || {
            echo "bench: $name: Spry run failed" >&2
            sp="failed"
            status=1
        }
    fi

    spn=""
    if [ -n "$spry" ] && [ "${BENCH_NATIVE:-1}" != 0 ]; then
        # One untimed run first compiles the module into the cache.
        SPRY_NATIVE=1 SPRY_CACHE_DIR="$out/native-cache" "$spry" "$out/$name.wasm" "$n" 1 \
            >/dev/null 2>&1 || true
        spn=$(SPRY_NATIVE=1 SPRY_CACHE_DIR="$out/native-cache" "$spry" "$out/$name.wasm" "$n" \
            "$reps") || {
            echo "bench: $name: Spry native-tier run failed" >&2
            spn="failed"
            status=1
        }
    fi

    sum_nat=$(field checksum "$nat")
    sum_nod=$(field checksum "$nod")
    ok="ok"
    [ "$sum_nod" = "$sum_nat" ] || ok="MISMATCH(node=$sum_nod)"
    spry_ms="pending" sum_spry=""
    if [ "$sp" = "failed" ]; then
        spry_ms="failed"
    elif [ -n "$sp" ]; then
        spry_ms=$(field median_ms "$sp")
        sum_spry=$(field checksum "$sp")
        [ "$sum_spry" = "$sum_nat" ] || ok="MISMATCH(spry=$sum_spry)"
        tbytes=$((tbytes + $(field code_bytes "$sp")))
        tms=$(awk -v a="$tms" -v b="$(field translate_ms "$sp")" 'BEGIN { printf "%.6f", a + b }')
    fi
    spn_ms="-" spn_min="-"
    if [ "$spn" = "failed" ]; then
        spn_ms="failed"
    elif [ -n "$spn" ]; then
        spn_ms=$(field median_ms "$spn")
        spn_min=$(field min_ms "$spn")
        [ "$(field checksum "$spn")" = "$sum_nat" ] || ok="MISMATCH(spry-native=$(field checksum "$spn"))"
    fi
    [ "$ok" = "ok" ] || status=1
    spry_min=$spry_ms
    [ -n "$sum_spry" ] && spry_min=$(field min_ms "$sp")
    rows+=("$name $n $(field median_ms "$nat") $spry_ms $(field median_ms "$nod") $sum_nat $ok \
$(field min_ms "$nat") $spry_min $(field min_ms "$nod") $spn_ms $spn_min")
    printf '  %-7s native %9s ms  spry %9s ms  spry-native %9s ms  node %9s ms  %s %s\n' "$name" \
        "$(field median_ms "$nat")" "$spry_ms" "$spn_ms" "$(field median_ms "$nod")" "$sum_nat" "$ok"
done

# ---- report ----------------------------------------------------------------
# One awk program formats both the terminal table and the Markdown one.
report() { # format: text | md
    printf '%s\n' "${rows[@]}" | awk -v fmt="$1" '
    function ratio(a, b) { return (a ~ /^[0-9.]+$/ && b > 0) ? a / b : -1 }
    function show(r) { return r < 0 ? "-" : sprintf("%.2fx", r) }
    BEGIN {
        if (fmt == "md") {
            print "| kernel | n | native ms | Spry ms | Spry native-tier ms | node ms | Spry/native | Spry native-tier/native | node/native | checksum |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        } else {
            printf "%-8s %9s %10s %10s %10s %10s %12s %12s %12s  %s\n", "kernel", "n", "native ms",
                "spry ms", "spry-nt ms", "node ms", "spry/native", "spry-nt/nat", "node/native",
                "checksum"
        }
    }
    {
        if ($4 == "failed") failed++
        rs = ratio($4, $3); rn = ratio($5, $3); rt = ratio($11, $3)
        if (rt > 0) { lt += log(rt); ct++ }
        mt = ratio($12, $8)
        if (mt > 0) lmt += log(mt)
        if (rs > 0) { ls += log(rs); cs++ }
        if (rn > 0) { ln += log(rn); cn++ }
        ms = ratio($9, $8); mn = ratio($10, $8)
        if (ms > 0) lms += log(ms)
        if (mn > 0) lmn += log(mn)
        sum = $6 ($7 == "ok" ? "" : " " $7)
        nt = ($11 ~ /^[0-9.]+$/ ? sprintf("%.1f", $11) : $11)
        if (fmt == "md")
            printf "| %s | %s | %.1f | %s | %s | %.1f | %s | %s | %s | `%s` |\n", $1, $2, $3,
                ($4 ~ /^[0-9.]+$/ ? sprintf("%.1f", $4) : $4), nt, $5, show(rs), show(rt),
                show(rn), sum
        else
            printf "%-8s %9s %10.1f %10s %10s %10.1f %12s %12s %12s  %s\n", $1, $2, $3,
                ($4 ~ /^[0-9.]+$/ ? sprintf("%.1f", $4) : $4), nt, $5, show(rs), show(rt),
                show(rn), sum
        rows++
    }
    END {
        gs = cs == rows && cs > 0 ? show(exp(ls / cs)) : (failed ? "incomplete" : "pending")
        gn = cn > 0 ? show(exp(ln / cn)) : "-"
        bs = cs == rows && cs > 0 ? show(exp(lms / cs)) : (failed ? "incomplete" : "pending")
        bn = cn > 0 ? show(exp(lmn / cn)) : "-"
        gt = ct == rows && ct > 0 ? show(exp(lt / ct)) : "-"
        bt = ct == rows && ct > 0 ? show(exp(lmt / ct)) : "-"
        if (fmt == "md") {
            printf "| **geometric mean** | | | | | | **%s** | **%s** | **%s** | |\n", gs, gt, gn
            printf "| geometric mean of the fastest runs | | | | | | %s | %s | %s | |\n", bs, bt, bn
        } else {
            printf "%-8s %9s %10s %10s %10s %10s %12s %12s %12s\n", "geomean", "", "", "", "", "",
                gs, gt, gn
            printf "%-19s %42s %12s %12s %12s\n", "geomean (fastest)", "", bs, bt, bn
        }
    }'
}

corpus=""
if [ -n "$spry" ]; then
    corpus=$("$spry" --translate "$out/translate.wasm" 21) || {
        echo "bench: translating translate.wasm failed" >&2
        corpus="failed"
        status=1
    }
fi

translation_line() {
    if [ -z "$spry" ]; then
        echo "Spry translation: pending"
        return
    fi
    if [ "$corpus" = "failed" ]; then
        echo "Spry translation of translate.wasm: failed"
    else
        awk -v b="$(field code_bytes "$corpus")" -v t="$(field translate_ms "$corpus")" 'BEGIN {
            printf "Spry translation of translate.wasm (every kernel at -O1/-O2/-O3/-Os/-Oz): "
            printf "%d bytes of code in %.3f ms: %.1f MB/s\n", b, t, b / 1e6 / (t / 1e3) }'
    fi
    if awk -v t="$tms" 'BEGIN { exit !(t > 0) }'; then
        awk -v b="$tbytes" -v t="$tms" 'BEGIN {
            printf "Spry translation of the kernels run above: %d bytes of code in %.3f ms: %.1f MB/s\n",
                b, t, b / 1e6 / (t / 1e3) }'
    fi
}

echo
for line in "${machine[@]}"; do echo "$line"; done
echo
report text
echo
translation_line
echo "Goals: geometric-mean Spry/native <= 8x; translation >= 20 MB/s of code."

{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench\`, $reps repetitions, median."
    [ -n "${BENCH_QUICK:-}" ] && echo "BENCH_QUICK=1: small inputs, times not representative."
    echo
    for line in "${machine[@]}"; do echo "- $line"; done
    echo
    report md
    echo
    translation_line
} >"$out/results.md"
echo "bench: wrote $out/results.md"

if [ "$status" -ne 0 ]; then
    echo "bench: FAILED (checksum mismatch or a failed run; see above)" >&2
fi
exit "$status"
