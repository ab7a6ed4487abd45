/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Spawning a container's first process.
 *
 * The parent (vesseld, in its event loop) and the child talk over one SOCK_SEQPACKET socketpair. The
 * sync points, numbered the same on both sides:
 *
 *   (1) parent: clone3(CLONE_PIDFD | namespaces); asks systemd for the scope with the child's pid;
 *               for Network=bridge, creates the veth pair with its peer "eth0" in the child's netns.
 *   (2) child:  builds the root (overlay, /proc, /dev, /sys, masks, binds), sets the host name,
 *               pivot_root()s, then blocks reading the socket. This overlaps with the scope job.
 *   (3) parent: the job is done (JobRemoved "done"): moves the child into the v1 cpuset/freezer
 *               cgroups, sends GO. If systemd refused, it kills the child instead; nothing is left.
 *   (4) child:  brings up lo and, for bridge, gives eth0 its address and the default route (it is
 *               still root with CAP_NET_ADMIN in its netns); enters a new cgroup namespace (now rooted at the scope), forks the app, which switches
 *               user, drops privileges, loads seccomp last and execs the command; the first process
 *               execveat()s vessel-init from the sealed memfd.
 *   (5) parent: EOF on the socket means both execs happened (the socket is CLOEXEC). A failure on
 *               either side arrives before that as a typed message {step, errno, text}.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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
#include "user-util.h"

static const char *const step_table[_STEP_MAX] = {
        [STEP_SETUP] = "setup", [STEP_MOUNT] = "mount", [STEP_BIND] = "bind", [STEP_HOSTNAME] = "hostname",
        [STEP_PIVOT] = "pivot_root", [STEP_CGROUP] = "cgroup", [STEP_USER] = "user", [STEP_CHDIR] = "chdir",
        [STEP_PRIVILEGES] = "privileges", [STEP_SECCOMP] = "seccomp", [STEP_EXEC] = "exec", [STEP_INIT] = "init",
        [STEP_NETWORK] = "network",
};

const char *spawn_step_to_string(int step) {
        return step >= 0 && step < _STEP_MAX ? step_table[step] : "?";
}

#define CHILD_FDS_MAX 9

struct ContainerSpawn {
        Container *container;
        int sync_fd;
        sd_event_source *sync_source;
        char *job;
        bool scope_done, go_sent;
        unsigned retries;
        sd_event_source *retry_timer;
        int error;       /* first failure, negative errno */
        int error_step;
        char *error_text;
        bool error_is_exec; /* the command itself could not run: the container ran and exited */
        /* the child's fds, while it still shares our fd table: closed when it tells us it has its own
         * (a close here before that would close them under it), or when it is gone */
        int child_fds[CHILD_FDS_MAX];
        size_t n_child_fds;
};

static void spawn_release_child_fds(ContainerSpawn *s) {
        close_many(s->child_fds, s->n_child_fds);
        s->n_child_fds = 0;
}

ContainerSpawn *container_spawn_free(ContainerSpawn *s) {
        if (!s)
                return NULL;
        if (s->job && s->container)
                (void) hashmap_remove(s->container->manager->jobs, s->job);
        sd_event_source_disable_unref(s->sync_source);
        sd_event_source_disable_unref(s->retry_timer);
        safe_close(s->sync_fd);
        spawn_release_child_fds(s);
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

const char *container_spawn_set_job(Container *c, const char *job) {
        if (free_and_strdup(&c->spawn->job, job) < 0)
                return NULL;
        return c->spawn->job;
}

/* ---------------------------------------------------------------- child ---- */

/* v1 hierarchies handed to the container with the go (cpu and cpuacct are co-mounted on most hosts,
 * apart on some) */
#define CGROUP_V1_HIERARCHIES "cpu,cpuacct", "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "devices", "freezer"
#define CGROUP_TREES_MAX SYNC_FDS_MAX

typedef struct ChildArgs {
        int sync_fd;
        int status_dir_fd;
        int journal_fd;
        int out_pipe[2], err_pipe[2];
        const char *rundir;
        int userns_fd; /* PrivateUsers: the container's user namespace, else -EBADF */
        int netns_fd;  /* a network namespace from the pool to join, else -EBADF */
        const char *root;
        const char *lower, *upper, *work;
        bool shares_fds; /* cloned with CLONE_FILES: unshare first, tell the parent */
} ChildArgs;

int sync_send(int sync_fd, const SyncMessage *msg, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * SYNC_FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = (void *) msg, .iov_len = sizeof *msg };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        assert(n_fds <= SYNC_FDS_MAX);
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

#define CHILD_CHECK(step, expr, ...)                                   \
        do {                                                           \
                if ((expr) < 0)                                        \
                        child_fail(a->sync_fd, step, errno, __VA_ARGS__); \
        } while (0)

static int openat2_in_root(int root_fd, const char *path, int flags) {
        struct open_how how = {
                .flags = flags | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        return (int) syscall(SYS_openat2, root_fd, path, &how, sizeof how);
}

/* Opens 'path' below root_fd as O_PATH, creating what is missing (directories, and the last component
 * as an empty file if last_is_file). Every step is resolved inside the root (RESOLVE_IN_ROOT): a
 * symlink in a hostile image may point anywhere, but never out of the root. */
static int mkdir_in_root(int root_fd, const char *path, bool last_is_file) {
        _cleanup_free_ char *p = strdup(path);
        char *slash;

        if (!p)
                return -ENOMEM;
        for (slash = p;; slash++) {
                bool last;
                int fd;

                slash = strchrnul(slash, '/');
                last = *slash == 0;
                *slash = 0;
                if (*p) {
                        fd = openat2_in_root(root_fd, p, O_PATH);
                        if (fd < 0 && errno == ENOENT) {
                                _cleanup_close_ int parent = -EBADF;
                                char *base = strrchr(p, '/');

                                if (base) {
                                        *base = 0;
                                        parent = openat2_in_root(root_fd, *p ? p : ".", O_PATH | O_DIRECTORY);
                                        *base = '/';
                                        base++;
                                } else {
                                        parent = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                                        base = p;
                                }
                                if (parent < 0)
                                        return -errno;
                                if (last && last_is_file) {
                                        int nfd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
                                        if (nfd < 0 && errno != EEXIST)
                                                return -errno;
                                        safe_close(nfd);
                                } else if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST)
                                        return -errno;
                                fd = openat2_in_root(root_fd, p, O_PATH);
                        }
                        if (fd < 0)
                                return -errno;
                        if (last)
                                return fd;
                        safe_close(fd);
                } else if (last)
                        return fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                *slash = '/';
        }
}

static void child_bind_paths(ChildArgs *a, const Settings *s, int root_fd) {
        for (size_t i = 0; i < s->n_binds; i++) {
                const BindPath *b = s->binds + i;
                _cleanup_close_ int src = -EBADF, dst = -EBADF;
                struct stat st;

                src = open_tree(AT_FDCWD, b->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (src < 0)
                        child_fail(a->sync_fd, STEP_BIND, errno, "Failed to open bind source %s: %m", b->source);
                if (fstat(src, &st) < 0)
                        child_fail(a->sync_fd, STEP_BIND, errno, "Failed to stat %s: %m", b->source);
                if (b->read_only) {
                        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                        if (mount_setattr(src, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                                child_fail(a->sync_fd, STEP_BIND, errno, "Failed to make %s read-only: %m",
                                           b->source);
                }
                dst = mkdir_in_root(root_fd, b->destination, !S_ISDIR(st.st_mode));
                if (dst < 0)
                        child_fail(a->sync_fd, STEP_BIND, dst, "Failed to create bind destination %s: %m",
                                   b->destination);
                if (move_mount(src, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        child_fail(a->sync_fd, STEP_BIND, errno, "Failed to bind %s to %s: %m", b->source,
                                   b->destination);
        }
}

static const char *const masked_paths[] = {
        "proc/acpi", "proc/asound", "proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list",
        "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware", "sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
        "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

/* Mounts onto an fd resolved inside the root: the kernel follows the /proc/self/fd magic link to the
 * directory the fd names, so a symlink in the image ("proc -> /etc") cannot redirect a mount. */
static int mount_on_fd(const char *source, int target_fd, const char *fstype, unsigned long flags, const char *data) {
        char p[64];

        snprintf(p, sizeof p, "/proc/self/fd/%i", target_fd);
        return mount(source, p, fstype, flags, data);
}

/* The API file systems' mount points: created if missing, and never a symlink, anywhere on the way
 * (an image's "proc -> etc" would otherwise put /proc over its /etc; CVE-2019-19921). */
static int open_dir_in_root(int root_fd, const char *path) {
        _cleanup_close_ int fd = mkdir_in_root(root_fd, path, /* last_is_file= */ false);
        struct open_how how = {
                .flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int dfd;

        if (fd < 0)
                return fd;
        dfd = (int) syscall(SYS_openat2, root_fd, path, &how, sizeof how);
        if (dfd < 0)
                return errno == ELOOP || errno == ENOTDIR ? -ELOOP : -errno;
        return dfd;
}

static void child_mount_at(ChildArgs *a, int root_fd, const char *path, const char *source, const char *fstype,
                           unsigned long flags, const char *data) {
        _cleanup_close_ int fd = open_dir_in_root(root_fd, path);

        if (fd == -ELOOP)
                child_fail(a->sync_fd, STEP_MOUNT, fd, "Refusing to mount /%s: it is a symlink in the image.", path);
        if (fd < 0)
                child_fail(a->sync_fd, STEP_MOUNT, fd, "Failed to create /%s: %m", path);
        if (mount_on_fd(source, fd, fstype, flags, data) < 0)
                child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to mount /%s: %m", path);
}

/* A read-only copy of a subtree, moved over itself. */
static int bind_readonly_at(int target_fd) {
        _cleanup_close_ int tree = -EBADF;
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };

        tree = open_tree(target_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
        if (tree < 0)
                return -errno;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
                return -errno;
        if (move_mount(tree, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

static void child_mount_api_filesystems(ChildArgs *a, int root_fd) {
        _cleanup_close_ int dev_fd = -EBADF;

        /* /proc: fresh, of the container's pid namespace */
        child_mount_at(a, root_fd, "proc", "proc", "proc", MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);

        /* /dev: a tmpfs with the few nodes a program expects, no host device */
        child_mount_at(a, root_fd, "dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
        dev_fd = openat2_in_root(root_fd, "dev", O_PATH | O_DIRECTORY);
        CHILD_CHECK(STEP_MOUNT, dev_fd, "Failed to open /dev: %m");
        static const struct {
                const char *name;
                unsigned maj, min;
        } nodes[] = {
                { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
                { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                CHILD_CHECK(STEP_MOUNT, mknodat(dev_fd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)),
                            "Failed to create /dev/%s: %m", nodes[i].name);
                (void) fchmodat(dev_fd, nodes[i].name, 0666, 0); /* umask */
        }
        child_mount_at(a, root_fd, "dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                       "newinstance,ptmxmode=0666,mode=620,gid=5");
        (void) symlinkat("pts/ptmx", dev_fd, "ptmx");
        child_mount_at(a, root_fd, "dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
        {
                _cleanup_close_ int mq = open_dir_in_root(root_fd, "dev/mqueue");
                if (mq >= 0)
                        (void) mount_on_fd("mqueue", mq, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        }
        (void) symlinkat("/proc/self/fd", dev_fd, "fd");
        (void) symlinkat("/proc/self/fd/0", dev_fd, "stdin");
        (void) symlinkat("/proc/self/fd/1", dev_fd, "stdout");
        (void) symlinkat("/proc/self/fd/2", dev_fd, "stderr");
        (void) symlinkat("/proc/kcore", dev_fd, "core");

        /* /sys: read-only; the cgroup tree is mounted after the cgroup namespace exists */
        child_mount_at(a, root_fd, "sys", "sysfs", "sysfs", MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV, NULL);

        /* the OCI default masks: files get /dev/null, directories an empty read-only tmpfs */
        for (size_t i = 0; i < ELEMENTSOF(masked_paths); i++) {
                _cleanup_close_ int fd = openat2_in_root(root_fd, masked_paths[i], O_PATH | O_NOFOLLOW);
                struct stat st;

                if (fd < 0 || fstat(fd, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode))
                        CHILD_CHECK(STEP_MOUNT, mount_on_fd("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0"),
                                    "Failed to mask /%s: %m", masked_paths[i]);
                else {
                        _cleanup_close_ int null_tree = open_tree(dev_fd, "null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                        if (null_tree < 0 ||
                            move_mount(null_tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                                child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to mask /%s: %m", masked_paths[i]);
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(readonly_paths); i++) {
                _cleanup_close_ int fd = openat2_in_root(root_fd, readonly_paths[i], O_PATH | O_NOFOLLOW);
                int r;

                if (fd < 0)
                        continue;
                r = bind_readonly_at(fd);
                if (r < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, r, "Failed to make /%s read-only: %m", readonly_paths[i]);
        }
}

/* /etc/hostname, /etc/hosts, /etc/resolv.conf: files of the runtime directory, bound over the image's
 * (created if missing), as Docker does; the image itself is never written. */
static void child_bind_etc_files(ChildArgs *a, int root_fd) {
        FOREACH_STRING(name, "hostname", "hosts", "resolv.conf") {
                _cleanup_close_ int src = -EBADF, dst = -EBADF;
                char path[PATH_MAX];

                /* by path, in our own mount namespace: open_tree() cannot clone a mount of another
                 * namespace, and the directory fd we inherited was opened in vesseld's */
                snprintf(path, sizeof path, "%s/%s", a->rundir, name);
                src = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (src < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to clone %s: %m", name);
                snprintf(path, sizeof path, "etc/%s", name);
                dst = mkdir_in_root(root_fd, path, /* last_is_file= */ true);
                if (dst < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, dst, "Failed to create /%s: %m", path);
                if (move_mount(src, "", dst, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to provide /%s: %m", path);
        }
}

/* The go: a SyncMessage, and on v1 the container's cgroup directories of each hierarchy as detached
 * read-only trees (their names, '\n'-separated, in its text). */
static ssize_t child_recv_go(ChildArgs *a, SyncMessage *go, int *fds, size_t *n_fds) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * CGROUP_TREES_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = go, .iov_len = sizeof *go };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        ssize_t n;

        *n_fds = 0;
        n = recvmsg(a->sync_fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
                return n;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        memcpy(fds, CMSG_DATA(c), MIN(k, (size_t) CGROUP_TREES_MAX) * sizeof(int));
                        *n_fds = MIN(k, (size_t) CGROUP_TREES_MAX);
                }
        go->text[sizeof go->text - 1] = 0;
        return n;
}

static void child_mount_cgroup(ChildArgs *a, CgroupLayout layout, const char *names, const int *fds, size_t n_fds) {
        /* After unshare(CLONE_NEWCGROUP) a cgroup2 mount shows the container's own subtree, the
         * delegated one, writable. On v1 (no delegation of v1 controllers) each hierarchy shows the
         * container's own cgroup, read-only: bind mounts vesseld made of them, not a cgroup mount per
         * hierarchy and container (each of those is a superblock of its own that every later mount
         * searches, and it walks every cgroup of the hierarchy). */
        if (access("/sys/fs/cgroup", F_OK) < 0)
                return;
        if (layout == CGROUP_LAYOUT_UNIFIED) {
                CHILD_CHECK(STEP_CGROUP, mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
                            "Failed to mount /sys/fs/cgroup: %m");
                return;
        }

        CHILD_CHECK(STEP_CGROUP, mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k"),
                    "Failed to mount /sys/fs/cgroup: %m");
        const char *name = names;
        for (size_t i = 0; i < n_fds && name && *name; i++) {
                const char *end = strchrnul(name, '\n');
                char p[64];

                snprintf(p, sizeof p, "/sys/fs/cgroup/%.*s", (int) (end - name), name);
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        child_fail(a->sync_fd, STEP_CGROUP, errno, "Failed to create %s: %m", p);
                CHILD_CHECK(STEP_CGROUP, move_mount(fds[i], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH),
                            "Failed to attach the cgroup hierarchy at %s: %m", p);
                name = *end ? end + 1 : NULL;
        }
        close_many(fds, n_fds);
        (void) mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k");
}

static char **child_environment(Container *c, const UserRecord *u) {
        char **env = NULL;
        char buf[PATH_MAX + 16];

        (void) strv_env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        snprintf(buf, sizeof buf, "HOSTNAME=%s", c->settings.hostname ?: c->name);
        (void) strv_env_set(&env, buf);
        snprintf(buf, sizeof buf, "HOME=%s", u && u->home ? u->home : "/root");
        (void) strv_env_set(&env, buf);
        (void) strv_env_set(&env, "container=vessel");
        STRV_FOREACH(e, c->settings.environment)
                (void) strv_env_set(&env, *e);
        return env;
}

static int capability_last(void) {
        static int last = -1;
        _cleanup_free_ char *s = NULL;

        if (last >= 0)
                return last;
        if (read_one_line_file("/proc/sys/kernel/cap_last_cap", &s) >= 0)
                last = atoi(s);
        if (last <= 0)
                last = CAP_LAST_CAP;
        return last;
}

/* Only the bounding set: an exec as root gets exactly it as permitted and effective set, one as
 * another user gets nothing, and the inheritable and ambient sets stay empty, as in Docker. */
void child_drop_bounding(int sync_fd, const Settings *s) {
        uint64_t keep = 0;
        int last = capability_last();

        if (s->capabilities_set) {
                STRV_FOREACH(n, s->capabilities) {
                        int cap = capability_from_name(*n);
                        if (cap >= 0)
                                keep |= 1ULL << cap;
                }
        } else
                for (const char *const *n = default_capabilities; *n; n++)
                        keep |= 1ULL << capability_from_name(*n);

        for (int cap = 0; cap <= last; cap++)
                if (!(keep & (1ULL << cap)))
                        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                                child_fail(sync_fd, STEP_PRIVILEGES, errno, "Failed to drop capability %i: %m", cap);
}

/* The last steps before a command runs, for a container's app and for a process exec'd into it:
 * stdio, user, environment, working directory, no_new_privs, seccomp, exec. */
_noreturn_ void child_exec_app(int sync_fd, Container *c, const AppParams *p) {
        const Settings *s = &c->settings;
        Manager *m = c->manager;
        _cleanup_(user_record_done) UserRecord u = {};
        const char *user = p->user ?: s->user;
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
                child_drop_bounding(sync_fd, s);
        }
        if (dup2(p->stdio[0], 0) < 0 || dup2(p->stdio[1], 1) < 0 || dup2(p->stdio[2], 2) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to set up standard I/O: %m");

        /* from here on a failure is also the process's own last words, where the caller reads them */
#define APP_FAIL(step, err, ...)                                                          \
        do {                                                                              \
                int _e_ = abs(err);                                                       \
                if (p->report_exec_on_stderr) {                                           \
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

        env = child_environment(c, user ? &u : NULL);
        STRV_FOREACH(e, p->extra_env)
                (void) strv_env_set(&env, *e);
        if (!env)
                APP_FAIL(STEP_SETUP, ENOMEM, "Out of memory.");

        wd = p->working_directory ?: s->working_directory ?: "/";
        if (chdir(wd) < 0)
                APP_FAIL(STEP_CHDIR, errno, "Failed to change to working directory %s: %m", wd);

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                APP_FAIL(STEP_PRIVILEGES, errno, "Failed to set no_new_privs: %m");

        /* Every fd we did not mean to pass is closed on exec (CVE-2024-21626 leaked one). */
        (void) syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);

        /* seccomp last: nothing after it but the exec */
        if (s->seccomp == SECCOMP_DEFAULT && m->seccomp_bpf) {
                struct sock_fprog prog = {
                        .len = m->seccomp_bpf_size / sizeof(struct sock_filter),
                        .filter = m->seccomp_bpf,
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

/* PrivateUsers: every lower layer is presented through an idmapped mount (host uid 0 → the container's
 * root), attached below the runtime directory; the overlay goes over those. The image itself is never
 * chowned. Returns the new lowerdir= list. */
static char *child_idmap_lowers(ChildArgs *a) {
        _cleanup_free_ char *list = strdup(a->lower), *result = strdup("");
        unsigned i = 0;

        if (!list || !result)
                child_fail(a->sync_fd, STEP_MOUNT, ENOMEM, "Out of memory.");
        for (char *dir = strtok(list, ":"); dir; dir = strtok(NULL, ":"), i++) {
                _cleanup_close_ int tree = -EBADF;
                struct mount_attr attr = {
                        .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                        .userns_fd = a->userns_fd,
                };
                char target[PATH_MAX];
                char *n;

                tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
                if (tree < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to open layer %s: %m", dir);
                if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, errno,
                                   "Cannot present %s through an idmapped mount (needed for PrivateUsers; its file "
                                   "system may not support it): %m", dir);
                snprintf(target, sizeof target, "%s/lower%u", a->rundir, i);
                if (mkdir(target, 0700) < 0 && errno != EEXIST)
                        child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to create %s: %m", target);
                if (move_mount(tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                        child_fail(a->sync_fd, STEP_MOUNT, errno, "Failed to attach layer %s: %m", dir);
                n = strjoin(result, *result ? ":" : "", target);
                if (!n)
                        child_fail(a->sync_fd, STEP_MOUNT, ENOMEM, "Out of memory.");
                free(result);
                result = n;
        }
        return TAKE_PTR(result);
}

typedef struct AppStart {
        int sync_fd;
        Container *container;
        AppParams params;
} AppStart;

static int app_main(void *userdata) {
        AppStart *start = userdata;

        child_exec_app(start->sync_fd, start->container, &start->params);
}

/* The app's process, as vfork() makes one: in our memory, on a stack of its own, while we wait for
 * its exec (or its death). fork() would copy the page tables of all of vesseld's memory, which we
 * still have, only for the exec to throw them away. Everything the app does until its exec touches
 * only what we no longer need, or what it sets up for itself (environ, restored below). */
static pid_t app_spawn(AppStart *start) {
        const size_t stack_size = 1024 * 1024;
        char **saved_environ = environ;
        void *stack;
        pid_t pid;

        stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (stack == MAP_FAILED)
                return -errno;
        pid = clone(app_main, (char *) stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, start);
        if (pid < 0)
                pid = -errno;
        environ = saved_environ;
        (void) munmap(stack, stack_size);
        return pid;
}

_noreturn_ static void child_main(ChildArgs *a, Container *c, int parent_sync_fd) {
        const Settings *s = &c->settings;
        Manager *m = c->manager;
        _cleanup_close_ int root_fd = -EBADF;
        int stdin_fd, stdout_fd, stderr_fd;
        _cleanup_free_ char *opts = NULL;
        sigset_t all;
        SyncMessage go;
        ssize_t n;
        pid_t app;

        /* First of all, while vesseld's fds are ours too: a table of our own, with only the fds below
         * FD_HIGH_MIN copied, and vesseld told, so it can close its copies of ours. */
        if (a->shares_fds) {
                SyncMessage unshared = { .step = -1 };

                if (syscall(SYS_close_range, FD_HIGH_MIN, ~0U, CLOSE_RANGE_UNSHARE) < 0 && unshare(CLONE_FILES) < 0)
                        child_fail(a->sync_fd, STEP_SETUP, errno, "Failed to unshare the fd table: %m");
                if (sync_send(a->sync_fd, &unshared, NULL, 0) < 0)
                        _exit(125);
        }
        (void) safe_close(parent_sync_fd);

        /* vesseld blocks the signals it handles; the container starts with a clean slate. */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        /* If vesseld dies before the container runs, the container goes too: nothing half-made. */
        CHILD_CHECK(STEP_SETUP, prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0), "prctl() failed: %m");

        if (a->netns_fd >= 0) {
                CHILD_CHECK(STEP_NETWORK, setns(a->netns_fd, CLONE_NEWNET), "Failed to join the network namespace: %m");
                a->netns_fd = safe_close(a->netns_fd);
        }
        /* lo, in every namespace but the host's; the rest of the network once the parent made it */
        if (s->network != NETWORK_HOST) {
                int nr = network_setup_child_loopback();
                if (nr < 0)
                        child_fail(a->sync_fd, STEP_NETWORK, nr, "Failed to bring up the loopback device: %s",
                                   strerror(-nr));
        }

        /* (2) the root */
        CHILD_CHECK(STEP_MOUNT, mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL),
                    "Failed to make the mount tree a slave: %m");
        _cleanup_free_ char *lower = NULL;
        if (a->userns_fd >= 0)
                lower = child_idmap_lowers(a);
        if (asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower ?: a->lower, a->upper, a->work) < 0)
                child_fail(a->sync_fd, STEP_MOUNT, ENOMEM, "Out of memory.");
        CHILD_CHECK(STEP_MOUNT, mount("overlay", a->root, "overlay", MS_NOSUID | MS_NODEV, opts),
                    "Failed to mount the overlay root (lower %s): %m", a->lower);

        root_fd = open(a->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHILD_CHECK(STEP_MOUNT, root_fd, "Failed to open the root: %m");
        child_mount_api_filesystems(a, root_fd);
        child_bind_etc_files(a, root_fd);
        child_bind_paths(a, s, root_fd);

        CHILD_CHECK(STEP_HOSTNAME, sethostname(s->hostname ?: c->name, strlen(s->hostname ?: c->name)),
                    "Failed to set the host name: %m");

        if (s->read_only)
                CHILD_CHECK(STEP_MOUNT, mount(NULL, a->root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL),
                            "Failed to make the root read-only: %m");

        CHILD_CHECK(STEP_PIVOT, chdir(a->root), "Failed to enter the root: %m");
        CHILD_CHECK(STEP_PIVOT, syscall(SYS_pivot_root, ".", "."), "pivot_root() failed: %m");
        CHILD_CHECK(STEP_PIVOT, umount2(".", MNT_DETACH), "Failed to detach the old root: %m");
        CHILD_CHECK(STEP_PIVOT, chdir("/"), "chdir(/) failed: %m");

        /* what needs no scope yet: the bounding set (the effective set still has what the mounts
         * below take), and what a user expects of a container (Docker's default) as its file limit;
         * we keep what we have where the kernel's nr_open is lower */
        child_drop_bounding(a->sync_fd, s);
        struct rlimit nofile = { 1048576, 1048576 };
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
                nofile = (struct rlimit) { 524288, 524288 };
                (void) setrlimit(RLIMIT_NOFILE, &nofile);
        }

        /* (2) → (3): wait for the scope */
        int cgroup_fds[CGROUP_TREES_MAX];
        size_t n_cgroup_fds;
        n = child_recv_go(a, &go, cgroup_fds, &n_cgroup_fds);
        if (n <= 0)
                _exit(125); /* the parent gave up on us */

        /* (4) the network: our end of the veth is here since (1); eth0's address, the route */
        int nr = network_setup_child(c);
        if (nr < 0)
                child_fail(a->sync_fd, STEP_NETWORK, nr, "Failed to configure the container's network: %s",
                           strerror(-nr));

        CHILD_CHECK(STEP_CGROUP, unshare(CLONE_NEWCGROUP), "Failed to create the cgroup namespace: %m");
        child_mount_cgroup(a, m->cgroup_layout, go.text, cgroup_fds, n_cgroup_fds);

        /* From here on we outlive vesseld. */
        CHILD_CHECK(STEP_SETUP, prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), "prctl() failed: %m");

        /* Signals that arrive between fork() and the two execs stay pending, for vessel-init to
         * forward and for the app to receive; the app unblocks right before its exec. */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        stdin_fd = s->stdin_fd >= 0 ? s->stdin_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHILD_CHECK(STEP_SETUP, stdin_fd, "Failed to open /dev/null: %m");
        stdout_fd = s->stdout_fd >= 0 ? s->stdout_fd : a->out_pipe[1];
        stderr_fd = s->stderr_fd >= 0 ? s->stderr_fd : a->err_pipe[1];

        AppStart start = {
                .sync_fd = a->sync_fd,
                .container = c,
                .params = {
                        .argv = s->command,
                        .stdio = { stdin_fd, stdout_fd, stderr_fd },
                        .setsid = true,
                        .userns_fd = a->userns_fd,
                },
        };
        app = app_spawn(&start);
        CHILD_CHECK(STEP_SETUP, app, "Failed to start the app's process: %m");

        /* The first process becomes vessel-init: pid 1, reaper, log relay. */
        a->out_pipe[1] = safe_close(a->out_pipe[1]);
        a->err_pipe[1] = safe_close(a->err_pipe[1]);

        char arg_app[32], arg_status[32], arg_journal[32], arg_out[32], arg_err[32];
        char *arg_name = NULL, *arg_id = NULL, *arg_image = NULL;
        char *argv[12];
        size_t k = 0;

        argv[k++] = (char *) "vessel-init";
        snprintf(arg_app, sizeof arg_app, "--app-pid=%i", (int) app);
        argv[k++] = arg_app;
        snprintf(arg_status, sizeof arg_status, "--status-fd=%i", a->status_dir_fd);
        argv[k++] = arg_status;
        (void) fd_set_cloexec(a->status_dir_fd, false);
        if (a->journal_fd >= 0) {
                snprintf(arg_journal, sizeof arg_journal, "--journal-fd=%i", a->journal_fd);
                argv[k++] = arg_journal;
                (void) fd_set_cloexec(a->journal_fd, false);
        }
        if (a->out_pipe[0] >= 0) {
                snprintf(arg_out, sizeof arg_out, "--stdout-fd=%i", a->out_pipe[0]);
                argv[k++] = arg_out;
                (void) fd_set_cloexec(a->out_pipe[0], false);
        }
        if (a->err_pipe[0] >= 0) {
                snprintf(arg_err, sizeof arg_err, "--stderr-fd=%i", a->err_pipe[0]);
                argv[k++] = arg_err;
                (void) fd_set_cloexec(a->err_pipe[0], false);
        }
        if (asprintf(&arg_name, "--name=%s", c->name) < 0 || asprintf(&arg_id, "--id=%s", c->id) < 0 ||
            asprintf(&arg_image, "--image=%s", c->image) < 0)
                child_fail(a->sync_fd, STEP_INIT, ENOMEM, "Out of memory.");
        argv[k++] = arg_name;
        argv[k++] = arg_id;
        argv[k++] = arg_image;
        argv[k] = NULL;

        /* stdin/stdout/stderr of vessel-init itself: /dev/null, the container's own */
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
                (void) dup2(null_fd, 0);
                (void) dup2(null_fd, 1);
                (void) dup2(null_fd, 2);
        }

        char *envp[] = { NULL };
        syscall(SYS_execveat, m->init_fd, "", argv, envp, AT_EMPTY_PATH);
        int e = errno;
        (void) kill(app, SIGKILL);
        child_fail(a->sync_fd, STEP_INIT, e, "Failed to execute vessel-init: %m");
}

/* --------------------------------------------------------------- parent ---- */

static void spawn_fail(Container *c, int r, int step, const char *text) {
        ContainerSpawn *s = c->spawn;

        if (!s || s->error < 0)
                return;
        s->error = r < 0 ? r : -EIO;
        s->error_step = step;
        (void) free_and_strdup(&s->error_text, text);
}

static void spawn_finish(Container *c) {
        ContainerSpawn *s = c->spawn;
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = s->error;

        if (r < 0)
                sd_bus_error_setf(&error, BUS_ERROR_SPAWN_FAILED, "Container %s failed to start: %s", c->name,
                                  s->error_text ?: strerror(-r));
        c->exec_failed = r < 0 && s->error_is_exec;
        c->spawn = container_spawn_free(s);
        container_on_started(c, r, r < 0 ? &error : NULL);
}

static int on_sync(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        ContainerSpawn *s = c->spawn;
        SyncMessage msg;
        ssize_t n;

        n = recv(fd, &msg, sizeof msg, MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                n = 0;
        }
        if (n > 0 && msg.step < 0) {
                /* the child has a table of its own now: our copies of its fds can go */
                spawn_release_child_fds(s);
                return 0;
        }
        if (n > 0) {
                msg.text[sizeof msg.text - 1] = 0;
                log_debug("Container %s: child failed at step %s: %s", c->name,
                          msg.step >= 0 && msg.step < _STEP_MAX ? step_table[msg.step] : "?", msg.text);
                spawn_fail(c, -msg.error, msg.step, msg.text);
                s->error_is_exec = msg.step == STEP_EXEC;
                return 0;
        }

        /* EOF: both execs happened, or the child died. */
        s->sync_source = sd_event_source_disable_unref(s->sync_source);
        if (!s->go_sent && s->error >= 0)
                spawn_fail(c, -EIO, STEP_SETUP, "the container's first process died during setup");
        spawn_finish(c);
        return 0;
}

/* v1: the container's cgroup of each hierarchy, as a detached read-only tree for the child to attach;
 * their names, '\n'-separated, go into names. On v2 none. */
static int cgroup_trees_open(Container *c, int fds[static CGROUP_TREES_MAX], size_t *ret_n, char *names, size_t size) {
        size_t n = 0, len = 0;
        int r = 0;

        *names = 0;
        if (c->manager->cgroup_layout != CGROUP_LAYOUT_UNIFIED)
                FOREACH_STRING(ctl, CGROUP_V1_HIERARCHIES) {
                        struct mount_attr attr = {
                                .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
                        };
                        _cleanup_free_ char *path = strjoin("/sys/fs/cgroup/", ctl, c->cgroup_path);
                        _cleanup_close_ int fd = -EBADF;
                        char top[64];
                        struct stat st;

                        if (!path) {
                                r = -ENOMEM;
                                break;
                        }
                        /* cpu → cpu,cpuacct and the like: the hierarchy comes under its own name */
                        snprintf(top, sizeof top, "/sys/fs/cgroup/%s", ctl);
                        if (lstat(top, &st) < 0 || !S_ISDIR(st.st_mode))
                                continue;
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
        r = scope_attach_extra(c, c->leader);
        if (r < 0) {
                snprintf(text, sizeof text, "failed to set up the cgroups of %s: %s", c->unit, strerror(-r));
                goto fail;
        }
        int trees[CGROUP_TREES_MAX];
        size_t n_trees = 0;
        r = cgroup_trees_open(c, trees, &n_trees, go.text, sizeof go.text);
        if (r < 0) {
                snprintf(text, sizeof text, "failed to hand the container its cgroups: %s", strerror(-r));
                goto fail;
        }
        r = sync_send(s->sync_fd, &go, trees, n_trees);
        close_many(trees, n_trees);
        if (r < 0) {
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
        /* EOF on the sync socket follows; spawn_finish() reports */
}

void container_spawn_abort(Container *c) {
        if (!c->spawn)
                return;
        if (c->leader_pidfd >= 0)
                (void) container_signal_leader(c, SIGKILL);
        c->spawn = container_spawn_free(c->spawn);
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
                if (write(fd, buf, n) != n)
                        return log_error_errno(errno, "Failed to copy %s: %m", path);
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
        /* died before it had a table of its own: the EOF on the sync socket that reports it needs
         * our copy of its end closed */
        if (c->spawn)
                spawn_release_child_fds(c->spawn);
        if (si->si_code == CLD_EXITED)
                container_on_exit(c, si->si_status, 0);
        else
                container_on_exit(c, 0, si->si_status);
        return 0;
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

static int open_ns(pid_t pid, const char *type) {
        char path[64];

        snprintf(path, sizeof path, "/proc/%i/ns/%s", (int) pid, type);
        return fd_move_high(open(path, O_RDONLY | O_CLOEXEC));
}

int container_read_starttime(pid_t pid, uint64_t *ret) {
        return read_starttime(pid, ret);
}

int container_spawn(Container *c, sd_bus_error *error) {
        _cleanup_free_ char *rundir = NULL, *statedir = NULL, *root = NULL, *upper = NULL, *work = NULL;
        _cleanup_close_pair_ int sync_pair[2] = { -EBADF, -EBADF };
        _cleanup_close_pair_ int out_pipe[2] = { -EBADF, -EBADF }, err_pipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int status_fd = -EBADF, journal_fd = -EBADF, pidfd = -EBADF, netns_fd = -EBADF,
                userns_fd = -EBADF;
        Manager *m = c->manager;
        ContainerSpawn *s;
        ChildArgs a;
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
        root = strjoin(rundir, "/root");
        upper = strjoin(statedir, "/upper");
        work = strjoin(statedir, "/work");
        if (!root || !upper || !work)
                return -ENOMEM;
        r = mkdir_parents_and_self(root, 0700);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to create %s: %m", root);
        _cleanup_free_ char *missing = NULL;
        r = image_lower_dirs_check(c->lower_dir, &missing); /* one directory, or an image's layers */
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Root directory %s of container %s is gone: %m",
                                               strempty(missing), c->name);

        status_fd = open(rundir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (status_fd < 0)
                return sd_bus_error_set_errnof(error, errno, "Failed to open %s: %m", rundir);
        (void) unlinkat(status_fd, "exit", 0);

        /* bridge: ports and an address, before the hosts file that names it; container_start()
         * releases them if we fail */
        r = network_prepare(c, error);
        if (r < 0)
                return r;

        r = write_etc_files(c, status_fd);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to write /etc files of container %s: %m", c->name);

        if (c->settings.private_users != PRIVATE_USERS_NO && c->userns_fd < 0) {
                r = userns_make(c->uid_base, &c->userns_fd);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to create the user namespace of %s: %m", c->name);
        }

        journal_fd = open_journal_socket(); /* no journald: logs are dropped, the container runs */
        if (c->settings.network != NETWORK_HOST)
                netns_fd = netns_pool_take(m); /* none ready: the clone makes one */

        if (c->userns_fd >= 0) {
                userns_fd = fcntl(c->userns_fd, F_DUPFD_CLOEXEC, 3); /* ours is above FD_HIGH_MIN */
                if (userns_fd < 0)
                        return -errno;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0)
                return -errno;
        if (c->settings.stdout_fd < 0 && pipe2(out_pipe, O_CLOEXEC) < 0)
                return -errno;
        if (c->settings.stderr_fd < 0 && pipe2(err_pipe, O_CLOEXEC) < 0)
                return -errno;

        /* The child shares our fd table (no copy of one fd of every container) when all it needs
         * is below FD_HIGH_MIN: what we made for it, and the client's stdio, which stays ours. */
        int *child_fds[CHILD_FDS_MAX] = { &sync_pair[1], &status_fd, &journal_fd, &out_pipe[0], &out_pipe[1],
                                          &err_pipe[0], &err_pipe[1], &netns_fd, &userns_fd };
        bool share = c->settings.stdin_fd < FD_HIGH_MIN && c->settings.stdout_fd < FD_HIGH_MIN &&
                     c->settings.stderr_fd < FD_HIGH_MIN;
        for (size_t i = 0; i < CHILD_FDS_MAX; i++)
                if (*child_fds[i] >= FD_HIGH_MIN)
                        share = false;

        a = (ChildArgs) {
                .sync_fd = sync_pair[1],
                .status_dir_fd = status_fd,
                .journal_fd = journal_fd,
                .out_pipe = { out_pipe[0], out_pipe[1] },
                .err_pipe = { err_pipe[0], err_pipe[1] },
                .rundir = rundir,
                .userns_fd = userns_fd,
                .netns_fd = netns_fd,
                .root = root,
                .lower = c->lower_dir,
                .upper = upper,
                .work = work,
                .shares_fds = share,
        };

        /* (1) */
        s = calloc(1, sizeof(ContainerSpawn));
        if (!s)
                return -ENOMEM;
        s->container = c;

        pid = clone_with_pidfd(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (share ? CLONE_FILES : 0) |
                                       (c->settings.network == NETWORK_HOST || netns_fd >= 0 ? 0 : CLONE_NEWNET),
                               &pidfd);
        if (pid < 0) {
                free(s);
                return sd_bus_error_set_errnof(error, pid, "Failed to create the container's process: %m");
        }
        if (pid == 0)
                child_main(&a, c, sync_pair[0]);

        s->sync_fd = TAKE_FD(sync_pair[0]);
        c->spawn = s;

        c->leader = pid;
        c->leader_pidfd = fd_move_high(TAKE_FD(pidfd));
        c->leader_is_child = true;

        /* Guarded from here: every failure below kills the child, whose exit then does the rest. */
        r = sd_event_add_child_pidfd(m->event, &c->leader_source, c->leader_pidfd, WEXITED, on_leader_exit, c);
        if (r >= 0)
                r = sd_event_add_io(m->event, &s->sync_source, s->sync_fd, EPOLLIN, on_sync, c);
        if (r >= 0) {
                free(c->cgroup_path);
                c->cgroup_path = NULL;
                r = scope_cgroup_path(c->settings.slice, c->unit, &c->cgroup_path);
        }
        if (r >= 0)
                r = scope_start(c);
        if (r >= 0) {
                /* (1) while systemd works on the scope: the veth, and the cgroups that are ours. A
                 * failure ends the child, whose EOF reports it like any other. */
                SpawnStep step = STEP_NETWORK;
                int k;

                (void) read_starttime(pid, &c->leader_starttime);
                c->mntns_fd = safe_close(c->mntns_fd);
                c->mntns_fd = open_ns(pid, "mnt"); /* best effort: without it, the exit is noticed later */
                k = network_setup(c, pid, netns_fd);
                if (k >= 0) {
                        step = STEP_CGROUP;
                        k = scope_attach_own(c, pid);
                }
                if (k < 0) {
                        char text[256];
                        snprintf(text, sizeof text, "failed to set up the %s of %s: %s",
                                 step == STEP_NETWORK ? "network" : "cgroups", c->name, strerror(-k));
                        /* ESRCH: the child failed already (its namespace is gone); its own message is the
                         * one to report */
                        if (k != -ESRCH)
                                spawn_fail(c, k, step, text);
                        (void) container_signal_leader(c, SIGKILL);
                }
        }

        /* the child's fds (network_setup() above used the netns): ours to close now, or, while it
         * shares our table, once it has its own */
        for (size_t i = 0; i < CHILD_FDS_MAX; i++)
                if (share)
                        s->child_fds[s->n_child_fds++] = TAKE_FD(*child_fds[i]);
                else
                        *child_fds[i] = safe_close(*child_fds[i]);

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
