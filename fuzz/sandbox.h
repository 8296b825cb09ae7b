/*
 * The directory tree the WASI harnesses (fuzz_wasi.c for preview 1,
 * fuzz_wasip2.c for WASI 0.2) let fuzzed calls loose on:
 *
 *     ROOT/box/          the preopen, re-seeded before every input:
 *         file           "contents"
 *         dir/
 *         in  -> file    a symlink inside,
 *         up  -> ../outside, abs -> /, loop -> loop   and three that escape or loop
 *     ROOT/outside/      beside the preopen, never granted:
 *         secret         "top secret"
 *
 * After each input, sandbox_check_outside aborts (a crash libFuzzer keeps)
 * unless ROOT/outside still holds exactly its one file with its contents.
 * ROOT is on tmpfs when /dev/shm exists, so that fsync and sparse writes never
 * wait for a disk (an input slower than 1 s fails the smoke run).
 *
 * Header-only, functions static inline: every .c file of fuzz/ is built as
 * a harness of its own (FUZZ_SRCS in the Makefile).
 */
#ifndef SPRY_FUZZ_SANDBOX_H
#define SPRY_FUZZ_SANDBOX_H

#include "spry/wasi.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sandbox {
    char root[64], box[128], outside[128];
};

/* Removes NAME under DIRFD, a directory with everything beneath it or a
 * file; symlinks are removed, never followed. */
static inline void sandbox_remove_tree(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL)
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                sandbox_remove_tree(fd, e->d_name);
        if (d != NULL)
            closedir(d);
        else
            close(fd);
        unlinkat(dirfd, name, AT_REMOVEDIR);
    } else {
        unlinkat(dirfd, name, 0);
    }
}

static inline void sandbox_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs(text, f);
    fclose(f);
}

/* Makes ROOT (a fresh directory named after NAME) and ROOT/outside; the box
 * comes with sandbox_seed. */
static inline void sandbox_create(struct sandbox *s, const char *name)
{
    snprintf(s->root, sizeof s->root, "/dev/shm/spry-fuzz-%s-XXXXXX", name);
    if (mkdtemp(s->root) == NULL) {
        snprintf(s->root, sizeof s->root, "/tmp/spry-fuzz-%s-XXXXXX", name);
        if (mkdtemp(s->root) == NULL)
            abort();
    }
    snprintf(s->box, sizeof s->box, "%s/box", s->root);
    snprintf(s->outside, sizeof s->outside, "%s/outside", s->root);
    mkdir(s->outside, 0777);
    char p[256];
    snprintf(p, sizeof p, "%s/secret", s->outside);
    sandbox_write_file(p, "top secret");
}

static inline void sandbox_remove(const struct sandbox *s)
{
    sandbox_remove_tree(AT_FDCWD, s->root);
}

/* Replaces the box with a fresh copy of its initial contents. */
static inline void sandbox_seed(const struct sandbox *s)
{
    sandbox_remove_tree(AT_FDCWD, s->box);
    char p[256];
    if (mkdir(s->box, 0777) != 0)
        abort();
    snprintf(p, sizeof p, "%s/file", s->box);
    sandbox_write_file(p, "contents");
    snprintf(p, sizeof p, "%s/dir", s->box);
    mkdir(p, 0777);
    static const struct {
        const char *target, *name;
    } links[] = {{"file", "in"}, {"../outside", "up"}, {"/", "abs"}, {"loop", "loop"}};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", s->box, links[i].name);
        if (symlink(links[i].target, p) != 0)
            abort();
    }
}

/* Aborts, naming HARNESS, unless ROOT/outside is as sandbox_create made it
 * (its entries are ".", ".." and secret). */
static inline void sandbox_check_outside(const struct sandbox *s, const char *harness)
{
    char p[256], buf[32] = {0};
    int count = 0;
    DIR *d = opendir(s->outside);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        count++;
    if (d != NULL)
        closedir(d);
    snprintf(p, sizeof p, "%s/secret", s->outside);
    FILE *f = fopen(p, "r");
    if (f != NULL) {
        if (fgets(buf, sizeof buf, f) == NULL)
            buf[0] = '\0';
        fclose(f);
    }
    if (count != 3 || strcmp(buf, "top secret") != 0) {
        fprintf(stderr, "%s: the guest changed %s\n", harness, s->outside);
        abort();
    }
}

/*
 * The WASI configuration of one input: the box pre-opened as /box (read-only
 * when READONLY), stdin reading the input itself, stdout and stderr into
 * buffers of 4 KiB. PRE is written and must outlive CONFIG's use.
 */
static inline void sandbox_config(const struct sandbox *s, bool readonly, const uint8_t *data,
                                  size_t size, struct spry_wasi_preopen *pre,
                                  struct spry_wasi_config *config)
{
    *pre = (struct spry_wasi_preopen){s->box, "/box", readonly};
    *config = (struct spry_wasi_config){.preopens = pre, .npreopens = 1};
    config->stdio[0].kind = SPRY_WASI_STDIO_BUFFER;
    config->stdio[0].data = data;
    config->stdio[0].len = size;
    config->stdio[1].kind = config->stdio[2].kind = SPRY_WASI_STDIO_BUFFER;
    config->stdio[1].max = config->stdio[2].max = 4096;
}

#endif
