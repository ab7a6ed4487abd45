/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "layer.h"
#include "manager.h"
#include "operation.h"
#include "settings.h"

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* The image store, under the state directory (/var/lib/vessel):
 *
 *   layers/<diff_id hex>/   one unpacked layer, content-addressed by the sha256 of its uncompressed
 *                           tar (the OCI diff_id), shared by every image that has it; OCI whiteouts
 *                           are stored as overlayfs ones, so the directories stack as overlay lowers
 *   blobs/sha256/<digest>   the layer blobs as the image's manifest names them (compressed as they
 *                           came; for tarballs and docker-archives the uncompressed tar), kept so
 *                           that an export writes the very bytes that were imported; shared, and
 *                           removed with the last image whose manifest names them
 *   images/<label>.json     one image record (name, digests, layers, the config, and the manifest
 *                           and config blobs byte for byte), written with rename(), so an image is
 *                           there entirely or not at all
 *   tmp/                    work directories of imports and exports; removed at start
 *
 * A layer directory or blob appears (rename() from tmp/) only once complete, before any record naming
 * it; a crash leaves at most complete layers and blobs no image names, which `prune` removes. */

#define IMAGE_JSON_MAX (4U * 1024U * 1024U) /* manifests, indexes, configs */
#define IMAGE_LAYERS_MAX 128U
#define IMAGES_MAX 4096U

typedef struct ImageConfig {
        char *os, *architecture, *variant;
        uint64_t created_usec; /* 0 = unknown */
        char **entrypoint;
        char **cmd;
        char **env;
        char *working_dir;
        char *user;
        char *stop_signal;
        char **labels; /* "KEY=VALUE" */
        char **exposed_ports;
        char **diff_ids; /* hex, bottom layer first */
} ImageConfig;

typedef struct Image {
        Manager *manager;
        char *name;          /* NAME:TAG */
        char *digest;        /* sha256:… of the manifest */
        char *config_digest; /* sha256:… of the config: the image id */
        char *format;        /* what it was imported from */
        uint64_t size;       /* uncompressed bytes of its layers */
        uint64_t created_usec, imported_usec;
        char **layers;       /* diff_id hex, bottom first */
        uint64_t *layer_sizes;
        ImageConfig config;

        /* the manifest and config as imported, byte for byte (NULL in records older than exports),
         * and the digests (hex) of the layer blobs the manifest names, bottom first */
        char *manifest_blob;
        char *config_blob;
        char **blobs;
} Image;

void image_config_done(ImageConfig *c);
Image *image_free(Image *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(Image *, image_free);

/* ---- pure parsing (tests/unit/test-image-*.c) ------------------------------------------------- */

/* "sha256:<64 lower-case hex>" → the hex; -EOPNOTSUPP for another algorithm, -EINVAL otherwise. */
int digest_parse(const char *s, char ret_hex[SHA256_HEX_LEN + 1]);

typedef struct OciDescriptor {
        char *media_type;
        char hex[SHA256_HEX_LEN + 1];
        uint64_t size;
        char *ref_name; /* annotation org.opencontainers.image.ref.name */
        char *os, *architecture, *variant;
} OciDescriptor;

void oci_descriptor_done(OciDescriptor *d);
void oci_descriptors_free(OciDescriptor *d, size_t n);

/* "what": the name of the blob/file, for messages. Errors name the fault. */
int oci_descriptor_from_json(json_object *o, OciDescriptor *ret, char **ret_error);
/* index.json or an image index blob: its manifests[] */
int oci_index_parse(const char *text, size_t size, OciDescriptor **ret, size_t *ret_n, char **ret_error);
/* an image manifest: config and layers[] */
int oci_manifest_parse(const char *text, size_t size, OciDescriptor *ret_config, OciDescriptor **ret_layers,
                       size_t *ret_n, char **ret_error);
int image_config_parse(const char *text, size_t size, ImageConfig *ret, char **ret_error);
int image_config_from_json(json_object *o, ImageConfig *ret, char **ret_error);

typedef struct Platform {
        const char *os, *architecture, *variant;
} Platform;
/* the platform we run on, in OCI/GOARCH words */
const Platform *platform_native(void);
bool platform_matches(const Platform *want, const char *os, const char *architecture, const char *variant);

/* Picks the manifest of an index by ref (empty: "latest", or the only one) and, among those, by
 * platform (entries without one match any). Returns the index in d[]. */
int oci_index_pick(const OciDescriptor *d, size_t n, const char *ref, const Platform *p, size_t *ret,
                   char **ret_error);

typedef struct DockerManifestEntry {
        char *config;
        char **repo_tags;
        char **layers;
} DockerManifestEntry;
void docker_manifest_free(DockerManifestEntry *e, size_t n);
int docker_manifest_parse(const char *text, size_t size, DockerManifestEntry **ret, size_t *ret_n, char **ret_error);
/* by ref: a tag ("latest") or "name:tag"; empty picks "latest" or the only one */
int docker_manifest_pick(const DockerManifestEntry *e, size_t n, const char *ref, size_t *ret, char **ret_error);

/* RFC 3339 (as in "created") → µs since the epoch */
int parse_rfc3339(const char *s, uint64_t *ret);

/* Media types of layers we can apply. */
bool layer_media_type_supported(const char *media_type);

/* ---- the store --------------------------------------------------------------------------------- */

/* Creates the store's directories, removes tmp/ debris, loads the image records. */
int manager_load_images(Manager *m);
void manager_free_images(Manager *m);
Image *manager_find_image(Manager *m, const char *name);
/* Adds (or replaces) the image from its record on disk; emits ImageNew (and ImageRemoved for a
 * replaced one). */
int manager_add_image_from_store(Manager *m, const char *name, Image **ret);
int image_remove(Image *i);

/* The layer directories of the image, topmost first, joined by ':' as overlayfs' lowerdir= wants. */
int image_lower_dirs(Image *i, char **ret);
/* CreateContainer with a named image: resolves it, fills the settings' Command (Entrypoint + Cmd),
 * Environment (the image's under the caller's), WorkingDirectory, User and StopSignal from the image's
 * config where the caller gave none, as docker run does. Returns the image's normalized name and the
 * lowerdir= list. */
int image_prepare_container(Manager *m, const char *name, Settings *s, char **ret_image, char **ret_lower,
                            sd_bus_error *error);
/* 0 if every directory of a lowerdir= list exists, else -errno and the first missing one */
int image_lower_dirs_check(const char *list, char **ret_missing);

/* A container using it, or NULL */
Container *image_find_user(Image *i);

int image_get_path(Image *i, char **ret);

/* Disk usage of dir_fd/name, in allocated bytes, not crossing into symlinks. */
uint64_t image_store_du(int dir_fd, const char *name);

/* Removes layers that no image or container uses, and blobs no image's manifest names. -EBUSY while a
 * transfer runs. *ret_freed counts both, *ret_n the layers. */
int manager_prune_layers(Manager *m, uint64_t *ret_freed, unsigned *ret_n);
/* The blob store: how many blobs, their disk usage, and how much of it no image names. */
int manager_blobs_usage(Manager *m, unsigned *ret_n, uint64_t *ret_size, uint64_t *ret_unused);
/* Whether blobs/sha256/<hex> is named by an image's manifest. */
bool manager_blob_is_used(Manager *m, const char *hex);

/* ---- import/export (in a Transfer's worker) ---------------------------------------------------- */

typedef struct ImportRequest {
        int fd;         /* the caller's file or O_DIRECTORY fd */
        char *name;     /* "" = the archive's own */
        char *ref;      /* "" = latest */
        char *format;   /* auto, tar, oci, oci-archive, docker-archive */
        bool force;
        char *state_dir;
        char *work_dir; /* tmp/import-<id>, created before the worker starts */
        uint64_t max_layer_size;
} ImportRequest;

void import_request_free(void *p);
int image_import_work(Transfer *t, void *userdata);
