# The fixture every WASI guest test runs in, for scripts/run-guests.sh and
# scripts/run-components.sh (sourced; defines functions and one list).

# The benchmark kernels run as guests (bench/kernels/NAME.c with
# tests/guests/kernel/main.c) and the argument each runs with.
guest_kernels=(
    "hash 200000" "crc32 4" "chacha 10000" "matmul 4" "nbody 300" "sieve 1"
    "sort 1" "base64 20" "fib 24" "icall 100000" "interp 20000"
)

# limited CPU_S WALL_S COMMAND...: runs COMMAND with a limit on its CPU
# time and a much larger one on wall time, and returns its status. A guest
# that spins is stopped by the first whatever the machine's load (on the
# shared 2-core VM under make asan, kernel-fib took 35 s of wall time for
# 5 s of CPU: a 20 s wall-clock limit failed it); one that blocks without
# spinning (a read nobody answers) by the second. The kernel kills a process
# past its CPU limit (SIGKILL: status 137); timeout's status is 124.
limited() {
    local cpu=$1 wall=$2
    shift 2
    (ulimit -t "$cpu" && exec timeout "$wall" "$@")
}

# A loopback TCP port for a test's listener: below the kernel's ephemeral
# range (an outgoing connection elsewhere on the machine cannot hold it, which
# is how a port drawn from 20000-49999 once collided in CI) and with nobody
# listening on it now.
test_port() {
    local low=32768 p _
    read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
    [ "$low" -gt 11000 ] || low=32768
    for _ in $(seq 50); do
        p=$((10000 + RANDOM % (low - 10000)))
        # A refused connection means the port is free.
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
    echo "$p"
}

# $T/sb    the read-write sandbox (pre-opened as /sb by most tests)
# $T/ro    a second tree, pre-opened read-only by some tests
# $T/outside.txt, $T/outdir   what no guest may touch
make_fixture() {
    local T=$1
    mkdir -p "$T/sb/dir/sub" "$T/sb/rd" "$T/sb/full" "$T/ro/sub" "$T/outdir"
    printf 'hello world\n' >"$T/sb/hello.txt"
    printf '12345' >"$T/sb/trunc.txt"
    printf 'rename me\n' >"$T/sb/r1.txt"
    printf 'a' >"$T/sb/dir/a.txt"
    printf 'bb' >"$T/sb/dir/b.txt"
    ln -s a.txt "$T/sb/dir/link"
    printf 'x' >"$T/sb/rd/x"
    printf 'f' >"$T/sb/full/f"
    ln -s / "$T/sb/link_root"
    ln -s .. "$T/sb/link_up"
    ln -s ../outside.txt "$T/sb/link_out"
    ln -s "$T/outside.txt" "$T/sb/link_abs_out"
    ln -s loop2 "$T/sb/loop1"
    ln -s loop1 "$T/sb/loop2"
    printf 'read only\n' >"$T/ro/readme.txt"
    printf 'secret\n' >"$T/outside.txt"
    printf 'keep\n' >"$T/outdir/keep.txt"
}

# Everything outside $T/sb: names, types, sizes, modes, mtimes, link targets
# and file contents.
snapshot() {
    local T=$1
    (cd "$T" && find . -path ./sb -prune -o -printf '%p %y %s %m %T@ %l\n' | sort &&
        find . -path ./sb -prune -o -type f -print0 | sort -z | xargs -0 -r md5sum)
}
