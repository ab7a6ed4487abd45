/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"
#include "verb-images.h"
#include "vesselctl.h"

static const char *arg_ref = "";
static const char *arg_format = NULL;
static bool arg_image_force = false;

const struct option image_import_options[] = {
        { "ref", required_argument, NULL, ARG_IMAGE_REF },
        { "format", required_argument, NULL, ARG_IMAGE_FORMAT },
        { "force", no_argument, NULL, 'f' },
        {},
};

const struct option image_export_options[] = {
        { "format", required_argument, NULL, ARG_IMAGE_FORMAT },
        {},
};

int parse_image_option(int c, const char *arg) {
        switch (c) {
        case ARG_IMAGE_REF:
                arg_ref = arg;
                return 0;
        case ARG_IMAGE_FORMAT:
                arg_format = arg;
                return 0;
        case 'f':
                arg_image_force = true;
                return 0;
        }
        return 0;
}

void help_image_import(void) {
        printf("     --ref=REF                    The image of a layout or archive that holds several\n"
               "                                  (a tag; default: latest)\n"
               "     --format=FMT                 auto (default), tar, oci, oci-archive, docker-archive;\n"
               "                                  a directory is an OCI layout when it has an oci-layout\n"
               "                                  file, else a root file system (tar)\n"
               "  -f --force                      Replace an image of the same name\n");
}

void help_image_export(void) {
        printf("     --format=FMT                 oci-archive (default for images), docker-archive, or tar\n"
               "                                  (the flattened root file system: the only format, and\n"
               "                                  the default, for a container)\n");
}

void help_image_list(void) {
        printf("     --json                       Print a JSON array\n");
}

/* ---- import ----------------------------------------------------------------------------------- */

typedef struct Wait {
        uint32_t id;
        bool done;
        char *result;
        char *error;
        char *image;
} Wait;

static int on_transfer_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *path, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uos", &id, &path, &result) < 0 || id != w->id)
                return 0;
        w->done = true;
        (void) free_and_strdup(&w->result, result);
        return 0;
}

static int on_transfer_error(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *path, *msg;
        uint32_t id;

        if (sd_bus_message_read(m, "uos", &id, &path, &msg) < 0 || id != w->id)
                return 0;
        (void) free_and_strdup(&w->error, msg);
        return 0;
}

static int on_image_new(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Wait *w = userdata;
        const char *name, *path;

        if (w->id == 0 || w->done || sd_bus_message_read(m, "so", &name, &path) < 0)
                return 0;
        (void) free_and_strdup(&w->image, name);
        return 0;
}

static volatile sig_atomic_t interrupted = 0;
static void on_sigint(int sig) {
        interrupted = 1;
}

static void draw_progress(sd_bus *bus, const char *path) {
        double progress = 0;
        uint64_t done = 0, total = 0;
        char a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];
        int width = 30, filled;

        if (sd_bus_get_property_trivial(bus, VESSEL_BUS_NAME, path, VESSEL_TRANSFER_INTERFACE, "Progress", NULL, 'd',
                                        &progress) < 0)
                return;
        (void) sd_bus_get_property_trivial(bus, VESSEL_BUS_NAME, path, VESSEL_TRANSFER_INTERFACE, "BytesDone", NULL,
                                           't', &done);
        (void) sd_bus_get_property_trivial(bus, VESSEL_BUS_NAME, path, VESSEL_TRANSFER_INTERFACE, "BytesTotal", NULL,
                                           't', &total);
        filled = (int) (progress * width + 0.5);
        fprintf(stderr, "\r[");
        for (int i = 0; i < width; i++)
                fputc(i < filled ? '#' : '.', stderr);
        if (total > 0)
                fprintf(stderr, "] %3.0f%% %s / %s   ", progress * 100, format_bytes(a, sizeof a, done),
                        format_bytes(b, sizeof b, total));
        else
                fprintf(stderr, "] %s   ", format_bytes(a, sizeof a, done));
        fflush(stderr);
}

/* ^C (and SIGTERM) cancel the transfer. Caught from the start of the verb, before the call that makes
 * the transfer: one that came in between would be lost (and a shell's background job even ignores
 * SIGINT until we set a handler). */
static void catch_interrupts(void) {
        struct sigaction sa = { .sa_handler = on_sigint };

        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);
}

static int wait_transfer(sd_bus *bus, Wait *w, const char *path, const char *what) {
        bool tty = isatty(STDERR_FILENO);
        bool cancel_sent = false;
        int r;

        while (!w->done) {
                if (interrupted && !cancel_sent) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        (void) manager_call(bus, "CancelTransfer", BUS_TIMEOUT_DEFAULT, &error, NULL, "u", w->id);
                        cancel_sent = true;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Connection to vesseld lost: %m");
                if (r > 0)
                        continue;
                if (tty)
                        draw_progress(bus, path);
                r = sd_bus_wait(bus, 200 * USEC_PER_MSEC);
                if (r < 0 && r != -EINTR)
                        return log_error_errno(r, "Connection to vesseld lost: %m");
        }
        if (tty)
                fprintf(stderr, "\r\033[K");

        if (streq_ptr(w->result, "done"))
                return 0;
        if (streq_ptr(w->result, "canceled"))
                return log_error_errno(-ECANCELED, "%s canceled.", what);
        return log_error_errno(-EIO, "%s failed: %s", what, w->error ?: "see vesseld's log");
}

static int subscribe(sd_bus *bus, Wait *w) {
        int r;

        r = sd_bus_match_signal(bus, NULL, NULL, VESSEL_OBJECT_PATH, VESSEL_MANAGER_INTERFACE, "TransferRemoved",
                                on_transfer_removed, w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, VESSEL_OBJECT_PATH, VESSEL_MANAGER_INTERFACE, "TransferError",
                                        on_transfer_error, w);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, VESSEL_OBJECT_PATH, VESSEL_MANAGER_INTERFACE, "ImageNew",
                                        on_image_new, w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to vesseld's signals: %m");
        return 0;
}

static void wait_done(Wait *w) {
        free(w->result);
        free(w->error);
        free(w->image);
}

int verb_import(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(wait_done) Wait w = {};
        _cleanup_close_ int fd = -EBADF;
        const char *file = argv[0], *name = argc > 1 ? argv[1] : "", *path;

        catch_interrupts();
        int r;

        if (streq(file, "-"))
                fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
        else
                fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", file);

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        /* subscribe before the call: a quick import may be over before its reply is read */
        r = subscribe(bus, &w);
        if (r < 0)
                return r;
        r = manager_call(bus, "ImportImage", BUS_TIMEOUT_DEFAULT, &error, &reply, "hsssb", fd, name, arg_ref,
                         arg_format ?: "auto", arg_image_force);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to import");
        r = sd_bus_message_read(reply, "uo", &w.id, &path);
        if (r < 0)
                return log_error_errno(r, "Bad reply from vesseld: %m");
        fd = safe_close(fd);

        r = wait_transfer(bus, &w, path, "Import");
        if (r < 0)
                return r;
        printf("%s\n", w.image ?: name);
        return 0;
}

/* The file an export writes: a new file beside FILE, renamed over it once the export is complete, so
 * that a failed export leaves FILE as it was (or absent); a FIFO or a device is written directly. */
typedef struct ExportOutput {
        int fd;
        char *tmp; /* NULL: written directly */
} ExportOutput;

static void export_output_done(ExportOutput *o) {
        safe_close(o->fd);
        if (o->tmp) {
                (void) unlink(o->tmp);
                free(o->tmp);
        }
}

static int export_output_open(const char *file, ExportOutput *o) {
        struct stat st;
        mode_t mask;

        if (streq(file, "-")) {
                if (isatty(STDOUT_FILENO))
                        return log_error_errno(-EINVAL, "Refusing to write an archive to a terminal.");
                o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
        } else if (stat(file, &st) >= 0 && !S_ISREG(st.st_mode)) {
                if (S_ISDIR(st.st_mode))
                        return log_error_errno(-EISDIR, "Failed to open %s: %m", file);
                o->fd = open(file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        } else {
                o->tmp = strjoin(file, ".vessel-XXXXXX");
                if (!o->tmp)
                        return log_oom();
                o->fd = mkostemp(o->tmp, O_CLOEXEC);
                if (o->fd < 0) {
                        int k = errno;
                        o->tmp = mfree(o->tmp);
                        return log_error_errno(k, "Failed to create %s: %s", file, strerror(k));
                }
                mask = umask(0);
                umask(mask);
                (void) fchmod(o->fd, 0666 & ~mask);
        }
        if (o->fd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", file);
        return 0;
}

static int export_output_commit(ExportOutput *o, const char *file) {
        if (!o->tmp)
                return 0;
        if (rename(o->tmp, file) < 0)
                return log_error_errno(errno, "Failed to rename %s to %s: %m", o->tmp, file);
        o->tmp = mfree(o->tmp);
        return 0;
}

int verb_export(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *probe = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(wait_done) Wait w = {};
        _cleanup_(export_output_done) ExportOutput out = { .fd = -EBADF };
        const char *what = argv[0], *file = argv[1], *path, *method = "ExportImage", *format = arg_format;
        int r;

        catch_interrupts();

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        /* an image by that name, else a container; neither: nothing is touched */
        r = manager_call(bus, "GetImage", BUS_TIMEOUT_DEFAULT, &error, &probe, "s", what);
        if (r < 0) {
                method = "ExportContainer";
                sd_bus_error_free(&error);
                probe = sd_bus_message_unref(probe);
                r = manager_call(bus, "GetContainer", BUS_TIMEOUT_DEFAULT, &error, &probe, "s", what);
                if (r < 0) {
                        if (sd_bus_error_has_names(&error, BUS_ERROR_NO_SUCH_CONTAINER, BUS_ERROR_INVALID_NAME))
                                return log_error_errno(-ENOENT, "No image or container named '%s'.", what);
                        return log_bus_error(r, &error, "Failed to export");
                }
                if (!format)
                        format = "tar";
        } else if (!format)
                format = "oci-archive";

        r = export_output_open(file, &out);
        if (r < 0)
                return r;

        r = subscribe(bus, &w);
        if (r >= 0) {
                r = manager_call(bus, method, BUS_TIMEOUT_DEFAULT, &error, &reply, "shs", what, out.fd, format);
                if (r < 0)
                        r = log_bus_error(r, &error, "Failed to export");
        }
        if (r >= 0) {
                r = sd_bus_message_read(reply, "uo", &w.id, &path);
                if (r < 0)
                        r = log_error_errno(r, "Bad reply from vesseld: %m");
        }
        if (r >= 0) {
                /* vesseld's worker has its copy: a reader of ours sees the end when the worker is done */
                out.fd = safe_close(out.fd);
                r = wait_transfer(bus, &w, path, "Export");
        }
        if (r >= 0)
                r = export_output_commit(&out, file);
        return r;
}

/* ---- images, image-status, rmi, prune, df ------------------------------------------------------ */

int verb_images(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_json_ struct json_object *array = NULL;
        _cleanup_(table_freep) Table *table = NULL;
        const char *name, *digest, *format, *path;
        uint64_t size, created;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        r = manager_call(bus, "ListImages", BUS_TIMEOUT_DEFAULT, &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list images");

        if (arg_json)
                array = json_object_new_array();
        else
                table = table_new("NAME", "DIGEST", "SIZE", "CREATED", "FORMAT");
        if (!array && !table)
                return log_oom();

        r = sd_bus_message_enter_container(reply, 'a', "(ssttso)");
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        while ((r = sd_bus_message_read(reply, "(ssttso)", &name, &digest, &size, &created, &format, &path)) > 0) {
                if (array) {
                        struct json_object *o = json_object_new_object();
                        if (!o)
                                return log_oom();
                        json_object_object_add(o, "name", json_object_new_string(name));
                        json_object_object_add(o, "digest", json_object_new_string(digest));
                        json_object_object_add(o, "size", json_object_new_int64((int64_t) size));
                        json_object_object_add(o, "created", json_object_new_int64((int64_t) created));
                        json_object_object_add(o, "format", json_object_new_string(format));
                        json_object_object_add(o, "path", json_object_new_string(path));
                        json_object_array_add(array, o);
                } else {
                        char sz[FORMAT_BYTES_MAX], ts[FORMAT_TIMESTAMP_RELATIVE_MAX], d[20];
                        const char *h = startswith_ptr(digest, "sha256:") ?: digest;

                        (void) snprintf(d, sizeof d, "%.12s", h);
                        r = table_add_row(table, name, d, format_bytes(sz, sizeof sz, size),
                                          format_timestamp_relative(ts, sizeof ts, created, now_realtime_usec()), format);
                        if (r < 0)
                                return log_oom();
                }
        }
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        if (array)
                return json_print(array, stdout);
        table_sort(table, 0);
        return table_print(table, stdout);
}

/* image-status's keys, right-aligned: the longest is ImportedTimestamp */
#define IMAGE_KEY_WIDTH 17

static int print_strv_property(sd_bus_message *reply, const char *label) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *s = NULL;
        int r;

        r = sd_bus_message_read_strv(reply, &l);
        if (r < 0)
                return r;
        s = format_command_line(l);
        printf("%*s: %s\n", IMAGE_KEY_WIDTH, label, isempty(s) ? "-" : s);
        return 0;
}

int verb_image_status(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *props = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *path;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        r = manager_call(bus, "GetImage", BUS_TIMEOUT_DEFAULT, &error, &reply, "s", argv[0]);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to find the image");
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        r = sd_bus_call_method(bus, VESSEL_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &props, "s", VESSEL_IMAGE_INTERFACE);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to read the image's properties");

        r = sd_bus_message_enter_container(props, 'a', "{sv}");
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        while ((r = sd_bus_message_enter_container(props, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(props, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(props, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(props, 'v', contents);
                if (r < 0)
                        return r;
                if (streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(props, "s", &s);
                        if (r >= 0)
                                printf("%*s: %s\n", IMAGE_KEY_WIDTH, key, isempty(s) ? "-" : s);
                } else if (streq(contents, "t")) {
                        uint64_t t;
                        char buf[FORMAT_TIMESTAMP_MAX];
                        r = sd_bus_message_read(props, "t", &t);
                        if (r >= 0) {
                                if (streq(key, "Size"))
                                        printf("%*s: %s\n", IMAGE_KEY_WIDTH, key, format_bytes(buf, sizeof buf, t));
                                else
                                        printf("%*s: %s\n", IMAGE_KEY_WIDTH, key, strna(format_timestamp(buf, sizeof buf, t)));
                        }
                } else if (streq(contents, "as"))
                        r = print_strv_property(props, key);
                else if (streq(contents, "a(ss)")) {
                        const char *k, *v;
                        bool first = true;
                        r = sd_bus_message_enter_container(props, 'a', "(ss)");
                        while (r >= 0 && (r = sd_bus_message_read(props, "(ss)", &k, &v)) > 0) {
                                printf("%*s: %s=%s\n", IMAGE_KEY_WIDTH, first ? key : "", k, v);
                                first = false;
                        }
                        if (r >= 0 && first)
                                printf("%*s: -\n", IMAGE_KEY_WIDTH, key);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(props);
                } else
                        r = sd_bus_message_skip(props, contents);
                if (r < 0)
                        return log_error_errno(r, "Bad reply: %m");
                r = sd_bus_message_exit_container(props);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(props);
                if (r < 0)
                        return r;
        }
        return r < 0 ? log_error_errno(r, "Bad reply: %m") : 0;
}

int verb_rmi(int argc, char *argv[]) {
        return manager_call_for_each(argc, argv, "RemoveImage", BUS_TIMEOUT_DEFAULT, "Failed to remove the image", "s");
}

int verb_prune(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char sz[FORMAT_BYTES_MAX];
        uint32_t n;
        uint64_t bytes;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        r = manager_call(bus, "PruneImages", BUS_TIMEOUT_INFINITE, &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to prune");
        r = sd_bus_message_read(reply, "ut", &n, &bytes);
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        printf("Removed %" PRIu32 " unused layers, freed %s.\n", n, format_bytes(sz, sizeof sz, bytes));
        return 0;
}

int verb_df(int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_json_ struct json_object *array = NULL;
        _cleanup_(table_freep) Table *table = NULL;
        const char *what;
        uint32_t n;
        uint64_t bytes, reclaimable;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        r = manager_call(bus, "DiskUsage", BUS_TIMEOUT_INFINITE, &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to get the disk usage");
        if (arg_json)
                array = json_object_new_array();
        else
                table = table_new("TYPE", "COUNT", "SIZE", "RECLAIMABLE");
        if (!array && !table)
                return log_oom();
        r = sd_bus_message_enter_container(reply, 'a', "(sutt)");
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        while ((r = sd_bus_message_read(reply, "(sutt)", &what, &n, &bytes, &reclaimable)) > 0) {
                if (array) {
                        struct json_object *o = json_object_new_object();
                        if (!o)
                                return log_oom();
                        json_object_object_add(o, "type", json_object_new_string(what));
                        json_object_object_add(o, "count", json_object_new_int64(n));
                        json_object_object_add(o, "size", json_object_new_int64((int64_t) bytes));
                        json_object_object_add(o, "reclaimable", json_object_new_int64((int64_t) reclaimable));
                        json_object_array_add(array, o);
                } else {
                        char c[16], s1[FORMAT_BYTES_MAX], s2[FORMAT_BYTES_MAX];
                        (void) snprintf(c, sizeof c, "%" PRIu32, n);
                        r = table_add_row(table, what, c, format_bytes(s1, sizeof s1, bytes),
                                          format_bytes(s2, sizeof s2, reclaimable));
                        if (r < 0)
                                return log_oom();
                }
        }
        if (r < 0)
                return log_error_errno(r, "Bad reply: %m");
        return array ? json_print(array, stdout) : table_print(table, stdout);
}
