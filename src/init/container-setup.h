/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* vessel-init --setup-fd=FD: FD is the sync socket to vesseld; sets up the container described by the
 * spec that arrives on it (see container-setup.c), spawns its app, and returns the command line
 * vessel-init then runs with as the container's init. On any failure it reports on the sync socket
 * and exits. */
char **container_setup(int sync_fd, bool new_netns, int *ret_argc);
