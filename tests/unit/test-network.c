/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

#include "macro.h"
#include "network-util.h"

static struct in_addr ip(const char *s) {
        struct in_addr a;
        cr_assert(eq(int, inet_pton(AF_INET, s, &a), 1));
        return a;
}

static const char *str(struct in_addr a) {
        static char buf[INET_ADDRSTRLEN];
        return inet_ntop(AF_INET, &a, buf, sizeof buf);
}

Test(subnet_parse, takes_the_default_when_unset) {
        Subnet s;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        cr_assert(eq(str, (char *) str(s.network), "10.88.0.0"));
        cr_assert(eq(u32, s.prefixlen, 16));
        cr_assert(eq(int, subnet_parse("", &s), 0));
        cr_assert(eq(str, (char *) str(subnet_gateway(&s)), "10.88.0.1"));
}

Test(subnet_parse, accepts_a_private_subnet) {
        Subnet s;

        cr_assert(eq(int, subnet_parse("172.30.4.0/24", &s), 0));
        cr_assert(eq(str, (char *) str(s.network), "172.30.4.0"));
        cr_assert(eq(u32, s.prefixlen, 24));
        cr_assert(subnet_contains(&s, ip("172.30.4.200")));
        cr_assert(not(subnet_contains(&s, ip("172.30.5.1"))));
}

Test(subnet_parse, rejects_host_bits_garbage_and_odd_sizes) {
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.88.0.1/16", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.88.0.0", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.88.0.0/", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.88.0.0/-8", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.88.0.0/16x", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.888.0.0/16", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("fd00::/64", &s), -EINVAL));
        cr_assert(eq(int, subnet_parse("10.0.0.0/7", &s), -ERANGE));
        cr_assert(eq(int, subnet_parse("10.0.0.0/31", &s), -ERANGE));
}

Test(address_pool, skips_network_gateway_and_broadcast) {
        AddressPool p;
        struct in_addr a;
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.1.0.0/29", &s), 0));
        cr_assert(eq(int, address_pool_init(&p, &s), 0));
        /* a /29 has 8 addresses: .0 network, .1 gateway, .7 broadcast; .2 … .6 are ours */
        for (int i = 2; i <= 6; i++) {
                char want[32];
                snprintf(want, sizeof want, "10.1.0.%i", i);
                cr_assert(eq(int, address_pool_allocate(&p, &a), 0));
                cr_assert(eq(str, (char *) str(a), want));
        }
        cr_assert(eq(int, address_pool_allocate(&p, &a), -ENOSPC));
        address_pool_done(&p);
}

Test(address_pool, never_hands_out_an_address_twice) {
        AddressPool p;
        struct in_addr a[300];
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.2.0.0/23", &s), 0));
        cr_assert(eq(int, address_pool_init(&p, &s), 0));
        for (int i = 0; i < 300; i++)
                cr_assert(eq(int, address_pool_allocate(&p, a + i), 0));
        for (int i = 0; i < 300; i++)
                for (int j = i + 1; j < 300; j++)
                        cr_assert(a[i].s_addr != a[j].s_addr);
        cr_assert(eq(u32, p.n_used, 300));
        address_pool_done(&p);
}

Test(address_pool, does_not_reuse_a_released_address_at_once) {
        AddressPool p;
        struct in_addr a, b;
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.3.0.0/24", &s), 0));
        cr_assert(eq(int, address_pool_init(&p, &s), 0));
        cr_assert(eq(int, address_pool_allocate(&p, &a), 0));
        cr_assert(eq(int, address_pool_release(&p, a), 0));
        cr_assert(eq(int, address_pool_allocate(&p, &b), 0));
        cr_assert(a.s_addr != b.s_addr);
        cr_assert(eq(int, address_pool_release(&p, a), -ENOENT));
        address_pool_done(&p);
}

Test(address_pool, reserves_what_records_hold_and_refuses_duplicates) {
        AddressPool p;
        struct in_addr a;
        Subnet s;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        cr_assert(eq(int, address_pool_init(&p, &s), 0));
        cr_assert(eq(int, address_pool_reserve(&p, ip("10.88.0.2")), 0));
        cr_assert(eq(int, address_pool_reserve(&p, ip("10.88.0.2")), -EEXIST));
        cr_assert(eq(int, address_pool_reserve(&p, ip("10.88.0.1")), -ERANGE));
        cr_assert(eq(int, address_pool_reserve(&p, ip("10.88.255.255")), -ERANGE));
        cr_assert(eq(int, address_pool_reserve(&p, ip("10.89.0.5")), -ERANGE));
        /* the next allocation steps over the reserved one */
        cr_assert(eq(int, address_pool_allocate(&p, &a), 0));
        cr_assert(eq(str, (char *) str(a), "10.88.0.3"));
        address_pool_done(&p);
}

Test(address_pool, wraps_around_to_released_addresses) {
        AddressPool p;
        struct in_addr a, first;
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.4.0.0/30", &s), 0));
        cr_assert(eq(int, address_pool_init(&p, &s), 0));
        /* a /30 has one host address of ours: .2 */
        cr_assert(eq(int, address_pool_allocate(&p, &first), 0));
        cr_assert(eq(int, address_pool_allocate(&p, &a), -ENOSPC));
        cr_assert(eq(int, address_pool_release(&p, first), 0));
        cr_assert(eq(int, address_pool_allocate(&p, &a), 0));
        cr_assert(eq(u32, a.s_addr, first.s_addr));
        address_pool_done(&p);
}

Test(subnet_address6, mirrors_the_ipv4_host_part) {
        Subnet s;
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6, gw6;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        a6 = subnet_address6(&s, ip("10.88.1.2"));
        cr_assert(eq(str, (char *) inet_ntop(AF_INET6, &a6, buf, sizeof buf), "fd56:6573:7365:6c00::102"));
        gw6 = subnet_gateway6();
        cr_assert(eq(str, (char *) inet_ntop(AF_INET6, &gw6, buf, sizeof buf), "fd56:6573:7365:6c00::1"));
}

Test(veth_name, fits_ifnamsiz_and_maps_back_to_the_id) {
        char name[IFNAMSIZ];

        cr_assert(eq(int, veth_name_from_id("0123456789abcdef0123456789abcdef", name), 0));
        cr_assert(eq(str, name, "vsl0123456789ab"));
        cr_assert(lt(sz, strlen(name), (size_t) IFNAMSIZ));
        cr_assert(eq(str, (char *) veth_name_to_id_prefix(name), "0123456789ab"));
        cr_assert(eq(ptr, (void *) veth_name_to_id_prefix("vessel0"), NULL));
        cr_assert(eq(ptr, (void *) veth_name_to_id_prefix("vsl0123"), NULL));
        cr_assert(eq(ptr, (void *) veth_name_to_id_prefix("vslXYZ456789abc"), NULL));
        cr_assert(eq(int, veth_name_from_id("abc", name), -EINVAL));
}

Test(hosts_render, lists_itself_then_the_others) {
        _cleanup_free_ char *text = NULL;
        HostsEntry self = { ip("10.88.0.2"), "web", NULL };
        HostsEntry others[] = {
                { ip("10.88.0.3"), "db", "database" },
                { ip("10.88.0.4"), "cache", "cache" },
        };
        Subnet s;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        cr_assert(eq(int, hosts_render(&self, others, ELEMENTSOF(others), false, &s, &text), 0));
        cr_assert(eq(str, text,
                     "127.0.0.1\tlocalhost\n"
                     "::1\tlocalhost ip6-localhost ip6-loopback\n"
                     "10.88.0.2\tweb\n"
                     "10.88.0.3\tdb database\n"
                     "10.88.0.4\tcache\n"));
}

Test(hosts_render, adds_ipv6_lines_where_enabled) {
        _cleanup_free_ char *text = NULL;
        HostsEntry self = { ip("10.88.0.2"), "web", "w" };
        Subnet s;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        cr_assert(eq(int, hosts_render(&self, NULL, 0, true, &s, &text), 0));
        cr_assert(not(eq(ptr, strstr(text, "10.88.0.2\tweb w\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "fd56:6573:7365:6c00::2\tweb w\n"), NULL)));
}

Test(nft_ruleset_render, masquerades_the_subnet_and_replaces_the_table_atomically) {
        _cleanup_free_ char *text = NULL;
        Subnet s;

        cr_assert(eq(int, subnet_parse("10.99.0.0/24", &s), 0));
        cr_assert(eq(int, nft_ruleset_render(&s, false, NULL, 0, &text), 0));
        /* add + delete + define, one transaction: works whether or not the table exists */
        cr_assert(eq(int, strncmp(text, "add table inet vessel\ndelete table inet vessel\ntable inet vessel {\n",
                                  strlen("add table inet vessel\ndelete table inet vessel\ntable inet vessel {\n")),
                     0));
        cr_assert(not(eq(ptr, strstr(text, "ip saddr 10.99.0.0/24 ip daddr != 10.99.0.0/24 masquerade"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "oifname \"vessel0\" ip saddr 127.0.0.0/8 masquerade"), NULL)));
        cr_assert(eq(ptr, strstr(text, "dnat"), NULL));
        cr_assert(eq(ptr, strstr(text, "ip6"), NULL));
}

Test(nft_ruleset_render, forwards_published_ports) {
        _cleanup_free_ char *text = NULL;
        NftPort ports[] = {
                { "tcp", 8080, 80, ip("10.88.0.2"), true },
                { "udp", 5353, 53, ip("10.88.0.3"), true },
        };
        Subnet s;

        cr_assert(eq(int, subnet_parse(NULL, &s), 0));
        cr_assert(eq(int, nft_ruleset_render(&s, true, ports, ELEMENTSOF(ports), &text), 0));
        cr_assert(not(eq(ptr, strstr(text, "meta nfproto ipv4 tcp dport 8080 dnat ip to 10.88.0.2:80\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "meta nfproto ipv4 udp dport 5353 dnat ip to 10.88.0.3:53\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "meta nfproto ipv6 tcp dport 8080 dnat ip6 to [fd56:6573:7365:6c00::2]:80\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "type nat hook output"), NULL)));
        cr_assert(not(eq(ptr, strstr(text, "fib daddr type local jump published"), NULL)));
}

Test(nft_ruleset_delete, deletes_only_our_table) {
        cr_assert(eq(str, (char *) nft_ruleset_delete(), "add table inet vessel\ndelete table inet vessel\n"));
}

Test(port_mappings_clash, finds_the_same_protocol_and_host_port) {
        PortMapping a[] = { { (char *) "tcp", 8080, 80 }, { (char *) "udp", 53, 53 } };
        PortMapping b[] = { { (char *) "udp", 8080, 80 }, { (char *) "udp", 53, 5353 } };
        PortMapping c[] = { { (char *) "tcp", 9090, 80 } };

        cr_assert(eq(sz, (size_t) port_mappings_clash(a, 2, b, 2), 1));
        cr_assert(eq(int, (int) port_mappings_clash(a, 2, c, 1), -1));
        /* within one container */
        cr_assert(eq(int, (int) port_mappings_clash(a, 2, a, 2), -1));
        PortMapping d[] = { { (char *) "tcp", 1, 2 }, { (char *) "tcp", 1, 3 } };
        cr_assert(eq(int, (int) port_mappings_clash(d, 2, d, 2), 0));
}
