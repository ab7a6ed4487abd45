/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "bus-util.h"
#include "container-exec.h"
#include "container.h"
#include "container-spawn.h"
#include "image.h"
#include "fd-util.h"
#include "log.h"
#include "machine.h"
#include "parse-util.h"
#include "scope.h"
#include "string-util.h"

#define CONTAINERS_MAX 65536
#define RESTART_DELAY_MIN_USEC (100 * USEC_PER_MSEC)
#define RESTART_DELAY_MAX_USEC (30 * USEC_PER_SEC)

static const char *const container_state_table[_CONTAINER_STATE_MAX] = {
        [CONTAINER_CREATED] = "created",       [CONTAINER_RUNNING] = "running",
        [CONTAINER_PAUSED] = "paused",         [CONTAINER_STOPPING] = "stopping",
        [CONTAINER_RESTARTING] = "restarting", [CONTAINER_EXITED] = "exited",
};
DEFINE_STRING_TABLE_LOOKUP(container_state, ContainerState);

static uint64_t now_realtime(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

int pending_call_add_with_path(PendingCall **list, sd_bus_message *m, const char *path) {
        PendingCall *p;

        if (!m)
                return 0;
        p = calloc(1, sizeof(PendingCall));
        if (!p)
                return -ENOMEM;
        if (path) {
                p->reply_path = strdup(path);
                if (!p->reply_path) {
                        free(p);
                        return -ENOMEM;
                }
        }
        p->message = sd_bus_message_ref(m);
        /* append, so calls are answered in order */
        while (*list)
                list = &(*list)->next;
        *list = p;
        return 0;
}

int pending_call_add(PendingCall **list, sd_bus_message *m) {
        return pending_call_add_with_path(list, m, NULL);
}

void pending_calls_reply(PendingCall **list, int r, const sd_bus_error *error, const char *types, ...) {
        PendingCall *p = *list;

        *list = NULL;
        while (p) {
                PendingCall *next = p->next;

                if (r < 0 || (error && sd_bus_error_is_set(error))) {
                        if (error && sd_bus_error_is_set(error))
                                (void) sd_bus_reply_method_error(p->message, error);
                        else
                                (void) sd_bus_reply_method_errno(p->message, r, NULL);
                } else {
                        va_list ap;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                        if (sd_bus_message_new_method_return(p->message, &reply) >= 0) {
                                int k = 0;
                                va_start(ap, types);
                                if (p->reply_path)
                                        k = sd_bus_message_append(reply, "o", p->reply_path);
                                else if (types)
                                        k = sd_bus_message_appendv(reply, types, ap);
                                if (k >= 0)
                                        (void) sd_bus_send(NULL, reply, NULL);
                                va_end(ap);
                        }
                }
                sd_bus_message_unref(p->message);
                free(p->reply_path);
                free(p);
                p = next;
        }
}

int container_new(Manager *m, const char *name, const char *id, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;
        int r;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        settings_init(&c->settings);
        c->leader_pidfd = -EBADF;
        c->mntns_fd = -EBADF;
        c->oom_fd = -EBADF;
        c->userns_fd = -EBADF;
        c->name = strdup(name);
        c->unit = strjoin("vessel-", name, ".scope");
        if (!c->name || !c->unit)
                return -ENOMEM;
        memcpy(c->id, id, CONTAINER_ID_LEN);
        c->id[CONTAINER_ID_LEN] = 0;

        r = hashmap_put(m->containers, c->name, c);
        if (r < 0)
                return r;
        r = hashmap_put(m->containers_by_id, c->id, c);
        if (r < 0) {
                hashmap_remove(m->containers, c->name);
                return r;
        }
        c->manager = m;
        *ret = TAKE_PTR(c);
        return 0;
}

Container *container_free(Container *c) {
        if (!c)
                return NULL;
        if (c->manager) {
                hashmap_remove(c->manager->containers, c->name);
                hashmap_remove(c->manager->containers_by_id, c->id);
        }
        c->spawn = container_spawn_free(c->spawn);
        container_exec_forget(c);
        network_forget(c);
        {
                _cleanup_bus_error_free_ sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_error_setf(&e, BUS_ERROR_NO_SUCH_CONTAINER, "Container '%s' was removed.", strempty(c->name));
                pending_calls_reply(&c->start_waiters, -ENOENT, &e, NULL);
                pending_calls_reply(&c->exit_waiters, -ENOENT, &e, NULL);
                pending_calls_reply(&c->stop_waiters, -ENOENT, &e, NULL);
                pending_calls_reply(&c->remove_waiters, -ENOENT, &e, NULL);
                pending_calls_reply(&c->queued, -ENOENT, &e, NULL);
        }
        sd_event_source_disable_unref(c->leader_source);
        sd_event_source_disable_unref(c->oom_source);
        safe_close(c->oom_fd);
        sd_event_source_disable_unref(c->stop_timer);
        sd_event_source_disable_unref(c->restart_timer);
        safe_close(c->leader_pidfd);
        safe_close(c->mntns_fd);
        safe_close(c->userns_fd);
        settings_done(&c->settings);
        free(c->name);
        free(c->image);
        free(c->lower_dir);
        free(c->unit);
        free(c->cgroup_path);
        return mfree(c);
}

int container_runtime_dir(Container *c, char **ret) {
        *ret = strjoin(c->manager->runtime_dir, "/containers/", c->id);
        return *ret ? 0 : -ENOMEM;
}

int container_state_dir(Container *c, char **ret) {
        *ret = strjoin(c->manager->state_dir, "/containers/", c->id);
        return *ret ? 0 : -ENOMEM;
}

bool container_is_active(Container *c) {
        return IN_SET(c->state, CONTAINER_RUNNING, CONTAINER_PAUSED, CONTAINER_STOPPING) || c->spawn;
}

bool container_keeps_manager_busy(Container *c) {
        return container_is_active(c) || c->state == CONTAINER_RESTARTING || c->exit_waiters || c->start_waiters;
}

/* For the callers that announce "State" together with what changed with it, in one signal. */
static void container_set_state_quiet(Container *c, ContainerState state) {
        if (c->state == state)
                return;
        c->state = state;
        manager_check_idle(c->manager);
}

void container_set_state(Container *c, ContainerState state) {
        if (c->state == state)
                return;
        container_set_state_quiet(c, state);
        container_emit_changed(c, "State", NULL);
}

Container *manager_find_container(Manager *m, const char *name_or_id) {
        Container *c = hashmap_get(m->containers, name_or_id);

        if (c)
                return c;
        return hashmap_get(m->containers_by_id, name_or_id);
}

Container *manager_find_container_by_pid(Manager *m, pid_t pid) {
        char path[64], line[1024];
        _cleanup_fclose_ FILE *f = NULL;
        Container *c;

        /* The scope is the authority: /proc/PID/cgroup names it, whichever process of the container
         * this is. */
        snprintf(path, sizeof path, "/proc/%i/cgroup", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        while (fgets(line, sizeof line, f)) {
                char *p = strstr(line, "/vessel-"), *e;
                if (!p)
                        continue;
                p += strlen("/vessel-");
                e = strstr(p, ".scope");
                if (!e)
                        continue;
                *e = 0;
                c = hashmap_get(m->containers, p);
                if (c)
                        return c;
        }
        return NULL;
}

int container_save(Container *c) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dfd = -EBADF;
        json_object *o, *s = NULL;
        const char *text;
        int r;

        r = container_state_dir(c, &dir);
        if (r < 0)
                return r;
        r = settings_to_json(&c->settings, &s);
        if (r < 0)
                return r;

        o = json_object_new_object();
        json_object_object_add(o, "Name", json_object_new_string(c->name));
        json_object_object_add(o, "Id", json_object_new_string(c->id));
        json_object_object_add(o, "Image", json_object_new_string(c->image));
        json_object_object_add(o, "RootDirectory", json_object_new_string(c->lower_dir));
        /* "running" here means: a leader was running when we last looked */
        json_object_object_add(o, "State", json_object_new_string(container_state_to_string(c->state)));
        /* a leader only while it runs: a start in flight is not one yet (its process dies with us) */
        bool active = IN_SET(c->state, CONTAINER_RUNNING, CONTAINER_PAUSED, CONTAINER_STOPPING);
        json_object_object_add(o, "Leader", json_object_new_int(active ? c->leader : 0));
        json_object_object_add(o, "LeaderStartTime", json_object_new_uint64(active ? c->leader_starttime : 0));
        json_object_object_add(o, "CreatedTimestamp", json_object_new_uint64(c->created_usec));
        json_object_object_add(o, "StartedTimestamp", json_object_new_uint64(c->started_usec));
        json_object_object_add(o, "FinishedTimestamp", json_object_new_uint64(c->finished_usec));
        json_object_object_add(o, "ExitStatus", json_object_new_int(c->exit_status));
        json_object_object_add(o, "ExitSignal", json_object_new_int(c->exit_signal));
        json_object_object_add(o, "OOMKilled", json_object_new_boolean(c->oom_killed));
        json_object_object_add(o, "RestartCount", json_object_new_int(c->restart_count));
        json_object_object_add(o, "StopRequested", json_object_new_boolean(c->stop_requested));
        json_object_object_add(o, "UIDBase", json_object_new_int64(c->uid_base));
        json_object_object_add(o, "Settings", s);
        network_to_json(c, o);

        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                r = -errno;
        else
                r = write_file_atomic_at(dfd, "container.json", text, strlen(text), 0600);
        json_object_put(o);
        if (r < 0)
                return log_warning_errno(r, "Failed to save container %s: %m", c->name);
        return 0;
}

/* PrivateUsers: the lowest free 65536-uid range at or above 0x80000 (where systemd-nspawn picks too),
 * never overlapping another container's. */
#define UID_RANGE_FIRST 0x00080000U
#define UID_RANGE_LAST 0x6FFF0000U
#define UID_RANGE_SIZE 0x10000U

static int allocate_uid_base(Manager *m, uint32_t *ret) {
        for (uint32_t base = UID_RANGE_FIRST; base <= UID_RANGE_LAST; base += UID_RANGE_SIZE) {
                Container *other;
                bool used = false;

                HASHMAP_FOREACH(other, m->containers)
                        if (other->uid_base == base) {
                                used = true;
                                break;
                        }
                if (!used) {
                        *ret = base;
                        return 0;
                }
        }
        return -E2BIG;
}

static bool image_is_dir(const char *image) {
        return startswith(image, "dir:");
}

void container_emit_new(Container *c) {
        _cleanup_free_ char *p = NULL;

        if (container_get_path(c, &p) >= 0)
                (void) manager_emit_signal(c->manager, "ContainerNew", "so", c->name, p);
}

int container_persist(Container *c) {
        _cleanup_free_ char *dir = NULL, *p = NULL;
        int r;

        r = container_state_dir(c, &dir);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r >= 0) {
                p = strjoin(dir, "/upper");
                r = p ? mkdir_parents_and_self(p, 0755) : -ENOMEM;
        }
        if (r >= 0) {
                free(p);
                p = strjoin(dir, "/work");
                r = p ? mkdir_parents_and_self(p, 0700) : -ENOMEM;
        }
        /* the container's own layer belongs to its root, which is an unprivileged uid on the host */
        if (r >= 0 && c->uid_base > 0) {
                FOREACH_STRING(sub, "/upper", "/work") {
                        _cleanup_free_ char *q = strjoin(dir, sub);
                        if (!q || chown(q, c->uid_base, c->uid_base) < 0) {
                                r = q ? -errno : -ENOMEM;
                                break;
                        }
                }
        }
        if (r >= 0)
                r = container_save(c);
        if (r < 0) {
                (void) rm_rf(dir);
                return r;
        }
        c->persisted = true;
        return 0;
}

int container_create(Manager *m, const char *name, const char *image, Settings *settings, bool persist,
                     Container **ret, sd_bus_error *error) {
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *generated = NULL;
        char id[CONTAINER_ID_LEN + 1];
        struct stat st;
        int r;

        if (hashmap_size(m->containers) >= CONTAINERS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "Too many containers (%u).", CONTAINERS_MAX);

        if (isempty(name)) {
                for (unsigned attempt = 0;; attempt++) {
                        generated = mfree(generated);
                        r = container_name_generate(attempt / 8, &generated);
                        if (r < 0)
                                return r;
                        if (!hashmap_get(m->containers, generated))
                                break;
                        if (attempt > 64)
                                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "Could not generate a free name.");
                }
                name = generated;
        } else if (!container_name_is_valid(name))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME,
                                         "Invalid container name '%s': use up to 63 letters, digits, '-' and '.', "
                                         "starting with a letter or digit.", name);

        if (hashmap_get(m->containers, name))
                return sd_bus_error_setf(error, BUS_ERROR_CONTAINER_EXISTS, "A container named '%s' exists already.", name);

        _cleanup_free_ char *image_name = NULL, *lower = NULL;
        if (!image_is_dir(image)) {
                /* a stored image: its layers are the lowers, its config the defaults (image.c) */
                r = image_prepare_container(m, image, settings, &image_name, &lower, error);
                if (r < 0)
                        return r;
        } else {
                const char *path = image + strlen("dir:");
                if (!path_is_normalized_absolute(path) || streq(path, "/") || strpbrk(path, ",:\\"))
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE,
                                                 "Image '%s' is not dir: followed by a normalized absolute path without ',' ':' '\\'.", image);
                if (stat(path, &st) < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "Root directory %s: %s", path, strerror(errno));
                if (!S_ISDIR(st.st_mode))
                        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "Root directory %s is not a directory.", path);
                if (settings->entrypoint_set)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                                 "Invalid setting Entrypoint: a dir: image has none to replace; use Command.");

                if (strv_length(settings->command) == 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                                 "Invalid setting Command: a dir: image has no default command, give one.");
                image_name = strdup(image);
                lower = strdup(path);
                if (!image_name || !lower)
                        return -ENOMEM;
        }

        r = container_id_generate(id);
        if (r < 0)
                return r;

        r = container_new(m, name, id, &c);
        if (r < 0)
                return r;
        c->image = TAKE_PTR(image_name);
        c->lower_dir = TAKE_PTR(lower);

        /* the settings move over; the caller's stdio stays with the caller's Settings until start */
        c->settings = *settings;
        settings_init(settings);
        settings->stdin_fd = TAKE_FD(c->settings.stdin_fd);
        settings->stdout_fd = TAKE_FD(c->settings.stdout_fd);
        settings->stderr_fd = TAKE_FD(c->settings.stderr_fd);
        settings->console_fd = TAKE_FD(c->settings.console_fd);

        c->state = CONTAINER_CREATED;
        c->created_usec = now_realtime();

        if (c->settings.private_users != PRIVATE_USERS_NO) {
                r = allocate_uid_base(m, &c->uid_base);
                if (r < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "No free range of 65536 UIDs is left.");
        }

        if (persist) {
                r = container_persist(c);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to create the state of container %s: %m", name);
        }

        manager_graveyard_forget(m, c->name);
        /* routine events at debug level: a journal write can take milliseconds on a busy host, and
         * systemd logs the scope's start and stop anyway */
        log_debug("Created container %s (%s) from %s.", c->name, c->id, c->image);
        *ret = TAKE_PTR(c);
        return 0;
}

int container_start(Container *c, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (c->spawn)
                return pending_call_add(&c->start_waiters, message);
        if (!IN_SET(c->state, CONTAINER_CREATED, CONTAINER_EXITED, CONTAINER_RESTARTING))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Container %s is %s already.", c->name,
                                         container_state_to_string(c->state));

        c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
        c->stop_requested = false;
        c->start_failed_early = false;

        r = container_spawn(c, error);
        if (r < 0) {
                /* nothing half-made: v1 cgroups of ours made before the failure, ports, addresses */
                scope_cleanup_extra(c);
                network_release(c);
                return r;
        }
        return pending_call_add(&c->start_waiters, message);
}

static void container_dispatch_queued(Container *c);

void container_on_started(Container *c, int r, const sd_bus_error *error) {
        if (r >= 0) {
                c->started_usec = now_realtime();
                c->finished_usec = 0;
                c->exit_status = c->exit_signal = 0;
                c->oom_killed = false;
                container_set_state_quiet(c, CONTAINER_RUNNING);
                container_emit_changed(c, "State", "StartedTimestamp", "FinishedTimestamp", "ExitStatus", "ExitSignal",
                                       NULL);
                log_debug("Started container %s, leader " PID_FMT ".", c->name, c->leader);
                if (!c->exit_pending) {
                        /* (an exit that came first is recorded below, and a machine of a process
                         * that is gone would be a lie) */
                        (void) container_save(c);
                        (void) machine_register(c);
                }
                pending_calls_reply(&c->start_waiters, 0, NULL, NULL);
        } else {
                /* Did the command itself fail (then the container ran and exited 127/126), or its
                 * setup (then it never ran)? */
                c->start_failed_early = !c->exec_failed;
                log_warning("Container %s failed to start: %s", c->name, error && error->message ? error->message : strerror(-r));
                pending_calls_reply(&c->start_waiters, r, error, NULL);
                if (c->exec_failed) {
                        c->started_usec = now_realtime();
                        container_set_state(c, CONTAINER_RUNNING);
                }
        }

        /* an exit that overtook the end of the start */
        if (c->exit_pending) {
                c->exit_pending = false;
                container_on_exit(c, c->pending_exit_status, c->pending_exit_signal);
                return;
        }
        container_dispatch_queued(c);
}

/* vessel-init leaves the app's raw wait status in the runtime directory; it is the truth even when
 * vesseld was not there to see the exit. */
static int read_exit_file(Container *c, int *ret_status, int *ret_signal) {
        _cleanup_free_ char *dir = NULL, *text = NULL;
        _cleanup_close_ int dfd = -EBADF;
        int r, raw;
        char *p;

        r = container_runtime_dir(c, &dir);
        if (r < 0)
                return r;
        dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        r = read_full_file_at(dfd, "exit", 4096, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "STATUS=");
        if (!p || sscanf(p + strlen("STATUS="), "%i", &raw) != 1)
                return -EBADMSG;
        if (WIFEXITED(raw)) {
                *ret_status = WEXITSTATUS(raw);
                *ret_signal = 0;
        } else if (WIFSIGNALED(raw)) {
                *ret_status = 0;
                *ret_signal = WTERMSIG(raw);
        } else
                return -EBADMSG;
        return 0;
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
        if (c->state != CONTAINER_RESTARTING)
                return 0;
        c->restart_count++;
        container_emit_changed(c, "RestartCount", NULL);
        r = container_start(c, NULL, &error);
        if (r < 0) {
                log_warning("Failed to restart container %s: %s", c->name, error.message ?: strerror(-r));
                container_set_state(c, CONTAINER_EXITED);
                (void) container_save(c);
        }
        return 0;
}

static bool container_should_restart(Container *c) {
        if (c->stop_requested || c->removed || c->start_failed_early)
                return false;
        switch (c->settings.restart) {
        case RESTART_ALWAYS:
                return true;
        case RESTART_ON_FAILURE:
                return c->exit_status != 0 || c->exit_signal != 0;
        default:
                return false;
        }
}

static void container_schedule_restart(Container *c) {
        uint64_t delay = RESTART_DELAY_MIN_USEC;
        int r;

        /* Docker's back-off: doubling from 100ms, reset when the container ran for 10s. */
        if (c->finished_usec - c->started_usec < 10 * USEC_PER_SEC)
                for (unsigned i = 0; i < c->restart_count && delay < RESTART_DELAY_MAX_USEC; i++)
                        delay *= 2;
        delay = MIN(delay, RESTART_DELAY_MAX_USEC);

        container_set_state(c, CONTAINER_RESTARTING);
        r = sd_event_add_time_relative(c->manager->event, &c->restart_timer, CLOCK_MONOTONIC, delay, 0,
                                       on_restart_timer, c);
        if (r < 0) {
                log_warning_errno(r, "Failed to schedule restart of %s: %m", c->name);
                container_set_state(c, CONTAINER_EXITED);
        }
}

static void container_finalize_remove(Container *c);

void container_on_exit(Container *c, int status, int signal) {
        int fs = 0, fsig = 0;

        if (c->spawn) {
                /* the start is still being reported: finish that first */
                c->exit_pending = true;
                c->pending_exit_status = status;
                c->pending_exit_signal = signal;
                return;
        }

        if (read_exit_file(c, &fs, &fsig) >= 0) {
                status = fs;
                signal = fsig;
        } else if (status >= 128 && status < 128 + 65 && signal == 0 && !c->start_failed_early) {
                /* vessel-init's own code for "killed by N" */
                signal = status - 128;
                status = 0;
        }

        /* the OOM event may still be queued behind the exit: the kernel's counter decides then */
        uint64_t kills;
        if (!c->oom_killed && scope_read_oom_kills(c, &kills) >= 0 && kills > 0) {
                c->oom_killed = true;
                log_warning("Container %s: the kernel's OOM killer ended a process.", c->name);
        }

        if (!c->start_failed_early) {
                /* the answers first: what follows can wait, the callers should not */
                c->exit_status = status;
                c->exit_signal = signal;
                c->finished_usec = now_realtime();
                pending_calls_reply(&c->exit_waiters, 0, NULL, "ii", (int32_t) status, (int32_t) signal);
        }
        if (c->leader_is_child) /* one we started: the next start's first process, now that it is done */
                spare_schedule(c->manager);
        /* the last reference to the container's mounts: their teardown happens here */
        c->mntns_fd = safe_close(c->mntns_fd);

        if (c->leader > 0 && !c->start_failed_early)
                (void) machine_unregister(c);
        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        c->leader_pidfd = safe_close(c->leader_pidfd);
        c->leader = 0;
        c->leader_starttime = 0;
        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        scope_cleanup_extra(c);
        network_release(c);
        settings_close_stdio(&c->settings);

        if (c->start_failed_early) {
                /* it never ran: back to created, nothing to report */
                container_set_state(c, CONTAINER_CREATED);
                (void) container_save(c);
                pending_calls_reply(&c->exit_waiters, 0, NULL, "ii", (int32_t) 125, (int32_t) 0);
                pending_calls_reply(&c->stop_waiters, 0, NULL, NULL);
                if (c->remove_on_exit || c->settings.auto_remove) {
                        container_finalize_remove(c);
                        return;
                }
                container_dispatch_queued(c);
                return;
        }

        if (container_should_restart(c)) {
                container_schedule_restart(c);
                container_emit_changed(c, "FinishedTimestamp", "ExitStatus", "ExitSignal", "OOMKilled", NULL);
        } else {
                container_set_state_quiet(c, CONTAINER_EXITED);
                container_emit_changed(c, "State", "FinishedTimestamp", "ExitStatus", "ExitSignal", "OOMKilled", NULL);
        }
        (void) container_save(c);
        /* a stop is done when everything of the container is gone, the cgroups of ours included */
        pending_calls_reply(&c->stop_waiters, 0, NULL, NULL);

        /* after the answers, which should not wait for the journal */
        log_full_errno(status == 0 && signal == 0 ? LOG_DEBUG : LOG_INFO, 0, "Container %s exited, status %i%s%s.",
                       c->name, status, signal ? ", signal SIG" : "", signal ? strempty(signal_to_name(signal)) : "");

        if (c->remove_on_exit || (c->settings.auto_remove && c->state == CONTAINER_EXITED)) {
                container_finalize_remove(c);
                return;
        }
        container_dispatch_queued(c);
}

static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;

        c->stop_timer = sd_event_source_disable_unref(c->stop_timer);
        log_info("Container %s did not stop in time, killing it.", c->name);
        if (c->leader_pidfd >= 0)
                (void) container_signal_leader(c, SIGKILL);
        return 0;
}

static int container_queue(Container *c, sd_bus_message *message) {
        if (!message)
                return -EBUSY;
        return pending_call_add(&c->queued, message);
}

int container_stop(Container *c, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (c->spawn)
                return container_queue(c, message);

        c->stop_requested = true;
        if (c->state == CONTAINER_RESTARTING) {
                c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
                container_set_state(c, CONTAINER_EXITED);
                (void) container_save(c);
        }
        if (!container_is_active(c)) {
                if (message)
                        return sd_bus_reply_method_return(message, NULL);
                return 0;
        }

        r = pending_call_add(&c->stop_waiters, message);
        if (r < 0)
                return r;
        if (c->state == CONTAINER_STOPPING)
                return 0;

        if (c->state == CONTAINER_PAUSED)
                (void) container_resume(c, NULL, NULL);
        container_set_state(c, CONTAINER_STOPPING);
        (void) container_save(c);

        r = container_signal_leader(c, c->settings.stop_signal);
        if (r < 0 && r != -ESRCH)
                log_warning_errno(r, "Failed to signal container %s: %m", c->name);

        r = sd_event_add_time_relative(c->manager->event, &c->stop_timer, CLOCK_MONOTONIC,
                                       c->settings.stop_timeout_usec, 0, on_stop_timeout, c);
        if (r < 0) {
                (void) container_signal_leader(c, SIGKILL);
                log_warning_errno(r, "Failed to arm stop timer of %s, killed it: %m", c->name);
        }
        return 0;
}

static int on_kill_unit(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        sd_bus_message *message = userdata;

        if (sd_bus_error_is_set(error))
                (void) sd_bus_reply_method_error(message, error);
        else
                (void) sd_bus_reply_method_return(message, NULL);
        sd_bus_message_unref(message);
        return 0;
}

int container_kill(Container *c, const char *whom, int signo, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (!STR_IN_SET(whom, "leader", "all"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid whom '%s': use leader or all.", whom);
        if (c->spawn)
                return container_queue(c, message);
        if (!container_is_active(c))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Container %s is not running (%s).", c->name,
                                         container_state_to_string(c->state));

        /* the user's hand: no restart after this */
        if (IN_SET(signo, SIGKILL, SIGTERM, SIGINT, SIGQUIT))
                c->stop_requested = true;

        if (streq(whom, "leader")) {
                r = container_signal_leader(c, signo);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to signal container %s: %m", c->name);
                return message ? sd_bus_reply_method_return(message, NULL) : 0;
        }

        /* every process of the scope: systemd knows them all */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = systemd_new_call(c->manager, "KillUnit", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssi", c->unit, "all", (int32_t) signo);
        if (r >= 0)
                r = systemd_call(c->manager, m, on_kill_unit, sd_bus_message_ref(message));
        if (r < 0) {
                sd_bus_message_unref(message);
                return r;
        }
        return 0;
}

/* A removed container's exit status stays known for a minute: a WaitContainer sent right behind a
 * RunContainer with AutoRemove may reach us after the container exited and was removed (dbus-daemon
 * orders messages per sender only, and systemd's signals come from another). */
#define TOMBSTONE_USEC (60 * USEC_PER_SEC)
#define TOMBSTONES_MAX 1024

typedef struct Tombstone {
        char *name;
        int status, signal;
        uint64_t usec;
} Tombstone;

static uint64_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000;
}

static Tombstone *tombstone_free(Tombstone *t) {
        if (t)
                free(t->name);
        return mfree(t);
}

void manager_graveyard_forget(Manager *m, const char *name) {
        tombstone_free(hashmap_remove(m->graveyard, name));
}

void manager_graveyard_free(Manager *m) {
        Tombstone *t;

        while (hashmap_size(m->graveyard) > 0) {
                unsigned i = 0;
                if (!hashmap_iterate(m->graveyard, &i, (void **) &t, NULL))
                        break;
                tombstone_free(hashmap_remove(m->graveyard, t->name));
        }
        m->graveyard = hashmap_free(m->graveyard);
}

static void graveyard_add(Container *c) {
        Manager *m = c->manager;
        uint64_t now = now_monotonic();
        Tombstone *t;

        if (!m->graveyard && !(m->graveyard = hashmap_new()))
                return;
        manager_graveyard_forget(m, c->name);
        if (hashmap_size(m->graveyard) >= TOMBSTONES_MAX) {
                /* drop the expired, or else any one */
                Tombstone *victim = NULL;
                HASHMAP_FOREACH(t, m->graveyard)
                        if (!victim || t->usec < victim->usec)
                                victim = t;
                if (victim)
                        manager_graveyard_forget(m, victim->name);
        }
        t = new0(Tombstone, 1);
        if (!t)
                return;
        *t = (Tombstone) { .name = strdup(c->name), .status = c->exit_status, .signal = c->exit_signal, .usec = now };
        if (!t->name || hashmap_put(m->graveyard, t->name, t) < 0)
                tombstone_free(t);
}

bool manager_graveyard_lookup(Manager *m, const char *name, int *ret_status, int *ret_signal) {
        Tombstone *t = hashmap_get(m->graveyard, name);

        if (!t || now_monotonic() - t->usec > TOMBSTONE_USEC)
                return false;
        *ret_status = t->status;
        *ret_signal = t->signal;
        return true;
}

static void container_finalize_remove(Container *c) {
        Manager *m = c->manager;
        _cleanup_free_ char *dir = NULL, *rundir = NULL, *path = NULL;
        PendingCall *waiters = TAKE_PTR(c->remove_waiters);
        int r;

        c->removed = true;
        if (c->state == CONTAINER_EXITED)
                graveyard_add(c);
        network_release(c);
        if (container_state_dir(c, &dir) >= 0) {
                r = rm_rf(dir);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove %s: %m", dir);
        }
        if (container_runtime_dir(c, &rundir) >= 0)
                (void) rm_rf(rundir);
        log_debug("Removed container %s.", c->name);

        if (container_get_path(c, &path) >= 0)
                (void) manager_emit_signal(m, "ContainerRemoved", "so", c->name, path);
        pending_calls_reply(&waiters, 0, NULL, NULL);
        container_free(c);
        manager_check_idle(m);
}

int container_remove(Container *c, bool force, sd_bus_message *message, sd_bus_error *error) {
        Transfer *t;
        int r;

        if (c->spawn)
                return container_queue(c, message);

        /* an export reads the container's own layer: its removal would cut the archive short */
        t = manager_find_transfer_about(c->manager, TRANSFER_EXPORT_CONTAINER, c->name);
        if (t)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE,
                                         "Container %s is being exported (transfer %u); cancel the export or wait for it.",
                                         c->name, (unsigned) t->id);

        if (container_is_active(c)) {
                if (!force)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE,
                                                 "Container %s is %s: stop it first, or remove with force.", c->name,
                                                 container_state_to_string(c->state));
                r = pending_call_add(&c->remove_waiters, message);
                if (r < 0)
                        return r;
                c->remove_on_exit = true;
                c->stop_requested = true;
                if (c->state == CONTAINER_PAUSED)
                        (void) container_resume(c, NULL, NULL);
                (void) container_signal_leader(c, SIGKILL);
                return 0;
        }

        c->restart_timer = sd_event_source_disable_unref(c->restart_timer);
        r = pending_call_add(&c->remove_waiters, message);
        if (r < 0)
                return r;
        container_finalize_remove(c);
        return 0;
}

int container_wait(Container *c, sd_bus_message *message) {
        if (c->state == CONTAINER_EXITED && !c->spawn)
                return sd_bus_reply_method_return(message, "ii", (int32_t) c->exit_status, (int32_t) c->exit_signal);
        return pending_call_add(&c->exit_waiters, message);
}

int container_update(Container *c, const Settings *n, int mask, sd_bus_message *message, sd_bus_error *error) {
        Settings *s = &c->settings;
        int r;

        if (c->spawn)
                return container_queue(c, message);

        /* take over the limits the call named */
        if (mask & SETTING_LIMIT_MEMORY_MAX)
                s->memory_max = n->memory_max;
        if (mask & SETTING_LIMIT_MEMORY_HIGH)
                s->memory_high = n->memory_high;
        if (mask & SETTING_LIMIT_MEMORY_LOW)
                s->memory_low = n->memory_low;
        if (mask & SETTING_LIMIT_MEMORY_SWAP_MAX)
                s->memory_swap_max = n->memory_swap_max;
        if (mask & SETTING_LIMIT_CPU_WEIGHT)
                s->cpu_weight = n->cpu_weight;
        if (mask & SETTING_LIMIT_CPU_QUOTA)
                s->cpu_quota_per_sec_usec = n->cpu_quota_per_sec_usec;
        if (mask & SETTING_LIMIT_TASKS_MAX)
                s->tasks_max = n->tasks_max;
        if (mask & SETTING_LIMIT_IO_WEIGHT)
                s->io_weight = n->io_weight;
        if (mask & SETTING_LIMIT_ALLOWED_CPUS) {
                free(s->allowed_cpus);
                s->allowed_cpus = memdup(n->allowed_cpus, n->allowed_cpus_size);
                s->allowed_cpus_size = n->allowed_cpus_size;
                if (!s->allowed_cpus)
                        return -ENOMEM;
        }
        if (mask & SETTING_LIMIT_STOP) {
                s->stop_signal = n->stop_signal;
                s->stop_timeout_usec = n->stop_timeout_usec;
        }
        if (mask & SETTING_LIMIT_RESTART)
                s->restart = n->restart;
        (void) container_save(c);
        container_emit_changed(c, "MemoryMax", "MemoryHigh", "MemoryLow", "MemorySwapMax", "CPUWeight",
                               "CPUQuotaPerSecUSec", "TasksMax", "IOWeight", "AllowedCPUs", "StopSignal",
                               "StopTimeoutUSec", "Restart", NULL);

        int live = mask & ~(SETTING_LIMIT_STOP | SETTING_LIMIT_RESTART);
        if (!container_is_active(c) || live == 0)
                return sd_bus_reply_method_return(message, NULL);

        r = scope_update_extra(c, live);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to update the cgroups of %s: %m", c->name);
        return scope_update(c, live, message);
}

int container_pause(Container *c, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (c->spawn)
                return container_queue(c, message);
        if (c->state == CONTAINER_PAUSED)
                return message ? sd_bus_reply_method_return(message, NULL) : 0;
        if (c->state != CONTAINER_RUNNING)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Container %s is %s, not running.", c->name,
                                         container_state_to_string(c->state));
        r = scope_freeze(c, true, message);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to freeze container %s: %m", c->name);
        container_set_state(c, CONTAINER_PAUSED);
        (void) container_save(c);
        return 0;
}

int container_resume(Container *c, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (c->spawn)
                return container_queue(c, message);
        if (c->state != CONTAINER_PAUSED)
                return message ? sd_bus_reply_method_return(message, NULL) : 0;
        r = scope_freeze(c, false, message);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to thaw container %s: %m", c->name);
        container_set_state(c, CONTAINER_RUNNING);
        (void) container_save(c);
        return 0;
}

/* Calls that arrived while a start was in flight, in order. */
static void container_dispatch_queued(Container *c) {
        PendingCall *q = TAKE_PTR(c->queued);

        while (q) {
                PendingCall *next = q->next;
                sd_bus_message *m = q->message;

                /* re-run the method as if it came in now: the vtable handler reads it again */
                (void) sd_bus_message_rewind(m, true);
                (void) container_dispatch_message(c, m);
                sd_bus_message_unref(m);
                free(q->reply_path);
                free(q);
                q = next;
        }
}

/* ----------------------------------------------------------------- load ---- */

static int get_int(json_object *o, const char *k, int64_t *ret) {
        json_object *e;
        if (!json_object_object_get_ex(o, k, &e))
                return -ENOENT;
        *ret = json_object_get_int64(e);
        return 0;
}

static int on_leader_gone(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;

        /* not our child: no status from the kernel, the exit file has it (or the leader was killed
         * before writing one) */
        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        container_on_exit(c, 0, SIGKILL);
        return 0;
}

/* Through the pidfd; where there is none (a kernel or a tool, like valgrind, without pidfd_open), by
 * pid, once the start time says it is still the same process. */
int container_signal_leader(Container *c, int sig) {
        uint64_t st;

        if (c->leader_pidfd >= 0) {
                if (syscall(SYS_pidfd_send_signal, c->leader_pidfd, sig, NULL, 0) >= 0)
                        return 0;
                if (errno != ENOSYS)
                        return -errno;
        }
        if (c->leader <= 0 || container_read_starttime(c->leader, &st) < 0 || st != c->leader_starttime)
                return -ESRCH;
        return RET_NERRNO(kill(c->leader, sig));
}

static int on_leader_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        uint64_t st;

        if (container_read_starttime(c->leader, &st) >= 0 && st == c->leader_starttime) {
                (void) sd_event_source_set_time_relative(s, 250 * USEC_PER_MSEC);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        c->leader_source = sd_event_source_disable_unref(c->leader_source);
        container_on_exit(c, 0, SIGKILL);
        return 0;
}

int container_adopt(Container *c) {
        uint64_t st = 0;
        int fd, r;

        fd = (int) syscall(SYS_pidfd_open, c->leader, 0);
        if (fd < 0 && errno == ENOSYS) {
                /* no pidfds here: the same process, watched by polling its start time */
                if (container_read_starttime(c->leader, &st) < 0 || st != c->leader_starttime)
                        return -ESRCH;
                c->leader_is_child = false;
                r = sd_event_add_time_relative(c->manager->event, &c->leader_source, CLOCK_MONOTONIC,
                                               250 * USEC_PER_MSEC, 0, on_leader_poll, c);
                if (r < 0)
                        return r;
                goto adopted;
        }
        if (fd < 0)
                return -errno;
        /* pids are reused: only the same process (same start time) is ours */
        if (container_read_starttime(c->leader, &st) < 0 || st != c->leader_starttime) {
                safe_close(fd);
                return -ESRCH;
        }
        c->leader_pidfd = fd = fd_move_high(fd);
        c->leader_is_child = false;
        r = sd_event_add_io(c->manager->event, &c->leader_source, fd, EPOLLIN, on_leader_gone, c);
        if (r < 0)
                return r;
adopted:
        r = scope_cgroup_path(c->settings.slice, c->unit, &c->cgroup_path);
        if (r < 0)
                return r;
        if (c->settings.private_users != PRIVATE_USERS_NO && c->userns_fd < 0) {
                /* the app, vessel-init's child, lives in the container's user namespace */
                _cleanup_free_ char *children = NULL;
                char path[128];
                snprintf(path, sizeof path, "/proc/%i/task/%i/children", (int) c->leader, (int) c->leader);
                if (read_one_line_file(path, &children) >= 0 && atoi(children) > 0) {
                        snprintf(path, sizeof path, "/proc/%i/ns/user", atoi(children));
                        c->userns_fd = fd_move_high(open(path, O_RDONLY | O_CLOEXEC));
                }
        }
        return scope_watch_oom(c);
}

int container_load(Manager *m, const char *id, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;
        _cleanup_free_ char *dir = NULL, *text = NULL;
        json_object *o = NULL, *e;
        int64_t v;
        int r;

        dir = strjoin(m->state_dir, "/containers/", id);
        if (!dir)
                return -ENOMEM;
        {
                _cleanup_close_ int dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (dfd < 0)
                        return -errno;
                r = read_full_file_at(dfd, "container.json", 4 << 20, &text, NULL);
                if (r < 0)
                        return r;
        }
        o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }

        const char *name = json_object_object_get_ex(o, "Name", &e) ? json_object_get_string(e) : NULL;
        if (!container_name_is_valid(name) || hashmap_get(m->containers, name)) {
                json_object_put(o);
                return -EBADMSG;
        }
        r = container_new(m, name, id, &c);
        if (r < 0)
                goto finish;
        c->persisted = true; /* read from its record */
        r = -EBADMSG;
        if (!json_object_object_get_ex(o, "Image", &e) || !(c->image = strdup(json_object_get_string(e))))
                goto finish;
        if (!json_object_object_get_ex(o, "RootDirectory", &e) || !(c->lower_dir = strdup(json_object_get_string(e))))
                goto finish;
        if (!json_object_object_get_ex(o, "State", &e) || (c->state = container_state_from_string(json_object_get_string(e))) < 0)
                goto finish;
        if (get_int(o, "Leader", &v) >= 0)
                c->leader = v;
        if (json_object_object_get_ex(o, "LeaderStartTime", &e))
                c->leader_starttime = json_object_get_uint64(e);
        if (!IN_SET(c->state, CONTAINER_RUNNING, CONTAINER_PAUSED, CONTAINER_STOPPING)) {
                /* a start that was in flight is no leader (records of an earlier version had it) */
                c->leader = 0;
                c->leader_starttime = 0;
        }
        if (json_object_object_get_ex(o, "CreatedTimestamp", &e))
                c->created_usec = json_object_get_uint64(e);
        if (json_object_object_get_ex(o, "StartedTimestamp", &e))
                c->started_usec = json_object_get_uint64(e);
        if (json_object_object_get_ex(o, "FinishedTimestamp", &e))
                c->finished_usec = json_object_get_uint64(e);
        if (get_int(o, "ExitStatus", &v) >= 0)
                c->exit_status = v;
        if (get_int(o, "ExitSignal", &v) >= 0)
                c->exit_signal = v;
        if (get_int(o, "RestartCount", &v) >= 0)
                c->restart_count = v;
        if (json_object_object_get_ex(o, "OOMKilled", &e))
                c->oom_killed = json_object_get_boolean(e);
        if (json_object_object_get_ex(o, "StopRequested", &e))
                c->stop_requested = json_object_get_boolean(e);
        if (get_int(o, "UIDBase", &v) >= 0)
                c->uid_base = v;
        if (!json_object_object_get_ex(o, "Settings", &e))
                goto finish;
        r = settings_from_json(&c->settings, e);
        if (r < 0)
                goto finish;
        network_from_json(c, o);

        *ret = TAKE_PTR(c);
        r = 0;
finish:
        json_object_put(o);
        return r;
}

int manager_load_containers(Manager *m) {
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        Container *c;

        dir = strjoin(m->state_dir, "/containers");
        if (!dir)
                return log_oom();
        (void) mkdir(dir, 0700);
        d = opendir(dir);
        if (!d)
                return log_error_errno(errno, "Failed to open %s: %m", dir);

        for (struct dirent *de; (de = readdir(d));) {
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (!container_id_is_valid(de->d_name)) {
                        log_warning("Ignoring stray %s/%s.", dir, de->d_name);
                        continue;
                }
                r = container_load(m, de->d_name, &c);
                if (r < 0) {
                        /* a create that crashed before its record was complete: debris */
                        _cleanup_free_ char *p = strjoin(dir, "/", de->d_name);
                        log_warning_errno(r, "Container record %s is unusable, removing it: %m", de->d_name);
                        if (p)
                                (void) rm_rf(p);
                        continue;
                }

                if (IN_SET(c->state, CONTAINER_RUNNING, CONTAINER_PAUSED, CONTAINER_STOPPING)) {
                        r = c->leader > 0 ? container_adopt(c) : -ESRCH;
                        if (r < 0) {
                                log_info("Container %s exited while vesseld was away.", c->name);
                                c->leader_pidfd = safe_close(c->leader_pidfd);
                                container_on_exit(c, 0, SIGKILL);
                        } else {
                                log_info("Re-adopted container %s, leader " PID_FMT ".", c->name, c->leader);
                                (void) machine_register(c); /* "exists already" when machined kept it */
                        }
                } else if (c->state == CONTAINER_RESTARTING)
                        container_schedule_restart(c);
        }
        closedir(d);

        /* veths and rules of containers that are gone (a kill -9 of vesseld, a crash mid-start) */
        network_reconcile(m);
        return 0;
}
