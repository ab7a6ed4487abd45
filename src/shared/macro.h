/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* a macro's value as a string literal */
#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Takes the value out of a variable and leaves it "empty", so that a cleanup attribute does not free it:
 * ownership moves visibly. */
#define TAKE_GENERIC(var, type, nullvalue)                    \
        ({                                                    \
                type *_pvar_ = &(var);                        \
                type _var_ = *_pvar_;                         \
                type _nullvalue_ = nullvalue;                 \
                *_pvar_ = _nullvalue_;                        \
                _var_;                                        \
        })
#define TAKE_PTR_TYPE(ptr, type) TAKE_GENERIC(ptr, type, NULL)
#define TAKE_PTR(ptr) TAKE_PTR_TYPE(ptr, typeof(ptr))
#define TAKE_FD(fd) TAKE_GENERIC(fd, int, -EBADF)

#define ASSERT_PTR(p)                   \
        ({                              \
                typeof(p) _p_ = (p);    \
                assert(_p_);            \
                _p_;                    \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)         \
        static inline void func##p(type *p) {           \
                if (*p)                                 \
                        *p = func(*p);                  \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void close_many(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void close_pairp(int (*p)[2]) {
        (*p)[0] = safe_close((*p)[0]);
        (*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Free a NULL-terminated array of strings. */
char **strv_free(char **l);
bool strv_contains(char * const *l, const char *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
static inline const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

#define errno_or_else(fallback) (errno > 0 ? -errno : -(fallback))

#define RET_NERRNO(expr)                        \
        ({                                      \
                long _r_ = (long) (expr);       \
                _r_ < 0 ? -errno : (int) _r_;   \
        })

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                          \
        const char *name##_to_string(type i) {                                          \
                if (i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                    \
                        return NULL;                                                    \
                return name##_table[i];                                                 \
        }                                                                               \
        type name##_from_string(const char *s) {                                        \
                if (!s)                                                                 \
                        return (type) -EINVAL;                                          \
                for (size_t _i = 0; _i < ELEMENTSOF(name##_table); _i++)                \
                        if (name##_table[_i] && streq(name##_table[_i], s))             \
                                return (type) _i;                                       \
                return (type) -EINVAL;                                                  \
        }

#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
#define USEC_INFINITY ((uint64_t) UINT64_MAX)

#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })
#define STR_IN_SET(x, ...) strv_contains(STRV_MAKE(__VA_ARGS__), (x))

static inline void *memdup(const void *p, size_t l) {
        void *r = malloc(l ?: 1);
        if (r && l)
                memcpy(r, p, l);
        return r;
}

#define FOREACH_STRING(x, ...) \
        for (const char *const *_l_ = (const char *const[]) { __VA_ARGS__, NULL }, *x; (x = *_l_); _l_++)

#define IN_SET(x, first, ...)                                                   \
        ({                                                                      \
                typeof(first) _x_ = (x);                                        \
                bool _found_ = false;                                           \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(((typeof(first)[]) { first, __VA_ARGS__ })); _i_++) \
                        if (((typeof(first)[]) { first, __VA_ARGS__ })[_i_] == _x_) { \
                                _found_ = true;                                 \
                                break;                                          \
                        }                                                       \
                _found_;                                                        \
        })

#define PID_FMT "%i"

#define new0(t, n) ((t *) calloc((n) ?: 1, sizeof(t)))
