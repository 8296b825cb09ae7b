#include "unit/wasi/sandbox.h"

#include "harness/test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void sandbox_paths(char box[SANDBOX_PATH_MAX], char box2[SANDBOX_PATH_MAX],
                   char outside[SANDBOX_PATH_MAX])
{
    const char *tmp = test_tmpdir();
    snprintf(box, SANDBOX_PATH_MAX, "%s/box", tmp);
    snprintf(box2, SANDBOX_PATH_MAX, "%s/box2", tmp);
    snprintf(outside, SANDBOX_PATH_MAX, "%s/outside", tmp);
}

void sandbox_make(char box[SANDBOX_PATH_MAX], char box2[SANDBOX_PATH_MAX],
                  char outside[SANDBOX_PATH_MAX])
{
    sandbox_paths(box, box2, outside);
    char cmd[3 * SANDBOX_PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", box, box2, outside);
    ASSERT_EQ_INT(system(cmd), 0);
    ASSERT_EQ_INT(mkdir(box, 0777), 0);
    ASSERT_EQ_INT(mkdir(box2, 0777), 0);
    ASSERT_EQ_INT(mkdir(outside, 0777), 0);
    sandbox_write_file(outside, "secret", "top secret");
}

void sandbox_write_file(const char *dir, const char *name, const char *content)
{
    char path[2 * SANDBOX_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(content, f);
    fclose(f);
}

const char *sandbox_read_file(const char *dir, const char *name)
{
    static char buf[8192];
    char path[2 * SANDBOX_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

bool sandbox_exists(const char *dir, const char *name)
{
    char path[2 * SANDBOX_PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *sandbox_listing(const char *dir)
{
    static char out[4096];
    char *names[256];
    int n = 0;
    DIR *d = opendir(dir);
    ASSERT_NOT_NULL(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 256)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp);
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i > 0)
            strcat(out, ",");
        strncat(out, names[i], sizeof out - strlen(out) - 2);
        free(names[i]);
    }
    return out;
}
