/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The last steps before a command runs in a container, for its app (in vessel-init's setup) and for a
 * process of ExecContainer (in vesseld's child): stdio, user, environment, working directory,
 * no_new_privs, seccomp, exec. Plain libc: built into vesseld and into the static vessel-init alike. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* The tty group of most images (Debian's, busybox's), as the container's devpts gives its ptys. */
#define TTY_GID 5

/* What a container gives every process that runs in it. */
typedef struct AppDefaults {
        const char *hostname;          /* HOSTNAME= */
        char **environment;            /* the container's Environment= */
        const char *user;              /* the container's User=, NULL: root */
        const char *working_directory; /* NULL: / */
        uint64_t capabilities;         /* the bounding set to keep, a mask of CAP_* bits */
        const void *seccomp;           /* a BPF program (struct sock_filter[]), NULL: none */
        size_t seccomp_size;           /* in bytes */
} AppDefaults;

typedef struct AppParams {
        char **argv;
        char **extra_env;              /* on top of the container's environment */
        const char *user;              /* NULL: the container's */
        const char *working_directory; /* NULL: the container's */
        int stdio[3];
        bool setsid;
        bool controlling_tty; /* stdio[0] is a terminal, to become the new session's (needs setsid) */
        /* Failures the process's own stderr gets too (besides the sync socket): an exec that fails
         * (127/126), as a shell reports it; with report_setup_on_stderr also the user and chdir steps,
         * for a terminal, whose caller sees nothing else (without one they come back as errors). */
        bool report_exec_on_stderr;
        bool report_setup_on_stderr;
        int userns_fd; /* PrivateUsers: join this user namespace as its root first; -EBADF: none */
        uint16_t tty_rows, tty_columns;
} AppParams;

/* A pty of the container's own devpts (its /dev/pts/ptmx, we being in its mount namespace), unlocked,
 * with the given size (0: the kernel's) and, where uid_base is not 0 (PrivateUsers), owned by the
 * container's root and tty group as one opened inside would be. The master goes to *ret_master; the
 * other side is returned; both close-on-exec. Failures end us through child_fail(). */
int child_open_pty(int sync_fd, uint16_t rows, uint16_t columns, uint32_t uid_base, int *ret_master);

/* Keeps only these capabilities in the bounding set. */
void child_drop_bounding(int sync_fd, uint64_t keep);

_noreturn_ void child_exec_app(int sync_fd, const AppDefaults *d, const AppParams *p);
