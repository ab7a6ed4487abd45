/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "app-exec.h"
#include "fd-util.h"
#include "spawn-proto.h"
#include "string-util.h"
#include "user-util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static char **child_environment(const AppDefaults *d, const UserRecord *u) {
        char **env = NULL;
        char buf[PATH_MAX + 16];

        (void) strv_env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        snprintf(buf, sizeof buf, "HOSTNAME=%s", d->hostname);
        (void) strv_env_set(&env, buf);
        snprintf(buf, sizeof buf, "HOME=%s", u && u->home ? u->home : "/root");
        (void) strv_env_set(&env, buf);
        (void) strv_env_set(&env, "container=vessel");
        STRV_FOREACH(e, d->environment)
                (void) strv_env_set(&env, *e);
        return env;
}

static int capability_last(void) {
        static int last = -1;
        char buf[16] = {};
        int fd;

        if (last >= 0)
                return last;
        fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                if (read(fd, buf, sizeof buf - 1) > 0)
                        last = atoi(buf);
                (void) close(fd);
        }
        if (last <= 0)
                last = CAP_LAST_CAP;
        return last;
}

int child_open_pty(int sync_fd, uint16_t rows, uint16_t columns, uint32_t uid_base, int *ret_master) {
        int master, slave, unlock = 0;

        master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to open the container's /dev/ptmx: %m");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to unlock the pty: %m");
        slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to open the pty: %m");
        if (rows > 0 && columns > 0) {
                struct winsize ws = { .ws_row = rows, .ws_col = columns };
                (void) ioctl(slave, TIOCSWINSZ, &ws);
        }
        if (uid_base > 0 && fchown(slave, uid_base, uid_base + TTY_GID) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to give the pty to the container's root: %m");
        *ret_master = master;
        return slave;
}

void child_drop_bounding(int sync_fd, uint64_t keep) {
        int last = capability_last();

        for (int cap = 0; cap <= last; cap++)
                if (cap >= 64 || !(keep & (UINT64_C(1) << cap)))
                        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                                child_fail(sync_fd, STEP_PRIVILEGES, errno, "Failed to drop capability %i: %m", cap);
}

_noreturn_ void child_exec_app(int sync_fd, const AppDefaults *d, const AppParams *p) {
        _cleanup_(user_record_done) UserRecord u = {};
        const char *user = p->user ?: d->user;
        char **env;
        const char *wd;

        if (p->setsid && setsid() < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "setsid() failed: %m");

        /* PrivateUsers: the app (not vessel-init) lives in the container's user namespace, as its
         * root, which is an unprivileged uid on the host; the other namespaces stay owned by the
         * host's, so even that root has no power over them */
        if (p->userns_fd >= 0) {
                if (setns(p->userns_fd, CLONE_NEWUSER) < 0)
                        child_fail(sync_fd, STEP_USER, errno, "Failed to enter the user namespace: %m");
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        child_fail(sync_fd, STEP_USER, errno, "Failed to become root of the user namespace: %m");
                /* joining a user namespace grants a full bounding set in it: drop to ours again */
                child_drop_bounding(sync_fd, d->capabilities);
        }
        if (dup2(p->stdio[0], 0) < 0 || dup2(p->stdio[1], 1) < 0 || dup2(p->stdio[2], 2) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to set up standard I/O: %m");
        if (p->controlling_tty && ioctl(0, TIOCSCTTY, 0) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to make the terminal the controlling one: %m");

        /* from here on a failure is also the process's own last words, where the caller reads them */
#define APP_FAIL(step, err, ...)                                                          \
        do {                                                                              \
                int _e_ = abs(err);                                                       \
                if (p->report_setup_on_stderr ||                                          \
                    (p->report_exec_on_stderr && (step) == STEP_EXEC)) {                  \
                        errno = _e_;                                                      \
                        dprintf(2, "vessel: " __VA_ARGS__);                               \
                        dprintf(2, "\n");                                                 \
                }                                                                         \
                child_fail(sync_fd, step, _e_, __VA_ARGS__);                              \
        } while (0)

        if (user) {
                _cleanup_fclose_ FILE *pw = fopen("/etc/passwd", "re"), *gr = fopen("/etc/group", "re");
                int r = user_resolve(user, pw, gr, &u);
                if (r < 0)
                        APP_FAIL(STEP_USER, r, "Failed to resolve user '%s' in the container: %s", user,
                                   r == -ESRCH ? "no such user or group" : strerror(-r));
                if (setgroups(u.n_groups, u.groups) < 0)
                        APP_FAIL(STEP_USER, errno, "setgroups() failed: %m");
                if (setresgid(u.gid, u.gid, u.gid) < 0)
                        APP_FAIL(STEP_USER, errno, "Failed to set gid %u: %m", (unsigned) u.gid);
                if (setresuid(u.uid, u.uid, u.uid) < 0)
                        APP_FAIL(STEP_USER, errno, "Failed to set uid %u: %m", (unsigned) u.uid);
        } else if (setgroups(0, NULL) < 0)
                APP_FAIL(STEP_USER, errno, "setgroups() failed: %m");

        env = child_environment(d, user ? &u : NULL);
        STRV_FOREACH(e, p->extra_env)
                (void) strv_env_set(&env, *e);
        if (!env)
                APP_FAIL(STEP_SETUP, ENOMEM, "Out of memory.");

        wd = p->working_directory ?: d->working_directory ?: "/";
        if (chdir(wd) < 0)
                APP_FAIL(STEP_CHDIR, errno, "Failed to change to working directory %s: %m", wd);

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                APP_FAIL(STEP_PRIVILEGES, errno, "Failed to set no_new_privs: %m");

        /* Every fd we did not mean to pass is closed on exec (CVE-2024-21626 leaked one). */
        (void) syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

        /* seccomp last: nothing after it but the exec */
        if (d->seccomp) {
                struct sock_fprog prog = {
                        .len = d->seccomp_size / sizeof(struct sock_filter),
                        .filter = (struct sock_filter *) d->seccomp,
                };
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                        APP_FAIL(STEP_SECCOMP, errno, "Failed to load the seccomp filter: %m");
        }

        sigset_t none;
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);

        environ = env;
        execvp(p->argv[0], p->argv);
        /* an exec'd process's failure is the caller's to read, like a shell's */
        APP_FAIL(STEP_EXEC, errno, "Failed to execute %s: %m", p->argv[0]);
#undef APP_FAIL
}
