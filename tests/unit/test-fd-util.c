/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
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
