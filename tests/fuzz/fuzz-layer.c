/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A layer of a hostile image, unpacked as an import unpacks it (layer_apply(), with OCI whiteouts and
 * ownership). The input is read as choices (fuzz.h) and made into a real tar with libarchive, so that
 * the fuzzer explores entries, not tar header checksums: files, directories, symlinks, hardlinks,
 * device nodes, fifos, whiteouts and opaque markers, with paths and link targets from pieces that
 * matter ("..", "/", whiteout prefixes, the jail's own absolute path) or from the input.
 *
 * Each input is unpacked into JAIL/root, JAIL a fresh directory; besides not crashing, nothing may
 * appear in JAIL but root: a write through "..", an absolute path or a symlink (the jail's path is one
 * of the link targets) would land there. Needs root (ownership, device nodes, trusted.* xattrs). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "fuzz.h"
#include "layer.h"

#define TAR_MAX (1024 * 1024)

static char jail[PATH_MAX];
static char jail_parent[] = "/var/tmp/fuzz-layer-XXXXXX";

static const char *const pieces[] = {
        "a", "b", "etc", "usr/lib", "..", ".", "", "/", "//", ".wh.a", ".wh.b", ".wh..wh..opq", ".wh..wh.plnk",
        "a/..", "../..", "a/b/c", "dev", "proc", "x.wh.", "-",
};

static void piece(FuzzInput *in, char *buf, size_t size) {
        uint8_t c = fuzz_u8(in);
        size_t l = strlen(buf);

        if (c < 0xe0)
                snprintf(buf + l, size - l, "%s", pieces[c % ELEMENTSOF(pieces)]);
        else if (c < 0xf0)
                snprintf(buf + l, size - l, "%s", jail);
        else {
                _cleanup_free_ char *s = fuzz_string(in, 40);
                snprintf(buf + l, size - l, "%s", s ?: "");
        }
}

/* one to three pieces, joined by '/', maybe absolute */
static void path(FuzzInput *in, char *buf, size_t size) {
        uint8_t how = fuzz_u8(in);

        buf[0] = 0;
        if (how & 0x10)
                snprintf(buf, size, "/");
        else if (how & 0x20)
                snprintf(buf, size, "./");
        for (unsigned i = 0, n = 1 + how % 3; i < n; i++) {
                if (i > 0)
                        strncat(buf, "/", size - strlen(buf) - 1);
                piece(in, buf, size);
        }
}

static la_ssize_t on_write(struct archive *a, void *userdata, const void *buf, size_t size) {
        int fd = *(int *) userdata;
        return write(fd, buf, size);
}

/* the tar the choices describe, in a memfd; -1 when libarchive refuses to write it */
static int make_tar(FuzzInput *in, unsigned *ret_flags) {
        _cleanup_close_ int fd = memfd_create("fuzz-layer", MFD_CLOEXEC);
        struct archive *w = archive_write_new();
        uint8_t head = fuzz_u8(in);
        int r = 0;

        if (fd < 0 || !w)
                abort();
        *ret_flags = (head & 1 ? LAYER_APPLY_WHITEOUTS : 0) | (head & 2 ? LAYER_APPLY_OWNERSHIP : 0);
        if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
            (head & 4 && archive_write_add_filter_gzip(w) != ARCHIVE_OK) ||
            archive_write_open2(w, &fd, NULL, on_write, NULL, NULL) != ARCHIVE_OK)
                abort();
        for (unsigned i = 0, n = fuzz_u8(in) % 12; r == 0 && i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                uint8_t type = fuzz_u8(in), size = fuzz_u8(in) % 64;
                char name[PATH_MAX], target[PATH_MAX];

                path(in, name, sizeof name);
                archive_entry_set_pathname(e, name);
                archive_entry_set_perm(e, (mode_t) (fuzz_u64(in) & 07777));
                archive_entry_set_uid(e, fuzz_u8(in));
                archive_entry_set_gid(e, fuzz_u8(in));
                archive_entry_set_mtime(e, 1000000, 0);
                switch (type % 7) {
                case 0:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, size);
                        break;
                case 1:
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case 2:
                        path(in, target, sizeof target);
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, target);
                        break;
                case 3:
                        path(in, target, sizeof target);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, target);
                        break;
                case 4:
                        archive_entry_set_filetype(e, AE_IFCHR);
                        archive_entry_set_rdev(e, makedev(fuzz_u8(in) % 8, fuzz_u8(in) % 8));
                        break;
                case 5:
                        archive_entry_set_filetype(e, AE_IFIFO);
                        break;
                case 6:
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_xattr_add_entry(e, fuzz_u8(in) & 1 ? "user.a" : "trusted.overlay.opaque", "y", 1);
                        break;
                }
                if (archive_write_header(w, e) != ARCHIVE_OK)
                        r = -1;
                else if (type % 7 == 0) {
                        char data[64] = {};
                        for (unsigned k = 0; k < size; k++)
                                data[k] = (char) fuzz_u8(in);
                        if (archive_write_data(w, data, size) != size)
                                r = -1;
                }
                archive_entry_free(e);
        }
        if (archive_write_close(w) != ARCHIVE_OK)
                r = -1;
        archive_write_free(w);
        return r < 0 ? -1 : TAKE_FD(fd);
}

static void remove_jail_parent(void) {
        (void) rm_rf(jail_parent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        _cleanup_close_ int tar = -EBADF, jail_fd = -EBADF, root_fd = -EBADF;
        _cleanup_free_ char *error = NULL;
        LayerResult res;
        unsigned flags;
        DIR *d;

        if (!jail[0]) {
                if (geteuid() != 0) {
                        fprintf(stderr, "fuzz-layer: needs root (ownership, device nodes, trusted.* xattrs)\n");
                        abort();
                }
                if (!mkdtemp(jail_parent))
                        abort();
                atexit(remove_jail_parent);
                snprintf(jail, sizeof jail, "%s/jail", jail_parent);
        }
        tar = make_tar(&in, &flags);
        if (tar < 0)
                return 0;

        if (mkdir(jail, 0755) < 0)
                abort();
        jail_fd = open(jail, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (jail_fd < 0 || mkdirat(jail_fd, "root", 0755) < 0)
                abort();
        root_fd = openat(jail_fd, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                abort();

        LayerSource src = {
                .fd = tar,
                .seekable = true,
                .expected_digest_hex = "",
                .expected_size = UINT64_MAX,
        };
        (void) layer_apply(root_fd, &src, flags, TAR_MAX, &res, &error);

        /* nothing beside root/ */
        d = fdopendir(fcntl(jail_fd, F_DUPFD_CLOEXEC, 3));
        if (!d)
                abort();
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, "root") != 0) {
                        fprintf(stderr, "fuzz-layer: the layer wrote %s/%s, outside its root\n", jail, de->d_name);
                        abort();
                }
        closedir(d);
        if (rm_rf(jail) < 0 && errno != ENOENT)
                abort();
        return 0;
}
