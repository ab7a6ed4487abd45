/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The few rtnetlink requests a container's setup makes in its own network namespace (lo up; eth0's
 * address and default route), on a plain netlink socket: the static vessel-init has no libmnl.
 * vesseld's netlink-util.c (libmnl) sends its link-up and address requests through these too, on its
 * own socket, so that each message is built in one place. */

#define CONTAINER_IFNAME "eth0"

/* All return 0 or -errno. fd is an open NETLINK_ROUTE socket (nlr_open()). */
int nlr_open(void);
int nlr_link_up(int fd, int ifindex);
int nlr_addr_add(int fd, int ifindex, int family, const void *address, unsigned prefixlen);
int nlr_route_add_default(int fd, int family, int ifindex, const void *gateway);
