/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"

#include <json-c/json.h>

static inline void json_object_putp(struct json_object **j) {
        if (*j)
                (void) json_object_put(*j);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

/* A table of strings printed with each column as wide as its widest cell; the last column is not
 * padded, so lines carry no trailing blanks. */
typedef struct Table Table;

Table *table_new_internal(const char *first, ...) __attribute__((sentinel));
#define table_new(...) table_new_internal(__VA_ARGS__, NULL)
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/* Adds one row: exactly as many cells as columns; NULL prints as "-". */
int table_add_row(Table *t, ...);
size_t table_get_rows(const Table *t);
/* Sorts the rows by the given column, strcmp order. */
void table_sort(Table *t, size_t column);
int table_print(const Table *t, FILE *f);

/* Prints a json-c object followed by a newline: pretty on a terminal, one line otherwise. */
int json_print(struct json_object *j, FILE *f);

/* "Tue 2024-05-07 10:00:01 UTC" in local time; NULL for 0 or UINT64_MAX (never). */
#define FORMAT_TIMESTAMP_MAX 64
char *format_timestamp(char *buf, size_t l, uint64_t usec);
/* "2min 3s ago" (whole seconds past one second), "250ms ago", "5s left" for the future; NULL for
 * 0 or UINT64_MAX. */
#define FORMAT_TIMESTAMP_RELATIVE_MAX (FORMAT_TIMESPAN_MAX + 8)
char *format_timestamp_relative(char *buf, size_t l, uint64_t usec, uint64_t now_usec);

uint64_t now_realtime_usec(void);

/* ANSI colors when stdout is a terminal and $NO_COLOR/$TERM=dumb do not say otherwise. */
bool colors_enabled(void);
const char *ansi_highlight_green(void);
const char *ansi_highlight_red(void);
const char *ansi_highlight(void);
const char *ansi_normal(void);

/* Quotes one word for a shell-like display of a command line, if it needs it. Returns NULL on OOM. */
char *quote_word(const char *s);
/* The command line for people: words joined by blanks, quoted where needed. */
char *format_command_line(char **argv);
