/* The "files" component: serves the files mounted at /static (read-only)
 * under the route /static/..., as a WAGI program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    const char *info = getenv("PATH_TRANSLATED");
    char path[1024];
    if (info == NULL || info[0] != '/' || strstr(info, "..") != NULL ||
        snprintf(path, sizeof path, "/static%s", info) >= (int)sizeof path) {
        printf("status: 400\ncontent-type: text/plain\n\nbad path\n");
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        printf("status: 404\ncontent-type: text/plain\n\nnot found: %s\n", info);
        return 0;
    }
    printf("content-type: %s\n\n", strstr(path, ".html") ? "text/html" : "text/plain");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stdout);
    fclose(f);
    return 0;
}
