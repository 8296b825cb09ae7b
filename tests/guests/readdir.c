/*
 * fd_readdir: entry types and name lengths, resuming from every entry's
 * cookie, a buffer too small for one entry (filled to the last byte, as the
 * spec says a truncated read looks), a walk with a small buffer that
 * re-reads truncated entries, a cookie past the end; then wasi-libc's
 * opendir/readdir/telldir/seekdir/rewinddir over the same calls.
 * The fixture's /sb/dir holds a.txt, b.txt, link -> a.txt and sub/.
 */
#include "guest.h"

#include <dirent.h>

#define MAXE 16

struct entry {
    char name[64];
    int type;
    __wasi_dircookie_t next;
};

static const char *dtype(int t)
{
    switch (t) {
    case __WASI_FILETYPE_DIRECTORY:
        return "DIRECTORY";
    case __WASI_FILETYPE_REGULAR_FILE:
        return "REGULAR_FILE";
    case __WASI_FILETYPE_SYMBOLIC_LINK:
        return "SYMBOLIC_LINK";
    default:
        return "OTHER";
    }
}

/* Parses the complete entries of one fd_readdir result. */
static int parse(const uint8_t *buf, size_t used, struct entry *e, int max, int *bad_namlen)
{
    size_t off = 0;
    int n = 0;
    while (off + sizeof(__wasi_dirent_t) <= used && n < max) {
        __wasi_dirent_t d;
        memcpy(&d, buf + off, sizeof d);
        if (off + sizeof d + d.d_namlen > used)
            break; /* truncated */
        size_t len = d.d_namlen < 63 ? d.d_namlen : 63;
        memcpy(e[n].name, buf + off + sizeof d, len);
        e[n].name[len] = 0;
        if (strlen(e[n].name) != d.d_namlen)
            *bad_namlen = 1;
        e[n].type = d.d_type;
        e[n].next = d.d_next;
        n++;
        off += sizeof d + d.d_namlen;
    }
    return n;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int is_dot(const char *s)
{
    return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

int main(void)
{
    __wasi_fd_t fd = 1000;
    report("path_open dir", raw_open(3, "dir", 0, __WASI_OFLAGS_DIRECTORY, 0, &fd));

    static uint8_t buf[4096];
    __wasi_size_t used = 0;
    int bad = 0;
    report("fd_readdir cookie 0", __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used));
    printf("whole directory in one call: %s\n", yes(used < sizeof buf));
    struct entry all[MAXE], sorted[MAXE];
    int n = parse(buf, used, all, MAXE, &bad);
    memcpy(sorted, all, sizeof all);
    qsort(sorted, n, sizeof sorted[0], by_name);
    for (int i = 0; i < n; i++)
        if (!is_dot(sorted[i].name))
            printf("entry %s %s\n", sorted[i].name, dtype(sorted[i].type));
    printf("d_namlen matches names: %s\n", yes(!bad));

    int resumes_ok = 1;
    for (int k = 0; k < n; k++) {
        struct entry rest[MAXE];
        __wasi_size_t u2 = 0;
        if (__wasi_fd_readdir(fd, buf, sizeof buf, all[k].next, &u2) != 0) {
            resumes_ok = 0;
            continue;
        }
        int m = parse(buf, u2, rest, MAXE, &bad);
        if (m != n - k - 1)
            resumes_ok = 0;
        for (int j = 0; j < m && j + k + 1 < n; j++)
            if (strcmp(rest[j].name, all[k + 1 + j].name) != 0)
                resumes_ok = 0;
    }
    printf("resuming from each entry's d_next gives the entries after it: %s\n", yes(resumes_ok));

    __wasi_size_t u3 = 99;
    report("fd_readdir from the last cookie",
           __wasi_fd_readdir(fd, buf, sizeof buf, all[n - 1].next, &u3));
    printf("bytes after the end: %u\n", (unsigned)u3);

    /* A buffer smaller than one entry comes back full. */
    report("fd_readdir 10-byte buffer", __wasi_fd_readdir(fd, buf, 10, 0, &u3));
    printf("buf_used == buf_len: %s\n", yes(u3 == 10));

    /* The walk wasi-libc does: read, keep the complete entries, continue
     * from the last complete entry's cookie. */
    struct entry walk[MAXE];
    int w = 0, calls = 0;
    __wasi_dircookie_t cookie = 0;
    for (;;) {
        uint8_t small[40];
        __wasi_size_t u = 0;
        if (__wasi_fd_readdir(fd, small, sizeof small, cookie, &u) != 0 || ++calls > 100)
            break;
        int m = parse(small, u, walk + w, MAXE - w, &bad);
        if (m == 0 && u == sizeof small) {
            printf("an entry does not fit in 40 bytes\n");
            break;
        }
        w += m;
        if (m > 0)
            cookie = walk[w - 1].next;
        if (u < sizeof small)
            break;
    }
    int same = w == n;
    qsort(walk, w, sizeof walk[0], by_name);
    for (int i = 0; same && i < n; i++)
        same = strcmp(walk[i].name, sorted[i].name) == 0 && walk[i].type == sorted[i].type;
    printf("40-byte walk finds the same entries: %s, in more than one call: %s\n", yes(same),
           yes(calls > 1));

    __wasi_fd_t file = 1000;
    report("path_open dir/a.txt", raw_open(3, "dir/a.txt", 0, 0, 0, &file));
    int e = __wasi_fd_readdir(file, buf, sizeof buf, 0, &u3);
    printf("fd_readdir on a file fails: %s\n", yes(e != 0));
    report("fd_readdir on a closed fd", __wasi_fd_readdir(1000, buf, sizeof buf, 0, &u3));

    DIR *d = opendir("/sb/dir");
    printf("opendir: %s\n", d ? "ok" : errname(errno));
    int count = 0;
    long pos = -1;
    char third[64] = "";
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        count++;
        if (count == 2)
            pos = telldir(d);
        if (count == 3)
            snprintf(third, sizeof third, "%s", de->d_name);
    }
    printf("readdir sees the same number of entries: %s\n", yes(count == n));
    seekdir(d, pos);
    de = readdir(d);
    printf("seekdir to telldir gives the same next entry: %s\n",
           yes(de != NULL && strcmp(de->d_name, third) == 0));
    rewinddir(d);
    int again = 0;
    while (readdir(d) != NULL)
        again++;
    printf("rewinddir then readdir: %s\n", yes(again == count));
    closedir(d);
    return 0;
}
