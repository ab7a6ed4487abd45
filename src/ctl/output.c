/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"
#include "parse-util.h"
#include "string-util.h"

struct Table {
        size_t n_columns;
        size_t n_rows;
        char **cells; /* n_columns * (n_rows + 1): the header row first */
};

Table *table_new_internal(const char *first, ...) {
        _cleanup_(table_freep) Table *t = NULL;
        va_list ap;
        size_t n = 0;

        va_start(ap, first);
        for (const char *c = first; c; c = va_arg(ap, const char *))
                n++;
        va_end(ap);

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n;
        t->cells = calloc(n, sizeof(char *));
        if (!t->cells)
                return NULL;

        va_start(ap, first);
        n = 0;
        for (const char *c = first; c; c = va_arg(ap, const char *)) {
                t->cells[n] = strdup(c);
                if (!t->cells[n]) {
                        va_end(ap);
                        return NULL;
                }
                n++;
        }
        va_end(ap);

        return TAKE_PTR(t);
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        if (t->cells)
                for (size_t i = 0; i < t->n_columns * (t->n_rows + 1); i++)
                        free(t->cells[i]);
        free(t->cells);
        return mfree(t);
}

int table_add_row(Table *t, ...) {
        char **n;
        va_list ap;
        size_t base;

        n = reallocarray(t->cells, t->n_columns * (t->n_rows + 2), sizeof(char *));
        if (!n)
                return -ENOMEM;
        t->cells = n;
        base = t->n_columns * (t->n_rows + 1);

        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *c = va_arg(ap, const char *);

                t->cells[base + i] = strdup(c ?: "-");
                if (!t->cells[base + i]) {
                        for (size_t j = 0; j < i; j++)
                                free(t->cells[base + j]);
                        va_end(ap);
                        return -ENOMEM;
                }
        }
        va_end(ap);

        t->n_rows++;
        return 0;
}

size_t table_get_rows(const Table *t) {
        return t->n_rows;
}

static size_t sort_column;

static int row_compare(const void *a, const void *b) {
        char *const *x = a, *const *y = b;
        return strcmp(x[sort_column], y[sort_column]);
}

void table_sort(Table *t, size_t column) {
        if (column >= t->n_columns || t->n_rows < 2)
                return;
        /* rows are contiguous runs of n_columns pointers after the header; qsort needs a fixed element
         * size, which they have */
        sort_column = column;
        qsort(t->cells + t->n_columns, t->n_rows, t->n_columns * sizeof(char *), row_compare);
}

int table_print(const Table *t, FILE *f) {
        _cleanup_free_ size_t *width = NULL;

        width = calloc(t->n_columns, sizeof(size_t));
        if (!width)
                return -ENOMEM;
        for (size_t r = 0; r <= t->n_rows; r++)
                for (size_t c = 0; c < t->n_columns; c++)
                        width[c] = MAX(width[c], strlen(t->cells[r * t->n_columns + c]));

        for (size_t r = 0; r <= t->n_rows; r++) {
                for (size_t c = 0; c < t->n_columns; c++) {
                        const char *cell = t->cells[r * t->n_columns + c];

                        if (c + 1 < t->n_columns)
                                fprintf(f, "%-*s ", (int) width[c], cell);
                        else
                                fprintf(f, "%s\n", cell);
                }
        }
        return fflush(f) == 0 ? 0 : -errno;
}

int json_print(struct json_object *j, FILE *f) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

        flags |= isatty(fileno(f)) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                   : JSON_C_TO_STRING_PLAIN;
        fprintf(f, "%s\n", json_object_to_json_string_ext(j, flags));
        return fflush(f) == 0 ? 0 : -errno;
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

char *format_timestamp(char *buf, size_t l, uint64_t usec) {
        struct tm tm;
        time_t sec;

        if (usec == 0 || usec == UINT64_MAX)
                return NULL;
        sec = (time_t) (usec / USEC_PER_SEC);
        if (!localtime_r(&sec, &tm))
                return NULL;
        if (strftime(buf, l, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                return NULL;
        return buf;
}

char *format_timestamp_relative(char *buf, size_t l, uint64_t usec, uint64_t now_usec) {
        char span[FORMAT_TIMESPAN_MAX];
        uint64_t d;
        bool past;

        if (usec == 0 || usec == UINT64_MAX)
                return NULL;

        past = now_usec >= usec;
        d = past ? now_usec - usec : usec - now_usec;
        /* Past a second people read seconds; microseconds there are noise. */
        if (d >= USEC_PER_SEC)
                d -= d % USEC_PER_SEC;
        else if (d >= USEC_PER_MSEC)
                d -= d % USEC_PER_MSEC;

        if (d == 0)
                snprintf(buf, l, "now");
        else
                snprintf(buf, l, "%s %s", format_timespan(span, sizeof span, d), past ? "ago" : "left");
        return buf;
}

bool colors_enabled(void) {
        static int cached = -1;

        if (cached < 0) {
                const char *term = getenv("TERM");

                cached = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && !(term && streq(term, "dumb"));
        }
        return cached;
}

const char *ansi_highlight_green(void) {
        return colors_enabled() ? "\x1B[0;1;32m" : "";
}

const char *ansi_highlight_red(void) {
        return colors_enabled() ? "\x1B[0;1;31m" : "";
}

const char *ansi_highlight(void) {
        return colors_enabled() ? "\x1B[0;1;39m" : "";
}

const char *ansi_normal(void) {
        return colors_enabled() ? "\x1B[0m" : "";
}

char *quote_word(const char *s) {
        static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                   "@%+=:,./-_";
        char *r, *p;

        if (*s && strspn(s, safe) == strlen(s))
                return strdup(s);

        /* single quotes, with ' written as '\'' */
        r = malloc(strlen(s) * 4 + 3);
        if (!r)
                return NULL;
        p = r;
        *p++ = '\'';
        for (; *s; s++) {
                if (*s == '\'')
                        p = stpcpy(p, "'\\''");
                else
                        *p++ = *s;
        }
        *p++ = '\'';
        *p = 0;
        return r;
}

char *format_command_line(char **argv) {
        _cleanup_strv_free_ char **quoted = NULL;

        STRV_FOREACH(a, argv)
                if (strv_consume(&quoted, quote_word(*a)) < 0)
                        return NULL;
        if (!quoted)
                return strdup("");
        return strv_join(quoted, " ");
}
