/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The default filter, in effect Docker's default profile expressed as a deny list: everything that
 * reaches outside the container or changes the host (kernel modules, kexec, reboot, mounts, keyrings,
 * bpf, perf, clocks, accounting, swap, namespaces, personality, handle-based opens, …) fails with
 * EPERM on each ABI an x86_64 kernel runs (x86_64, x32, i386); clone3 fails with ENOSYS so that libcs
 * fall back to clone(), whose namespace flags are checked. Compiled once; the child only loads it. */
int seccomp_default_compile(void **ret_bpf, size_t *ret_size);

/* The names the default filter denies, NULL-terminated; for tests and documentation. */
extern const char *const seccomp_default_denied[];
