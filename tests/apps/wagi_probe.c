/*
 * A WAGI guest for the `spry up` tests: what it does depends on PATH_INFO.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void echo_body(void)
{
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        fwrite(buf, 1, n, stdout);
}

int main(int argc, char **argv)
{
    const char *info = getenv("PATH_INFO");
    if (info == NULL)
        info = "";
    if (strcmp(info, "/env") == 0) {
        printf("content-type: text/plain\n\n");
        for (int i = 0; i < argc; i++)
            printf("argv[%d]=%s\n", i, argv[i]);
        for (char **e = environ; *e != NULL; e++)
            printf("%s\n", *e);
    } else if (strcmp(info, "/loop") == 0) {
        /* Opens /data/a.txt first, as /wait does: a test watching the
         * staged files sees that the guest runs (then it never ends). */
        FILE *f = fopen("/data/a.txt", "r");
        if (f != NULL)
            fclose(f);
        volatile unsigned long n = 0;
        for (;;)
            n++;
    } else if (strcmp(info, "/trap") == 0) {
        __builtin_trap();
    } else if (strcmp(info, "/exit") == 0) {
        printf("content-type: text/plain\n\nnot this\n");
        exit(3);
    } else if (strcmp(info, "/bad") == 0) {
        printf("no headers at all");
    } else if (strcmp(info, "/status") == 0) {
        printf("status: 418 I'm a teapot\nx-custom: yes\ncontent-type: text/plain\n\nteapot\n");
    } else if (strcmp(info, "/redirect") == 0) {
        printf("location: /elsewhere\n\n");
    } else if (strcmp(info, "/echo") == 0) {
        printf("content-type: application/octet-stream\n\n");
        echo_body();
    } else if (strcmp(info, "/slow") == 0) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        printf("content-type: text/plain\n\nslow done\n");
    } else if (strcmp(info, "/wait") == 0) {
        /* Holds its request until the test lets it go, so that tests need
         * no timing: it opens /data/a.txt first (the test sees the open with
         * inotify on the staged files: the guest runs), then waits until
         * the test creates /data/go (at most 20 s). */
        FILE *f = fopen("/data/a.txt", "r");
        if (f != NULL)
            fclose(f);
        struct timespec ts = {0, 5 * 1000000L};
        for (int i = 0; i < 4000 && access("/data/go", F_OK) != 0; i++)
            nanosleep(&ts, NULL);
        printf("content-type: text/plain\n\n%s\n",
               access("/data/go", F_OK) == 0 ? "let go" : "never let go");
    } else if (strcmp(info, "/file") == 0) {
        FILE *f = fopen("/data/a.txt", "r");
        printf("content-type: text/plain\n\n");
        if (f == NULL) {
            printf("cannot open\n");
            return 0;
        }
        echo_body();
        char buf[256];
        size_t n = fread(buf, 1, sizeof buf, f);
        fwrite(buf, 1, n, stdout);
        fclose(f);
        /* The mount is read-only. */
        printf("write: %s\n", fopen("/data/new.txt", "w") == NULL ? "refused" : "allowed");
    } else if (strcmp(info, "/stderr-then-file") == 0) {
        /* Written before a call a speculative run may not make (opening a
         * file): the log must hold it once, from the run that answered. */
        fprintf(stderr, "before-the-file\n");
        FILE *f = fopen("/data/a.txt", "r");
        printf("content-type: text/plain\n\n");
        char buf[256];
        size_t n = f != NULL ? fread(buf, 1, sizeof buf, f) : 0;
        fwrite(buf, 1, n, stdout);
    } else if (strcmp(info, "/tty") == 0) {
        printf("content-type: text/plain\n\n");
        printf("isatty: %d %d %d\n", isatty(0), isatty(1), isatty(2));
    } else if (strcmp(info, "/stderr") == 0) {
        fprintf(stderr, "guest-error-line\n");
        printf("content-type: text/plain\n\nok\n");
    } else {
        printf("status: 404\ncontent-type: text/plain\n\nno such probe: %s\n", info);
    }
    return 0;
}
