/*
 * Bad pointers and lengths from the guest: addresses at or past the end of
 * linear memory, lengths that run past it or wrap around 2^32, iovec arrays
 * that do not fit. Each call must come back with EFAULT (wasmtime's and
 * node's answer; a trap would also keep the host safe, but this suite
 * expects the errno) and the process must carry on.
 */
#include "guest.h"

#define END ((uint32_t)(__builtin_wasm_memory_size(0) * 65536u))

static void *at(uint32_t addr)
{
    return (void *)(uintptr_t)addr;
}

int main(void)
{
    uint32_t end = END;
    __wasi_size_t n;
    static char ok_buf[16];
    static __wasi_ciovec_t iov;
    static __wasi_iovec_t riov;
    fflush(stdout);

    report("fd_write iovs at end of memory", __wasi_fd_write(1, at(end), 1, &n));
    report("fd_write iovs straddling the end", __wasi_fd_write(1, at(end - 4), 1, &n));
    report("fd_write iovs_len 0x20000000", __wasi_fd_write(1, &iov, 0x20000000, &n));
    iov.buf = at(end - 2);
    iov.buf_len = 100;
    report("fd_write buffer running past the end", __wasi_fd_write(1, &iov, 1, &n));
    iov.buf = at(0xfffffff0u);
    iov.buf_len = 0x20;
    report("fd_write buffer wrapping around 2^32", __wasi_fd_write(1, &iov, 1, &n));
    iov.buf = (const uint8_t *)"x";
    iov.buf_len = 0;
    report("fd_write nwritten out of bounds", __wasi_fd_write(1, &iov, 1, at(end)));
    riov.buf = at(end);
    riov.buf_len = 1;
    report("fd_read into memory's end", __wasi_fd_read(0, &riov, 1, &n));

    report("args_sizes_get out of bounds", __wasi_args_sizes_get(at(end), &n));
    report("args_get argv out of bounds", __wasi_args_get(at(end), (uint8_t *)ok_buf));
    report("environ_sizes_get out of bounds", __wasi_environ_sizes_get(&n, at(0xffffffffu)));
    report("clock_time_get result out of bounds", __wasi_clock_time_get(1, 1, at(end - 4)));
    report("clock_res_get result out of bounds", __wasi_clock_res_get(0, at(end)));
    report("random_get past the end", __wasi_random_get(at(end - 8), 16));
    report("random_get length 0xffffffff", __wasi_random_get((uint8_t *)ok_buf, 0xffffffffu));
    report("fd_fdstat_get out of bounds", __wasi_fd_fdstat_get(1, at(end)));
    report("fd_prestat_get out of bounds", __wasi_fd_prestat_get(3, at(end)));
    report("fd_prestat_dir_name past the end", __wasi_fd_prestat_dir_name(3, at(end - 1), 0x10000));

    __wasi_fd_t fd;
    WASI_IMPORT(path_open)
    int32_t raw_path_open(int32_t, int32_t, int32_t, int32_t, int32_t, int64_t, int64_t, int32_t,
                          int32_t);
    /* Raw: wasi-libc's wrapper would take strlen() of the path itself. */
    report("path_open path past the end",
           raw_path_open(3, 0, (int32_t)(end - 2), 10, 0, 0, 0, 0, (int32_t)(uintptr_t)&fd));
    report("path_open path length 0xfffffff0",
           raw_path_open(3, 0, (int32_t)(uintptr_t) "hello.txt", (int32_t)0xfffffff0u, 0, 0, 0, 0,
                         (int32_t)(uintptr_t)&fd));
    report("path_open fd result out of bounds",
           __wasi_path_open(3, 0, "hello.txt", 0, 0, 0, 0, at(end)));
    WASI_IMPORT(fd_readdir)
    int32_t raw_readdir(int32_t, int32_t, int32_t, int64_t, int32_t);
    report("fd_readdir buffer past the end",
           raw_readdir(3, (int32_t)(end - 8), 4096, 0, (int32_t)(uintptr_t)&n));
    report("poll_oneoff 0x10000000 subscriptions",
           __wasi_poll_oneoff(at(16), (__wasi_event_t *)ok_buf, 0x10000000, &n));
    printf("still running\n");
    return 0;
}
