/*
 * bench/component's second pair, the module: "hello, world" written
 * directly to WASI preview 1, freestanding C (no libc): the same program as
 * hello_p2.c, which writes it to WASI 0.2.
 */
#include <stdint.h>

struct ciovec {
    const void *buf;
    uint32_t len;
};

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t
fd_write(int32_t fd, const struct ciovec *iovs, int32_t n, uint32_t *written);

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_exit"))) _Noreturn void
proc_exit(int32_t code);

static const char message[] = "hello, world\n";

__attribute__((export_name("_start"))) void start(void)
{
    struct ciovec iov = {message, sizeof message - 1};
    uint32_t written;
    if (fd_write(1, &iov, 1, &written) != 0 || written != iov.len)
        proc_exit(1);
}
