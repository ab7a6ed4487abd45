/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What vesseld tells vessel-init's setup mode about the container it sets up: fds, paths, the
 * command and the settings the setup needs, written by vesseld to a memfd and read back by the setup
 * process, which has nothing of vesseld's memory. A fixed header of numbers, then records
 * {u32 key, u32 size, bytes}; strings are stored with their NUL, so the parsed spec points into the
 * buffer it was read from. Plain libc: built into vesseld and into the static vessel-init alike. */

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app-exec.h"

#define SETUP_SPEC_MAX (16U * 1024 * 1024)
#define SETUP_CGROUP_PROCS_MAX 3
#define SETUP_SPEC_FDS_MAX 15 /* the fd fields below, sync_fd aside: 2 + 2 + 2 + 3 + 1 + 2 + 3 */

typedef struct SetupBind {
        const char *source, *destination;
        bool read_only;
} SetupBind;

typedef struct SetupSpec {
        /* fds as the setup process has them; -1 when none */
        int sync_fd, status_dir_fd, journal_fd;
        int out_pipe[2], err_pipe[2]; /* the app's stdout/stderr, for vessel-init to relay */
        int stdio[3];                 /* the client's fds for the app's stdin/stdout/stderr */
        int console_fd;               /* the client's socket for the master of the app's terminal */
        int netns_fd;                 /* a network namespace to join (from the pool) */
        int userns_fd;                /* PrivateUsers: the container's user namespace */
        int cgroup_procs[SETUP_CGROUP_PROCS_MAX]; /* v1: cgroup.procs of cgroups to join, -1 when none */

        bool host_network;            /* else a network namespace of its own: netns_fd, or a new one */
        bool new_netns;               /* the setup makes that new one (else it was made with the process) */
        bool read_only;
        bool cgroup_unified;
        uint16_t tty_rows, tty_columns; /* the terminal's first size, with console_fd; 0: the kernel's */
        uint32_t uid_base;            /* PrivateUsers: the host uid (and gid) of the container's root */

        /* Network=bridge: eth0's address, given once vesseld has moved it in */
        bool has_address, ipv6;
        uint8_t prefixlen;
        struct in_addr address, gateway;
        struct in6_addr address6, gateway6;

        const char *rundir, *root, *lower, *upper, *work;
        const char *name, *id, *image;

        SetupBind *binds;
        size_t n_binds;
        char **argv;
        AppDefaults app;

        /* what the parsed strings point into, and the arrays; freed by setup_spec_done() */
        void *buffer;
        char **env_storage;
} SetupSpec;

/* Serializes spec (its buffer and storage fields are ignored) into a malloc'ed buffer. */
int setup_spec_serialize(const SetupSpec *spec, void **ret, size_t *ret_size);
/* Parses what setup_spec_serialize() made; takes ownership of buffer (freed by setup_spec_done(),
 * also on failure). -EBADMSG: not a spec of this version, or cut short. */
int setup_spec_parse(void *buffer, size_t size, SetupSpec *ret);
/* Reads a whole spec from fd (from offset 0) and parses it. */
int setup_spec_read_fd(int fd, SetupSpec *ret);

/* The spec's fds travel with it over the sync socket (SCM_RIGHTS) and arrive under other numbers:
 * collect stores them in fds, in order, and turns each fd field (sync_fd aside) into its index there;
 * resolve turns the indexes back into the fds as received. Returns the number collected; resolve
 * returns -EBADMSG for an index past n_fds. */
size_t setup_spec_fds_collect(SetupSpec *spec, int fds[static SETUP_SPEC_FDS_MAX]);
int setup_spec_fds_resolve(SetupSpec *spec, const int *fds, size_t n_fds);
void setup_spec_done(SetupSpec *spec);
