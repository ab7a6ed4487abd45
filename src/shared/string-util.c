/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "string-util.h"

char *strjoin_real(const char *x, ...) {
        va_list ap;
        size_t l = 0;
        char *r, *p;

        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                l += strlen(t);
        va_end(ap);

        p = r = malloc(l + 1);
        if (!r)
                return NULL;

        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                p = stpcpy(p, t);
        va_end(ap);
        *p = 0;
        return r;
}

int asprintf_safe(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return r;
}

bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

const char *startswith_ptr(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

bool endswith(const char *s, const char *suffix) {
        size_t sl = strlen(s), xl = strlen(suffix);
        return sl >= xl && memcmp(s + sl - xl, suffix, xl) == 0;
}

int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **k = l; *k; k++)
                free(*k);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;
        for (; l && *l; l++)
                n++;
        return n;
}

char **strv_copy(char * const *l) {
        size_t n = strv_length(l);
        char **r = calloc(n + 1, sizeof(char *));

        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                r[i] = strdup(l[i]);
                if (!r[i])
                        return strv_free(r);
        }
        return r;
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        if (!value)
                return -ENOMEM;
        c = reallocarray(*l, n + 2, sizeof(char *));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (streq(*i, s))
                        return true;
        return false;
}

bool strv_equal(char * const *a, char * const *b) {
        for (; a && *a; a++, b++)
                if (!b || !*b || !streq(*a, *b))
                        return false;
        return !b || !*b;
}

char *strv_join(char * const *l, const char *sep) {
        size_t n = 0, k = strlen(sep);
        char *r, *p;

        STRV_FOREACH(s, l)
                n += strlen(*s) + k;
        p = r = malloc(n + 1);
        if (!r)
                return NULL;
        *p = 0;
        STRV_FOREACH(s, l) {
                if (s != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *s);
        }
        return r;
}

bool env_assignment_is_valid(const char *e) {
        const char *eq = strchr(e, '=');

        if (!eq || eq == e)
                return false;
        /* POSIX shells accept [A-Za-z_][A-Za-z0-9_]*; programs see any name without '=' and NUL, but a
         * name with control characters or spaces is a mistake more often than not. */
        if (!(e[0] == '_' || (e[0] >= 'A' && e[0] <= 'Z') || (e[0] >= 'a' && e[0] <= 'z')))
                return false;
        for (const char *p = e; p < eq; p++)
                if (!(*p == '_' || *p == '.' || *p == '-' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= '0' && *p <= '9')))
                        return false;
        return strlen(e) < 128 * 1024;
}

static char **env_find(char **l, const char *key, size_t keylen) {
        for (; l && *l; l++)
                if (strncmp(*l, key, keylen) == 0 && (*l)[keylen] == '=')
                        return l;
        return NULL;
}

int strv_env_set(char ***l, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        char **slot, *c;

        if (!eq)
                return -EINVAL;
        c = strdup(assignment);
        if (!c)
                return -ENOMEM;
        slot = env_find(*l, assignment, eq - assignment);
        if (slot) {
                free(*slot);
                *slot = c;
                return 0;
        }
        return strv_consume(l, c);
}

const char *strv_env_get(char * const *l, const char *key) {
        char **slot = env_find((char **) l, key, strlen(key));
        return slot ? *slot + strlen(key) + 1 : NULL;
}
