/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>

#include "bus-util.h"
#include "container-dbus.h"
#include "container-exec.h"
#include "container.h"
#include "log.h"
#include "scope.h"
#include "string-util.h"

int container_get_path(Container *c, char **ret) {
        return bus_container_path(c->name, ret);
}

void container_emit_changed(Container *c, const char *property, ...) {
        _cleanup_free_ char *path = NULL;
        const char *names[32];
        size_t n = 0;
        va_list ap;

        if (!property || c->removed)
                return;
        names[n++] = property;
        va_start(ap, property);
        for (const char *p; n < ELEMENTSOF(names) - 1 && (p = va_arg(ap, const char *));)
                names[n++] = p;
        va_end(ap);
        names[n] = NULL;

        if (container_get_path(c, &path) < 0)
                return;
        MANAGER_FOREACH_BUS(bus, c->manager)
                (void) sd_bus_emit_properties_changed_strv(bus, path, VESSEL_CONTAINER_INTERFACE, (char **) names);
}

/* -------------------------------------------------------------- methods ---- */

int bus_container_method_start(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r;

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_start(c, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r;

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_stop(c, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        const char *whom;
        int32_t signo;
        int r;

        r = sd_bus_message_read(m, "si", &whom, &signo);
        if (r < 0)
                return r;
        if (isempty(whom))
                whom = "leader";
        if (signo <= 0 || signo >= _NSIG)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal %i.", signo);

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;

        r = container_kill(c, whom, signo, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int force, r;

        r = sd_bus_message_read(m, "b", &force);
        if (r < 0)
                return r;
        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_remove(c, force, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_wait(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r;

        /* only waits: allowed to anyone the policy lets through */
        r = container_wait(c, m);
        return r < 0 ? r : 1;
}

int bus_container_method_update(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        _cleanup_(settings_done) Settings n;
        int mask, r;

        settings_init(&n);
        mask = settings_parse_bus(&n, m, SETTINGS_UPDATE, c->manager->cgroup_layout, error);
        if (mask < 0)
                return mask;
        r = settings_check_host(&n, mask, error);
        if (r < 0)
                return r;
        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_update(c, &n, mask, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_pause(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r;

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_pause(c, m, error);
        return r < 0 ? r : 1;
}

int bus_container_method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r;

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;
        r = container_resume(c, m, error);
        return r < 0 ? r : 1;
}

static int exec_common(sd_bus_message *m, Container *c, bool pty, sd_bus_error *error) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_(settings_done) Settings es;
        int fds[3] = { -EBADF, -EBADF, -EBADF };
        int r;

        settings_init(&es);
        r = sd_bus_message_read_strv(m, &argv);
        if (r < 0)
                return r;
        if (strv_length(argv) == 0 || isempty(argv[0]))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No command to execute.");
        if (strv_length(argv) > 4096)
                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "More than 4096 arguments.");
        r = settings_parse_bus(&es, m, SETTINGS_EXEC, c->manager->cgroup_layout, error);
        if (r < 0)
                return r;
        if (!pty) {
                r = sd_bus_message_read(m, "hhh", &fds[0], &fds[1], &fds[2]);
                if (r < 0)
                        return r;
        }

        r = bus_verify_caller_privileged(m, error);
        if (r <= 0)
                return r;

        r = container_exec(c, m, argv, &es, fds, pty, error);
        return r < 0 ? r : 1;
}

int bus_container_method_exec(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return exec_common(m, ASSERT_PTR(userdata), /* pty= */ false, error);
}

int bus_container_method_exec_pty(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return exec_common(m, ASSERT_PTR(userdata), /* pty= */ true, error);
}

int container_dispatch_message(Container *c, sd_bus_message *m) {
        static const struct {
                const char *member;
                sd_bus_message_handler_t handler;
        } table[] = {
                { "Start", bus_container_method_start },   { "Stop", bus_container_method_stop },
                { "Kill", bus_container_method_kill },     { "Remove", bus_container_method_remove },
                { "Update", bus_container_method_update }, { "Pause", bus_container_method_pause },
                { "Resume", bus_container_method_resume }, { "Wait", bus_container_method_wait },
        };
        _cleanup_bus_error_free_ sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *member = sd_bus_message_get_member(m);
        _cleanup_free_ char *verb = NULL;
        int r = -EINVAL;

        /* The Manager's by-name form has the name first and "Container" in its member name. */
        if (streq_ptr(sd_bus_message_get_interface(m), VESSEL_MANAGER_INTERFACE)) {
                const char *name;
                (void) sd_bus_message_read(m, "s", &name);
                if (endswith(member, "Container"))
                        verb = strndup(member, strlen(member) - strlen("Container"));
        } else
                verb = strdup(member);

        for (size_t i = 0; verb && i < ELEMENTSOF(table); i++)
                if (streq(table[i].member, verb)) {
                        r = table[i].handler(m, c, &error);
                        break;
                }
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        return sd_bus_reply_method_error(m, &error);
                return sd_bus_reply_method_errno(m, r, NULL);
        }
        return 0;
}

/* ----------------------------------------------------------- properties ---- */

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", container_state_to_string(c->state));
}

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", c->id);
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        bool *b = userdata;
        return sd_bus_message_append(reply, "b", (int) *b);
}

static int property_get_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char ***l = userdata;
        return sd_bus_message_append_strv(reply, *l);
}

static int property_get_string_table(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        const char *v = NULL;

        if (streq(property, "Network"))
                v = network_mode_to_string(c->settings.network);
        else if (streq(property, "Restart"))
                v = restart_policy_to_string(c->settings.restart);
        else if (streq(property, "PrivateUsers"))
                v = private_users_to_string(c->settings.private_users);
        else if (streq(property, "Seccomp"))
                v = seccomp_mode_to_string(c->settings.seccomp);
        else if (streq(property, "Slice"))
                v = c->settings.slice ?: "machine.slice";
        else if (streq(property, "Hostname"))
                v = c->settings.hostname ?: c->name;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_capabilities(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        if (c->settings.capabilities_set)
                return sd_bus_message_append_strv(reply, c->settings.capabilities);
        return sd_bus_message_append_strv(reply, (char **) default_capabilities);
}

static int property_get_allowed_cpus(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        return sd_bus_message_append_array(reply, 'y', c->settings.allowed_cpus,
                                           c->settings.allowed_cpus ? c->settings.allowed_cpus_size : 0);
}

static int property_get_addresses(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);

        /* while it runs on the bridge; none for none and host */
        return network_append_addresses(c, reply);
}

static int property_get_ports(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r = sd_bus_message_open_container(reply, 'a', "(sqq)");
        for (size_t i = 0; r >= 0 && i < c->settings.n_ports; i++)
                r = sd_bus_message_append(reply, "(sqq)", c->settings.ports[i].protocol, c->settings.ports[i].host_port,
                                          c->settings.ports[i].container_port);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_binds(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r = sd_bus_message_open_container(reply, 'a', "(ssb)");
        for (size_t i = 0; r >= 0 && i < c->settings.n_binds; i++)
                r = sd_bus_message_append(reply, "(ssb)", c->settings.binds[i].source, c->settings.binds[i].destination,
                                          (int) c->settings.binds[i].read_only);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_labels(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        int r = sd_bus_message_open_container(reply, 'a', "(ss)");
        for (size_t i = 0; r >= 0 && i < c->settings.n_labels; i++)
                r = sd_bus_message_append(reply, "(ss)", c->settings.labels[i].key, c->settings.labels[i].value);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

static int property_get_figure(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Container *c = ASSERT_PTR(userdata);
        uint64_t v;

        if (scope_read_figure(c, property, &v) < 0)
                v = UINT64_MAX;
        return sd_bus_message_append(reply, "t", v);
}

#define SETTING_OFFSET(f) (offsetof(Container, settings) + offsetof(Settings, f))

const sd_bus_vtable container_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Container, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Image", "s", NULL, offsetof(Container, image), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Leader", "u", NULL, offsetof(Container, leader), SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("Unit", "s", NULL, offsetof(Container, unit), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Slice", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedTimestamp", "t", NULL, offsetof(Container, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StartedTimestamp", "t", NULL, offsetof(Container, started_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FinishedTimestamp", "t", NULL, offsetof(Container, finished_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitStatus", "i", NULL, offsetof(Container, exit_status), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExitSignal", "i", NULL, offsetof(Container, exit_signal), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OOMKilled", "b", property_get_bool, offsetof(Container, oom_killed), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RestartCount", "u", NULL, offsetof(Container, restart_count), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Command", "as", property_get_strv, SETTING_OFFSET(command), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Environment", "as", property_get_strv, SETTING_OFFSET(environment), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkingDirectory", "s", NULL, SETTING_OFFSET(working_directory), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("User", "s", NULL, SETTING_OFFSET(user), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Hostname", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Network", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Addresses", "a(iay)", property_get_addresses, 0, 0),
        SD_BUS_PROPERTY("PublishPorts", "a(sqq)", property_get_ports, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("BindPaths", "a(ssb)", property_get_binds, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ReadOnly", "b", property_get_bool, SETTING_OFFSET(read_only), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PrivateUsers", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Capabilities", "as", property_get_capabilities, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Seccomp", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MemoryMax", "t", NULL, SETTING_OFFSET(memory_max), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MemoryHigh", "t", NULL, SETTING_OFFSET(memory_high), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MemoryLow", "t", NULL, SETTING_OFFSET(memory_low), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MemorySwapMax", "t", NULL, SETTING_OFFSET(memory_swap_max), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CPUWeight", "t", NULL, SETTING_OFFSET(cpu_weight), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("CPUQuotaPerSecUSec", "t", NULL, SETTING_OFFSET(cpu_quota_per_sec_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TasksMax", "t", NULL, SETTING_OFFSET(tasks_max), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IOWeight", "t", NULL, SETTING_OFFSET(io_weight), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AllowedCPUs", "ay", property_get_allowed_cpus, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StopSignal", "i", NULL, SETTING_OFFSET(stop_signal), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("StopTimeoutUSec", "t", NULL, SETTING_OFFSET(stop_timeout_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Restart", "s", property_get_string_table, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("AutoRemove", "b", property_get_bool, SETTING_OFFSET(auto_remove), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Labels", "a(ss)", property_get_labels, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("MemoryCurrent", "t", property_get_figure, 0, 0),
        SD_BUS_PROPERTY("CPUUsageNSec", "t", property_get_figure, 0, 0),
        SD_BUS_PROPERTY("TasksCurrent", "t", property_get_figure, 0, 0),
        SD_BUS_PROPERTY("IOReadBytes", "t", property_get_figure, 0, 0),
        SD_BUS_PROPERTY("IOWriteBytes", "t", property_get_figure, 0, 0),

        SD_BUS_METHOD("Start", NULL, NULL, bus_container_method_start, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Stop", NULL, NULL, bus_container_method_stop, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("s", whom, "i", signal), SD_BUS_NO_RESULT,
                                bus_container_method_kill, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT, bus_container_method_remove,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Wait", SD_BUS_NO_ARGS, SD_BUS_RESULT("i", status, "i", signal),
                                bus_container_method_wait, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a(sv)", settings), SD_BUS_NO_RESULT,
                                bus_container_method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Exec",
                                SD_BUS_ARGS("as", argv, "a(sv)", settings, "h", stdin, "h", stdout, "h", stderr),
                                SD_BUS_RESULT("i", status), bus_container_method_exec, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExecPTY", SD_BUS_ARGS("as", argv, "a(sv)", settings),
                                SD_BUS_RESULT("h", master, "u", id), bus_container_method_exec_pty,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Pause", NULL, NULL, bus_container_method_pause, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", NULL, NULL, bus_container_method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int container_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                          sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *name = NULL;
        Container *c;
        int r;

        r = bus_path_label(path, VESSEL_CONTAINER_PATH_PREFIX, &name);
        if (r <= 0)
                return 0;
        c = hashmap_get(m->containers, name);
        if (!c)
                return 0;
        *found = c;
        return 1;
}

static int container_path_of(void *c, char **ret) {
        return container_get_path(c, ret);
}

int container_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_node_enumerate(m->containers, container_path_of, nodes);
}
