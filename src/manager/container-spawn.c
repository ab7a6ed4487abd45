/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Spawning a container's first process.
 *
 * The container's side is vessel-init in its setup mode (src/init/container-setup.c), a static
 * program of its own: our child execs it right away, so it never copies vesseld's memory. We and it
 * talk over one SOCK_SEQPACKET socketpair. The sync points, numbered the same on both sides:
 *
 *   (1) parent: clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD | namespaces), the child execs
 *               vessel-init --setup-fd=SYNC with no other fd of ours (we wait the microseconds to
 *               that exec); asks systemd for the scope with its pid; then, while the job runs, makes
 *               the rest (the /etc files, pipes, v1 cgroups) and sends the container's description
 *               (setup-spec.h) in a memfd with the fds it names; for Network=bridge, creates the
 *               veth pair with its peer "eth0" in the child's netns.
 *   (2) child:  its mount, uts, ipc (and network) namespaces; on v1 joins the cpuset and freezer
 *               cgroups we made for it; lo up; builds the root (overlay, /proc, /dev, /sys, masks,
 *               binds), sets the host name, pivot_root()s, then blocks reading the socket. This
 *               overlaps with the scope job.
 *   (3) parent: the job is done (JobRemoved "done"): sends GO, on v1 with the container's cgroup
 *               trees, on v2 with the leaf below the scope to move into. If systemd refused, it kills
 *               the child instead; nothing is left.
 *   (4) child:  for bridge, gives eth0 its address and the default route (it is still root with
 *               CAP_NET_ADMIN in its netns); enters a new cgroup namespace (now rooted at the scope),
 *               spawns the app, which switches user, drops privileges, loads seccomp last and execs
 *               the command; then it is vessel-init proper, in place.
 *   (5) parent: EOF on the socket means the app exec'd and vessel-init closed its end. A failure on
 *               either side arrives before that as a typed message {step, errno, text}.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bus-util.h"
#include "container-spawn.h"
#include "container.h"
#include "process-util.h"
#include "image.h"
#include "fd-util.h"
#include "log.h"
#include "netns-pool.h"
#include "scope.h"
#include "settings.h"
#include "string-util.h"

struct ContainerSpawn {
        Container *container;
        int sync_fd;
        sd_event_source *sync_source;
        char *job;
        bool scope_made, scope_done, go_sent;
        bool finish_pending; /* the child is through, systemd's answer to the scope request is not */
        unsigned retries;
        sd_event_source *retry_timer;
        int error;       /* first failure, negative errno */
        int error_step;
        char *error_text;
        bool error_is_exec; /* the command itself could not run: the container ran and exited */
};

ContainerSpawn *container_spawn_free(ContainerSpawn *s) {
        if (!s)
                return NULL;
        if (s->job && s->container)
                (void) hashmap_remove(s->container->manager->jobs, s->job);
        sd_event_source_disable_unref(s->sync_source);
        sd_event_source_disable_unref(s->retry_timer);
        safe_close(s->sync_fd);
        free(s->job);
        free(s->error_text);
        return mfree(s);
}

/* "Unit exists": a failed leftover (reset, then one more try, as crun does), or the scope of an earlier
 * container of this name that systemd has not let go of yet (it goes within milliseconds of the
 * container's exit): a few more tries, backing off, for up to about a second. */
#define SCOPE_START_RETRIES 8

unsigned container_spawn_may_retry(Container *c) {
        if (!c->spawn || c->spawn->retries >= SCOPE_START_RETRIES)
                return 0;
        return ++c->spawn->retries;
}

unsigned container_spawn_retries(Container *c) {
        return c->spawn ? c->spawn->retries : 0;
}

int container_spawn_schedule(Container *c, uint64_t usec, sd_event_time_handler_t handler) {
        ContainerSpawn *s = c->spawn;

        if (!s)
                return -ESRCH;
        s->retry_timer = sd_event_source_disable_unref(s->retry_timer);
        return sd_event_add_time_relative(c->manager->event, &s->retry_timer, CLOCK_MONOTONIC, usec, 0, handler, c);
}

bool container_spawn_scope_is_done(Container *c) {
        return !c->spawn || c->spawn->scope_done;
}

static void spawn_finish(Container *c);

bool container_spawn_scope_made(Container *c) {
        if (!c->spawn)
                return false;
        c->spawn->scope_made = true;
        if (!c->spawn->finish_pending)
                return false;
        spawn_finish(c); /* may remove c */
        return true;
}

const char *container_spawn_set_job(Container *c, const char *job) {
        if (free_and_strdup(&c->spawn->job, job) < 0)
                return NULL;
        return c->spawn->job;
}

/* v1 hierarchies handed to the container with the go (cpu and cpuacct are co-mounted on most hosts,
 * apart on some) */
#define CGROUP_V1_HIERARCHIES "cpu,cpuacct", "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"
#define CGROUP_TREES_MAX SYNC_FDS_MAX

void container_app_defaults(Container *c, AppDefaults *ret) {
        const Settings *s = &c->settings;
        Manager *m = c->manager;

        *ret = (AppDefaults) {
                .hostname = s->hostname ?: c->name,
                .environment = s->environment,
                .user = s->user,
                .working_directory = s->working_directory,
                .capabilities = settings_capability_mask(s),
        };
        if (s->seccomp == SECCOMP_DEFAULT && m->seccomp_bpf) {
                ret->seccomp = m->seccomp_bpf;
                ret->seccomp_size = m->seccomp_bpf_size;
        }
}

/* The spec in a memfd of its own, which the setup process reads from its start. */
static int setup_spec_memfd(const SetupSpec *spec, int *ret_fd) {
        _cleanup_free_ void *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size;
        int r;

        r = setup_spec_serialize(spec, &data, &size);
        if (r < 0)
                return r;
        fd = memfd_create("vessel-setup", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = write_full(fd, data, size);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

typedef struct SetupExec {
        int init_fd;
        unsigned first_closed; /* the fds from here on are not the setup's */
        int sync_fd;           /* the one fd of ours the setup keeps; the rest comes over it */
        char *argv[4];
        int error; /* set by the child when it fails before its exec; read once it is gone */
} SetupExec;

/* vesseld is single-threaded and waits while the child uses it: one stack serves every spawn */
static uint8_t setup_stack[64 * 1024] __attribute__((aligned(16)));

/* The child, in our memory on its own stack, while we wait (CLONE_VM | CLONE_VFORK), as posix_spawn()'s
 * does: system calls only, nothing allocated, nothing of ours changed but x->error. */
static int setup_exec(void *userdata) {
        SetupExec *x = userdata;
        char *envp[] = { NULL };

        /* a fd table of its own, with only the fds below first_closed: not a copy, to be closed again
         * at the exec, of the fds we keep of every other container (fd_move_high()); of those, all
         * O_CLOEXEC, the sync socket alone stays open */
        if (syscall(SYS_close_range, x->first_closed, ~0U, CLOSE_RANGE_UNSHARE) < 0 && unshare(CLONE_FILES) < 0)
                goto fail;
        if (fcntl(x->sync_fd, F_SETFD, 0) < 0)
                goto fail;
        /* if vesseld dies before the container runs, the container goes too: nothing half-made */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                goto fail;
        (void) syscall(SYS_execveat, x->init_fd, "", x->argv, envp, AT_EMPTY_PATH);
fail:
        x->error = errno ?: EIO;
        _exit(125);
}

/* The container's first process: vessel-init in its setup mode, in a new pid namespace (and, with
 * netns_flag, network namespace; it makes the others itself at once, the network namespace too with
 * new_netns), with sync_fd, where its spec arrives. It does not copy our memory (vfork), so its start
 * costs the same with 1 container or 1000. Returns its pid, or -errno when it could not be started (it
 * is then gone, reaped). */
static pid_t setup_spawn(Manager *m, unsigned long netns_flag, bool new_netns, int sync_fd, int *ret_pidfd) {
        char arg[32];
        SetupExec x = {
                .init_fd = m->init_fd,
                .first_closed = MAX(MAX((unsigned) FD_HIGH_MIN, (unsigned) sync_fd + 1), (unsigned) m->init_fd + 1),
                .sync_fd = sync_fd,
                .argv = { (char *) "vessel-init", arg, new_netns ? (char *) "--new-netns" : NULL, NULL },
        };
        int pidfd = -EBADF, e;
        sigset_t all, saved;
        pid_t pid;

        snprintf(arg, sizeof arg, "--setup-fd=%i", sync_fd);

        /* no handler of ours may run in the child, on our memory: everything stays blocked until the
         * setup resets the mask */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, &saved);
        pid = clone(setup_exec, setup_stack + sizeof setup_stack,
                    CLONE_VM | CLONE_VFORK | CLONE_FILES | CLONE_PIDFD | CLONE_NEWPID | netns_flag | SIGCHLD,
                    &x, &pidfd);
        e = errno;
        (void) sigprocmask(SIG_SETMASK, &saved, NULL);
        if (pid < 0)
                return -e;
        if (x.error != 0) {
                (void) waitpid(pid, NULL, 0);
                safe_close(pidfd);
                return -x.error;
        }
        *ret_pidfd = pidfd;
        return pid;
}

/* The spare: a first process cloned and exec'd ahead of time, which makes its namespaces and then
 * blocks reading its spec. It holds nothing but its sync socket, sits in our own cgroup, and dies with
 * us (PR_SET_PDEATHSIG). One at most, made when the loop is idle after an exit or a start
 * (spare_schedule(), spare_schedule_later()). It makes a network namespace of its own if the start
 * before it wanted one (Network=none): a guess, which costs a namespace made for nothing where it is
 * wrong (the setup then joins the pool's or the host's). */
static void spare_discard(Manager *m) {
        m->spare_exit_source = sd_event_source_disable_unref(m->spare_exit_source);
        if (m->spare_pid > 0) {
                /* EOF on its socket ends it too; SIGKILL is quicker, and we reap it here */
                (void) syscall(SYS_pidfd_send_signal, m->spare_pidfd, SIGKILL, NULL, 0);
                (void) waitpid(m->spare_pid, NULL, 0);
        }
        m->spare_pid = 0;
        m->spare_pidfd = safe_close(m->spare_pidfd);
        m->spare_sync_fd = safe_close(m->spare_sync_fd);
}

static int on_spare_exit(sd_event_source *es, const siginfo_t *si, void *userdata) {
        Manager *m = userdata;

        log_debug("The spare first process " PID_FMT " exited (code %i, status %i).", m->spare_pid, si->si_code,
                  si->si_status);
        m->spare_pid = 0; /* reaped by this source: nothing left to kill */
        spare_discard(m);
        return 0;
}

static int on_spare_refill(sd_event_source *es, void *userdata) {
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        Manager *m = userdata;
        pid_t pid;
        int r;

        if (m->spare_pid > 0)
                return 0;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return log_debug_errno(errno, "No spare first process: %m"), 0;
        pid = setup_spawn(m, 0, m->spare_want_netns, pair[1], &pidfd);
        if (pid < 0)
                return log_debug_errno(pid, "No spare first process: %m"), 0;
        pidfd = fd_move_high(TAKE_FD(pidfd));
        r = sd_event_add_child_pidfd(m->event, &m->spare_exit_source, pidfd, WEXITED, on_spare_exit, m);
        if (r < 0) {
                (void) syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                (void) waitpid(pid, NULL, 0);
                return log_debug_errno(r, "No spare first process: %m"), 0;
        }
        m->spare_pid = pid;
        m->spare_pidfd = TAKE_FD(pidfd);
        m->spare_sync_fd = fd_move_high(TAKE_FD(pair[0]));
        m->spare_new_netns = m->spare_want_netns;
        return 0;
}

/* The next spare, made when the loop has nothing else to do: at once after a container's exit, whose
 * CPU time is over then; after a start, a little later, so that its clone, exec and namespaces (~0.8 ms
 * of CPU time) do not compete with the app that has just started, whose first milliseconds are often
 * all it runs (`vesselctl run --rm`: bench/README.md). */
#define SPARE_DELAY_USEC (5 * USEC_PER_MSEC)

void spare_schedule(Manager *m) {
        if (m->spare_refill && m->spare_pid == 0)
                (void) sd_event_source_set_enabled(m->spare_refill, SD_EVENT_ONESHOT);
}

static int on_spare_delay(sd_event_source *es, uint64_t usec, void *userdata) {
        spare_schedule(userdata);
        return 0;
}

static void spare_schedule_later(Manager *m) {
        int enabled = SD_EVENT_OFF;

        if (!m->spare_delay || m->spare_pid > 0)
                return;
        /* already on its way: a stream of starts must not push it back forever */
        if (sd_event_source_get_enabled(m->spare_delay, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;
        if (sd_event_source_set_time_relative(m->spare_delay, SPARE_DELAY_USEC) >= 0)
                (void) sd_event_source_set_enabled(m->spare_delay, SD_EVENT_ONESHOT);
}

/* Our mount table changed (the host mounted or unmounted something, and it reached us): the spare's
 * mount namespace is a copy of the table as it was. What propagates reached the copy too, but not
 * what happened under a private mount: the next start clones afresh, and makes the next spare. */
static int on_mounts_changed(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        if (m->spare_pid > 0) {
                log_debug("The mount table changed: the spare first process goes.");
                spare_discard(m);
        }
        return 0;
}

int spare_start(Manager *m) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* the first one after the first start: a vesseld that starts no container makes none */
        fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_debug_errno(errno, "No spare first process: %m");
        r = sd_event_add_io(m->event, &m->spare_mounts_source, fd, EPOLLPRI, on_mounts_changed, m);
        if (r >= 0) {
                r = sd_event_source_set_io_fd_own(m->spare_mounts_source, true);
                TAKE_FD(fd);
        }
        if (r >= 0)
                r = sd_event_add_time_relative(m->event, &m->spare_delay, CLOCK_MONOTONIC, SPARE_DELAY_USEC,
                                               USEC_PER_MSEC, on_spare_delay, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->spare_delay, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_defer(m->event, &m->spare_refill, on_spare_refill, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->spare_refill, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->spare_refill, SD_EVENT_OFF);
        if (r < 0) {
                spare_done(m);
                return log_debug_errno(r, "No spare first process: %m");
        }
        return 0;
}

void spare_done(Manager *m) {
        m->spare_refill = sd_event_source_disable_unref(m->spare_refill);
        m->spare_delay = sd_event_source_disable_unref(m->spare_delay);
        m->spare_mounts_source = sd_event_source_disable_unref(m->spare_mounts_source);
        spare_discard(m);
}

/* The spare for a start, if there is one and it is alive: its pid, pidfd and sync socket, and whether
 * it made a network namespace of its own (not taken if it did, with no_netns). */
static bool spare_take(Manager *m, bool no_netns, pid_t *ret_pid, int *ret_pidfd, int *ret_sync_fd,
                       bool *ret_new_netns) {
        siginfo_t si = {};

        if (m->spare_pid <= 0 || (no_netns && m->spare_new_netns))
                return false;
        /* gone, its exit not dispatched yet: no pid to give systemd */
        if (waitid(P_PID, (id_t) m->spare_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != 0) {
                spare_discard(m);
                return false;
        }
        m->spare_exit_source = sd_event_source_disable_unref(m->spare_exit_source);
        *ret_pid = m->spare_pid;
        *ret_pidfd = TAKE_FD(m->spare_pidfd);
        *ret_sync_fd = TAKE_FD(m->spare_sync_fd);
        *ret_new_netns = m->spare_new_netns;
        m->spare_pid = 0;
        return true;
}

static void spawn_fail(Container *c, int r, int step, const char *text) {
        ContainerSpawn *s = c->spawn;

        if (!s || s->error < 0)
                return;
        s->error = r < 0 ? r : -EIO;
        s->error_step = step;
        (void) free_and_strdup(&s->error_text, text);
}

static int read_starttime(pid_t pid, uint64_t *ret) {
        char path[64], buf[1024];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        char *p;

        snprintf(path, sizeof path, "/proc/%i/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n <= 0)
                return -EIO;
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        /* field 22; after ')' comes field 3 */
        for (int field = 2; field < 22 && p; field++)
                p = strchr(p + 1, ' ');
        if (!p || sscanf(p + 1, "%" SCNu64, ret) != 1)
                return -EIO;
        return 0;
}

static int open_ns(pid_t pid, const char *type) {
        char path[64];

        snprintf(path, sizeof path, "/proc/%i/ns/%s", (int) pid, type);
        return fd_move_high(open(path, O_RDONLY | O_CLOEXEC));
}

static void spawn_finish(Container *c) {
        ContainerSpawn *s = c->spawn;
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = s->error;

        if (r < 0)
                sd_bus_error_setf(&error, BUS_ERROR_SPAWN_FAILED, "Container %s failed to start: %s", c->name,
                                  s->error_text ?: strerror(-r));
        c->exec_failed = r < 0 && s->error_is_exec;
        /* the setup failed (not the app's exec, after which the container ran and vessel-init reports
         * the status): the scope systemd made for us may never hear that it is empty, when the child
         * died before or while systemd moved it in */
        if (r < 0 && s->scope_made && !s->error_is_exec)
                scope_stop_failed(c);
        c->spawn = container_spawn_free(s);
        spare_schedule_later(c->manager); /* for the next start */
        if (r >= 0) {
                /* its own by now (the setup made it first): best effort, without it the exit is noticed
                 * later */
                c->mntns_fd = safe_close(c->mntns_fd);
                c->mntns_fd = open_ns(c->leader, "mnt");
                /* now, not at the clone: /proc/PID/stat waits for the process's memory lock, which
                 * its setup takes at every mmap */
                (void) read_starttime(c->leader, &c->leader_starttime);
        }
        container_on_started(c, r, r < 0 ? &error : NULL);
}

/* Reads the child's messages that are there (its failures). Returns 0 when none is left for now, 1 at
 * EOF. */
static int spawn_read_messages(Container *c) {
        ContainerSpawn *s = c->spawn;

        for (;;) {
                SyncMessage msg;
                ssize_t n = recv(s->sync_fd, &msg, sizeof msg, MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0)
                        return 1;
                msg.text[sizeof msg.text - 1] = 0;
                log_debug("Container %s: child failed at step %s: %s", c->name, spawn_step_to_string(msg.step),
                          msg.text);
                if (s->error >= 0)
                        s->error_is_exec = msg.step == STEP_EXEC;
                spawn_fail(c, -msg.error, msg.step, msg.text);
        }
}

static int on_sync(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        ContainerSpawn *s = c->spawn;

        if (spawn_read_messages(c) == 0)
                return 0;

        /* EOF: both execs happened, or the child died. */
        s->sync_source = sd_event_source_disable_unref(s->sync_source);
        if (!s->go_sent && s->error >= 0)
                spawn_fail(c, -EIO, STEP_SETUP, "the container's first process died during setup");
        if (!s->scope_made && !s->scope_done) {
                /* systemd has not answered the scope request yet: whether the scope is ours decides
                 * what a failed start cleans up (container_spawn_scope_made()/_done() finish) */
                s->finish_pending = true;
                return 0;
        }
        spawn_finish(c);
        return 0;
}

/* Which of CGROUP_V1_HIERARCHIES are mounted, bit i for the i-th name. */
static int cgroup_v1_trees(void) {
        static int cached = -1; /* the hierarchies are mounted once, at boot (as cpuacct_is_separate()) */
        unsigned i = 0;

        /* cpu → cpu,cpuacct and the like: a hierarchy comes under its own name, or as a link, or not
         * at all */
        if (cached < 0) {
                cached = 0;
                FOREACH_STRING(ctl, CGROUP_V1_HIERARCHIES) {
                        char top[64];
                        struct stat st;

                        snprintf(top, sizeof top, "/sys/fs/cgroup/%s", ctl);
                        if (lstat(top, &st) >= 0 && S_ISDIR(st.st_mode))
                                cached |= 1 << i;
                        i++;
                }
        }
        return cached;
}

/* v1: the container's cgroup of each hierarchy, as a detached read-only tree for the child to attach;
 * their names, '\n'-separated, go into names. On v2 none. */
static int cgroup_trees_open(Container *c, int fds[static CGROUP_TREES_MAX], size_t *ret_n, char *names, size_t size) {
        size_t n = 0, len = 0;
        unsigned i = 0;
        int r = 0, trees;

        *names = 0;
        if (c->manager->cgroup_layout != CGROUP_LAYOUT_UNIFIED) {
                trees = cgroup_v1_trees();
                FOREACH_STRING(ctl, CGROUP_V1_HIERARCHIES) {
                        struct mount_attr attr = {
                                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                        };
                        _cleanup_free_ char *path = NULL;
                        _cleanup_close_ int fd = -EBADF;

                        if (!(trees & (1 << i++)))
                                continue;
                        path = strjoin("/sys/fs/cgroup/", ctl, c->cgroup_path);
                        if (!path) {
                                r = -ENOMEM;
                                break;
                        }
                        fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                        if (fd < 0) {
                                if (errno == ENOENT)
                                        continue; /* a hierarchy (an empty mount point) the scope is not in */
                                r = -errno;
                                break;
                        }
                        if (mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
                                r = -errno;
                                break;
                        }
                        len += snprintf(names + len, size - len, "%s%s", n ? "\n" : "", ctl);
                        fds[n++] = TAKE_FD(fd);
                }
        }
        if (r < 0) {
                close_many(fds, n);
                return r;
        }
        *ret_n = n;
        return 0;
}

void container_spawn_scope_done(Container *c, int r, const char *reason) {
        ContainerSpawn *s = c->spawn;
        SyncMessage go = { .step = -1 };
        char text[512];

        if (!s || s->scope_done)
                return;
        s->scope_done = true;
        if (s->job) {
                (void) hashmap_remove(c->manager->jobs, s->job);
                s->job = mfree(s->job);
        }

        if (r < 0) {
                snprintf(text, sizeof text, "systemd could not start %s: %s", c->unit, reason ?: strerror(-r));
                goto fail;
        }

        /* (3) */
        int trees[CGROUP_TREES_MAX];
        size_t n_trees = 0;
        r = scope_attach_extra(c, trees, &n_trees, go.text, sizeof go.text); /* v2 */
        if (r < 0) {
                snprintf(text, sizeof text, "failed to set up the cgroups of %s: %s", c->unit, strerror(-r));
                goto fail;
        }
        if (n_trees == 0) /* v1 */
                r = cgroup_trees_open(c, trees, &n_trees, go.text, sizeof go.text);
        if (r < 0) {
                snprintf(text, sizeof text, "failed to hand the container its cgroups: %s", strerror(-r));
                goto fail;
        }
        r = sync_send(s->sync_fd, &go, trees, n_trees);
        close_many(trees, n_trees);
        if (r < 0) {
                /* it failed and said why, most likely, and that is what the caller should hear */
                (void) spawn_read_messages(c);
                snprintf(text, sizeof text, "the container's first process is gone: %s", strerror(-r));
                goto fail;
        }
        s->go_sent = true;
        /* after the go: the child's exec does not wait for this */
        r = scope_watch(c);
        if (r < 0) {
                snprintf(text, sizeof text, "failed to set up the cgroups of %s: %s", c->unit, strerror(-r));
                goto fail;
        }
        return;

fail:
        log_warning("Container %s: %s", c->name, text);
        spawn_fail(c, r, STEP_CGROUP, text);
        /* nothing half-made: the child dies, the scope (if any) empties and goes away */
        if (c->leader_pidfd >= 0)
                (void) container_signal_leader(c, SIGKILL);
        /* EOF on the sync socket follows, and spawn_finish() reports; or it came already */
        if (s->finish_pending)
                spawn_finish(c);
}

static int open_journal_socket(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket" };
        _cleanup_close_ int fd = -EBADF;

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int manager_init_binary_load(Manager *m) {
        _cleanup_close_ int src = -EBADF, fd = -EBADF;
        const char *path = getenv("VESSEL_INIT_PATH") ?: VESSEL_LIBEXECDIR "/vessel-init";
        char buf[65536];
        int r;

        src = open(path, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return log_error_errno(errno, "Failed to open %s: %m", path);
        fd = memfd_create("vessel-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return log_error_errno(errno, "memfd_create() failed: %m");
        for (;;) {
                ssize_t n = read(src, buf, sizeof buf);
                if (n < 0)
                        return log_error_errno(errno, "Failed to read %s: %m", path);
                if (n == 0)
                        break;
                r = write_full(fd, buf, (size_t) n);
                if (r < 0)
                        return log_error_errno(r, "Failed to copy %s: %m", path);
        }
        (void) fchmod(fd, 0555);
        /* Sealed: nothing, not even root in a container holding it, can change what later
         * containers run as their PID 1 (CVE-2019-5736 rewrote runc through /proc/self/exe). */
        r = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        if (r < 0)
                return log_error_errno(errno, "Failed to seal the vessel-init memfd: %m");
        m->init_fd = TAKE_FD(fd);
        return 0;
}

static int on_leader_exit(sd_event_source *es, const siginfo_t *si, void *userdata) {
        Container *c = userdata;

        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        if (si->si_code == CLD_EXITED)
                container_on_exit(c, si->si_status, 0);
        else
                container_on_exit(c, 0, si->si_status);
        return 0;
}

/* A host stub resolver (systemd-resolved on 127.0.0.53) is unreachable from the container's network
 * namespace: hand the container the upstream servers resolved itself uses. */
static int resolv_conf_for_container(char **ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_full_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &text, NULL);
        if (r >= 0 && strstr(text, "nameserver 127.0.0.53")) {
                _cleanup_free_ char *upstream = NULL;
                if (read_full_file_at(AT_FDCWD, "/run/systemd/resolve/resolv.conf", 64 * 1024, &upstream, NULL) >= 0) {
                        free(text);
                        text = TAKE_PTR(upstream);
                }
        }
        if (r < 0) {
                text = strdup("");
                if (!text)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

static int write_etc_files(Container *c, int dir_fd) {
        _cleanup_free_ char *hosts = NULL, *resolv = NULL, *hostname = NULL;
        const char *h = c->settings.hostname ?: c->name;
        int r;

        hostname = strjoin(h, "\n");
        if (hostname && c->net.has_address) {
                /* bridge: itself and the other containers on the bridge (network.c keeps it current) */
                r = network_hosts_render(c, &hosts);
                if (r < 0)
                        return r;
        } else if (!hostname || asprintf(&hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t%s\n", h) < 0)
                return -ENOMEM;
        r = resolv_conf_for_container(&resolv);
        if (r < 0)
                return r;
        r = write_file_atomic_at(dir_fd, "hostname", hostname, strlen(hostname), 0644);
        if (r >= 0)
                r = write_file_atomic_at(dir_fd, "hosts", hosts, strlen(hosts), 0644);
        if (r >= 0)
                r = write_file_atomic_at(dir_fd, "resolv.conf", resolv, strlen(resolv), 0644);
        return r;
}

/* A user namespace mapping 0…65535 to base…base+65535, held by an fd: a short-lived child creates
 * it, we write its maps and keep a reference; the child is gone a moment later. */
int userns_make(uint32_t base, int *ret_fd) {
        _cleanup_close_pair_ int pipe_fds[2] = { -EBADF, -EBADF };
        char path[64], map[64];
        pid_t pid;
        int fd, r = 0;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return -errno;
        pid = clone_with_pidfd(CLONE_NEWUSER, /* ret_pidfd= */ NULL);
        if (pid < 0)
                return pid;
        if (pid == 0) {
                char x;
                pipe_fds[1] = safe_close(pipe_fds[1]);
                (void) read(pipe_fds[0], &x, 1); /* until the parent is done */
                _exit(0);
        }
        pipe_fds[0] = safe_close(pipe_fds[0]);

        snprintf(map, sizeof map, "0 %u 65536\n", base);
        FOREACH_STRING(f, "uid_map", "gid_map") {
                snprintf(path, sizeof path, "/proc/%i/%s", (int) pid, f);
                if (r >= 0)
                        r = write_string_file(path, map);
        }
        snprintf(path, sizeof path, "/proc/%i/ns/user", (int) pid);
        fd = r >= 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (r >= 0 && fd < 0)
                r = -errno;

        pipe_fds[1] = safe_close(pipe_fds[1]);
        (void) waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        *ret_fd = fd_move_high(fd);
        return 0;
}

int container_read_starttime(pid_t pid, uint64_t *ret) {
        return read_starttime(pid, ret);
}

static void close_own_fds(int (*fds)[SCOPE_OWN_MAX]) {
        close_many(*fds, SCOPE_OWN_MAX);
}

_Static_assert(1 + SETUP_SPEC_FDS_MAX <= SYNC_FDS_MAX, "the spec's memfd and its fds fit one message");

/* text gets what failed; returns r */
_printf_(4, 5) static int failf(char *text, size_t size, int r, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(text, size, fmt, ap);
        va_end(ap);
        return r;
}

/* (1), once systemd has been asked for the scope: the rest of what the setup needs, made while the job
 * runs, then the spec and its fds over the sync socket. On failure, text says what failed; the caller
 * ends the child. */
static int spawn_send_spec(Container *c, const char *rundir, const char *statedir, int netns_fd, bool new_netns,
                           char *text, size_t size) {
        _cleanup_free_ char *root = NULL, *upper = NULL, *work = NULL;
        _cleanup_close_pair_ int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int status_fd = -EBADF, journal_fd = -EBADF, spec_fd = -EBADF;
        _cleanup_(close_own_fds) int own[SCOPE_OWN_MAX] = { -EBADF, -EBADF, -EBADF };
        int fds[1 + SETUP_SPEC_FDS_MAX];
        size_t n_fds;
        Manager *m = c->manager;
        int r;

        root = strjoin(rundir, "/root");
        upper = strjoin(statedir, "/upper");
        work = strjoin(statedir, "/work");
        if (!root || !upper || !work)
                return failf(text, size, -ENOMEM, "Out of memory.");
        r = mkdir_parents_and_self(root, 0700);
        if (r < 0)
                return failf(text, size, r, "Failed to create %s: %s", root, strerror(-r));
        status_fd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (status_fd < 0)
                return failf(text, size, -errno, "Failed to open %s: %m", rundir);
        (void) unlinkat(status_fd, "exit", 0);

        r = write_etc_files(c, status_fd);
        if (r < 0)
                return failf(text, size, r, "Failed to write the /etc files of %s: %s", c->name, strerror(-r));

        if (c->settings.private_users != PRIVATE_USERS_NO && c->userns_fd < 0) {
                r = userns_make(c->uid_base, &c->userns_fd);
                if (r < 0)
                        return failf(text, size, r, "Failed to create the user namespace of %s: %s", c->name,
                                     strerror(-r));
        }

        journal_fd = open_journal_socket(); /* no journald: logs are dropped, the container runs */
        /* output for the journal, unless the caller takes it: its fds, or a terminal */
        bool journalled = c->settings.console_fd < 0;
        if ((journalled && c->settings.stdout_fd < 0 && pipe2(out_pipe, O_CLOEXEC) < 0) ||
            (journalled && c->settings.stderr_fd < 0 && pipe2(err_pipe, O_CLOEXEC) < 0))
                return failf(text, size, -errno, "Failed to create the output pipes: %m");

        /* v1: the cgroups that are ours, made now, joined by the child itself */
        free(c->cgroup_path);
        c->cgroup_path = NULL;
        r = scope_cgroup_path(c->settings.slice, c->unit, &c->cgroup_path);
        if (r >= 0)
                r = scope_prepare_own(c, own);
        if (r < 0)
                return failf(text, size, r, "Failed to set up the cgroups of %s: %s", c->name, strerror(-r));

        _cleanup_free_ SetupBind *binds = new0(SetupBind, c->settings.n_binds ?: 1);
        if (!binds)
                return failf(text, size, -ENOMEM, "Out of memory.");
        for (size_t i = 0; i < c->settings.n_binds; i++)
                binds[i] = (SetupBind) {
                        .source = c->settings.binds[i].source,
                        .destination = c->settings.binds[i].destination,
                        .read_only = c->settings.binds[i].read_only,
                };
        SetupSpec spec = {
                .sync_fd = -1, /* the socket this travels on */
                .status_dir_fd = status_fd,
                .journal_fd = journal_fd,
                .out_pipe = { out_pipe[0], out_pipe[1] },
                .err_pipe = { err_pipe[0], err_pipe[1] },
                .stdio = { c->settings.stdin_fd, c->settings.stdout_fd, c->settings.stderr_fd },
                .console_fd = c->settings.console_fd,
                .tty_rows = c->settings.tty_rows,
                .tty_columns = c->settings.tty_columns,
                .uid_base = c->uid_base,
                .netns_fd = netns_fd,
                .userns_fd = c->userns_fd,
                .cgroup_procs = { own[0], own[1], own[2] },
                .host_network = c->settings.network == NETWORK_HOST,
                /* bridge: we move the veth into it while systemd works, so it exists from the clone */
                .new_netns = new_netns && c->settings.network != NETWORK_BRIDGE,
                .read_only = c->settings.read_only,
                .cgroup_unified = m->cgroup_layout == CGROUP_LAYOUT_UNIFIED,
                .rundir = rundir,
                .root = root,
                .lower = c->lower_dir,
                .upper = upper,
                .work = work,
                .name = c->name,
                .id = c->id,
                .image = c->image,
                .binds = binds,
                .n_binds = c->settings.n_binds,
                .argv = c->settings.command,
        };
        container_app_defaults(c, &spec.app);
        network_setup_spec(c, &spec);
        n_fds = setup_spec_fds_collect(&spec, fds + 1);
        r = setup_spec_memfd(&spec, &spec_fd);
        if (r < 0)
                return failf(text, size, r, "Failed to describe %s to its setup: %s", c->name, strerror(-r));
        fds[0] = spec_fd;
        r = sync_send(c->spawn->sync_fd, &(SyncMessage) { .step = SYNC_SPEC }, fds, 1 + n_fds);
        if (r < 0)
                return failf(text, size, r, "the container's first process is gone: %s", strerror(-r));
        return 0;
}

int container_spawn(Container *c, sd_bus_error *error) {
        _cleanup_free_ char *rundir = NULL, *statedir = NULL, *missing = NULL;
        _cleanup_close_pair_ int sync_pair[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, netns_fd = -EBADF;
        Manager *m = c->manager;
        ContainerSpawn *s;
        pid_t pid;
        int r;

        if (!m->bus)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
                                         "No connection to systemd: containers need a systemd host.");

        r = container_runtime_dir(c, &rundir);
        if (r < 0)
                return r;
        r = container_state_dir(c, &statedir);
        if (r < 0)
                return r;

        /* What the caller did wrong is answered before systemd is asked for anything. */
        r = image_lower_dirs_check(c->lower_dir, &missing); /* one directory, or an image's layers */
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Root directory %s of container %s is gone: %m",
                                               strempty(missing), c->name);
        /* bridge: ports and an address (a port in use is refused here); container_start() releases
         * them if we fail */
        r = network_prepare(c, error);
        if (r < 0)
                return r;

        /* bridge: the veth's peer goes into the namespace while systemd works, so we need it now
         * (none ready: the clone makes one). Network=none: the setup makes its own, on its own CPU
         * time, and a pool refill would run in our loop while the scope's job is in flight. */
        if (c->settings.network == NETWORK_BRIDGE)
                netns_fd = netns_pool_take(m);
        bool new_netns = c->settings.network != NETWORK_HOST && netns_fd < 0;

        /* (1) the process first: the scope is asked for with its pid, and all the rest is made while
         * systemd works on it. The spare, made ahead, serves unless this one needs a network namespace
         * from its clone. */
        s = new0(ContainerSpawn, 1);
        if (!s)
                return -ENOMEM;
        s->container = c;
        s->sync_fd = -EBADF;

        bool clone_netns = new_netns && c->settings.network == NETWORK_BRIDGE;
        bool setup_netns = new_netns && !clone_netns; /* Network=none: the setup makes it */
        bool have_netns = false;                      /* the spare made one */
        bool host = c->settings.network == NETWORK_HOST;
        m->spare_want_netns = setup_netns;            /* the next spare guesses the next start is alike */
        if (host && m->spare_pid > 0 && m->spare_new_netns)
                /* a spare that guessed wrong joins the host's again, if we have it */
                netns_fd = fcntl(m->netns_pool_home, F_DUPFD_CLOEXEC, 3);
        if (clone_netns || !spare_take(m, host && netns_fd < 0, &pid, &pidfd, &s->sync_fd, &have_netns)) {
                if (host)
                        netns_fd = safe_close(netns_fd);
                if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0) {
                        free(s);
                        return -errno;
                }
                pid = setup_spawn(m, clone_netns ? CLONE_NEWNET : 0, setup_netns, sync_pair[1], &pidfd);
                if (pid < 0) {
                        free(s);
                        return sd_bus_error_set_errnof(error, pid, "Failed to create the container's process: %m");
                }
                s->sync_fd = TAKE_FD(sync_pair[0]);
        }
        c->spawn = s;

        c->leader = pid;
        c->leader_pidfd = fd_move_high(TAKE_FD(pidfd));
        c->leader_is_child = true;

        /* Guarded from here: every failure below kills the child, whose exit then does the rest. */
        r = sd_event_add_child_pidfd(m->event, &c->leader_source, c->leader_pidfd, WEXITED, on_leader_exit, c);
        if (r >= 0)
                r = sd_event_add_io(m->event, &s->sync_source, s->sync_fd, EPOLLIN, on_sync, c);
        if (r >= 0)
                r = scope_start(c);
        if (r >= 0) {
                char text[512];

                SpawnStep step = STEP_SETUP;
                int k;

                k = 0;
                if (!c->persisted) {
                        /* RunContainer: its record, now that systemd is at work (a failure removes
                         * the container once its start has failed) */
                        container_emit_new(c);
                        k = container_persist(c);
                        if (k < 0) {
                                (void) failf(text, sizeof text, k, "Failed to create the state of container %s: %s",
                                             c->name, strerror(-k));
                                c->remove_on_exit = true;
                        }
                }
                if (k >= 0)
                        k = spawn_send_spec(c, rundir, statedir, netns_fd, new_netns, text, sizeof text);
                if (k >= 0) {
                        /* (1) while systemd works on the scope: the veth */
                        step = STEP_NETWORK;
                        k = network_setup(c, pid, netns_fd);
                        if (k < 0)
                                snprintf(text, sizeof text, "failed to set up the network of %s: %s", c->name, strerror(-k));
                }
                if (k < 0) {
                        /* ESRCH: the child failed already (its namespace is gone); its own message is the
                         * one to report. A failure ends the child, whose EOF reports it like any other. */
                        if (k != -ESRCH)
                                spawn_fail(c, k, step, text);
                        (void) container_signal_leader(c, SIGKILL);
                }
        }

        if (r < 0) {
                (void) container_signal_leader(c, SIGKILL);
                if (!c->leader_source) {
                        (void) waitpid(pid, NULL, 0);
                        c->leader = 0;
                        c->leader_pidfd = safe_close(c->leader_pidfd);
                        c->mntns_fd = safe_close(c->mntns_fd);
                }
                c->spawn = container_spawn_free(s);
                return sd_bus_error_set_errnof(error, r, "Failed to start container %s: %m", c->name);
        }
        return 0;
}
