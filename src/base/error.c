/* Error names, descriptions and the first-error-wins report. */
#include "spry/spry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *spry_strerror(int code)
{
    switch (code) {
    case SPRY_OK:
        return "success";
#define SPRY_ERROR_TEXT(name, value, text) \
    case value:                            \
        return text;
        SPRY_ERROR_LIST(SPRY_ERROR_TEXT)
#undef SPRY_ERROR_TEXT
    }
    return "unknown error";
}

const char *spry_errname(int code)
{
    switch (code) {
    case SPRY_OK:
        return "SPRY_OK";
#define SPRY_ERROR_NAME(name, value, text) \
    case value:                            \
        return "SPRY_E" #name;
        SPRY_ERROR_LIST(SPRY_ERROR_NAME)
#undef SPRY_ERROR_NAME
    }
    return "SPRY_E?";
}

const char *spry_version(void)
{
    return SPRY_VERSION_STRING;
}

void spry_report_init(struct spry_report *report)
{
    report->code = 0;
    report->message[0] = '\0';
}

int spry_report_set(struct spry_report *report, int code, const char *fmt, ...)
{
    if (report == NULL || report->code != 0)
        return code;
    report->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(report->message, sizeof report->message, fmt, ap);
    va_end(ap);
    return code;
}
