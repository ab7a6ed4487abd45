/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus-util.h"
#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "scope.h"
#include "string-util.h"

#define SYSTEMD_CALLS_MAX 100
#define SYSTEMD_PRIVATE_SOCKET "/run/systemd/private"
#define SYSTEMD_RECONNECT_USEC (2 * USEC_PER_SEC)

typedef struct SystemdCall {
        Manager *manager;
        sd_bus_message *call;
        sd_bus_slot *slot;
        SystemdCallback callback;
        void *userdata;
        struct SystemdCall *next; /* queue */
} SystemdCall;

static SystemdCall *systemd_call_free(SystemdCall *c) {
        if (!c)
                return NULL;
        sd_bus_message_unref(c->call);
        sd_bus_slot_unref(c->slot);
        return mfree(c);
}

static void systemd_queue_dispatch(Manager *m);

static int on_systemd_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        SystemdCall *c = userdata;
        Manager *m = c->manager;
        sd_bus_error error = SD_BUS_ERROR_NULL;

        assert(m->n_systemd_calls > 0);
        m->n_systemd_calls--;

        (void) sd_bus_error_copy(&error, sd_bus_message_get_error(reply));
        (void) c->callback(reply, c->userdata, &error);
        sd_bus_error_free(&error);

        /* the slot is floating-free: drop our reference, which frees it and with it this call */
        c->slot = sd_bus_slot_unref(c->slot);
        systemd_call_free(c);

        systemd_queue_dispatch(m);
        manager_check_idle(m);
        return 1;
}

static int systemd_call_send(SystemdCall *c) {
        Manager *m = c->manager;
        int r;

        /* the bus the call was made for: systemd's socket, or the system bus (machined's calls) */
        r = sd_bus_call_async(sd_bus_message_get_bus(c->call), &c->slot, c->call, on_systemd_reply, c, 0);
        if (r < 0)
                return r;
        m->n_systemd_calls++;
        return 0;
}

static void systemd_queue_dispatch(Manager *m) {
        while (m->systemd_queue && m->n_systemd_calls < SYSTEMD_CALLS_MAX) {
                SystemdCall *c = m->systemd_queue;
                int r;

                m->systemd_queue = c->next;
                if (!m->systemd_queue)
                        m->systemd_queue_tail = NULL;
                c->next = NULL;

                r = systemd_call_send(c);
                if (r < 0) {
                        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
                        sd_bus_error_set_errnof(&error, r, "Failed to call systemd: %m");
                        (void) c->callback(NULL, c->userdata, &error);
                        systemd_call_free(c);
                }
        }
}

int systemd_new_call(Manager *m, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(systemd_bus(m), ret, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                              "org.freedesktop.systemd1.Manager", method);
}

int systemd_call(Manager *m, sd_bus_message *call, SystemdCallback cb, void *userdata) {
        SystemdCall *c;
        int r;

        if (!m->bus)
                return -ENOTCONN;

        c = calloc(1, sizeof(SystemdCall));
        if (!c)
                return -ENOMEM;
        *c = (SystemdCall) {
                .manager = m,
                .call = sd_bus_message_ref(call),
                .callback = cb,
                .userdata = userdata,
        };

        if (m->n_systemd_calls < SYSTEMD_CALLS_MAX) {
                r = systemd_call_send(c);
                if (r < 0) {
                        systemd_call_free(c);
                        return r;
                }
                return 0;
        }

        if (m->systemd_queue_tail)
                m->systemd_queue_tail->next = c;
        else
                m->systemd_queue = c;
        m->systemd_queue_tail = c;
        return 0;
}

static Container *container_by_unit(Manager *m, const char *unit) {
        _cleanup_free_ char *name = NULL;
        const char *p = startswith_ptr(unit, "vessel-");

        if (!p || !endswith(p, ".scope"))
                return NULL;
        name = strndup(p, strlen(p) - strlen(".scope"));
        if (!name)
                return NULL;
        return hashmap_get(m->containers, name);
}

static int match_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *path, *unit, *result;
        Container *c;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "uoss", &id, &path, &unit, &result);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse JobRemoved: %m");
                return 0;
        }

        c = hashmap_remove(m->jobs, path);
        if (!c) {
                /* On systemd's socket we hear of every job, anyone's: an unknown one is not ours (its
                 * reply comes before its JobRemoved there). On the system bus, where we hear only of
                 * our own, the signal may overtake our bookkeeping if the reply to StartTransientUnit
                 * has not been processed yet; remember the result on the container then. */
                if (sd_bus_message_get_bus(message) != m->bus)
                        return 0;
                c = container_by_unit(m, unit);
                if (!c || !c->spawn)
                        return 0;
        }

        /* a job of ours ended: the unit is ours whatever the result, even if this overtook the reply */
        if (container_spawn_scope_made(c))
                return 0; /* the start is over (and the container may be gone) */
        container_spawn_scope_done(c, streq(result, "done") ? 0 : -EIO, result);
        return 0;
}

static int systemd_private_connect(Manager *m);

static int on_systemd_reconnect(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        if (systemd_private_connect(m) >= 0)
                log_info("Calling systemd on %s again.", SYSTEMD_PRIVATE_SOCKET);
        else if (sd_event_source_set_time_relative(s, SYSTEMD_RECONNECT_USEC) >= 0)
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static int on_systemd_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        _cleanup_free_ Container **waiting = NULL;
        size_t n = 0;
        unsigned i = 0;
        void *v;
        int r;

        /* systemd re-executes (an upgrade): the system bus serves until its socket is back. Calls in
         * flight fail on their own; a start that waits for its job's end would never hear of it. */
        log_info("Lost the connection to systemd's private socket; using the system bus until it is back.");
        m->private_job_removed_slot = sd_bus_slot_unref(m->private_job_removed_slot);
        m->systemd_private = sd_bus_flush_close_unref(m->systemd_private);
        waiting = calloc(hashmap_size(m->jobs) + 1, sizeof(Container *));
        while (waiting && hashmap_iterate(m->jobs, &i, &v, NULL))
                waiting[n++] = v;
        for (size_t k = 0; k < n; k++)
                container_spawn_scope_done(waiting[k], -ECONNRESET, "lost the connection to systemd");

        if (m->systemd_reconnect_timer)
                r = sd_event_source_set_time_relative(m->systemd_reconnect_timer, SYSTEMD_RECONNECT_USEC);
        else
                r = sd_event_add_time_relative(m->event, &m->systemd_reconnect_timer, CLOCK_MONOTONIC,
                                               SYSTEMD_RECONNECT_USEC, 0, on_systemd_reconnect, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->systemd_reconnect_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_warning_errno(r, "Failed to schedule a reconnect to systemd, staying on the system bus: %m");
        return 0;
}

static int systemd_private_connect(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (geteuid() != 0 || access(SYSTEMD_PRIVATE_SOCKET, F_OK) < 0)
                return -ENOENT;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_address(bus, "unix:path=" SYSTEMD_PRIVATE_SOCKET);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        /* A direct connection has no bus to install match rules on, and its messages carry no sender:
         * these matches are filters on what systemd sends us, which is every signal it emits. */
        if (r >= 0)
                r = sd_bus_match_signal(bus, &m->private_job_removed_slot, NULL, "/org/freedesktop/systemd1",
                                        "org.freedesktop.systemd1.Manager", "JobRemoved", match_job_removed, m);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_systemd_disconnected, m);
        if (r < 0) {
                m->private_job_removed_slot = sd_bus_slot_unref(m->private_job_removed_slot);
                return log_debug_errno(r, "Cannot use %s, calling systemd through the system bus: %m",
                                       SYSTEMD_PRIVATE_SOCKET);
        }
        m->systemd_private = TAKE_PTR(bus);
        log_debug("Calling systemd on %s.", SYSTEMD_PRIVATE_SOCKET);
        return 0;
}

sd_bus *systemd_bus(Manager *m) {
        return m->systemd_private ?: m->bus;
}

int scope_manager_init(Manager *m) {
        int r;

        m->jobs = hashmap_new();
        if (!m->jobs)
                return log_oom();

        if (!m->bus)
                return 0;

        /* One match for every container; installed before any job exists, so none is missed. On the
         * system bus as well: it serves whenever systemd's own socket does not. */
        r = sd_bus_match_signal_async(m->bus, &m->job_removed_slot, "org.freedesktop.systemd1",
                                      "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager",
                                      "JobRemoved", match_job_removed, NULL, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add JobRemoved match: %m");

        /* No Subscribe(): systemd sends JobRemoved to the client that queued the job anyway, and a
         * subscriber gets every unit's PropertiesChanged and UnitNew/UnitRemoved on top, at a cost to
         * systemd, dbus-daemon and us for every container started. */

        (void) systemd_private_connect(m);
        return 0;
}

void scope_manager_done(Manager *m) {
        while (m->systemd_queue) {
                SystemdCall *c = m->systemd_queue;
                m->systemd_queue = c->next;
                systemd_call_free(c);
        }
        m->systemd_queue_tail = NULL;
        m->job_removed_slot = sd_bus_slot_unref(m->job_removed_slot);
        m->private_job_removed_slot = sd_bus_slot_unref(m->private_job_removed_slot);
        m->systemd_private = sd_bus_flush_close_unref(m->systemd_private);
        m->systemd_reconnect_timer = sd_event_source_disable_unref(m->systemd_reconnect_timer);
        hashmap_free(m->jobs);
        m->jobs = NULL;
}

static int append_limits(sd_bus_message *msg, Container *c, int mask) {
        const Settings *s = &c->settings;
        bool v1 = c->manager->cgroup_layout == CGROUP_LAYOUT_LEGACY;
        int r = 0;

#define APPEND_T(bit, name, value)                                                  \
        if ((mask & (bit)) && r >= 0)                                               \
                r = sd_bus_message_append(msg, "(sv)", name, "t", (uint64_t) (value));

        APPEND_T(SETTING_LIMIT_MEMORY_MAX, "MemoryMax", s->memory_max);
        APPEND_T(SETTING_LIMIT_MEMORY_HIGH, "MemoryHigh", s->memory_high);
        APPEND_T(SETTING_LIMIT_MEMORY_SWAP_MAX, "MemorySwapMax", s->memory_swap_max);
        /* systemd has no soft limit on v1 (MemoryLow needs v2): we write it ourselves there */
        if (!v1)
                APPEND_T(SETTING_LIMIT_MEMORY_LOW, "MemoryLow", s->memory_low == SETTING_UNSET ? 0 : s->memory_low);
        /* "unset" means the default: 100 for weights, no quota, no limit */
        APPEND_T(SETTING_LIMIT_CPU_WEIGHT, "CPUWeight", s->cpu_weight);
        APPEND_T(SETTING_LIMIT_CPU_QUOTA, "CPUQuotaPerSecUSec", s->cpu_quota_per_sec_usec);
        APPEND_T(SETTING_LIMIT_TASKS_MAX, "TasksMax", s->tasks_max);
        APPEND_T(SETTING_LIMIT_IO_WEIGHT, "IOWeight", s->io_weight);
#undef APPEND_T
        if ((mask & SETTING_LIMIT_ALLOWED_CPUS) && !v1 && r >= 0) {
                r = sd_bus_message_open_container(msg, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(msg, "s", "AllowedCPUs");
                if (r >= 0)
                        r = sd_bus_message_open_container(msg, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(msg, 'y', s->allowed_cpus, s->allowed_cpus ? s->allowed_cpus_size : 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(msg);
                if (r >= 0)
                        r = sd_bus_message_close_container(msg);
        }
        return r;
}

static int settings_limit_mask(const Settings *s) {
        int mask = 0;

        if (s->memory_max != SETTING_UNSET)
                mask |= SETTING_LIMIT_MEMORY_MAX;
        if (s->memory_high != SETTING_UNSET)
                mask |= SETTING_LIMIT_MEMORY_HIGH;
        if (s->memory_low != SETTING_UNSET)
                mask |= SETTING_LIMIT_MEMORY_LOW;
        if (s->memory_swap_max != SETTING_UNSET)
                mask |= SETTING_LIMIT_MEMORY_SWAP_MAX;
        if (s->cpu_weight != SETTING_UNSET)
                mask |= SETTING_LIMIT_CPU_WEIGHT;
        if (s->cpu_quota_per_sec_usec != SETTING_UNSET)
                mask |= SETTING_LIMIT_CPU_QUOTA;
        if (s->tasks_max != SETTING_UNSET)
                mask |= SETTING_LIMIT_TASKS_MAX;
        if (s->io_weight != SETTING_UNSET)
                mask |= SETTING_LIMIT_IO_WEIGHT;
        if (s->allowed_cpus)
                mask |= SETTING_LIMIT_ALLOWED_CPUS;
        return mask;
}

static int scope_start_send(Container *c, bool retry);

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Container *c = userdata;
        int r;

        if (!c->spawn)
                return 0;
        r = scope_start_send(c, /* retry= */ false);
        if (r < 0)
                container_spawn_scope_done(c, r, "failed to resend StartTransientUnit");
        return 0;
}

static int on_reset_failed(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        unsigned n = container_spawn_retries(c);
        int r;

        if (!c->spawn)
                return 0;
        /* at once after a reset; later tries wait for systemd to let go of the old scope */
        r = container_spawn_schedule(c, n <= 1 ? 0 : (2 * USEC_PER_MSEC) << (n - 1), on_retry_timer);
        if (r < 0)
                container_spawn_scope_done(c, r, "failed to schedule StartTransientUnit again");
        return 0;
}

static int on_start_transient_unit(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = userdata;
        const char *job;
        int r;

        if (!c->spawn)
                return 0;

        if (sd_bus_error_is_set(error)) {
                /* A failed leftover of an earlier container of this name: reset it and try once more,
                 * as crun does. */
                if (sd_bus_error_has_name(error, "org.freedesktop.systemd1.UnitExists") && c->spawn &&
                    container_spawn_may_retry(c) > 0) {
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

                        r = systemd_new_call(c->manager, "ResetFailedUnit", &m);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "s", c->unit);
                        if (r >= 0)
                                r = systemd_call(c->manager, m, on_reset_failed, c);
                        if (r >= 0)
                                return 0;
                }
                container_spawn_scope_done(c, -sd_bus_error_get_errno(error) ?: -EIO, error->message);
                return 0;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0) {
                container_spawn_scope_done(c, r, "unexpected reply to StartTransientUnit");
                return 0;
        }
        if (container_spawn_scope_made(c))
                return 0; /* the start is over (and the container may be gone) */
        if (container_spawn_scope_is_done(c))
                return 0; /* JobRemoved came first */

        r = hashmap_put(c->manager->jobs, container_spawn_set_job(c, job), c);
        if (r < 0)
                container_spawn_scope_done(c, r, "out of memory");
        return 0;
}

static int scope_start_send(Container *c, bool retry) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *description = NULL;
        Manager *mgr = c->manager;
        int r;

        r = systemd_new_call(mgr, "StartTransientUnit", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", c->unit, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        description = strjoin("Vessel container ", c->name);
        if (!description)
                return -ENOMEM;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", description,
                                  "Slice", "s", c->settings.slice ?: "machine.slice",
                                  "Delegate", "b", 1,
                                  "CollectMode", "s", "inactive-or-failed",
                                  "CPUAccounting", "b", 1,
                                  "MemoryAccounting", "b", 1,
                                  "TasksAccounting", "b", 1,
                                  "IOAccounting", "b", 1,
                                  "PIDs", "au", 1, (uint32_t) c->leader);
        if (r < 0)
                return r;

        r = append_limits(m, c, settings_limit_mask(&c->settings));
        if (r < 0)
                return r;

        /* Exactly the nodes of the container's /dev: DevicePolicy=closed allows null, zero, full,
         * random, urandom, tty, ptmx and the ptys (char-pts, since systemd 239); a node made with
         * mknod stays unusable. No DeviceAllow of our own: each entry is one more write, and
         * char-pts one more read of /proc/devices, in the job every container waits for. */
        r = sd_bus_message_append(m, "(sv)", "DevicePolicy", "s", "closed");
        if (r < 0)
                return r;

        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;

        return systemd_call(mgr, m, on_start_transient_unit, c);
}

int scope_start(Container *c) {
        return scope_start_send(c, /* retry= */ true);
}

static int on_stop_unit(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        if (sd_bus_error_is_set(error) && !sd_bus_error_has_name(error, "org.freedesktop.systemd1.NoSuchUnit"))
                log_debug("Could not stop a failed container's scope: %s", error->message);
        return 0;
}

void scope_stop_failed(Container *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = systemd_new_call(c->manager, "StopUnit", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", c->unit, "replace");
        if (r >= 0)
                r = systemd_call(c->manager, m, on_stop_unit, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to stop the scope %s of a failed start: %m", c->unit);
}

static int on_set_unit_properties(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        sd_bus_message *message = userdata;

        if (message) {
                if (sd_bus_error_is_set(error))
                        (void) sd_bus_reply_method_error(message, error);
                else
                        (void) sd_bus_reply_method_return(message, NULL);
                sd_bus_message_unref(message);
        }
        return 0;
}

int scope_update(Container *c, int mask, sd_bus_message *message) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = systemd_new_call(c->manager, "SetUnitProperties", &m);
        if (r < 0)
                return r;
        /* runtime=true: a daemon-reload keeps them (they live in /run), nothing is written to /etc */
        r = sd_bus_message_append(m, "sb", c->unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = append_limits(m, c, mask);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;

        r = systemd_call(c->manager, m, on_set_unit_properties, sd_bus_message_ref(message));
        if (r < 0)
                sd_bus_message_unref(message);
        return r;
}

int scope_cgroup_path(const char *slice, const char *unit, char **ret) {
        _cleanup_free_ char *path = NULL;
        const char *dash;

        if (!slice)
                slice = "machine.slice";
        if (streq(slice, "-.slice"))
                return (*ret = strjoin("/", unit)) ? 0 : -ENOMEM;

        /* a-b-c.slice lives in /a.slice/a-b.slice/a-b-c.slice */
        path = strdup("");
        if (!path)
                return -ENOMEM;
        for (const char *p = slice;; p = dash + 1) {
                _cleanup_free_ char *prefix = NULL, *n = NULL;

                dash = strchr(p, '-');
                if (!dash) {
                        n = strjoin(path, "/", slice);
                        if (!n)
                                return -ENOMEM;
                        free(path);
                        path = TAKE_PTR(n);
                        break;
                }
                prefix = strndup(slice, dash - slice);
                if (!prefix)
                        return -ENOMEM;
                n = strjoin(path, "/", prefix, ".slice");
                if (!n)
                        return -ENOMEM;
                free(path);
                path = TAKE_PTR(n);
        }
        *ret = strjoin(path, "/", unit);
        return *ret ? 0 : -ENOMEM;
}

#define CGROUP_ROOT "/sys/fs/cgroup"

static int read_keyed(const char *controller, const char *path, const char *file, const char *key, uint64_t *ret);

static int cgroup_write(const char *controller, const char *path, const char *file, const char *value) {
        _cleanup_free_ char *p = strjoin(CGROUP_ROOT "/", controller, path, "/", file);

        if (!p)
                return -ENOMEM;
        return write_string_file(p, value);
}

static int cgroup_read(const char *controller, const char *path, const char *file, char **ret) {
        _cleanup_free_ char *p = strjoin(CGROUP_ROOT "/", controller, path, "/", file);

        if (!p)
                return -ENOMEM;
        return read_one_line_file(p, ret);
}

static int cgroup_mkdir_p(const char *controller, const char *path) {
        _cleanup_free_ char *p = strjoin(CGROUP_ROOT "/", controller, path);

        if (!p)
                return -ENOMEM;
        return mkdir_parents_and_self(p, 0755);
}

/* A new v1 cpuset cgroup starts with empty cpus and mems: a task can't join it before both are set,
 * so copy them down from the parent, level by level. */
static int cpuset_inherit(const char *path) {
        _cleanup_free_ char *parent = strdup(path);
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (!slash)
                return -EINVAL;
        *slash = 0;
        if (*parent) {
                r = cpuset_inherit(parent);
                if (r < 0)
                        return r;
        }
        FOREACH_STRING(f, "cpuset.cpus", "cpuset.mems") {
                _cleanup_free_ char *v = NULL, *mine = NULL;

                if (cgroup_read("cpuset", path, f, &mine) >= 0 && !isempty(mine))
                        continue;
                r = cgroup_read("cpuset", parent, f, &v);
                if (r < 0)
                        return r;
                r = cgroup_write("cpuset", path, f, v);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The scope's cpuset cgroup, made so that it has its parent's cpus and mems from the start: the
 * parent (a slice, which in the cpuset hierarchy is ours too) gets them once and clone_children, so
 * that a container's start writes neither (each write of cpuset.cpus costs the kernel a walk over
 * the hierarchy). A scope whose parent we could not prepare so gets them copied down. */
static int cpuset_mkdir(const char *path) {
        _cleanup_free_ char *parent = strdup(path), *p = NULL;
        bool cloned = false;
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                r = cgroup_read("cpuset", parent, "cgroup.clone_children", &p);
                cloned = r >= 0 && p[0] == '1';
                if (!cloned) {
                        r = cgroup_mkdir_p("cpuset", parent);
                        if (r >= 0)
                                r = cpuset_inherit(parent);
                        if (r >= 0)
                                r = cgroup_write("cpuset", parent, "cgroup.clone_children", "1");
                        if (r < 0)
                                log_debug_errno(r, "Cannot let %s hand its cpus down, copying them: %m", parent);
                }
        }
        if (cloned) {
                /* made now, below a parent with clone_children: the kernel gave it the parent's cpus
                 * and mems (a leftover directory may have neither: checked below) */
                _cleanup_free_ char *leaf = strjoin(CGROUP_ROOT "/cpuset", path);
                if (!leaf)
                        return -ENOMEM;
                if (mkdir(leaf, 0755) >= 0)
                        return 0;
        }
        r = cgroup_mkdir_p("cpuset", path);
        if (r < 0)
                return r;
        return cpuset_inherit(path);
}

int scope_update_extra(Container *c, int mask) {
        int r;

        if (c->manager->cgroup_layout != CGROUP_LAYOUT_LEGACY || !c->cgroup_path)
                return 0;

        if (mask & SETTING_LIMIT_ALLOWED_CPUS) {
                _cleanup_free_ char *cpus = NULL;

                if (c->settings.allowed_cpus)
                        r = format_cpuset(c->settings.allowed_cpus, c->settings.allowed_cpus_size, &cpus);
                else
                        r = cgroup_read("cpuset", "", "cpuset.cpus", &cpus);
                if (r < 0)
                        return r;
                r = cgroup_write("cpuset", c->cgroup_path, "cpuset.cpus", cpus);
                if (r < 0)
                        return r;
        }
        if (mask & SETTING_LIMIT_MEMORY_LOW) {
                char buf[32];
                if (c->settings.memory_low == SETTING_UNSET)
                        snprintf(buf, sizeof buf, "-1");
                else
                        snprintf(buf, sizeof buf, "%" PRIu64, c->settings.memory_low);
                r = cgroup_write("memory", c->cgroup_path, "memory.soft_limit_in_bytes", buf);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* cpuacct mounted on its own, not with cpu (where systemd expects it, and manages it) */
static bool cpuacct_is_separate(void) {
        static int cached = -1; /* the hierarchies are mounted once, at boot */

        if (cached < 0)
                cached = access(CGROUP_ROOT "/cpuacct/cpuacct.usage", F_OK) >= 0 &&
                         access(CGROUP_ROOT "/cpuacct/cpu.shares", F_OK) < 0;
        return cached;
}

/* On v2 the container's processes live in a leaf below the delegated scope: a cgroup with processes
 * cannot hand controllers down, the scope can. The cgroup namespace is rooted at the leaf. */
#define LEAF_NAME "container"

/* A cgroup file, open for writing, for the container's first process to write (see below). */
static int cgroup_open_write(const char *ctl, const char *path, const char *file) {
        _cleanup_free_ char *p = strjoin(CGROUP_ROOT "/", ctl, path, "/", file);
        int fd;

        if (!p)
                return -ENOMEM;
        fd = open(p, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        return fd < 0 ? -errno : fd;
}

int scope_prepare_own(Container *c, int ret_procs_fds[static SCOPE_OWN_MAX]) {
        int fds[SCOPE_OWN_MAX];
        size_t n = 0;
        int r = 0;

        if (c->manager->cgroup_layout != CGROUP_LAYOUT_LEGACY)
                return 0;

        /* systemd 252 manages neither cpuset nor freezer on v1: those two cgroups are ours, at the
         * scope's path, and the only cgroup directories we ever create there. Nothing of systemd's is
         * needed for them. The container's first process joins them itself (a write to cgroup.procs
         * can wait a whole RCU grace period, milliseconds, holding the cgroup mutex: our loop must not),
         * before it waits for the go. Where cpuacct is a hierarchy of its own (not co-mounted with cpu,
         * as systemd expects), systemd leaves it alone and nobody would count the container's CPU
         * time: then a cpuacct cgroup at the scope's path is ours too. */
        FOREACH_STRING(ctl, "cpuset", "freezer", "cpuacct") {
                if (streq(ctl, "cpuacct") && !cpuacct_is_separate())
                        continue;
                r = streq(ctl, "cpuset") ? cpuset_mkdir(c->cgroup_path) : cgroup_mkdir_p(ctl, c->cgroup_path);
                if (r >= 0)
                        r = cgroup_open_write(ctl, c->cgroup_path, "cgroup.procs");
                if (r < 0)
                        break;
                fds[n++] = r;
        }
        if (r >= 0)
                r = scope_update_extra(c, c->settings.allowed_cpus ? SETTING_LIMIT_ALLOWED_CPUS : 0);
        if (r < 0) {
                close_many(fds, n);
                return r;
        }
        memcpy(ret_procs_fds, fds, n * sizeof(int));
        return 0;
}

int scope_attach_extra(Container *c, int fds[static 2], size_t *ret_n, char *enable, size_t size) {
        _cleanup_free_ char *leaf = NULL, *controllers = NULL;
        _cleanup_close_ int procs_fd = -EBADF, subtree_fd = -EBADF;
        size_t len = 0;
        int r;

        *ret_n = 0;
        *enable = 0;
        if (c->manager->cgroup_layout != CGROUP_LAYOUT_UNIFIED)
                return 0;

        leaf = strjoin(c->cgroup_path, "/" LEAF_NAME);
        if (!leaf)
                return -ENOMEM;
        r = cgroup_mkdir_p("", leaf);
        if (r < 0)
                return r;
        procs_fd = cgroup_open_write("", leaf, "cgroup.procs");
        if (procs_fd < 0)
                return procs_fd;
        subtree_fd = cgroup_open_write("", c->cgroup_path, "cgroup.subtree_control");
        if (subtree_fd < 0)
                return subtree_fd;

        /* every controller the scope got, to hand down to the leaf, so the container can use them in
         * its own subtree */
        if (cgroup_read("", c->cgroup_path, "cgroup.controllers", &controllers) >= 0)
                for (char *w = strtok(controllers, " \n"); w; w = strtok(NULL, " \n"))
                        len += snprintf(enable + len, len < size ? size - len : 0, "%s+%s", len ? " " : "", w);
        if (len >= size)
                return -E2BIG;
        fds[0] = TAKE_FD(procs_fd);
        fds[1] = TAKE_FD(subtree_fd);
        *ret_n = 2;
        return 0;
}

int scope_watch(Container *c) {
        int r;

        /* in systemd's memory cgroup, which exists once the job is done */
        r = scope_update_extra(c, c->settings.memory_low != SETTING_UNSET ? SETTING_LIMIT_MEMORY_LOW : 0);
        if (r < 0)
                return r;
        return scope_watch_oom(c);
}

void scope_cleanup_extra(Container *c) {
        c->oom_source = sd_event_source_disable_unref(c->oom_source);
        c->oom_fd = safe_close(c->oom_fd);
        if (c->manager->cgroup_layout != CGROUP_LAYOUT_LEGACY || !c->cgroup_path)
                return;
        FOREACH_STRING(ctl, "cpuset", "freezer", "cpuacct") {
                _cleanup_free_ char *p = NULL;

                if (streq(ctl, "cpuacct") && !cpuacct_is_separate())
                        continue; /* systemd's */
                p = strjoin(CGROUP_ROOT "/", ctl, c->cgroup_path);
                if (p)
                        (void) rmdir(p);
        }

}

/* The kernel's count of OOM kills in the scope: "oom_kill N" in memory.events (v2) or in
 * memory.oom_control (v1, since 4.13). */
int scope_read_oom_kills(Container *c, uint64_t *ret) {
        bool v1 = c->manager->cgroup_layout == CGROUP_LAYOUT_LEGACY;

        if (!c->cgroup_path)
                return -ENODATA;
        return read_keyed(v1 ? "memory" : "", c->cgroup_path, v1 ? "memory.oom_control" : "memory.events",
                          "oom_kill ", ret);
}

static int on_oom_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Container *c = userdata;
        char buf[4096];
        uint64_t n = 0;
        bool oom;

        /* drain: an eventfd counter (v1) or inotify records (v2) */
        (void) read(fd, buf, sizeof buf);

        if (c->manager->cgroup_layout == CGROUP_LAYOUT_LEGACY)
                /* v1 signals the eventfd when the OOM killer is about to act (before the kill, so the
                 * counter may still be 0), and also when the cgroup is removed: only the first finds
                 * the cgroup still there */
                oom = scope_read_oom_kills(c, &n) >= 0;
        else
                /* v2 reports every change of memory.events: the kill counter decides */
                oom = scope_read_oom_kills(c, &n) >= 0 && n > 0;

        if (oom && !c->oom_killed) {
                c->oom_killed = true;
                log_warning("Container %s: the kernel's OOM killer ended a process (memory limit %s).", c->name,
                            c->settings.memory_max == SETTING_UNSET ? "none" : "reached");
                container_emit_changed(c, "OOMKilled", NULL);
        }
        return 0;
}

int scope_watch_oom(Container *c) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (c->manager->cgroup_layout == CGROUP_LAYOUT_UNIFIED) {
                _cleanup_free_ char *p = strjoin(CGROUP_ROOT, c->cgroup_path, "/memory.events");

                if (!p)
                        return -ENOMEM;
                fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
                if (fd < 0)
                        return -errno;
                if (inotify_add_watch(fd, p, IN_MODIFY) < 0)
                        return log_debug_errno(errno, "No memory.events for %s, OOM kills go unnoticed: %m", c->unit), 0;
        } else {
                /* v1: an eventfd registered for memory.oom_control through cgroup.event_control */
                _cleanup_free_ char *ctl = strjoin(CGROUP_ROOT "/memory", c->cgroup_path, "/memory.oom_control");
                _cleanup_close_ int ofd = -EBADF;
                char buf[64];

                if (!ctl)
                        return -ENOMEM;
                ofd = open(ctl, O_RDONLY | O_CLOEXEC);
                if (ofd < 0)
                        return log_debug_errno(errno, "No %s, OOM kills go unnoticed: %m", ctl), 0;
                fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
                if (fd < 0)
                        return -errno;
                snprintf(buf, sizeof buf, "%i %i", fd, ofd);
                r = cgroup_write("memory", c->cgroup_path, "cgroup.event_control", buf);
                if (r < 0)
                        return log_debug_errno(r, "Failed to register for OOM events of %s: %m", c->unit), 0;
        }

        fd = fd_move_high(fd);
        r = sd_event_add_io(c->manager->event, &c->oom_source, fd, EPOLLIN, on_oom_event, c);
        if (r < 0)
                return r;
        /* before the leader's exit, when both are pending: the cgroup may be gone right after */
        (void) sd_event_source_set_priority(c->oom_source, SD_EVENT_PRIORITY_IMPORTANT);
        c->oom_fd = TAKE_FD(fd);
        return 0;
}

static int read_keyed(const char *controller, const char *path, const char *file, const char *key,
                      uint64_t *ret) {
        _cleanup_free_ char *p = strjoin(CGROUP_ROOT "/", controller, path, "/", file);
        _cleanup_fclose_ FILE *f = NULL;
        char line[256];
        uint64_t sum = 0;
        bool found = false;

        if (!p)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return -errno;
        while (fgets(line, sizeof line, f)) {
                /* v2 io.stat: "8:0 rbytes=… wbytes=…"; v1 blkio: "8:0 Read 123"; keyed: "key 123" */
                char *k = strstr(line, key);
                uint64_t v;
                if (!k || (k != line && k[-1] != ' '))
                        continue;
                k += strlen(key);
                if (sscanf(k, "%" SCNu64, &v) == 1) {
                        sum += v;
                        found = true;
                }
        }
        /* blkio lists devices only once there was I/O ("Total 0" before): nothing found is 0 */
        *ret = found ? sum : 0;
        return 0;
}

int scope_read_figure(Container *c, const char *property, uint64_t *ret) {
        _cleanup_free_ char *v = NULL;
        bool v1 = c->manager->cgroup_layout == CGROUP_LAYOUT_LEGACY;
        uint64_t x;
        int r;

        if (!c->cgroup_path || !container_is_active(c))
                return -ENODATA;

        if (streq(property, "MemoryCurrent"))
                r = v1 ? cgroup_read("memory", c->cgroup_path, "memory.usage_in_bytes", &v)
                       : cgroup_read("", c->cgroup_path, "memory.current", &v);
        else if (streq(property, "TasksCurrent"))
                r = v1 ? cgroup_read("pids", c->cgroup_path, "pids.current", &v)
                       : cgroup_read("", c->cgroup_path, "pids.current", &v);
        else if (streq(property, "CPUUsageNSec")) {
                if (v1)
                        r = cgroup_read("cpuacct", c->cgroup_path, "cpuacct.usage", &v);
                else {
                        r = read_keyed("", c->cgroup_path, "cpu.stat", "usage_usec ", &x);
                        if (r >= 0)
                                *ret = x * 1000;
                        return r;
                }
        } else if (streq(property, "IOReadBytes"))
                return v1 ? read_keyed("blkio", c->cgroup_path, "blkio.throttle.io_service_bytes", "Read ", ret)
                          : read_keyed("", c->cgroup_path, "io.stat", "rbytes=", ret);
        else if (streq(property, "IOWriteBytes"))
                return v1 ? read_keyed("blkio", c->cgroup_path, "blkio.throttle.io_service_bytes", "Write ", ret)
                          : read_keyed("", c->cgroup_path, "io.stat", "wbytes=", ret);
        else
                return -EINVAL;
        if (r < 0)
                return r;
        return safe_atou64(v, ret);
}

typedef struct FreezeWait {
        char *cgroup_path; /* its own copy: the container may be gone before the freezer settles */
        sd_bus_message *message;
        sd_event_source *source;
        unsigned tries;
} FreezeWait;

/* v1's freezer passes through FREEZING, which settles within milliseconds unless a task is stuck in
 * the kernel: look again on a timer, never by sleeping in the event loop; answer when FROZEN, or after
 * a second with what it is. */
static int on_freeze_check(sd_event_source *s, uint64_t usec, void *userdata) {
        FreezeWait *w = userdata;
        _cleanup_free_ char *state = NULL;

        if (cgroup_read("freezer", w->cgroup_path, "freezer.state", &state) >= 0 && !streq(state, "FROZEN") &&
            ++w->tries < 500) {
                (void) sd_event_source_set_time_relative(s, 2 * USEC_PER_MSEC);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        if (w->message)
                (void) sd_bus_reply_method_return(w->message, NULL);
        sd_bus_message_unref(w->message);
        sd_event_source_disable_unref(w->source);
        free(w->cgroup_path);
        free(w);
        return 0;
}

int scope_freeze(Container *c, bool freeze, sd_bus_message *message) {
        int r;

        if (c->manager->cgroup_layout == CGROUP_LAYOUT_LEGACY) {
                FreezeWait *w;

                r = cgroup_write("freezer", c->cgroup_path, "freezer.state", freeze ? "FROZEN" : "THAWED");
                if (r < 0)
                        return r;
                if (!freeze || !message)
                        return message ? sd_bus_reply_method_return(message, NULL) : 0;
                w = new0(FreezeWait, 1);
                if (!w)
                        return -ENOMEM;
                *w = (FreezeWait) { .cgroup_path = strdup(c->cgroup_path), .message = sd_bus_message_ref(message) };
                /* it frees itself; a container removed meanwhile takes its freezer cgroup along, and
                 * the next look answers */
                r = w->cgroup_path ? sd_event_add_time_relative(c->manager->event, &w->source, CLOCK_MONOTONIC, 0, 0,
                                                                on_freeze_check, w)
                                   : -ENOMEM;
                if (r < 0) {
                        sd_bus_message_unref(w->message);
                        free(w->cgroup_path);
                        free(w);
                        return r;
                }
                return 0;
        }

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        r = systemd_new_call(c->manager, freeze ? "FreezeUnit" : "ThawUnit", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", c->unit);
        if (r < 0)
                return r;
        r = systemd_call(c->manager, m, on_set_unit_properties, sd_bus_message_ref(message));
        if (r < 0)
                sd_bus_message_unref(message);
        return r;
}
