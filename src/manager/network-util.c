/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "network-util.h"
#include "string-util.h"

int subnet_parse(const char *s, Subnet *ret) {
        char buf[INET_ADDRSTRLEN + 4], *slash, *end;
        struct in_addr a;
        unsigned long n;
        uint32_t mask;

        if (!s || !*s)
                s = NETWORK_SUBNET_DEFAULT;
        if (strlen(s) >= sizeof buf)
                return -EINVAL;
        strcpy(buf, s);
        slash = strchr(buf, '/');
        if (!slash)
                return -EINVAL;
        *slash = 0;
        if (inet_pton(AF_INET, buf, &a) != 1)
                return -EINVAL;
        errno = 0;
        n = strtoul(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end || slash[1] < '0' || slash[1] > '9')
                return -EINVAL;
        /* at least a /30 (two containers), at most a /8 (a 2 MiB bitmap) */
        if (n < 8 || n > 30)
                return -ERANGE;
        mask = htonl(~((UINT32_C(1) << (32 - n)) - 1));
        if ((a.s_addr & ~mask) != 0)
                return -EINVAL;
        *ret = (Subnet) { .network = a, .prefixlen = n };
        return 0;
}

static uint32_t subnet_size(const Subnet *s) {
        return UINT32_C(1) << (32 - s->prefixlen);
}

static struct in_addr subnet_host(const Subnet *s, uint32_t index) {
        return (struct in_addr) { .s_addr = htonl(ntohl(s->network.s_addr) + index) };
}

static uint32_t subnet_index(const Subnet *s, struct in_addr a) {
        return ntohl(a.s_addr) - ntohl(s->network.s_addr);
}

struct in_addr subnet_gateway(const Subnet *s) {
        return subnet_host(s, 1);
}

bool subnet_contains(const Subnet *s, struct in_addr a) {
        return subnet_index(s, a) < subnet_size(s);
}

static struct in6_addr subnet6_prefix(void) {
        struct in6_addr a;
        char buf[64], *slash;

        strcpy(buf, NETWORK_SUBNET6_DEFAULT);
        slash = strchr(buf, '/');
        *slash = 0;
        (void) inet_pton(AF_INET6, buf, &a);
        return a;
}

struct in6_addr subnet_address6(const Subnet *s, struct in_addr a) {
        struct in6_addr r = subnet6_prefix();
        uint32_t index = htonl(subnet_index(s, a));

        memcpy(r.s6_addr + 12, &index, 4);
        return r;
}

struct in6_addr subnet_gateway6(void) {
        struct in6_addr r = subnet6_prefix();

        r.s6_addr[15] = 1;
        return r;
}

int address_pool_init(AddressPool *p, const Subnet *s) {
        *p = (AddressPool) { .subnet = *s, .size = subnet_size(s), .next = 2 };
        p->used = calloc(p->size / 8 ?: 1, 1);
        return p->used ? 0 : -ENOMEM;
}

void address_pool_done(AddressPool *p) {
        p->used = mfree(p->used);
        p->size = p->n_used = 0;
}

static bool pool_test(const AddressPool *p, uint32_t i) {
        return p->used[i / 8] & (1u << (i % 8));
}

static void pool_set(AddressPool *p, uint32_t i, bool on) {
        if (on)
                p->used[i / 8] |= 1u << (i % 8);
        else
                p->used[i / 8] &= ~(1u << (i % 8));
}

/* the network address, the gateway and the broadcast address are never handed out */
static bool pool_index_is_host(const AddressPool *p, uint32_t i) {
        return i >= 2 && i < p->size - 1;
}

int address_pool_allocate(AddressPool *p, struct in_addr *ret) {
        uint32_t hosts = p->size - 3;

        if (p->n_used >= hosts)
                return -ENOSPC;
        for (uint32_t k = 0; k < hosts; k++) {
                uint32_t i = p->next;

                p->next = p->next + 1 >= p->size - 1 ? 2 : p->next + 1;
                if (!pool_index_is_host(p, i) || pool_test(p, i))
                        continue;
                pool_set(p, i, true);
                p->n_used++;
                *ret = subnet_host(&p->subnet, i);
                return 0;
        }
        return -ENOSPC;
}

int address_pool_reserve(AddressPool *p, struct in_addr a) {
        uint32_t i = subnet_index(&p->subnet, a);

        if (i >= p->size || !pool_index_is_host(p, i))
                return -ERANGE;
        if (pool_test(p, i))
                return -EEXIST;
        pool_set(p, i, true);
        p->n_used++;
        return 0;
}

int address_pool_release(AddressPool *p, struct in_addr a) {
        uint32_t i = subnet_index(&p->subnet, a);

        if (i >= p->size || !pool_index_is_host(p, i) || !pool_test(p, i))
                return -ENOENT;
        pool_set(p, i, false);
        p->n_used--;
        return 0;
}

int veth_name_from_id(const char *id, char ret[static IFNAMSIZ]) {
        if (!id || strlen(id) < NETWORK_VETH_ID_CHARS)
                return -EINVAL;
        snprintf(ret, IFNAMSIZ, NETWORK_VETH_PREFIX "%.*s", NETWORK_VETH_ID_CHARS, id);
        return 0;
}

const char *veth_name_to_id_prefix(const char *ifname) {
        const char *p = startswith_ptr(ifname, NETWORK_VETH_PREFIX);

        if (!p || strlen(p) != NETWORK_VETH_ID_CHARS || strspn(p, "0123456789abcdef") != NETWORK_VETH_ID_CHARS)
                return NULL;
        return p;
}

static void hosts_line(FILE *f, const HostsEntry *e, bool ipv6, const Subnet *s) {
        char a[INET6_ADDRSTRLEN];
        const char *h = e->hostname && !streq(e->hostname, e->name) ? e->hostname : NULL;

        inet_ntop(AF_INET, &e->address, a, sizeof a);
        fprintf(f, "%s\t%s%s%s\n", a, e->name, h ? " " : "", strempty(h));
        if (ipv6) {
                struct in6_addr a6 = subnet_address6(s, e->address);
                inet_ntop(AF_INET6, &a6, a, sizeof a);
                fprintf(f, "%s\t%s%s%s\n", a, e->name, h ? " " : "", strempty(h));
        }
}

int hosts_render(const HostsEntry *self, const HostsEntry *others, size_t n_others, bool ipv6, const Subnet *s,
                 char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fputs("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", f);
        hosts_line(f, self, ipv6, s);
        for (size_t i = 0; i < n_others; i++)
                hosts_line(f, others + i, ipv6, s);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

int nft_ruleset_render(const Subnet *s, bool ipv6, const NftPort *ports, size_t n_ports, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char net[INET_ADDRSTRLEN], a[INET6_ADDRSTRLEN];
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        inet_ntop(AF_INET, &s->network, net, sizeof net);

        /* create-then-delete makes the delete succeed whether or not the table exists: the whole
         * script is one transaction, so the table is replaced atomically */
        fputs("add table inet " NETWORK_NFT_TABLE "\n"
              "delete table inet " NETWORK_NFT_TABLE "\n"
              "table inet " NETWORK_NFT_TABLE " {\n", f);

        /* published ports: whatever arrives for a local address, from outside (prerouting) or from
         * the host itself (output, 127.0.0.1 included: route_localnet is on for the bridge) */
        fputs("\tchain prerouting {\n"
              "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
              "\t\tfib daddr type local jump published\n"
              "\t}\n"
              "\tchain output {\n"
              "\t\ttype nat hook output priority -100; policy accept;\n"
              "\t\tfib daddr type local jump published\n"
              "\t}\n"
              "\tchain published {\n", f);
        for (size_t i = 0; i < n_ports; i++) {
                const NftPort *p = ports + i;

                inet_ntop(AF_INET, &p->address, a, sizeof a);
                fprintf(f, "\t\tmeta nfproto ipv4 %s dport %u dnat ip to %s:%u\n", p->protocol, p->host_port, a,
                        p->container_port);
                if (ipv6 && p->ipv6) {
                        struct in6_addr a6 = subnet_address6(s, p->address);
                        inet_ntop(AF_INET6, &a6, a, sizeof a);
                        fprintf(f, "\t\tmeta nfproto ipv6 %s dport %u dnat ip6 to [%s]:%u\n", p->protocol,
                                p->host_port, a, p->container_port);
                }
        }
        fputs("\t}\n", f);

        /* outbound: the subnet leaves with the host's address; and what the host sent from 127.0.0.1
         * to a container (a published port on localhost) gets the bridge's address, so the
         * container can answer */
        fprintf(f,
                "\tchain postrouting {\n"
                "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                "\t\tip saddr %s/%u ip daddr != %s/%u masquerade\n"
                "\t\toifname \"" NETWORK_BRIDGE_NAME "\" ip saddr 127.0.0.0/8 masquerade\n",
                net, s->prefixlen, net, s->prefixlen);
        if (ipv6)
                fputs("\t\tip6 saddr " NETWORK_SUBNET6_DEFAULT " ip6 daddr != " NETWORK_SUBNET6_DEFAULT " masquerade\n", f);
        fputs("\t}\n}\n", f);

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

const char *nft_ruleset_delete(void) {
        return "add table inet " NETWORK_NFT_TABLE "\n"
               "delete table inet " NETWORK_NFT_TABLE "\n";
}

ssize_t port_mappings_clash(const PortMapping *a, size_t n_a, const PortMapping *b, size_t n_b) {
        for (size_t i = 0; i < n_a; i++)
                for (size_t j = a == b ? i + 1 : 0; j < n_b; j++)
                        if (a[i].host_port == b[j].host_port && streq(a[i].protocol, b[j].protocol))
                                return (ssize_t) i;
        return -1;
}
