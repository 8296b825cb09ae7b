/*
 * The sandbox: escape attempts through `..`, absolute paths, symlinks
 * (absolute, relative, loops) and renames/links, each under both
 * resolution strategies (openat2 and the component walk), with checks that
 * nothing outside the preopen changed.
 */
#include "harness/test.h"
#include "unit/wasi/wasi_fixture.h"
#include "wasi/path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { P = 2048, OUT = 4096 };

static void link_in(struct wt *t, const char *target, const char *name)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", t->box, name);
    ASSERT_EQ_INT(symlink(target, path), 0);
}

static void assert_outside_untouched(struct wt *t)
{
    ASSERT_EQ_STR(sandbox_listing(t->outside), "secret");
    char path[8400], buf[64] = {0};
    snprintf(path, sizeof path, "%s/secret", t->outside);
    FILE *f = fopen(path, "r");
    ASSERT_NOT_NULL(f);
    ASSERT_NOT_NULL(fgets(buf, sizeof buf, f));
    fclose(f);
    ASSERT_EQ_STR(buf, "top secret");
}

/* Runs `body` once with openat2 (when the kernel has it) and once with the walk. */
static void both_strategies(void (*body)(struct wt *t))
{
    for (int walk = 0; walk < 2; walk++) {
        wasi_path_force_walk(walk);
        struct wt t;
        wt_setup(&t, NULL);
        body(&t);
        assert_outside_untouched(&t);
        wt_teardown(&t);
        char cmd[13000];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", t.box, t.box2, t.outside);
        ASSERT_EQ_INT(system(cmd), 0);
    }
    wasi_path_force_walk(0);
}

static void dotdot_body(struct wt *t)
{
    char sub[8400];
    snprintf(sub, sizeof sub, "%s/sub", t->box);
    ASSERT_EQ_INT(mkdir(sub, 0777), 0);
    sandbox_write_file(t->box, "sub/file", "inside");
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(t, 3, 0, "../outside/secret", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub/../../outside/secret", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub/../sub/../..", O_DIRECTORY_, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "..", O_DIRECTORY_, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "../outside/new", O_CREAT_, R_ALL, 0, NULL), E_PERM);
    /* `..` that stays inside is fine. */
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub/../sub/./file", 0, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(WCALL(t, "fd_close", fd), 0);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub/..", O_DIRECTORY_, R_ALL, 0, &fd), 0);
    /* ...but from a directory opened inside, `..` cannot leave that directory either. */
    uint32_t subfd;
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub", O_DIRECTORY_, R_ALL, 0, &subfd), 0);
    ASSERT_EQ_INT(wt_open(t, subfd, 0, "../sub/file", 0, R_ALL, 0, NULL), E_PERM);
    uint32_t len = wt_put(t, P, "../../outside/made");
    ASSERT_EQ_INT(WCALL(t, "path_create_directory", 3, P, len), E_PERM);
    len = wt_put(t, P, "../outside/secret");
    ASSERT_EQ_INT(WCALL(t, "path_unlink_file", 3, P, len), E_PERM);
    ASSERT_EQ_INT(WCALL(t, "path_filestat_get", 3, 0, P, len, OUT), E_PERM);
    ASSERT_EQ_INT(WCALL(t, "path_filestat_set_times", 3, 0, P, len, 0, 0, 10), E_PERM);
}

TEST(wasi_path, dotdot_chains_never_leave_the_preopen)
{
    both_strategies(dotdot_body);
}

static void absolute_body(struct wt *t)
{
    char abs[8400];
    snprintf(abs, sizeof abs, "%s/secret", t->outside);
    ASSERT_EQ_INT(wt_open(t, 3, 0, abs, 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "/etc/passwd", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "/", O_DIRECTORY_, R_ALL, 0, NULL), E_PERM);
    uint32_t len = wt_put(t, P, abs);
    ASSERT_EQ_INT(WCALL(t, "path_unlink_file", 3, P, len), E_PERM);
    /* A symlink may not be created with an absolute target (as wasmtime). */
    uint32_t tl = wt_put(t, P, "/etc");
    uint32_t nl = wt_put(t, P + 100, "etc");
    ASSERT_EQ_INT(WCALL(t, "path_symlink", P, tl, 3, P + 100, nl), E_PERM);
    ASSERT_FALSE(sandbox_exists(t->box, "etc"));
}

TEST(wasi_path, absolute_paths_fail_with_eperm)
{
    both_strategies(absolute_body);
}

static void symlink_root_body(struct wt *t)
{
    link_in(t, "/", "root");
    char abs[8400];
    snprintf(abs, sizeof abs, "%s", t->outside);
    link_in(t, abs, "outside_abs");
    ASSERT_EQ_INT(wt_open(t, 3, 0, "root/etc/passwd", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, FOLLOW, "root", O_DIRECTORY_, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, FOLLOW, "outside_abs/secret", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "outside_abs/new", O_CREAT_, R_ALL, 0, NULL), E_PERM);
    /* Not following the last component: the link itself is not opened. */
    ASSERT_EQ_INT(wt_open(t, 3, 0, "root", 0, R_ALL, 0, NULL), E_LOOP);
    /* lstat of the link itself works and reports a symlink... */
    uint32_t len = wt_put(t, P, "root");
    ASSERT_EQ_INT(WCALL(t, "path_filestat_get", 3, 0, P, len, OUT), 0);
    ASSERT_EQ_INT(t->mem[OUT + 16], FT_SYMLINK);
    /* ...following it does not. */
    ASSERT_EQ_INT(WCALL(t, "path_filestat_get", 3, FOLLOW, P, len, OUT), E_PERM);
    /* readlink returns the text. */
    ASSERT_EQ_INT(WCALL(t, "path_readlink", 3, P, len, OUT, 100, OUT + 200), 0);
    ASSERT_EQ_UINT(wt_u32(t, OUT + 200), 1);
    ASSERT_EQ_INT(t->mem[OUT], '/');
}

TEST(wasi_path, symlink_to_root_cannot_be_followed)
{
    both_strategies(symlink_root_body);
}

static void relative_link_body(struct wt *t)
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
    ASSERT_EQ_INT(wt_open(t, 3, 0, "up/secret", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, FOLLOW, "sneaky", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "sub/deep/secret", 0, R_ALL, 0, NULL), E_PERM);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "roundtrip/file", 0, R_ALL, 0, NULL), E_PERM);
    /* Links that stay inside work, followed or as directories on the way. */
    uint32_t fd;
    ASSERT_EQ_INT(wt_open(t, 3, 0, "in/file", 0, R_ALL, 0, &fd), 0);
    ASSERT_EQ_INT(wt_open(t, 3, FOLLOW, "in", O_DIRECTORY_, R_ALL, 0, &fd), 0);
    /* Creating through an escaping link fails too. */
    uint32_t len = wt_put(t, P, "up/planted");
    ASSERT_EQ_INT(WCALL(t, "path_create_directory", 3, P, len), E_PERM);
}

TEST(wasi_path, relative_symlinks_cannot_climb_out)
{
    both_strategies(relative_link_body);
}

static void loop_body(struct wt *t)
{
    link_in(t, "loop2", "loop1");
    link_in(t, "loop1", "loop2");
    link_in(t, "self/x", "self");
    ASSERT_EQ_INT(wt_open(t, 3, FOLLOW, "loop1", 0, R_ALL, 0, NULL), E_LOOP);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "loop1/x", 0, R_ALL, 0, NULL), E_LOOP);
    ASSERT_EQ_INT(wt_open(t, 3, 0, "self/y", O_CREAT_, R_ALL, 0, NULL), E_LOOP);
    uint32_t len = wt_put(t, P, "loop2");
    ASSERT_EQ_INT(WCALL(t, "path_filestat_get", 3, FOLLOW, P, len, OUT), E_LOOP);
}

TEST(wasi_path, symlink_loops_fail_with_eloop)
{
    both_strategies(loop_body);
}

static void rename_body(struct wt *t)
{
    sandbox_write_file(t->box, "mine", "data");
    uint32_t a = wt_put(t, P, "mine");
    uint32_t b = wt_put(t, P + 100, "../outside/stolen");
    ASSERT_EQ_INT(WCALL(t, "path_rename", 3, P, a, 3, P + 100, b), E_PERM);
    b = wt_put(t, P + 100, "../outside/secret");
    ASSERT_EQ_INT(WCALL(t, "path_rename", 3, P + 100, b, 3, P, a), E_PERM);
    ASSERT_EQ_INT(WCALL(t, "path_link", 3, 0, P, a, 3, P + 100, b), E_PERM);
    ASSERT_EQ_INT(WCALL(t, "path_link", 3, 0, P + 100, b, 3, P, a), E_PERM);
    /* Between two preopens: each is its own mount. */
    b = wt_put(t, P + 100, "moved");
    ASSERT_EQ_INT(WCALL(t, "path_rename", 3, P, a, 4, P + 100, b), E_XDEV);
    ASSERT_EQ_INT(WCALL(t, "path_link", 3, 0, P, a, 4, P + 100, b), E_XDEV);
    ASSERT_TRUE(sandbox_exists(t->box, "mine"));
    ASSERT_EQ_STR(sandbox_listing(t->box2), "");
    /* Inside one preopen, rename and link work. */
    ASSERT_EQ_INT(WCALL(t, "path_rename", 3, P, a, 3, P + 100, b), 0);
    uint32_t c = wt_put(t, P + 200, "linked");
    ASSERT_EQ_INT(WCALL(t, "path_link", 3, 0, P + 100, b, 3, P + 200, c), 0);
    ASSERT_EQ_STR(sandbox_listing(t->box), "linked,moved");
}

TEST(wasi_path, rename_and_link_stay_inside_one_preopen)
{
    both_strategies(rename_body);
}

TEST(wasi_path, bad_path_bytes)
{
    struct wt t;
    wt_setup(&t, NULL);
    memcpy(t.mem + P, "a\0b", 3);
    ASSERT_EQ_INT(WCALL(&t, "path_open", 3, 0, P, 3, 0, R_ALL, R_ALL, 0, OUT), E_ILSEQ);
    ASSERT_EQ_INT(WCALL(&t, "path_open", 3, 0, P, 0, 0, R_ALL, R_ALL, 0, OUT), E_NOENT);
    /* Path pointer and length outside memory, and wrapping around 2^32. */
    ASSERT_EQ_INT(WCALL(&t, "path_open", 3, 0, t.mem_size - 2, 3, 0, R_ALL, R_ALL, 0, OUT),
                  E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "path_open", 3, 0, 0xfffffff0u, 0x20, 0, R_ALL, R_ALL, 0, OUT),
                  E_FAULT);
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, 16, 0xffffffffu), E_FAULT);
    /* A long path is refused before any work. */
    memset(t.mem + 8192, 'a', 5000);
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, 8192, 5000), E_NAMETOOLONG);
    memset(t.mem + 8192, 'a', 300);
    ASSERT_EQ_INT(WCALL(&t, "path_create_directory", 3, 8192, 300), E_NAMETOOLONG);
    wt_teardown(&t);
}
