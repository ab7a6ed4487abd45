/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "container.h"
#include "image.h"
#include "operation.h"

/* Exports, as Transfers: the worker writes the archive to the caller's fd (vesseld never opens a path
 * for a client).
 *
 *   oci-archive     a tar of an OCI image layout: the manifest, config and layer blobs exactly as
 *                   they were imported, so the archive imports again to the same digests
 *   docker-archive  what `docker save` writes: manifest.json, the config as imported and each layer
 *                   as an uncompressed tar named by its diff_id
 *   tar             the root file system, flattened: the image's layers (and a container's own layer)
 *                   as overlayfs merges them, whiteouts applied */

typedef enum ExportFormat {
        EXPORT_OCI_ARCHIVE,
        EXPORT_DOCKER_ARCHIVE,
        EXPORT_TAR,
        _EXPORT_FORMAT_MAX,
        _EXPORT_FORMAT_INVALID = -EINVAL,
} ExportFormat;

const char *export_format_to_string(ExportFormat f);
ExportFormat export_format_from_string(const char *s);

typedef struct ExportRequest {
        int fd; /* the caller's, open for writing */
        ExportFormat format;
        char *name; /* NAME:TAG of the image, or the container's name */
        char *state_dir;
        char *work_dir; /* tmp/export-…-<id>, created before the worker starts */

        /* oci-archive, docker-archive: the image as imported */
        char *manifest_blob;
        char *config_blob;
        char **diff_ids;       /* hex, bottom first */
        uint64_t *layer_sizes; /* their uncompressed sizes; 0 = unknown */

        /* tar: the directories to merge, topmost first */
        char **lowers;
        uint32_t uid_base;   /* PrivateUsers: host uids and gids [base, base + 65536) are the container's 0… */
        uint64_t size_hint;  /* about how much the tar holds, for progress; 0 = unknown */
        char *upper;         /* a container's own layer, whose size is added to the hint */
} ExportRequest;

ExportRequest *export_request_free(ExportRequest *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ExportRequest *, export_request_free);
void export_request_free_void(void *p);

/* In vesseld: what the worker needs, copied out of the image or container (the fd is the caller's to
 * set). What the caller can fix is a named error in 'error'. */
int export_request_for_image(Image *i, ExportFormat format, ExportRequest **ret, sd_bus_error *error);
int export_request_for_container(Container *c, ExportRequest **ret, sd_bus_error *error);

/* In the worker. */
int export_work(Transfer *t, void *userdata);

/* In an import's worker: the tree under root_fd (a root file system directory) as a tar to out_fd,
 * as `tar --one-file-system -C DIR -c .` writes it, names sorted (the same tree makes the same
 * archive), symlinks never followed, ids and xattrs as they are, sockets left out, and other file
 * systems' mount points kept as empty directories. Progress goes to t over size_hint; an archive
 * that would grow past max_size (0: no limit) is EFBIG; the directory skip (vesseld's own store,
 * with the archive being written) is left out wherever it turns up. Errors are reported on t too. */
int export_directory_tar(Transfer *t, int root_fd, int out_fd, uint64_t size_hint, uint64_t max_size,
                         const char *skip);

/* pure helpers (tests/unit/test-export.c) */

/* docker's full form of an image name, as containerd's io.containerd.image.name wants it:
 * "busybox:1" → "docker.io/library/busybox:1", "x/y:1" → "docker.io/x/y:1", "quay.io/x:1" as is */
int image_name_qualify(const char *name, char **ret);
/* The tag of NAME:TAG (after the last ':' that follows the last '/'), "latest" if none. */
const char *image_name_tag(const char *name);
/* Host uid → the container's, for PrivateUsers (base > 0): [base, base + 65536) → [0, 65536). */
uint32_t export_shift_id(uint32_t id, uint32_t base);
