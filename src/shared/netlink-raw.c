/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlink-raw.h"

#define NLR_BUFFER_SIZE 512

typedef struct Request {
        struct nlmsghdr *nlh;
        char buf[NLR_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
} Request;

static uint32_t nlr_seq;

static void *request_init(Request *q, uint16_t type, uint16_t flags, size_t header_size) {
        memset(q->buf, 0, sizeof q->buf);
        q->nlh = (struct nlmsghdr *) q->buf;
        q->nlh->nlmsg_len = NLMSG_LENGTH(header_size);
        q->nlh->nlmsg_type = type;
        q->nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        q->nlh->nlmsg_seq = ++nlr_seq;
        return NLMSG_DATA(q->nlh);
}

static void request_attr(Request *q, uint16_t type, const void *data, size_t size) {
        size_t at = NLMSG_ALIGN(q->nlh->nlmsg_len);
        struct rtattr *rta = (struct rtattr *) (q->buf + at);

        /* our requests are a few small attributes: they always fit */
        rta->rta_type = type;
        rta->rta_len = RTA_LENGTH(size);
        memcpy(RTA_DATA(rta), data, size);
        q->nlh->nlmsg_len = at + RTA_ALIGN(rta->rta_len);
}

static int request_call(int fd, Request *q) {
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
        char reply[NLR_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));

        if (sendto(fd, q->buf, q->nlh->nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
                return -errno;
        for (;;) {
                ssize_t n = recv(fd, reply, sizeof reply, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) reply; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        if (h->nlmsg_seq != q->nlh->nlmsg_seq)
                                continue;
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = NLMSG_DATA(h);
                                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
                                        return -EBADMSG;
                                return e->error; /* 0: the ack */
                        }
                }
        }
}

int nlr_open(void) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        return fd < 0 ? -errno : fd;
}

int nlr_link_up(int fd, int ifindex) {
        Request q;
        struct ifinfomsg *ifi = request_init(&q, RTM_NEWLINK, 0, sizeof *ifi);

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        return request_call(fd, &q);
}

int nlr_addr_add(int fd, int ifindex, int family, const void *address, unsigned prefixlen) {
        Request q;
        struct ifaddrmsg *ifa = request_init(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof *ifa);
        size_t len = family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);

        ifa->ifa_family = family;
        ifa->ifa_prefixlen = prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = ifindex;
        request_attr(&q, IFA_LOCAL, address, len);
        request_attr(&q, IFA_ADDRESS, address, len);
        if (family == AF_INET6) {
                /* our own addresses on our own link: duplicate detection would only hold the address
                 * back (tentative) for a second or two after the container starts */
                uint32_t flags = IFA_F_NODAD;
                ifa->ifa_flags = IFA_F_NODAD;
                request_attr(&q, IFA_FLAGS, &flags, sizeof flags);
        } else if (prefixlen < 31) {
                struct in_addr b;
                memcpy(&b, address, sizeof b);
                b.s_addr |= htonl((UINT32_C(1) << (32 - prefixlen)) - 1);
                request_attr(&q, IFA_BROADCAST, &b, sizeof b);
        }
        return request_call(fd, &q);
}

int nlr_route_add_default(int fd, int family, int ifindex, const void *gateway) {
        Request q;
        struct rtmsg *rtm = request_init(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof *rtm);
        uint32_t oif = (uint32_t) ifindex;

        rtm->rtm_family = family;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        request_attr(&q, RTA_GATEWAY, gateway, family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr));
        request_attr(&q, RTA_OIF, &oif, sizeof oif);
        return request_call(fd, &q);
}
