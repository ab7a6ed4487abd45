/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process-util.h"

pid_t clone_with_pidfd(uint64_t flags, int *ret_pidfd) {
        static int have_clone3 = -1;
        int pidfd = -1;
        long r;

        if (ret_pidfd)
                flags |= CLONE_PIDFD;

        if (have_clone3 != 0) {
                struct clone_args ca = {
                        .flags = flags,
                        .pidfd = (uint64_t) (uintptr_t) &pidfd,
                        .exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD,
                };

                r = syscall(SYS_clone3, &ca, sizeof ca);
                if (r >= 0 || errno != ENOSYS) {
                        have_clone3 = 1;
                        if (r > 0 && ret_pidfd)
                                *ret_pidfd = pidfd;
                        return r < 0 ? -errno : (pid_t) r;
                }
                have_clone3 = 0; /* a seccomp filter (Docker's default) or valgrind */
        }

        /* x86_64 order: flags, stack, parent_tid (receives the pidfd), child_tid, tls. Without
         * CLONE_VM the child runs on a copy of our stack, as after fork(). */
        r = syscall(SYS_clone, (unsigned long) flags | ((flags & CLONE_PARENT) ? 0 : SIGCHLD), NULL,
                    ret_pidfd ? &pidfd : NULL, NULL, 0);
        if (r < 0)
                return -errno;
        if (r > 0 && ret_pidfd)
                *ret_pidfd = pidfd;
        return (pid_t) r;
}
