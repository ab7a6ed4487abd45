/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "setup-spec.h"

#include <json-c/json.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "manager.h"
#include "network-util.h"

/* A container's share of the bridge: held from network_prepare() (before the clone) until
 * network_release() (its exit, or a failed start). */
typedef struct ContainerNetwork {
        bool has_address;
        struct in_addr address; /* the IPv6 address, where enabled, is derived from it */
        int *port_fds;          /* host ports held (bound, never listening) while the container runs */
        size_t n_port_fds;
} ContainerNetwork;

typedef struct Network Network;
Network *network_free(Network *n);

/* Frees what the Container object holds, leaving the network itself alone (vesseld exits). */
void network_forget(Container *c);

/* Start, before the clone: PortInUse checks, an address. A no-op for none and host. */
int network_prepare(Container *c, sd_bus_error *error);
/* Start, after the clone, while the scope job is in flight: bridge, veth (peer "eth0" moved into the
 * child's namespace: netns_fd's, or pid's when that is -1), nftables, the other containers'
 * /etc/hosts. */
int network_setup(Container *c, pid_t pid, int netns_fd);
/* For bridge, what the container's setup gives eth0 once it has it: its address and the default
 * routes (vessel-init's setup does that in the container's namespace). */
void network_setup_spec(Container *c, SetupSpec *spec);
/* Exit, failed start, removal: give everything back. Idempotent. */
void network_release(Container *c);
/* Startup, after the records are loaded: delete veths and rules that belong to no running
 * container, hold the ports of those that run. */
void network_reconcile(Manager *m);

/* /etc/hosts for a bridged container: itself and every other container on the bridge */
int network_hosts_render(Container *c, char **ret);

/* "Addresses" in the container record, and the a(iay) property */
void network_to_json(Container *c, json_object *o);
void network_from_json(Container *c, json_object *o);
int network_append_addresses(Container *c, sd_bus_message *reply);
