/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bridge networking: a veth pair per container, the host end on the bridge vessel0, the container end
 * as eth0 with an address of the subnet; NAT and published ports in the nftables table "inet vessel".
 *
 * Libraries. Netlink goes through libmnl (netfilter.org's minimal netlink library, ~2k lines, no
 * dependencies, used by iproute2-adjacent tools and by nftables itself): it only frames messages and
 * walks attributes, so the requests stay plainly visible in netlink-util.c, and it costs no more than
 * our own framing code would while being tested by many users already. libnl-route would hide the
 * messages behind an object cache we do not need. nftables goes through libnftables, nft's own
 * library: it takes the nft language, so the table is one readable text (network-util.c renders it,
 * the unit tests check it) applied as one atomic transaction — the whole table is replaced at once, and
 * other tables are never touched. Driving libnftnl directly would mean building each expression of
 * each rule by hand. Neither `ip` nor `nft` is ever executed.
 *
 * Life cycle. The bridge and the table exist exactly while some container holds an address: created
 * by the first bridged start, deleted after the last bridged container's exit, and reconciled when
 * vesseld starts (a kill -9 leaves nothing behind for long). The veth is made by one RTM_NEWLINK in
 * the parent while the scope job is in flight; the container's first process configures lo, eth0's
 * address and the default route itself, after GO and before it execs (it still has CAP_NET_ADMIN in
 * its own namespace then): no extra process, no setns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-util.h"
#include "container.h"
#include "fd-util.h"
#include "log.h"
#include "netlink-util.h"
#include "netlink-raw.h" /* CONTAINER_IFNAME */
#include "network.h"
#include "string-util.h"


struct Network {
        Subnet subnet;
        bool ipv6;
        AddressPool pool;
        struct mnl_socket *nl; /* in vesseld's own network namespace */
        struct nft_ctx *nft;
        char *ruleset; /* the table as last applied; NULL: not there */
        int bridge_ifindex;
};

Network *network_free(Network *n) {
        if (!n)
                return NULL;
        address_pool_done(&n->pool);
        nl_close(n->nl);
        if (n->nft)
                nft_ctx_free(n->nft);
        free(n->ruleset);
        return mfree(n);
}

static int network_get(Manager *m, Network **ret) {
        _cleanup_free_ Network *n = NULL;
        int r;

        if (m->network) {
                *ret = m->network;
                return 0;
        }
        n = calloc(1, sizeof(Network));
        if (!n)
                return -ENOMEM;
        r = subnet_parse(m->config.subnet, &n->subnet);
        if (r < 0) {
                log_warning_errno(r, "[Network] Subnet=%s is not an IPv4 subnet between /8 and /30, using %s.",
                                  m->config.subnet, NETWORK_SUBNET_DEFAULT);
                (void) subnet_parse(NULL, &n->subnet);
        }
        n->ipv6 = m->config.ipv6;
        r = address_pool_init(&n->pool, &n->subnet);
        if (r < 0)
                return r;
        *ret = m->network = TAKE_PTR(n);
        return 0;
}

static int network_netlink(Network *n) {
        if (n->nl)
                return 0;
        return nl_open(&n->nl);
}

static int network_nft_run(Network *n, const char *script) {
        if (!n->nft) {
                n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
                if (!n->nft)
                        return -ENOMEM;
                (void) nft_ctx_buffer_output(n->nft);
                (void) nft_ctx_buffer_error(n->nft);
        }
        if (nft_run_cmd_from_buffer(n->nft, script) != 0) {
                const char *e = nft_ctx_get_error_buffer(n->nft);
                log_warning("nftables refused the " NETWORK_NFT_TABLE " table: %s", strempty(e));
                return -EIO;
        }
        return 0;
}

/* ------------------------------------------------------------------ rules ---- */

/* The table follows the containers: rebuilt when their published ports change, deleted with the last
 * address. 'force' when we do not know what the kernel has (startup). */
static int network_apply_rules(Manager *m, bool force) {
        Network *n = m->network;
        _cleanup_free_ NftPort *ports = NULL;
        _cleanup_free_ char *text = NULL;
        size_t n_ports = 0, k = 0;
        Container *c;
        int r;

        if (n->pool.n_used == 0) {
                if (!n->ruleset && !force)
                        return 0;
                n->ruleset = mfree(n->ruleset);
                return network_nft_run(n, nft_ruleset_delete());
        }

        HASHMAP_FOREACH(c, m->containers)
                if (c->net.has_address)
                        n_ports += c->settings.n_ports;
        ports = calloc(n_ports ?: 1, sizeof(NftPort));
        if (!ports)
                return -ENOMEM;
        HASHMAP_FOREACH(c, m->containers)
                for (size_t i = 0; c->net.has_address && i < c->settings.n_ports && k < n_ports; i++)
                        ports[k++] = (NftPort) {
                                .protocol = c->settings.ports[i].protocol,
                                .host_port = c->settings.ports[i].host_port,
                                .container_port = c->settings.ports[i].container_port,
                                .address = c->net.address,
                                .ipv6 = n->ipv6,
                        };

        r = nft_ruleset_render(&n->subnet, n->ipv6, ports, k, &text);
        if (r < 0)
                return r;
        if (!force && n->ruleset && streq(n->ruleset, text))
                return 0;
        n->ruleset = mfree(n->ruleset);
        r = network_nft_run(n, text);
        if (r < 0)
                return r;
        n->ruleset = TAKE_PTR(text);
        return 0;
}

/* ----------------------------------------------------------------- bridge ---- */

static int write_sysctl(const char *path, const char *value) {
        int r = write_string_file(path, value);
        if (r < 0)
                log_warning_errno(r, "Failed to set %s to %s: %m", path, value);
        return r;
}

static int network_bridge_ensure(Network *n) {
        struct in_addr gw = subnet_gateway(&n->subnet);
        int r, ifindex;

        ifindex = nl_link_index(n->nl, NETWORK_BRIDGE_NAME);
        if (ifindex > 0 && ifindex == n->bridge_ifindex)
                return ifindex;
        if (ifindex == -ENODEV) {
                r = nl_bridge_add(n->nl, NETWORK_BRIDGE_NAME);
                if (r < 0 && r != -EEXIST)
                        return log_warning_errno(r, "Failed to create bridge " NETWORK_BRIDGE_NAME ": %m");
                ifindex = nl_link_index(n->nl, NETWORK_BRIDGE_NAME);
        }
        if (ifindex < 0)
                return log_warning_errno(ifindex, "Failed to find bridge " NETWORK_BRIDGE_NAME ": %m");

        /* new, or made by someone else (or by an earlier vesseld that died half-way): (re)configure */
        r = nl_link_up(n->nl, ifindex);
        if (r >= 0)
                r = nl_addr_add(n->nl, ifindex, AF_INET, &gw, n->subnet.prefixlen);
        if (r < 0)
                return log_warning_errno(r, "Failed to configure bridge " NETWORK_BRIDGE_NAME ": %m");
        if (n->ipv6) {
                struct in6_addr gw6 = subnet_gateway6();
                r = nl_addr_add(n->nl, ifindex, AF_INET6, &gw6, 64);
                if (r < 0)
                        return log_warning_errno(r, "Failed to give bridge " NETWORK_BRIDGE_NAME " its IPv6 address: %m");
                (void) write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
        }
        /* route_localnet: a published port DNAT'ed from 127.0.0.1 may leave through the bridge */
        r = write_sysctl("/proc/sys/net/ipv4/conf/" NETWORK_BRIDGE_NAME "/route_localnet", "1");
        if (r >= 0)
                r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1");
        if (r < 0)
                return r;
        n->bridge_ifindex = ifindex;
        return ifindex;
}

static void network_bridge_delete(Network *n) {
        int ifindex, r;

        if (network_netlink(n) < 0)
                return;
        n->bridge_ifindex = 0;
        ifindex = nl_link_index(n->nl, NETWORK_BRIDGE_NAME);
        if (ifindex <= 0)
                return;
        r = nl_link_delete(n->nl, ifindex);
        if (r < 0 && r != -ENODEV)
                log_warning_errno(r, "Failed to delete bridge " NETWORK_BRIDGE_NAME ": %m");
}

/* ------------------------------------------------------------------ hosts ---- */

int network_hosts_render(Container *c, char **ret) {
        Manager *m = c->manager;
        _cleanup_free_ HostsEntry *others = NULL;
        size_t n = 0;
        Container *o;

        if (!c->net.has_address || !m->network)
                return -ENOENT;
        others = calloc(hashmap_size(m->containers) + 1, sizeof(HostsEntry));
        if (!others)
                return -ENOMEM;
        HASHMAP_FOREACH(o, m->containers)
                if (o != c && o->net.has_address)
                        others[n++] = (HostsEntry) { o->net.address, o->name, o->settings.hostname };
        return hosts_render(&(HostsEntry) { c->net.address, c->name, c->settings.hostname }, others, n,
                            m->network->ipv6, &m->network->subnet, ret);
}

/* The others' files are bind mounts in their containers: rewritten in place (a rename would leave the
 * mount on the old inode), never truncated to empty first. */
static void network_update_hosts(Manager *m, Container *except) {
        Container *o;

        HASHMAP_FOREACH(o, m->containers) {
                _cleanup_free_ char *dir = NULL, *text = NULL;
                _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
                size_t len;

                if (o == except || !o->net.has_address)
                        continue;
                if (network_hosts_render(o, &text) < 0 || container_runtime_dir(o, &dir) < 0)
                        continue;
                dfd = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (dfd >= 0)
                        fd = openat(dfd, "hosts", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        continue;
                len = strlen(text);
                if (pwrite(fd, text, len, 0) != (ssize_t) len || ftruncate(fd, len) < 0)
                        log_warning_errno(errno, "Failed to update /etc/hosts of container %s: %m", o->name);
        }
}

/* ------------------------------------------------------------------ ports ---- */

/* A published port is held by a bound socket of ours (never listening, so it receives nothing; the
 * DNAT rule sees every packet first): no other program on the host takes it meanwhile. */
static int port_hold(const PortMapping *p) {
        bool tcp = streq(p->protocol, "tcp");
        struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(p->host_port), .sin6_addr = in6addr_any };
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p->host_port) };
        _cleanup_close_ int fd = -EBADF;
        int one = 1, zero = 0;

        /* dual-stack where the host has IPv6: the port is taken for both families */
        fd = socket(AF_INET6, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
                (void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
                if (tcp)
                        (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (bind(fd, (struct sockaddr *) &sa6, sizeof sa6) < 0)
                        return -errno;
                return fd_move_high(TAKE_FD(fd));
        }
        fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (tcp)
                (void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return -errno;
        return fd_move_high(TAKE_FD(fd));
}

static void ports_release(Container *c) {
        close_many(c->net.port_fds, c->net.n_port_fds);
        c->net.port_fds = mfree(c->net.port_fds);
        c->net.n_port_fds = 0;
}

void network_forget(Container *c) {
        /* the object goes, the container (and its veth, rules, address) lives on */
        ports_release(c);
}

/* -errno, or the index of the port that is taken (r > 0 → port r - 1) */
static int ports_hold(Container *c) {
        const Settings *s = &c->settings;

        if (s->n_ports == 0)
                return 0;
        c->net.port_fds = calloc(s->n_ports, sizeof(int));
        if (!c->net.port_fds)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_ports; i++) {
                int fd = port_hold(s->ports + i);
                if (fd == -EADDRINUSE) {
                        ports_release(c);
                        return (int) i + 1;
                }
                if (fd < 0) {
                        ports_release(c);
                        return fd;
                }
                c->net.port_fds[c->net.n_port_fds++] = fd;
        }
        return 0;
}

/* ------------------------------------------------------------- life cycle ---- */

int network_prepare(Container *c, sd_bus_error *error) {
        const Settings *s = &c->settings;
        Manager *m = c->manager;
        Network *n;
        Container *o;
        ssize_t i;
        int r;

        if (s->network != NETWORK_BRIDGE)
                return 0;
        r = network_get(m, &n);
        if (r < 0)
                return r;
        network_release(c); /* nothing should be left from the last run; make sure */

        HASHMAP_FOREACH(o, m->containers) {
                if (o == c || !o->net.has_address)
                        continue;
                i = port_mappings_clash(s->ports, s->n_ports, o->settings.ports, o->settings.n_ports);
                if (i >= 0)
                        return sd_bus_error_setf(error, BUS_ERROR_PORT_IN_USE,
                                                 "Port %u/%s is published by container %s already.",
                                                 s->ports[i].host_port, s->ports[i].protocol, o->name);
        }
        r = ports_hold(c);
        if (r > 0)
                return sd_bus_error_setf(error, BUS_ERROR_PORT_IN_USE, "Port %u/%s is in use on the host.",
                                         s->ports[r - 1].host_port, s->ports[r - 1].protocol);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to reserve the published ports of %s: %m", c->name);

        r = address_pool_allocate(&n->pool, &c->net.address);
        if (r < 0) {
                ports_release(c);
                if (r == -ENOSPC)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED,
                                                 "No address left in subnet %s/%u.", inet_ntoa(n->subnet.network),
                                                 n->subnet.prefixlen);
                return r;
        }
        c->net.has_address = true;
        return 0;
}

int network_setup(Container *c, pid_t pid, int netns_fd) {
        Manager *m = c->manager;
        Network *n = m->network;
        char veth[IFNAMSIZ];
        int r, bridge;

        if (c->settings.network != NETWORK_BRIDGE || !c->net.has_address || !n)
                return 0;
        r = network_netlink(n);
        if (r < 0)
                return log_warning_errno(r, "Failed to open a netlink socket: %m");
        bridge = network_bridge_ensure(n);
        if (bridge < 0)
                return bridge;
        r = veth_name_from_id(c->id, veth);
        if (r < 0)
                return r;
        r = nl_veth_add(n->nl, veth, bridge, CONTAINER_IFNAME, pid, netns_fd);
        if (r == -EEXIST) {
                /* a leftover of this container's earlier run that the kernel has not reaped yet */
                int old = nl_link_index(n->nl, veth);
                if (old > 0)
                        (void) nl_link_delete(n->nl, old);
                r = nl_veth_add(n->nl, veth, bridge, CONTAINER_IFNAME, pid, netns_fd);
        }
        if (r < 0)
                return log_warning_errno(r, "Failed to create veth %s for container %s: %m", veth, c->name);

        r = network_apply_rules(m, /* force= */ false);
        if (r < 0)
                return r;
        network_update_hosts(m, c);
        return 0;
}

void network_setup_spec(Container *c, SetupSpec *spec) {
        const Network *n = c->manager->network;

        if (c->settings.network != NETWORK_BRIDGE || !c->net.has_address || !n)
                return;
        spec->has_address = true;
        spec->address = c->net.address;
        spec->prefixlen = n->subnet.prefixlen;
        spec->gateway = subnet_gateway(&n->subnet);
        spec->ipv6 = n->ipv6;
        if (n->ipv6) {
                spec->address6 = subnet_address6(&n->subnet, c->net.address);
                spec->gateway6 = subnet_gateway6();
        }
}

void network_release(Container *c) {
        Manager *m = c->manager;
        Network *n = m->network;
        char veth[IFNAMSIZ];
        int ifindex;

        ports_release(c);
        if (!c->net.has_address || !n)
                return;
        (void) address_pool_release(&n->pool, c->net.address);
        c->net.has_address = false;

        /* usually gone already, with the container's namespace; not always at once */
        if (network_netlink(n) >= 0 && veth_name_from_id(c->id, veth) >= 0) {
                ifindex = nl_link_index(n->nl, veth);
                if (ifindex > 0)
                        (void) nl_link_delete(n->nl, ifindex);
        }
        (void) network_apply_rules(m, /* force= */ false);
        if (n->pool.n_used == 0)
                network_bridge_delete(n);
        network_update_hosts(m, NULL);
}

typedef struct StaleLinks {
        Manager *manager;
        int *ifindexes;
        size_t n;
} StaleLinks;

static int collect_stale_link(const char *name, int ifindex, void *userdata) {
        StaleLinks *l = userdata;
        const char *prefix = veth_name_to_id_prefix(name);
        Container *c;
        int *a;

        if (!prefix)
                return 0;
        HASHMAP_FOREACH(c, l->manager->containers)
                if (c->net.has_address && startswith(c->id, prefix))
                        return 0;
        a = reallocarray(l->ifindexes, l->n + 1, sizeof(int));
        if (!a)
                return -ENOMEM;
        l->ifindexes = a;
        l->ifindexes[l->n++] = ifindex;
        return 0;
}

void network_reconcile(Manager *m) {
        StaleLinks l = { .manager = m };
        Network *n;
        Container *c;
        int r;

        r = network_get(m, &n);
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to set up networking: %m");
        r = network_netlink(n);
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to open a netlink socket: %m");

        /* after the walk: no requests on the socket while a dump is under way */
        r = nl_link_foreach(n->nl, collect_stale_link, &l);
        if (r < 0)
                log_warning_errno(r, "Failed to list network links: %m");
        for (size_t i = 0; i < l.n; i++) {
                log_info("Deleting veth %i, which belongs to no running container.", l.ifindexes[i]);
                (void) nl_link_delete(n->nl, l.ifindexes[i]);
        }
        free(l.ifindexes);

        HASHMAP_FOREACH(c, m->containers)
                if (c->net.has_address && ports_hold(c) > 0)
                        log_warning("Container %s: a port it publishes was taken while vesseld was away.", c->name);

        (void) network_apply_rules(m, /* force= */ true);
        if (n->pool.n_used == 0)
                network_bridge_delete(n);
}

/* ---------------------------------------------------------------- records ---- */

void network_to_json(Container *c, json_object *o) {
        char buf[INET6_ADDRSTRLEN];
        json_object *a;

        if (!c->net.has_address)
                return;
        a = json_object_new_array();
        inet_ntop(AF_INET, &c->net.address, buf, sizeof buf);
        json_object_array_add(a, json_object_new_string(buf));
        if (c->manager->network && c->manager->network->ipv6) {
                struct in6_addr a6 = subnet_address6(&c->manager->network->subnet, c->net.address);
                inet_ntop(AF_INET6, &a6, buf, sizeof buf);
                json_object_array_add(a, json_object_new_string(buf));
        }
        json_object_object_add(o, "Addresses", a);
}

void network_from_json(Container *c, json_object *o) {
        struct in_addr a;
        json_object *e;
        Network *n;
        int r;

        if (!json_object_object_get_ex(o, "Addresses", &e) || !json_object_is_type(e, json_type_array))
                return;
        for (size_t i = 0; i < json_object_array_length(e); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(e, i));

                if (!s || inet_pton(AF_INET, s, &a) != 1)
                        continue; /* the IPv6 address follows from the IPv4 one */
                r = network_get(c->manager, &n);
                if (r >= 0)
                        r = address_pool_reserve(&n->pool, a);
                if (r < 0) {
                        log_warning_errno(r, "Container %s: address %s cannot be kept (%s): %m", c->name, s,
                                          r == -EEXIST ? "another container has it" : "not in the subnet");
                        return;
                }
                c->net.address = a;
                c->net.has_address = true;
                return;
        }
}

int network_append_addresses(Container *c, sd_bus_message *reply) {
        Network *n = c->manager->network;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(iay)");
        if (r < 0)
                return r;
        if (c->net.has_address && n) {
                r = sd_bus_message_open_container(reply, 'r', "iay");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", (int32_t) AF_INET);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', &c->net.address, sizeof(struct in_addr));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0 && n->ipv6) {
                        struct in6_addr a6 = subnet_address6(&n->subnet, c->net.address);
                        r = sd_bus_message_open_container(reply, 'r', "iay");
                        if (r >= 0)
                                r = sd_bus_message_append(reply, "i", (int32_t) AF_INET6);
                        if (r >= 0)
                                r = sd_bus_message_append_array(reply, 'y', &a6, sizeof a6);
                        if (r >= 0)
                                r = sd_bus_message_close_container(reply);
                }
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}
