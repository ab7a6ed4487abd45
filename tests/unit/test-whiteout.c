/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fd-util.h"
#include "layer.h"

static void check_parse(const char *name, int kind, const char *path) {
        _cleanup_free_ char *p = NULL;
        int r = layer_entry_parse(name, &p);

        cr_assert(eq(int, r, kind), "%s: kind %d, expected %d", name, r, kind);
        if (r >= 0)
                cr_assert(eq(str, p, (char *) path), "%s", name);
}

Test(layer_entry_parse, normalizes_names) {
        check_parse("a/b", LAYER_ENTRY_NORMAL, "a/b");
        check_parse("./a//b/", LAYER_ENTRY_NORMAL, "a/b");
        check_parse("./a/./b", LAYER_ENTRY_NORMAL, "a/b");
        check_parse("./", LAYER_ENTRY_ROOT, "");
        check_parse(".", LAYER_ENTRY_ROOT, "");
        check_parse("a/..b", LAYER_ENTRY_NORMAL, "a/..b");
}

Test(layer_entry_parse, rejects_absolute_and_dot_dot) {
        check_parse("/etc/passwd", -EINVAL, NULL);
        check_parse("../x", -EINVAL, NULL);
        check_parse("a/../../x", -EINVAL, NULL);
        check_parse("a/..", -EINVAL, NULL);
        check_parse("", -EINVAL, NULL);
        check_parse("a/.wh...", -EINVAL, NULL);
}

Test(layer_entry_parse, recognizes_whiteouts) {
        check_parse("etc/.wh.motd", LAYER_ENTRY_WHITEOUT, "etc/motd");
        check_parse(".wh.tmp", LAYER_ENTRY_WHITEOUT, "tmp");
        check_parse("./usr/share/.wh..wh..opq", LAYER_ENTRY_OPAQUE, "usr/share");
        check_parse(".wh..wh..opq", LAYER_ENTRY_OPAQUE, "");
        check_parse("a/.wh..wh.plnk", LAYER_ENTRY_IGNORED, "a/.wh..wh.plnk");
        check_parse("a/.wh.", LAYER_ENTRY_NORMAL, "a/.wh.");
        check_parse("a/x.wh.y", LAYER_ENTRY_NORMAL, "a/x.wh.y");
}

Test(path_split_parent, splits) {
        _cleanup_free_ char *b = NULL;
        const char *p, *n;

        cr_assert(eq(int, path_split_parent("a/b/c", &b, &p, &n), 0));
        cr_assert(eq(str, (char *) p, "a/b"));
        cr_assert(eq(str, (char *) n, "c"));
        b = mfree(b);
        cr_assert(eq(int, path_split_parent("c", &b, &p, &n), 0));
        cr_assert(eq(str, (char *) p, ""));
        cr_assert(eq(str, (char *) n, "c"));
}

/* ---- applying real tars (needs root: ownership, whiteout nodes, trusted.* xattrs) ---------------- */

typedef struct TarEntry {
        const char *name;
        mode_t type;
        mode_t perm;
        const char *data;   /* file content or symlink/hardlink target */
        bool hardlink;
        uid_t uid;
} TarEntry;

static int make_tar(const TarEntry *entries, size_t n, bool gzip) {
        char path[] = "/var/tmp/test-whiteout-tar-XXXXXX";
        struct archive *w = archive_write_new();
        int fd = mkstemp(path);

        cr_assert(fd >= 0);
        (void) unlink(path);
        archive_write_set_format_pax_restricted(w);
        if (gzip)
                archive_write_add_filter_gzip(w);
        cr_assert(archive_write_open_fd(w, fd) == ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, entries[i].name);
                archive_entry_set_perm(e, entries[i].perm ?: 0644);
                archive_entry_set_uid(e, entries[i].uid);
                archive_entry_set_mtime(e, 1000000, 0);
                if (entries[i].hardlink) {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, entries[i].data);
                } else if (entries[i].type == AE_IFLNK) {
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, entries[i].data);
                } else {
                        archive_entry_set_filetype(e, entries[i].type ?: AE_IFREG);
                        if ((entries[i].type ?: AE_IFREG) == AE_IFREG)
                                archive_entry_set_size(e, entries[i].data ? strlen(entries[i].data) : 0);
                }
                cr_assert(archive_write_header(w, e) == ARCHIVE_OK);
                if (!entries[i].hardlink && (entries[i].type ?: AE_IFREG) == AE_IFREG && entries[i].data)
                        archive_write_data(w, entries[i].data, strlen(entries[i].data));
                archive_entry_free(e);
        }
        archive_write_close(w);
        archive_write_free(w);
        return fd;
}

static char root[] = "/var/tmp/test-whiteout-root-XXXXXX";
static char outside[] = "/var/tmp/test-whiteout-outside-XXXXXX";
static int root_fd = -EBADF;

static void setup(void) {
        if (geteuid() != 0)
                cr_skip_test("needs root");
        cr_assert(mkdtemp(root) != NULL);
        cr_assert(mkdtemp(outside) != NULL);
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(root_fd >= 0);
}

static void teardown(void) {
        safe_close(root_fd);
        (void) rm_rf(root);
        (void) rm_rf(outside);
}

static const char *AT_R(const char *p) {
        static char buf[PATH_MAX];
        snprintf(buf, sizeof buf, "%s/%s", root, p);
        return buf;
}

static int apply(const TarEntry *entries, size_t n, uint64_t max, char **error) {
        _cleanup_close_ int fd = make_tar(entries, n, true);
        LayerSource src = { .fd = fd, .seekable = true, .expected_size = UINT64_MAX };
        LayerResult res;

        return layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS | LAYER_APPLY_OWNERSHIP, max, &res, error);
}

Test(layer_apply, translates_whiteouts_to_overlayfs, .init = setup, .fini = teardown) {
        static const TarEntry e[] = {
                { "etc/", AE_IFDIR, 0755 },
                { "etc/.wh.motd", AE_IFREG },
                { "usr/", AE_IFDIR, 0755 },
                { "usr/share/", AE_IFDIR, 0755 },
                { "usr/share/.wh..wh..opq", AE_IFREG },
                { "usr/share/keep", AE_IFREG, 0644, "kept" },
                { "bin/", AE_IFDIR, 0755 },
                { "bin/tool", AE_IFREG, 04755, "x", false, 0 },
        };
        _cleanup_free_ char *error = NULL;
        struct stat st;
        char v[4] = {};

        cr_assert(eq(int, apply(e, ELEMENTSOF(e), 0, &error), 0), "%s", error);
        cr_assert(fstatat(root_fd, "etc/motd", &st, AT_SYMLINK_NOFOLLOW) == 0);
        bool is_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
        cr_assert(is_whiteout);
        cr_assert(getxattr(AT_R("usr/share"), "trusted.overlay.opaque", v, sizeof v) == 1);
        cr_assert(v[0] == 'y');
        cr_assert(fstatat(root_fd, "usr/share/keep", &st, 0) == 0);
        cr_assert(fstatat(root_fd, "bin/tool", &st, 0) == 0);
        cr_assert(eq(u32, st.st_mode & 07777, 04755));
}

Test(layer_apply, keeps_same_layer_files_and_makes_recreated_dirs_opaque, .init = setup, .fini = teardown) {
        static const TarEntry e[] = {
                { "a", AE_IFREG, 0644, "same layer" },
                { ".wh.a", AE_IFREG },          /* hides only what is below: a stays */
                { ".wh.d", AE_IFREG },          /* d deleted below ... */
                { "d/", AE_IFDIR, 0755 },       /* ... and made anew here: opaque */
                { "d/new", AE_IFREG, 0644, "n" },
        };
        _cleanup_free_ char *error = NULL;
        struct stat st;
        char v[4] = {};

        cr_assert(eq(int, apply(e, ELEMENTSOF(e), 0, &error), 0), "%s", error);
        cr_assert(fstatat(root_fd, "a", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
        cr_assert(fstatat(root_fd, "d", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
        cr_assert(getxattr(AT_R("d"), "trusted.overlay.opaque", v, sizeof v) == 1);
}

Test(layer_apply, keeps_links_and_hardlink_groups, .init = setup, .fini = teardown) {
        static const TarEntry e[] = {
                { "f", AE_IFREG, 0600, "content", false, 1000 },
                { "g", AE_IFREG, 0, "f", true },
                { "l", AE_IFLNK, 0777, "/etc/passwd" },
        };
        _cleanup_free_ char *error = NULL;
        struct stat a, b;
        char t[64] = {};

        cr_assert(eq(int, apply(e, ELEMENTSOF(e), 0, &error), 0), "%s", error);
        cr_assert(fstatat(root_fd, "f", &a, 0) == 0 && fstatat(root_fd, "g", &b, 0) == 0);
        cr_assert(eq(u64, a.st_ino, b.st_ino));
        cr_assert(eq(u32, a.st_uid, 1000));
        cr_assert(eq(u32, a.st_mode & 07777, 0600));
        cr_assert(readlinkat(root_fd, "l", t, sizeof t - 1) > 0);
        cr_assert(eq(str, t, "/etc/passwd"));
}

static void expect_failure(const TarEntry *e, size_t n, uint64_t max, const char *needle) {
        _cleanup_free_ char *error = NULL;
        int r = apply(e, n, max, &error);

        cr_assert(r < 0, "expected failure with '%s'", needle);
        cr_assert(error != NULL, "no error message");
        cr_assert(strstr(error, needle) != NULL, "message '%s' lacks '%s'", error, needle);
}

Test(layer_apply, refuses_absolute_and_dot_dot_entries, .init = setup, .fini = teardown) {
        TarEntry e1[] = { { "../escape", AE_IFREG, 0644, "x" } };
        expect_failure(e1, 1, 0, "'../escape'");
        TarEntry e2[] = { { "a/../../escape", AE_IFREG, 0644, "x" } };
        expect_failure(e2, 1, 0, "'a/../../escape'");
}

Test(layer_apply, refuses_writing_through_a_symlink, .init = setup, .fini = teardown) {
        TarEntry e[] = {
                { "evil", AE_IFLNK, 0777, outside },
                { "evil/owned", AE_IFREG, 0644, "x" },
        };
        struct stat st;

        expect_failure(e, ELEMENTSOF(e), 0, "symlink");
        cr_assert(fstatat(AT_FDCWD, outside, &st, 0) == 0);
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/owned", outside);
        cr_assert(access(p, F_OK) < 0, "wrote outside the root");
}

Test(layer_apply, refuses_hardlinks_out_of_the_layer, .init = setup, .fini = teardown) {
        TarEntry e1[] = { { "h", AE_IFREG, 0, "../../../etc/passwd", true } };
        expect_failure(e1, 1, 0, "outside the layer");
        TarEntry e2[] = { { "h2", AE_IFREG, 0, "etc/passwd", true } };
        expect_failure(e2, 1, 0, "not in this layer");
        TarEntry e3[] = {
                { "s", AE_IFLNK, 0777, "/etc" },
                { "h3", AE_IFREG, 0, "s/passwd", true },
        };
        expect_failure(e3, ELEMENTSOF(e3), 0, "not in this layer");
}

Test(layer_apply, stops_decompression_bombs, .init = setup, .fini = teardown) {
        static char big[200000];
        memset(big, 'z', sizeof big - 1);
        TarEntry e[] = { { "bomb", AE_IFREG, 0644, big } };
        expect_failure(e, 1, 100000, "MaxLayerSize");
}

Test(layer_apply, checks_digest_and_size, .init = setup, .fini = teardown) {
        static const TarEntry e[] = { { "f", AE_IFREG, 0644, "x" } };
        _cleanup_close_ int fd = make_tar(e, 1, true);
        _cleanup_free_ char *error = NULL;
        LayerSource src = { .fd = fd, .seekable = true, .expected_size = UINT64_MAX };
        LayerResult res, res2;
        char digest[SHA256_HEX_LEN + 1];
        uint64_t size;

        cr_assert(eq(int, sha256_fd_hex(fd, UINT64_MAX, digest, &size), 0));
        cr_assert(eq(int, layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS, 0, &res, &error), 0), "%s", error);
        cr_assert(eq(str, res.digest, digest));
        cr_assert(eq(u64, res.blob_size, size));

        (void) rm_rf_at(root_fd, "f");
        src.expected_size = size + 1;
        cr_assert(layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS, 0, &res2, &error) < 0);
        cr_assert(strstr(error, "truncated") != NULL, "%s", error);

        error = mfree(error);
        (void) rm_rf_at(root_fd, "f");
        src.expected_size = size;
        src.expected_digest_hex = "0000000000000000000000000000000000000000000000000000000000000000";
        cr_assert(layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS, 0, &res2, &error) < 0);
        cr_assert(strstr(error, "digest mismatch") != NULL, "%s", error);
}

Test(layer_apply, reports_truncated_blobs, .init = setup, .fini = teardown) {
        static char data[100000];
        memset(data, 'q', sizeof data - 1);
        TarEntry e[] = { { "f", AE_IFREG, 0644, data } };
        _cleanup_close_ int fd = make_tar(e, 1, false);
        _cleanup_free_ char *error = NULL;
        LayerResult res;

        cr_assert(ftruncate(fd, 50000) == 0);
        LayerSource src = { .fd = fd, .seekable = true, .expected_size = UINT64_MAX };
        cr_assert(layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS, 0, &res, &error) < 0);
        cr_assert(strstr(error, "'f'") != NULL || strstr(error, "truncated") != NULL, "%s", error);
}

/* The copy an import keeps for exports: the blob as read, or its uncompressed tar, byte for byte. */
Test(layer_apply, keeps_a_copy_of_the_blob_or_its_tar, .init = setup, .fini = teardown) {
        static const TarEntry e[] = { { "f", AE_IFREG, 0644, "copied" } };
        _cleanup_close_ int fd = make_tar(e, 1, true);
        _cleanup_free_ char *error = NULL;
        char hex[SHA256_HEX_LEN + 1];
        uint64_t size;
        LayerResult res;

        for (LayerCopy copy = LAYER_COPY_BLOB; copy <= LAYER_COPY_TAR; copy++) {
                char path[] = "/var/tmp/test-whiteout-copy-XXXXXX";
                _cleanup_close_ int copy_fd = mkstemp(path);
                LayerSource src = {
                        .fd = fd,
                        .seekable = true,
                        .expected_size = UINT64_MAX,
                        .copy = copy,
                        .copy_fd = copy_fd,
                };

                cr_assert(copy_fd >= 0);
                (void) unlink(path);
                (void) rm_rf_at(root_fd, "f");
                cr_assert(eq(int, layer_apply(root_fd, &src, LAYER_APPLY_WHITEOUTS, 0, &res, &error), 0), "%s", error);
                cr_assert(eq(int, sha256_fd_hex(copy_fd, UINT64_MAX, hex, &size), 0));
                if (copy == LAYER_COPY_BLOB) {
                        cr_assert(eq(str, hex, res.digest), "the copy is the blob");
                        cr_assert(eq(u64, size, res.blob_size));
                } else {
                        cr_assert(eq(str, hex, res.diff_id), "the copy is the uncompressed tar");
                        cr_assert(eq(u64, size, res.tar_size));
                }
        }
        cr_assert(strcmp(res.digest, res.diff_id) != 0, "the blob was compressed");
}
