/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define SHA256_HEX_LEN 64

/* What one tar entry name means for a layer (OCI image-spec, layer.md). */
typedef enum LayerEntryKind {
        LAYER_ENTRY_ROOT,      /* ".", "./": the layer's root directory itself */
        LAYER_ENTRY_NORMAL,    /* a file, directory, link... */
        LAYER_ENTRY_WHITEOUT,  /* ".wh.NAME": NAME is deleted from the layers below */
        LAYER_ENTRY_OPAQUE,    /* ".wh..wh..opq": the directory hides the layers below */
        LAYER_ENTRY_IGNORED,   /* ".wh..wh.*" other than the opaque marker (aufs metadata) */
        _LAYER_ENTRY_KIND_MAX,
        _LAYER_ENTRY_KIND_INVALID = -EINVAL,
} LayerEntryKind;

/* Normalizes a tar entry name ("./a//b/" → "a/b") and says what it is. On success *ret_path is the
 * normalized path of the entry ("" for the root) with, for whiteouts, the whiteout prefix removed
 * ("a/.wh.b" → "a/b"; the opaque marker "a/.wh..wh..opq" → "a"). Refuses (-EINVAL) absolute names,
 * ".." components and names that are empty or too long: the caller reports the entry as hostile. */
LayerEntryKind layer_entry_parse(const char *name, char **ret_path);

/* Splits a normalized, non-empty path into the parent ("" for top level) and last component; both
 * point into a copy returned in *ret_buf. */
int path_split_parent(const char *path, char **ret_buf, const char **ret_parent, const char **ret_name);

/* What layer_apply() also writes to LayerSource.copy_fd, as it reads: nothing, the blob as read (kept
 * to export it again byte for byte), or its uncompressed tar (where the image's manifest names the
 * layer by its diff_id). */
typedef enum LayerCopy {
        LAYER_COPY_NONE,
        LAYER_COPY_BLOB,
        LAYER_COPY_TAR,
        _LAYER_COPY_MAX,
        _LAYER_COPY_INVALID = -EINVAL,
} LayerCopy;

/* Where a blob comes from: an fd read with pread() from 'offset' (so a caller's file offset is never
 * moved), or with read() when not seekable. */
typedef struct LayerSource {
        int fd;
        bool seekable;
        uint64_t offset;

        /* checks, when known: "" / UINT64_MAX = unknown */
        const char *expected_digest_hex;
        uint64_t expected_size;

        /* called now and then with the bytes read from fd so far */
        void (*progress)(uint64_t bytes_read, void *userdata);
        void *userdata;

        /* a copy of the stream, written to copy_fd as it is read; LAYER_COPY_NONE (0) = none */
        LayerCopy copy;
        int copy_fd;
} LayerSource;

typedef enum LayerApplyFlags {
        LAYER_APPLY_WHITEOUTS = 1 << 0, /* OCI whiteouts → overlayfs whiteouts/opaque dirs */
        LAYER_APPLY_OWNERSHIP = 1 << 1, /* uid/gid, setuid bits, device nodes, xattrs */
} LayerApplyFlags;

typedef struct LayerResult {
        char diff_id[SHA256_HEX_LEN + 1]; /* sha256 of the uncompressed tar */
        char digest[SHA256_HEX_LEN + 1];  /* sha256 of the blob as read */
        uint64_t blob_size;               /* bytes read */
        uint64_t tar_size;                /* uncompressed bytes */
        uint64_t n_entries;
} LayerResult;

/* Unpacks the (tar, gzip/xz/zstd/bzip2-compressed or not) layer from 'src' into the directory root_fd,
 * which should be empty and private to us. Every path is resolved inside root_fd with
 * openat2(RESOLVE_IN_ROOT|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS); an entry that would write
 * through a symlink, link to a file outside the layer, name an absolute path or "..", or push the
 * uncompressed size past max_size ends the unpack with an error. The blob's size and digest are
 * checked against src's expectations at the end. On failure *ret_error (if given) says what went wrong
 * and with which entry; what was written below root_fd is left for the caller to remove. */
int layer_apply(int root_fd, const LayerSource *src, LayerApplyFlags flags, uint64_t max_size,
                LayerResult *ret, char **ret_error);

/* sha256 helpers (libcrypto): a hash fed piece by piece, and the whole of an fd or a buffer */
EVP_MD_CTX *sha256_new(void);
void sha256_finish_hex(EVP_MD_CTX *c, char ret[SHA256_HEX_LEN + 1]);
void evp_md_ctx_freep(EVP_MD_CTX **c);
int sha256_fd_hex(int fd, uint64_t max, char ret[SHA256_HEX_LEN + 1], uint64_t *ret_size);
void sha256_buf_hex(const void *p, size_t l, char ret[SHA256_HEX_LEN + 1]);
