/*
 * fd_read/write (scatter/gather), pread/pwrite (the offset stays), seek and
 * tell, sync, datasync, advise, allocate, stdin and raw stdout writes, and
 * EBADF on a closed descriptor. Files live in the pre-opened /sb.
 */
#include "guest.h"

#include <fcntl.h>
#include <unistd.h>

static __wasi_filesize_t size_of(int fd)
{
    __wasi_filestat_t st;
    return __wasi_fd_filestat_get(fd, &st) == 0 ? st.size : (__wasi_filesize_t)-1;
}

int main(void)
{
    char line[64] = {0};
    __wasi_size_t n = 0;
    __wasi_iovec_t in0 = {.buf = (uint8_t *)line, .buf_len = sizeof line - 1};
    report("fd_read stdin", __wasi_fd_read(0, &in0, 1, &n));
    printf("stdin: %u bytes [%.*s]\n", (unsigned)n, (int)strcspn(line, "\n"), line);
    report("fd_read stdin at end", __wasi_fd_read(0, &in0, 1, &n));
    printf("stdin at end: %u bytes\n", (unsigned)n);

    int fd = open("/sb/io.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
    report_libc("open /sb/io.txt", fd);

    __wasi_ciovec_t out[3] = {
        {(const uint8_t *)"abc", 3}, {(const uint8_t *)"", 0}, {(const uint8_t *)"defgh", 5}};
    report("fd_write 3 iovecs", __wasi_fd_write(fd, out, 3, &n));
    printf("written %u\n", (unsigned)n);
    __wasi_filesize_t pos = 99;
    report("fd_tell", __wasi_fd_tell(fd, &pos));
    printf("tell %llu\n", (unsigned long long)pos);
    report("fd_seek 0 SET", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    printf("position %llu\n", (unsigned long long)pos);

    char a[3], b[10];
    __wasi_iovec_t iv[2] = {{(uint8_t *)a, sizeof a}, {(uint8_t *)b, sizeof b}};
    report("fd_read 2 iovecs", __wasi_fd_read(fd, iv, 2, &n));
    printf("read %u: [%.3s] [%.*s]\n", (unsigned)n, a, (int)(n > 3 ? n - 3 : 0), b);
    report("fd_read at end", __wasi_fd_read(fd, iv, 2, &n));
    printf("read at end %u\n", (unsigned)n);

    __wasi_ciovec_t xy = {(const uint8_t *)"XY", 2};
    report("fd_pwrite XY at 2", __wasi_fd_pwrite(fd, &xy, 1, 2, &n));
    printf("pwritten %u\n", (unsigned)n);
    __wasi_fd_tell(fd, &pos) == 0 ? printf("tell after pwrite %llu\n", (unsigned long long)pos)
                                  : printf("tell failed\n");
    char p4[4];
    __wasi_iovec_t pv = {(uint8_t *)p4, sizeof p4};
    report("fd_pread 4 at 1", __wasi_fd_pread(fd, &pv, 1, 1, &n));
    printf("pread %u: [%.*s]\n", (unsigned)n, (int)n, p4);
    __wasi_fd_tell(fd, &pos) == 0 ? printf("tell after pread %llu\n", (unsigned long long)pos)
                                  : printf("tell failed\n");
    report("fd_pread at 100", __wasi_fd_pread(fd, &pv, 1, 100, &n));
    printf("pread past end %u\n", (unsigned)n);

    __wasi_ciovec_t z = {(const uint8_t *)"Z", 1};
    report("fd_pwrite Z at 10", __wasi_fd_pwrite(fd, &z, 1, 10, &n));
    printf("size %llu\n", (unsigned long long)size_of(fd));
    char all[16];
    __wasi_iovec_t av = {(uint8_t *)all, sizeof all};
    report("fd_pread all", __wasi_fd_pread(fd, &av, 1, 0, &n));
    printf("content %u:", (unsigned)n);
    for (__wasi_size_t i = 0; i < n; i++)
        printf(" %02x", (unsigned char)all[i]);
    printf("\n");

    report("fd_seek -3 END", __wasi_fd_seek(fd, -3, __WASI_WHENCE_END, &pos));
    printf("position %llu\n", (unsigned long long)pos);
    report("fd_seek 2 CUR", __wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos));
    printf("position %llu\n", (unsigned long long)pos);
    report("fd_seek -20 CUR", __wasi_fd_seek(fd, -20, __WASI_WHENCE_CUR, &pos));
    report("fd_seek whence 3", __wasi_fd_seek(fd, 0, 3, &pos));
    __wasi_fd_tell(fd, &pos) == 0
        ? printf("tell after failed seeks %llu\n", (unsigned long long)pos)
        : printf("tell failed\n");
    report("fd_seek past end", __wasi_fd_seek(fd, 100, __WASI_WHENCE_SET, &pos));
    printf("position %llu, size %llu\n", (unsigned long long)pos, (unsigned long long)size_of(fd));

    report("fd_sync", __wasi_fd_sync(fd));
    report("fd_datasync", __wasi_fd_datasync(fd));
    report("fd_advise NORMAL", __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_NORMAL));
    report("fd_advise SEQUENTIAL", __wasi_fd_advise(fd, 0, 11, __WASI_ADVICE_SEQUENTIAL));
    report("fd_advise DONTNEED", __wasi_fd_advise(fd, 0, 11, __WASI_ADVICE_DONTNEED));
    report("fd_advise 9", __wasi_fd_advise(fd, 0, 0, 9));
    report("fd_allocate 0+100", __wasi_fd_allocate(fd, 0, 100));
    printf("size %llu\n", (unsigned long long)size_of(fd));
    report("fd_allocate 0+10", __wasi_fd_allocate(fd, 0, 10));
    printf("size %llu\n", (unsigned long long)size_of(fd));
    report("fd_pread after allocate", __wasi_fd_pread(fd, &av, 1, 0, &n));
    printf("first bytes [%.8s]\n", all);

    report("fd_close", __wasi_fd_close(fd));
    report("fd_read closed", __wasi_fd_read(fd, iv, 2, &n));
    report("fd_write closed", __wasi_fd_write(fd, out, 1, &n));
    report("fd_seek closed", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    report("fd_close closed", __wasi_fd_close(fd));
    report("fd_sync 1000", __wasi_fd_sync(1000));

    fflush(stdout);
    __wasi_ciovec_t so[2] = {{(const uint8_t *)"raw stdout: A", 13}, {(const uint8_t *)"B\n", 2}};
    int e = __wasi_fd_write(1, so, 2, &n);
    printf("fd_write stdout: %s, %u bytes\n", errname(e), (unsigned)n);
    return 0;
}
