/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "bus-util.h"
#include "container.h"
#include "export.h"
#include "fd-util.h"
#include "image-dbus.h"
#include "image.h"
#include "log.h"
#include "name-util.h"
#include "operation.h"
#include "string-util.h"

/* ---- io.vessel1.Image -------------------------------------------------------------------------- */

static int append_strv(sd_bus_message *reply, char **l) {
        return sd_bus_message_append_strv(reply, l ?: STRV_MAKE(NULL));
}

static int property_get_config_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = ASSERT_PTR(userdata);

        if (streq(property, "Entrypoint"))
                return append_strv(reply, i->config.entrypoint);
        if (streq(property, "Command"))
                return append_strv(reply, i->config.cmd);
        if (streq(property, "Environment"))
                return append_strv(reply, i->config.env);
        if (streq(property, "ExposedPorts"))
                return append_strv(reply, i->config.exposed_ports);
        return -EINVAL;
}

static int property_get_config_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                      sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = ASSERT_PTR(userdata);
        const char *s = NULL;

        if (streq(property, "WorkingDirectory"))
                s = i->config.working_dir;
        else if (streq(property, "User"))
                s = i->config.user;
        else if (streq(property, "StopSignal"))
                s = i->config.stop_signal;
        else if (streq(property, "OS"))
                s = i->config.os;
        else if (streq(property, "Architecture"))
                s = i->config.architecture;
        return sd_bus_message_append(reply, "s", strempty(s));
}

static int property_get_layers(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        STRV_FOREACH(l, i->layers) {
                _cleanup_free_ char *d = strjoin("sha256:", *l);
                if (!d)
                        return -ENOMEM;
                r = sd_bus_message_append(reply, "s", d);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_labels(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Image *i = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(ss)");
        if (r < 0)
                return r;
        STRV_FOREACH(l, i->config.labels) {
                _cleanup_free_ char *k = strdup(*l);
                char *eq;
                if (!k)
                        return -ENOMEM;
                eq = strchr(k, '=');
                if (!eq)
                        continue;
                *eq = 0;
                r = sd_bus_message_append(reply, "(ss)", k, eq + 1);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int image_method_remove(sd_bus_message *message, Image *i, sd_bus_error *error) {
        Container *c;
        int r;

        c = image_find_user(i);
        if (c)
                return sd_bus_error_setf(error, BUS_ERROR_IMAGE_IN_USE, "Image '%s' is used by container '%s'.", i->name,
                                         c->name);
        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;
        r = image_remove(i);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_image_remove(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return image_method_remove(message, ASSERT_PTR(userdata), error);
}

const sd_bus_vtable image_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(Image, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Digest", "s", NULL, offsetof(Image, digest), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Id", "s", NULL, offsetof(Image, config_digest), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Format", "s", NULL, offsetof(Image, format), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Size", "t", NULL, offsetof(Image, size), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedTimestamp", "t", NULL, offsetof(Image, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ImportedTimestamp", "t", NULL, offsetof(Image, imported_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Layers", "as", property_get_layers, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OS", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Architecture", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Entrypoint", "as", property_get_config_strv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Command", "as", property_get_config_strv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Environment", "as", property_get_config_strv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("WorkingDirectory", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("User", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("StopSignal", "s", property_get_config_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Labels", "a(ss)", property_get_labels, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ExposedPorts", "as", property_get_config_strv, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Remove", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_image_remove,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int image_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        Manager *m = ASSERT_PTR(userdata);
        Image *i = NULL;

        if (sd_bus_path_decode(path, VESSEL_IMAGE_PATH_PREFIX, &name) <= 0 || isempty(name))
                return 0;
        i = hashmap_get(m->images, name);
        if (!i)
                return 0;
        *found = i;
        return 1;
}

static int image_path_of(void *i, char **ret) {
        return image_get_path(i, ret);
}

int image_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_node_enumerate(m->images, image_path_of, nodes);
}

/* ---- Manager methods --------------------------------------------------------------------------- */

static int find_image(Manager *m, sd_bus_message *message, Image **ret, sd_bus_error *error) {
        const char *name;
        Image *i = NULL;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        i = manager_find_image(m, name);
        if (!i) {
                if (isempty(name))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME, "No image name given.");
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image named '%s'.", name);
        }
        *ret = i;
        return 0;
}

static int append_image(sd_bus_message *reply, void *object) {
        _cleanup_free_ char *p = NULL;
        Image *i = object;
        int r;

        r = image_get_path(i, &p);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "(ssttso)", i->name, strempty(i->digest), i->size, i->created_usec,
                                     strempty(i->format), p);
}

int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_reply_list(message, m->images, "(ssttso)", append_image);
}

int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *p = NULL;
        Image *i = NULL;
        int r;

        r = find_image(userdata, message, &i, error);
        if (r < 0)
                return r;
        r = image_get_path(i, &p);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", p);
}

int method_remove_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Image *i = NULL;
        int r;

        r = find_image(userdata, message, &i, error);
        if (r < 0)
                return r;
        return image_method_remove(message, i, error);
}

int method_prune_images(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        uint64_t freed = 0;
        unsigned n = 0;
        int r;

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;
        r = manager_prune_layers(m, &freed, &n);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Transfers are running; prune when they are done.");
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "ut", n, freed);
}

int method_disk_usage(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_close_ int state_fd = -EBADF, layers_fd = -EBADF;
        Manager *m = ASSERT_PTR(userdata);
        uint64_t images_size = 0, layers_size = 0, unused = 0, containers_size = 0, blobs_size = 0, blobs_unused = 0;
        unsigned n_layers = 0, n_blobs = 0;
        Image *i = NULL;
        Container *c;
        int r;

        state_fd = open(m->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (state_fd < 0)
                return -errno;
        layers_fd = openat(state_fd, "layers", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        HASHMAP_FOREACH(i, m->images)
                images_size += i->size;
        if (layers_fd >= 0) {
                DIR *d = fdopendir(fcntl(layers_fd, F_DUPFD_CLOEXEC, 3));
                struct dirent *de;

                while (d && (de = readdir(d))) {
                        uint64_t s;
                        bool used = false;

                        if (strlen(de->d_name) != SHA256_HEX_LEN)
                                continue;
                        s = image_store_du(layers_fd, de->d_name);
                        layers_size += s;
                        n_layers++;
                        HASHMAP_FOREACH(i, m->images)
                                if (strv_contains(i->layers, de->d_name))
                                        used = true;
                        HASHMAP_FOREACH(c, m->containers)
                                if (c->lower_dir && strstr(c->lower_dir, de->d_name))
                                        used = true;
                        if (!used)
                                unused += s;
                }
                if (d)
                        closedir(d);
        }
        HASHMAP_FOREACH(c, m->containers) {
                _cleanup_free_ char *dir = NULL;
                if (container_state_dir(c, &dir) >= 0)
                        containers_size += image_store_du(AT_FDCWD, dir);
        }
        (void) manager_blobs_usage(m, &n_blobs, &blobs_size, &blobs_unused);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "a(sutt)", 4,
                                  "images", (uint32_t) hashmap_size(m->images), images_size, (uint64_t) 0,
                                  "layers", n_layers, layers_size, unused,
                                  "blobs", n_blobs, blobs_size, blobs_unused,
                                  "containers", (uint32_t) hashmap_size(m->containers), containers_size, (uint64_t) 0);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int on_import_finished(Transfer *t, int r, const char *result, void *userdata) {
        Image *i = NULL;
        int k;

        if (r < 0 || !result)
                return r;
        k = manager_add_image_from_store(t->manager, result, &i);
        if (k < 0) {
                if (!t->error)
                        (void) asprintf_safe(&t->error, "Failed to load the new image %s: %s", result, strerror(-k));
                return k;
        }
        log_info("Imported image %s (%s).", i->name, strempty(i->digest));
        return 0;
}

static bool ref_is_valid(const char *s) {
        return strlen(s) <= 255 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/@-") == strlen(s);
}

static int transfer_setup(Manager *m, TransferType type, const char *description, Transfer **ret, sd_bus_error *error) {
        _cleanup_(transfer_freep) Transfer *t = NULL;
        int r;

        r = transfer_new(m, type, description, &t);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "Too many transfers running (%u).", TRANSFERS_MAX);
        if (r < 0)
                return r;
        if (asprintf_safe(&t->work_dir, "%s/tmp/%s-%" PRIu32, m->state_dir, transfer_type_to_string(type), t->id) < 0)
                return -ENOMEM;
        (void) rm_rf(t->work_dir);
        r = mkdir_parents_and_self(t->work_dir, 0700);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to create %s: %m", t->work_dir);
        *ret = TAKE_PTR(t);
        return 0;
}

static int reply_transfer(sd_bus_message *message, Transfer *t) {
        _cleanup_free_ char *p = NULL;
        int r;

        r = transfer_get_path(t, &p);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "uo", t->id, p);
}

static int dup_caller_fd(int fd, int *ret, sd_bus_error *error) {
        int flags, nfd;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if (flags & O_PATH)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The file descriptor is an O_PATH one; open the file for reading.");
        nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (nfd < 0)
                return -errno;
        *ret = nfd;
        return 0;
}

int method_import_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(transfer_freep) Transfer *t = NULL;
        Manager *m = ASSERT_PTR(userdata);
        _cleanup_free_ char *normalized = NULL;
        const char *name, *ref, *format;
        ImportRequest *req;
        int fd, force, flags, r;

        r = sd_bus_message_read(message, "hsssb", &fd, &name, &ref, &format, &force);
        if (r < 0)
                return r;
        if (!STR_IN_SET(format, "auto", "tar", "oci", "oci-archive", "docker-archive"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid format '%s' (expected auto, tar, oci, oci-archive or docker-archive).", format);
        if (!isempty(name)) {
                r = image_name_normalize(name, &normalized);
                if (r == -ENAMETOOLONG)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME, "Invalid image name '%s': " IMAGE_NAME_TOO_LONG ".",
                                                 name);
                if (r < 0)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME, "Invalid image name '%s' (expected NAME[:TAG]).",
                                                 name);
        }
        if (!ref_is_valid(ref))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid ref '%s'.", ref);
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The file descriptor is not open for reading.");

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;

        r = transfer_setup(m, TRANSFER_IMPORT, normalized ?: "(archive)", &t, error);
        if (r < 0)
                return r;
        req = calloc(1, sizeof(ImportRequest));
        if (!req)
                return -ENOMEM;
        req->fd = -EBADF;
        t->userdata = req;
        t->free_userdata = import_request_free;
        t->on_finished = on_import_finished;
        req->name = strdup(strempty(normalized));
        req->ref = strdup(ref);
        req->format = strdup(format);
        req->state_dir = strdup(m->state_dir);
        req->work_dir = strdup(t->work_dir);
        req->force = force;
        req->max_layer_size = m->config.max_layer_size;
        if (!req->name || !req->ref || !req->format || !req->state_dir || !req->work_dir)
                return -ENOMEM;
        r = dup_caller_fd(fd, &req->fd, error);
        if (r < 0)
                return r;

        r = transfer_start(t, image_import_work, req);
        if (r < 0) {
                (void) rm_rf(t->work_dir);
                return sd_bus_error_set_errnof(error, r, "Failed to start the import: %m");
        }
        /* the worker has its copy */
        req->fd = safe_close(req->fd);
        return reply_transfer(message, TAKE_PTR(t));
}

/* The caller's output: anything open for writing but a directory. */
static int check_output_fd(int fd, sd_bus_error *error) {
        struct stat st;
        int flags;

        flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return -errno;
        if ((flags & O_PATH) || (flags & O_ACCMODE) == O_RDONLY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "The file descriptor is not open for writing.");
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "The file descriptor is a directory; pass a file or a pipe open for writing.");
        return 0;
}

static int export_start(Manager *m, sd_bus_message *message, TransferType type, ExportRequest *req_in, int fd,
                        sd_bus_error *error) {
        _cleanup_(export_request_freep) ExportRequest *req = req_in;
        _cleanup_(transfer_freep) Transfer *t = NULL;
        ExportRequest *q;
        int r;

        r = dup_caller_fd(fd, &req->fd, error);
        if (r < 0)
                return r;
        r = transfer_setup(m, type, req->name, &t, error);
        if (r < 0)
                return r;
        req->work_dir = strdup(t->work_dir);
        if (!req->work_dir) {
                (void) rm_rf(t->work_dir);
                return -ENOMEM;
        }
        t->userdata = q = TAKE_PTR(req);
        t->free_userdata = export_request_free_void;

        r = transfer_start(t, export_work, q);
        if (r < 0) {
                (void) rm_rf(t->work_dir);
                return sd_bus_error_set_errnof(error, r, "Failed to start the export: %m");
        }
        /* the worker has its copy: the reader sees the end of the output when the worker is gone */
        q->fd = safe_close(q->fd);
        return reply_transfer(message, TAKE_PTR(t));
}

int method_export_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(export_request_freep) ExportRequest *req = NULL;
        Manager *m = ASSERT_PTR(userdata);
        const char *name, *format;
        ExportFormat f;
        Image *i = NULL;
        int fd, r;

        r = sd_bus_message_read(message, "shs", &name, &fd, &format);
        if (r < 0)
                return r;
        f = isempty(format) ? EXPORT_OCI_ARCHIVE : export_format_from_string(format);
        if (f < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid format '%s' (expected oci-archive, docker-archive or tar).", format);
        i = manager_find_image(m, name);
        if (!i) {
                if (isempty(name))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_NAME, "No image name given.");
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image named '%s'.", name);
        }
        r = check_output_fd(fd, error);
        if (r < 0)
                return r;
        r = export_request_for_image(i, f, &req, error);
        if (r < 0)
                return r;

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;

        return export_start(m, message, TRANSFER_EXPORT_IMAGE, TAKE_PTR(req), fd, error);
}

int method_export_container(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(export_request_freep) ExportRequest *req = NULL;
        Manager *m = ASSERT_PTR(userdata);
        const char *name, *format;
        ExportFormat f;
        Container *c;
        int fd, r;

        r = sd_bus_message_read(message, "shs", &name, &fd, &format);
        if (r < 0)
                return r;
        f = isempty(format) ? EXPORT_TAR : export_format_from_string(format);
        if (f != EXPORT_TAR)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid format '%s' for a container (expected tar).",
                                         format);
        c = manager_find_container(m, name);
        if (!c)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_CONTAINER, "No container named '%s'.", name);
        r = check_output_fd(fd, error);
        if (r < 0)
                return r;
        r = export_request_for_container(c, &req, error);
        if (r < 0)
                return r;

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;

        return export_start(m, message, TRANSFER_EXPORT_CONTAINER, TAKE_PTR(req), fd, error);
}

int image_add_bus_objects(void *userdata, sd_bus *bus) {
        Manager *m = ASSERT_PTR(userdata);
        int r;

        r = sd_bus_add_fallback_vtable(bus, NULL, VESSEL_IMAGE_PATH_PREFIX, VESSEL_IMAGE_INTERFACE, image_vtable,
                                       image_object_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(bus, NULL, VESSEL_IMAGE_PATH_PREFIX, image_node_enumerator, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(bus, NULL, VESSEL_TRANSFER_PATH_PREFIX, VESSEL_TRANSFER_INTERFACE,
                                       transfer_vtable, transfer_object_find, m);
        if (r < 0)
                return r;
        return sd_bus_add_node_enumerator(bus, NULL, VESSEL_TRANSFER_PATH_PREFIX, transfer_node_enumerator, m);
}
