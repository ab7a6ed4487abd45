/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "macro.h"

struct json_object;

/* Reading org.freedesktop.DBus.Properties.GetAll replies without knowing the properties: show
 * prints whatever the daemon serves, typed by D-Bus signature, so a new property needs no client
 * change. Text follows systemctl show: numbers in decimal, UINT64_MAX as "infinity", arrays
 * separated by blanks, (ss) pairs as KEY=VALUE, other structs' fields joined by ':', (iay) as an IP
 * address. JSON: UINT64_MAX as null, a(ss) as an object. AllowedCPUs (ay) prints as a CPU list. */

/* m is positioned at a variant; reads it. */
int bus_property_to_text(sd_bus_message *m, const char *name, char **ret);
int bus_property_to_json(sd_bus_message *m, const char *name, struct json_object **ret);

/* reply is a GetAll reply (a{sv}). filter: property names to show, NULL = all. */
int bus_print_properties(sd_bus_message *reply, char **filter, bool value_only, FILE *f);
int bus_properties_to_json(sd_bus_message *reply, char **filter, struct json_object **ret);

/* "10.88.0.2", "fd00::2"; NULL for an unknown family or length */
char *format_in_addr(int family, const void *data, size_t size, char *buf, size_t l);

/* What status shows, read from io.vessel1.Container's properties. Absent properties keep the
 * defaults: NULL, 0, UINT64_MAX for limits and live figures. */
typedef struct ContainerInfo {
        char *name, *id, *image, *state, *unit, *slice, *restart, *network, *hostname, *user;
        char *working_directory;
        uint32_t leader, restart_count;
        uint64_t created_timestamp, started_timestamp, finished_timestamp;
        int32_t exit_status, exit_signal, stop_signal;
        bool oom_killed, auto_remove;
        char **command;
        char **addresses; /* formatted */
        char **labels;    /* "KEY=VALUE" */
        uint64_t memory_max, memory_high, memory_low, memory_swap_max, cpu_weight, cpu_quota_per_sec_usec;
        uint64_t tasks_max, io_weight, stop_timeout_usec;
        uint64_t memory_current, cpu_usage_nsec, tasks_current, io_read_bytes, io_write_bytes;
        uint8_t *allowed_cpus;
        size_t n_allowed_cpus;
} ContainerInfo;

void container_info_init(ContainerInfo *i);
void container_info_done(ContainerInfo *i);
int container_info_read(sd_bus_message *reply, ContainerInfo *i);

/* Prints the status block for people. now_usec is the realtime clock, for "ago". */
void container_info_print(const ContainerInfo *i, uint64_t now_usec, FILE *f);
