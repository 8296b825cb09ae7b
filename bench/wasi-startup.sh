#!/usr/bin/env bash
# `make bench-wasi`: wall time of running a stripped C hello world (WASI
# command) with `spry run` and with node's node:wasi (bench/wasi-runner.mjs),
# measured by hyperfine; prints both medians and their ratio, and writes
# BUILD/bench/wasi-startup.md (the figures and the machine) for
# docs/benchmarks.md. Goal: Spry under 3 ms and faster than node. /bin/true
# runs beside them: the cost of starting any process on the machine.
#
# Usage: bench/wasi-startup.sh [BUILD]   (BUILD holds spry; default: build)
# Environment: RUNS (default 300), WARMUP (default 20), CLANG, NODE.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
runs=${RUNS:-300}
warmup=${WARMUP:-20}
CLANG=${CLANG:-clang}
NODE=${NODE:-node}
mkdir -p "$out"

command -v hyperfine >/dev/null || { echo "bench-wasi: hyperfine missing (scripts/deps.sh)" >&2; exit 2; }
[ -x "$build/spry" ] || { echo "bench-wasi: $build/spry missing (make)" >&2; exit 2; }

"$CLANG" --target=wasm32-wasi -O2 -c "$root/bench/hello.c" -o "$out/hello.o"
"$CLANG" --target=wasm32-wasi -s "$out/hello.o" -o "$out/hello.wasm"

spry_cmd="$build/spry run $out/hello.wasm"
node_cmd="$NODE --no-warnings $root/bench/wasi-runner.mjs $out/hello.wasm"
for cmd in "$spry_cmd" "$node_cmd"; do
    got=$($cmd 2>&1) || true
    if [ "$got" != "hello, world" ]; then
        echo "bench-wasi: '$cmd' printed '$got', not 'hello, world'" >&2
        exit 1
    fi
done

# /bin/true: what starting any process costs on this machine (the floor).
hyperfine -N --warmup "$warmup" --runs "$runs" --export-json "$out/wasi-startup.json" \
    -n "spry run" "$spry_cmd" -n "node node:wasi" "$node_cmd" -n "/bin/true" /bin/true

summary=$("$NODE" -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
const ms = (x) => (x * 1000).toFixed(2);
const [s, n, t] = r;
console.log(`spry run: median ${ms(s.median)} ms (mean ${ms(s.mean)} ± ${ms(s.stddev)}, min ${ms(s.min)})`);
console.log(`node node:wasi: median ${ms(n.median)} ms (mean ${ms(n.mean)} ± ${ms(n.stddev)}, min ${ms(n.min)})`);
console.log(`/bin/true (process start-up floor): median ${ms(t.median)} ms; spry above it: ${ms(s.median - t.median)} ms`);
console.log(`node/spry median ratio: ${(n.median / s.median).toFixed(1)}x; goal (spry < 3 ms and faster than node): ${s.median < 0.003 && s.median < n.median ? "met" : "NOT met"}`);
' "$out/wasi-startup.json")
echo
echo "$summary"

cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
{
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`make bench-wasi\` (hyperfine -N, $warmup warm-up runs, $runs runs)."
    echo
    echo "- CPU: ${cpu:-unknown}, $(nproc) logical CPUs; $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo "- hello.wasm: $(stat -c %s "$out/hello.wasm") bytes ($("$CLANG" --version | head -n 1), wasi-libc, -O2, stripped)"
    echo "- $("$NODE" --version) node; Spry commit $(git -C "$root" rev-parse --short HEAD)"
    echo "- Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "$summary" | sed 's/^/- /'
} >"$out/wasi-startup.md"
echo "bench-wasi: wrote $out/wasi-startup.md"
