/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the container's first process and a process exec'd into a container share: the typed failure
 * messages of the sync socket, and the last steps before the command runs. */

#include "container.h"

typedef enum SpawnStep {
        STEP_SETUP,
        STEP_MOUNT,
        STEP_BIND,
        STEP_HOSTNAME,
        STEP_PIVOT,
        STEP_CGROUP,
        STEP_USER,
        STEP_CHDIR,
        STEP_PRIVILEGES,
        STEP_SECCOMP,
        STEP_EXEC,
        STEP_INIT,
        STEP_NETWORK,
        _STEP_MAX,
} SpawnStep;

typedef struct SyncMessage {
        int32_t step;
        int32_t error; /* positive errno */
        char text[480];
} SyncMessage;

_noreturn_ _printf_(4, 5) void child_fail(int sync_fd, SpawnStep step, int error, const char *fmt, ...);

/* A message on a sync socket, with up to SYNC_FDS_MAX fds (SCM_RIGHTS). Returns -errno. */
#define SYNC_FDS_MAX 9
int sync_send(int sync_fd, const SyncMessage *msg, const int *fds, size_t n_fds);

typedef struct AppParams {
        char **argv;
        char **extra_env;              /* on top of the container's environment */
        const char *user;              /* NULL: the container's */
        const char *working_directory; /* NULL: the container's */
        int stdio[3];
        bool setsid;
        bool report_exec_on_stderr;
        int userns_fd; /* PrivateUsers: join this user namespace as its root first; -EBADF: none */
        uint16_t tty_rows, tty_columns;
} AppParams;

int userns_make(uint32_t base, int *ret_fd);

_noreturn_ void child_exec_app(int sync_fd, Container *c, const AppParams *p);

/* Keeps only the container's capability set in the bounding set. */
void child_drop_bounding(int sync_fd, const Settings *s);

const char *spawn_step_to_string(int step);
