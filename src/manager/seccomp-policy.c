/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "seccomp-policy.h"

const char *const seccomp_default_denied[] = {
        /* modules and the running kernel */
        "init_module", "finit_module", "delete_module", "create_module", "kexec_load", "kexec_file_load",
        "reboot",
        /* swap, accounting, quotas */
        "swapon", "swapoff", "acct", "quotactl", "quotactl_fd",
        /* mounts */
        "mount", "umount", "umount2", "pivot_root", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
        "move_mount", "mount_setattr",
        /* keyrings */
        "add_key", "request_key", "keyctl",
        /* kernel tracing and programs */
        "bpf", "perf_event_open", "userfaultfd", "lookup_dcookie", "kcmp", "process_vm_readv",
        "process_vm_writev", "ptrace",
        /* files by handle bypass the mount namespace */
        "open_by_handle_at", "name_to_handle_at",
        /* clocks */
        "settimeofday", "stime", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64",
        "adjtimex",
        /* namespaces */
        "unshare", "setns",
        /* obsolete or host-wide */
        "personality", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl", "vm86", "vm86old", "get_kernel_syms",
        "query_module", "iopl", "ioperm", "syslog", "vhangup", "sethostname", "setdomainname",
        "set_mempolicy", "mbind", "move_pages", "migrate_pages", "get_mempolicy", "io_pgetevents",
        "fanotify_init", "pidfd_getfd", "memfd_secret",
        NULL,
};

static int add_arches(scmp_filter_ctx ctx) {
        static const uint32_t arches[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(arches); i++) {
                r = seccomp_arch_add(ctx, arches[i]);
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        return 0;
}

int seccomp_default_compile(void **ret_bpf, size_t *ret_size) {
        scmp_filter_ctx ctx;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        int r;

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        r = add_arches(ctx);
        if (r < 0)
                goto finish;

        /* A binary tree of syscall numbers, not a list: a process pays for the filter on every
         * syscall, and the kernel once per syscall number when it loads it (it computes which
         * numbers are always allowed by running the filter for each), so the load of a list of
         * a few hundred instructions costs ~0.4 ms of every container's start; the tree a fraction. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (r < 0)
                goto finish;

        for (const char *const *n = seccomp_default_denied; *n; n++) {
                int nr = seccomp_syscall_resolve_name(*n);
                if (nr == __NR_SCMP_ERROR)
                        continue; /* unknown to this libseccomp: nothing to block */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0 && r != -EDOM) /* -EDOM: not on this ABI */
                        goto finish;
        }

        /* clone3 passes its flags in memory a filter cannot read: make libcs fall back to clone(). */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0 && r != -EDOM)
                goto finish;

        /* clone() is fine for threads and processes, not for new namespaces. Its flags are the first
         * argument on x86; libseccomp has no "any of these bits" test, so one rule per flag. */
        static const uint64_t ns_flags[] = { CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                             CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP };
        for (size_t i = 0; i < ELEMENTSOF(ns_flags); i++) {
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
                if (r < 0 && r != -EDOM)
                        goto finish;
        }

        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto finish;
        }
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                goto finish;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                goto finish;
        }
        size = st.st_size;
        buf = malloc(size ?: 1);
        if (!buf) {
                r = -ENOMEM;
                goto finish;
        }
        if (pread(fd, buf, size, 0) != (ssize_t) size) {
                r = -EIO;
                goto finish;
        }
        r = 0;
finish:
        seccomp_release(ctx);
        if (r < 0)
                return r;
        *ret_bpf = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}
