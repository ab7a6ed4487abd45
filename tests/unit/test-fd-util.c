/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"

/* fd_move_high() */

Test(fd_move_high, moves_a_low_fd_up_and_closes_the_old_one) {
        int fd = open("/dev/null", O_RDONLY), high;

        cr_assert(fd >= 0 && fd < FD_HIGH_MIN);
        high = fd_move_high(fd);
        cr_assert(high >= FD_HIGH_MIN, "got %i", high);
        cr_assert(eq(int, fcntl(fd, F_GETFD), -1), "the old fd %i is still open", fd);
        cr_assert(eq(int, errno, EBADF));
        cr_assert(fcntl(high, F_GETFD) & FD_CLOEXEC, "the new fd is not close-on-exec");
        safe_close(high);
}

Test(fd_move_high, leaves_negative_and_high_fds_alone) {
        int fd = open("/dev/null", O_RDONLY), high, again;

        cr_assert(eq(int, fd_move_high(-EBADF), -EBADF));
        high = fd_move_high(fd);
        cr_assert(high >= FD_HIGH_MIN);
        again = fd_move_high(high);
        cr_assert(eq(int, again, high));
        safe_close(high);
}

Test(fd_move_high, keeps_the_fd_where_the_limit_is_too_low) {
        struct rlimit rl = { 64, 64 };
        int fd = open("/dev/null", O_RDONLY);

        cr_assert(fd >= 0 && fd < 64);
        cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &rl), 0));
        cr_assert(eq(int, fd_move_high(fd), fd));
        cr_assert(fcntl(fd, F_GETFD) >= 0, "the fd was closed although it could not move");
        safe_close(fd);
}

/* mkdir_parents_and_self() */

Test(mkdir_parents_and_self, makes_every_missing_level_and_accepts_what_exists) {
        char tmpl[] = "/tmp/vessel-test-mkdir-XXXXXX", path[256];
        struct stat st;

        cr_assert(mkdtemp(tmpl) != NULL);
        snprintf(path, sizeof path, "%s/a/b/c", tmpl);
        cr_assert(eq(int, mkdir_parents_and_self(path, 0700), 0));
        cr_assert(eq(int, stat(path, &st), 0));
        bool is_dir = S_ISDIR(st.st_mode);
        cr_assert(is_dir);
        cr_assert(eq(int, mkdir_parents_and_self(path, 0700), 0), "an existing directory is fine");
        snprintf(path, sizeof path, "%s/a/b/d", tmpl);
        cr_assert(eq(int, mkdir_parents_and_self(path, 0700), 0), "only the last level missing");
        cr_assert(eq(int, stat(path, &st), 0));
        cr_assert(eq(int, rm_rf(tmpl), 0));
}

Test(mkdir_parents_and_self, reports_a_file_on_the_way) {
        char tmpl[] = "/tmp/vessel-test-mkdir-XXXXXX", path[256];
        int fd;

        cr_assert(mkdtemp(tmpl) != NULL);
        snprintf(path, sizeof path, "%s/file", tmpl);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        cr_assert(fd >= 0);
        close(fd);
        snprintf(path, sizeof path, "%s/file/sub/dir", tmpl);
        cr_assert(eq(int, mkdir_parents_and_self(path, 0700), -ENOTDIR));
        cr_assert(eq(int, rm_rf(tmpl), 0));
}

/* write_full() */

Test(write_full, writes_everything_through_a_pipe) {
        static char data[200000]; /* more than a pipe takes at once: short writes */
        char back[sizeof data];
        int p[2];
        pid_t pid;
        size_t got = 0;

        for (size_t i = 0; i < sizeof data; i++)
                data[i] = (char) (i * 7);
        cr_assert(eq(int, pipe(p), 0));
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                _exit(write_full(p[1], data, sizeof data) == 0 ? 0 : 1);
        }
        close(p[1]);
        while (got < sizeof back) {
                ssize_t n = read(p[0], back + got, sizeof back - got);
                cr_assert(n > 0);
                got += (size_t) n;
        }
        cr_assert(eq(int, memcmp(back, data, sizeof data), 0));
        int status;
        cr_assert(eq(int, waitpid(pid, &status, 0), pid));
        bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        cr_assert(clean, "the writer failed (status %i)", status);
        close(p[0]);
}

Test(write_full, reports_a_closed_fd) {
        cr_assert(eq(int, write_full(-1, "x", 1), -EBADF));
}

/* send_with_fds(), recv_with_fds() */

static bool same_file(int a, int b) {
        struct stat sa, sb;

        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

Test(send_with_fds, passes_payload_and_fds_close_on_exec) {
        int sp[2], p[2], got[4] = { -1, -1, -1, -1 };
        char buf[16] = {};
        struct iovec out = { .iov_base = (void *) "hello", .iov_len = 6 }, in = { .iov_base = buf, .iov_len = sizeof buf };
        size_t n_fds = 99;

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0));
        cr_assert(eq(int, pipe(p), 0));
        cr_assert(eq(sz, (size_t) send_with_fds(sp[0], &out, 1, p, 2, 0), 6));
        cr_assert(eq(sz, (size_t) recv_with_fds(sp[1], &in, 1, got, ELEMENTSOF(got), &n_fds, 0), 6));
        cr_assert(eq(str, buf, "hello"));
        cr_assert(eq(sz, n_fds, 2));
        cr_assert(same_file(got[0], p[0]));
        cr_assert(same_file(got[1], p[1]));
        cr_assert(eq(int, fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC));
        cr_assert(eq(int, got[2], -1));
        for (int i = 0; i < 2; i++) {
                close(got[i]);
                close(p[i]);
        }
        close(sp[0]);
        close(sp[1]);
}

Test(send_with_fds, closes_fds_beyond_room_and_reports_end) {
        int sp[2], p[2], got = -1, before;
        char c;
        struct iovec out = { .iov_base = (void *) "x", .iov_len = 1 }, in = { .iov_base = &c, .iov_len = 1 };
        size_t n_fds;

        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0));
        cr_assert(eq(int, pipe(p), 0));
        cr_assert(eq(sz, (size_t) send_with_fds(sp[0], &out, 1, p, 2, 0), 1));
        close(p[1]);
        /* the second fd (the pipe's write end) is closed on arrival: the read end sees EOF once ours is too */
        cr_assert(eq(sz, (size_t) recv_with_fds(sp[1], &in, 1, &got, 1, &n_fds, 0), 1));
        cr_assert(eq(sz, n_fds, 1));
        before = fcntl(p[0], F_SETFL, O_NONBLOCK);
        cr_assert(eq(int, before, 0));
        cr_assert(eq(sz, (size_t) read(p[0], &c, 1), 0));
        close(got);
        close(p[0]);

        /* nothing waiting: -EAGAIN with MSG_DONTWAIT; the peer gone: 0 */
        cr_assert(eq(sz, (size_t) recv_with_fds(sp[1], &in, 1, &got, 1, &n_fds, MSG_DONTWAIT), (size_t) -EAGAIN));
        close(sp[0]);
        cr_assert(eq(sz, (size_t) recv_with_fds(sp[1], &in, 1, &got, 1, &n_fds, 0), 0));
        cr_assert(eq(sz, n_fds, 0));
        close(sp[1]);
}

Test(send_with_fds, refuses_too_many_fds_and_a_closed_socket) {
        int fds[FDS_MESSAGE_MAX + 1] = {};
        struct iovec out = { .iov_base = (void *) "x", .iov_len = 1 };

        cr_assert(eq(sz, (size_t) send_with_fds(0, &out, 1, fds, ELEMENTSOF(fds), 0), (size_t) -EINVAL));
        cr_assert(eq(sz, (size_t) send_with_fds(-1, &out, 1, NULL, 0, 0), (size_t) -EBADF));
}

/* opendir_dup() */

static size_t count_entries(DIR *d) {
        size_t n = 0;

        while (readdir(d))
                n++;
        return n;
}

Test(opendir_dup, reads_from_the_start_each_time_and_leaves_the_fd) {
        char dir[] = "/tmp/test-fd-util.XXXXXX";
        int fd;
        DIR *a, *b;

        cr_assert(not(eq(ptr, mkdtemp(dir), NULL)));
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        cr_assert(ge(int, fd, 0));
        cr_assert(eq(int, mkdirat(fd, "sub", 0700), 0));

        a = opendir_dup(fd);
        cr_assert(not(eq(ptr, a, NULL)));
        cr_assert(eq(sz, count_entries(a), 3)); /* ".", "..", "sub" */
        b = opendir_dup(fd);
        cr_assert(not(eq(ptr, b, NULL)));
        cr_assert(eq(sz, count_entries(b), 3), "a second stream starts where the first did not end");
        closedir(a);
        closedir(b);
        cr_assert(eq(int, fcntl(fd, F_GETFD) >= 0, 1), "the caller's fd is still open");

        cr_assert(eq(ptr, opendir_dup(-1), NULL));
        cr_assert(eq(int, errno, EBADF));
        cr_assert(eq(int, unlinkat(fd, "sub", AT_REMOVEDIR), 0));
        close(fd);
        cr_assert(eq(int, rmdir(dir), 0));
}
