/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "hashmap.h"
#include "macro.h"

typedef struct Container Container;
typedef struct Manager Manager;
typedef struct Network Network;

typedef enum CgroupLayout {
        CGROUP_LAYOUT_LEGACY,  /* v1 controllers (hybrid or not) */
        CGROUP_LAYOUT_UNIFIED, /* v2 only */
} CgroupLayout;

typedef struct ManagerConfig {
        uint64_t exit_idle_usec; /* 0 = never */
        uint64_t max_layer_size;
        char *subnet;
        bool ipv6;
} ManagerConfig;

/* A bus we serve our objects on: the system bus, or a private peer-to-peer connection accepted on
 * /run/vessel/io.vessel1. Signals go out on all of them. */
typedef struct Connection {
        Manager *manager;
        sd_bus *bus;
        bool is_private;
        unsigned id;
        struct Connection *next, *prev;
} Connection;

struct Manager {
        sd_event *event;
        sd_bus *bus; /* the system bus; NULL when we run without one */

        int private_fd; /* listening socket, from vesseld.socket */
        sd_event_source *private_source;
        Connection *connections; /* the system bus first, if any */
        unsigned n_private_connections, private_counter;

        Hashmap *containers;       /* name → Container */
        Hashmap *containers_by_id; /* id → Container */
        Hashmap *graveyard;        /* name → exit status of a removed container, for a while */

        Hashmap *images;           /* "NAME:TAG" → Image (image.c) */
        Hashmap *transfers;        /* id as decimal string → Transfer (operation.c) */
        uint32_t transfer_counter;

        CgroupLayout cgroup_layout;
        char *state_dir;   /* /var/lib/vessel */
        char *runtime_dir; /* /run/vessel */

        ManagerConfig config;
        Network *network; /* network.c: the bridge, the address pool, nftables; NULL until used */
        sd_event_source *idle_timer;

        /* calls to systemd in flight, to stay below dbus-daemon's 128 pending replies; the rest wait
         * in a queue */
        unsigned n_systemd_calls;
        struct SystemdCall *systemd_queue, *systemd_queue_tail;
        Hashmap *jobs; /* job object path → Container */
        sd_bus_slot *job_removed_slot;
        /* systemd's own socket, /run/systemd/private, as systemctl uses it: calls to systemd take no
         * detour through dbus-daemon; NULL while we have none, and the system bus serves */
        sd_bus *systemd_private;
        sd_bus_slot *private_job_removed_slot;
        sd_event_source *systemd_reconnect_timer;

        /* container-spawn.c: a container's first process made ahead of time (vessel-init waiting for
         * its spec), which the next start takes instead of cloning one; pid 0 while there is none */
        pid_t spare_pid;
        int spare_pidfd, spare_sync_fd;
        bool spare_new_netns;  /* it made a network namespace of its own */
        bool spare_want_netns; /* the next one should: the last start wanted one (Network=none) */
        sd_event_source *spare_exit_source, *spare_refill, *spare_delay, *spare_mounts_source;

        /* machine.c: systemd-machined has the name org.freedesktop.machine1 on the system bus */
        bool machined;

        /* netns-pool.c: network namespaces made ahead of time, and the way home after making one */
        int netns_pool[2];
        unsigned netns_pool_n;
        int netns_pool_home;
        sd_event_source *netns_pool_refill;

        uint32_t exec_counter;

        int init_fd;             /* vessel-init, in a sealed memfd */
        void *seccomp_bpf;       /* the default filter, compiled once */
        size_t seccomp_bpf_size; /* in bytes */
};

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

int manager_load_config(Manager *m, const char *path);
int manager_startup(Manager *m, int listen_fd);
int manager_run(Manager *m);

/* Re-evaluated whenever something that keeps us alive changes. */
void manager_check_idle(Manager *m);

#define MANAGER_FOREACH_BUS(b, m) \
        for (Connection *_c_ = (m)->connections; _c_; _c_ = _c_->next) \
                for (sd_bus *b = _c_->bus; b; b = NULL)

/* manager-dbus.c */
int manager_add_bus_objects(Manager *m, sd_bus *bus);
int manager_emit_signal(Manager *m, const char *member, const char *types, ...);
