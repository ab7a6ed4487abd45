/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char *strjoin_real(const char *x, ...) __attribute__((sentinel));
#define strjoin(a, ...) strjoin_real((a), __VA_ARGS__, NULL)

int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);

bool startswith(const char *s, const char *prefix);
const char *startswith_ptr(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* Replace *p with a copy of s (NULL allowed). */
int free_and_strdup(char **p, const char *s);

size_t strv_length(char * const *l);
char **strv_copy(char * const *l);
int strv_extend(char ***l, const char *value);
int strv_consume(char ***l, char *value);

bool strv_equal(char * const *a, char * const *b);
char *strv_join(char * const *l, const char *sep);

/* "KEY=VALUE" environment blocks: a later assignment of KEY replaces an earlier one. */
bool env_assignment_is_valid(const char *e);
int strv_env_set(char ***l, const char *assignment);
const char *strv_env_get(char * const *l, const char *key);

#define STRV_FOREACH(s, l) for (char * const *s = (l); s && *s; s++)
