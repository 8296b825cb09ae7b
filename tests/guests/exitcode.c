/*
 * Exit statuses: main's return value, exit(), a raw proc_exit after a raw
 * write (nothing after it runs), proc_raise (ENOSYS: the choice;
 * signals are not delivered to guests) and sched_yield. argv[1] picks the
 * case.
 */
#include "guest.h"

WASI_IMPORT(proc_raise) int32_t raw_proc_raise(int32_t sig);

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    printf("mode %s\n", mode);
    if (strcmp(mode, "return7") == 0)
        return 7;
    if (strcmp(mode, "exit42") == 0) {
        printf("buffered line before exit");
        exit(42);
    }
    if (strcmp(mode, "proc_exit") == 0) {
        raw_puts("raw line\n");
        __wasi_proc_exit(3);
        raw_puts("after proc_exit\n");
        return 9;
    }
    if (strcmp(mode, "proc_exit255") == 0)
        __wasi_proc_exit(255);
    if (strcmp(mode, "raise") == 0) {
        printf("proc_raise(SIGTERM): %s\n", errname(raw_proc_raise(15 /* WASI signal term */)));
        printf("proc_raise(SIGKILL): %s\n", errname(raw_proc_raise(9 /* kill */)));
        printf("still running\n");
        return 0;
    }
    return 0;
}
