/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>

#include "bus-util.h"
#include "string-util.h"

static const sd_bus_error_map vessel_errors[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_CONTAINER, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_CONTAINER_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_IMAGE, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_IMAGE_IN_USE, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_NAME, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_SETTING, EINVAL),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_STATE, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_IMPORT_FAILED, EIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_TRANSFER, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_PORT_IN_USE, EADDRINUSE),
        SD_BUS_ERROR_MAP(BUS_ERROR_LIMITS_EXCEEDED, ENOBUFS),
        SD_BUS_ERROR_MAP(BUS_ERROR_SPAWN_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_register_vessel(void) {
        return sd_bus_error_add_map(vessel_errors);
}

int bus_query_sender_uid(sd_bus_message *m, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        *ret = uid;
        return 0;
}

int bus_verify_caller_privileged(sd_bus_message *m, sd_bus_error *error) {
        uid_t uid;
        int r;

        r = bus_query_sender_uid(m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Access denied: cannot tell who called %s(): %m",
                                               sd_bus_message_get_member(m));
        if (uid != 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Access denied: %s() is reserved for root (caller uid %u).",
                                         sd_bus_message_get_member(m), (unsigned) uid);
        return 1;
}

int bus_container_path(const char *name, char **ret) {
        return sd_bus_path_encode(VESSEL_CONTAINER_PATH_PREFIX, name, ret);
}

int bus_path_label(const char *path, const char *prefix, char **ret_name) {
        return sd_bus_path_decode(path, prefix, ret_name);
}

static int bus_open_address(const char *addr, bool bus_client, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, addr);
        if (r < 0)
                return r;
        /* An address from the environment may be a bus (it needs Hello) or our private endpoint
         * (which answers Hello too); on our own socket we know there is no bus, and skip the round
         * trip of a Hello and of every AddMatch (signals come to every connection there anyway). */
        r = sd_bus_set_bus_client(bus, bus_client);
        if (r < 0)
                return r;
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_open_vessel(sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *addr;
        int r;

        /* $VESSEL_ADDRESS overrides everything: tests and the demo point it at a box's socket. */
        addr = getenv("VESSEL_ADDRESS");
        if (addr)
                r = bus_open_address(addr, /* bus_client= */ true, &bus);
        /* Root talks to vesseld directly, as systemctl does with systemd: no dbus-daemon in between
         * (two hops less per message) and vesseld knows who called from the socket itself. Anyone
         * else, or root where the socket is not there, goes through the system bus and its policy;
         * without a system bus (a rescue shell, a host without dbus) vesseld.socket may still
         * listen. */
        else if (geteuid() == 0 && bus_open_address("unix:path=" VESSEL_PRIVATE_SOCKET, /* bus_client= */ false, &bus) >= 0)
                r = 0;
        else {
                r = sd_bus_open_system(&bus);
                if (r < 0 && geteuid() != 0 &&
                    bus_open_address("unix:path=" VESSEL_PRIVATE_SOCKET, /* bus_client= */ false, &bus) >= 0)
                        r = 0;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int bus_node_enumerate(Hashmap *h, int (*get_path)(void *object, char **ret), char ***ret_nodes) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = 0;
        void *v;

        l = calloc(hashmap_size(h) + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        HASHMAP_FOREACH(v, h) {
                int r = get_path(v, &l[n]);
                if (r < 0)
                        return r;
                n++;
        }
        *ret_nodes = TAKE_PTR(l);
        return 1;
}

int bus_reply_list(sd_bus_message *message, Hashmap *h, const char *item,
                   int (*append)(sd_bus_message *reply, void *object)) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        void *v;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', item);
        if (r < 0)
                return r;
        HASHMAP_FOREACH(v, h) {
                r = append(reply, v);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
