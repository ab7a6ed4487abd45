/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bus-util.h"
#include "export.h"
#include "fd-util.h"
#include "hashmap.h"
#include "string-util.h"

#define MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define ANNOTATION_CONTAINERD_NAME "io.containerd.image.name"

#define BUFFER_SIZE (128U * 1024U)
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define PROGRESS_STEP (1024U * 1024U)
#define UID_RANGE 65536U

static const char *const export_format_table[_EXPORT_FORMAT_MAX] = {
        [EXPORT_OCI_ARCHIVE] = "oci-archive",
        [EXPORT_DOCKER_ARCHIVE] = "docker-archive",
        [EXPORT_TAR] = "tar",
};
DEFINE_STRING_TABLE_LOOKUP(export_format, ExportFormat);

/* ---- pure helpers ------------------------------------------------------------------------------ */

const char *image_name_tag(const char *name) {
        const char *colon = strrchr(name, ':');

        if (!colon || strchr(colon, '/') || isempty(colon + 1))
                return "latest";
        return colon + 1;
}

int image_name_qualify(const char *name, char **ret) {
        const char *slash = strchr(name, '/');
        char *s;

        /* docker's rule: the first component names a registry when it has a '.' or ':', or is localhost */
        if (slash) {
                size_t l = (size_t) (slash - name);
                if (memchr(name, '.', l) || memchr(name, ':', l) ||
                    (l == 9 && strncmp(name, "localhost", 9) == 0))
                        s = strdup(name);
                else
                        s = strjoin("docker.io/", name);
        } else
                s = strjoin("docker.io/library/", name);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

uint32_t export_shift_id(uint32_t id, uint32_t base) {
        if (base > 0 && id >= base && id - base < UID_RANGE)
                return id - base;
        return id;
}

/* ---- the request, built in vesseld ------------------------------------------------------------- */

ExportRequest *export_request_free(ExportRequest *r) {
        if (!r)
                return NULL;
        safe_close(r->fd);
        free(r->name);
        free(r->state_dir);
        free(r->work_dir);
        free(r->manifest_blob);
        free(r->config_blob);
        strv_free(r->diff_ids);
        free(r->layer_sizes);
        strv_free(r->lowers);
        free(r->upper);
        return mfree(r);
}

void export_request_free_void(void *p) {
        export_request_free(p);
}

static int export_request_new(const char *name, const char *state_dir, ExportFormat format,
                              ExportRequest **ret) {
        _cleanup_(export_request_freep) ExportRequest *r = NULL;

        r = calloc(1, sizeof(ExportRequest));
        if (!r)
                return -ENOMEM;
        r->fd = -EBADF;
        r->format = format;
        r->name = strdup(name);
        r->state_dir = strdup(state_dir);
        if (!r->name || !r->state_dir)
                return -ENOMEM;
        *ret = TAKE_PTR(r);
        return 0;
}

int export_request_for_image(Image *i, ExportFormat format, ExportRequest **ret, sd_bus_error *error) {
        _cleanup_(export_request_freep) ExportRequest *r = NULL;
        const char *state_dir = i->manager->state_dir;
        size_t n = strv_length(i->layers);
        int k;

        k = export_request_new(i->name, state_dir, format, &r);
        if (k < 0)
                return k;

        if (format == EXPORT_TAR) {
                /* overlayfs' order: the topmost layer first */
                for (size_t l = n; l > 0; l--) {
                        char *p = strjoin(state_dir, "/layers/", i->layers[l - 1]);
                        if (!p || strv_consume(&r->lowers, p) < 0)
                                return -ENOMEM;
                }
                r->size_hint = i->size;
                *ret = TAKE_PTR(r);
                return 0;
        }

        /* an archive is made of the blobs as they were imported, or not at all */
        if (!i->manifest_blob || !i->config_blob || strv_length(i->blobs) != n)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE,
                                         "Image '%s' was imported before vessel kept manifests; export it as tar, or import it again.",
                                         i->name);
        STRV_FOREACH(b, i->blobs) {
                _cleanup_free_ char *p = strjoin(state_dir, "/blobs/sha256/", *b);
                struct stat st;

                if (!p)
                        return -ENOMEM;
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE,
                                                 "Image '%s': its layer blob sha256:%s is not in the store (imported before vessel kept blobs); export it as tar, or import it again.",
                                                 i->name, *b);
        }
        r->manifest_blob = strdup(i->manifest_blob);
        r->config_blob = strdup(i->config_blob);
        r->diff_ids = strv_copy(i->layers);
        r->layer_sizes = memdup(i->layer_sizes, (n + 1) * sizeof(uint64_t));
        if (!r->manifest_blob || !r->config_blob || !r->diff_ids || !r->layer_sizes)
                return -ENOMEM;
        *ret = TAKE_PTR(r);
        return 0;
}

int export_request_for_container(Container *c, ExportRequest **ret, sd_bus_error *error) {
        _cleanup_(export_request_freep) ExportRequest *r = NULL;
        _cleanup_free_ char *dir = NULL, *lowers = NULL;
        char *save = NULL;
        Image *i;
        int k;

        if (isempty(c->lower_dir))
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_STATE, "Container %s has no root file system.",
                                         c->name);

        k = export_request_new(c->name, c->manager->state_dir, EXPORT_TAR, &r);
        if (k < 0)
                return k;
        k = container_state_dir(c, &dir);
        if (k < 0)
                return k;
        /* its own layer on top of its image's: the container's root as it sees it, without mounts */
        r->upper = strjoin(dir, "/upper");
        if (!r->upper || strv_extend(&r->lowers, r->upper) < 0)
                return -ENOMEM;
        lowers = strdup(c->lower_dir);
        if (!lowers)
                return -ENOMEM;
        for (char *d = strtok_r(lowers, ":", &save); d; d = strtok_r(NULL, ":", &save))
                if (strv_extend(&r->lowers, d) < 0)
                        return -ENOMEM;
        r->uid_base = c->uid_base;
        i = manager_find_image(c->manager, c->image);
        if (i)
                r->size_hint = i->size;
        *ret = TAKE_PTR(r);
        return 0;
}

/* ---- the worker -------------------------------------------------------------------------------- */

typedef struct HardLink {
        char key[48]; /* "dev:ino" */
        char *path;
} HardLink;

typedef struct Export {
        Transfer *t;
        ExportRequest *req;
        struct archive *a;
        uint64_t written, total, last_progress;
        int blobs_fd;
        char *buf;
        Hashmap *links; /* tar: the first path of each inode with several links */
        dev_t root_dev;  /* with one_file_system: other file systems' mount points are kept empty */
        bool one_file_system;
        const char *output; /* what the fd is, for errors: "the output" (the caller's) by default */
        uint64_t max_written; /* 0: no limit */
        dev_t skip_dev;       /* a directory left out (vesseld's own store), where skip_ino > 0 */
        ino_t skip_ino;
} Export;

static void export_done(Export *e) {
        HardLink *l;

        if (e->a)
                archive_write_free(e->a);
        if (e->links) {
                HASHMAP_FOREACH(l, e->links) {
                        free(l->path);
                        free(l);
                }
                hashmap_free(e->links);
        }
        safe_close(e->blobs_fd);
        free(e->buf);
}

static void export_progress(Export *e, bool force) {
        if (!force && e->written - e->last_progress < PROGRESS_STEP)
                return;
        e->last_progress = e->written;
        transfer_worker_progress(e->t, e->written, MAX(e->total, e->written));
}

/* libarchive's output: the caller's fd, whatever it is (file, pipe, socket, even non-blocking). */
static la_ssize_t on_archive_write(struct archive *a, void *userdata, const void *buf, size_t size) {
        Export *e = userdata;

        if (e->max_written > 0 && e->written + size > e->max_written) {
                (void) transfer_worker_error(e->t, -EFBIG,
                                             "The archive would exceed MaxLayerSize (%" PRIu64 " bytes): "
                                             "the directory is too large to import.",
                                             e->max_written);
                archive_set_error(a, EFBIG, "too large");
                return -1;
        }

        for (size_t done = 0; done < size;) {
                ssize_t n = write(e->req->fd, (const char *) buf + done, size - done);
                if (n < 0) {
                        int k = errno;

                        if (k == EINTR)
                                continue;
                        if (k == EAGAIN) {
                                struct pollfd p = { .fd = e->req->fd, .events = POLLOUT };
                                (void) poll(&p, 1, -1);
                                continue;
                        }
                        if (k == EPIPE)
                                (void) transfer_worker_error(e->t, -k, "The output was closed before the export was complete.");
                        else
                                (void) transfer_worker_error(e->t, -k, "Failed to write %s: %s",
                                                             e->output ?: "the output", strerror(k));
                        archive_set_error(a, k, "write error");
                        return -1;
                }
                done += (size_t) n;
        }
        e->written += size;
        export_progress(e, false);
        return (la_ssize_t) size;
}

static int archive_fail(Export *e, const char *what) {
        int k = archive_errno(e->a);

        return transfer_worker_error(e->t, k > 0 ? -k : -EIO, "%s: %s", what,
                                     archive_error_string(e->a) ?: "archive error");
}

static int export_open_archive(Export *e) {
        e->a = archive_write_new();
        if (!e->a)
                return -ENOMEM;
        /* ustar headers, pax ones only where needed (long names, large ids, xattrs), as most tools
         * write; the default blocking: the archive ends padded to 10 KiB, like GNU tar's */
        if (archive_write_set_format_pax_restricted(e->a) != ARCHIVE_OK ||
            archive_write_open2(e->a, e, NULL, on_archive_write, NULL, NULL) != ARCHIVE_OK)
                return archive_fail(e, "Failed to start the archive");
        return 0;
}

static int export_close_archive(Export *e) {
        if (archive_write_close(e->a) != ARCHIVE_OK)
                return archive_fail(e, "Failed to finish the archive");
        export_progress(e, true);
        return 0;
}

static void archive_entry_freep(struct archive_entry **e) {
        if (*e)
                archive_entry_free(*e);
}

/* An entry of an image archive: root-owned, mtime 0, so that one image always makes the same bytes. */
static int export_header(Export *e, const char *path, mode_t mode, uint64_t size) {
        _cleanup_(archive_entry_freep) struct archive_entry *entry = archive_entry_new();

        if (!entry)
                return -ENOMEM;
        archive_entry_set_pathname(entry, path);
        archive_entry_set_mode(entry, mode);
        archive_entry_set_size(entry, (la_int64_t) size);
        archive_entry_set_mtime(entry, 0, 0);
        if (archive_write_header(e->a, entry) < ARCHIVE_WARN)
                return archive_fail(e, path);
        return 0;
}

static int export_data(Export *e, const char *path, const void *p, size_t size) {
        while (size > 0) {
                la_ssize_t n = archive_write_data(e->a, p, size);
                if (n <= 0)
                        return archive_fail(e, path);
                p = (const char *) p + n;
                size -= (size_t) n;
        }
        return 0;
}

static int export_finish_entry(Export *e, const char *path) {
        if (archive_write_finish_entry(e->a) < ARCHIVE_WARN)
                return archive_fail(e, path);
        return 0;
}

static int export_text(Export *e, const char *path, const char *text) {
        int r;

        r = export_header(e, path, S_IFREG | 0644, strlen(text));
        if (r < 0)
                return r;
        r = export_data(e, path, text, strlen(text));
        if (r < 0)
                return r;
        return export_finish_entry(e, path);
}

static int export_dir(Export *e, const char *path) {
        int r = export_header(e, path, S_IFDIR | 0755, 0);
        return r < 0 ? r : export_finish_entry(e, path);
}

static int open_blob(Export *e, const char *hex, uint64_t *ret_size) {
        struct stat st;
        int fd;

        fd = openat(e->blobs_fd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return transfer_worker_error(e->t, -errno, "Blob sha256:%s is not in the store: %m", hex);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                safe_close(fd);
                return transfer_worker_error(e->t, -EBADMSG, "Blob sha256:%s in the store is not a regular file.", hex);
        }
        *ret_size = (uint64_t) st.st_size;
        return fd;
}

/* A stored blob, byte for byte; its size and digest are checked on the way, so a store damaged since
 * the import fails the export instead of writing an archive that would not import. */
static int export_blob(Export *e, const char *path, const char *hex, uint64_t expected_size) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *h = sha256_new();
        _cleanup_close_ int fd = -EBADF;
        char got[SHA256_HEX_LEN + 1];
        uint64_t size, done = 0;
        int r;

        if (!h)
                return -ENOMEM;
        fd = open_blob(e, hex, &size);
        if (fd < 0)
                return fd;
        if (size != expected_size)
                return transfer_worker_error(e->t, -EBADMSG,
                                             "Blob sha256:%s in the store has %" PRIu64 " bytes, its manifest says %" PRIu64 ".",
                                             hex, size, expected_size);
        r = export_header(e, path, S_IFREG | 0644, size);
        if (r < 0)
                return r;
        while (done < size) {
                size_t want = (size_t) MIN((uint64_t) BUFFER_SIZE, size - done);
                ssize_t n = pread(fd, e->buf, want, (off_t) done);
                if (n < 0)
                        return transfer_worker_error(e->t, -errno, "Failed to read blob sha256:%s: %m", hex);
                if (n == 0)
                        break;
                (void) EVP_DigestUpdate(h, e->buf, (size_t) n);
                r = export_data(e, path, e->buf, (size_t) n);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
        }
        sha256_finish_hex(h, got);
        if (done != size || !streq(got, hex))
                return transfer_worker_error(e->t, -EBADMSG, "Blob sha256:%s in the store is damaged (it reads as sha256:%s).",
                                             hex, got);
        return export_finish_entry(e, path);
}

/* Reads a stored layer blob decompressed (libarchive's filters; a plain tar passes as is). With
 * path == NULL only counts and hashes: the size of a layer whose record does not say. */
static int export_layer_tar(Export *e, const char *path, const char *blob_hex, const char *diff_id,
                            uint64_t *size) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *h = sha256_new();
        _cleanup_close_ int fd = -EBADF;
        struct archive *raw = NULL;
        struct archive_entry *entry;
        char got[SHA256_HEX_LEN + 1];
        uint64_t blob_size, done = 0;
        int r;

        if (!h)
                return -ENOMEM;
        fd = open_blob(e, blob_hex, &blob_size);
        if (fd < 0)
                return fd;
        if (path) {
                r = export_header(e, path, S_IFREG | 0644, *size);
                if (r < 0)
                        return r;
        }

        raw = archive_read_new();
        if (!raw)
                return -ENOMEM;
        archive_read_support_filter_all(raw);
        archive_read_support_format_raw(raw);
        if (archive_read_open_fd(raw, fd, BUFFER_SIZE) != ARCHIVE_OK ||
            archive_read_next_header(raw, &entry) != ARCHIVE_OK) {
                r = transfer_worker_error(e->t, -EBADMSG, "Blob sha256:%s in the store cannot be read: %s", blob_hex,
                                          archive_error_string(raw) ?: "unknown error");
                goto finish;
        }
        for (;;) {
                la_ssize_t n = archive_read_data(raw, e->buf, BUFFER_SIZE);
                if (n == 0)
                        break;
                if (n < 0) {
                        r = transfer_worker_error(e->t, -EBADMSG, "Blob sha256:%s in the store cannot be decompressed: %s",
                                                  blob_hex, archive_error_string(raw) ?: "read error");
                        goto finish;
                }
                (void) EVP_DigestUpdate(h, e->buf, (size_t) n);
                done += (uint64_t) n;
                if (path) {
                        if (done > *size) {
                                r = transfer_worker_error(e->t, -EBADMSG, "Layer sha256:%s is larger than its recorded %" PRIu64 " bytes.",
                                                          diff_id, *size);
                                goto finish;
                        }
                        r = export_data(e, path, e->buf, (size_t) n);
                        if (r < 0)
                                goto finish;
                }
        }
        sha256_finish_hex(h, got);
        if (!streq(got, diff_id) || (path && done != *size)) {
                r = transfer_worker_error(e->t, -EBADMSG, "Layer blob sha256:%s in the store is damaged: it unpacks to sha256:%s (%" PRIu64 " bytes), not to the diff_id sha256:%s.",
                                          blob_hex, got, done, diff_id);
                goto finish;
        }
        if (path)
                r = export_finish_entry(e, path);
        else {
                *size = done;
                r = 0;
        }
finish:
        archive_read_free(raw);
        return r;
}

typedef struct Manifest {
        OciDescriptor config;
        OciDescriptor *layers;
        size_t n_layers;
        char *media_type;
        char hex[SHA256_HEX_LEN + 1];
} Manifest;

static void manifest_done(Manifest *m) {
        oci_descriptor_done(&m->config);
        oci_descriptors_free(m->layers, m->n_layers);
        free(m->media_type);
}

static int manifest_load(Export *e, Manifest *ret) {
        _cleanup_free_ char *error = NULL;
        _cleanup_json_ json_object *o = NULL;
        ExportRequest *req = e->req;
        char chex[SHA256_HEX_LEN + 1];
        const char *mt = NULL;
        json_object *v;
        int r;

        r = oci_manifest_parse(req->manifest_blob, strlen(req->manifest_blob), &ret->config, &ret->layers,
                               &ret->n_layers, &error);
        if (r < 0)
                return transfer_worker_error(e->t, r, "The stored manifest of %s: %s", req->name,
                                             strempty(error));
        if (ret->n_layers != strv_length(req->diff_ids))
                return transfer_worker_error(e->t, -EBADMSG, "The stored manifest of %s names %zu layers, the image has %zu.",
                                             req->name, ret->n_layers, strv_length(req->diff_ids));
        sha256_buf_hex(req->config_blob, strlen(req->config_blob), chex);
        if (!streq(chex, ret->config.hex))
                return transfer_worker_error(e->t, -EBADMSG, "The stored config of %s is sha256:%s, its manifest says sha256:%s.",
                                             req->name, chex, ret->config.hex);
        sha256_buf_hex(req->manifest_blob, strlen(req->manifest_blob), ret->hex);

        /* the index names the manifest with the manifest's own media type (OCI or docker schema 2) */
        o = json_tokener_parse(req->manifest_blob);
        if (o && json_object_object_get_ex(o, "mediaType", &v) && json_object_is_type(v, json_type_string))
                mt = json_object_get_string(v);
        ret->media_type = strdup(mt ?: MEDIA_OCI_MANIFEST);
        return ret->media_type ? 0 : -ENOMEM;
}

static bool seen_before(char **l, size_t k, const char *hex) {
        for (size_t j = 0; j < k; j++)
                if (streq(l[j], hex))
                        return true;
        return false;
}

static int oci_index_text(Export *e, const Manifest *m, char **ret) {
        _cleanup_json_ json_object *index = json_object_new_object(), *manifests = json_object_new_array(),
                                   *d = json_object_new_object(), *ann = json_object_new_object();
        _cleanup_free_ char *digest = strjoin("sha256:", m->hex), *full = NULL;

        if (!index || !manifests || !d || !ann || !digest || image_name_qualify(e->req->name, &full) < 0)
                return -ENOMEM;
        /* containerd's annotation has the full name, the OCI one the tag: both what `docker save` writes,
         * and what our import and skopeo read back */
        json_object_object_add(ann, ANNOTATION_CONTAINERD_NAME, json_object_new_string(full));
        json_object_object_add(ann, ANNOTATION_REF_NAME,
                               json_object_new_string(image_name_tag(e->req->name)));
        json_object_object_add(d, "mediaType", json_object_new_string(m->media_type));
        json_object_object_add(d, "digest", json_object_new_string(digest));
        json_object_object_add(d, "size", json_object_new_int64((int64_t) strlen(e->req->manifest_blob)));
        json_object_object_add(d, "annotations", json_object_get(ann));
        json_object_array_add(manifests, json_object_get(d));
        json_object_object_add(index, "schemaVersion", json_object_new_int(2));
        json_object_object_add(index, "mediaType", json_object_new_string(MEDIA_OCI_INDEX));
        json_object_object_add(index, "manifests", json_object_get(manifests));
        *ret = strdup(json_object_to_json_string_ext(index, JSON_FLAGS));
        return *ret ? 0 : -ENOMEM;
}

static int export_oci_archive(Export *e) {
        _cleanup_free_ char *index = NULL, *path = NULL;
        _cleanup_strv_free_ char **done = NULL;
        Manifest m = {};
        int r;

        r = manifest_load(e, &m);
        if (r < 0)
                goto finish;
        e->total = strlen(e->req->manifest_blob) + strlen(e->req->config_blob);
        for (size_t k = 0; k < m.n_layers; k++)
                e->total += m.layers[k].size;
        export_progress(e, true);

        r = oci_index_text(e, &m, &index);
        if (r < 0)
                goto finish;
        /* oci-layout first: a reader can tell the format from the first entry */
        if ((r = export_text(e, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}")) < 0 ||
            (r = export_text(e, "index.json", index)) < 0 || (r = export_dir(e, "blobs/")) < 0 ||
            (r = export_dir(e, "blobs/sha256/")) < 0)
                goto finish;

        path = strjoin("blobs/sha256/", m.hex);
        if (!path) {
                r = -ENOMEM;
                goto finish;
        }
        r = export_text(e, path, e->req->manifest_blob);
        if (r < 0)
                goto finish;
        free(path);
        path = strjoin("blobs/sha256/", m.config.hex);
        if (!path) {
                r = -ENOMEM;
                goto finish;
        }
        r = export_text(e, path, e->req->config_blob);
        if (r < 0)
                goto finish;

        for (size_t k = 0; k < m.n_layers; k++) {
                const char *hex = m.layers[k].hex;

                /* a blob is there once, however often the manifest names it */
                if (streq(hex, m.config.hex) || streq(hex, m.hex) || strv_contains(done, hex))
                        continue;
                free(path);
                path = strjoin("blobs/sha256/", hex);
                if (!path || strv_extend(&done, hex) < 0) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = export_blob(e, path, hex, m.layers[k].size);
                if (r < 0)
                        goto finish;
        }
        r = export_close_archive(e);
finish:
        manifest_done(&m);
        return r;
}

static int docker_manifest_text(Export *e, const char *config_path, char **layer_paths, char **ret) {
        _cleanup_json_ json_object *a = json_object_new_array(), *o = json_object_new_object(),
                                   *tags = json_object_new_array(), *layers = json_object_new_array();

        if (!a || !o || !tags || !layers)
                return -ENOMEM;
        json_object_array_add(tags, json_object_new_string(e->req->name));
        STRV_FOREACH(l, layer_paths)
                json_object_array_add(layers, json_object_new_string(*l));
        json_object_object_add(o, "Config", json_object_new_string(config_path));
        json_object_object_add(o, "RepoTags", json_object_get(tags));
        json_object_object_add(o, "Layers", json_object_get(layers));
        json_object_array_add(a, json_object_get(o));
        *ret = strdup(json_object_to_json_string_ext(a, JSON_FLAGS));
        return *ret ? 0 : -ENOMEM;
}

/* docker save's layout, as skopeo writes it too: <config digest>.json, one uncompressed
 * <diff_id>.tar per layer, manifest.json last. */
static int export_docker_archive(Export *e) {
        ExportRequest *req = e->req;
        _cleanup_free_ char *config_path = NULL, *manifest = NULL;
        _cleanup_strv_free_ char **layer_paths = NULL;
        Manifest m = {};
        size_t n;
        int r;

        r = manifest_load(e, &m);
        if (r < 0)
                goto finish;
        n = m.n_layers;
        for (size_t k = 0; k < n; k++) {
                if (req->layer_sizes[k] == 0) {
                        /* not recorded: count it first, the tar header comes before the data */
                        r = export_layer_tar(e, NULL, m.layers[k].hex, req->diff_ids[k],
                                             &req->layer_sizes[k]);
                        if (r < 0)
                                goto finish;
                }
                e->total += req->layer_sizes[k];
        }
        e->total += strlen(req->config_blob);
        export_progress(e, true);

        config_path = strjoin(m.config.hex, ".json");
        if (!config_path) {
                r = -ENOMEM;
                goto finish;
        }
        r = export_text(e, config_path, req->config_blob);
        if (r < 0)
                goto finish;
        for (size_t k = 0; k < n; k++) {
                _cleanup_free_ char *p = strjoin(req->diff_ids[k], ".tar");

                if (!p) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (!seen_before(req->diff_ids, k, req->diff_ids[k])) {
                        r = export_layer_tar(e, p, m.layers[k].hex, req->diff_ids[k], &req->layer_sizes[k]);
                        if (r < 0)
                                goto finish;
                }
                r = strv_consume(&layer_paths, TAKE_PTR(p));
                if (r < 0)
                        goto finish;
        }
        r = docker_manifest_text(e, config_path, layer_paths, &manifest);
        if (r < 0)
                goto finish;
        r = export_text(e, "manifest.json", manifest);
        if (r < 0)
                goto finish;
        r = export_close_archive(e);
finish:
        manifest_done(&m);
        return r;
}

/* ---- the flattened root file system ------------------------------------------------------------ */

static int fs_error(int fs_fd, char *buf, size_t size) {
        ssize_t n;

        /* the kernel's own words on why, "e overlayfs: …" */
        n = read(fs_fd, buf, size - 1);
        if (n <= 0)
                return 0;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 1;
}

/* A read-only overlay of the layers, detached: attached nowhere, so nobody else sees it, and gone
 * with us. Needs "lowerdir+" (Linux 6.8); returns -EOPNOTSUPP where the kernel has not. */
static int overlay_open_detached(Export *e, char **lowers) {
        _cleanup_close_ int fs_fd = -EBADF, mnt_fd = -EBADF;
        char msg[512];
        int fd;

        fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return -EOPNOTSUPP;
        STRV_FOREACH(l, lowers)
                if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "lowerdir+", *l, 0) < 0) {
                        if (errno == EINVAL && l == lowers)
                                return -EOPNOTSUPP;
                        return transfer_worker_error(e->t, -errno, "Failed to stack %s: %s", *l,
                                                     fs_error(fs_fd, msg, sizeof msg) ? msg : strerror(errno));
                }
        /* a running container's own layer is in use by its overlay: fine for reading, but with the
         * index feature on the kernel refuses it */
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "index", "off", 0) < 0)
                return transfer_worker_error(e->t, -errno, "Failed to mount the layers: %s",
                                             fs_error(fs_fd, msg, sizeof msg) ? msg : strerror(errno));
        /* Before 6.8 overlayfs takes "lowerdir+" without complaint and only finds at creation that
         * it has no lower layer (ENODATA, Debian 12's 6.1 among them): then the old way. */
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return -EOPNOTSUPP;
        mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC,
                         MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
        if (mnt_fd < 0)
                return transfer_worker_error(e->t, -errno, "Failed to mount the layers: %m");
        fd = openat(mnt_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return transfer_worker_error(e->t, -errno, "Failed to open the merged layers: %m");
        return fd;
}

/* Older kernels: mount(2) in a mount namespace of our own, whose mounts die with us. */
static int overlay_open_legacy(Export *e, char **lowers) {
        _cleanup_free_ char *list = strv_join(lowers, ":"), *opts = NULL, *root = NULL;
        int fd;

        if (!list)
                return -ENOMEM;
        opts = strjoin("lowerdir=", list, ",index=off");
        root = strjoin(e->req->work_dir, "/root");
        if (!opts || !root)
                return -ENOMEM;
        if (strlen(opts) >= 4096)
                return transfer_worker_error(e->t, -E2BIG, "Too many layers (%zu) to mount on this kernel (before Linux 6.8).",
                                             strv_length(lowers));
        if (unshare(CLONE_NEWNS) < 0)
                return transfer_worker_error(e->t, -errno, "Failed to make a mount namespace: %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return transfer_worker_error(e->t, -errno, "Failed to make the mounts private: %m");
        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return transfer_worker_error(e->t, -errno, "Failed to create %s: %m", root);
        if (mount("overlay", root, "overlay", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return transfer_worker_error(e->t, -errno, "Failed to mount the layers: %m");
        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return transfer_worker_error(e->t, -errno, "Failed to open the merged layers: %m");
        return fd;
}

static int overlay_open(Export *e) {
        _cleanup_strv_free_ char **lowers = strv_copy(e->req->lowers);
        int r;

        if (!lowers)
                return -ENOMEM;
        if (strv_length(lowers) == 1) {
                /* overlayfs wants two lowers when there is no upper: an empty one below */
                _cleanup_free_ char *empty = strjoin(e->req->work_dir, "/empty");
                if (!empty)
                        return -ENOMEM;
                if (mkdir(empty, 0755) < 0 && errno != EEXIST)
                        return transfer_worker_error(e->t, -errno, "Failed to create %s: %m", empty);
                r = strv_consume(&lowers, TAKE_PTR(empty));
                if (r < 0)
                        return r;
        }
        r = overlay_open_detached(e, lowers);
        if (r != -EOPNOTSUPP)
                return r;
        return overlay_open_legacy(e, lowers);
}

static bool xattr_exported(const char *name) {
        /* overlayfs' own attributes say how layers stack, not what the file is; SELinux labels are the
         * host's */
        return !startswith(name, "trusted.overlay.") && !startswith(name, "user.overlay.") &&
               !streq(name, "security.selinux");
}

/* The xattrs of dir_fd/name (of dir_fd itself for name == NULL), read through /proc/self/fd so that
 * only the last component is looked up, and never followed. */
static int entry_add_xattrs(Export *e, struct archive_entry *entry, int dir_fd, const char *name) {
        _cleanup_free_ char *list = NULL, *value = NULL;
        char p[64 + NAME_MAX];
        ssize_t n;

        if (name)
                (void) snprintf(p, sizeof p, "/proc/self/fd/%i/%s", dir_fd, name);
        else
                (void) snprintf(p, sizeof p, "/proc/self/fd/%i", dir_fd);
        for (;;) {
                n = name ? llistxattr(p, NULL, 0) : listxattr(p, NULL, 0);
                if (n <= 0)
                        return 0; /* none, or a file system without them */
                free(list);
                list = malloc((size_t) n);
                if (!list)
                        return -ENOMEM;
                n = name ? llistxattr(p, list, (size_t) n) : listxattr(p, list, (size_t) n);
                if (n >= 0)
                        break;
                if (errno != ERANGE) /* grown meanwhile: again */
                        return 0;
        }
        for (const char *x = list; x < list + n; x += strlen(x) + 1) {
                ssize_t v;

                if (!xattr_exported(x))
                        continue;
                v = name ? lgetxattr(p, x, NULL, 0) : getxattr(p, x, NULL, 0);
                if (v < 0)
                        continue;
                free(value);
                value = malloc((size_t) v + 1);
                if (!value)
                        return -ENOMEM;
                v = name ? lgetxattr(p, x, value, (size_t) v) : getxattr(p, x, value, (size_t) v);
                if (v < 0)
                        continue;
                archive_entry_xattr_add_entry(entry, x, value, (size_t) v);
        }
        return 0;
}

/* One file of the merged tree. Returns > 0 if it is a directory to descend into. */
static int export_inode(Export *e, int dir_fd, const char *name, const char *path, const struct stat *st) {
        _cleanup_(archive_entry_freep) struct archive_entry *entry = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint32_t base = e->req->uid_base;
        uint64_t size = 0;
        int r;

        if (S_ISSOCK(st->st_mode))
                return 0; /* tar has no sockets; they are made by whoever listens, anyway */

        entry = archive_entry_new();
        if (!entry)
                return -ENOMEM;
        archive_entry_set_pathname(entry, path);
        archive_entry_set_mode(entry, st->st_mode);
        archive_entry_set_uid(entry, export_shift_id(st->st_uid, base));
        archive_entry_set_gid(entry, export_shift_id(st->st_gid, base));
        archive_entry_set_mtime(entry, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        r = entry_add_xattrs(e, entry, dir_fd, name);
        if (r < 0)
                return r;

        if (S_ISREG(st->st_mode)) {
                char key[48];

                (void) snprintf(key, sizeof key, "%llx:%llx", (unsigned long long) st->st_dev,
                                (unsigned long long) st->st_ino);
                if (st->st_nlink > 1) {
                        HardLink *l = hashmap_get(e->links, key);
                        if (l) {
                                /* a further name of a file we wrote: a hardlink to it */
                                archive_entry_set_hardlink(entry, l->path);
                                archive_entry_set_size(entry, 0);
                                if (archive_write_header(e->a, entry) < ARCHIVE_WARN)
                                        return archive_fail(e, path);
                                return export_finish_entry(e, path);
                        }
                }
                fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                return 0; /* removed since we listed it (a running container) */
                        return transfer_worker_error(e->t, -errno, "Failed to open %s: %m", path);
                }
                if (st->st_nlink > 1) {
                        HardLink *l = calloc(1, sizeof(HardLink));
                        if (!l)
                                return -ENOMEM;
                        memcpy(l->key, key, sizeof key);
                        l->path = strdup(path);
                        if (!l->path || hashmap_put(e->links, l->key, l) < 0) {
                                free(l->path);
                                free(l);
                                return -ENOMEM;
                        }
                }
                size = (uint64_t) st->st_size;
                archive_entry_set_size(entry, (la_int64_t) size);
        } else if (S_ISLNK(st->st_mode)) {
                char target[PATH_MAX + 1];
                ssize_t n = readlinkat(dir_fd, name, target, sizeof target - 1);
                if (n < 0)
                        return transfer_worker_error(e->t, -errno, "Failed to read the symlink %s: %m", path);
                target[n] = 0;
                archive_entry_set_symlink(entry, target);
        } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
                archive_entry_set_rdev(entry, st->st_rdev);

        if (archive_write_header(e->a, entry) < ARCHIVE_WARN)
                return archive_fail(e, path);

        /* what the stat said: a file that grows meanwhile is cut there, one that shrinks is padded
         * with zeros by libarchive, so the archive stays well formed */
        for (uint64_t done = 0; fd >= 0 && done < size;) {
                ssize_t n = read(fd, e->buf, (size_t) MIN((uint64_t) BUFFER_SIZE, size - done));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return transfer_worker_error(e->t, -errno, "Failed to read %s: %m", path);
                }
                if (n == 0)
                        break;
                r = export_data(e, path, e->buf, (size_t) n);
                if (r < 0)
                        return r;
                done += (uint64_t) n;
        }
        r = export_finish_entry(e, path);
        if (r < 0)
                return r;
        return S_ISDIR(st->st_mode);
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Depth first, names sorted: the same tree makes the same archive. */
static int export_tree(Export *e, int dir_fd, const char *path) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        size_t n;
        int r = 0;

        d = opendir_dup(dir_fd);
        if (!d)
                return -errno;
        errno = 0;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                errno = 0;
        }
        if (errno > 0)
                r = transfer_worker_error(e->t, -errno, "Failed to read the directory %s: %m",
                                          isempty(path) ? "/" : path);
        closedir(d);
        if (r < 0)
                return r;
        n = strv_length(names);
        if (n > 1)
                qsort(names, n, sizeof(char *), cmp_names);

        STRV_FOREACH(name, names) {
                _cleanup_free_ char *child = isempty(path) ? strdup(*name) : strjoin(path, "/", *name);
                _cleanup_close_ int sub = -EBADF;
                struct stat st;

                if (!child)
                        return -ENOMEM;
                if (strlen(child) >= PATH_MAX)
                        return transfer_worker_error(e->t, -ENAMETOOLONG, "Path too long: %.64s…", child);
                if (fstatat(dir_fd, *name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue; /* removed since we listed it (a running container) */
                        return transfer_worker_error(e->t, -errno, "Failed to stat %s: %m", child);
                }
                if (e->skip_ino > 0 && st.st_dev == e->skip_dev && st.st_ino == e->skip_ino)
                        continue;
                r = export_inode(e, dir_fd, *name, child, &st);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                if (e->one_file_system && st.st_dev != e->root_dev)
                        continue; /* a mount point: the directory, not what is mounted there */
                sub = openat(dir_fd, *name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0)
                        return transfer_worker_error(e->t, -errno, "Failed to open the directory %s: %m",
                                                     child);
                r = export_tree(e, sub, child);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int export_root_tree(Export *e, int root_fd);

static int export_rootfs(Export *e) {
        _cleanup_close_ int root_fd = -EBADF;

        e->total = e->req->size_hint;
        if (e->req->upper)
                e->total += image_store_du(AT_FDCWD, e->req->upper);
        export_progress(e, true);

        root_fd = overlay_open(e);
        if (root_fd < 0)
                return root_fd;
        return export_root_tree(e, root_fd);
}

/* The tree under root_fd, the root first. */
static int export_root_tree(Export *e, int root_fd) {
        struct archive_entry *entry;
        struct stat st;
        int r;

        e->links = hashmap_new();
        if (!e->links)
                return -ENOMEM;

        /* the root itself first, for its mode and owner, as `tar -C root .` writes it */
        if (fstat(root_fd, &st) < 0)
                return transfer_worker_error(e->t, -errno, "Failed to stat the root: %m");
        e->root_dev = st.st_dev;
        entry = archive_entry_new();
        if (!entry)
                return -ENOMEM;
        archive_entry_set_pathname(entry, "./");
        archive_entry_set_mode(entry, st.st_mode);
        archive_entry_set_uid(entry, export_shift_id(st.st_uid, e->req->uid_base));
        archive_entry_set_gid(entry, export_shift_id(st.st_gid, e->req->uid_base));
        archive_entry_set_mtime(entry, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        r = entry_add_xattrs(e, entry, root_fd, NULL);
        if (r >= 0 && archive_write_header(e->a, entry) < ARCHIVE_WARN)
                r = archive_fail(e, "./");
        archive_entry_free(entry);
        if (r < 0)
                return r;

        r = export_tree(e, root_fd, "");
        if (r < 0)
                return r;
        return export_close_archive(e);
}

int export_directory_tar(Transfer *t, int root_fd, int out_fd, uint64_t size_hint, uint64_t max_size,
                         const char *skip) {
        ExportRequest req = { .fd = out_fd, .format = EXPORT_TAR, .size_hint = size_hint };
        _cleanup_(export_done) Export e = {
                .t = t,
                .req = &req,
                .blobs_fd = -EBADF,
                .one_file_system = true,
                .output = "the directory's archive",
                .max_written = max_size,
        };
        struct stat st;
        int r;

        if (skip && stat(skip, &st) >= 0) {
                e.skip_dev = st.st_dev;
                e.skip_ino = st.st_ino;
        }
        e.total = size_hint;
        e.buf = malloc(BUFFER_SIZE);
        if (!e.buf)
                return -ENOMEM;
        r = export_open_archive(&e);
        if (r < 0)
                return r;
        export_progress(&e, true);
        return export_root_tree(&e, root_fd);
}

/* The worker holds only what it needs: another client's pipe, inherited by accident, would not see
 * its end until this export is over. */
static void close_other_fds(int a, int b) {
        int keep[2] = { MIN(a, b), MAX(a, b) };
        unsigned from = 3;

        for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
                if (keep[i] < (int) from)
                        continue;
                if ((unsigned) keep[i] > from)
                        (void) close_range(from, (unsigned) keep[i] - 1, 0);
                from = (unsigned) keep[i] + 1;
        }
        (void) close_range(from, ~0U, 0);
}

int export_work(Transfer *t, void *userdata) {
        ExportRequest *req = ASSERT_PTR(userdata);
        _cleanup_(export_done) Export e = { .t = t, .req = req, .blobs_fd = -EBADF };
        _cleanup_free_ char *blobs = NULL;
        char result[64];
        int r;

        close_other_fds(t->fd, req->fd);

        e.buf = malloc(BUFFER_SIZE);
        if (!e.buf)
                return -ENOMEM;
        if (req->format != EXPORT_TAR) {
                blobs = strjoin(req->state_dir, "/blobs/sha256");
                if (!blobs)
                        return -ENOMEM;
                e.blobs_fd = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (e.blobs_fd < 0)
                        return transfer_worker_error(t, -errno, "Failed to open %s: %m", blobs);
        }
        r = export_open_archive(&e);
        if (r < 0)
                return transfer_worker_error(t, r, "Failed to export %s: %s", req->name, strerror(-r));

        switch (req->format) {
        case EXPORT_OCI_ARCHIVE:
                r = export_oci_archive(&e);
                break;
        case EXPORT_DOCKER_ARCHIVE:
                r = export_docker_archive(&e);
                break;
        case EXPORT_TAR:
                r = export_rootfs(&e);
                break;
        default:
                r = -EINVAL;
        }
        if (r < 0)
                /* vesseld keeps the first message: this one only when nothing said more */
                return transfer_worker_error(t, r, "Failed to export %s: %s", req->name, strerror(-r));

        (void) snprintf(result, sizeof result, "%" PRIu64, e.written);
        transfer_worker_result(t, result);
        return 0;
}
