/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>

#include "bus-util.h"
#include "container-dbus.h"
#include "container.h"
#include "image-dbus.h"
#include "operation.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"

int manager_emit_signal(Manager *m, const char *member, const char *types, ...) {
        int r = 0;

        MANAGER_FOREACH_BUS(bus, m) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *s = NULL;
                va_list ap;

                r = sd_bus_message_new_signal(bus, &s, VESSEL_OBJECT_PATH, VESSEL_MANAGER_INTERFACE, member);
                if (r < 0)
                        continue;
                va_start(ap, types);
                r = sd_bus_message_appendv(s, types, ap);
                va_end(ap);
                if (r >= 0)
                        (void) sd_bus_send(bus, s, NULL);
        }
        return r;
}

/* Looks up the container named by the first argument, or fails with NoSuchContainer naming it. */
static int find_container(Manager *m, sd_bus_message *message, Container **ret, sd_bus_error *error) {
        const char *name;
        Container *c = NULL;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        c = manager_find_container(m, name);
        if (!c) {
                if (isempty(name))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME, "No container name given.");
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CONTAINER, "No container named '%s'.", name);
        }
        *ret = c;
        return 0;
}

static int reply_path(sd_bus_message *message, Container *c) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = container_get_path(c, &p);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", p);
}

static int append_container(sd_bus_message *reply, void *object) {
        _cleanup_free_ char *p = NULL;
        Container *c = object;
        int r;

        r = container_get_path(c, &p);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "(ssssuo)", c->name, c->image, container_state_to_string(c->state),
                                     c->unit, (uint32_t) c->leader, p);
}

static int method_list_containers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_reply_list(message, m->containers, "(ssssuo)", append_container);
}

static int method_wait_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *name;
        Container *c = NULL;
        int status, signal, r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        c = manager_find_container(m, name);
        if (c)
                return bus_container_method_wait(message, c, error);
        /* removed (AutoRemove) before this call came in: its status is still known */
        if (manager_graveyard_lookup(m, name, &status, &signal))
                return sd_bus_reply_method_return(message, "ii", (int32_t) status, (int32_t) signal);
        return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CONTAINER, "No container named '%s'.", name);
}

static int method_get_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Container *c = NULL;
        int r;

        r = find_container(userdata, message, &c, error);
        if (r < 0)
                return r;
        return reply_path(message, c);
}

static int method_get_container_by_pid(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        Container *c = NULL;
        uint32_t pid;
        int r;

        r = sd_bus_message_read(message, "u", &pid);
        if (r < 0)
                return r;
        if (pid == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "PID 0 names no process.");
        c = manager_find_container_by_pid(m, pid);
        if (!c)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CONTAINER, "PID %u belongs to no container.", pid);
        return reply_path(message, c);
}

static int create_common(sd_bus_message *message, Manager *m, bool run, Container **ret, Settings *settings,
                         sd_bus_error *error) {
        const char *name, *image;
        int r;

        r = sd_bus_message_read(message, "ss", &name, &image);
        if (r < 0)
                return r;
        if (isempty(image))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image given.");
        r = settings_parse_bus(settings, message, SETTINGS_CREATE, m->cgroup_layout, error);
        if (r < 0)
                return r;
        r = settings_check_host(settings, r, error);
        if (r < 0)
                return r;

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;

        /* RunContainer: the record is written while systemd works on the scope, and ContainerNew is
         * sent then too (container_spawn()) */
        r = container_create(m, name, image, settings, /* persist= */ !run, ret, error);
        if (r < 0)
                return r;
        if (!run)
                container_emit_new(*ret);
        return 1;
}

static int method_create_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(settings_done) Settings settings;
        Container *c = NULL;
        int r;

        settings_init(&settings);
        r = create_common(message, userdata, /* run= */ false, &c, &settings, error);
        if (r <= 0)
                return r;
        /* an attached stdio only makes sense for a start that follows at once */
        return reply_path(message, c);
}

static int method_run_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(settings_done) Settings settings;
        _cleanup_free_ char *p = NULL;
        Container *c = NULL;
        int r;

        settings_init(&settings);
        r = create_common(message, userdata, /* run= */ true, &c, &settings, error);
        if (r <= 0)
                return r;

        /* hand the caller's stdio to this start */
        c->settings.stdin_fd = TAKE_FD(settings.stdin_fd);
        c->settings.stdout_fd = TAKE_FD(settings.stdout_fd);
        c->settings.stderr_fd = TAKE_FD(settings.stderr_fd);
        c->settings.console_fd = TAKE_FD(settings.console_fd);

        r = container_get_path(c, &p);
        if (r < 0)
                return r;
        r = container_start(c, NULL, error);
        if (r < 0) {
                /* refused before systemd was asked: the container stays, created, as after a
                 * CreateContainer, unless it was to be removed anyway or cannot be written down */
                bool remove = c->settings.auto_remove;

                settings_close_stdio(&c->settings);
                if (!c->persisted) {
                        container_emit_new(c);
                        if (!remove && container_persist(c) < 0)
                                remove = true;
                }
                if (remove)
                        (void) container_remove(c, /* force= */ true, NULL, NULL);
                return r;
        }
        r = pending_call_add_with_path(&c->start_waiters, message, p);
        return r < 0 ? r : 1;
}

#define BY_NAME(fn)                                                                                  \
        static int method_##fn##_container(sd_bus_message *message, void *userdata, sd_bus_error *error) { \
                Container *c = NULL;                                                                 \
                int r = find_container(userdata, message, &c, error);                                \
                if (r < 0)                                                                           \
                        return r;                                                                    \
                return bus_container_method_##fn(message, c, error);                                 \
        }

BY_NAME(start)
BY_NAME(stop)
BY_NAME(kill)
BY_NAME(remove)
BY_NAME(update)
BY_NAME(pause)
BY_NAME(resume)
BY_NAME(exec)
BY_NAME(exec_pty)

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("CreateContainer", SD_BUS_ARGS("s", name, "s", image, "a(sv)", settings),
                                SD_BUS_RESULT("o", path), method_create_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RunContainer", SD_BUS_ARGS("s", name, "s", image, "a(sv)", settings),
                                SD_BUS_RESULT("o", path), method_run_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_start_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("WaitContainer", SD_BUS_ARGS("s", name), SD_BUS_RESULT("i", status, "i", signal),
                                method_wait_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_stop_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("KillContainer", SD_BUS_ARGS("s", name, "s", whom, "i", signal), SD_BUS_NO_RESULT,
                                method_kill_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveContainer", SD_BUS_ARGS("s", name, "b", force), SD_BUS_NO_RESULT,
                                method_remove_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PauseContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_pause_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResumeContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_resume_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateContainer", SD_BUS_ARGS("s", name, "a(sv)", settings), SD_BUS_NO_RESULT,
                                method_update_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListContainers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssuo)", containers),
                                method_list_containers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetContainer", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", path),
                                method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetContainerByPID", SD_BUS_ARGS("u", pid), SD_BUS_RESULT("o", path),
                                method_get_container_by_pid, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_METHOD_WITH_ARGS("ExecContainer",
                                SD_BUS_ARGS("s", name, "as", argv, "a(sv)", settings, "h", stdin, "h", stdout, "h", stderr),
                                SD_BUS_RESULT("i", status), method_exec_container, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ExecContainerPTY", SD_BUS_ARGS("s", name, "as", argv, "a(sv)", settings),
                                SD_BUS_RESULT("h", master, "u", id), method_exec_pty_container,
                                SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("ExecExited", SD_BUS_ARGS("u", id, "i", status), 0),
        IMAGE_MANAGER_VTABLE_ENTRIES,

        SD_BUS_SIGNAL_WITH_ARGS("ContainerNew", SD_BUS_ARGS("s", name, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("ContainerRemoved", SD_BUS_ARGS("s", name, "o", path), 0),
        SD_BUS_VTABLE_END,
};

int manager_add_bus_objects(Manager *m, sd_bus *bus) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, VESSEL_OBJECT_PATH, VESSEL_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, VESSEL_CONTAINER_PATH_PREFIX, VESSEL_CONTAINER_INTERFACE,
                                       container_vtable, container_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, VESSEL_CONTAINER_PATH_PREFIX, container_node_enumerator, m);
        if (r < 0)
                return r;
        r = image_add_bus_objects(m, bus);
        if (r < 0)
                return r;
        return sd_bus_add_object_manager(bus, NULL, VESSEL_OBJECT_PATH);
}
