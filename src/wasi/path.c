/*
 * Sandboxed path resolution (rules in wasi/path.h). Two ways to open the
 * directory part of a path beneath the base, with the same answers:
 *  - the kernel's openat2 with RESOLVE_BENEATH (a `..` or symlink leaving
 *    the base gives EXDEV, reported as EPERM);
 *  - walk(): a stack of directory fds, one openat(O_PATH | O_NOFOLLOW |
 *    O_DIRECTORY) per component. `..` pops the stack and fails with EPERM
 *    on the base itself; a symlink (found with readlinkat) has its target
 *    spliced in front of the rest of the path, so relative targets resolve
 *    from the link's directory and can never pop below the stack bottom.
 * Whether openat2 works is learned on first use (ENOSYS and friends fall
 * back to the walk for the life of the process).
 */
#include "base/alloc.h"
#include "wasi/path.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Longest path text a resolution may build while splicing link targets. */
enum { WORK_MAX = 2 * WASI_PATH_MAX + 2, STACK_MAX = WASI_PATH_MAX / 2 + 1 };

enum { KERNEL_UNKNOWN = 0, KERNEL_YES = 1, KERNEL_NO = 2 };
static atomic_int kernel_state;
static atomic_int forced_walk;

bool wasi_path_force_walk(int on)
{
    atomic_store(&forced_walk, on);
    return !on && atomic_load(&kernel_state) != KERNEL_NO;
}

/* openat2 beneath base: a WASI errno, or -1 when the kernel lacks it. */
static int open_kernel(int base, const char *rel, int *out)
{
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd;
    do
        fd = syscall(SYS_openat2, base, rel, &how, sizeof how);
    while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd >= 0) {
        atomic_store(&kernel_state, KERNEL_YES);
        *out = (int)fd;
        return 0;
    }
    if (errno == ENOSYS || (errno == EPERM && atomic_load(&kernel_state) == KERNEL_UNKNOWN)) {
        /* Not there, or filtered by a seccomp policy: use the walk. */
        atomic_store(&kernel_state, KERNEL_NO);
        return -1;
    }
    if (errno == EXDEV)
        return WASI_EPERM;
    return wasi_errno_from_host(errno);
}

/* Replaces work with target + "/" + rest (rest may point into work). */
static int splice_link(char *work, const char *target, size_t tlen, const char *rest)
{
    size_t rlen = strlen(rest);
    if (tlen + 1 + rlen + 1 > WORK_MAX)
        return WASI_ENAMETOOLONG;
    memmove(work + tlen + 1, rest, rlen + 1);
    memcpy(work, target, tlen);
    work[tlen] = '/';
    return 0;
}

/*
 * The component walk: opens directory `rel` beneath base, following every
 * symlink (counted in *links). *out is a new fd, or base itself when the
 * path leads back to it (*owned false).
 */
static int walk(int base, const char *rel, int *links, int *out, bool *owned)
{
    int rc = WASI_ENOMEM;
    char *work = spry_malloc(WORK_MAX);
    char *target = spry_malloc(WASI_PATH_MAX + 1);
    int *stack = spry_alloc_array(STACK_MAX, sizeof *stack);
    int depth = 0;
    if (work == NULL || target == NULL || stack == NULL)
        goto done;
    stack[0] = base;
    if (strlen(rel) + 1 > WORK_MAX) {
        rc = WASI_ENAMETOOLONG;
        goto done;
    }
    strcpy(work, rel);
    char *p = work;
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        char *end = strchr(p, '/');
        char *next = end != NULL ? end + 1 : p + strlen(p);
        if (end != NULL)
            *end = '\0';
        if (strcmp(p, ".") == 0) {
            p = next;
            continue;
        }
        if (strcmp(p, "..") == 0) {
            if (depth == 0) {
                rc = WASI_EPERM;
                goto done;
            }
            close(stack[depth--]);
            p = next;
            continue;
        }
        ssize_t n = readlinkat(stack[depth], p, target, WASI_PATH_MAX + 1);
        if (n >= 0) {
            if (n > WASI_PATH_MAX) {
                rc = WASI_ENAMETOOLONG;
                goto done;
            }
            if (++*links > WASI_MAX_LINKS) {
                rc = WASI_ELOOP;
                goto done;
            }
            if (n == 0 || target[0] == '/') {
                rc = n == 0 ? WASI_ENOENT : WASI_EPERM;
                goto done;
            }
            rc = splice_link(work, target, (size_t)n, next);
            if (rc != 0)
                goto done;
            p = work;
            continue;
        }
        if (errno != EINVAL) {
            rc = wasi_errno_from_host(errno);
            goto done;
        }
        if (depth + 1 >= STACK_MAX) {
            rc = WASI_ENAMETOOLONG;
            goto done;
        }
        int fd = openat(stack[depth], p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            rc = errno == ELOOP ? WASI_ENOTDIR : wasi_errno_from_host(errno);
            goto done;
        }
        stack[++depth] = fd;
        p = next;
    }
    *out = stack[depth];
    *owned = depth > 0;
    depth = depth > 0 ? depth - 1 : 0; /* the result is handed out, not closed */
    rc = 0;
done:
    for (int i = depth; i > 0; i--)
        close(stack[i]);
    spry_free(stack);
    spry_free(target);
    spry_free(work);
    return rc;
}

/* Opens directory `rel` ("" is base itself) beneath base. */
static int open_dir(int base, const char *rel, int *links, int *out, bool *owned)
{
    if (rel[0] == '\0') {
        *out = base;
        *owned = false;
        return 0;
    }
    if (!atomic_load(&forced_walk) && atomic_load(&kernel_state) != KERNEL_NO) {
        int rc = open_kernel(base, rel, out);
        if (rc >= 0) {
            *owned = rc == 0;
            return rc;
        }
    }
    return walk(base, rel, links, out, owned);
}

int wasi_path_resolve(const struct wasi_call *c, int base, uint32_t ptr, uint32_t len,
                      bool follow_last, struct wasi_path *out)
{
    if (!wasi_mem_ok(c, ptr, len))
        return WASI_EFAULT;
    return wasi_path_resolve_bytes(base, (const char *)c->mem + ptr, len, follow_last, out);
}

int wasi_path_resolve_bytes(int base, const char *guest, size_t len, bool follow_last,
                            struct wasi_path *out)
{
    if (len == 0)
        return WASI_ENOENT;
    if (memchr(guest, '\0', len) != NULL)
        return WASI_EILSEQ;
    if (len > WASI_PATH_MAX)
        return WASI_ENAMETOOLONG;
    if (guest[0] == '/')
        return WASI_EPERM;
    char *cur = spry_malloc(WORK_MAX);
    char *target = spry_malloc(WASI_PATH_MAX + 1);
    struct wasi_path res; /* copied to *out only on success */
    int rc = WASI_ENOMEM, links = 0, dirfd = -1;
    bool owned = false;
    if (cur == NULL || target == NULL)
        goto done;
    memcpy(cur, guest, len);
    cur[len] = '\0';
    for (;;) {
        size_t n = strlen(cur);
        bool must_dir = false;
        while (n > 0 && cur[n - 1] == '/') {
            must_dir = true;
            cur[--n] = '\0';
        }
        /* Split off the last component; cur keeps the directory part. A
         * last component of "." or ".." names a directory: cur stays whole
         * and the name is ".". */
        char *slash = strrchr(cur, '/');
        char *last = slash != NULL ? slash + 1 : cur;
        if (last[0] == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
            strcpy(res.name, ".");
        } else {
            if (strlen(last) > NAME_MAX) {
                rc = WASI_ENAMETOOLONG;
                goto done;
            }
            strcpy(res.name, last);
            *last = '\0';
        }
        rc = open_dir(base, cur, &links, &dirfd, &owned);
        if (rc != 0)
            goto done;
        if ((follow_last || must_dir) && strcmp(res.name, ".") != 0) {
            ssize_t t = readlinkat(dirfd, res.name, target, WASI_PATH_MAX + 1);
            if (t >= 0) {
                if (owned)
                    close(dirfd);
                dirfd = -1;
                owned = false;
                if (t > WASI_PATH_MAX)
                    rc = WASI_ENAMETOOLONG;
                else if (++links > WASI_MAX_LINKS)
                    rc = WASI_ELOOP;
                else if (t == 0)
                    rc = WASI_ENOENT;
                else if (target[0] == '/')
                    rc = WASI_EPERM;
                if (rc != 0)
                    goto done;
                size_t dl = strlen(cur);
                if (dl + (size_t)t + 2 > WORK_MAX) {
                    rc = WASI_ENAMETOOLONG;
                    goto done;
                }
                memcpy(cur + dl, target, (size_t)t);
                cur[dl + (size_t)t] = '\0';
                if (must_dir)
                    strcat(cur, "/");
                continue;
            }
        }
        res.dirfd = dirfd;
        res.owned = owned;
        res.must_dir = must_dir;
        *out = res;
        dirfd = -1;
        rc = 0;
        goto done;
    }
done:
    if (dirfd >= 0 && owned)
        close(dirfd);
    spry_free(target);
    spry_free(cur);
    return rc;
}

void wasi_path_fini(struct wasi_path *p)
{
    if (p->owned && p->dirfd >= 0)
        close(p->dirfd);
    p->dirfd = -1;
    p->owned = false;
}
