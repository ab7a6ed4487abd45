/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The new mount API (open_tree, move_mount, mount_setattr) and openat2, for glibc (2.36 has the
 * wrappers) and musl (1.2.3 has neither wrappers nor constants: the kernel's headers and syscall()). */

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#ifndef __GLIBC__
#include <linux/mount.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

static inline int open_tree(int dfd, const char *path, unsigned flags) {
        return (int) syscall(SYS_open_tree, dfd, path, flags);
}

static inline int move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned flags) {
        return (int) syscall(SYS_move_mount, from_dfd, from_path, to_dfd, to_path, flags);
}

static inline int mount_setattr(int dfd, const char *path, unsigned flags, struct mount_attr *attr, size_t size) {
        return (int) syscall(SYS_mount_setattr, dfd, path, flags, attr, size);
}
#endif
