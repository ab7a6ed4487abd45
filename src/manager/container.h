/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "manager.h"
#include "name-util.h"
#include "network.h"
#include "settings.h"

typedef enum ContainerState {
        CONTAINER_CREATED,
        CONTAINER_RUNNING,
        CONTAINER_PAUSED,
        CONTAINER_STOPPING,
        CONTAINER_RESTARTING,
        CONTAINER_EXITED,
        _CONTAINER_STATE_MAX,
        _CONTAINER_STATE_INVALID = -EINVAL,
} ContainerState;

/* A method call that has to wait: for a start to finish, for the container to exit. */
typedef struct PendingCall {
        sd_bus_message *message;
        char *reply_path; /* answer with this object path ("o") instead of nothing */
        struct PendingCall *next;
} PendingCall;

typedef struct ContainerSpawn ContainerSpawn;
typedef struct ExecSession ExecSession;

struct Container {
        Manager *manager;

        char *name;
        char id[CONTAINER_ID_LEN + 1];
        char *image;     /* as the caller named it */
        char *lower_dir; /* the read-only root (dir: images) */
        char *unit;      /* vessel-NAME.scope */
        Settings settings;

        ContainerState state;
        pid_t leader;              /* host pid of vessel-init, 0 when none */
        uint64_t leader_starttime; /* /proc/PID/stat field 22, to recognize the same process after a restart */
        int leader_pidfd;
        /* the container's mount namespace, held while it runs: when the leader exits, the kernel's
         * teardown of its mounts (an RCU grace period) then happens at our close(), after the exit was
         * reported, not before the exit is noticed */
        int mntns_fd;
        sd_event_source *leader_source;
        bool leader_is_child;
        bool machine_registered; /* machine.c: RegisterMachine sent for this run */
        bool persisted;          /* its directories and record exist (container_persist()) */

        uint64_t created_usec, started_usec, finished_usec;
        int exit_status, exit_signal;
        bool oom_killed;
        unsigned restart_count;
        bool stop_requested; /* Stop/Kill by the user: no restart */
        bool removed, remove_on_exit;
        bool start_failed_early; /* the last start failed before the command ran */
        bool exec_failed;        /* the last start failed at exec: the container ran and exited */
        bool exit_pending;       /* the leader's exit, seen before the start was reported */
        int pending_exit_status, pending_exit_signal;

        ContainerSpawn *spawn; /* start in progress */
        PendingCall *start_waiters, *exit_waiters, *stop_waiters, *remove_waiters, *queued;
        sd_event_source *stop_timer, *restart_timer;

        uint32_t uid_base; /* PrivateUsers: host uid/gid of the container's root; 0 = none */
        int userns_fd;

        ExecSession *execs;
        unsigned n_execs;

        sd_event_source *oom_source;
        int oom_fd;

        ContainerNetwork net; /* Network=bridge: its address and held ports while it runs */

        /* the scope's cgroup path below the controllers' roots, e.g. /machine.slice/vessel-x.scope */
        char *cgroup_path;
};

int container_new(Manager *m, const char *name, const char *id, Container **ret);
Container *container_free(Container *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Container *, container_free);

/* CreateContainer: validates and allocates the container and, with persist, its directories and
 * record (RunContainer makes those while systemd works on the scope: container_persist()). */
int container_create(Manager *m, const char *name, const char *image, Settings *settings, bool persist,
                     Container **ret, sd_bus_error *error);
/* The container's state directory, its own layer's directories and its record; -errno, with nothing
 * left behind, when they cannot be written. */
int container_persist(Container *c);
/* ContainerNew on every bus */
void container_emit_new(Container *c);
/* Starts; 'message' (may be NULL) is answered when the container runs or failed to start. */
int container_start(Container *c, sd_bus_message *message, sd_bus_error *error);
/* StopSignal, then SIGKILL after StopTimeoutUSec; 'message' is answered when it is down. */
int container_stop(Container *c, sd_bus_message *message, sd_bus_error *error);
int container_kill(Container *c, const char *whom, int signo, sd_bus_message *message, sd_bus_error *error);
int container_pause(Container *c, sd_bus_message *message, sd_bus_error *error);
int container_resume(Container *c, sd_bus_message *message, sd_bus_error *error);
int container_adopt(Container *c);
int container_signal_leader(Container *c, int sig);
/* Runs a queued method call again (container-dbus.c). */
int container_dispatch_message(Container *c, sd_bus_message *m);
int container_remove(Container *c, bool force, sd_bus_message *message, sd_bus_error *error);
int container_wait(Container *c, sd_bus_message *message);
int container_update(Container *c, const Settings *new_settings, int mask, sd_bus_message *message,
                     sd_bus_error *error);

/* The leader is gone: record the status, answer waiters, maybe restart. */
void container_on_exit(Container *c, int status, int signal);
/* Called by the spawn code when the start finished (r >= 0) or failed. */
void container_on_started(Container *c, int r, const sd_bus_error *error);

bool container_is_active(Container *c);
bool container_keeps_manager_busy(Container *c);
int container_save(Container *c);
int container_load(Manager *m, const char *id, Container **ret);
int manager_load_containers(Manager *m);
Container *manager_find_container(Manager *m, const char *name_or_id);
bool manager_graveyard_lookup(Manager *m, const char *name, int *ret_status, int *ret_signal);
void manager_graveyard_forget(Manager *m, const char *name);
void manager_graveyard_free(Manager *m);
Container *manager_find_container_by_pid(Manager *m, pid_t pid);

void container_set_state(Container *c, ContainerState state);
int container_runtime_dir(Container *c, char **ret);
int container_state_dir(Container *c, char **ret);

const char *container_state_to_string(ContainerState s);
ContainerState container_state_from_string(const char *s);

/* Answers every call on the list with the same result, frees the list. */
void pending_calls_reply(PendingCall **list, int r, const sd_bus_error *error, const char *types, ...);
int pending_call_add(PendingCall **list, sd_bus_message *m);
int pending_call_add_with_path(PendingCall **list, sd_bus_message *m, const char *path);

/* container-dbus.c */
extern const sd_bus_vtable container_vtable[];
int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                          sd_bus_error *error);
int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
void container_emit_changed(Container *c, const char *property, ...);
int container_get_path(Container *c, char **ret);

/* container-spawn.c */
int container_spawn(Container *c, sd_bus_error *error);
ContainerSpawn *container_spawn_free(ContainerSpawn *s);
/* scope job finished: go on with the child or fail */
void container_spawn_scope_done(Container *c, int r, const char *reason);
int manager_init_binary_load(Manager *m);

unsigned container_spawn_may_retry(Container *c);
unsigned container_spawn_retries(Container *c);
int container_spawn_schedule(Container *c, uint64_t usec, sd_event_time_handler_t handler);
bool container_spawn_scope_is_done(Container *c);
const char *container_spawn_set_job(Container *c, const char *job);
/* systemd took StartTransientUnit: the scope is ours (to stop if the start fails before the go).
 * Returns true when that finished a start whose child was already through: c may be gone then. */
bool container_spawn_scope_made(Container *c);
int container_read_starttime(pid_t pid, uint64_t *ret);
