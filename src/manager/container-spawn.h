/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Starting a container's first process (vessel-init's setup mode does the container's side), and
 * what a process exec'd into a container shares with it: spawn-proto.h, app-exec.h. */

#include "app-exec.h"
#include "container.h"
#include "spawn-proto.h"

int userns_make(uint32_t base, int *ret_fd);

/* What the container gives every process that runs in it, for child_exec_app(). Points into c. */
void container_app_defaults(Container *c, AppDefaults *ret);

/* The spare first process: made when the loop is idle after a start, taken by the next start, so
 * that systemd is asked for the scope without waiting for a clone and an exec. */
int spare_start(Manager *m);
void spare_done(Manager *m);
void spare_schedule(Manager *m);
