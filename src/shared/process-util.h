/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* fork()-like process creation with namespace flags and, if ret_pidfd is given, CLONE_PIDFD: clone3()
 * where the kernel (and a seccomp filter around us, and valgrind) allow it, else the old clone(), which
 * does the same for these flags. Returns the pid in the parent, 0 in the child, -errno. exit_signal is
 * SIGCHLD unless flags has CLONE_PARENT (which inherits the caller's). */
pid_t clone_with_pidfd(uint64_t flags, int *ret_pidfd);
