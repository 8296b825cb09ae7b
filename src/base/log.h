/*
 * Logging to stderr with levels. The threshold comes from SPRY_LOG
 * (error|warn|info|debug; default info) on first use, or spry_log_set_level.
 */
#ifndef SPRY_BASE_LOG_H
#define SPRY_BASE_LOG_H

enum spry_log_level { SPRY_LOG_ERROR, SPRY_LOG_WARN, SPRY_LOG_INFO, SPRY_LOG_DEBUG };

void spry_log_set_level(enum spry_log_level level);
int spry_log_enabled(enum spry_log_level level);
void spry_log(enum spry_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
