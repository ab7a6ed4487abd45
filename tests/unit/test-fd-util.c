/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
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
