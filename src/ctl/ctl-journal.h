/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

struct json_object;

/* The pure parts of "vesselctl logs": time specifications, the output modes, entries as text and
 * JSON. No sd-journal here, so that the unit tests drive it with made-up entries. */

typedef enum LogOutput {
        LOG_OUTPUT_DEFAULT, /* the messages; a container's stderr lines to our stderr, as docker logs */
        LOG_OUTPUT_SHORT,   /* a timestamp, then the message */
        LOG_OUTPUT_CAT,     /* the messages, all to stdout */
        LOG_OUTPUT_JSON,    /* one object per line, every field */
        _LOG_OUTPUT_MAX,
        _LOG_OUTPUT_INVALID = -EINVAL,
} LogOutput;

LogOutput log_output_from_string(const char *s);
const char *log_output_to_string(LogOutput o);

/* --since/--until: "2024-05-07 10:00:01" (also with a 'T', without the seconds, with fractions of a
 * second, or the date alone = its midnight), "10:00:01"/"10:00" (today), in local time unless "Z",
 * " UTC" or "+HH:MM"/"-HHMM" follows; "now", "today", "yesterday", "tomorrow"; "@1715076001[.5]"
 * (seconds since the epoch); "-10min", "+5s", "10min ago", and a bare span "42m" (Docker's
 * "ago"), spans in systemd's forms. now_usec is the realtime clock. -EINVAL for anything else,
 * -ERANGE for a time before the epoch or too far away. */
int parse_time_spec(const char *s, uint64_t now_usec, uint64_t *ret_usec);

/* "2024-05-07T10:00:01.123456+02:00", local time */
#define FORMAT_LOG_TIMESTAMP_MAX 48
char *format_log_timestamp(char *buf, size_t l, uint64_t usec);

/* One entry as the text modes need it. */
typedef struct LogEntry {
        const char *message; /* not NUL-terminated; may hold any byte */
        size_t message_len;
        int priority; /* syslog priority, -1 when the entry has none */
        uint64_t realtime_usec;
} LogEntry;

/* "MESSAGE=..." data → the message; NULL, 0 when data is no MESSAGE field. */
const char *journal_field_value(const void *data, size_t len, const char *field, size_t *ret_len);

/* Prints one entry in a text mode (DEFAULT, SHORT, CAT) with a newline: to out, or, in DEFAULT
 * mode, to err when the priority is LOG_ERR or more urgent (the container's stderr). */
int log_entry_print(const LogEntry *e, LogOutput mode, FILE *out, FILE *err);

/* A journal field, "NAME=VALUE" as sd_journal_enumerate_data() gives it. */
typedef struct JournalData {
        const void *data;
        size_t len;
} JournalData;

/* The JSON object of one entry, like journalctl -o json: every field a string, or an array of
 * byte values when it is not valid UTF-8; a field present more than once an array of those;
 * __CURSOR (if not NULL), __REALTIME_TIMESTAMP and __MONOTONIC_TIMESTAMP (if not UINT64_MAX) as
 * decimal strings. Data without '=' is skipped. */
int journal_entry_to_json(
        const JournalData *fields,
        size_t n,
        const char *cursor,
        uint64_t realtime_usec,
        uint64_t monotonic_usec,
        struct json_object **ret);

bool utf8_is_valid_n(const char *s, size_t len);
