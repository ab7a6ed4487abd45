/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

int sync_send(int sync_fd, const SyncMessage *msg, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) msg, .iov_len = sizeof *msg };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n_fds > SYNC_FDS_MAX)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *cm;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        return sendmsg(sync_fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

ssize_t sync_recv(int sync_fd, int flags, SyncMessage *msg, int *fds, size_t max_fds, size_t *ret_n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = msg, .iov_len = sizeof *msg };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        size_t n_fds = 0;
        ssize_t n;

        *ret_n_fds = 0;
        n = recvmsg(sync_fd, &mh, flags | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int *in = (int *) CMSG_DATA(c);

                        for (size_t i = 0; i < k; i++)
                                if (n_fds < max_fds)
                                        fds[n_fds++] = in[i];
                                else
                                        (void) close(in[i]);
                }
        msg->text[sizeof msg->text - 1] = 0;
        *ret_n_fds = n_fds;
        return n;
}
