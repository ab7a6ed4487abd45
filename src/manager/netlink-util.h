/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A few rtnetlink requests, over libmnl. Each waits for the kernel's answer and returns 0 or -errno;
 * nothing logs. A socket talks to the network namespace it was opened in, so the container's own
 * side is configured by the container's first process itself, before it execs. */

#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/types.h>

int nl_open(struct mnl_socket **ret);
struct mnl_socket *nl_close(struct mnl_socket *nl);
static inline void nl_closep(struct mnl_socket **nl) {
        nl_close(*nl);
}
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* ifindex (> 0), or -ENODEV */
int nl_link_index(struct mnl_socket *nl, const char *name);
/* a bridge, up; -EEXIST if the name is taken */
int nl_bridge_add(struct mnl_socket *nl, const char *name);
/* a veth pair: 'name' here, attached to 'master' and up; 'peer' in the network namespace of 'peer_pid',
 * down */
/* the peer goes into the network namespace of peer_netns_fd, or where peer_pid lives if that is -1 */
int nl_veth_add(struct mnl_socket *nl, const char *name, int master, const char *peer, pid_t peer_pid, int peer_netns_fd);
int nl_link_up(struct mnl_socket *nl, int ifindex);
int nl_link_delete(struct mnl_socket *nl, int ifindex);
int nl_addr_add(struct mnl_socket *nl, int ifindex, int family, const void *address, unsigned prefixlen);
/* calls cb for every link of the namespace; a negative return of cb ends the walk with it */
int nl_link_foreach(struct mnl_socket *nl, int (*cb)(const char *name, int ifindex, void *userdata), void *userdata);
