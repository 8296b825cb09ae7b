/*
 * wasi:filesystem through the host functions: file I/O beneath a preopen,
 * directory listings, metadata, the escape attempts of preview 1's
 * test_path.c (each under both path resolution strategies, checking that
 * outside/ is untouched), read-only preopens, and misuse of descriptors.
 */
#include "harness/test.h"
#include "unit/component/wasip2_fixture.h"
#include "wasi/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FS "wasi:filesystem/types"
#define IO "wasi:io/streams"

static struct cval open_at(struct p2t *t, uint32_t dir, uint32_t pflags, const char *path,
                           uint32_t oflags, uint32_t dflags)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.open-at", &r, cv_borrow(dir), cv_flags(pflags),
                     cv_str(path), cv_flags(oflags), cv_flags(dflags)));
    return r;
}

static uint32_t open_ok(struct p2t *t, uint32_t dir, uint32_t pflags, const char *path,
                        uint32_t oflags, uint32_t dflags)
{
    struct cval r = open_at(t, dir, pflags, path, oflags, dflags);
    return r_own(&r);
}

static uint32_t open_err(struct p2t *t, uint32_t dir, uint32_t pflags, const char *path,
                         uint32_t oflags, uint32_t dflags)
{
    struct cval r = open_at(t, dir, pflags, path, oflags, dflags);
    return r_err(&r);
}

/* A one-path method (create-directory-at, unlink-file-at, ...): its error
 * case, or UINT32_MAX when it succeeded. */
static uint32_t at1(struct p2t *t, const char *method, uint32_t dir, const char *path)
{
    struct cval r;
    ASSERT_OK(p2t_call(t, FS, method, (const struct cval[]){cv_borrow(dir), cv_str(path)}, 2, &r));
    return r_ok(&r) ? UINT32_MAX : r_err(&r);
}

static uint32_t stat_at(struct p2t *t, uint32_t dir, uint32_t pflags, const char *path,
                        struct cval *stat)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.stat-at", &r, cv_borrow(dir), cv_flags(pflags),
                     cv_str(path)));
    if (!r_ok(&r))
        return r_err(&r);
    if (stat != NULL)
        *stat = *r_val(&r);
    return UINT32_MAX;
}

static uint32_t rename_at(struct p2t *t, uint32_t from, const char *a, uint32_t to, const char *b)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.rename-at", &r, cv_borrow(from), cv_str(a),
                     cv_borrow(to), cv_str(b)));
    return r_ok(&r) ? UINT32_MAX : r_err(&r);
}

static uint32_t link_at(struct p2t *t, uint32_t from, const char *a, uint32_t to, const char *b)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.link-at", &r, cv_borrow(from), cv_flags(0),
                     cv_str(a), cv_borrow(to), cv_str(b)));
    return r_ok(&r) ? UINT32_MAX : r_err(&r);
}

static uint32_t symlink_at(struct p2t *t, uint32_t dir, const char *target, const char *name)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.symlink-at", &r, cv_borrow(dir), cv_str(target),
                     cv_str(name)));
    return r_ok(&r) ? UINT32_MAX : r_err(&r);
}

static uint32_t set_times_at(struct p2t *t, uint32_t dir, const char *path)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.set-times-at", &r, cv_borrow(dir), cv_flags(0),
                     cv_str(path), cv_time_at(t, 1000, 0), cv_time_keep()));
    return r_ok(&r) ? UINT32_MAX : r_err(&r);
}

static void link_in(struct p2t *t, const char *target, const char *name)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", t->box, name);
    ASSERT_EQ_INT(symlink(target, path), 0);
}

static void assert_outside_untouched(struct p2t *t)
{
    ASSERT_EQ_STR(sandbox_listing(t->outside), "secret");
    ASSERT_EQ_STR(sandbox_read_file(t->outside, "secret"), "top secret");
}

static void both_strategies(void (*body)(struct p2t *t))
{
    for (int walk = 0; walk < 2; walk++) {
        wasi_path_force_walk(walk);
        struct p2t t;
        p2t_setup(&t, NULL);
        body(&t);
        assert_outside_untouched(&t);
        p2t_teardown(&t);
        char cmd[13000];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", t.box, t.box2, t.outside);
        ASSERT_EQ_INT(system(cmd), 0);
    }
    wasi_path_force_walk(0);
}

/* ---- escapes (the cases of tests/unit/wasi/test_path.c) ---- */

static void dotdot_body(struct p2t *t)
{
    char sub[8400];
    snprintf(sub, sizeof sub, "%s/sub", t->box);
    ASSERT_EQ_INT(mkdir(sub, 0777), 0);
    sandbox_write_file(t->box, "sub/file", "inside");
    uint32_t box = p2t_preopen(t, 0);
    ASSERT_EQ_UINT(open_err(t, box, 0, "../outside/secret", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "sub/../../outside/secret", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "sub/../sub/../..", OF_DIRECTORY, DF_READ),
                   FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "..", OF_DIRECTORY, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "../outside/new", OF_CREATE, DF_READ | DF_WRITE),
                   FS_NOT_PERMITTED);
    /* `..` that stays inside is fine. */
    open_ok(t, box, 0, "sub/../sub/./file", 0, DF_READ);
    open_ok(t, box, 0, "sub/..", OF_DIRECTORY, DF_READ);
    /* From a directory opened inside, `..` cannot leave that directory. */
    uint32_t subd = open_ok(t, box, 0, "sub", OF_DIRECTORY, DF_READ);
    ASSERT_EQ_UINT(open_err(t, subd, 0, "../sub/file", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(at1(t, "[method]descriptor.create-directory-at", box, "../../outside/made"),
                   FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(at1(t, "[method]descriptor.unlink-file-at", box, "../outside/secret"),
                   FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(stat_at(t, box, 0, "../outside/secret", NULL), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(set_times_at(t, box, "../outside/secret"), FS_NOT_PERMITTED);
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.metadata-hash-at", &r, cv_borrow(box), cv_flags(0),
                     cv_str("../outside/secret")));
    ASSERT_EQ_UINT(r_err(&r), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(at1(t, "[method]descriptor.readlink-at", box, "../outside/secret"),
                   FS_NOT_PERMITTED);
}

TEST(wasip2_fs, dotdot_chains_never_leave_the_preopen)
{
    both_strategies(dotdot_body);
}

static void absolute_body(struct p2t *t)
{
    char abs[8400];
    snprintf(abs, sizeof abs, "%s/secret", t->outside);
    uint32_t box = p2t_preopen(t, 0);
    ASSERT_EQ_UINT(open_err(t, box, 0, abs, 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "/etc/passwd", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "/", OF_DIRECTORY, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(at1(t, "[method]descriptor.unlink-file-at", box, abs), FS_NOT_PERMITTED);
    /* A symlink may not be created with an absolute target. */
    ASSERT_EQ_UINT(symlink_at(t, box, "/etc", "etc"), FS_NOT_PERMITTED);
    ASSERT_FALSE(sandbox_exists(t->box, "etc"));
}

TEST(wasip2_fs, absolute_paths_are_not_permitted)
{
    both_strategies(absolute_body);
}

static void symlink_root_body(struct p2t *t)
{
    link_in(t, "/", "root");
    link_in(t, t->outside, "outside_abs");
    uint32_t box = p2t_preopen(t, 0);
    ASSERT_EQ_UINT(open_err(t, box, 0, "root/etc/passwd", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, PF_FOLLOW, "root", OF_DIRECTORY, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, PF_FOLLOW, "outside_abs/secret", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "outside_abs/new", OF_CREATE, DF_WRITE), FS_NOT_PERMITTED);
    /* Not following the last component: the link itself is not opened. */
    ASSERT_EQ_UINT(open_err(t, box, 0, "root", 0, DF_READ), FS_LOOP);
    struct cval st;
    ASSERT_EQ_UINT(stat_at(t, box, 0, "root", &st), UINT32_MAX);
    ASSERT_EQ_UINT(st.of.list.v[0].of.var.disc, DT_SYMLINK_);
    ASSERT_EQ_UINT(stat_at(t, box, PF_FOLLOW, "root", NULL), FS_NOT_PERMITTED);
    struct cval r;
    ASSERT_OK(P2CALL(t, FS, "[method]descriptor.readlink-at", &r, cv_borrow(box), cv_str("root")));
    ASSERT_EQ_UINT(r_val(&r)->of.str.len, 1);
    ASSERT_EQ_INT(r_val(&r)->of.str.ptr[0], '/');
}

TEST(wasip2_fs, symlink_to_root_cannot_be_followed)
{
    both_strategies(symlink_root_body);
}

static void relative_link_body(struct p2t *t)
{
    char sub[8400];
    snprintf(sub, sizeof sub, "%s/sub", t->box);
    ASSERT_EQ_INT(mkdir(sub, 0777), 0);
    sandbox_write_file(sub, "file", "inside");
    link_in(t, "../outside", "up");
    link_in(t, "sub/../../outside/secret", "sneaky");
    link_in(t, "sub", "in");
    link_in(t, "../box/sub", "roundtrip");
    ASSERT_EQ_INT(symlink("../../outside", strcat(sub, "/deep")), 0);
    uint32_t box = p2t_preopen(t, 0);
    ASSERT_EQ_UINT(open_err(t, box, 0, "up/secret", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, PF_FOLLOW, "sneaky", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "sub/deep/secret", 0, DF_READ), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(open_err(t, box, 0, "roundtrip/file", 0, DF_READ), FS_NOT_PERMITTED);
    open_ok(t, box, 0, "in/file", 0, DF_READ);
    open_ok(t, box, PF_FOLLOW, "in", OF_DIRECTORY, DF_READ);
    ASSERT_EQ_UINT(at1(t, "[method]descriptor.create-directory-at", box, "up/planted"),
                   FS_NOT_PERMITTED);
}

TEST(wasip2_fs, relative_symlinks_cannot_climb_out)
{
    both_strategies(relative_link_body);
}

static void loop_body(struct p2t *t)
{
    link_in(t, "loop2", "loop1");
    link_in(t, "loop1", "loop2");
    link_in(t, "self/x", "self");
    uint32_t box = p2t_preopen(t, 0);
    ASSERT_EQ_UINT(open_err(t, box, PF_FOLLOW, "loop1", 0, DF_READ), FS_LOOP);
    ASSERT_EQ_UINT(open_err(t, box, 0, "loop1/x", 0, DF_READ), FS_LOOP);
    ASSERT_EQ_UINT(open_err(t, box, 0, "self/y", OF_CREATE, DF_WRITE), FS_LOOP);
    ASSERT_EQ_UINT(stat_at(t, box, PF_FOLLOW, "loop2", NULL), FS_LOOP);
}

TEST(wasip2_fs, symlink_loops_fail_with_loop)
{
    both_strategies(loop_body);
}

static void rename_body(struct p2t *t)
{
    sandbox_write_file(t->box, "mine", "data");
    uint32_t box = p2t_preopen(t, 0), box2 = p2t_preopen(t, 1);
    ASSERT_EQ_UINT(rename_at(t, box, "mine", box, "../outside/stolen"), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(rename_at(t, box, "../outside/secret", box, "mine"), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(link_at(t, box, "mine", box, "../outside/secret"), FS_NOT_PERMITTED);
    ASSERT_EQ_UINT(link_at(t, box, "../outside/secret", box, "mine"), FS_NOT_PERMITTED);
    /* Between two preopens: each is its own mount. */
    ASSERT_EQ_UINT(rename_at(t, box, "mine", box2, "moved"), FS_CROSS_DEVICE);
    ASSERT_EQ_UINT(link_at(t, box, "mine", box2, "moved"), FS_CROSS_DEVICE);
    ASSERT_TRUE(sandbox_exists(t->box, "mine"));
    ASSERT_EQ_STR(sandbox_listing(t->box2), "");
    /* Inside one preopen, rename and link work. */
    ASSERT_EQ_UINT(rename_at(t, box, "mine", box, "moved"), UINT32_MAX);
    ASSERT_EQ_UINT(link_at(t, box, "moved", box, "linked"), UINT32_MAX);
    ASSERT_EQ_STR(sandbox_listing(t->box), "linked,moved");
}

TEST(wasip2_fs, rename_and_link_stay_inside_one_preopen)
{
    both_strategies(rename_body);
}

TEST(wasip2_fs, bad_path_strings)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    uint32_t box = p2t_preopen(&t, 0);
    struct cval r;
    struct cval nul = {.kind = CT_STRING, .of.str = {"a\0b", 3}};
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.open-at", &r, cv_borrow(box), cv_flags(0), nul,
                     cv_flags(0), cv_flags(DF_READ)));
    ASSERT_EQ_UINT(r_err(&r), FS_ILLEGAL_BYTE_SEQUENCE);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "", 0, DF_READ), FS_NO_ENTRY);
    char *long_path = malloc(5001);
    memset(long_path, 'a', 5000);
    long_path[5000] = '\0';
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box, long_path),
                   FS_NAME_TOO_LONG);
    long_path[300] = '\0';
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box, long_path),
                   FS_NAME_TOO_LONG);
    free(long_path);
    p2t_teardown(&t);
}

/* ---- files ---- */

static uint32_t new_stream(struct p2t *t, const char *method, uint32_t fd, uint64_t offset)
{
    struct cval r;
    if (strcmp(method, "[method]descriptor.append-via-stream") == 0)
        ASSERT_OK(P2CALL(t, FS, method, &r, cv_borrow(fd)));
    else
        ASSERT_OK(P2CALL(t, FS, method, &r, cv_borrow(fd), cv_u64(offset)));
    return r_own(&r);
}

static void write_stream(struct p2t *t, uint32_t out, const char *s)
{
    struct cval r;
    ASSERT_OK(P2CALL(t, IO, "[method]output-stream.check-write", &r, cv_borrow(out)));
    ASSERT_GE_UINT(r_val(&r)->of.u, strlen(s));
    ASSERT_OK(
        P2CALL(t, IO, "[method]output-stream.write", &r, cv_borrow(out), cv_bytes(s, strlen(s))));
    ASSERT_TRUE(r_ok(&r));
}

/* desc.read(len, off): the bytes (NUL-terminated copy) and end-of-file. */
static const char *read_at(struct p2t *t, uint32_t fd, uint64_t len, uint64_t off, bool *eof)
{
    static char buf[1024];
    struct cval r;
    ASSERT_OK(
        P2CALL(t, FS, "[method]descriptor.read", &r, cv_borrow(fd), cv_u64(len), cv_u64(off)));
    const struct cval *tu = r_val(&r);
    size_t n = tu->of.list.v[0].of.raw.n;
    ASSERT_LT_UINT(n, sizeof buf);
    memcpy(buf, tu->of.list.v[0].of.raw.ptr, n);
    buf[n] = '\0';
    *eof = tu->of.list.v[1].of.b;
    return buf;
}

TEST(wasip2_fs, files_are_written_and_read_beneath_a_preopen)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    uint32_t box = p2t_preopen(&t, 0);
    uint32_t f = open_ok(&t, box, 0, "hello.txt", OF_CREATE, DF_READ | DF_WRITE);
    uint32_t out = new_stream(&t, "[method]descriptor.write-via-stream", f, 0);
    write_stream(&t, out, "hello");
    struct cval r;
    ASSERT_OK(P2CALL(&t, IO, "[method]output-stream.blocking-flush", &r, cv_borrow(out)));
    ASSERT_TRUE(r_ok(&r));
    p2t_drop(&t, IO, "output-stream", out);
    ASSERT_EQ_STR(sandbox_read_file(t.box, "hello.txt"), "hello");

    bool eof;
    ASSERT_EQ_STR(read_at(&t, f, 100, 0, &eof), "hello");
    ASSERT_FALSE(eof);
    ASSERT_EQ_STR(read_at(&t, f, 100, 5, &eof), "");
    ASSERT_TRUE(eof);
    ASSERT_EQ_STR(read_at(&t, f, 2, 1, &eof), "el");

    uint32_t in = new_stream(&t, "[method]descriptor.read-via-stream", f, 1);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.blocking-read", &r, cv_borrow(in), cv_u64(3)));
    ASSERT_EQ_UINT(r_val(&r)->of.raw.n, 3);
    ASSERT_EQ_MEM(r_val(&r)->of.raw.ptr, "ell", 3);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.skip", &r, cv_borrow(in), cv_u64(100)));
    ASSERT_EQ_UINT(r_val(&r)->of.u, 1);
    ASSERT_OK(P2CALL(&t, IO, "[method]input-stream.read", &r, cv_borrow(in), cv_u64(100)));
    ASSERT_EQ_INT(r_stream_err(&r, NULL), 1); /* closed at the end */

    uint32_t app = new_stream(&t, "[method]descriptor.append-via-stream", f, 0);
    write_stream(&t, app, " world");
    ASSERT_EQ_STR(sandbox_read_file(t.box, "hello.txt"), "hello world");

    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.write", &r, cv_borrow(f), cv_bytes("XY", 2),
                     cv_u64(13)));
    ASSERT_EQ_UINT(r_val(&r)->of.u, 2);
    struct stat st;
    char path[8400];
    snprintf(path, sizeof path, "%s/hello.txt", t.box);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_size, 15); /* written past the end: a hole of zeroes */

    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-size", &r, cv_borrow(f), cv_u64(2)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_EQ_STR(sandbox_read_file(t.box, "hello.txt"), "he");

    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.stat", &r, cv_borrow(f)));
    const struct cval *s = r_val(&r);
    ASSERT_EQ_UINT(s->of.list.v[0].of.var.disc, DT_REGULAR_);
    ASSERT_EQ_UINT(s->of.list.v[1].of.u, 1);
    ASSERT_EQ_UINT(s->of.list.v[2].of.u, 2);
    ASSERT_EQ_UINT(s->of.list.v[4].of.var.disc, 1); /* some(mtime) */
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-type", &r, cv_borrow(f)));
    ASSERT_EQ_UINT(r_val(&r)->of.var.disc, DT_REGULAR_);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-flags", &r, cv_borrow(f)));
    ASSERT_EQ_UINT(r_val(&r)->of.flags, DF_READ | DF_WRITE);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.sync", &r, cv_borrow(f)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.sync-data", &r, cv_borrow(f)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.advise", &r, cv_borrow(f), cv_u64(0), cv_u64(0),
                     cv_enum(1)));
    ASSERT_TRUE(r_ok(&r));

    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-times", &r, cv_borrow(f),
                     cv_time_at(&t, 1234, 5), cv_time_at(&t, 5678, 0)));
    ASSERT_TRUE(r_ok(&r));
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_mtim.tv_sec, 5678);
    ASSERT_EQ_INT(st.st_atim.tv_sec, 1234);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-times", &r, cv_borrow(f),
                     cv_time_at(&t, 1, 1000000000u), cv_time_keep()));
    ASSERT_EQ_UINT(r_err(&r), FS_INVALID);
    ASSERT_EQ_UINT(set_times_at(&t, box, "hello.txt"), UINT32_MAX);
    ASSERT_EQ_INT(stat(path, &st), 0);
    ASSERT_EQ_INT(st.st_atim.tv_sec, 1000);
    ASSERT_EQ_INT(st.st_mtim.tv_sec, 5678);

    /* Exclusive creation of an existing file. */
    ASSERT_EQ_UINT(open_err(&t, box, 0, "hello.txt", OF_CREATE | OF_EXCLUSIVE, DF_WRITE), FS_EXIST);
    /* Truncation on open. */
    open_ok(&t, box, 0, "hello.txt", OF_TRUNCATE, DF_WRITE);
    ASSERT_EQ_STR(sandbox_read_file(t.box, "hello.txt"), "");
    p2t_teardown(&t);
}

TEST(wasip2_fs, descriptors_are_used_for_what_they_are)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    sandbox_write_file(t.box, "f", "content");
    uint32_t box = p2t_preopen(&t, 0);
    uint32_t ro = open_ok(&t, box, 0, "f", 0, DF_READ);
    uint32_t wo = open_ok(&t, box, 0, "f", 0, DF_WRITE);
    struct cval r;
    /* File methods on a directory, path methods on a file. */
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.read-via-stream", &r, cv_borrow(box), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.read", &r, cv_borrow(box), cv_u64(1), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_EQ_UINT(open_err(&t, ro, 0, "x", 0, DF_READ), FS_NOT_DIRECTORY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", ro, "x"), FS_NOT_DIRECTORY);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.read-directory", &r, cv_borrow(ro)));
    ASSERT_EQ_UINT(r_err(&r), FS_NOT_DIRECTORY);
    /* Reading or writing what was not opened for it. */
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.write-via-stream", &r, cv_borrow(ro), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_OK(
        P2CALL(&t, FS, "[method]descriptor.write", &r, cv_borrow(ro), cv_bytes("x", 1), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-size", &r, cv_borrow(ro), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.read-via-stream", &r, cv_borrow(wo), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_BAD_DESCRIPTOR);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-flags", &r, cv_borrow(wo)));
    ASSERT_EQ_UINT(r_val(&r)->of.flags, DF_WRITE);
    /* directory with create/exclusive/truncate is invalid. */
    ASSERT_EQ_UINT(open_err(&t, box, 0, "d", OF_DIRECTORY | OF_CREATE, DF_READ), FS_INVALID);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "f", OF_DIRECTORY, DF_READ), FS_NOT_DIRECTORY);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "f/", 0, DF_READ), FS_NOT_DIRECTORY);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "nope", 0, DF_READ), FS_NO_ENTRY);
    /* A handle that names nothing traps. */
    ASSERT_EQ_INT(P2CALL(&t, FS, "[method]descriptor.stat", &r, cv_borrow(0x12345)), SPRY_ETRAP);
    ASSERT_NOT_NULL(strstr(t.trap, "invalid descriptor handle"));
    p2t_drop(&t, FS, "descriptor", ro);
    ASSERT_EQ_INT(P2CALL(&t, FS, "[method]descriptor.stat", &r, cv_borrow(ro)), SPRY_ETRAP);
    p2t_teardown(&t);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

TEST(wasip2_fs, directories_are_listed_without_dot_entries)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    sandbox_write_file(t.box, "a", "1");
    sandbox_write_file(t.box, "b", "22");
    link_in(&t, "a", "d");
    uint32_t box = p2t_preopen(&t, 0);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box, "c"), UINT32_MAX);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box, "c"), FS_EXIST);
    struct cval r;
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.read-directory", &r, cv_borrow(box)));
    uint32_t ds = r_own(&r);
    char *seen[8];
    size_t n = 0;
    for (;;) {
        ASSERT_OK(P2CALL(&t, FS, "[method]directory-entry-stream.read-directory-entry", &r,
                         cv_borrow(ds)));
        const struct cval *opt = r_val(&r);
        if (opt->of.var.disc == 0)
            break;
        const struct cval *e = opt->of.var.payload;
        char line[300];
        snprintf(line, sizeof line, "%.*s:%u", (int)e->of.list.v[1].of.str.len,
                 e->of.list.v[1].of.str.ptr, e->of.list.v[0].of.var.disc);
        ASSERT_LT_UINT(n, 8);
        seen[n++] = strdup(line);
    }
    qsort(seen, n, sizeof seen[0], cmp_str);
    ASSERT_EQ_UINT(n, 4);
    ASSERT_EQ_STR(seen[0], "a:6");
    ASSERT_EQ_STR(seen[1], "b:6");
    ASSERT_EQ_STR(seen[2], "c:3");
    ASSERT_EQ_STR(seen[3], "d:5");
    for (size_t i = 0; i < n; i++)
        free(seen[i]);
    /* The end stays the end. */
    ASSERT_OK(
        P2CALL(&t, FS, "[method]directory-entry-stream.read-directory-entry", &r, cv_borrow(ds)));
    ASSERT_EQ_UINT(r_val(&r)->of.var.disc, 0);

    /* Removal, with preview 1's trailing-slash rules. */
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.unlink-file-at", box, "c/"), FS_IS_DIRECTORY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.unlink-file-at", box, "a/"), FS_NOT_DIRECTORY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.remove-directory-at", box, "a"), FS_NOT_DIRECTORY);
    sandbox_write_file(t.box, "c/inner", "x");
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.remove-directory-at", box, "c"), FS_NOT_EMPTY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.unlink-file-at", box, "c/inner"), UINT32_MAX);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.remove-directory-at", box, "c"), UINT32_MAX);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.unlink-file-at", box, "d"), UINT32_MAX);
    ASSERT_EQ_STR(sandbox_listing(t.box), "a,b");
    /* Links made and read. */
    ASSERT_EQ_UINT(symlink_at(&t, box, "b", "e"), UINT32_MAX);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.readlink-at", &r, cv_borrow(box), cv_str("e")));
    ASSERT_EQ_UINT(r_val(&r)->of.str.len, 1);
    ASSERT_EQ_UINT(symlink_at(&t, box, "", "f"), FS_NO_ENTRY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.readlink-at", box, "a"), FS_INVALID);
    p2t_teardown(&t);
}

TEST(wasip2_fs, metadata_hashes_identify_objects)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    sandbox_write_file(t.box, "a", "1");
    sandbox_write_file(t.box, "b", "2");
    uint32_t box = p2t_preopen(&t, 0);
    uint32_t a1 = open_ok(&t, box, 0, "a", 0, DF_READ);
    uint32_t a2 = open_ok(&t, box, 0, "./a", 0, DF_READ);
    uint32_t b = open_ok(&t, box, 0, "b", 0, DF_READ);
    struct cval r, h1, h2, hb, hat;
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.metadata-hash", &r, cv_borrow(a1)));
    h1 = *r_val(&r);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.metadata-hash", &r, cv_borrow(a2)));
    h2 = *r_val(&r);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.metadata-hash", &r, cv_borrow(b)));
    hb = *r_val(&r);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.metadata-hash-at", &r, cv_borrow(box), cv_flags(0),
                     cv_str("a")));
    hat = *r_val(&r);
    ASSERT_EQ_UINT(h1.of.list.v[0].of.u, h2.of.list.v[0].of.u);
    ASSERT_EQ_UINT(h1.of.list.v[1].of.u, h2.of.list.v[1].of.u);
    ASSERT_EQ_UINT(h1.of.list.v[0].of.u, hat.of.list.v[0].of.u);
    ASSERT_NE_UINT(h1.of.list.v[0].of.u, hb.of.list.v[0].of.u);
    ASSERT_OK(
        P2CALL(&t, FS, "[method]descriptor.is-same-object", &r, cv_borrow(a1), cv_borrow(a2)));
    ASSERT_TRUE(r.of.b);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.is-same-object", &r, cv_borrow(a1), cv_borrow(b)));
    ASSERT_FALSE(r.of.b);
    p2t_teardown(&t);
}

TEST(wasip2_fs, read_only_preopens_refuse_every_change)
{
    struct p2t t;
    struct p2t_options o = {.readonly_box = true};
    p2t_setup(&t, &o);
    sandbox_write_file(t.box, "f", "data");
    ASSERT_EQ_INT(mkdir(strcat(strcpy((char[8400]){0}, t.box), "/dir"), 0777), 0);
    uint32_t box = p2t_preopen(&t, 0), box2 = p2t_preopen(&t, 1);
    struct cval r;
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-flags", &r, cv_borrow(box)));
    ASSERT_EQ_UINT(r_val(&r)->of.flags, DF_READ);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-flags", &r, cv_borrow(box2)));
    ASSERT_EQ_UINT(r_val(&r)->of.flags, DF_READ | DF_MUTATE);
    /* Opening to create, truncate or write. */
    ASSERT_EQ_UINT(open_err(&t, box, 0, "new", OF_CREATE, DF_READ), FS_READ_ONLY);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "f", OF_TRUNCATE, DF_READ), FS_READ_ONLY);
    ASSERT_EQ_UINT(open_err(&t, box, 0, "f", 0, DF_READ | DF_WRITE), FS_READ_ONLY);
    /* Reading works; a directory asked for with mutate-directory opens (as
     * wasmtime), without the flag. */
    uint32_t f = open_ok(&t, box, 0, "f", 0, DF_READ);
    bool eof;
    ASSERT_EQ_STR(read_at(&t, f, 10, 0, &eof), "data");
    uint32_t dir = open_ok(&t, box, 0, "dir", OF_DIRECTORY, DF_READ | DF_MUTATE);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.get-flags", &r, cv_borrow(dir)));
    ASSERT_EQ_UINT(r_val(&r)->of.flags, DF_READ);
    ASSERT_EQ_UINT(open_err(&t, dir, 0, "x", OF_CREATE, DF_WRITE), FS_READ_ONLY);
    /* Every change. */
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box, "d2"), FS_READ_ONLY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.remove-directory-at", box, "dir"), FS_READ_ONLY);
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.unlink-file-at", box, "f"), FS_READ_ONLY);
    ASSERT_EQ_UINT(rename_at(&t, box, "f", box, "g"), FS_READ_ONLY);
    ASSERT_EQ_UINT(rename_at(&t, box, "f", box2, "g"), FS_READ_ONLY);
    ASSERT_EQ_UINT(link_at(&t, box, "f", box, "g"), FS_READ_ONLY);
    ASSERT_EQ_UINT(symlink_at(&t, box, "f", "g"), FS_READ_ONLY);
    ASSERT_EQ_UINT(set_times_at(&t, box, "f"), FS_READ_ONLY);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-times", &r, cv_borrow(f), cv_time_at(&t, 1, 0),
                     cv_time_keep()));
    ASSERT_EQ_UINT(r_err(&r), FS_READ_ONLY);
    ASSERT_OK(P2CALL(&t, FS, "[method]descriptor.set-size", &r, cv_borrow(f), cv_u64(0)));
    ASSERT_EQ_UINT(r_err(&r), FS_READ_ONLY);
    /* Nothing changed; the writable preopen still is. */
    ASSERT_EQ_STR(sandbox_listing(t.box), "dir,f");
    ASSERT_EQ_STR(sandbox_read_file(t.box, "f"), "data");
    ASSERT_EQ_UINT(at1(&t, "[method]descriptor.create-directory-at", box2, "d2"), UINT32_MAX);
    p2t_teardown(&t);
}

TEST(wasip2_fs, preopens_are_listed_with_their_names)
{
    struct p2t t;
    p2t_setup(&t, NULL);
    struct cval r;
    ASSERT_OK(P2CALL0(&t, "wasi:filesystem/preopens", "get-directories", &r));
    ASSERT_EQ_UINT(r.of.list.n, 2);
    const struct cval *p0 = &r.of.list.v[0], *p1 = &r.of.list.v[1];
    ASSERT_EQ_UINT(p0->of.list.v[1].of.str.len, 4);
    ASSERT_EQ_MEM(p0->of.list.v[1].of.str.ptr, "/box", 4);
    ASSERT_EQ_MEM(p1->of.list.v[1].of.str.ptr, "/box2", 5);
    ASSERT_NE_UINT(p0->of.list.v[0].of.rep, p1->of.list.v[0].of.rep);
    /* Each handle is the guest's to drop; the preopen stays open. */
    size_t live = wasip2_live_objects(t.p2);
    p2t_drop(&t, FS, "descriptor", p0->of.list.v[0].of.rep);
    p2t_drop(&t, FS, "descriptor", p1->of.list.v[0].of.rep);
    ASSERT_EQ_UINT(wasip2_live_objects(t.p2), live - 2);
    uint32_t box = p2t_preopen(&t, 0);
    ASSERT_EQ_UINT(stat_at(&t, box, 0, ".", NULL), UINT32_MAX);
    p2t_teardown(&t);
}
