/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The default seccomp policy, compiled and loaded into the test's own process (Criterion runs each
 * test in a process of its own): what it refuses, how, and what it lets through. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp-policy.h"

static void load_default(void) {
        void *bpf = NULL;
        size_t size = 0;

        cr_assert(eq(int, seccomp_default_compile(&bpf, &size), 0));
        cr_assert(gt(sz, size, 0));
        cr_assert(eq(sz, size % sizeof(struct sock_filter), 0));
        struct sock_fprog prog = { .len = (unsigned short) (size / sizeof(struct sock_filter)), .filter = bpf };
        cr_assert(eq(int, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0));
        cr_assert(eq(int, prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0), "loading the filter: %m");
        free(bpf);
}

static int errno_of(long r) {
        return r < 0 ? errno : 0;
}

Test(seccomp_policy, compiles_to_a_tree_not_a_list) {
        void *bpf = NULL;
        size_t size = 0;

        cr_assert(eq(int, seccomp_default_compile(&bpf, &size), 0));
        /* three ABIs, ~90 denied names: a binary tree per ABI stays well below a list's size */
        cr_assert(lt(sz, size / sizeof(struct sock_filter), 1500), "%zu instructions",
                  size / sizeof(struct sock_filter));
        free(bpf);
}

Test(seccomp_policy, refuses_what_anyone_could_otherwise_do) {
        /* each of these succeeds for an unprivileged process without the filter */
        load_default();
        cr_assert(eq(int, errno_of(syscall(SYS_add_key, "user", "vessel-test", "x", 1, KEY_SPEC_PROCESS_KEYRING)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_PROCESS_KEYRING, 0)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_personality, 0xffffffff)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_unshare, CLONE_NEWUTS)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_setns, 0, 0)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_mount, "none", "/", "tmpfs", 0, NULL)), EPERM));
}

Test(seccomp_policy, clone3_falls_back_and_namespaces_stay_shut) {
        load_default();
        /* clone3's flags are in memory a filter cannot read: ENOSYS, so libcs use clone() */
        struct clone_args args = { .exit_signal = SIGCHLD };
        cr_assert(eq(int, errno_of(syscall(SYS_clone3, &args, sizeof args)), ENOSYS));
        /* clone() with a namespace flag: refused; a plain fork: fine */
        cr_assert(eq(int, errno_of(syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, NULL, NULL, NULL, 0)), EPERM));
        cr_assert(eq(int, errno_of(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0)), EPERM));
        pid_t pid = fork();
        cr_assert(ge(int, pid, 0));
        if (pid == 0)
                _exit(7);
        int status;
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        cr_assert(eq(int, WEXITSTATUS(status), 7));
}

Test(seccomp_policy, lets_ordinary_work_through) {
        struct utsname u;

        load_default();
        cr_assert(eq(int, getpid() > 0, 1));
        cr_assert(eq(int, uname(&u), 0));
        cr_assert(eq(int, errno_of(syscall(SYS_getrandom, &u, 8, 0)), 0));
        /* a syscall this policy has never heard of is not refused by it (the kernel says ENOSYS) */
        cr_assert(eq(int, errno_of(syscall(1000)), ENOSYS));
}
