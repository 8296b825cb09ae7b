/*
 * args_sizes_get, args_get, environ_sizes_get, environ_get: the arguments
 * after FILE.wasm and exactly the --env variables, in command-line order,
 * with spaces, empty strings, '=' in values and UTF-8 kept byte for byte.
 */
#include "guest.h"

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    const char *base = strrchr(argv[0], '/');
    printf("argv[0] basename=%s\n", base != NULL ? base + 1 : argv[0]);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s]\n", i, argv[i]);

    __wasi_size_t n = 0, bytes = 0;
    report("args_sizes_get", __wasi_args_sizes_get(&n, &bytes));
    printf("args count=%u bytes after argv[0]=%u\n", (unsigned)n,
           (unsigned)(bytes - strlen(argv[0]) - 1));

    report("environ_sizes_get", __wasi_environ_sizes_get(&n, &bytes));
    printf("environ count=%u bytes=%u\n", (unsigned)n, (unsigned)bytes);
    char **env = calloc(n + 1, sizeof *env);
    char *buf = malloc(bytes + 1);
    report("environ_get", __wasi_environ_get((uint8_t **)env, (uint8_t *)buf));
    for (__wasi_size_t i = 0; i < n; i++)
        printf("environ[%u]=[%s]\n", (unsigned)i, env[i]);

    printf("getenv(EQ)=[%s]\n", getenv("EQ") ? getenv("EQ") : "(unset)");
    printf("getenv(EMPTY)=[%s]\n", getenv("EMPTY") ? getenv("EMPTY") : "(unset)");
    printf("HOME inherited: %s\n", yes(getenv("HOME") != NULL));
    printf("PATH inherited: %s\n", yes(getenv("PATH") != NULL));
    return 0;
}
