/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "container.h"

/* The verbs, shared by the container objects and the Manager's by-name methods: they read the
 * arguments that follow the name. */
int bus_container_method_start(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_stop(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_kill(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_remove(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_wait(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_update(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_pause(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_exec(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_exec_pty(sd_bus_message *m, void *userdata, sd_bus_error *error);
int bus_container_method_resume(sd_bus_message *m, void *userdata, sd_bus_error *error);
