/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include <sys/types.h>

#include "hashmap.h"
#include "macro.h"

#define VESSEL_BUS_NAME "io.vessel1"
#define VESSEL_OBJECT_PATH "/io/vessel1"
#define VESSEL_MANAGER_INTERFACE "io.vessel1.Manager"
#define VESSEL_CONTAINER_INTERFACE "io.vessel1.Container"
#define VESSEL_IMAGE_INTERFACE "io.vessel1.Image"
#define VESSEL_TRANSFER_INTERFACE "io.vessel1.Transfer"
#define VESSEL_CONTAINER_PATH_PREFIX "/io/vessel1/container"
#define VESSEL_IMAGE_PATH_PREFIX "/io/vessel1/image"
#define VESSEL_TRANSFER_PATH_PREFIX "/io/vessel1/transfer"
#define VESSEL_PRIVATE_SOCKET "/run/vessel/io.vessel1"

#define BUS_ERROR_NO_SUCH_CONTAINER "io.vessel1.Error.NoSuchContainer"
#define BUS_ERROR_CONTAINER_EXISTS "io.vessel1.Error.ContainerExists"
#define BUS_ERROR_NO_SUCH_IMAGE "io.vessel1.Error.NoSuchImage"
#define BUS_ERROR_IMAGE_IN_USE "io.vessel1.Error.ImageInUse"
#define BUS_ERROR_INVALID_NAME "io.vessel1.Error.InvalidName"
#define BUS_ERROR_INVALID_SETTING "io.vessel1.Error.InvalidSetting"
#define BUS_ERROR_INVALID_STATE "io.vessel1.Error.InvalidState"
#define BUS_ERROR_IMPORT_FAILED "io.vessel1.Error.ImportFailed"
#define BUS_ERROR_NO_SUCH_TRANSFER "io.vessel1.Error.NoSuchTransfer"
#define BUS_ERROR_PORT_IN_USE "io.vessel1.Error.PortInUse"
#define BUS_ERROR_LIMITS_EXCEEDED "io.vessel1.Error.LimitsExceeded"
#define BUS_ERROR_SPAWN_FAILED "io.vessel1.Error.SpawnFailed"

/* sd-bus.h defines sd_bus_unrefp() and friends for _cleanup_(). */
static inline void sd_bus_error_freep(sd_bus_error *e) {
        sd_bus_error_free(e);
}
#define _cleanup_bus_error_free_ _cleanup_(sd_bus_error_freep)

/* Maps our error names to errnos, so that sd_bus_error_get_errno() and "%m" say something useful. */
int bus_error_register_vessel(void);

/* > 0 when the caller is root (euid 0), else sets AccessDenied on error and returns 0. Reads the
 * credentials from the bus (the sender's, over dbus-daemon) or from the peer (on a direct
 * connection): the policy file is only the first line of defence. */
int bus_verify_caller_privileged(sd_bus_message *m, sd_bus_error *error);

/* uid of the sender, for per-caller limits */
int bus_query_sender_uid(sd_bus_message *m, uid_t *ret);

/* "/io/vessel1/container/<label>" for a name and back. */
int bus_container_path(const char *name, char **ret);
int bus_path_label(const char *path, const char *prefix, char **ret_name);

/* A connection to vesseld: $VESSEL_ADDRESS; else, for root, its private socket; else the system bus,
 * or the private socket where there is no system bus. */
int bus_open_vessel(sd_bus **ret);

/* For sd_bus_add_node_enumerator() callbacks: the object path of every value of h, from get_path().
 * Returns 1 (what an enumerator returns on success) or -errno. */
int bus_node_enumerate(Hashmap *h, int (*get_path)(void *object, char **ret), char ***ret_nodes);

/* A method's reply "a<item>": one item per value of h, appended by append(). */
int bus_reply_list(sd_bus_message *message, Hashmap *h, const char *item,
                   int (*append)(sd_bus_message *reply, void *object));
