/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "layer.h"
#include "string-util.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"

#define BLOCK_SIZE (128U * 1024U)

static inline const char *strna_(const char *s) {
        return s ?: "(none)";
}

LayerEntryKind layer_entry_parse(const char *name, char **ret_path) {
        _cleanup_free_ char *out = NULL;
        const char *p = name, *last = NULL;
        size_t n = 0, last_len = 0;
        LayerEntryKind kind = LAYER_ENTRY_NORMAL;

        if (isempty(name) || strlen(name) >= PATH_MAX)
                return -EINVAL;
        if (name[0] == '/')
                return -EINVAL;

        out = malloc(strlen(name) + 1);
        if (!out)
                return -ENOMEM;

        while (*p) {
                size_t l = strcspn(p, "/");

                if (l == 0 || (l == 1 && p[0] == '.')) {
                        /* "//" or "./": nothing */
                } else if (l == 2 && p[0] == '.' && p[1] == '.')
                        return -EINVAL;
                else {
                        if (n > 0)
                                out[n++] = '/';
                        last = out + n;
                        last_len = l;
                        memcpy(out + n, p, l);
                        n += l;
                }
                p += l;
                if (*p == '/')
                        p++;
        }
        out[n] = 0;

        if (n == 0) {
                *ret_path = TAKE_PTR(out);
                return LAYER_ENTRY_ROOT;
        }

        if (last_len == strlen(WHITEOUT_OPAQUE) && strncmp(last, WHITEOUT_OPAQUE, last_len) == 0) {
                kind = LAYER_ENTRY_OPAQUE;
                /* the directory that holds the marker */
                n = last == out ? 0 : (size_t) (last - out - 1);
                out[n] = 0;
        } else if (last_len >= strlen(WHITEOUT_META_PREFIX) &&
                   strncmp(last, WHITEOUT_META_PREFIX, strlen(WHITEOUT_META_PREFIX)) == 0)
                kind = LAYER_ENTRY_IGNORED;
        else if (last_len > strlen(WHITEOUT_PREFIX) && strncmp(last, WHITEOUT_PREFIX, strlen(WHITEOUT_PREFIX)) == 0) {
                const char *target = last + strlen(WHITEOUT_PREFIX);

                /* ".wh.." or ".wh.." would name the parent: hostile */
                if (streq(target, ".") || streq(target, ".."))
                        return -EINVAL;
                kind = LAYER_ENTRY_WHITEOUT;
                memmove((char *) last, target, strlen(target) + 1);
        }

        *ret_path = TAKE_PTR(out);
        return kind;
}

int path_split_parent(const char *path, char **ret_buf, const char **ret_parent, const char **ret_name) {
        char *buf, *slash;

        if (isempty(path))
                return -EINVAL;
        buf = strdup(path);
        if (!buf)
                return -ENOMEM;
        slash = strrchr(buf, '/');
        if (slash) {
                *slash = 0;
                *ret_parent = buf;
                *ret_name = slash + 1;
        } else {
                *ret_parent = buf + strlen(buf); /* "" */
                *ret_name = buf;
        }
        *ret_buf = buf;
        return 0;
}

/* ---- sha256 ------------------------------------------------------------------------------------ */

static void hex_of(const unsigned char *d, size_t l, char *ret) {
        static const char hex[] = "0123456789abcdef";
        for (size_t i = 0; i < l; i++) {
                ret[2 * i] = hex[d[i] >> 4];
                ret[2 * i + 1] = hex[d[i] & 15];
        }
        ret[2 * l] = 0;
}

void sha256_finish_hex(EVP_MD_CTX *ctx, char ret[SHA256_HEX_LEN + 1]) {
        unsigned char d[32];
        unsigned l = sizeof d;

        (void) EVP_DigestFinal_ex(ctx, d, &l);
        hex_of(d, 32, ret);
}

void evp_md_ctx_freep(EVP_MD_CTX **c) {
        if (*c)
                EVP_MD_CTX_free(*c);
}

EVP_MD_CTX *sha256_new(void) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(c);
                return NULL;
        }
        return c;
}

void sha256_buf_hex(const void *p, size_t l, char ret[SHA256_HEX_LEN + 1]) {
        unsigned char d[32];
        unsigned dl = sizeof d;

        (void) EVP_Digest(p, l, d, &dl, EVP_sha256(), NULL);
        hex_of(d, 32, ret);
}

int sha256_fd_hex(int fd, uint64_t max, char ret[SHA256_HEX_LEN + 1], uint64_t *ret_size) {
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = sha256_new();
        _cleanup_free_ char *buf = malloc(BLOCK_SIZE);
        uint64_t total = 0;

        if (!ctx || !buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = pread(fd, buf, BLOCK_SIZE, (off_t) total);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                total += (uint64_t) n;
                if (total > max)
                        return -EFBIG;
                (void) EVP_DigestUpdate(ctx, buf, (size_t) n);
        }
        sha256_finish_hex(ctx, ret);
        if (ret_size)
                *ret_size = total;
        return 0;
}

/* ---- the unpacker ------------------------------------------------------------------------------ */

typedef struct DirTimes {
        char *path;
        struct timespec ts[2];
} DirTimes;

typedef struct Apply {
        int root_fd;
        LayerApplyFlags flags;
        uint64_t max_size;
        const LayerSource *src;

        /* the blob as read */
        EVP_MD_CTX *blob_hash;
        uint64_t blob_bytes, last_progress;
        bool blob_eof;
        char *blob_buf;

        /* decompressed */
        struct archive *raw;
        EVP_MD_CTX *tar_hash;
        uint64_t tar_bytes;
        bool too_big;

        const char *entry; /* the entry being applied, for messages */
        char *error;

        /* a cache of the last parent directory resolved */
        char *parent_path;
        int parent_fd;

        DirTimes *dirs;
        size_t n_dirs, n_dirs_allocated;
} Apply;

static int apply_fail(Apply *a, int r, const char *fmt, ...) _printf_(3, 4);
static int apply_fail(Apply *a, int r, const char *fmt, ...) {
        va_list ap;

        if (r >= 0)
                r = -EINVAL;
        if (a->error) /* the first error is the one that matters */
                return r;
        errno = -r;
        va_start(ap, fmt);
        if (vasprintf(&a->error, fmt, ap) < 0)
                a->error = NULL;
        va_end(ap);
        return r;
}

/* The copy of the stream that LayerSource.copy asks for, written as it is read. */
static int apply_copy(Apply *a, LayerCopy which, const void *buf, size_t size) {
        const LayerSource *s = a->src;

        if (s->copy != which)
                return 0;
        for (size_t done = 0; done < size;) {
                ssize_t n = write(s->copy_fd, (const char *) buf + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return apply_fail(a, -errno, "cannot keep a copy of the blob: %m");
                }
                done += (size_t) n;
        }
        return 0;
}

static ssize_t on_blob_read(struct archive *ar, void *userdata, const void **ret_buf) {
        Apply *a = userdata;
        const LayerSource *s = a->src;
        ssize_t n;

        if (a->blob_eof)
                return 0;
        if (s->seekable)
                n = pread(s->fd, a->blob_buf, BLOCK_SIZE, (off_t) (s->offset + a->blob_bytes));
        else
                n = read(s->fd, a->blob_buf, BLOCK_SIZE);
        if (n < 0) {
                archive_set_error(ar, errno, "Failed to read the blob: %s", strerror(errno));
                return -1;
        }
        if (n == 0) {
                a->blob_eof = true;
                return 0;
        }
        a->blob_bytes += (uint64_t) n;
        if (s->expected_size != UINT64_MAX && a->blob_bytes > s->expected_size) {
                /* we read what the descriptor promised and more: no need to go on */
                archive_set_error(ar, EBADMSG, "Blob is larger than its descriptor's size %" PRIu64,
                                  s->expected_size);
                apply_fail(a, -EBADMSG, "blob is larger than its descriptor's size %" PRIu64 " bytes",
                           s->expected_size);
                return -1;
        }
        (void) EVP_DigestUpdate(a->blob_hash, a->blob_buf, (size_t) n);
        if (apply_copy(a, LAYER_COPY_BLOB, a->blob_buf, (size_t) n) < 0) {
                archive_set_error(ar, EIO, "%s", a->error ?: "write error");
                return -1;
        }
        if (s->progress && a->blob_bytes - a->last_progress >= 1024 * 1024) {
                a->last_progress = a->blob_bytes;
                s->progress(a->blob_bytes, s->userdata);
        }
        *ret_buf = a->blob_buf;
        return n;
}

/* The tar parser reads the decompressed stream through here, so that we hash exactly the bytes the
 * diff_id is made of and count them against MaxLayerSize as they come, before they are written. */
static ssize_t on_tar_read(struct archive *ar, void *userdata, const void **ret_buf) {
        Apply *a = userdata;
        const void *buf;
        size_t size;
        la_int64_t offset;
        int r;

        r = archive_read_data_block(a->raw, &buf, &size, &offset);
        if (r == ARCHIVE_EOF)
                return 0;
        if (r < ARCHIVE_WARN) {
                archive_set_error(ar, archive_errno(a->raw) ?: EIO, "%s", archive_error_string(a->raw) ?: "read error");
                return -1;
        }
        a->tar_bytes += size;
        if (a->max_size > 0 && a->tar_bytes > a->max_size) {
                a->too_big = true;
                archive_set_error(ar, EFBIG, "Uncompressed layer exceeds MaxLayerSize");
                return -1;
        }
        (void) EVP_DigestUpdate(a->tar_hash, buf, size);
        if (apply_copy(a, LAYER_COPY_TAR, buf, size) < 0) {
                archive_set_error(ar, EIO, "%s", a->error ?: "write error");
                return -1;
        }
        *ret_buf = buf;
        return (ssize_t) size;
}

static int openat2_beneath(int dir_fd, const char *path, int flags, uint64_t resolve) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .resolve = resolve | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        fd = (int) syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
        return fd < 0 ? -errno : fd;
}

static void apply_forget_parent(Apply *a) {
        a->parent_path = mfree(a->parent_path);
        a->parent_fd = safe_close(a->parent_fd);
}

/* An O_PATH fd of directory 'path' below the root, created (0755, root) where missing. Intermediate
 * symlinks are refused: a layer never has a reason to write through one, and one pointing out of the
 * root is the classic escape. */
static int apply_get_dir(Apply *a, const char *path) {
        _cleanup_free_ char *copy = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *s, *next;

        if (isempty(path)) {
                fd = fcntl(a->root_fd, F_DUPFD_CLOEXEC, 3);
                return fd < 0 ? -errno : TAKE_FD(fd);
        }

        fd = openat2_beneath(a->root_fd, path, O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
        if (fd >= 0)
                return TAKE_FD(fd);
        if (fd != -ENOENT && fd != -ELOOP && fd != -ENOTDIR)
                return apply_fail(a, fd, "entry '%s': cannot open directory '%s': %s", a->entry, path, strerror(-fd));

        /* slow path: component by component, creating what is missing */
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        fd = fcntl(a->root_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        for (s = copy; s; s = next) {
                int nfd;

                next = strchr(s, '/');
                if (next)
                        *next++ = 0;
                nfd = openat2_beneath(fd, s, O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH);
                if (nfd == -ENOENT) {
                        if (mkdirat(fd, s, 0755) < 0 && errno != EEXIST)
                                return apply_fail(a, -errno, "entry '%s': cannot create directory '%s': %m", a->entry, s);
                        nfd = openat2_beneath(fd, s, O_PATH | O_DIRECTORY | O_NOFOLLOW, RESOLVE_BENEATH);
                }
                if (IN_SET(nfd, -ELOOP, -ENOTDIR)) {
                        struct stat st;
                        if (fstatat(fd, s, &st, AT_SYMLINK_NOFOLLOW) >= 0 && S_ISLNK(st.st_mode))
                                nfd = -ELOOP;
                }
                if (nfd == -ELOOP)
                        return apply_fail(a, -ELOOP, "entry '%s': '%s' is a symlink, refusing to write through it",
                                          a->entry, path);
                if (nfd == -ENOTDIR)
                        return apply_fail(a, -ENOTDIR, "entry '%s': '%s' is not a directory", a->entry, path);
                if (nfd < 0)
                        return apply_fail(a, nfd, "entry '%s': cannot open '%s': %s", a->entry, path, strerror(-nfd));
                safe_close(fd);
                fd = nfd;
        }
        return TAKE_FD(fd);
}

static int apply_get_parent(Apply *a, const char *parent) {
        int fd;

        if (a->parent_path && streq(a->parent_path, parent))
                return a->parent_fd;
        apply_forget_parent(a);
        fd = apply_get_dir(a, parent);
        if (fd < 0)
                return fd;
        a->parent_path = strdup(parent);
        if (!a->parent_path) {
                safe_close(fd);
                return -ENOMEM;
        }
        a->parent_fd = fd;
        return fd;
}

static bool stat_is_whiteout(const struct stat *st) {
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Makes room for an entry of type 'mode' at parent_fd/name: what is there and is not a directory
 * that stays a directory goes. Returns 1 if an existing directory is kept, 2 if a whiteout was
 * replaced by a directory (which then must be opaque), 0 otherwise. */
static int apply_make_room(Apply *a, int parent_fd, const char *name, mode_t mode) {
        struct stat st;
        int r;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0;
                return apply_fail(a, -errno, "entry '%s': cannot stat: %m", a->entry);
        }
        if (S_ISDIR(st.st_mode)) {
                if (S_ISDIR(mode))
                        return 1;
                /* a file replaces a directory of the same layer. The cached parent is this entry's
                 * parent, not below the directory, so it stays valid. */
                r = rm_rf_at(parent_fd, name);
                if (r < 0)
                        return apply_fail(a, r, "entry '%s': cannot replace directory: %s", a->entry, strerror(-r));
                return 0;
        }
        if (unlinkat(parent_fd, name, 0) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot replace existing file: %m", a->entry);
        return (S_ISDIR(mode) && stat_is_whiteout(&st)) ? 2 : 0;
}

static bool xattr_allowed(const char *name) {
        /* overlayfs' own attributes would let an image redirect lookups to other files */
        if (startswith(name, "trusted.overlay.") || startswith(name, "user.overlay."))
                return false;
        return startswith(name, "user.") || startswith(name, "security.") || startswith(name, "trusted.") ||
               startswith(name, "system.posix_acl_");
}

static int apply_xattrs(Apply *a, struct archive_entry *e, int fd) {
        const char *name;
        const void *value;
        size_t size;

        if (!(a->flags & LAYER_APPLY_OWNERSHIP))
                return 0;
        archive_entry_xattr_reset(e);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!xattr_allowed(name))
                        continue;
                if (fsetxattr(fd, name, value, size, 0) < 0 && errno != EOPNOTSUPP)
                        return apply_fail(a, -errno, "entry '%s': cannot set xattr %s: %m", a->entry, name);
        }
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2]) {
        ts[0] = (struct timespec) { .tv_sec = archive_entry_atime(e), .tv_nsec = archive_entry_atime_nsec(e) };
        ts[1] = (struct timespec) { .tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e) };
        if (!archive_entry_atime_is_set(e))
                ts[0] = ts[1];
}

static mode_t entry_mode(Apply *a, struct archive_entry *e) {
        mode_t m = archive_entry_perm(e) & 07777;
        if (!(a->flags & LAYER_APPLY_OWNERSHIP))
                m &= 0777;
        return m;
}

/* chown first: it clears the setuid/setgid bits, which the chmod after it puts back */
static int apply_owner_mode_fd(Apply *a, struct archive_entry *e, int fd) {
        if (a->flags & LAYER_APPLY_OWNERSHIP)
                if (fchown(fd, (uid_t) archive_entry_uid(e), (gid_t) archive_entry_gid(e)) < 0)
                        return apply_fail(a, -errno, "entry '%s': cannot chown: %m", a->entry);
        if (fchmod(fd, entry_mode(a, e)) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot chmod: %m", a->entry);
        return 0;
}

static int apply_regular(Apply *a, struct archive_entry *e, struct archive *tar, int parent_fd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct timespec ts[2];
        int r;

        fd = openat(parent_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return apply_fail(a, -errno, "entry '%s': cannot create file: %m", a->entry);

        if (archive_entry_size(e) > 0) {
                uint64_t end = 0;

                for (;;) {
                        const void *buf;
                        size_t size;
                        la_int64_t offset;

                        r = archive_read_data_block(tar, &buf, &size, &offset);
                        if (r == ARCHIVE_EOF)
                                break;
                        if (r < ARCHIVE_WARN) {
                                if (a->too_big)
                                        return apply_fail(a, -EFBIG, "entry '%s': layer exceeds MaxLayerSize (%" PRIu64 " bytes uncompressed)",
                                                          a->entry, a->max_size);
                                return apply_fail(a, -(archive_errno(tar) ?: EIO), "entry '%s': %s", a->entry,
                                                  archive_error_string(tar) ?: "read error");
                        }
                        for (size_t done = 0; done < size;) {
                                ssize_t n = pwrite(fd, (const char *) buf + done, size - done, (off_t) offset + (off_t) done);
                                if (n < 0)
                                        return apply_fail(a, -errno, "entry '%s': write failed: %m", a->entry);
                                done += (size_t) n;
                        }
                        end = (uint64_t) offset + size;
                }
                /* a sparse file may end in a hole */
                if ((uint64_t) archive_entry_size(e) > end && ftruncate(fd, archive_entry_size(e)) < 0)
                        return apply_fail(a, -errno, "entry '%s': cannot set size: %m", a->entry);
        }

        r = apply_owner_mode_fd(a, e, fd);
        if (r < 0)
                return r;
        r = apply_xattrs(a, e, fd);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot set times: %m", a->entry);
        return 0;
}

static int apply_directory(Apply *a, struct archive_entry *e, int parent_fd, const char *name, const char *path,
                           bool make_opaque) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (name) {
                if (mkdirat(parent_fd, name, 0700) < 0 && errno != EEXIST)
                        return apply_fail(a, -errno, "entry '%s': cannot create directory: %m", a->entry);
                fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        } else
                fd = openat(a->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return apply_fail(a, -errno, "entry '%s': cannot open directory: %m", a->entry);

        r = apply_owner_mode_fd(a, e, fd);
        if (r < 0)
                return r;
        r = apply_xattrs(a, e, fd);
        if (r < 0)
                return r;
        if (make_opaque && fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot mark directory opaque: %m", a->entry);

        /* children change the mtime: set the times at the end */
        if (a->n_dirs >= a->n_dirs_allocated) {
                size_t k = MAX(a->n_dirs_allocated * 2, (size_t) 64);
                DirTimes *d = reallocarray(a->dirs, k, sizeof(DirTimes));
                if (!d)
                        return -ENOMEM;
                a->dirs = d;
                a->n_dirs_allocated = k;
        }
        a->dirs[a->n_dirs].path = strdup(path);
        if (!a->dirs[a->n_dirs].path)
                return -ENOMEM;
        entry_times(e, a->dirs[a->n_dirs].ts);
        a->n_dirs++;
        return 0;
}

static int apply_hardlink(Apply *a, struct archive_entry *e, int parent_fd, const char *name) {
        _cleanup_free_ char *target = NULL;
        _cleanup_close_ int tfd = -EBADF;
        struct stat st;
        int k;

        k = layer_entry_parse(archive_entry_hardlink(e), &target);
        if (k == -ENOMEM)
                return -ENOMEM;
        if (k != LAYER_ENTRY_NORMAL)
                return apply_fail(a, -EINVAL, "entry '%s': hardlink target '%s' is outside the layer", a->entry,
                                  archive_entry_hardlink(e));

        tfd = openat2_beneath(a->root_fd, target, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT);
        if (tfd < 0)
                return apply_fail(a, tfd, "entry '%s': hardlink target '%s' is not in this layer: %s", a->entry,
                                  target, strerror(-tfd));
        if (fstat(tfd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return apply_fail(a, -EPERM, "entry '%s': hardlink target '%s' is a directory", a->entry, target);
        if (linkat(tfd, "", parent_fd, name, AT_EMPTY_PATH) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot link to '%s': %m", a->entry, target);
        return 0;
}

static int apply_other(Apply *a, struct archive_entry *e, int parent_fd, const char *name) {
        struct timespec ts[2];
        mode_t type = archive_entry_filetype(e);

        if (type == AE_IFLNK) {
                const char *target = archive_entry_symlink(e);
                if (isempty(target))
                        return apply_fail(a, -EINVAL, "entry '%s': symlink without a target", a->entry);
                /* the target is stored as is: it is only ever followed inside the container's root */
                if (symlinkat(target, parent_fd, name) < 0)
                        return apply_fail(a, -errno, "entry '%s': cannot create symlink: %m", a->entry);
        } else if (IN_SET(type, (mode_t) AE_IFCHR, (mode_t) AE_IFBLK, (mode_t) AE_IFIFO)) {
                dev_t dev = IN_SET(type, (mode_t) AE_IFCHR, (mode_t) AE_IFBLK) ? archive_entry_rdev(e) : 0;

                if (!(a->flags & LAYER_APPLY_OWNERSHIP))
                        return apply_fail(a, -EPERM, "entry '%s': device nodes and fifos are not allowed here", a->entry);
                if (type == AE_IFCHR && dev == makedev(0, 0) && (a->flags & LAYER_APPLY_WHITEOUTS))
                        /* would read as an overlayfs whiteout: OCI says whiteouts are .wh. files */
                        return apply_fail(a, -EINVAL, "entry '%s': character device 0:0 (an overlayfs whiteout) in a layer",
                                          a->entry);
                if (mknodat(parent_fd, name, type | 0600, dev) < 0)
                        return apply_fail(a, -errno, "entry '%s': cannot create node: %m", a->entry);
                if (fchmodat(parent_fd, name, entry_mode(a, e), 0) < 0)
                        return apply_fail(a, -errno, "entry '%s': cannot chmod: %m", a->entry);
        } else
                return apply_fail(a, -EOPNOTSUPP, "entry '%s': unsupported file type 0%o", a->entry, (unsigned) type);

        if ((a->flags & LAYER_APPLY_OWNERSHIP) &&
            fchownat(parent_fd, name, (uid_t) archive_entry_uid(e), (gid_t) archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot chown: %m", a->entry);
        if (type == AE_IFIFO || type == AE_IFCHR || type == AE_IFBLK)
                /* chown cleared nothing a device needs, but keep the mode exact */
                (void) fchmodat(parent_fd, name, entry_mode(a, e), 0);
        entry_times(e, ts);
        (void) utimensat(parent_fd, name, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
}

static int apply_whiteout(Apply *a, int parent_fd, const char *name) {
        struct stat st;

        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                /* A whiteout hides the layers below only (image-spec): what this layer has stays. A
                 * directory of this layer must then hide what is below it: opaque. */
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                                return apply_fail(a, -errno, "entry '%s': cannot mark directory opaque: %m", a->entry);
                }
                return 0;
        }
        if (errno != ENOENT)
                return apply_fail(a, -errno, "entry '%s': cannot stat: %m", a->entry);
        if (mknodat(parent_fd, name, S_IFCHR | 0000, makedev(0, 0)) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot create whiteout: %m", a->entry);
        return 0;
}

static int apply_opaque(Apply *a, const char *path) {
        _cleanup_close_ int fd = -EBADF, pfd = -EBADF;

        pfd = apply_get_dir(a, path);
        if (pfd < 0)
                return pfd;
        fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsetxattr(fd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
                return apply_fail(a, -errno, "entry '%s': cannot mark directory opaque: %m", a->entry);
        return 0;
}

static int apply_entry(Apply *a, struct archive *tar, struct archive_entry *e) {
        _cleanup_free_ char *path = NULL, *buf = NULL;
        const char *parent, *name;
        LayerEntryKind kind;
        mode_t type;
        int pfd, r;

        a->entry = archive_entry_pathname(e);
        if (!a->entry)
                return apply_fail(a, -EINVAL, "entry without a name (or one not in the archive's charset)");

        kind = layer_entry_parse(a->entry, &path);
        if (kind == -ENOMEM)
                return -ENOMEM;
        if (kind < 0)
                return apply_fail(a, kind, "entry '%s': absolute path or '..' component, refusing", a->entry);
        if (archive_entry_size(e) > 0 && a->max_size > 0 && (uint64_t) archive_entry_size(e) > a->max_size)
                return apply_fail(a, -EFBIG, "entry '%s': %" PRIi64 " bytes, past MaxLayerSize (%" PRIu64 ")", a->entry,
                                  (int64_t) archive_entry_size(e), a->max_size);

        if (!(a->flags & LAYER_APPLY_WHITEOUTS) && kind != LAYER_ENTRY_ROOT) {
                /* undo the whiteout interpretation: names are just names here */
                path = mfree(path);
                kind = layer_entry_parse(a->entry, &path);
                if (kind < 0)
                        return kind;
                if (kind != LAYER_ENTRY_NORMAL && kind != LAYER_ENTRY_ROOT)
                        return 0; /* archives of layouts never carry such names: skip */
        }

        type = archive_entry_filetype(e);
        switch (kind) {
        case LAYER_ENTRY_IGNORED:
                return 0;
        case LAYER_ENTRY_OPAQUE:
                return apply_opaque(a, path);
        case LAYER_ENTRY_ROOT:
                if (type != AE_IFDIR)
                        return apply_fail(a, -EINVAL, "entry '%s': the root is not a directory", a->entry);
                return apply_directory(a, e, -EBADF, NULL, "", false);
        default:
                break;
        }

        r = path_split_parent(path, &buf, &parent, &name);
        if (r < 0)
                return r;
        pfd = apply_get_parent(a, parent);
        if (pfd < 0)
                return pfd;

        if (kind == LAYER_ENTRY_WHITEOUT)
                return apply_whiteout(a, pfd, name);

        if (archive_entry_hardlink(e)) {
                r = apply_make_room(a, pfd, name, S_IFREG);
                if (r < 0)
                        return r;
                return apply_hardlink(a, e, pfd, name);
        }

        r = apply_make_room(a, pfd, name, type == AE_IFDIR ? S_IFDIR : S_IFREG);
        if (r < 0)
                return r;
        if (type == AE_IFDIR)
                return apply_directory(a, e, pfd, name, path, r == 2);
        if (type == AE_IFREG)
                return apply_regular(a, e, tar, pfd, name);
        return apply_other(a, e, pfd, name);
}

static void apply_dir_times(Apply *a) {
        /* deepest first does not matter: setting a directory's times changes no other directory's */
        for (size_t i = 0; i < a->n_dirs; i++) {
                _cleanup_close_ int fd = -EBADF;

                if (isempty(a->dirs[i].path))
                        fd = fcntl(a->root_fd, F_DUPFD_CLOEXEC, 3);
                else
                        fd = openat2_beneath(a->root_fd, a->dirs[i].path, O_RDONLY | O_DIRECTORY, RESOLVE_IN_ROOT);
                if (fd >= 0)
                        (void) futimens(fd, a->dirs[i].ts);
        }
}

static void apply_done(Apply *a) {
        apply_forget_parent(a);
        for (size_t i = 0; i < a->n_dirs; i++)
                free(a->dirs[i].path);
        free(a->dirs);
        if (a->blob_hash)
                EVP_MD_CTX_free(a->blob_hash);
        if (a->tar_hash)
                EVP_MD_CTX_free(a->tar_hash);
        if (a->raw)
                archive_read_free(a->raw);
        free(a->blob_buf);
}

int layer_apply(int root_fd, const LayerSource *src, LayerApplyFlags flags, uint64_t max_size, LayerResult *ret,
                char **ret_error) {
        _cleanup_(apply_done) Apply a = {
                .root_fd = root_fd,
                .flags = flags,
                .max_size = max_size,
                .src = src,
                .parent_fd = -EBADF,
        };
        struct archive *tar = NULL;
        struct archive_entry *e;
        LayerResult res = {};
        int r;

        a.blob_hash = sha256_new();
        a.tar_hash = sha256_new();
        a.blob_buf = malloc(BLOCK_SIZE);
        a.raw = archive_read_new();
        if (!a.blob_hash || !a.tar_hash || !a.blob_buf || !a.raw)
                return -ENOMEM;

        /* stage 1: decompress whatever filter it is ("raw" format: one entry, the whole stream) */
        archive_read_support_filter_all(a.raw);
        archive_read_support_format_raw(a.raw);
        if (archive_read_open(a.raw, &a, NULL, on_blob_read, NULL) != ARCHIVE_OK) {
                r = apply_fail(&a, -(archive_errno(a.raw) ?: EIO), "cannot read the blob: %s",
                               archive_error_string(a.raw) ?: "unknown error");
                goto finish;
        }
        if (archive_read_next_header(a.raw, &e) != ARCHIVE_OK) {
                r = apply_fail(&a, -(archive_errno(a.raw) ?: EIO), "cannot read the blob: %s",
                               archive_error_string(a.raw) ?: "empty or truncated");
                goto finish;
        }

        /* stage 2: the tar inside */
        tar = archive_read_new();
        if (!tar) {
                r = -ENOMEM;
                goto finish;
        }
        archive_read_support_format_tar(tar);
        archive_read_support_format_gnutar(tar);
        if (archive_read_open(tar, &a, NULL, on_tar_read, NULL) != ARCHIVE_OK) {
                r = apply_fail(&a, -(archive_errno(tar) ?: EIO), "not a tar archive: %s",
                               archive_error_string(tar) ?: "unknown error");
                goto finish;
        }

        for (;;) {
                r = archive_read_next_header(tar, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN) {
                        if (a.too_big)
                                r = apply_fail(&a, -EFBIG, "layer exceeds MaxLayerSize (%" PRIu64 " bytes uncompressed) after entry '%s'",
                                               a.max_size, strna_(a.entry));
                        else
                                r = apply_fail(&a, -(archive_errno(tar) > 0 ? archive_errno(tar) : EBADMSG),
                                               "malformed or truncated tar after entry '%s': %s", strna_(a.entry),
                                               archive_error_string(tar) ?: "read error");
                        goto finish;
                }
                res.n_entries++;
                r = apply_entry(&a, tar, e);
                if (r < 0)
                        goto finish;
                a.entry = NULL;
        }

        /* the tar's end marker may come before the end of the stream: hash the rest too, as the
         * digests are of the whole blob */
        for (;;) {
                const void *buf;
                ssize_t n = on_tar_read(tar, &a, &buf);
                if (n == 0)
                        break;
                if (n < 0) {
                        r = apply_fail(&a, a.too_big ? -EFBIG : -EBADMSG, "blob is truncated or corrupt: %s",
                                       archive_error_string(tar) ?: archive_error_string(a.raw) ?: "read error");
                        goto finish;
                }
        }
        while (!a.blob_eof) {
                const void *buf;
                if (on_blob_read(a.raw, &a, &buf) < 0) {
                        r = apply_fail(&a, -EIO, "cannot read the blob: %s", archive_error_string(a.raw) ?: "read error");
                        goto finish;
                }
        }

        apply_dir_times(&a);

        sha256_finish_hex(a.blob_hash, res.digest);
        sha256_finish_hex(a.tar_hash, res.diff_id);
        res.blob_size = a.blob_bytes;
        res.tar_size = a.tar_bytes;

        if (src->expected_size != UINT64_MAX && res.blob_size != src->expected_size) {
                r = apply_fail(&a, -EBADMSG, "blob is truncated: %" PRIu64 " bytes, its descriptor says %" PRIu64,
                               res.blob_size, src->expected_size);
                goto finish;
        }
        if (!isempty(src->expected_digest_hex) && !streq(src->expected_digest_hex, res.digest)) {
                r = apply_fail(&a, -EBADMSG, "digest mismatch: the blob is sha256:%s, its descriptor says sha256:%s",
                               res.digest, src->expected_digest_hex);
                goto finish;
        }
        if (src->progress)
                src->progress(a.blob_bytes, src->userdata);

        *ret = res;
        r = 0;
finish:
        if (tar)
                archive_read_free(tar);
        if (r < 0 && ret_error)
                *ret_error = TAKE_PTR(a.error);
        free(a.error);
        return r;
}
