/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/ctl/ctl-journal.c (in vesselctl_lib), src/shared (parse_sec) and json-c. No journal:
 * the entries are made up. Times are checked in UTC and in a zone with an offset. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ctl-journal.h"
#include "output.h"
#include "string-util.h"

#define SEC UINT64_C(1000000)
/* 2023-11-14 22:13:20 UTC */
#define NOW (UINT64_C(1700000000) * SEC)

static void utc(void) {
        setenv("TZ", "UTC", 1);
        tzset();
}

static uint64_t parse(const char *s) {
        uint64_t t = 0;
        int r = parse_time_spec(s, NOW, &t);

        cr_assert(eq(int, r, 0), "parse_time_spec(\"%s\") = %d", s, r);
        return t;
}

TestSuite(ctl_logs_time, .init = utc);

Test(ctl_logs_time, parses_absolute_times) {
        cr_assert(eq(u64, parse("2023-11-14 22:13:20"), NOW));
        cr_assert(eq(u64, parse("2023-11-14T22:13:20"), NOW));
        cr_assert(eq(u64, parse("2023-11-14 22:13"), NOW - 20 * SEC));
        cr_assert(eq(u64, parse("2023-11-14"), NOW - (22 * 3600 + 13 * 60 + 20) * SEC));
        cr_assert(eq(u64, parse("2023-11-14 22:13:20.25"), NOW + SEC / 4));
        cr_assert(eq(u64, parse("2023-11-14T22:13:20.000001"), NOW + 1));
}

Test(ctl_logs_time, parses_times_of_today) {
        cr_assert(eq(u64, parse("22:13:20"), NOW));
        cr_assert(eq(u64, parse("22:13"), NOW - 20 * SEC));
        cr_assert(eq(u64, parse("00:00"), NOW - (22 * 3600 + 13 * 60 + 20) * SEC));
}

Test(ctl_logs_time, parses_zones) {
        cr_assert(eq(u64, parse("2023-11-14T22:13:20Z"), NOW));
        cr_assert(eq(u64, parse("2023-11-14 22:13:20 UTC"), NOW));
        cr_assert(eq(u64, parse("2023-11-15T00:13:20+02:00"), NOW));
        cr_assert(eq(u64, parse("2023-11-14T21:13:20-0100"), NOW));
        cr_assert(eq(u64, parse("2023-11-15 00:13:20 +02"), NOW));

        /* local time follows TZ */
        setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1); /* Europe/Berlin, without tzdata */
        tzset();
        cr_assert(eq(u64, parse("2023-11-14 23:13:20"), NOW));
        cr_assert(eq(u64, parse("2023-11-14T22:13:20Z"), NOW));
        cr_assert(eq(u64, parse("today"), NOW - (23 * 3600 + 13 * 60 + 20) * SEC));
}

Test(ctl_logs_time, parses_relative_times) {
        cr_assert(eq(u64, parse("now"), NOW));
        cr_assert(eq(u64, parse("-10min"), NOW - 600 * SEC));
        cr_assert(eq(u64, parse("+5s"), NOW + 5 * SEC));
        cr_assert(eq(u64, parse("-1h 30min"), NOW - 5400 * SEC));
        cr_assert(eq(u64, parse("10min ago"), NOW - 600 * SEC));
        /* Docker's --since 42m */
        cr_assert(eq(u64, parse("42m"), NOW - 42 * 60 * SEC));
        cr_assert(eq(u64, parse("90"), NOW - 90 * SEC));
        cr_assert(eq(u64, parse("-500ms"), NOW - 500 * 1000));
}

Test(ctl_logs_time, parses_days) {
        uint64_t midnight = NOW - (22 * 3600 + 13 * 60 + 20) * SEC;

        cr_assert(eq(u64, parse("today"), midnight));
        cr_assert(eq(u64, parse("yesterday"), midnight - 86400 * SEC));
        cr_assert(eq(u64, parse("tomorrow"), midnight + 86400 * SEC));
}

Test(ctl_logs_time, parses_epoch_seconds) {
        cr_assert(eq(u64, parse("@1700000000"), NOW));
        cr_assert(eq(u64, parse("@1700000000.5"), NOW + SEC / 2));
        cr_assert(eq(u64, parse("@0"), 0));
}

Test(ctl_logs_time, rejects_what_it_does_not_know) {
        uint64_t t;

        FOREACH_STRING(s, "", "bogus", "@", "@12x", "@-5", "2023-13-45", "2023-11-14 25:00", "22:13:20 EST",
                       "2023-11-14 22:13:20 +2500", "2023-11-14Z", "10 lightyears ago", "-", "--5s", "infinity") {
                int r = parse_time_spec(s, NOW, &t);
                cr_assert(lt(int, r, 0), "\"%s\" parsed as %llu", s, (unsigned long long) t);
        }
        cr_assert(eq(int, parse_time_spec("-100000d", NOW, &t), -ERANGE));
}

/* ---- output ----------------------------------------------------------------------------------- */

Test(ctl_logs_time, formats_timestamps_in_rfc3339) {
        char buf[FORMAT_LOG_TIMESTAMP_MAX];

        cr_assert(eq(
                str, format_log_timestamp(buf, sizeof buf, NOW + 123), "2023-11-14T22:13:20.000123+00:00"));
        setenv("TZ", "IST-5:30", 1); /* Asia/Kolkata */
        tzset();
        cr_assert(eq(str, format_log_timestamp(buf, sizeof buf, NOW), "2023-11-15T03:43:20.000000+05:30"));
        cr_assert(eq(ptr, format_log_timestamp(buf, sizeof buf, UINT64_MAX), NULL));
}

Test(ctl_logs_output, names_modes) {
        cr_assert(eq(int, log_output_from_string("short"), LOG_OUTPUT_SHORT));
        cr_assert(eq(int, log_output_from_string("cat"), LOG_OUTPUT_CAT));
        cr_assert(eq(int, log_output_from_string("json"), LOG_OUTPUT_JSON));
        cr_assert(eq(int, log_output_from_string("verbose"), -EINVAL));
        cr_assert(eq(int, log_output_from_string(NULL), -EINVAL));
        cr_assert(eq(str, (char *) log_output_to_string(LOG_OUTPUT_CAT), "cat"));
}

Test(ctl_logs_output, finds_field_values) {
        static const char d[] = "MESSAGE=hello=world";
        size_t l;

        cr_assert(eq(str, (char *) journal_field_value(d, strlen(d), "MESSAGE", &l), "hello=world"));
        cr_assert(eq(sz, l, 11));
        cr_assert(eq(ptr, (void *) journal_field_value(d, strlen(d), "MESSAG", &l), NULL));
        cr_assert(eq(ptr, (void *) journal_field_value(d, strlen(d), "PRIORITY", &l), NULL));
        cr_assert(eq(ptr, (void *) journal_field_value("MESSAGE", 7, "MESSAGE", &l), NULL));
        cr_assert(not(eq(ptr, (void *) journal_field_value("MESSAGE=", 8, "MESSAGE", &l), NULL)));
        cr_assert(eq(sz, l, 0));
}

static char *print(const LogEntry *e, LogOutput mode, char **ret_err) {
        char *out = NULL, *err = NULL;
        size_t n = 0, k = 0;
        FILE *fo = open_memstream(&out, &n), *fe = open_memstream(&err, &k);

        cr_assert(eq(int, log_entry_print(e, mode, fo, fe), 0));
        fclose(fo);
        fclose(fe);
        if (ret_err)
                *ret_err = err;
        else
                free(err);
        return out;
}

Test(ctl_logs_output, splits_stdout_and_stderr_like_docker_logs) {
        LogEntry out = { "to stdout", 9, LOG_INFO, NOW }, err = { "to stderr", 9, LOG_ERR, NOW };
        _cleanup_free_ char *a = NULL, *a_err = NULL, *b = NULL, *b_err = NULL, *c = NULL, *c_err = NULL;

        a = print(&out, LOG_OUTPUT_DEFAULT, &a_err);
        cr_assert(eq(str, a, "to stdout\n"));
        cr_assert(eq(str, a_err, ""));
        b = print(&err, LOG_OUTPUT_DEFAULT, &b_err);
        cr_assert(eq(str, b, ""));
        cr_assert(eq(str, b_err, "to stderr\n"));
        /* cat: everything to stdout */
        c = print(&err, LOG_OUTPUT_CAT, &c_err);
        cr_assert(eq(str, c, "to stderr\n"));
        cr_assert(eq(str, c_err, ""));
}

Test(ctl_logs_output, short_adds_the_timestamp, .init = utc) {
        LogEntry e = { "line", 4, LOG_INFO, NOW + 5 };
        _cleanup_free_ char *s = NULL;

        s = print(&e, LOG_OUTPUT_SHORT, NULL);
        cr_assert(eq(str, s, "2023-11-14T22:13:20.000005+00:00 line\n"));
}

Test(ctl_logs_output, keeps_bytes_and_one_newline) {
        LogEntry bin = { "a\0b\x01", 4, -1, NOW }, nl = { "x\n", 2, -1, NOW }, empty = { "", 0, -1, NOW };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        a = print(&bin, LOG_OUTPUT_DEFAULT, NULL);
        cr_assert(eq(int, memcmp(a, "a\0b\x01\n", 5), 0));
        b = print(&nl, LOG_OUTPUT_CAT, NULL);
        cr_assert(eq(str, b, "x\n"));
        c = print(&empty, LOG_OUTPUT_CAT, NULL);
        cr_assert(eq(str, c, "\n"));
}

Test(ctl_logs_output, validates_utf8) {
        cr_assert(utf8_is_valid_n("hello", 5));
        cr_assert(utf8_is_valid_n("gr\xc3\xbc\xc3\x9f", 6));
        cr_assert(utf8_is_valid_n("\xe2\x82\xac", 3));
        cr_assert(utf8_is_valid_n("\xf0\x9f\x98\x80", 4));
        cr_assert(not(utf8_is_valid_n("\xc3", 1)));
        cr_assert(not(utf8_is_valid_n("\xff", 1)));
        cr_assert(not(utf8_is_valid_n("\xc0\x80", 2)));     /* overlong */
        cr_assert(not(utf8_is_valid_n("\xed\xa0\x80", 3))); /* surrogate */
        cr_assert(not(utf8_is_valid_n("\xe2\x82", 2)));
}

static JournalData field(const char *s) {
        return (JournalData) { s, strlen(s) };
}

Test(ctl_logs_output, builds_journalctl_style_json) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *v;
        JournalData f[] = {
                field("MESSAGE=hi \"there\""),
                field("CONTAINER_NAME=web"),
                field("PRIORITY=6"),
                field("TAG=a"),
                { "BIN=\xff\x01", 6 },
                field("TAG=b"),
                field("noequals"),
        };

        cr_assert(eq(int, journal_entry_to_json(f, ELEMENTSOF(f), "s=abc", NOW, 42, &o), 0));
        cr_assert(eq(
                str, (char *) json_object_get_string(json_object_object_get(o, "MESSAGE")), "hi \"there\""));
        cr_assert(eq(
                str, (char *) json_object_get_string(json_object_object_get(o, "CONTAINER_NAME")), "web"));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_object_get(o, "PRIORITY")), "6"));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_object_get(o, "__CURSOR")), "s=abc"));
        cr_assert(
                eq(str,
                   (char *) json_object_get_string(json_object_object_get(o, "__REALTIME_TIMESTAMP")),
                   "1700000000000000"));
        cr_assert(
                eq(str,
                   (char *) json_object_get_string(json_object_object_get(o, "__MONOTONIC_TIMESTAMP")),
                   "42"));

        /* repeated: an array, in order */
        v = json_object_object_get(o, "TAG");
        cr_assert(json_object_is_type(v, json_type_array));
        cr_assert(eq(sz, json_object_array_length(v), 2));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_array_get_idx(v, 0)), "a"));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_array_get_idx(v, 1)), "b"));

        /* not UTF-8: the bytes */
        v = json_object_object_get(o, "BIN");
        cr_assert(json_object_is_type(v, json_type_array));
        cr_assert(eq(sz, json_object_array_length(v), 2));
        cr_assert(eq(int, json_object_get_int(json_object_array_get_idx(v, 0)), 255));
        cr_assert(eq(int, json_object_get_int(json_object_array_get_idx(v, 1)), 1));

        cr_assert(eq(ptr, json_object_object_get(o, "noequals"), NULL));
        cr_assert(eq(int, json_object_object_length(o), 8));
}

Test(ctl_logs_output, leaves_out_unknown_timestamps) {
        _cleanup_json_ struct json_object *o = NULL;
        JournalData f[] = { field("MESSAGE=x") };

        cr_assert(eq(int, journal_entry_to_json(f, 1, NULL, UINT64_MAX, UINT64_MAX, &o), 0));
        cr_assert(eq(int, json_object_object_length(o), 1));
}
