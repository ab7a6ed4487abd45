/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "macro.h"

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Writes value (no newline added) with one write(), as cgroup and proc files want. */
int write_string_file(const char *path, const char *value);
int write_string_file_at(int dir_fd, const char *path, const char *value);
/* First line, without the trailing newline. */
int read_one_line_file(const char *path, char **ret);
/* Whole small file (≤ max bytes), NUL-terminated. */
int read_full_file_at(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_size);

/* Writes all of data, across short writes and EINTR. -errno. */
int write_full(int fd, const void *data, size_t size);

/* Atomically replaces dirfd/name with the given bytes: a temporary file in the same directory, then
 * rename(). The temporary is removed on any failure. */
int write_file_atomic_at(int dir_fd, const char *name, const void *data, size_t size, mode_t mode);

int mkdir_parents_and_self(const char *path, mode_t mode);
/* rm -rf of a directory tree, not crossing mount points, not following symlinks. */
int rm_rf_at(int dir_fd, const char *name);
int rm_rf(const char *path);

/* What vesseld keeps of each container for as long as it runs (pidfd, namespaces, event fds, held
 * ports) lives at FD_HIGH_MIN and above; a new container's first process shares our fd table and keeps
 * only the fds below (close_range(FD_HIGH_MIN, ~0U, CLOSE_RANGE_UNSHARE)), so a start does not copy,
 * and then close, one fd of every other container. */
#define FD_HIGH_MIN 1024
/* Moves fd to FD_HIGH_MIN or above (close-on-exec) and returns the new number; where it cannot
 * (a low fd limit, or fd < 0) returns fd as it was. */
int fd_move_high(int fd);

int fd_set_cloexec(int fd, bool cloexec);
int fd_set_nonblock(int fd, bool nonblock);

/* One message with fds attached (SCM_RIGHTS), on a unix socket. At most FDS_MESSAGE_MAX fds. */
#define FDS_MESSAGE_MAX 16
/* sendmsg() of iov with fds[0..n_fds) (none if n_fds is 0), flags as sendmsg()'s (MSG_NOSIGNAL is
 * always added), retried on EINTR. Returns the bytes sent or -errno (-EINVAL for too many fds). */
ssize_t send_with_fds(int sock, const struct iovec *iov, size_t n_iov, const int *fds, size_t n_fds, int flags);
/* recvmsg() into iov, flags as recvmsg()'s (MSG_CMSG_CLOEXEC is always added), retried on EINTR.
 * The fds that came go to fds[0..*ret_n_fds); any beyond max_fds are closed. Returns the bytes
 * received (0 = end of stream) or -errno. */
ssize_t recv_with_fds(int sock, struct iovec *iov, size_t n_iov, int *fds, size_t max_fds, size_t *ret_n_fds,
                      int flags);

/* A DIR stream of dir_fd's directory, on a new fd of it (the caller keeps dir_fd, and no offset is
 * shared: the stream reads from the start). NULL with errno set on failure. */
DIR *opendir_dup(int dir_fd);
