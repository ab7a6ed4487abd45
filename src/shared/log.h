/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* Where log lines go: stderr for vesselctl and interactive runs, the journal (structured, with the
 * source location and ERRNO=) for the daemon under systemd. The library code in src/shared never
 * calls these: it returns -errno and lets the caller, who knows the context, log once. */
typedef enum LogTarget {
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
        LOG_TARGET_AUTO, /* the journal when stderr is connected to it, else the console */
} LogTarget;

void log_set_target(LogTarget t);
void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_prefix(const char *prefix);

/* Logs and returns -abs(error), so that "return log_error_errno(r, ...)" works. A message may use %m
 * for strerror(error). Extra journal fields may be passed as a "FIELD=value" string in 'extra' (may
 * contain several, newline-separated). */
int log_internal(int level, int error, const char *extra, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(7, 8);

#define log_full_errno(level, error, ...) \
        log_internal(level, error, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)


int log_oom_internal(const char *file, int line, const char *func);
#define log_oom() log_oom_internal(__FILE__, __LINE__, __func__)
