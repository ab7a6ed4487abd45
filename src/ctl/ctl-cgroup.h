/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The processes of a container's scope, for vesselctl status, as systemctl status shows a unit's
 * CGroup: read on this host from the leader's /proc/PID/cgroup and the cgroup file system. */

/* From the text of /proc/PID/cgroup, the path of the cgroup named unit (the leader may sit in a
 * cgroup below it): the named systemd hierarchy's line on v1, the unified one's ("0::") otherwise.
 * *ret_v1 says which. -ENOENT if no line has it. */
int cgroup_unit_path(const char *proc_cgroup, const char *unit, char **ret, bool *ret_v1);

/* A process's command line for people: /proc/PID/cmdline's NUL-separated words joined with spaces,
 * cut at max bytes with "…"; "[comm]" when it has none (a zombie). */
char *process_describe(const char *cmdline, size_t size, const char *comm, size_t max);

/* Prints the "CGroup:" field and the scope's processes, in pid order, as a tree under it; at most
 * max_lines processes, then how many more. Prints nothing when the leader is not in the unit on
 * this host (another pid namespace), or the cgroup cannot be read. */
void cgroup_print_processes(FILE *f, pid_t leader, const char *unit, size_t max_lines);
