/*
 * The public face of the wasi layer: building and tearing down a context
 * (arguments, environment, stdio, preopens, sockets), attaching it to a
 * store, and the small ABI helpers every handler shares (errno mapping,
 * iovec decoding).
 */
#include "base/alloc.h"
#include "spry/wasi.h"
#include "wasi/abi.h"
#include "wasi/ctx.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wasi_errno_from_host(int e)
{
    switch (e) {
    case 0:
        return WASI_ESUCCESS;
    case E2BIG:
        return WASI_E2BIG;
    case EACCES:
        return WASI_EACCES;
    case EADDRINUSE:
        return WASI_EADDRINUSE;
    case EADDRNOTAVAIL:
        return WASI_EADDRNOTAVAIL;
    case EAFNOSUPPORT:
        return WASI_EAFNOSUPPORT;
    case EAGAIN:
        return WASI_EAGAIN;
    case EALREADY:
        return WASI_EALREADY;
    case EBADF:
        return WASI_EBADF;
    case EBUSY:
        return WASI_EBUSY;
    case ECONNABORTED:
        return WASI_ECONNABORTED;
    case ECONNREFUSED:
        return WASI_ECONNREFUSED;
    case ECONNRESET:
        return WASI_ECONNRESET;
    case EDQUOT:
        return WASI_EDQUOT;
    case EEXIST:
        return WASI_EEXIST;
    case EFAULT:
        return WASI_EFAULT;
    case EFBIG:
        return WASI_EFBIG;
    case EHOSTUNREACH:
        return WASI_EHOSTUNREACH;
    case EILSEQ:
        return WASI_EILSEQ;
    case EINPROGRESS:
        return WASI_EINPROGRESS;
    case EINTR:
        return WASI_EINTR;
    case EINVAL:
        return WASI_EINVAL;
    case EIO:
        return WASI_EIO;
    case EISCONN:
        return WASI_EISCONN;
    case EISDIR:
        return WASI_EISDIR;
    case ELOOP:
        return WASI_ELOOP;
    case EMFILE:
        return WASI_EMFILE;
    case EMLINK:
        return WASI_EMLINK;
    case EMSGSIZE:
        return WASI_EMSGSIZE;
    case ENAMETOOLONG:
        return WASI_ENAMETOOLONG;
    case ENETDOWN:
        return WASI_ENETDOWN;
    case ENETRESET:
        return WASI_ENETRESET;
    case ENETUNREACH:
        return WASI_ENETUNREACH;
    case ENFILE:
        return WASI_ENFILE;
    case ENOBUFS:
        return WASI_ENOBUFS;
    case ENODEV:
        return WASI_ENODEV;
    case ENOENT:
        return WASI_ENOENT;
    case ENOMEM:
        return WASI_ENOMEM;
    case ENOSPC:
        return WASI_ENOSPC;
    case ENOSYS:
        return WASI_ENOSYS;
    case ENOTCONN:
        return WASI_ENOTCONN;
    case ENOTDIR:
        return WASI_ENOTDIR;
    case ENOTEMPTY:
        return WASI_ENOTEMPTY;
    case ENOTSOCK:
        return WASI_ENOTSOCK;
    case EOPNOTSUPP:
        return WASI_ENOTSUP;
    case ENOTTY:
        return WASI_ENOTTY;
    case ENXIO:
        return WASI_ENXIO;
    case EOVERFLOW:
        return WASI_EOVERFLOW;
    case EPERM:
        return WASI_EPERM;
    case EPIPE:
        return WASI_EPIPE;
    case ERANGE:
        return WASI_ERANGE;
    case EROFS:
        return WASI_EROFS;
    case ESPIPE:
        return WASI_ESPIPE;
    case ETIMEDOUT:
        return WASI_ETIMEDOUT;
    case ETXTBSY:
        return WASI_ETXTBSY;
    case EXDEV:
        return WASI_EXDEV;
    default:
        return WASI_EIO;
    }
}

int wasi_iovecs(const struct wasi_call *c, uint32_t iovs, uint32_t n, struct iovec *out,
                uint64_t *total)
{
    if (!wasi_mem_ok(c, iovs, (uint64_t)n * WASI_IOVEC_SIZE))
        return WASI_EFAULT; /* first: a count the memory cannot hold is a bad pointer */
    if (n > WASI_IOV_MAX)
        return WASI_EINVAL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t buf = wasi_load32(c, iovs + i * WASI_IOVEC_SIZE);
        uint32_t len = wasi_load32(c, iovs + i * WASI_IOVEC_SIZE + 4);
        if (!wasi_mem_ok(c, buf, len))
            return WASI_EFAULT;
        if (len > WASI_IO_MAX - sum)
            len = (uint32_t)(WASI_IO_MAX - sum);
        out[i].iov_base = c->mem + buf;
        out[i].iov_len = len;
        sum += len;
    }
    *total = sum;
    return 0;
}

void wasi_iovecs_mark(struct wasi_call *c, const struct iovec *iov, uint32_t n, uint64_t bytes)
{
    for (uint32_t i = 0; i < n && bytes > 0; i++) {
        uint64_t len = iov[i].iov_len < bytes ? iov[i].iov_len : bytes;
        wasi_mark(c, (uint32_t)((uint8_t *)iov[i].iov_base - c->mem), len);
        bytes -= len;
    }
}

/* The sum of n strings' lengths plus NULs (the guest's buffer size), which
 * the guest's 32-bit sizes must hold. */
static int strings_size(const char *const *in, size_t n, size_t *bytes)
{
    size_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += strlen(in[i]) + 1;
    if (sum > UINT32_MAX || n > UINT32_MAX)
        return SPRY_ENOMEM;
    *bytes = sum;
    return 0;
}

/* Copies n strings to *p, pointed at by the NULL-terminated vector v;
 * advances *p past them. */
static void place_strings(const char *const *in, size_t n, char **v, char **p)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(in[i]) + 1;
        memcpy(*p, in[i], len);
        v[i] = *p;
        *p += len;
    }
    v[n] = NULL;
}

static const char *preopen_name(const struct spry_wasi_preopen *p)
{
    return p->guest_path != NULL ? p->guest_path : p->host_path;
}

/* Bytes of the context's `strings` for config (struct spry_wasi), or
 * SPRY_ENOMEM when args or env are too large for the guest's sizes. */
static int tail_size(const struct spry_wasi_config *config, size_t *args_bytes, size_t *env_bytes,
                     size_t *out)
{
    if (strings_size(config->args, config->nargs, args_bytes) != 0 ||
        strings_size(config->env, config->nenv, env_bytes) != 0)
        return SPRY_ENOMEM;
    size_t n = 0;
    if (!config->borrow_strings &&
        (spry_add_overflow(config->nargs, config->nenv + 2, &n) ||
         spry_mul_overflow(n, sizeof(char *), &n) || spry_add_overflow(n, *args_bytes, &n) ||
         spry_add_overflow(n, *env_bytes, &n)))
        return SPRY_ENOMEM;
    for (size_t i = 0; i < config->npreopens; i++)
        if (spry_add_overflow(n, strlen(preopen_name(&config->preopens[i])) + 1, &n))
            return SPRY_ENOMEM;
    *out = n;
    return 0;
}

/* Guest fd `index` (0..2) from its stdio config. */
static int setup_stdio(struct spry_wasi *w, int index, const struct spry_wasi_stdio *cfg,
                       struct spry_report *report)
{
    uint32_t fd;
    if (wasi_fd_alloc(w, &fd) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "wasi: out of memory");
    struct wasi_fd *f = &w->fds[fd];
    struct wasi_stream *s = &w->streams[index];
    f->used = true;
    f->rights = index == 0 ? WASI_RIGHT_FD_READ : WASI_RIGHT_FD_WRITE;
    f->rights |= WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |
                 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_DATASYNC;
    f->filetype = WASI_FILETYPE_CHARACTER_DEVICE;
    f->stream = s;
    int kind = cfg == NULL ? SPRY_WASI_STDIO_INHERIT : cfg->kind;
    switch (kind) {
    case SPRY_WASI_STDIO_INHERIT:
    case SPRY_WASI_STDIO_HOST_FD: {
        int host = kind == SPRY_WASI_STDIO_INHERIT ? index : cfg->fd;
        struct stat st;
        if (fstat(host, &st) == 0) {
            f->filetype = wasi_filetype_of_mode(st.st_mode);
            if (f->filetype == WASI_FILETYPE_REGULAR_FILE)
                f->rights |= WASI_RIGHT_FD_SEEK | WASI_RIGHT_FD_TELL;
        }
        f->host = host;
        if (index == 0) {
            f->stream = NULL; /* stdin reads go straight to the host fd */
            break;
        }
        s->kind = WASI_STREAM_OUT_HOST;
        s->fd = host;
        s->tty = isatty(host);
        spry_buf_init(&s->buf, WASI_STREAM_BUFFER);
        break;
    }
    case SPRY_WASI_STDIO_BUFFER:
        /* A byte buffer is no terminal: wasi-libc's isatty() says no, and
         * stdout is fully buffered (one fd_write at exit, not one per
         * line), as for a pipe under other runtimes. */
        f->filetype = WASI_FILETYPE_UNKNOWN;
        if (index == 0) {
            s->kind = WASI_STREAM_IN_BYTES;
            s->in = cfg->data;
            s->in_len = cfg->data == NULL ? 0 : cfg->len;
        } else {
            s->kind = WASI_STREAM_OUT_CAPTURE;
            spry_buf_init(&s->buf, cfg->max == 0 ? WASI_CAPTURE_DEFAULT_MAX : cfg->max);
        }
        break;
    case SPRY_WASI_STDIO_NULL:
        s->kind = WASI_STREAM_NULL;
        break;
    default:
        return spry_report_set(report, SPRY_EINVAL, "wasi: stdio %d has unknown kind %d", index,
                               kind);
    }
    return 0;
}

/* Guest fd for preopen `index`: the caller's fd `given`, or (-1) host_path
 * opened now; its name is copied to *names, which advances. */
static int setup_preopen(struct spry_wasi *w, size_t index, const struct spry_wasi_preopen *p,
                         int given, char **names, struct spry_report *report)
{
    uint32_t fd;
    if (wasi_fd_alloc(w, &fd) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "wasi: out of memory");
    int host = given >= 0 ? given : open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (host < 0)
        return spry_report_set(report, errno == ENOENT ? SPRY_ENOTFOUND : SPRY_EIO,
                               "cannot open directory '%s': %s", p->host_path, strerror(errno));
    struct wasi_fd *f = &w->fds[fd];
    f->used = true;
    f->owned = given < 0; /* a given fd stays the caller's */
    f->host = host;
    f->filetype = WASI_FILETYPE_DIRECTORY;
    f->readonly = p->readonly;
    f->tree = (uint32_t)index + 1;
    f->rights = WASI_RIGHTS_DIR;
    f->inheriting = WASI_RIGHTS_DIR | WASI_RIGHTS_FILE;
    if (p->readonly) {
        f->rights &= ~WASI_RIGHTS_WRITE;
        f->inheriting &= ~WASI_RIGHTS_WRITE;
    }
    const char *name = preopen_name(p);
    f->prestat_len = strlen(name);
    memcpy(*names, name, f->prestat_len + 1);
    f->prestat_name = *names;
    *names += f->prestat_len + 1;
    return 0;
}

static int setup_socket(struct spry_wasi *w, int sock, struct spry_report *report)
{
    uint32_t fd;
    if (wasi_fd_alloc(w, &fd) != 0)
        return spry_report_set(report, SPRY_ENOMEM, "wasi: out of memory");
    int host = fcntl(sock, F_DUPFD_CLOEXEC, 3);
    if (host < 0)
        return spry_report_set(report, SPRY_EIO, "wasi: cannot duplicate socket %d: %s", sock,
                               strerror(errno));
    struct wasi_fd *f = &w->fds[fd];
    f->used = true;
    f->owned = true;
    f->host = host;
    f->filetype = WASI_FILETYPE_SOCKET_STREAM;
    f->rights = WASI_RIGHTS_SOCKET;
    return 0;
}

_Static_assert(offsetof(struct spry_wasi, strings) % _Alignof(char *) == 0,
               "the vectors at the start of strings are aligned");

int spry_wasi_create(const struct spry_wasi_config *config, struct spry_wasi **out,
                     struct spry_report *report)
{
    if (config->max_fds != 0 && config->max_fds < 3 + config->npreopens + config->nsockets)
        return spry_report_set(report, SPRY_EINVAL, "wasi: max_fds is below the configured fds");
    size_t args_bytes, env_bytes, tail, size;
    if (tail_size(config, &args_bytes, &env_bytes, &tail) != 0 ||
        spry_add_overflow(offsetof(struct spry_wasi, strings), tail, &size))
        return spry_report_set(report, SPRY_ENOMEM, "wasi: arguments too large");
    struct spry_wasi *w = spry_malloc(size);
    if (w == NULL)
        return spry_report_set(report, SPRY_ENOMEM, "wasi: out of memory");
    memset(w, 0, offsetof(struct spry_wasi, inline_fds));
    w->fds = w->inline_fds;
    w->cap = WASI_INLINE_FDS;
    w->max_fds = config->max_fds == 0 ? 1024 : config->max_fds;
    w->nargs = config->nargs;
    w->args_bytes = args_bytes;
    w->nenv = config->nenv;
    w->env_bytes = env_bytes;
    char *p = w->strings;
    if (config->borrow_strings) {
        /* The guest only reads them (args_get/environ_get copy them out). */
        w->borrowed = true;
        w->args = (char **)config->args;
        w->env = (char **)config->env;
    } else {
        w->args = (char **)(void *)p;
        w->env = w->args + config->nargs + 1;
        p = (char *)(w->env + config->nenv + 1);
        place_strings(config->args, config->nargs, w->args, &p);
        place_strings(config->env, config->nenv, w->env, &p);
    }
    int rc;
    for (int i = 0; i < 3; i++) {
        rc = setup_stdio(w, i, &config->stdio[i], report);
        if (rc != 0)
            goto fail;
    }
    for (size_t i = 0; i < config->npreopens; i++) {
        int given = config->preopen_fds != NULL ? config->preopen_fds[i] : -1;
        rc = setup_preopen(w, i, &config->preopens[i], given, &p, report);
        if (rc != 0)
            goto fail;
    }
    for (size_t i = 0; i < config->nsockets; i++) {
        rc = setup_socket(w, config->sockets[i], report);
        if (rc != 0)
            goto fail;
    }
    *out = w;
    return 0;
fail:
    spry_wasi_destroy(w);
    return rc;
}

void spry_wasi_destroy(struct spry_wasi *w)
{
    if (w == NULL)
        return;
    wasi_streams_flush(w, NULL); /* writes only streams holding output */
    for (uint32_t i = 0; i < w->nfds; i++) {
        struct wasi_fd *f = &w->fds[i];
        if (f->used && (f->owned || f->dir != NULL)) /* stdio owns nothing */
            wasi_fd_release(f);
    }
    for (int i = 0; i < 3; i++)
        if (w->streams[i].buf.data != NULL) /* a stream that never buffered has none */
            spry_free(w->streams[i].buf.data);
    if (w->fds != w->inline_fds)
        spry_free(w->fds);
    spry_free(w);
}

void spry_wasi_attach(struct spry_wasi *wasi, struct spry_store *store)
{
    spry_store_set_data(store, SPRY_STORE_DATA_WASI, wasi);
}

int spry_wasi_flush(struct spry_wasi *wasi)
{
    return wasi_streams_flush(wasi, NULL) == 0 ? 0 : SPRY_EIO;
}

const uint8_t *spry_wasi_output(const struct spry_wasi *wasi, int fd, size_t *len, bool *truncated)
{
    *len = 0;
    if (truncated != NULL)
        *truncated = false;
    if (fd != 1 && fd != 2)
        return NULL;
    const struct wasi_stream *s = &wasi->streams[fd];
    if (s->kind != WASI_STREAM_OUT_CAPTURE)
        return NULL;
    *len = s->buf.len;
    if (truncated != NULL)
        *truncated = s->truncated;
    return s->buf.data != NULL ? s->buf.data : (const uint8_t *)"";
}
