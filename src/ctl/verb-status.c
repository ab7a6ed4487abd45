/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>

#include "ctl-bus.h"
#include "ctl-cgroup.h"
#include "ctl-properties.h"
#include "log.h"
#include "output.h"
#include "string-util.h"
#include "verb-ops.h"
#include "vesselctl.h"

int verb_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        unsigned printed = 0;
        int r, ret = 0;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                _cleanup_(container_info_done) ContainerInfo info;

                container_info_init(&info);

                r = container_get_all_properties(bus, argv[i], &error, &reply);
                if (r < 0) {
                        r = log_bus_error(r, &error, "Failed to get container properties");
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                r = container_info_read(reply, &info);
                if (r < 0) {
                        r = log_error_errno(r, "Failed to parse the properties of '%s': %m", argv[i]);
                        if (ret == 0)
                                ret = r;
                        continue;
                }

                if (printed++ > 0)
                        putchar('\n');
                container_info_print(&info, now_realtime_usec(), stdout);
                /* its processes, as systemctl status shows a unit's (where we see its pids; a
                 * container that does not run has no leader) */
                cgroup_print_processes(stdout, (pid_t) info.leader, info.unit, 20);
                /* the last lines of its output, as systemctl status shows them */
                r = show_container_log_tail(info.id, argv[i], 10, stdout);
                if (r < 0)
                        log_debug_errno(r, "Failed to read the journal: %m");
        }
        fflush(stdout);
        return ret;
}

int verb_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        r = container_get_all_properties(bus, argv[0], &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to get container properties");

        if (arg_json) {
                _cleanup_json_ struct json_object *j = NULL;

                r = bus_properties_to_json(reply, arg_properties, &j);
                if (r < 0)
                        return log_error_errno(r, "Failed to parse the properties: %m");
                return json_print(j, stdout);
        }

        r = bus_print_properties(reply, arg_properties, arg_value, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the properties: %m");
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}
