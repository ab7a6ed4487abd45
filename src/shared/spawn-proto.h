/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sync socket between vesseld and a process it starts in a container (the container's first
 * process, which is vessel-init in its setup mode, or a process of ExecContainer): typed failure
 * messages one way, the go (with fds) the other. Plain libc: built into vesseld and into the static
 * vessel-init alike. */

#include <stddef.h>
#include <stdint.h>

#include "macro.h"

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

/* vesseld to the container's first process: its description (setup-spec.h, a memfd and the fds it
 * names), then the go once the scope's job is done */
#define SYNC_GO (-1)
#define SYNC_SPEC (-2)

typedef struct SyncMessage {
        int32_t step; /* a SpawnStep for a failure; SYNC_GO, SYNC_SPEC from vesseld */
        int32_t error; /* positive errno */
        char text[480];
} SyncMessage;

const char *spawn_step_to_string(int step);

/* Sends the failure {step, error, text} and exits: 127/126 for a command not found/not executable (as
 * shells do), else 125. */
_noreturn_ _printf_(4, 5) void child_fail(int sync_fd, SpawnStep step, int error, const char *fmt, ...);

/* A message on a sync socket, with up to SYNC_FDS_MAX fds (SCM_RIGHTS). Returns -errno. */
#define SYNC_FDS_MAX 16
int sync_send(int sync_fd, const SyncMessage *msg, const int *fds, size_t n_fds);

/* Receives one message (flags: MSG_DONTWAIT, or 0 to wait) and up to max_fds fds (the rest are
 * closed). Returns its size, 0 at EOF, or -errno. */
ssize_t sync_recv(int sync_fd, int flags, SyncMessage *msg, int *fds, size_t max_fds, size_t *ret_n_fds);
