/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "container.h"

/* sync messages of an exec beyond the failure steps */
#define EXEC_MSG_PID 1000 /* the exec'd process's pid, in 'error' */
#define EXEC_MSG_PTY 1001 /* the pty master, as SCM_RIGHTS */

/* Runs argv in the container. Without pty: fds are the caller's stdio, 'message' gets (i status) when
 * it exits. With pty: 'message' gets (h master, u id) once the process has its terminal, and
 * ExecExited(u id, i status) follows. */
int container_exec(Container *c, sd_bus_message *message, char **argv, const Settings *es, int fds[3], bool pty,
                   sd_bus_error *error);
void container_exec_forget(Container *c);
