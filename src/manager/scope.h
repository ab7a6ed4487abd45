/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"
#include "manager.h"

/* The systemd client: one JobRemoved match for all containers, StartTransientUnit, SetUnitProperties,
 * and the v1 controllers systemd does not manage for us (cpuset, freezer, the memory soft limit). */

int scope_manager_init(Manager *m);
void scope_manager_done(Manager *m);

/* Asks for vessel-NAME.scope holding c->leader; calls container_spawn_scope_done() when the job is
 * done (or failed, with systemd's reason). */
int scope_start(Container *c);
/* After a start that failed: stops the scope if systemd made it (StopUnit, mode "replace": a start
 * job still pending is cancelled). Its first process may have died before systemd moved it in, and
 * a scope whose cgroup was never populated is never reported empty: it would stay "running", empty,
 * and hold the name. Fire and forget. */
void scope_stop_failed(Container *c);

/* Live limit change; replies to 'message' when systemd did. */
int scope_update(Container *c, int mask, sd_bus_message *message);

/* The cgroup path of the scope (below each hierarchy's root), from the slice name. */
int scope_cgroup_path(const char *slice, const char *unit, char **ret);

/* v1, before the container's first process runs its setup: make the cgroups that are ours at the
 * scope's path (cpuset, freezer, a cpuacct mounted on its own) and write cpuset.cpus; their cgroup.procs
 * files, open for writing, go into ret_procs_fds for the first process to join them itself (the slots
 * left over, all of them on v2, are not touched). */
#define SCOPE_OWN_MAX 3
int scope_prepare_own(Container *c, int ret_procs_fds[static SCOPE_OWN_MAX]);
/* Once the scope exists, before the container runs. v2: make the leaf below the delegated scope and
 * return, for the container's first process to move itself there (the cgroup namespace is rooted where
 * it is when it makes it) and then hand the scope's controllers down, the leaf's cgroup.procs and the
 * scope's cgroup.subtree_control, open, and the "+cpu +memory …" to write there (a cgroup.procs write
 * can wait for an RCU grace period: not in our loop). v1: nothing (*ret_n = 0). */
int scope_attach_extra(Container *c, int fds[static 2], size_t *ret_n, char *enable, size_t size);
/* Once the container runs: v1's memory soft limit, and a watch for OOM kills (whose count is read
 * again at the exit, so nothing is missed before the watch is there). */
int scope_watch(Container *c);
/* Watches for OOM kills in the scope (memory.events on v2, an eventfd on memory.oom_control on v1). */
int scope_watch_oom(Container *c);
int scope_read_oom_kills(Container *c, uint64_t *ret);

/* v1: remove what scope_prepare_own() made, once the container is gone. */
void scope_cleanup_extra(Container *c);
/* v1: apply cpuset.cpus/soft limit changes live. */
int scope_update_extra(Container *c, int mask);

/* Freeze or thaw every process: FreezeUnit/ThawUnit on v2, our freezer cgroup on v1. Replies to
 * 'message' (may be NULL) when done. */
int scope_freeze(Container *c, bool freeze, sd_bus_message *message);

/* Reads a live figure: MemoryCurrent, CPUUsageNSec, TasksCurrent, IOReadBytes, IOWriteBytes. */
int scope_read_figure(Container *c, const char *property, uint64_t *ret);

/* A new org.freedesktop.systemd1.Manager method call, to append to and pass to systemd_call(). */
int systemd_new_call(Manager *m, const char *method, sd_bus_message **ret);
/* where calls to systemd go: its private socket when we have it, else the system bus */
sd_bus *systemd_bus(Manager *m);

/* A generic asynchronous call to systemd, queued past 100 in flight. */
typedef int (*SystemdCallback)(sd_bus_message *reply, void *userdata, sd_bus_error *error);
int systemd_call(Manager *m, sd_bus_message *call, SystemdCallback cb, void *userdata);
