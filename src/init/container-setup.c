/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vessel-init's setup mode: a container's first process, from its start to the app's.
 *
 * vesseld clones it (CLONE_VM | CLONE_VFORK: no copy of vesseld's memory, vesseld waits the few
 * microseconds to the exec) in a new pid namespace (and for Network=bridge a network namespace, which
 * vesseld needs at once for the veth), and it execveat()s vessel-init from the sealed memfd with
 * --setup-fd, the sync socket; the process holds no other fd of vesseld's. From there, numbered as in
 * container-spawn.c:
 *
 *   (0) makes its mount, uts and ipc namespaces (and with --new-netns its network namespace), so that
 *       their cost overlaps vesseld's work, or, for a spare, comes before the start;
 *   (1) receives the spec (setup-spec.h) in a memfd with the fds it names, which vesseld sends once it
 *       has asked systemd for the scope with our pid (so vesseld's preparation overlaps the job too);
 *   (2) makes a network namespace if the spec wants one that (0) did not make, or joins the pool's (or
 *       the host's, when (0) made one and the container has the host's network); on v1 joins its
 *       cpuset and freezer cgroups (on a thread); brings up lo; builds the root
 *       (overlay, /proc, /dev, /sys, masks, /etc files, binds), sets the host name, pivot_root()s,
 *       drops the bounding set, then blocks reading the sync socket. This overlaps with systemd's
 *       scope job.
 *   (4) on the go: for Network=bridge gives eth0 (moved in by vesseld meanwhile) its address and
 *       default route; enters a new cgroup namespace (rooted at the scope now), mounts the cgroup
 *       trees it got with the go; spawns the app, which switches user, drops privileges, loads
 *       seccomp last and execs the command; then it becomes vessel-init proper, in place.
 *
 * Any failure is a typed message on the sync socket (spawn-proto.h) and exit status 125.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "app-exec.h"
#include "container-setup.h"
#include "fd-util.h"
#include "mount-compat.h"
#include "netlink-raw.h"
#include "setup-spec.h"
#include "spawn-proto.h"
#include "string-util.h"

#define CGROUP_TREES_MAX SYNC_FDS_MAX

extern char **environ;

#define CHILD_CHECK(step, expr, ...)                                        \
        do {                                                                \
                if ((expr) < 0)                                             \
                        child_fail(a->sync_fd, step, errno, __VA_ARGS__);   \
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

static void child_bind_paths(SetupSpec *a, int root_fd) {
        for (size_t i = 0; i < a->n_binds; i++) {
                const SetupBind *b = a->binds + i;
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

static void child_mount_at(SetupSpec *a, int root_fd, const char *path, const char *source, const char *fstype,
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

static void child_mount_api_filesystems(SetupSpec *a, int root_fd) {
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
                       "newinstance,ptmxmode=0666,mode=620,gid=" XSTRINGIFY(TTY_GID));
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
static void child_bind_etc_files(SetupSpec *a, int root_fd) {
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

static void child_mount_cgroup(SetupSpec *a, const char *names, const int *fds, size_t n_fds) {
        /* After unshare(CLONE_NEWCGROUP) a cgroup2 mount shows the container's own subtree, the
         * delegated one, writable. On v1 (no delegation of v1 controllers) each hierarchy shows the
         * container's own cgroup, read-only: bind mounts vesseld made of them, not a cgroup mount per
         * hierarchy and container (each of those is a superblock of its own that every later mount
         * searches, and it walks every cgroup of the hierarchy). */
        if (access("/sys/fs/cgroup", F_OK) < 0)
                return;
        if (a->cgroup_unified) {
                CHILD_CHECK(STEP_CGROUP, mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
                            "Failed to mount /sys/fs/cgroup: %m");
                return;
        }

        CHILD_CHECK(STEP_CGROUP, mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k"),
                    "Failed to mount /sys/fs/cgroup: %m");
        /* everything below relative to the tmpfs: a path through /sys takes sysfs' lock at every step,
         * which every new network namespace in the machine takes to write */
        _cleanup_close_ int top = open("/sys/fs/cgroup", O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHILD_CHECK(STEP_CGROUP, top, "Failed to open /sys/fs/cgroup: %m");
        const char *name = names;
        for (size_t i = 0; i < n_fds && name && *name; i++) {
                const char *end = strchrnul(name, '\n');
                char p[64];

                snprintf(p, sizeof p, "%.*s", (int) (end - name), name);
                if (mkdirat(top, p, 0755) < 0 && errno != EEXIST)
                        child_fail(a->sync_fd, STEP_CGROUP, errno, "Failed to create /sys/fs/cgroup/%s: %m", p);
                CHILD_CHECK(STEP_CGROUP, move_mount(fds[i], "", top, p, MOVE_MOUNT_F_EMPTY_PATH),
                            "Failed to attach the cgroup hierarchy at /sys/fs/cgroup/%s: %m", p);
                name = *end ? end + 1 : NULL;
        }
        close_many(fds, n_fds);
        (void) mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=64k");
}

/* PrivateUsers: every lower layer is presented through an idmapped mount (host uid 0 → the container's
 * root), attached below the runtime directory; the overlay goes over those. The image itself is never
 * chowned. Returns the new lowerdir= list. */
static char *child_idmap_lowers(SetupSpec *a) {
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
        const AppDefaults *defaults;
        AppParams params;
} AppStart;

static int app_main(void *userdata) {
        AppStart *start = userdata;

        child_exec_app(start->sync_fd, start->defaults, &start->params);
}

/* The app's process, as vfork() makes one: in our memory, on a stack of its own, while we wait for
 * its exec (or its death); nothing of ours to copy only for the exec to throw it away. Everything the
 * app does until its exec touches only what we no longer need, or what it sets up for itself (environ,
 * restored below). */
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

/* (0) The namespaces but the pid namespace (which vesseld's clone made, so that we are its PID 1) are
 * ours to make, before the spec: no setting changes them, so they cost neither vesseld's loop nor the
 * start's path (a spare makes them while it waits; a process cloned for a start, while vesseld asks
 * systemd for the scope and writes the spec). The network namespace too where vesseld says the
 * container will want a new one (--new-netns); if it then gets another, it joins that one. The mount
 * tree becomes a slave of the host's at once, so that what the host mounts until the spec comes
 * reaches us. While we are one thread: CLONE_NEWNS needs that. */
static void setup_namespaces_early(int sync_fd, bool new_netns) {
        int fd, r;

        if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | (new_netns ? CLONE_NEWNET : 0)) < 0)
                child_fail(sync_fd, STEP_SETUP, errno, "Failed to create the container's namespaces: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                child_fail(sync_fd, STEP_MOUNT, errno, "Failed to make the mount tree a slave: %m");
        if (!new_netns)
                return;
        /* lo is 1 in every namespace (LOOPBACK_IFINDEX) */
        fd = nlr_open();
        r = fd < 0 ? fd : nlr_link_up(fd, 1);
        safe_close(fd);
        if (r < 0)
                child_fail(sync_fd, STEP_NETWORK, r, "Failed to bring up the loopback device: %s", strerror(-r));
}

/* v1: our own cgroups (cpuset, freezer), which we join ourselves: a write to cgroup.procs waits for an
 * RCU grace period when nobody moved a process lately (milliseconds, for the first write systemd's
 * attach of us would make too). On a thread of its own from the start, the wait overlaps with our
 * setup and with systemd's job, which would otherwise pay it. */
typedef struct CgroupJoin {
        const int *fds;
        int error; /* positive errno */
        pthread_t thread;
        bool running;
} CgroupJoin;

static void *cgroup_join(void *userdata) {
        CgroupJoin *j = userdata;

        for (size_t i = 0; i < SETUP_CGROUP_PROCS_MAX; i++)
                if (j->fds[i] >= 0 && write(j->fds[i], "0", 1) < 0) { /* 0: the writer's process */
                        j->error = errno;
                        break;
                }
        return NULL;
}

static void cgroup_join_start(SetupSpec *a, CgroupJoin *j) {
        *j = (CgroupJoin) { .fds = a->cgroup_procs };
        if (a->cgroup_procs[0] < 0)
                return;
        if (pthread_create(&j->thread, NULL, cgroup_join, j) == 0)
                j->running = true;
        else
                (void) cgroup_join(j); /* no thread: then here */
}

static void cgroup_join_finish(SetupSpec *a, CgroupJoin *j) {
        if (j->running)
                (void) pthread_join(j->thread, NULL);
        j->running = false;
        for (size_t i = 0; i < SETUP_CGROUP_PROCS_MAX; i++)
                a->cgroup_procs[i] = safe_close(a->cgroup_procs[i]);
        if (j->error != 0)
                child_fail(a->sync_fd, STEP_CGROUP, j->error, "Failed to join the container's cgroups: %m");
}

/* lo_up: (0) made our network namespace and brought lo up */
static void setup_network_early(SetupSpec *a, bool lo_up) {
        int fd, r;

        if (a->netns_fd >= 0) {
                /* the pool's, or the host's for Network=host when we made one of our own early */
                CHILD_CHECK(STEP_NETWORK, setns(a->netns_fd, CLONE_NEWNET), "Failed to join the network namespace: %m");
                a->netns_fd = safe_close(a->netns_fd);
        } else if (lo_up)
                return;
        if (a->host_network)
                return;
        /* lo, in every namespace but the host's; the rest of the network once the parent made it */
        fd = nlr_open();
        r = fd < 0 ? fd : nlr_link_up(fd, 1); /* lo is 1 in every namespace (LOOPBACK_IFINDEX) */
        safe_close(fd);
        if (r < 0)
                child_fail(a->sync_fd, STEP_NETWORK, r, "Failed to bring up the loopback device: %s", strerror(-r));
}

/* (4) eth0, which vesseld moved into our namespace while systemd worked: its address, the route */
static void setup_network_late(SetupSpec *a) {
        unsigned ifindex;
        int fd, r;

        if (a->host_network || !a->has_address)
                return;
        ifindex = if_nametoindex(CONTAINER_IFNAME);
        if (ifindex == 0)
                child_fail(a->sync_fd, STEP_NETWORK, errno, "Failed to configure the container's network: no %s: %m",
                           CONTAINER_IFNAME);
        fd = nlr_open();
        r = fd;
        if (r >= 0)
                r = nlr_addr_add(fd, (int) ifindex, AF_INET, &a->address, a->prefixlen);
        if (r >= 0)
                r = nlr_link_up(fd, (int) ifindex);
        if (r >= 0)
                r = nlr_route_add_default(fd, AF_INET, (int) ifindex, &a->gateway);
        if (r >= 0 && a->ipv6) {
                r = nlr_addr_add(fd, (int) ifindex, AF_INET6, &a->address6, 64);
                if (r >= 0)
                        r = nlr_route_add_default(fd, AF_INET6, (int) ifindex, &a->gateway6);
        }
        safe_close(fd);
        if (r < 0)
                child_fail(a->sync_fd, STEP_NETWORK, r, "Failed to configure the container's network: %s", strerror(-r));
}

/* (1) what vesseld sends once it asked systemd for the scope: the spec in a memfd, and the fds it
 * names. Nowhere to report a failure to: vesseld reads our 125 and the EOF. */
static void setup_receive_spec(int sync_fd, SetupSpec *ret) {
        int fds[SYNC_FDS_MAX];
        size_t n_fds = 0;
        SyncMessage msg;
        ssize_t n;
        int r;

        n = sync_recv(sync_fd, 0, &msg, fds, ELEMENTSOF(fds), &n_fds);
        if (n <= 0 || msg.step != SYNC_SPEC || n_fds < 1) {
                fprintf(stderr, "vessel-init: no setup spec on fd %i: %s\n", sync_fd,
                        n < 0 ? strerror((int) -n) : "not a spec");
                _exit(125);
        }
        r = setup_spec_read_fd(fds[0], ret);
        (void) close(fds[0]);
        if (r >= 0)
                r = setup_spec_fds_resolve(ret, fds + 1, n_fds - 1);
        if (r < 0) {
                fprintf(stderr, "vessel-init: cannot read the setup spec: %s\n", strerror(-r));
                _exit(125);
        }
        ret->sync_fd = sync_fd;
}

/* ConsoleSocketFileDescriptor: a terminal of the container's own devpts for the app. Its master goes
 * to the client over the socket it gave (SCM_RIGHTS, the terminal's path as the payload, as runc's
 * --console-socket does) and nowhere else: the terminal lives as long as the client holds it. Returns
 * the other side, for the app's stdio. */
static int setup_console(SetupSpec *a) {
        _cleanup_close_ int master = -EBADF;
        unsigned number = 0;
        struct iovec iov;
        char path[32];
        ssize_t n;
        int slave;

        slave = child_open_pty(a->sync_fd, a->tty_rows, a->tty_columns, a->uid_base, &master);
        (void) ioctl(master, TIOCGPTN, &number);
        snprintf(path, sizeof path, "/dev/pts/%u", number);

        iov = (struct iovec) { .iov_base = path, .iov_len = strlen(path) + 1 };
        n = send_with_fds(a->console_fd, &iov, 1, &master, 1, 0);
        if (n < 0)
                child_fail(a->sync_fd, STEP_SETUP, (int) -n, "Failed to pass the terminal to the client: %m");
        a->console_fd = safe_close(a->console_fd);
        return slave;
}

char **container_setup(int sync_fd, bool new_netns, int *ret_argc) {
        SetupSpec spec = {}, *a = &spec;
        _cleanup_close_ int root_fd = -EBADF;
        int stdin_fd, stdout_fd, stderr_fd, tty = -EBADF;
        _cleanup_free_ char *opts = NULL, *lower = NULL;
        sigset_t all;
        SyncMessage go;
        ssize_t n;
        pid_t app;

        /* Signals ignored in vesseld stay ignored across the exec; the container starts with a clean
         * slate. (vessel-init proper blocks them all again before it runs.) */
        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        (void) prctl(PR_SET_NAME, "vessel-init");

        /* vesseld set PR_SET_PDEATHSIG before the exec: if it dies before the container runs, the
         * container goes too, nothing half-made. */
        setup_namespaces_early(sync_fd, new_netns);
        setup_receive_spec(sync_fd, &spec);
        if (a->new_netns && !new_netns)
                CHILD_CHECK(STEP_SETUP, unshare(CLONE_NEWNET), "Failed to create the container's network namespace: %m");

        CgroupJoin join;
        cgroup_join_start(a, &join);
        setup_network_early(a, new_netns);

        /* (2) the root */
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
        child_bind_paths(a, root_fd);

        CHILD_CHECK(STEP_HOSTNAME, sethostname(a->app.hostname, strlen(a->app.hostname)),
                    "Failed to set the host name: %m");

        if (a->read_only)
                CHILD_CHECK(STEP_MOUNT, mount(NULL, a->root, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL),
                            "Failed to make the root read-only: %m");

        CHILD_CHECK(STEP_PIVOT, chdir(a->root), "Failed to enter the root: %m");
        CHILD_CHECK(STEP_PIVOT, syscall(SYS_pivot_root, ".", "."), "pivot_root() failed: %m");
        CHILD_CHECK(STEP_PIVOT, umount2(".", MNT_DETACH), "Failed to detach the old root: %m");
        CHILD_CHECK(STEP_PIVOT, chdir("/"), "chdir(/) failed: %m");

        /* what needs no scope yet: the bounding set (the effective set still has what the mounts
         * below take), and what a user expects of a container (Docker's default) as its file limit;
         * we keep what we have where the kernel's nr_open is lower */
        child_drop_bounding(a->sync_fd, a->app.capabilities);
        struct rlimit nofile = { 1048576, 1048576 };
        if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
                nofile = (struct rlimit) { 524288, 524288 };
                (void) setrlimit(RLIMIT_NOFILE, &nofile);
        }

        cgroup_join_finish(a, &join);

        /* (2) → (3): wait for the scope */
        int cgroup_fds[CGROUP_TREES_MAX];
        size_t n_cgroup_fds;
        n = sync_recv(a->sync_fd, 0, &go, cgroup_fds, CGROUP_TREES_MAX, &n_cgroup_fds);
        if (n <= 0)
                _exit(125); /* the parent gave up on us */

        /* (4) */
        setup_network_late(a);

        if (a->cgroup_unified && n_cgroup_fds >= 2) {
                /* v2: into the leaf below the delegated scope, then the scope's controllers handed down
                 * (the scope has no process of its own left to forbid that); the go brought both files
                 * and the controllers */
                CHILD_CHECK(STEP_CGROUP, write(cgroup_fds[0], "0", 1), "Failed to move into the container's cgroup: %m");
                if (go.text[0])
                        (void) !write(cgroup_fds[1], go.text, strlen(go.text)); /* best effort, as before */
                close_many(cgroup_fds, n_cgroup_fds);
                n_cgroup_fds = 0;
        }
        CHILD_CHECK(STEP_CGROUP, unshare(CLONE_NEWCGROUP), "Failed to create the cgroup namespace: %m");
        child_mount_cgroup(a, go.text, cgroup_fds, n_cgroup_fds);

        /* From here on we outlive vesseld. */
        CHILD_CHECK(STEP_SETUP, prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0), "prctl() failed: %m");

        /* Signals that arrive between here and the app's exec stay pending, for vessel-init to
         * forward and for the app to receive; the app unblocks right before its exec. */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        if (a->console_fd >= 0) {
                tty = setup_console(a);
                stdin_fd = stdout_fd = stderr_fd = tty;
        } else {
                stdin_fd = a->stdio[0] >= 0 ? a->stdio[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
                CHILD_CHECK(STEP_SETUP, stdin_fd, "Failed to open /dev/null: %m");
                stdout_fd = a->stdio[1] >= 0 ? a->stdio[1] : a->out_pipe[1];
                stderr_fd = a->stdio[2] >= 0 ? a->stdio[2] : a->err_pipe[1];
        }

        AppStart start = {
                .sync_fd = a->sync_fd,
                .defaults = &a->app,
                .params = {
                        .argv = a->argv,
                        .stdio = { stdin_fd, stdout_fd, stderr_fd },
                        .setsid = true,
                        .controlling_tty = tty >= 0,
                        .userns_fd = a->userns_fd,
                },
        };
        app = app_spawn(&start);
        CHILD_CHECK(STEP_SETUP, app, "Failed to start the app's process: %m");

        /* We become vessel-init: pid 1, reaper, log relay. Its own setup closes every fd it is not
         * given below, the sync socket with them: that EOF tells vesseld both are through. */
        a->out_pipe[1] = safe_close(a->out_pipe[1]);
        a->err_pipe[1] = safe_close(a->err_pipe[1]);
        /* the app's alone: its last close hangs the terminal up for the client */
        tty = safe_close(tty);

        char **argv = calloc(12, sizeof(char *));
        size_t k = 0;
        if (!argv)
                child_fail(a->sync_fd, STEP_INIT, ENOMEM, "Out of memory.");
        (void) asprintf_safe(&argv[k++], "vessel-init");
        (void) asprintf_safe(&argv[k++], "--app-pid=%i", (int) app);
        (void) asprintf_safe(&argv[k++], "--status-fd=%i", a->status_dir_fd);
        if (a->journal_fd >= 0)
                (void) asprintf_safe(&argv[k++], "--journal-fd=%i", a->journal_fd);
        if (a->out_pipe[0] >= 0)
                (void) asprintf_safe(&argv[k++], "--stdout-fd=%i", a->out_pipe[0]);
        if (a->err_pipe[0] >= 0)
                (void) asprintf_safe(&argv[k++], "--stderr-fd=%i", a->err_pipe[0]);
        (void) asprintf_safe(&argv[k++], "--name=%s", a->name);
        (void) asprintf_safe(&argv[k++], "--id=%s", a->id);
        (void) asprintf_safe(&argv[k++], "--image=%s", a->image);
        for (size_t i = 0; i < k; i++)
                if (!argv[i]) { /* asprintf_safe() leaves NULL where it failed */
                        (void) kill(app, SIGKILL);
                        child_fail(a->sync_fd, STEP_INIT, ENOMEM, "Out of memory.");
                }

        /* stdin/stdout/stderr of vessel-init itself: /dev/null, the container's own */
        int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd >= 0) {
                (void) dup2(null_fd, 0);
                (void) dup2(null_fd, 1);
                (void) dup2(null_fd, 2);
                if (null_fd > 2)
                        (void) close(null_fd);
        }

        setup_spec_done(&spec);
        *ret_argc = (int) k;
        return argv;
}
