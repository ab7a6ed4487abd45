/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "string-util.h"

int write_string_file_at(int dirfd, const char *path, const char *value) {
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(value);
        ssize_t n;

        fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = write(fd, value, l);
        if (n < 0)
                return -errno;
        if ((size_t) n != l)
                return -EIO;
        return 0;
}

int write_string_file(const char *path, const char *value) {
        return write_string_file_at(AT_FDCWD, path, value);
}

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t l = 0, allocated = 0;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (allocated - l < 4096) {
                        size_t na = allocated ? allocated * 2 : 4096;
                        char *nb;
                        if (na > max + 1)
                                na = max + 1;
                        if (na <= l)
                                return -EFBIG;
                        nb = realloc(buf, na);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        allocated = na;
                }
                n = read(fd, buf + l, allocated - l - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                l += n;
                if (l >= max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[l] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_size)
                *ret_size = l;
        return 0;
}

int read_one_line_file(const char *path, char **ret) {
        char *s;
        int r;

        r = read_full_file_at(AT_FDCWD, path, 64 * 1024, &s, NULL);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        *ret = s;
        return 0;
}

int write_full(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode) {
        char tmp[NAME_MAX + 1];
        uint32_t rnd = 0;
        _cleanup_close_ int fd = -EBADF;
        int r;

        (void) getrandom(&rnd, sizeof rnd, GRND_NONBLOCK);
        if (snprintf(tmp, sizeof tmp, ".#%s.%08x", name, rnd) >= (int) sizeof tmp)
                return -ENAMETOOLONG;

        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        r = write_full(fd, data, size);
        if (r < 0)
                goto fail;
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;

fail:
        (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int mkdir_parents_and_self(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;

        /* the usual case first: only the last component is missing (or none is) */
        if (mkdir(path, mode) >= 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT)
                return -errno;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int rm_rf_at(int dir_fd, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st, root;
        DIR *d;
        int r = 0;

        if (unlinkat(dir_fd, name, 0) >= 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return -errno;

        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &root) < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d)
                return -errno;
        fd = -EBADF; /* owned by d now */

        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (st.st_dev != root.st_dev) { /* a mount point: never descend */
                                if (r == 0)
                                        r = -EBUSY;
                                continue;
                        }
                        int k = rm_rf_at(dirfd(d), de->d_name);
                        if (k < 0 && r == 0)
                                r = k;
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = -errno;
        }
        closedir(d);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

int rm_rf(const char *path) {
        return rm_rf_at(AT_FDCWD, path);
}

int fd_move_high(int fd) {
        int high;

        if (fd < 0 || fd >= FD_HIGH_MIN)
                return fd;
        high = fcntl(fd, F_DUPFD_CLOEXEC, FD_HIGH_MIN);
        if (high < 0)
                return fd;
        (void) close(fd);
        return high;
}

int fd_set_cloexec(int fd, bool cloexec) {
        int f = fcntl(fd, F_GETFD);
        if (f < 0)
                return -errno;
        f = cloexec ? (f | FD_CLOEXEC) : (f & ~FD_CLOEXEC);
        return fcntl(fd, F_SETFD, f) < 0 ? -errno : 0;
}

int fd_set_nonblock(int fd, bool nonblock) {
        int f = fcntl(fd, F_GETFL);
        if (f < 0)
                return -errno;
        f = nonblock ? (f | O_NONBLOCK) : (f & ~O_NONBLOCK);
        return fcntl(fd, F_SETFL, f) < 0 ? -errno : 0;
}

typedef union FdsControl {
        struct cmsghdr header;
        char buf[CMSG_SPACE(sizeof(int) * FDS_MESSAGE_MAX)];
} FdsControl;

ssize_t send_with_fds(int sock, const struct iovec *iov, size_t n_iov, const int *fds, size_t n_fds, int flags) {
        FdsControl control = {};
        struct msghdr mh = { .msg_iov = (struct iovec *) iov, .msg_iovlen = n_iov };
        ssize_t n;

        if (n_fds > FDS_MESSAGE_MAX)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *cm;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
        }
        do
                n = sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

ssize_t recv_with_fds(int sock, struct iovec *iov, size_t n_iov, int *fds, size_t max_fds, size_t *ret_n_fds,
                      int flags) {
        FdsControl control = {};
        struct msghdr mh = {
                .msg_iov = iov,
                .msg_iovlen = n_iov,
                .msg_control = &control,
                .msg_controllen = sizeof control,
        };
        size_t n_fds = 0;
        ssize_t n;

        *ret_n_fds = 0;
        do
                n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                size_t k;
                int in;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        memcpy(&in, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n_fds < max_fds)
                                fds[n_fds++] = in;
                        else
                                (void) close(in);
                }
        }
        *ret_n_fds = n_fds;
        return n;
}

DIR *opendir_dup(int dir_fd) {
        DIR *d;
        int fd;

        /* reopened, not dup()ed: a dup shares the offset, and a stream of it would see what an earlier
         * one of the same fd had read past */
        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d)
                safe_close(fd);
        return d;
}
