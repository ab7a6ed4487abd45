/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"

static LogTarget log_target = LOG_TARGET_AUTO;
static int log_max_level = LOG_INFO;
static const char *log_prefix = NULL;

void log_set_target(LogTarget t) {
        log_target = t;
}

void log_set_max_level(int level) {
        log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

/* $JOURNAL_STREAM names the device:inode of the stream systemd connected stderr to; if it still is
 * what stderr points at, structured logging is the better choice. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

static LogTarget effective_target(void) {
        static int cached = -1;

        if (log_target != LOG_TARGET_AUTO)
                return log_target;
        if (cached < 0)
                cached = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        return cached;
}

int log_internal(int level, int error, const char *extra, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;

        error = abs(error);
        if (level > log_max_level)
                return -error;

        errno = error;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);

        if (effective_target() == LOG_TARGET_JOURNAL) {
                char fl[256], ln[32], er[32], id[64];
                const char *x = extra ?: id;

                (void) snprintf(fl, sizeof fl, "CODE_FILE=%s", file);
                (void) snprintf(ln, sizeof ln, "CODE_LINE=%i", line);
                (void) snprintf(er, sizeof er, "ERRNO=%i", error);
                (void) snprintf(id, sizeof id, "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
                (void) sd_journal_send_with_location(fl, ln, func, "MESSAGE=%s", buf, "PRIORITY=%i", level,
                                                     error > 0 ? er : x, error > 0 ? x : NULL, NULL);
        } else {
                /* what we printed so far comes first, also where stdout is a pipe to the same place */
                (void) fflush(stdout);
                (void) fprintf(stderr, "%s%s%s\n", strempty(log_prefix), log_prefix ? ": " : "", buf);
        }

        errno = error;
        return -error;
}

int log_oom_internal(const char *file, int line, const char *func) {
        return log_internal(LOG_ERR, ENOMEM, NULL, file, line, func, "Out of memory.");
}
