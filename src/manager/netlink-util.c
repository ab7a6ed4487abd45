/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "netlink-raw.h"
#include "netlink-util.h"

/* Answers are small (acks, one link); dumps come in parts of at most a page */
#define NL_BUFFER_SIZE 8192

static uint32_t nl_seq;

int nl_open(struct mnl_socket **ret) {
        struct mnl_socket *nl;

        nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                mnl_socket_close(nl);
                return r;
        }
        if (nl_seq == 0)
                nl_seq = (uint32_t) time(NULL);
        *ret = nl;
        return 0;
}

struct mnl_socket *nl_close(struct mnl_socket *nl) {
        if (nl)
                mnl_socket_close(nl);
        return NULL;
}

static struct nlmsghdr *nl_message(char *buf, uint16_t type, uint16_t flags) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++nl_seq;
        return nlh;
}

/* Sends one request and reads until its ack, its error, or the end of its dump. */
static int nl_call(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *userdata) {
        char buf[NL_BUFFER_SIZE];
        uint32_t portid = mnl_socket_get_portid(nl), seq = nlh->nlmsg_seq;

        /* NLM_F_DUMP is two bits, one of which is NLM_F_EXCL of a NEW request; a dump ends with
         * NLMSG_DONE, anything else with the ack we ask for */
        if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP || nlh->nlmsg_type % 4 != 2)
                nlh->nlmsg_flags |= NLM_F_ACK;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
                int r;

                if (n < 0)
                        return -errno;
                errno = 0;
                r = mnl_cb_run(buf, n, seq, portid, cb, userdata);
                if (r < 0)
                        return errno > 0 ? -errno : -EIO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static int link_index_cb(const struct nlmsghdr *nlh, void *userdata) {
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_type == RTM_NEWLINK)
                *(int *) userdata = ifi->ifi_index;
        return MNL_CB_OK;
}

int nl_link_index(struct mnl_socket *nl, const char *name) {
        char buf[NL_BUFFER_SIZE];
        struct nlmsghdr *nlh = nl_message(buf, RTM_GETLINK, 0);
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
        int index = 0, r;

        ifi->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = nl_call(nl, nlh, link_index_cb, &index);
        if (r < 0)
                return r;
        return index > 0 ? index : -ENODEV;
}

static struct ifinfomsg *put_link_header(struct nlmsghdr *nlh, int ifindex, bool up) {
        struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);

        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        if (up) {
                ifi->ifi_flags = IFF_UP;
                ifi->ifi_change = IFF_UP;
        }
        return ifi;
}

int nl_bridge_add(struct mnl_socket *nl, const char *name) {
        char buf[NL_BUFFER_SIZE];
        struct nlmsghdr *nlh = nl_message(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct nlattr *info;

        put_link_header(nlh, 0, true);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, info);
        return nl_call(nl, nlh, NULL, NULL);
}

int nl_veth_add(struct mnl_socket *nl, const char *name, int master, const char *peer, pid_t peer_pid, int peer_netns_fd) {
        char buf[NL_BUFFER_SIZE];
        struct nlmsghdr *nlh = nl_message(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct nlattr *info, *data, *peer_nest;

        /* one request: the kernel creates both ends, moves the peer, attaches ours to the bridge and
         * brings ours up (rtnl_newlink() applies IFLA_MASTER and the flags). Not the peer: veth opens
         * it before the pair is linked, which fails with ENOTCONN; the container brings it up. */
        put_link_header(nlh, 0, true);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        put_link_header(nlh, 0, false);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        if (peer_netns_fd >= 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
        else
                mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t) peer_pid);
        mnl_attr_nest_end(nlh, peer_nest);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        return nl_call(nl, nlh, NULL, NULL);
}

int nl_link_up(struct mnl_socket *nl, int ifindex) {
        return nlr_link_up(mnl_socket_get_fd(nl), ifindex);
}

int nl_link_delete(struct mnl_socket *nl, int ifindex) {
        char buf[NL_BUFFER_SIZE];
        struct nlmsghdr *nlh = nl_message(buf, RTM_DELLINK, 0);

        put_link_header(nlh, ifindex, false);
        return nl_call(nl, nlh, NULL, NULL);
}

int nl_addr_add(struct mnl_socket *nl, int ifindex, int family, const void *address, unsigned prefixlen) {
        return nlr_addr_add(mnl_socket_get_fd(nl), ifindex, family, address, prefixlen);
}

typedef struct LinkWalk {
        int (*cb)(const char *name, int ifindex, void *userdata);
        void *userdata;
        int error;
} LinkWalk;

static int link_walk_attr_cb(const struct nlattr *attr, void *userdata) {
        const char **name = userdata;

        if (mnl_attr_get_type(attr) == IFLA_IFNAME && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
                *name = mnl_attr_get_str(attr);
        return MNL_CB_OK;
}

static int link_walk_cb(const struct nlmsghdr *nlh, void *userdata) {
        LinkWalk *w = userdata;
        const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
        const char *name = NULL;
        int r;

        if (nlh->nlmsg_type != RTM_NEWLINK || w->error < 0)
                return MNL_CB_OK;
        (void) mnl_attr_parse(nlh, sizeof *ifi, link_walk_attr_cb, &name);
        if (!name)
                return MNL_CB_OK;
        r = w->cb(name, ifi->ifi_index, w->userdata);
        if (r < 0)
                w->error = r;
        return MNL_CB_OK;
}

int nl_link_foreach(struct mnl_socket *nl, int (*cb)(const char *name, int ifindex, void *userdata), void *userdata) {
        char buf[NL_BUFFER_SIZE];
        struct nlmsghdr *nlh = nl_message(buf, RTM_GETLINK, NLM_F_DUMP);
        struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof *g);
        LinkWalk w = { .cb = cb, .userdata = userdata };
        int r;

        g->rtgen_family = AF_UNSPEC;
        r = nl_call(nl, nlh, link_walk_cb, &w);
        return r < 0 ? r : w.error;
}
