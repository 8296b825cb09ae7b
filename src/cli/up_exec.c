/*
 * `spry up` runs the spry-up program installed beside spry (see
 * up_main.c for why it is a separate program).
 */
#include "cli/commands.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_up_exec(int argc, char **argv)
{
    (void)argc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
    if (n <= 0) {
        fprintf(stderr, "spry up: cannot find where spry is installed: %s\n", strerror(errno));
        return 1;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    strcpy(slash + 1, "spry-up");
    argv[0] = self;
    execv(self, argv);
    fprintf(stderr, "spry up: cannot run %s: %s\n", self, strerror(errno));
    return 1;
}
