/* The "hello" component: a WAGI (CGI) program. It greets the caller and
 * echoes what Spry told it about the request. */
#include <stdio.h>
#include <stdlib.h>

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? v : "";
}

int main(int argc, char **argv)
{
    printf("content-type: text/plain\n\n");
    printf("%s from Spry!\n", env("GREETING"));
    printf("method: %s\n", env("REQUEST_METHOD"));
    printf("route: %s\n", env("X_MATCHED_ROUTE"));
    printf("path info: %s\n", env("PATH_INFO"));
    printf("query: %s\n", env("QUERY_STRING"));
    for (int i = 1; i < argc; i++)
        printf("arg %d: %s\n", i, argv[i]);
    /* The request body arrives on stdin. */
    char buf[4096];
    size_t n, total = 0;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        total += n;
    if (total > 0)
        printf("body: %zu bytes\n", total);
    return 0;
}
