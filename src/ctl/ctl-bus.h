/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-util.h"
#include "macro.h"

/* For calls that take as long as the container wants: WaitContainer, StopContainer, attached runs.
 * sd-bus reads 0 as "the default" (25 s) and UINT64_MAX as "none". */
#define BUS_TIMEOUT_INFINITE UINT64_MAX
#define BUS_TIMEOUT_DEFAULT 0

/* Connects to vesseld (system bus, else the private socket, $VESSEL_ADDRESS first); logs. */
int ctl_bus_open(sd_bus **ret);

/* Logs the D-Bus error's own message when there is one ("No container named 'foo'."), else
 * "<what>: <strerror>". Returns r. */
int log_bus_error(int r, const sd_bus_error *error, const char *what);

/* Calls a io.vessel1.Manager method; types/... as sd_bus_message_append(). */
int manager_call(sd_bus *bus, const char *method, uint64_t timeout_usec, sd_bus_error *error,
                 sd_bus_message **ret_reply, const char *types, ...);

/* Opens the bus and calls a io.vessel1.Manager method for each name in argv, as manager_call() with
 * the name first: types starts with its "s", ... are the arguments after it, the same for each
 * name. Logs each failure (log_bus_error() with what); the first decides the return value, the
 * others are still tried. */
int manager_call_for_each(int argc, char *argv[], const char *method, uint64_t timeout_usec, const char *what,
                          const char *types, ...);

/* A new io.vessel1.Manager method call, to append to and send. */
int manager_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);

/* GetContainer(name) → path */
int container_get_path(sd_bus *bus, const char *name, sd_bus_error *error, char **ret_path);

/* org.freedesktop.DBus.Properties.GetAll on the container's object */
int container_get_all_properties(
        sd_bus *bus, const char *name, sd_bus_error *error, sd_bus_message **ret_reply);

/* The container's name in an object path we got back, or NULL if it is not one of ours. */
char *container_name_from_path(const char *path);
