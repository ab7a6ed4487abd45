/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* io.vessel1.Image objects at /io/vessel1/image/<label> and the image/transfer methods of
 * io.vessel1.Manager. manager-dbus.c puts IMAGE_MANAGER_VTABLE_ENTRIES in its vtable and calls
 * image_add_bus_objects(). */

extern const sd_bus_vtable image_vtable[];
int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error);
int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

int method_import_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_export_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_export_container(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_prune_images(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_disk_usage(sd_bus_message *message, void *userdata, sd_bus_error *error);

/* registers the Image and Transfer objects on one connection */
int image_add_bus_objects(void *manager, sd_bus *bus);

/* The Manager's image and transfer methods and signals, for manager_vtable[]. */
#define IMAGE_MANAGER_VTABLE_ENTRIES                                                                               \
        SD_BUS_METHOD_WITH_ARGS("ImportImage",                                                                     \
                                SD_BUS_ARGS("h", fd, "s", name, "s", ref, "s", format, "b", force),                \
                                SD_BUS_RESULT("u", id, "o", transfer), method_import_image,                        \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("ExportImage", SD_BUS_ARGS("s", name, "h", fd, "s", format),                       \
                                SD_BUS_RESULT("u", id, "o", transfer), method_export_image,                        \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("ExportContainer", SD_BUS_ARGS("s", name, "h", fd, "s", format),                   \
                                SD_BUS_RESULT("u", id, "o", transfer), method_export_container,                    \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssttso)", images),                  \
                                method_list_images, SD_BUS_VTABLE_UNPRIVILEGED),                                   \
        SD_BUS_METHOD_WITH_ARGS("GetImage", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", path), method_get_image,    \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("RemoveImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_remove_image,      \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("PruneImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", layers, "t", bytes),             \
                                method_prune_images, SD_BUS_VTABLE_UNPRIVILEGED),                                  \
        SD_BUS_METHOD_WITH_ARGS("DiskUsage", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sutt)", usage), method_disk_usage,   \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_METHOD_WITH_ARGS("ListTransfers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(usdo)", transfers),              \
                                method_list_transfers, SD_BUS_VTABLE_UNPRIVILEGED),                                \
        SD_BUS_METHOD_WITH_ARGS("CancelTransfer", SD_BUS_ARGS("u", id), SD_BUS_NO_RESULT, method_cancel_transfer,  \
                                SD_BUS_VTABLE_UNPRIVILEGED),                                                       \
        SD_BUS_SIGNAL_WITH_ARGS("ImageNew", SD_BUS_ARGS("s", name, "o", path), 0),                                 \
        SD_BUS_SIGNAL_WITH_ARGS("ImageRemoved", SD_BUS_ARGS("s", name, "o", path), 0),                             \
        SD_BUS_SIGNAL_WITH_ARGS("TransferNew", SD_BUS_ARGS("u", id, "o", path), 0),                                \
        SD_BUS_SIGNAL_WITH_ARGS("TransferRemoved", SD_BUS_ARGS("u", id, "o", path, "s", result), 0),               \
        SD_BUS_SIGNAL_WITH_ARGS("TransferError", SD_BUS_ARGS("u", id, "o", path, "s", message), 0)
