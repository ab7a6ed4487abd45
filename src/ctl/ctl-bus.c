/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "ctl-bus.h"
#include "log.h"
#include "string-util.h"

int ctl_bus_open(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = bus_open_vessel(&bus);
        if (r < 0) {
                const char *where = getenv("VESSEL_ADDRESS");

                return log_error_errno(r, "Failed to connect to vesseld at %s (is it running?): %m",
                                       where ?: "the system bus or unix:path=" VESSEL_PRIVATE_SOCKET);
        }

        *ret = TAKE_PTR(bus);
        return 0;
}

int log_bus_error(int r, const sd_bus_error *error, const char *what) {
        /* dbus-daemon's refusal quotes its whole rule match; vesseld's own says what it needs */
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED) && error->message &&
            startswith(error->message, "Rejected send message"))
                return log_error_errno(r, "%s: access denied: the system bus lets only root do this.", what);
        if (error && sd_bus_error_is_set(error) && error->message)
                return log_error_errno(r, "%s", error->message);
        return log_error_errno(r, "%s: %m", what);
}

int manager_new_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, VESSEL_BUS_NAME, VESSEL_OBJECT_PATH,
                                              VESSEL_MANAGER_INTERFACE, method);
}

int manager_call(sd_bus *bus, const char *method, uint64_t timeout_usec, sd_bus_error *error,
                 sd_bus_message **ret_reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_new_call(bus, method, &m);
        if (r < 0)
                return r;
        if (types) {
                va_list ap;

                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return r;
        }
        return sd_bus_call(bus, m, timeout_usec, error, ret_reply);
}

int manager_call_for_each(int argc, char *argv[], const char *method, uint64_t timeout_usec, const char *what,
                          const char *types, ...) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                va_list ap;

                r = manager_new_call(bus, method, &m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", argv[i]);
                if (r >= 0 && types[1]) {
                        va_start(ap, types);
                        r = sd_bus_message_appendv(m, types + 1, ap);
                        va_end(ap);
                }
                if (r >= 0)
                        r = sd_bus_call(bus, m, timeout_usec, &error, /* ret_reply= */ NULL);
                if (r < 0) {
                        r = log_bus_error(r, &error, what);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int container_get_path(sd_bus *bus, const char *name, sd_bus_error *error, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        char *p;
        int r;

        r = manager_call(bus, "GetContainer", BUS_TIMEOUT_DEFAULT, error, &reply, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        *ret_path = p;
        return 0;
}

int container_get_all_properties(
        sd_bus *bus, const char *name, sd_bus_error *error, sd_bus_message **ret_reply) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = container_get_path(bus, name, error, &path);
        if (r < 0)
                return r;
        return sd_bus_call_method(bus, VESSEL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll",
                                  error, ret_reply, "s", VESSEL_CONTAINER_INTERFACE);
}

char *container_name_from_path(const char *path) {
        char *name = NULL;

        if (bus_path_label(path, VESSEL_CONTAINER_PATH_PREFIX, &name) <= 0)
                return NULL;
        return name;
}
