/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "netns-pool.h"

#define NETNS_POOL_SIZE 2

/* unshare() moves vesseld itself into the new namespace for a moment; nothing runs meanwhile (one
 * thread, no await between the calls), and the way back is an fd of the namespace we came from. */
static int netns_make(Manager *m) {
        _cleanup_close_ int fd = -EBADF;

        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (setns(m->netns_pool_home, CLONE_NEWNET) < 0) {
                /* every socket we open from now on would be in the wrong place: better start over */
                log_error_errno(errno, "Failed to return to the host's network namespace, exiting: %m");
                abort();
        }
        if (fd < 0)
                return -errno;
        return TAKE_FD(fd);
}

static int on_refill(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int fd;

        if (m->netns_pool_n >= NETNS_POOL_SIZE)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        fd = netns_make(m);
        if (fd < 0) {
                log_debug_errno(fd, "Cannot make network namespaces ahead of time, containers make their own: %m");
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        m->netns_pool[m->netns_pool_n++] = fd;
        /* one per idle moment: whoever comes next should not wait for the whole pool */
        return sd_event_source_set_enabled(s, m->netns_pool_n < NETNS_POOL_SIZE ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
}

int netns_pool_start(Manager *m) {
        int r;

        m->netns_pool_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (m->netns_pool_home < 0)
                return log_debug_errno(errno, "No network namespace pool: %m");
        r = sd_event_add_defer(m->event, &m->netns_pool_refill, on_refill, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->netns_pool_refill, SD_EVENT_PRIORITY_IDLE);
        if (r < 0) {
                m->netns_pool_home = safe_close(m->netns_pool_home);
                return log_debug_errno(r, "No network namespace pool: %m");
        }
        return 0;
}

int netns_pool_take(Manager *m) {
        int fd;

        if (!m->netns_pool_refill)
                return -EAGAIN;
        (void) sd_event_source_set_enabled(m->netns_pool_refill, SD_EVENT_ONESHOT);
        if (m->netns_pool_n == 0)
                return -EAGAIN;
        fd = m->netns_pool[--m->netns_pool_n];
        m->netns_pool[m->netns_pool_n] = -EBADF;
        return fd;
}

void netns_pool_done(Manager *m) {
        m->netns_pool_refill = sd_event_source_disable_unref(m->netns_pool_refill);
        while (m->netns_pool_n > 0)
                safe_close(m->netns_pool[--m->netns_pool_n]);
        m->netns_pool_home = safe_close(m->netns_pool_home);
}
