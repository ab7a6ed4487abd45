/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "spawn-proto.h"

static const char *const step_table[_STEP_MAX] = {
        [STEP_SETUP] = "setup", [STEP_MOUNT] = "mount", [STEP_BIND] = "bind", [STEP_HOSTNAME] = "hostname",
        [STEP_PIVOT] = "pivot_root", [STEP_CGROUP] = "cgroup", [STEP_USER] = "user", [STEP_CHDIR] = "chdir",
        [STEP_PRIVILEGES] = "privileges", [STEP_SECCOMP] = "seccomp", [STEP_EXEC] = "exec", [STEP_INIT] = "init",
        [STEP_NETWORK] = "network",
};

const char *spawn_step_to_string(int step) {
        return step >= 0 && step < _STEP_MAX ? step_table[step] : "?";
}

_noreturn_ _printf_(4, 5) void child_fail(int sync_fd, SpawnStep step, int error, const char *fmt, ...) {
        SyncMessage msg = { .step = step, .error = abs(error) };
        va_list ap;

        errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(msg.text, sizeof msg.text, fmt, ap);
        va_end(ap);
        (void) send(sync_fd, &msg, sizeof msg, MSG_NOSIGNAL);
        _exit(step == STEP_EXEC ? (abs(error) == ENOENT ? 127 : 126) : 125);
}

_Static_assert(SYNC_FDS_MAX <= FDS_MESSAGE_MAX, "a sync message's fds fit one message");

int sync_send(int sync_fd, const SyncMessage *msg, const int *fds, size_t n_fds) {
        struct iovec iov = { .iov_base = (void *) msg, .iov_len = sizeof *msg };
        ssize_t n;

        n = send_with_fds(sync_fd, &iov, 1, fds, n_fds, 0);
        return n < 0 ? (int) n : 0;
}

ssize_t sync_recv(int sync_fd, int flags, SyncMessage *msg, int *fds, size_t max_fds, size_t *ret_n_fds) {
        struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
        ssize_t n;

        n = recv_with_fds(sync_fd, &iov, 1, fds, max_fds, ret_n_fds, flags);
        if (n >= 0)
                msg->text[sizeof msg->text - 1] = 0;
        return n;
}
