/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Running a process inside a living container (ExecContainer, ExecContainerPTY).
 *
 * vesseld forks an intermediate process I, which:
 *   (1) joins the container's cgroups (v1: the scope's directory in every hierarchy, our cpuset and
 *       freezer included; v2: the leaf), so the process counts against the container's limits;
 *   (2) enters every namespace of the container at once through a pidfd of its leader (setns);
 *   (3) clone()s the process P with CLONE_PARENT, so that P, in the container's pid namespace, is a
 *       child of vesseld, which reaps it and learns its status; sends P's pid; exits.
 * P then (4) takes a pty of the container's own devpts if asked (and passes the master back over the
 * socket), drops to the container's bounding set and runs the common last steps (user, working
 * directory, no_new_privs, seccomp, exec). vesseld answers when P exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "bus-util.h"
#include "container-exec.h"
#include "container-spawn.h"
#include "fd-util.h"
#include "log.h"
#include "process-util.h"
#include "string-util.h"

#define EXECS_MAX 1024

struct ExecSession {
        Manager *manager;
        Container *container; /* NULL once the container is gone */
        uint32_t id;
        bool pty;
        sd_bus_message *message; /* ExecContainer: answered at exit */
        int sync_fd;
        sd_event_source *sync_source, *inter_source, *child_source;
        int inter_pidfd, child_pidfd;
        pid_t pid;
        int error; /* a setup failure before exec */
        char *error_text;
        bool replied;
        bool done; /* P was reaped and answered for; I's exit is still to come */
        ExecSession *next, *prev;
};

static ExecSession *exec_session_free(ExecSession *e) {
        if (!e)
                return NULL;
        if (e->container) {
                Container *c = e->container;
                if (e->prev)
                        e->prev->next = e->next;
                else
                        c->execs = e->next;
                if (e->next)
                        e->next->prev = e->prev;
                c->n_execs--;
        }
        sd_event_source_disable_unref(e->sync_source);
        sd_event_source_disable_unref(e->inter_source);
        sd_event_source_disable_unref(e->child_source);
        safe_close(e->sync_fd);
        safe_close(e->inter_pidfd);
        safe_close(e->child_pidfd);
        sd_bus_message_unref(e->message);
        free(e->error_text);
        return mfree(e);
}

void container_exec_forget(Container *c) {
        /* the container is removed: the processes live on until they exit, answered then */
        for (ExecSession *e = c->execs; e; e = e->next)
                e->container = NULL;
        c->execs = NULL;
        c->n_execs = 0;
}

static int on_exec_exit(sd_event_source *s, const siginfo_t *si, void *userdata);

static void exec_reply_error(ExecSession *e) {
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;

        if (e->replied || !e->message)
                return;
        sd_bus_error_setf(&error, BUS_ERROR_SPAWN_FAILED, "%s", e->error_text ?: strerror(-e->error));
        (void) sd_bus_reply_method_error(e->message, &error);
        e->replied = true;
}

/* fd: what came with the message (EXEC_MSG_PTY's master), ours to close; -EBADF if nothing did */
static void exec_handle_message(ExecSession *e, const SyncMessage *msg, int fd) {
        _cleanup_close_ int master = fd;
        int r;

        if (msg->step == EXEC_MSG_PID) {
                if (e->pid > 0)
                        return;
                e->pid = msg->error; /* the pid travels in the error field */
                /* P is our child (CLONE_PARENT) and stays a zombie until we reap it: a pidfd of it is
                 * stable even if it has exited already */
                e->child_pidfd = (int) syscall(SYS_pidfd_open, e->pid, 0);
                if (e->child_pidfd < 0) {
                        log_warning_errno(errno, "Failed to open pidfd of exec'd process " PID_FMT ": %m", e->pid);
                        (void) waitpid(e->pid, NULL, WNOHANG);
                        return;
                }
                r = sd_event_add_child_pidfd(e->manager->event, &e->child_source, e->child_pidfd, WEXITED, on_exec_exit, e);
                if (r < 0)
                        log_warning_errno(r, "Failed to watch exec'd process: %m");
                return;
        }

        if (msg->step == EXEC_MSG_PTY) {
                if (master < 0)
                        return;
                if (!e->replied)
                        (void) sd_bus_reply_method_return(e->message, "hu", master, e->id);
                e->replied = true;
                return;
        }

        if (msg->step == STEP_EXEC)
                return; /* the process's stderr has it; the status (127/126) follows */
        if (e->error >= 0) {
                e->error = -msg->error ?: -EIO;
                (void) free_and_strdup(&e->error_text, msg->text);
        }
}

/* Everything the processes sent, now: an exit is judged only with all their messages in hand (they
 * arrive in any order with the exit notifications). */
static void exec_drain(ExecSession *e) {
        while (e->sync_fd >= 0) {
                SyncMessage msg = {};
                int fd = -EBADF;
                size_t n_fds;
                ssize_t n;

                n = sync_recv(e->sync_fd, MSG_DONTWAIT, &msg, &fd, 1, &n_fds);
                if (n == -EINTR)
                        continue;
                if (n == -EAGAIN)
                        return;
                if (n <= 0) {
                        /* EOF: the exec happened (or P died, which its exit reports) */
                        e->sync_source = sd_event_source_disable_unref(e->sync_source);
                        e->sync_fd = safe_close(e->sync_fd);
                        return;
                }
                exec_handle_message(e, &msg, n_fds > 0 ? fd : -EBADF);
        }
}

static int on_exec_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ExecSession *e = userdata;
        int32_t status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;

        e->child_source = sd_event_source_disable_unref(e->child_source);
        exec_drain(e);

        if (e->pty && e->replied)
                /* the caller has the terminal: the status comes as a signal, also after a failure
                 * (which the process wrote on the terminal) */
                (void) manager_emit_signal(e->manager, "ExecExited", "ui", e->id, status);
        else if (e->error < 0 || (e->pty && !e->replied)) {
                if (e->error >= 0) {
                        e->error = -EIO;
                        (void) free_and_strdup(&e->error_text, "the process ended before it had its terminal");
                }
                exec_reply_error(e);
        } else if (!e->replied) {
                (void) sd_bus_reply_method_return(e->message, "i", status);
                e->replied = true;
        }

        if (!e->inter_source)
                exec_session_free(e);
        else
                e->done = true; /* I's exit frees it */
        return 0;
}

static int on_intermediate_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ExecSession *e = userdata;

        e->inter_source = sd_event_source_disable_unref(e->inter_source);
        exec_drain(e);

        if (e->done) {
                exec_session_free(e);
                return 0;
        }
        if (e->pid <= 0) {
                if (e->error >= 0) {
                        e->error = -EIO;
                        (void) free_and_strdup(&e->error_text, "the process could not be created in the container");
                }
                exec_reply_error(e);
                exec_session_free(e);
        }
        return 0;
}

static int on_exec_sync(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        exec_drain(userdata);
        return 0;
}

/* (1) in I */
static int join_cgroups(Container *c) {
        char path[PATH_MAX];
        int r = 0;

        if (c->manager->cgroup_layout == CGROUP_LAYOUT_UNIFIED) {
                snprintf(path, sizeof path, "/sys/fs/cgroup%s/container/cgroup.procs", c->cgroup_path);
                return write_string_file(path, "0");
        }
        FOREACH_STRING(h, "systemd", "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                       "net_cls", "perf_event", "hugetlb", "rdma", "misc") {
                snprintf(path, sizeof path, "/sys/fs/cgroup/%s%s/cgroup.procs", h, c->cgroup_path);
                if (access(path, F_OK) < 0)
                        continue;
                int k = write_string_file(path, "0");
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

_noreturn_ static void exec_process(int sync_fd, Container *c, AppParams *p, bool pty) {
        if (pty) {
                /* (4) a pty of the container's own devpts instance, never one of the host */
                SyncMessage msg = { .step = EXEC_MSG_PTY };
                int master, slave;

                slave = child_open_pty(sync_fd, p->tty_rows, p->tty_columns, c->uid_base, &master);
                int k = sync_send(sync_fd, &msg, &master, 1);
                if (k < 0)
                        child_fail(sync_fd, STEP_SETUP, k, "Failed to pass the pty: %m");
                safe_close(master);
                if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                        child_fail(sync_fd, STEP_SETUP, errno, "Failed to make the pty the controlling terminal: %m");
                p->stdio[0] = p->stdio[1] = p->stdio[2] = slave;
                p->setsid = false;
                p->report_exec_on_stderr = p->report_setup_on_stderr = true; /* the caller reads the terminal */
        }

        AppDefaults defaults;
        container_app_defaults(c, &defaults);
        child_drop_bounding(sync_fd, defaults.capabilities);
        child_exec_app(sync_fd, &defaults, p);
}

int container_exec(Container *c, sd_bus_message *message, char **argv, const Settings *es, int fds[3], bool pty,
                   sd_bus_error *error) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_close_ int null_fd = -EBADF;
        Manager *m = c->manager;
        ExecSession *e;
        int pidfd = -EBADF, r;
        pid_t pid;

        if (!IN_SET(c->state, CONTAINER_RUNNING) || c->spawn || c->leader_pidfd < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Container %s is %s, not running.", c->name,
                                         container_state_to_string(c->state));
        if (c->settings.private_users != PRIVATE_USERS_NO && c->userns_fd < 0)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE,
                                         "The user namespace of container %s is not known.", c->name);
        if (c->n_execs >= EXECS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "Container %s has %u processes exec'd already.",
                                         c->name, c->n_execs);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        if (!pty && (fds[0] < 0 || fds[1] < 0 || fds[2] < 0)) {
                null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null_fd < 0)
                        return -errno;
        }

        pid = clone_with_pidfd(0, &pidfd);
        if (pid < 0)
                return sd_bus_error_set_errnof(error, pid, "Failed to fork: %m");
        if (pid == 0) {
                /* I */
                sigset_t none;
                int sync_fd = pair[1];

                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

                r = join_cgroups(c);
                if (r < 0)
                        child_fail(sync_fd, STEP_CGROUP, r, "Failed to join the cgroups of %s: %m", c->unit);
                /* (2) */
                if (setns(c->leader_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWCGROUP |
                                                   (c->settings.network == NETWORK_HOST ? 0 : CLONE_NEWNET)) < 0)
                        child_fail(sync_fd, STEP_SETUP, errno, "Failed to enter the namespaces of %s: %m", c->name);

                /* (3) */
                pid_t p = clone_with_pidfd(CLONE_PARENT, /* ret_pidfd= */ NULL);
                if (p < 0)
                        child_fail(sync_fd, STEP_SETUP, p, "Failed to create the process: %m");
                if (p == 0) {
                        AppParams ap = {
                                .argv = argv,
                                .extra_env = es->environment,
                                .user = es->user,
                                .working_directory = es->working_directory,
                                .stdio = { fds[0] >= 0 ? fds[0] : null_fd, fds[1] >= 0 ? fds[1] : null_fd,
                                           fds[2] >= 0 ? fds[2] : null_fd },
                                .setsid = true,
                                .report_exec_on_stderr = !pty,
                                .userns_fd = c->userns_fd,
                                .tty_rows = es->tty_rows,
                                .tty_columns = es->tty_columns,
                        };
                        (void) prctl(PR_SET_PDEATHSIG, 0);
                        exec_process(sync_fd, c, &ap, pty);
                }
                SyncMessage msg = { .step = EXEC_MSG_PID, .error = p };
                (void) send(sync_fd, &msg, sizeof msg, MSG_NOSIGNAL);
                _exit(0);
        }

        pair[1] = safe_close(pair[1]);
        e = calloc(1, sizeof(ExecSession));
        if (!e) {
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                (void) waitpid(pid, NULL, 0);
                safe_close(pidfd);
                return -ENOMEM;
        }
        *e = (ExecSession) {
                .manager = m,
                .container = c,
                .id = ++m->exec_counter,
                .pty = pty,
                .message = sd_bus_message_ref(message),
                .sync_fd = TAKE_FD(pair[0]),
                .inter_pidfd = pidfd,
                .child_pidfd = -EBADF,
        };
        e->next = c->execs;
        if (e->next)
                e->next->prev = e;
        c->execs = e;
        c->n_execs++;

        r = sd_event_add_child_pidfd(m->event, &e->inter_source, e->inter_pidfd, WEXITED, on_intermediate_exit, e);
        if (r >= 0)
                r = sd_event_add_io(m->event, &e->sync_source, e->sync_fd, EPOLLIN, on_exec_sync, e);
        if (r < 0) {
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                if (!e->inter_source)
                        (void) waitpid(pid, NULL, 0);
                e->replied = true;
                exec_session_free(e);
                return r;
        }
        return 0;
}
