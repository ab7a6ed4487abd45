/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "parse-util.h"
#include "string-util.h"

int safe_atou64(const char *s, uint64_t *ret) {
        char *e = NULL;
        unsigned long long v;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &e, 10);
        if (errno > 0)
                return -errno;
        if (*e)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        char *e = NULL;
        long v;

        if (isempty(s))
                return -EINVAL;
        errno = 0;
        v = strtol(s, &e, 10);
        if (*e)
                return -EINVAL;
        if (errno > 0)
                return -errno;
        if (v < INT32_MIN || v > INT32_MAX)
                return -ERANGE;
        *ret = (int) v;
        return 0;
}

/* Parses "<decimal>[.<decimal>]" into an integer part and a fraction scaled to 1e9, so that no
 * floating point rounding turns "0.1g" into a surprise. Returns -EINVAL if there is no number, -ERANGE
 * if it does not fit 64 bits, and the pointer after the number in ret_end. */
static int parse_decimal(const char *s, const char **ret_end, uint64_t *ret_int, uint64_t *ret_frac_nano) {
        uint64_t i = 0, f = 0, scale = 100000000;
        const char *p = s;

        if (!isdigit((unsigned char) *p) && !(*p == '.' && isdigit((unsigned char) p[1])))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = *p - '0';

                if (i > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                i = i * 10 + d;
        }
        if (*p == '.') {
                p++;
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                for (; isdigit((unsigned char) *p); p++) {
                        f += (*p - '0') * scale;
                        scale /= 10;
                }
        }
        *ret_end = p;
        *ret_int = i;
        *ret_frac_nano = f;
        return 0;
}

static int mul_frac(uint64_t i, uint64_t f, uint64_t factor, uint64_t *ret) {
        if (factor != 0 && i > UINT64_MAX / factor)
                return -ERANGE;
        uint64_t v = i * factor;
        /* f/1e9 * factor without overflow for factor up to 2^40 and more */
        uint64_t add = (uint64_t) (((__uint128_t) f * factor) / 1000000000);
        if (v > UINT64_MAX - add)
                return -ERANGE;
        *ret = v + add;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        uint64_t i, f, factor = 1, v;
        const char *p;
        int r;

        if (isempty(s))
                return -EINVAL;
        r = parse_decimal(s, &p, &i, &f);
        if (r < 0)
                return r;
        switch (*p) {
        case 'k': case 'K': factor = 1ULL << 10; p++; break;
        case 'm': case 'M': factor = 1ULL << 20; p++; break;
        case 'g': case 'G': factor = 1ULL << 30; p++; break;
        case 't': case 'T': factor = 1ULL << 40; p++; break;
        case 'b': case 'B': case 0: break;
        default: return -EINVAL;
        }
        if (*p == 'b' || *p == 'B')
                p++;
        else if (factor > 1 && (*p == 'i') && (p[1] == 'B' || p[1] == 'b')) /* "MiB" */
                p += 2;
        if (*p)
                return -EINVAL;
        r = mul_frac(i, f, factor, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} time_units[] = {
        /* longest first, so that "ms" is not read as "m" + "s" */
        { "seconds", USEC_PER_SEC }, { "second", USEC_PER_SEC }, { "minutes", 60 * USEC_PER_SEC },
        { "minute", 60 * USEC_PER_SEC }, { "hours", 3600 * USEC_PER_SEC }, { "hour", 3600 * USEC_PER_SEC },
        { "days", 86400 * USEC_PER_SEC }, { "day", 86400 * USEC_PER_SEC }, { "msec", USEC_PER_MSEC },
        { "usec", 1 }, { "sec", USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC }, { "hr", 3600 * USEC_PER_SEC },
        { "ms", USEC_PER_MSEC }, { "us", 1 }, { "µs", 1 }, { "s", USEC_PER_SEC }, { "m", 60 * USEC_PER_SEC },
        { "h", 3600 * USEC_PER_SEC }, { "d", 86400 * USEC_PER_SEC },
};

int parse_sec(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;
        const char *p = s;
        bool any = false;

        if (isempty(s))
                return -EINVAL;
        if (streq(s, "infinity")) {
                *ret_usec = USEC_INFINITY;
                return 0;
        }
        for (;;) {
                uint64_t i, f, unit = USEC_PER_SEC, v;
                size_t k;
                int r;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                r = parse_decimal(p, &p, &i, &f);
                if (r < 0)
                        return r;
                p += strspn(p, " \t");
                for (k = 0; k < ELEMENTSOF(time_units); k++) {
                        const char *e = startswith_ptr(p, time_units[k].suffix);
                        if (e && !isalpha((unsigned char) *e)) {
                                unit = time_units[k].usec;
                                p = e;
                                break;
                        }
                }
                if (k == ELEMENTSOF(time_units) && *p && !isdigit((unsigned char) *p) && *p != ' ')
                        return -EINVAL;
                /* total stays below USEC_INFINITY, so the subtraction cannot wrap */
                if (mul_frac(i, f, unit, &v) < 0 || v > USEC_INFINITY - 1 - total)
                        return -ERANGE;
                total += v;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

int parse_cpus(const char *s, uint64_t *ret) {
        uint64_t i, f, v;
        const char *p;
        int r;

        if (isempty(s))
                return -EINVAL;
        r = parse_decimal(s, &p, &i, &f);
        if (r < 0)
                return r;
        if (*p)
                return -EINVAL;
        if (mul_frac(i, f, USEC_PER_SEC, &v) < 0)
                return -ERANGE;
        /* systemd's floor is 1ms of CPU time per second: 0.001 CPUs */
        if (v < 1000)
                return -ERANGE;
        *ret = v;
        return 0;
}

#define CPUSET_MAX 8192

int parse_cpuset(const char *s, uint8_t **ret_mask, size_t *ret_size) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;
        const char *p = s;

        if (isempty(s))
                return -EINVAL;
        for (;;) {
                char *e;
                unsigned long a, b;

                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                a = strtoul(p, &e, 10);
                b = a;
                if (*e == '-') {
                        p = e + 1;
                        if (!isdigit((unsigned char) *p))
                                return -EINVAL;
                        b = strtoul(p, &e, 10);
                }
                if (a > b || b >= CPUSET_MAX)
                        return -ERANGE;
                if (b / 8 + 1 > size) {
                        uint8_t *n = realloc(mask, b / 8 + 1);
                        if (!n)
                                return -ENOMEM;
                        memset(n + size, 0, b / 8 + 1 - size);
                        mask = n;
                        size = b / 8 + 1;
                }
                for (unsigned long c = a; c <= b; c++)
                        mask[c / 8] |= 1u << (c % 8);
                if (*e == 0)
                        break;
                if (*e != ',')
                        return -EINVAL;
                p = e + 1;
        }
        *ret_mask = TAKE_PTR(mask);
        *ret_size = size;
        return 0;
}

int format_cpuset(const uint8_t *mask, size_t size, char **ret) {
        char *buf = malloc(size * 8 * 12 + 1), *p;
        bool first = true;

        if (!buf)
                return -ENOMEM;
        p = buf;
        *p = 0;
        for (size_t c = 0; c < size * 8; c++) {
                if (!(mask[c / 8] & (1u << (c % 8))))
                        continue;
                size_t e = c;
                while (e + 1 < size * 8 && (mask[(e + 1) / 8] & (1u << ((e + 1) % 8))))
                        e++;
                p += sprintf(p, "%s%zu", first ? "" : ",", c);
                if (e > c)
                        p += sprintf(p, "-%zu", e);
                first = false;
                c = e;
        }
        *ret = buf;
        return 0;
}

static const char *const signal_names[] = {
        [SIGHUP] = "HUP", [SIGINT] = "INT", [SIGQUIT] = "QUIT", [SIGILL] = "ILL", [SIGTRAP] = "TRAP",
        [SIGABRT] = "ABRT", [SIGBUS] = "BUS", [SIGFPE] = "FPE", [SIGKILL] = "KILL", [SIGUSR1] = "USR1",
        [SIGSEGV] = "SEGV", [SIGUSR2] = "USR2", [SIGPIPE] = "PIPE", [SIGALRM] = "ALRM", [SIGTERM] = "TERM",
        [SIGSTKFLT] = "STKFLT", [SIGCHLD] = "CHLD", [SIGCONT] = "CONT", [SIGSTOP] = "STOP", [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN", [SIGTTOU] = "TTOU", [SIGURG] = "URG", [SIGXCPU] = "XCPU", [SIGXFSZ] = "XFSZ",
        [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF", [SIGWINCH] = "WINCH", [SIGIO] = "IO", [SIGPWR] = "PWR",
        [SIGSYS] = "SYS",
};

const char *signal_to_name(int sig) {
        if (sig <= 0 || (size_t) sig >= ELEMENTSOF(signal_names))
                return NULL;
        return signal_names[sig];
}

int parse_signal(const char *s) {
        int n;

        if (isempty(s))
                return -EINVAL;
        if (isdigit((unsigned char) s[0]) || s[0] == '-' || s[0] == '+') {
                int r = safe_atoi(s, &n);
                if (r < 0)
                        return r;
                return n > 0 && n < _NSIG ? n : -ERANGE;
        }
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 1; i < ELEMENTSOF(signal_names); i++)
                if (signal_names[i] && strcasecmp(signal_names[i], s) == 0)
                        return (int) i;
        if (strncasecmp(s, "RTMIN", 5) == 0) {
                int k = 0;
                if (s[5] == '+' && safe_atoi(s + 6, &k) < 0)
                        return -EINVAL;
                if (s[5] && s[5] != '+')
                        return -EINVAL;
                if (k < 0 || SIGRTMIN + k > SIGRTMAX)
                        return -ERANGE;
                return SIGRTMIN + k;
        }
        return -EINVAL;
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
        if (shares < 2)
                shares = 2;
        if (shares > 262144)
                shares = 262144;
        return 1 + ((shares - 2) * 9999) / 262142;
}

char *format_bytes(char *buf, size_t l, uint64_t b) {
        static const char units[] = "KMGTPE";
        if (b < 1024) {
                snprintf(buf, l, "%" PRIu64 "B", b);
                return buf;
        }
        int i = -1;
        double v = b;
        while (v >= 1024 && i < 5) {
                v /= 1024;
                i++;
        }
        snprintf(buf, l, "%.1f%c", v, units[i]);
        return buf;
}

static char *format_timespan_parts(char *buf, size_t l, uint64_t usec, int max_parts) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } table[] = {
                { "d", 86400 * USEC_PER_SEC }, { "h", 3600 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        char *p = buf;
        int parts = 0;

        if (usec == USEC_INFINITY) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        if (usec == 0) {
                snprintf(buf, l, "0");
                return buf;
        }
        *p = 0;
        for (size_t i = 0; i < ELEMENTSOF(table) && usec > 0 && parts < max_parts; i++) {
                if (usec < table[i].usec)
                        continue;
                uint64_t n = usec / table[i].usec;
                usec %= table[i].usec;
                int k = snprintf(p, l - (p - buf), "%s%" PRIu64 "%s", parts ? " " : "", n, table[i].suffix);
                if (k < 0 || (size_t) k >= l - (p - buf)) {
                        /* leave out a part that does not fit whole: "1s 500" would read as 501 s */
                        *p = 0;
                        break;
                }
                p += k;
                parts++;
        }
        return buf;
}

char *format_timespan(char *buf, size_t l, uint64_t usec) {
        return format_timespan_parts(buf, l, usec, 2);
}

char *format_timespan_exact(char *buf, size_t l, uint64_t usec) {
        return format_timespan_parts(buf, l, usec, INT_MAX);
}
