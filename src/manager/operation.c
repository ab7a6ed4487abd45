/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus-util.h"
#include "fd-util.h"
#include "log.h"
#include "operation.h"
#include "parse-util.h"
#include "string-util.h"

static const char *const transfer_type_table[_TRANSFER_TYPE_MAX] = {
        [TRANSFER_IMPORT] = "import",
        [TRANSFER_EXPORT_IMAGE] = "export-image",
        [TRANSFER_EXPORT_CONTAINER] = "export-container",
};
DEFINE_STRING_TABLE_LOOKUP(transfer_type, TransferType);

/* worker → vesseld messages: one per datagram, a type byte and a payload */
enum {
        MSG_PROGRESS = 'P', /* uint64_t done, total */
        MSG_ERROR = 'E',    /* text */
        MSG_RESULT = 'R',   /* text */
};
#define MSG_MAX 4096

int transfer_new(Manager *m, TransferType type, const char *description, Transfer **ret) {
        _cleanup_(transfer_freep) Transfer *t = NULL;

        if (hashmap_size(m->transfers) >= TRANSFERS_MAX)
                return -EBUSY;
        t = calloc(1, sizeof(Transfer));
        if (!t)
                return -ENOMEM;
        t->type = type;
        t->pidfd = -EBADF;
        t->fd = -EBADF;
        t->description = strdup(strempty(description));
        if (!t->description)
                return -ENOMEM;
        /* ids are never reused while we run, so a stale path never names a new transfer */
        do
                t->id = ++m->transfer_counter;
        while (t->id == 0);
        (void) snprintf(t->id_string, sizeof t->id_string, "%" PRIu32, t->id);
        t->manager = m;
        *ret = TAKE_PTR(t);
        return 0;
}

Transfer *transfer_free(Transfer *t) {
        if (!t)
                return NULL;
        if (t->manager && hashmap_get(t->manager->transfers, t->id_string) == t)
                (void) hashmap_remove(t->manager->transfers, t->id_string);
        if (t->pid > 0) {
                /* vesseld going away: the worker goes too; its debris is removed at the next start */
                if (t->pidfd >= 0)
                        (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
        }
        sd_event_source_disable_unref(t->child_source);
        sd_event_source_disable_unref(t->fd_source);
        safe_close(t->pidfd);
        safe_close(t->fd);
        if (t->userdata && t->free_userdata)
                t->free_userdata(t->userdata);
        free(t->description);
        free(t->error);
        free(t->result);
        free(t->work_dir);
        return mfree(t);
}

void manager_free_transfers(Manager *m) {
        Transfer *t;

        while (hashmap_size(m->transfers) > 0) {
                unsigned i = 0;
                if (!hashmap_iterate(m->transfers, &i, (void **) &t, NULL))
                        break;
                transfer_free(t);
        }
}

Transfer *manager_find_transfer(Manager *m, uint32_t id) {
        char s[12];

        (void) snprintf(s, sizeof s, "%" PRIu32, id);
        return hashmap_get(m->transfers, s);
}

Transfer *manager_find_transfer_about(Manager *m, TransferType type, const char *description) {
        Transfer *t;

        HASHMAP_FOREACH(t, m->transfers)
                if (t->type == type && streq_ptr(t->description, description))
                        return t;
        return NULL;
}

int transfer_get_path(Transfer *t, char **ret) {
        return asprintf_safe(ret, VESSEL_TRANSFER_PATH_PREFIX "/%" PRIu32, t->id);
}

/* ---- worker side ------------------------------------------------------------------------------- */

void transfer_worker_progress(Transfer *t, uint64_t done, uint64_t total) {
        uint8_t buf[1 + 2 * sizeof(uint64_t)];

        buf[0] = MSG_PROGRESS;
        memcpy(buf + 1, &done, sizeof done);
        memcpy(buf + 1 + sizeof done, &total, sizeof total);
        (void) send(t->fd, buf, sizeof buf, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void worker_send_text(Transfer *t, char type, const char *text) {
        char buf[MSG_MAX];
        size_t l = strnlen(text, sizeof buf - 2);

        buf[0] = type;
        memcpy(buf + 1, text, l);
        (void) send(t->fd, buf, l + 1, MSG_NOSIGNAL);
}

int transfer_worker_error(Transfer *t, int r, const char *fmt, ...) {
        _cleanup_free_ char *s = NULL;
        va_list ap;

        errno = r < 0 ? -r : r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        worker_send_text(t, MSG_ERROR, s ?: "out of memory");
        return r < 0 ? r : -EINVAL;
}

void transfer_worker_result(Transfer *t, const char *result) {
        worker_send_text(t, MSG_RESULT, result);
}

/* ---- vesseld side ------------------------------------------------------------------------------ */

static void transfer_read_messages(Transfer *t) {
        char buf[MSG_MAX];

        for (;;) {
                ssize_t n = recv(t->fd, buf, sizeof buf - 1, MSG_DONTWAIT);
                if (n <= 0)
                        return;
                buf[n] = 0;
                switch (buf[0]) {
                case MSG_PROGRESS:
                        if ((size_t) n == 1 + 2 * sizeof(uint64_t)) {
                                memcpy(&t->bytes_done, buf + 1, sizeof(uint64_t));
                                memcpy(&t->bytes_total, buf + 1 + sizeof(uint64_t), sizeof(uint64_t));
                        }
                        break;
                case MSG_ERROR:
                        if (!t->error)
                                t->error = strdup(buf + 1);
                        break;
                case MSG_RESULT:
                        (void) free_and_strdup(&t->result, buf + 1);
                        break;
                }
        }
}

static int on_transfer_message(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Transfer *t = userdata;

        transfer_read_messages(t);
        if (revents & (EPOLLHUP | EPOLLERR))
                /* the worker is gone or going; its exit handler finishes the job */
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void transfer_finish(Transfer *t, int r) {
        Manager *m = t->manager;
        _cleanup_free_ char *path = NULL;
        const char *result;

        transfer_read_messages(t);
        if (t->canceled)
                r = -ECANCELED;
        if (t->on_finished) {
                int k = t->on_finished(t, r, r >= 0 ? t->result : NULL, t->userdata);
                if (r >= 0 && k < 0)
                        r = k;
        }
        if (t->work_dir)
                (void) rm_rf(t->work_dir);

        result = r >= 0 ? "done" : r == -ECANCELED ? "canceled" : "failed";
        if (r < 0 && r != -ECANCELED)
                log_error("Transfer %" PRIu32 " (%s %s) failed: %s", t->id, transfer_type_to_string(t->type),
                          t->description, t->error ?: strerror(-r));
        else
                log_info("Transfer %" PRIu32 " (%s %s): %s.", t->id, transfer_type_to_string(t->type),
                         t->description, result);

        if (transfer_get_path(t, &path) >= 0) {
                if (r < 0 && r != -ECANCELED)
                        (void) manager_emit_signal(m, "TransferError", "uos", t->id, path,
                                                   t->error ?: strerror(-r));
                (void) manager_emit_signal(m, "TransferRemoved", "uos", t->id, path, result);
        }
        transfer_free(t);
        manager_check_idle(m);
}

static int on_worker_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Transfer *t = userdata;
        int r;

        if (si->si_code == CLD_EXITED && si->si_status == 0)
                r = 0;
        else if (si->si_code == CLD_EXITED)
                r = -EIO;
        else {
                r = -EINTR;
                if (!t->canceled && !t->error)
                        (void) asprintf_safe(&t->error, "the worker was killed by signal %s",
                                             signal_to_name(si->si_status));
        }
        t->pid = 0;
        transfer_finish(t, r);
        return 0;
}

int transfer_start(Transfer *t, TransferWork work, void *userdata) {
        Manager *m = t->manager;
        _cleanup_close_pair_ int pair[2] = { -EBADF, -EBADF };
        _cleanup_free_ char *path = NULL;
        pid_t pid;
        int pidfd, r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t ss;

                /* The worker: no event loop, no bus; only the work and the socket to report on. It
                 * dies with vesseld, whose next start removes its debris. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                (void) prctl(PR_SET_NAME, "vesseld-xfer");
                sigemptyset(&ss);
                (void) sigprocmask(SIG_SETMASK, &ss, NULL);
                (void) signal(SIGPIPE, SIG_IGN);
                pair[0] = safe_close(pair[0]);
                t->fd = pair[1];
                r = work(t, userdata);
                _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }

        pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0) {
                r = -errno;
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return r;
        }
        t->pid = pid;
        t->pidfd = pidfd;
        t->fd = TAKE_FD(pair[0]);

        r = sd_event_add_child_pidfd(m->event, &t->child_source, t->pidfd, WEXITED, on_worker_exit, t);
        if (r >= 0)
                r = sd_event_add_io(m->event, &t->fd_source, t->fd, EPOLLIN, on_transfer_message, t);
        if (r >= 0)
                r = hashmap_put(m->transfers, t->id_string, t);
        if (r < 0) {
                (void) syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0);
                (void) waitid(P_PIDFD, (id_t) t->pidfd, NULL, WEXITED);
                t->pid = 0;
                return r;
        }
        if (transfer_get_path(t, &path) >= 0)
                (void) manager_emit_signal(m, "TransferNew", "uo", t->id, path);
        log_info("Transfer %" PRIu32 ": %s %s, worker " PID_FMT ".", t->id, transfer_type_to_string(t->type),
                 t->description, pid);
        manager_check_idle(m);
        return 0;
}

int transfer_cancel(Transfer *t) {
        if (t->pid <= 0)
                return 0;
        t->canceled = true;
        if (syscall(SYS_pidfd_send_signal, t->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        return 0;
}

/* ---- the bus face ------------------------------------------------------------------------------ */

static double transfer_progress(Transfer *t) {
        if (t->bytes_total == 0)
                return 0.0;
        return MIN(1.0, (double) t->bytes_done / (double) t->bytes_total);
}

static int property_get_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Transfer *t = ASSERT_PTR(userdata);
        return sd_bus_message_append(reply, "s", transfer_type_to_string(t->type));
}

static int property_get_progress(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Transfer *t = ASSERT_PTR(userdata);

        /* read what the worker said since the last turn of the loop: a poll sees fresh figures */
        transfer_read_messages(t);
        return sd_bus_message_append(reply, "d", transfer_progress(t));
}

static int property_get_bytes(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Transfer *t = ASSERT_PTR(userdata);

        transfer_read_messages(t);
        return sd_bus_message_append(reply, "t", streq(property, "BytesDone") ? t->bytes_done : t->bytes_total);
}

static int method_cancel(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Transfer *t = ASSERT_PTR(userdata);
        int r;

        r = bus_verify_caller_privileged(message, error);
        if (r <= 0)
                return r;
        r = transfer_cancel(t);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable transfer_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Id", "u", NULL, offsetof(Transfer, id), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Type", "s", property_get_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", NULL, offsetof(Transfer, description), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Progress", "d", property_get_progress, 0, 0),
        SD_BUS_PROPERTY("BytesDone", "t", property_get_bytes, 0, 0),
        SD_BUS_PROPERTY("BytesTotal", "t", property_get_bytes, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Cancel", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int transfer_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                         sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        const char *e;
        Transfer *t;

        e = startswith_ptr(path, VESSEL_TRANSFER_PATH_PREFIX "/");
        if (isempty(e))
                return 0;
        t = hashmap_get(m->transfers, e);
        if (!t)
                return 0;
        *found = t;
        return 1;
}

static int transfer_path_of(void *t, char **ret) {
        return transfer_get_path(t, ret);
}

int transfer_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_node_enumerate(m->transfers, transfer_path_of, nodes);
}

static int append_transfer(sd_bus_message *reply, void *object) {
        _cleanup_free_ char *p = NULL;
        Transfer *t = object;
        int r;

        transfer_read_messages(t);
        r = transfer_get_path(t, &p);
        if (r < 0)
                return r;
        return sd_bus_message_append(reply, "(usdo)", t->id, transfer_type_to_string(t->type), transfer_progress(t), p);
}

int method_list_transfers(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);

        return bus_reply_list(message, m->transfers, "(usdo)", append_transfer);
}

int method_cancel_transfer(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = ASSERT_PTR(userdata);
        Transfer *t;
        uint32_t id;
        int r;

        r = sd_bus_message_read(message, "u", &id);
        if (r < 0)
                return r;
        t = manager_find_transfer(m, id);
        if (!t)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_TRANSFER, "No transfer %" PRIu32 ".", id);
        return method_cancel(message, t, error);
}
