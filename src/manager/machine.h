/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"

/* Follows machined's name on the system bus: calls go out only while it runs (none per container on
 * a host without it), and the running containers are registered whenever it (re)appears. */
int machine_watch(Manager *m);
int machine_register(Container *c);
int machine_unregister(Container *c);
