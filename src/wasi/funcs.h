/*
 * The functions of wasi_snapshot_preview1: the single list (name, parameter
 * types, result types, handler) that table.c turns into host defs and the
 * handler prototypes below come from. Types are strings of valtype bytes
 * (WASI_P32 = i32, WASI_P64 = i64), so "WASI_P32 WASI_P64" is (i32 i64).
 * Signatures: WebAssembly/WASI phases/snapshot/witx/wasi_snapshot_preview1.witx.
 *
 * Handlers return a WASI errno (>= 0), stored as the call's i32 result, or
 * a negative SPRY_E* code that ends the call (SPRY_ETRAP, SPRY_EEXIT).
 */
#ifndef SPRY_WASI_FUNCS_H
#define SPRY_WASI_FUNCS_H

#include "wasi/abi.h"

#define WASI_P32   "\x7f"
#define WASI_P64   "\x7e"
#define WASI_P32x2 WASI_P32 WASI_P32
#define WASI_P32x3 WASI_P32 WASI_P32 WASI_P32

/* X(name, params, results) */
#define WASI_FUNC_LIST(X)                                                                  \
    X(args_get, WASI_P32x2, WASI_P32)                                                      \
    X(args_sizes_get, WASI_P32x2, WASI_P32)                                                \
    X(environ_get, WASI_P32x2, WASI_P32)                                                   \
    X(environ_sizes_get, WASI_P32x2, WASI_P32)                                             \
    X(clock_res_get, WASI_P32x2, WASI_P32)                                                 \
    X(clock_time_get, WASI_P32 WASI_P64 WASI_P32, WASI_P32)                                \
    X(fd_advise, WASI_P32 WASI_P64 WASI_P64 WASI_P32, WASI_P32)                            \
    X(fd_allocate, WASI_P32 WASI_P64 WASI_P64, WASI_P32)                                   \
    X(fd_close, WASI_P32, WASI_P32)                                                        \
    X(fd_datasync, WASI_P32, WASI_P32)                                                     \
    X(fd_fdstat_get, WASI_P32x2, WASI_P32)                                                 \
    X(fd_fdstat_set_flags, WASI_P32x2, WASI_P32)                                           \
    X(fd_fdstat_set_rights, WASI_P32 WASI_P64 WASI_P64, WASI_P32)                          \
    X(fd_filestat_get, WASI_P32x2, WASI_P32)                                               \
    X(fd_filestat_set_size, WASI_P32 WASI_P64, WASI_P32)                                   \
    X(fd_filestat_set_times, WASI_P32 WASI_P64 WASI_P64 WASI_P32, WASI_P32)                \
    X(fd_pread, WASI_P32x3 WASI_P64 WASI_P32, WASI_P32)                                    \
    X(fd_prestat_get, WASI_P32x2, WASI_P32)                                                \
    X(fd_prestat_dir_name, WASI_P32x3, WASI_P32)                                           \
    X(fd_pwrite, WASI_P32x3 WASI_P64 WASI_P32, WASI_P32)                                   \
    X(fd_read, WASI_P32x2 WASI_P32x2, WASI_P32)                                            \
    X(fd_readdir, WASI_P32x3 WASI_P64 WASI_P32, WASI_P32)                                  \
    X(fd_renumber, WASI_P32x2, WASI_P32)                                                   \
    X(fd_seek, WASI_P32 WASI_P64 WASI_P32x2, WASI_P32)                                     \
    X(fd_sync, WASI_P32, WASI_P32)                                                         \
    X(fd_tell, WASI_P32x2, WASI_P32)                                                       \
    X(fd_write, WASI_P32x2 WASI_P32x2, WASI_P32)                                           \
    X(path_create_directory, WASI_P32x3, WASI_P32)                                         \
    X(path_filestat_get, WASI_P32x3 WASI_P32x2, WASI_P32)                                  \
    X(path_filestat_set_times, WASI_P32x2 WASI_P32x2 WASI_P64 WASI_P64 WASI_P32, WASI_P32) \
    X(path_link, WASI_P32x3 WASI_P32x2 WASI_P32x2, WASI_P32)                               \
    X(path_open, WASI_P32x3 WASI_P32x2 WASI_P64 WASI_P64 WASI_P32x2, WASI_P32)             \
    X(path_readlink, WASI_P32x3 WASI_P32x3, WASI_P32)                                      \
    X(path_remove_directory, WASI_P32x3, WASI_P32)                                         \
    X(path_rename, WASI_P32x3 WASI_P32x3, WASI_P32)                                        \
    X(path_symlink, WASI_P32x3 WASI_P32x2, WASI_P32)                                       \
    X(path_unlink_file, WASI_P32x3, WASI_P32)                                              \
    X(poll_oneoff, WASI_P32x2 WASI_P32x2, WASI_P32)                                        \
    X(proc_exit, WASI_P32, "")                                                             \
    X(proc_raise, WASI_P32, WASI_P32)                                                      \
    X(sched_yield, "", WASI_P32)                                                           \
    X(random_get, WASI_P32x2, WASI_P32)                                                    \
    X(sock_accept, WASI_P32x3, WASI_P32)                                                   \
    X(sock_recv, WASI_P32x3 WASI_P32x3, WASI_P32)                                          \
    X(sock_send, WASI_P32x3 WASI_P32x2, WASI_P32)                                          \
    X(sock_shutdown, WASI_P32x2, WASI_P32)

#define WASI_FUNC_PROTO(name, params, results) int wasi_##name(struct wasi_call *c);
WASI_FUNC_LIST(WASI_FUNC_PROTO)
#undef WASI_FUNC_PROTO

#endif
