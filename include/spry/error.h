/*
 * Spry's error codes: the single list every layer returns from.
 *
 * Functions return int: 0 on success or a negative SPRY_E* code. Detail a
 * user can act on (what, where) goes into a caller-owned struct spry_report.
 */
#ifndef SPRY_ERROR_H
#define SPRY_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SPRY_API __attribute__((visibility("default")))
#else
#define SPRY_API
#endif

/* X(name, value, description). Values are stable; append only. */
#define SPRY_ERROR_LIST(X)                          \
    X(NOMEM, -1, "out of memory")                   \
    X(INVAL, -2, "invalid argument")                \
    X(TOOBIG, -3, "size limit exceeded")            \
    X(MALFORMED, -4, "malformed input")             \
    X(INVALID, -5, "validation failed")             \
    X(UNLINKABLE, -6, "import could not be linked") \
    X(TRAP, -7, "WebAssembly trap")                 \
    X(NOTFOUND, -8, "not found")                    \
    X(IO, -9, "input/output error")                 \
    X(EXHAUSTED, -10, "resource exhausted")         \
    X(UNSUPPORTED, -11, "not supported")            \
    X(INTERRUPTED, -12, "interrupted")              \
    X(EXIT, -13, "guest exited")                    \
    X(TIMEOUT, -14, "timed out")                    \
    X(BUSY, -15, "busy")                            \
    X(NORESPONSE, -16, "the guest gave no valid response")

enum spry_error {
    SPRY_OK = 0,
#define SPRY_ERROR_ENUM(name, value, text) SPRY_E##name = value,
    SPRY_ERROR_LIST(SPRY_ERROR_ENUM)
#undef SPRY_ERROR_ENUM
};

/* Short description of a code; never NULL ("unknown error" for foreign codes). */
SPRY_API const char *spry_strerror(int code);

/* Symbolic name of a code ("SPRY_ENOMEM"); "SPRY_OK" for 0. */
SPRY_API const char *spry_errname(int code);

/*
 * A caller-owned error report. The first error recorded wins: later calls to
 * spry_report_set on a report that already holds an error change nothing, so
 * the root cause survives the unwinding of the layers above it.
 */
#define SPRY_REPORT_MSG_MAX 512

struct spry_report {
    int code;                          /* 0 while no error was recorded */
    char message[SPRY_REPORT_MSG_MAX]; /* NUL-terminated, may be truncated */
};

SPRY_API void spry_report_init(struct spry_report *report);

/* Records code and a printf-style message unless an error is already held.
 * report may be NULL. Returns code so callers can `return spry_report_set(...)`. */
SPRY_API int spry_report_set(struct spry_report *report, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif
