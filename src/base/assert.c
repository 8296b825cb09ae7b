#include "base/assert.h"

#include <stdio.h>
#include <stdlib.h>

void spry_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "spry: internal error: assertion '%s' failed at %s:%d\n", cond, file, line);
    fflush(stderr);
    abort();
}
