/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "ctl-journal.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"

static const char *const log_output_table[_LOG_OUTPUT_MAX] = {
        [LOG_OUTPUT_DEFAULT] = "default",
        [LOG_OUTPUT_SHORT] = "short",
        [LOG_OUTPUT_CAT] = "cat",
        [LOG_OUTPUT_JSON] = "json",
};

LogOutput log_output_from_string(const char *s) {
        if (!s)
                return _LOG_OUTPUT_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(log_output_table); i++)
                if (streq(log_output_table[i], s))
                        return (LogOutput) i;
        return _LOG_OUTPUT_INVALID;
}

const char *log_output_to_string(LogOutput o) {
        if (o < 0 || o >= _LOG_OUTPUT_MAX)
                return NULL;
        return log_output_table[o];
}

/* ---- time specifications ---------------------------------------------------------------------- */

/* "1715076001", "1715076001.25" → µs */
static int parse_epoch(const char *s, uint64_t *ret) {
        uint64_t sec = 0, frac = 0, scale = USEC_PER_SEC;
        const char *p = s;

        if (!isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                if (sec > (UINT64_MAX / USEC_PER_SEC - 9) / 10)
                        return -ERANGE;
                sec = sec * 10 + (uint64_t) (*p - '0');
        }
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++)
                        if (scale > 1) {
                                scale /= 10;
                                frac += (uint64_t) (*p - '0') * scale;
                        }
        }
        if (*p)
                return -EINVAL;
        *ret = sec * USEC_PER_SEC + frac;
        return 0;
}

/* ".123" after the seconds → µs; moves *p past it */
static uint64_t parse_fraction(const char **p) {
        uint64_t frac = 0, scale = USEC_PER_SEC;
        const char *q = *p;

        if (*q != '.' || !isdigit((unsigned char) q[1]))
                return 0;
        for (q++; isdigit((unsigned char) *q); q++)
                if (scale > 1) {
                        scale /= 10;
                        frac += (uint64_t) (*q - '0') * scale;
                }
        *p = q;
        return frac;
}

/* What may follow a time: nothing (local time), "Z"/"UTC" (with or without a blank before it),
 * "+HH:MM", "-HHMM", "+HH". Returns -EINVAL for anything else. */
static int parse_zone(const char *p, bool *ret_utc, int64_t *ret_offset_sec) {
        unsigned h, m = 0;
        int n = 0;
        char sign;

        *ret_utc = false;
        *ret_offset_sec = 0;
        if (!*p)
                return 0;
        if (*p == ' ' && !*++p)
                return -EINVAL;
        if (streq(p, "Z") || streq(p, "UTC") || streq(p, "GMT")) {
                *ret_utc = true;
                return 0;
        }
        if (*p != '+' && *p != '-')
                return -EINVAL;
        sign = *p++;
        if (!isdigit((unsigned char) p[0]) || !isdigit((unsigned char) p[1]))
                return -EINVAL;
        h = (unsigned) (p[0] - '0') * 10 + (unsigned) (p[1] - '0');
        p += 2;
        if (*p == ':')
                p++;
        if (*p) {
                if (sscanf(p, "%2u%n", &m, &n) != 1 || n != 2 || p[2])
                        return -EINVAL;
        }
        if (h > 14 || m > 59)
                return -EINVAL;
        *ret_utc = true;
        *ret_offset_sec = (int64_t) (h * 3600 + m * 60) * (sign == '-' ? -1 : 1);
        return 0;
}

static int parse_absolute(const char *s, uint64_t now_usec, uint64_t *ret) {
        static const struct {
                const char *format;
                bool date, seconds;
        } formats[] = {
                { "%Y-%m-%d %H:%M:%S", true, true },
                { "%Y-%m-%dT%H:%M:%S", true, true },
                { "%Y-%m-%d %H:%M", true, false },
                { "%Y-%m-%dT%H:%M", true, false },
                { "%Y-%m-%d", true, false },
                { "%H:%M:%S", false, true },
                { "%H:%M", false, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = {}, today;
                const char *e;
                int64_t offset;
                uint64_t frac = 0;
                time_t t, now = (time_t) (now_usec / USEC_PER_SEC);
                bool utc;

                e = strptime(s, formats[i].format, &tm);
                if (!e)
                        continue;
                if (formats[i].seconds)
                        frac = parse_fraction(&e);
                /* a date alone takes no zone: "2024-05-07-0200" is no date we want to guess at */
                if (parse_zone(e, &utc, &offset) < 0 || (*e && i == 4))
                        continue;

                if (!formats[i].date) {
                        if (!(utc ? gmtime_r(&now, &today) : localtime_r(&now, &today)))
                                return -EINVAL;
                        tm.tm_year = today.tm_year;
                        tm.tm_mon = today.tm_mon;
                        tm.tm_mday = today.tm_mday;
                }
                tm.tm_isdst = -1;
                errno = 0;
                t = utc ? timegm(&tm) : mktime(&tm);
                if (t == (time_t) -1 && errno != 0)
                        return -ERANGE;
                t -= (time_t) offset;
                if (t < 0)
                        return -ERANGE;
                *ret = (uint64_t) t * USEC_PER_SEC + frac;
                return 0;
        }
        return -EINVAL;
}

static int local_midnight(uint64_t now_usec, int day_offset, uint64_t *ret) {
        time_t now = (time_t) (now_usec / USEC_PER_SEC), t;
        struct tm tm;

        if (!localtime_r(&now, &tm))
                return -EINVAL;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_mday += day_offset;
        tm.tm_isdst = -1;
        t = mktime(&tm);
        if (t < 0)
                return -ERANGE;
        *ret = (uint64_t) t * USEC_PER_SEC;
        return 0;
}

static int relative(uint64_t now_usec, const char *span, int sign, uint64_t *ret) {
        uint64_t d;
        int r;

        r = parse_sec(span, &d);
        if (r < 0)
                return r;
        if (d == USEC_INFINITY)
                return -ERANGE;
        if (sign < 0) {
                if (d > now_usec)
                        return -ERANGE;
                *ret = now_usec - d;
        } else {
                if (d > UINT64_MAX - 1 - now_usec)
                        return -ERANGE;
                *ret = now_usec + d;
        }
        return 0;
}

int parse_time_spec(const char *s, uint64_t now_usec, uint64_t *ret_usec) {
        int r;

        if (isempty(s))
                return -EINVAL;

        if (streq(s, "now")) {
                *ret_usec = now_usec;
                return 0;
        }
        if (streq(s, "today"))
                return local_midnight(now_usec, 0, ret_usec);
        if (streq(s, "yesterday"))
                return local_midnight(now_usec, -1, ret_usec);
        if (streq(s, "tomorrow"))
                return local_midnight(now_usec, 1, ret_usec);

        if (s[0] == '@')
                return parse_epoch(s + 1, ret_usec);
        if (s[0] == '-' || s[0] == '+')
                return relative(now_usec, s + 1, s[0] == '-' ? -1 : 1, ret_usec);
        if (endswith(s, " ago")) {
                _cleanup_free_ char *span = strndup(s, strlen(s) - 4);

                if (!span)
                        return -ENOMEM;
                return relative(now_usec, span, -1, ret_usec);
        }

        r = parse_absolute(s, now_usec, ret_usec);
        if (r != -EINVAL)
                return r;

        /* Docker's --since 42m: a span back from now */
        return relative(now_usec, s, -1, ret_usec);
}

char *format_log_timestamp(char *buf, size_t l, uint64_t usec) {
        char date[32], zone[8];
        time_t sec = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == UINT64_MAX || !localtime_r(&sec, &tm))
                return NULL;
        if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
            strftime(zone, sizeof zone, "%z", &tm) == 0)
                return NULL;
        /* "+0200" → "+02:00", as RFC 3339 has it */
        if (strlen(zone) == 5)
                snprintf(buf, l, "%s.%06" PRIu64 "%.3s:%s", date, usec % USEC_PER_SEC, zone, zone + 3);
        else
                snprintf(buf, l, "%s.%06" PRIu64 "%s", date, usec % USEC_PER_SEC, zone);
        return buf;
}

/* ---- entries ---------------------------------------------------------------------------------- */

const char *journal_field_value(const void *data, size_t len, const char *field, size_t *ret_len) {
        size_t n = strlen(field);

        if (len <= n || memcmp(data, field, n) != 0 || ((const char *) data)[n] != '=') {
                if (ret_len)
                        *ret_len = 0;
                return NULL;
        }
        if (ret_len)
                *ret_len = len - n - 1;
        return (const char *) data + n + 1;
}

int log_entry_print(const LogEntry *e, LogOutput mode, FILE *out, FILE *err) {
        FILE *f = out;

        if (mode == LOG_OUTPUT_DEFAULT && e->priority >= 0 && e->priority <= LOG_ERR)
                f = err;

        if (mode == LOG_OUTPUT_SHORT) {
                char ts[FORMAT_LOG_TIMESTAMP_MAX];

                fputs(format_log_timestamp(ts, sizeof ts, e->realtime_usec) ?: "-", f);
                fputc(' ', f);
        }
        if (e->message_len > 0)
                fwrite(e->message, 1, e->message_len, f);
        if (e->message_len == 0 || e->message[e->message_len - 1] != '\n')
                fputc('\n', f);
        /* one entry at a time: the order of stdout and stderr lines stays the journal's */
        return fflush(f) == 0 ? 0 : -errno;
}

bool utf8_is_valid_n(const char *str, size_t len) {
        const unsigned char *s = (const unsigned char *) str;
        size_t i = 0;

        while (i < len) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                        n = 1;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        n = 2;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        n = 3;
                        cp = c & 0x07;
                } else
                        return false;
                if (i + n >= len)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                /* overlong forms, surrogates, beyond U+10FFFF */
                if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += n + 1;
        }
        return true;
}

static struct json_object *value_to_json(const char *v, size_t len) {
        struct json_object *a;

        if (utf8_is_valid_n(v, len))
                return json_object_new_string_len(v, (int) len);

        /* journalctl's form for binary data: the bytes as numbers */
        a = json_object_new_array();
        if (!a)
                return NULL;
        for (size_t i = 0; i < len; i++)
                if (json_object_array_add(a, json_object_new_int((unsigned char) v[i])) < 0) {
                        json_object_put(a);
                        return NULL;
                }
        return a;
}

static bool same_name(const JournalData *a, size_t na, const JournalData *b) {
        const char *eq = memchr(b->data, '=', b->len);

        return eq && (size_t) (eq - (const char *) b->data) == na && memcmp(a->data, b->data, na) == 0;
}

static int add_string(struct json_object *o, const char *key, const char *value) {
        struct json_object *v = json_object_new_string(value);

        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int journal_entry_to_json(
        const JournalData *fields,
        size_t n,
        const char *cursor,
        uint64_t realtime_usec,
        uint64_t monotonic_usec,
        struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        char num[32];

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;

        if (cursor && add_string(o, "__CURSOR", cursor) < 0)
                return -ENOMEM;
        if (realtime_usec != UINT64_MAX) {
                snprintf(num, sizeof num, "%" PRIu64, realtime_usec);
                if (add_string(o, "__REALTIME_TIMESTAMP", num) < 0)
                        return -ENOMEM;
        }
        if (monotonic_usec != UINT64_MAX) {
                snprintf(num, sizeof num, "%" PRIu64, monotonic_usec);
                if (add_string(o, "__MONOTONIC_TIMESTAMP", num) < 0)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = NULL;
                struct json_object *v = NULL;
                const char *eq = memchr(fields[i].data, '=', fields[i].len);
                size_t nl, count = 0;
                bool seen = false;

                if (!eq || eq == fields[i].data)
                        continue;
                nl = (size_t) (eq - (const char *) fields[i].data);

                /* the first of a name gathers all of them */
                for (size_t j = 0; j < i && !seen; j++)
                        seen = same_name(fields + i, nl, fields + j);
                if (seen)
                        continue;
                for (size_t j = i; j < n; j++)
                        if (same_name(fields + i, nl, fields + j))
                                count++;

                name = strndup(fields[i].data, nl);
                if (!name)
                        return -ENOMEM;

                if (count == 1)
                        v = value_to_json(eq + 1, fields[i].len - nl - 1);
                else {
                        v = json_object_new_array();
                        for (size_t j = i; v && j < n; j++) {
                                struct json_object *x;

                                if (!same_name(fields + i, nl, fields + j))
                                        continue;
                                x = value_to_json(
                                        (const char *) fields[j].data + nl + 1, fields[j].len - nl - 1);
                                if (!x || json_object_array_add(v, x) < 0) {
                                        json_object_put(x);
                                        json_object_put(v);
                                        v = NULL;
                                }
                        }
                }
                if (!v || json_object_object_add(o, name, v) < 0) {
                        json_object_put(v);
                        return -ENOMEM;
                }
        }

        *ret = TAKE_PTR(o);
        return 0;
}
