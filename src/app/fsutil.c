#include "app/fsutil.h"

#include "spry/error.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int app_mkdir_p(const char *dir)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp)
        return SPRY_ETOOBIG;
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return SPRY_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return SPRY_EIO;
    return 0;
}
