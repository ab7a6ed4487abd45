/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure half of networking: subnets, the address pool, names, and the text of /etc/hosts and of
 * the nftables table. No syscalls, no logging; tested in tests/unit/test-network.c. */

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "settings.h"

#define NETWORK_BRIDGE_NAME "vessel0"
#define NETWORK_NFT_TABLE "vessel" /* family inet */
#define NETWORK_SUBNET_DEFAULT "10.88.0.0/16"
/* host ends of the veth pairs: "vsl" + the first 12 hex digits of the container's Id */
#define NETWORK_VETH_PREFIX "vsl"
#define NETWORK_VETH_ID_CHARS 12
/* IPv6 (IPv6=yes): a ULA /64 of our own ("Vessel" in its global ID); a container's address has the
 * same host part as its IPv4 address, so one pool serves both. */
#define NETWORK_SUBNET6_DEFAULT "fd56:6573:7365:6c00::/64"

typedef struct Subnet {
        struct in_addr network; /* host bits zero */
        unsigned prefixlen;     /* 8…30 */
} Subnet;

/* "A.B.C.D/N" with 8 <= N <= 30 and no host bits set; NULL or "" = the default. */
int subnet_parse(const char *s, Subnet *ret);
/* the first host address, which the bridge carries */
struct in_addr subnet_gateway(const Subnet *s);
bool subnet_contains(const Subnet *s, struct in_addr a);
/* the address with the host part of 'a' in the IPv6 /64 */
struct in6_addr subnet_address6(const Subnet *s, struct in_addr a);
struct in6_addr subnet_gateway6(void);

typedef struct AddressPool {
        Subnet subnet;
        uint8_t *used; /* one bit per host index */
        uint32_t size; /* 2^(32 - prefixlen) */
        uint32_t next; /* next-fit: a released address is not handed out again at once */
        uint32_t n_used;
} AddressPool;

int address_pool_init(AddressPool *p, const Subnet *s);
void address_pool_done(AddressPool *p);
/* -ENOSPC when the subnet is full */
int address_pool_allocate(AddressPool *p, struct in_addr *ret);
/* -ERANGE outside the subnet or one of network, gateway, broadcast; -EEXIST when taken */
int address_pool_reserve(AddressPool *p, struct in_addr a);
/* -ENOENT when it was not taken */
int address_pool_release(AddressPool *p, struct in_addr a);

/* "vsl" + 12 hex digits of the Id */
int veth_name_from_id(const char *id, char ret[static IFNAMSIZ]);
/* the Id prefix of one of our veth names, NULL when it is not one */
const char *veth_name_to_id_prefix(const char *ifname);

typedef struct HostsEntry {
        struct in_addr address;
        const char *name;     /* the container's name */
        const char *hostname; /* may be NULL or equal to the name */
} HostsEntry;

/* /etc/hosts of a bridged container: localhost, itself, then the others. */
int hosts_render(const HostsEntry *self, const HostsEntry *others, size_t n_others, bool ipv6, const Subnet *s,
                 char **ret);

typedef struct NftPort {
        const char *protocol; /* "tcp", "udp" */
        uint16_t host_port, container_port;
        struct in_addr address;
        bool ipv6; /* also a rule for the IPv6 address */
} NftPort;

/* The whole table, as one nft script that replaces it atomically. With no ports it still masquerades
 * the subnet. */
int nft_ruleset_render(const Subnet *s, bool ipv6, const NftPort *ports, size_t n_ports, char **ret);
/* The script that deletes the table, if it exists. */
const char *nft_ruleset_delete(void);

/* Two containers (or one with itself, a == b) publishing the same protocol and host port. Returns
 * the index in 'a' of the first clash, or -1. */
ssize_t port_mappings_clash(const PortMapping *a, size_t n_a, const PortMapping *b, size_t n_b);
