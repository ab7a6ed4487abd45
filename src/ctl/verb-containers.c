/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-options.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"
#include "vesselctl.h"

uint64_t read_cap_last_cap(void) {
        _cleanup_(fclosep) FILE *f = NULL;
        unsigned long v;

        f = fopen("/proc/sys/kernel/cap_last_cap", "re");
        if (f && fscanf(f, "%lu", &v) == 1)
                return v;
        return CAPABILITY_MAX - 1; /* capabilities_compute() caps it at the last one we know */
}

int finalize_container_options(uint64_t current_memory_max) {
        const char *reason = NULL;
        int r;

        r = container_options_finalize(&arg_container, current_memory_max, read_cap_last_cap(), &reason);
        if (r < 0)
                return log_error_errno(r, "%s", reason ?: "Invalid options.");
        return 0;
}

/* ---- list ------------------------------------------------------------------------------------- */

static bool state_is_listed(const char *state) {
        return arg_all || streq(state, "running") || streq(state, "paused");
}

int verb_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_json_ struct json_object *array = NULL;
        _cleanup_(table_freep) Table *table = NULL;
        const char *name, *image, *state, *unit, *path;
        uint32_t leader;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        r = manager_call(bus, "ListContainers", BUS_TIMEOUT_DEFAULT, &error, &reply, /* types= */ NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list containers");

        if (arg_json) {
                array = json_object_new_array();
                if (!array)
                        return log_oom();
        } else {
                table = table_new("NAME", "IMAGE", "STATE", "UNIT", "LEADER");
                if (!table)
                        return log_oom();
        }

        r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply: %m");
        while ((r = sd_bus_message_read(reply, "(ssssuo)", &name, &image, &state, &unit, &leader, &path)) >
               0) {
                if (!state_is_listed(state))
                        continue;

                if (arg_json) {
                        struct json_object *o = json_object_new_object();

                        if (!o || json_object_array_add(array, o) < 0) {
                                json_object_put(o);
                                return log_oom();
                        }
                        if (json_object_object_add(o, "name", json_object_new_string(name)) < 0 ||
                            json_object_object_add(o, "image", json_object_new_string(image)) < 0 ||
                            json_object_object_add(o, "state", json_object_new_string(state)) < 0 ||
                            json_object_object_add(o, "unit", json_object_new_string(unit)) < 0 ||
                            json_object_object_add(o, "leader", json_object_new_int64(leader)) < 0 ||
                            json_object_object_add(o, "path", json_object_new_string(path)) < 0)
                                return log_oom();
                } else {
                        char pid[16];

                        snprintf(pid, sizeof pid, "%" PRIu32, leader);
                        r = table_add_row(table, name, image, state, isempty(unit) ? NULL : unit,
                                          leader > 0 ? pid : NULL);
                        if (r < 0)
                                return log_oom();
                }
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply: %m");

        if (arg_json)
                return json_print(array, stdout);

        table_sort(table, 0);
        r = table_print(table, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write output: %m");
        /* the footer is for people; scripts get the header and the rows only */
        if (isatty(STDOUT_FILENO))
                printf("\n%zu container%s listed.\n",
                       table_get_rows(table),
                       table_get_rows(table) == 1 ? "" : "s");
        return 0;
}

/* ---- create ----------------------------------------------------------------------------------- */

/* CreateContainer/RunContainer(name, image, settings) from arg_container. */
int container_new_create_call(sd_bus *bus, const char *method, const char *name, const char *image,
                              sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_new_call(bus, method, &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", strempty(name), image);
        if (r < 0)
                return r;
        r = container_options_append_settings(&arg_container, m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int container_options_take_command(int argc, char *argv[]) {
        /* IMAGE [COMMAND [ARG...]]: no command = the image's default */
        if (argc <= 1)
                return 0;
        strv_free(arg_container.command);
        arg_container.command = strv_copy(argv + 1);
        return arg_container.command ? 0 : -ENOMEM;
}

void print_container_name(const char *path) {
        _cleanup_free_ char *name = container_name_from_path(path);

        puts(name ?: path);
        fflush(stdout);
}

int verb_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *path;
        int r;

        if (finalize_container_options(UINT64_MAX) < 0)
                return EXIT_USAGE;
        if (container_options_take_command(argc, argv) < 0)
                return log_oom();

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        r = container_new_create_call(bus, "CreateContainer", arg_container.name, argv[0], &m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m");
        r = sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, &error, &reply);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to create container");

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply: %m");
        print_container_name(path);
        return 0;
}

/* ---- start, stop, kill, rm, wait -------------------------------------------------------------- */

int verb_start(int argc, char *argv[]) {
        return manager_call_for_each(
                argc, argv, "StartContainer", BUS_TIMEOUT_DEFAULT, "Failed to start container", "s");
}

static int set_stop_timeout(sd_bus *bus, const char *name, uint64_t usec, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_new_call(bus, "UpdateContainer", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sa(sv)", name, 1, "StopTimeoutUSec", "t", usec);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, error, /* ret_reply= */ NULL);
}

/* stop, and with restart start again what stopped (as docker restart: also one that had exited) */
static int stop_containers(int argc, char *argv[], bool restart) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                /* StopContainer takes no timeout: -t changes the container's own StopTimeoutUSec,
                 * which then also holds for later stops, as Docker's does not. */
                if (arg_stop_timeout_set) {
                        r = set_stop_timeout(bus, argv[i], arg_stop_timeout_usec, &error);
                        if (r < 0) {
                                r = log_bus_error(r, &error, "Failed to set the stop timeout");
                                if (ret == 0)
                                        ret = r;
                                continue;
                        }
                }

                r = manager_call(
                        bus,
                        "StopContainer",
                        BUS_TIMEOUT_INFINITE,
                        &error,
                        /* ret_reply= */ NULL,
                        "s",
                        argv[i]);
                if (r < 0) {
                        r = log_bus_error(r, &error, "Failed to stop container");
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                if (!restart)
                        continue;
                r = manager_call(bus, "StartContainer", BUS_TIMEOUT_DEFAULT, &error, /* ret_reply= */ NULL, "s",
                                 argv[i]);
                if (r < 0) {
                        r = log_bus_error(r, &error, "Failed to start container");
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int verb_stop(int argc, char *argv[]) {
        return stop_containers(argc, argv, /* restart= */ false);
}

int verb_restart(int argc, char *argv[]) {
        return stop_containers(argc, argv, /* restart= */ true);
}

int verb_kill(int argc, char *argv[]) {
        return manager_call_for_each(
                argc,
                argv,
                "KillContainer",
                BUS_TIMEOUT_DEFAULT,
                "Failed to kill container",
                "ssi",
                arg_kill_whom,
                (int32_t) arg_signal);
}

int verb_remove(int argc, char *argv[]) {
        /* with force the daemon stops it first, which takes as long as the stop timeout */
        return manager_call_for_each(
                argc,
                argv,
                "RemoveContainer",
                arg_force ? BUS_TIMEOUT_INFINITE : BUS_TIMEOUT_DEFAULT,
                "Failed to remove container",
                "sb",
                (int) arg_force);
}

int exit_code_from_wait(int32_t status, int32_t signo) {
        return signo > 0 ? 128 + signo : status;
}

int verb_wait(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0, code = 0;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                int32_t status, signo;

                r = manager_call(bus, "WaitContainer", BUS_TIMEOUT_INFINITE, &error, &reply, "s", argv[i]);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "ii", &status, &signo);
                if (r < 0) {
                        r = log_bus_error(r, &error, "Failed to wait for container");
                        if (ret == 0)
                                ret = r;
                        continue;
                }
                code = exit_code_from_wait(status, signo);
                printf("%i\n", code);
                fflush(stdout);
        }
        return ret < 0 ? ret : code;
}

/* ---- update ----------------------------------------------------------------------------------- */

int verb_update(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        uint64_t memory_max = UINT64_MAX;
        const char *name = argv[0];
        int r;

        if (!container_options_has_settings(&arg_container)) {
                log_error("No limits given. See '%s update --help'.", program_invocation_short_name);
                return EXIT_USAGE;
        }

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        /* --memory-swap is memory + swap: without --memory, the limit in force counts */
        if (arg_container.memory_swap_total.set && !arg_container.memory_max.set &&
            arg_container.memory_swap_total.value != UINT64_MAX) {
                _cleanup_free_ char *path = NULL;

                r = container_get_path(bus, name, &error, &path);
                if (r >= 0)
                        r = sd_bus_get_property_trivial(
                                bus,
                                VESSEL_BUS_NAME,
                                path,
                                VESSEL_CONTAINER_INTERFACE,
                                "MemoryMax",
                                &error,
                                't',
                                &memory_max);
                if (r < 0)
                        return log_bus_error(r, &error, "Failed to read the container's memory limit");
        }

        if (finalize_container_options(memory_max) < 0)
                return EXIT_USAGE;

        r = manager_new_call(bus, "UpdateContainer", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = container_options_append_settings(&arg_container, m);
        if (r < 0)
                return log_error_errno(r, "Failed to build the call: %m");

        r = sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, &error, /* ret_reply= */ NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to update container");
        return 0;
}
