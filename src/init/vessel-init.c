/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vessel-init: PID 1 of every container. It is linked statically and run from a sealed memfd, so it uses
 * nothing from the container's root and nothing of ours but init-util. It never blocks: everything waits in
 * one poll() on a signalfd, the app's log pipes and, while journald is busy, the journal socket. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container-setup.h"
#include "fd-util.h"
#include "init-util.h"
#include "parse-util.h"

#ifndef __NR_close_range
#define __NR_close_range 436
#endif

/* After the app is gone, how long grandchildren that still hold its stdout/stderr may keep us alive. */
#define DRAIN_USEC (100 * USEC_PER_MSEC)

/* How long a full journal socket may hold up reading the app's output (the app then blocks on its full
 * pipe) before we drop lines instead. Bounded so a wedged journald can never wedge the container. */
#define JOURNAL_STALL_USEC (1 * USEC_PER_SEC)

typedef struct LogStream {
        int fd;                         /* -1 once closed */
        int priority;
        bool eof;
        bool has_pending;               /* a line the journal did not take yet; points into buffer */
        const char *pending;
        size_t pending_len;
        LineBuffer buffer;
} LogStream;

typedef struct InitContext {
        InitArgs args;
        int signal_fd;

        char fields[JOURNAL_FIELDS_MAX];
        size_t fields_len;
        bool fields_ready;

        LogStream streams[2];

        uint64_t journal_stall_since;   /* 0 when the journal takes our datagrams */
        bool journal_dropping;          /* stalled for too long: drop lines until a send succeeds */
        bool exiting;                   /* last flush: no more waiting for the journal */
        uint64_t n_dropped;

        bool app_exited;
        int app_status;
        uint64_t drain_until;           /* app gone: read the pipes until EOF or this */
        uint64_t exit_deadline;         /* app gone: wait for a stalled journal until this at most */
} InitContext;

/* Two 48 KiB line buffers: keep them off the stack. */
static InitContext context;

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static int journal_send_memfd(int journal_fd, const struct iovec *iov, size_t n_iov) {
        _cleanup_close_ int fd = -1;
        ssize_t n;

        /* journald maps a fully sealed memfd as the entry, as sd_journal_sendv() sends big entries. */
        fd = memfd_create("vessel-init-journal", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;

        for (size_t k = 0; k < n_iov; k++) {
                int r = write_full(fd, iov[k].iov_base, iov[k].iov_len);
                if (r < 0)
                        return r;
        }

        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;

        n = send_with_fds(journal_fd, NULL, 0, &fd, 1, MSG_DONTWAIT);
        return n < 0 ? (int) n : 0;
}

/* Returns 0 when sent, -EAGAIN when journald's queue is full, another -errno when it is gone or broken. */
static int journal_send(int journal_fd, JournalEntry *e) {
        struct msghdr mh = {
                .msg_iov = e->iov,
                .msg_iovlen = e->n_iov,
        };

        if (journal_fd < 0)
                return -ENOTCONN;

        if (sendmsg(journal_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
                return 0;
        if (errno != EMSGSIZE && errno != ENOBUFS)
                return -errno;

        return journal_send_memfd(journal_fd, e->iov, e->n_iov);
}

/* Our own diagnostics: to stderr, and to the journal with the container's fields once we know them. */
__attribute__((format(printf, 4, 5)))
static int log_full_errno(InitContext *c, int priority, int error, const char *format, ...) {
        char buf[512];
        va_list ap;
        int n;

        errno = error < 0 ? -error : error;     /* for %m */
        va_start(ap, format);
        n = vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);
        if (n < 0)
                n = 0;
        else if ((size_t) n >= sizeof(buf))
                n = sizeof(buf) - 1;

        (void) dprintf(STDERR_FILENO, "vessel-init: %s\n", buf);

        if (c && c->fields_ready) {
                JournalEntry e;

                journal_entry_init(&e, c->fields, c->fields_len, priority, buf, (size_t) n);
                (void) journal_send(c->args.journal_fd, &e);
        }

        return error < 0 ? error : -error;
}

#define log_error_errno(c, error, ...) log_full_errno(c, 3, error, __VA_ARGS__)
#define log_warning_errno(c, error, ...) log_full_errno(c, 4, error, __VA_ARGS__)

/* Returns 0 when the line was sent or dropped, -EAGAIN when the caller should keep it and wait for POLLOUT
 * on the journal socket. */
static int journal_send_line(InitContext *c, int priority, const char *line, size_t len) {
        JournalEntry e;
        uint64_t now;
        int r;

        if (c->args.journal_fd < 0)
                return 0;

        journal_entry_init(&e, c->fields, c->fields_len, priority, line, len);
        r = journal_send(c->args.journal_fd, &e);
        if (r >= 0) {
                c->journal_stall_since = 0;
                c->journal_dropping = false;
                return 0;
        }

        if (r == -EAGAIN && !c->journal_dropping && !c->exiting) {
                now = now_usec();
                if (c->journal_stall_since == 0)
                        c->journal_stall_since = now;
                if (now - c->journal_stall_since < JOURNAL_STALL_USEC)
                        return -EAGAIN;
                c->journal_dropping = true;
        }

        /* ECONNREFUSED/ENOENT (journald gone), a stall past JOURNAL_STALL_USEC, or anything else: never let
         * logging hold up the container. */
        c->n_dropped++;
        return 0;
}

static bool journal_stalled(const InitContext *c) {
        return c->streams[0].has_pending || c->streams[1].has_pending;
}

static void stream_close(LogStream *s) {
        if (s->fd >= 0)
                (void) close(s->fd);
        s->fd = -1;
}

/* Sends every complete line in the buffer (and, at EOF, the partial rest). Returns -EAGAIN while the
 * journal is full; the line that did not go out stays pending and the buffer must not be refilled. */
static int stream_process(InitContext *c, LogStream *s, bool flush) {
        int r;

        for (;;) {
                if (!s->has_pending) {
                        if (!line_buffer_next(&s->buffer, flush, &s->pending, &s->pending_len))
                                break;
                        s->has_pending = true;
                }

                r = journal_send_line(c, s->priority, s->pending, s->pending_len);
                if (r < 0)
                        return r;
                s->has_pending = false;
        }

        if (s->eof)
                stream_close(s);
        return 0;
}

/* Returns true if it read something. */
static bool stream_read(InitContext *c, LogStream *s) {
        size_t size;
        ssize_t n;
        char *p;

        if (s->fd < 0 || s->has_pending)
                return false;

        p = line_buffer_space(&s->buffer, &size);
        n = read(s->fd, p, size);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return false;
                (void) log_warning_errno(c, errno, "Failed to read app output, ignoring it: %m");
                n = 0;
        }
        if (n == 0)
                s->eof = true;
        else
                line_buffer_commit(&s->buffer, (size_t) n);

        (void) stream_process(c, s, s->eof);
        return n > 0;
}

static void reap_children(InitContext *c) {
        for (;;) {
                int status;
                pid_t pid;

                /* Everything that dies in the container ends up here, not just the app: orphans re-parent
                 * to us. __WALL also takes children whose exit signal is not SIGCHLD. */
                pid = waitpid(-1, &status, WNOHANG | __WALL);
                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid <= 0)
                        return;

                if (pid == c->args.app_pid && !c->app_exited) {
                        c->app_exited = true;
                        c->app_status = status;
                        c->drain_until = now_usec() + DRAIN_USEC;
                        c->exit_deadline = c->drain_until + JOURNAL_STALL_USEC;
                }
        }
}

static int handle_signals(InitContext *c) {
        struct signalfd_siginfo si[16];

        for (;;) {
                ssize_t n = read(c->signal_fd, si, sizeof(si));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        return log_error_errno(c, errno, "Failed to read signalfd: %m");
                }

                for (size_t k = 0; k < (size_t) n / sizeof(si[0]); k++) {
                        int sig = (int) si[k].ssi_signo;

                        if (sig == SIGCHLD) {
                                reap_children(c);
                                continue;
                        }

                        /* Once the app is reaped its pid may belong to someone else: never signal it. */
                        if (c->app_exited)
                                continue;

                        if (kill(c->args.app_pid, sig) < 0 && errno != ESRCH)
                                (void) log_warning_errno(c, errno,
                                                         "Failed to forward signal %i to the app: %m", sig);
                }
        }
}

static int status_write(InitContext *c) {
        char buf[EXIT_STATUS_MAX];
        int fd, r;
        ssize_t n;

        n = exit_status_format(buf, sizeof(buf), c->app_status);
        if (n < 0)
                return log_error_errno(c, (int) n, "Failed to format exit status: %m");

        /* Written under a temporary name and renamed, so whoever reads "exit" sees all of it or nothing. */
        fd = openat(c->args.status_fd, "exit.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return log_error_errno(c, errno, "Failed to create exit.tmp in the runtime directory: %m");

        r = write_full(fd, buf, (size_t) n);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && renameat(c->args.status_fd, "exit.tmp", c->args.status_fd, "exit") < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(c->args.status_fd, "exit.tmp", 0);
                return log_error_errno(c, r, "Failed to write the exit status file: %m");
        }

        /* Best effort: fails with EBADF if the directory was opened O_PATH, and /run is tmpfs anyway. */
        (void) fsync(c->args.status_fd);
        return 0;
}

static int fd_check(int fd, const char *option, mode_t type) {
        struct stat st;

        if (fd < 0)
                return 0;

        if (fstat(fd, &st) < 0)
                return log_error_errno(NULL, errno, "Invalid %s=%i: %m", option, fd);
        if (type != 0 && (st.st_mode & S_IFMT) != type)
                return log_error_errno(NULL, EBADFD, "Invalid %s=%i: %s", option, fd,
                                       type == S_IFDIR ? "not a directory" : "not a socket");
        if (type == 0 && S_ISDIR(st.st_mode))
                return log_error_errno(NULL, EBADFD, "Invalid %s=%i: a directory", option, fd);

        /* We exec nothing, but a fork from a library must never carry these anywhere. */
        if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return log_error_errno(NULL, errno, "Failed to set FD_CLOEXEC on %s=%i: %m", option, fd);

        return 0;
}

/* Closes every fd but stdio and the ones named on the command line: whatever else P1 held (the image, the
 * sync socket, our own memfd) must not stay open in the container for its whole lifetime. */
static void close_other_fds(const InitArgs *a) {
        int keep[] = { a->status_fd, a->journal_fd, a->stdout_fd, a->stderr_fd };
        unsigned lo = 3;

        /* Tiny insertion sort; -1 sorts first and is skipped. */
        for (size_t k = 1; k < sizeof(keep) / sizeof(keep[0]); k++)
                for (size_t j = k; j > 0 && keep[j - 1] > keep[j]; j--) {
                        int t = keep[j];
                        keep[j] = keep[j - 1];
                        keep[j - 1] = t;
                }

        for (size_t k = 0; k <= sizeof(keep) / sizeof(keep[0]); k++) {
                unsigned hi = k < sizeof(keep) / sizeof(keep[0]) ? (unsigned) keep[k] : ~0U;

                if (k < sizeof(keep) / sizeof(keep[0]) && (keep[k] < 0 || (unsigned) keep[k] < lo))
                        continue;
                if (hi > lo && syscall(__NR_close_range, lo, hi == ~0U ? ~0U : hi - 1, 0) < 0) {
                        /* Kernels before 5.9: close one by one, up to the fd limit. */
                        struct rlimit rl;
                        unsigned end = hi;

                        if (hi == ~0U)
                                end = getrlimit(RLIMIT_NOFILE, &rl) >= 0 && rl.rlim_cur < 65536 ?
                                        (unsigned) rl.rlim_cur : 65536;
                        for (unsigned fd = lo; fd < end; fd++)
                                (void) close((int) fd);
                }
                if (hi != ~0U)
                        lo = hi + 1;
        }
}

static void stdio_ensure_open(void) {
        /* With 0-2 closed, the signalfd or a memfd would take their place and our stderr messages would
         * land in them. */
        for (int fd = 0; fd < 3; fd++)
                if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
                        int nfd = open("/dev/null", O_RDWR | O_NOCTTY);
                        if (nfd >= 0 && nfd != fd) {
                                (void) dup2(nfd, fd);
                                (void) close(nfd);
                        }
                }
}

/* Field by field: a compound literal would zero the 48 KiB line buffer as well, 24 pages for the two
 * streams, each a page fault (~12 us on a PVM guest) in every container start, for an app that may
 * never write a line. */
static void log_stream_init(LogStream *s, int fd, int priority) {
        s->fd = fd;
        s->priority = priority;
        s->eof = false;
        s->has_pending = false;
        s->pending = NULL;
        s->pending_len = 0;
        line_buffer_init(&s->buffer);
}

/* in_place: we come from container_setup(), which reset the signals and named us already. */
static int setup(InitContext *c, int argc, char *argv[], bool in_place) {
        char error[INIT_ERROR_MAX];
        siginfo_t si = {};
        sigset_t mask;
        ssize_t n;
        int r;

        /* Blocked signals are queued even for PID 1 of a pid namespace, where unhandled ones would be
         * dropped. Whatever arrived since P1 blocked them before forking the app is still pending. */
        (void) sigfillset(&mask);
        (void) sigprocmask(SIG_SETMASK, &mask, NULL);

        if (!in_place) {
                /* SIG_IGN survives execve. An ignored SIGCHLD would make the kernel reap the app behind
                 * our back and lose its status; reset everything. */
                for (int sig = 1; sig < _NSIG; sig++)
                        if (sig != SIGKILL && sig != SIGSTOP)
                                (void) sigaction(sig, &(struct sigaction) { .sa_handler = SIG_DFL }, NULL);

                /* Run from a memfd, our comm would be the fd number. */
                (void) prctl(PR_SET_NAME, "vessel-init");
        }
        (void) umask(0022);

        stdio_ensure_open();

        r = init_args_parse(argc, argv, &c->args, error, sizeof(error));
        if (r < 0)
                return log_error_errno(NULL, r, "%s", error);
        if (c->args.help) {
                printf("Usage: vessel-init --app-pid=PID --status-fd=FD [--journal-fd=FD] [--stdout-fd=FD]\n"
                       "                   [--stderr-fd=FD] [--name=NAME] [--id=ID] [--image=IMAGE] [--tag=TAG]\n"
                       "\n"
                       "PID 1 of a Vessel container: reaps orphans, forwards signals to the app, sends its\n"
                       "output to the journal and records how it ended.\n");
                return 0;
        }

        r = fd_check(c->args.status_fd, "--status-fd", S_IFDIR);
        if (r < 0)
                return r;
        r = fd_check(c->args.journal_fd, "--journal-fd", S_IFSOCK);
        if (r < 0)
                return r;
        r = fd_check(c->args.stdout_fd, "--stdout-fd", 0);
        if (r < 0)
                return r;
        r = fd_check(c->args.stderr_fd, "--stderr-fd", 0);
        if (r < 0)
                return r;

        close_other_fds(&c->args);

        log_stream_init(c->streams + 0, c->args.stdout_fd, 6);
        log_stream_init(c->streams + 1, c->args.stderr_fd, 3);
        for (size_t k = 0; k < 2; k++) {
                LogStream *s = c->streams + k;

                if (s->fd >= 0 && fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) < 0)
                        return log_error_errno(NULL, errno, "Failed to make fd %i non-blocking: %m", s->fd);
        }

        n = journal_fields_format(c->fields, sizeof(c->fields), &c->args);
        if (n < 0)
                return log_error_errno(NULL, (int) n, "Failed to format the journal fields: %m");
        c->fields_len = (size_t) n;
        c->fields_ready = true;

        c->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (c->signal_fd < 0)
                return log_error_errno(c, errno, "Failed to create signalfd: %m");

        /* Without a pid namespace (tests, or a caller that shares the host's), orphans would go elsewhere. */
        if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                return log_error_errno(c, errno, "Failed to become a subreaper: %m");

        /* The app must be our child, or we could never learn how it ended. WNOWAIT: only look. */
        if (waitid(P_PID, (id_t) c->args.app_pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                return log_error_errno(c, errno, "--app-pid=%i is not a child of vessel-init: %m",
                                       (int) c->args.app_pid);

        /* The app may have died before we got here, and its SIGCHLD went to P1, where it was dropped
         * unless P1 kept it blocked. */
        reap_children(c);
        return 1;
}

static int run(InitContext *c) {
        for (;;) {
                struct pollfd p[4];
                size_t n_p = 0, i_signal = SIZE_MAX, i_journal = SIZE_MAX, i_stream[2] = { SIZE_MAX, SIZE_MAX };
                uint64_t now = 0, deadline = UINT64_MAX;
                bool stalled = journal_stalled(c);
                int timeout, r;

                /* Only a deadline needs the time. While the app runs and the journal takes our lines
                 * there is none, and the start does not pay the first clock_gettime(): musl's vDSO
                 * lookup and the vDSO's pages, three page faults. */
                if (c->app_exited || stalled)
                        now = now_usec();

                if (c->app_exited) {
                        /* Streams close once at EOF and fully sent. A busy journal may hold us a little
                         * longer than the drain, as the app's last lines are the ones that say why it
                         * ended; but never past exit_deadline. */
                        if (c->streams[0].fd < 0 && c->streams[1].fd < 0)
                                return 0;
                        if (now >= c->exit_deadline || (now >= c->drain_until && !stalled))
                                return 0;
                        deadline = stalled ? c->exit_deadline : c->drain_until;
                }

                if (stalled) {
                        /* Retried on POLLOUT, and once more when the stall runs out, to start dropping. */
                        if (c->journal_stall_since + JOURNAL_STALL_USEC < deadline)
                                deadline = c->journal_stall_since + JOURNAL_STALL_USEC;
                        i_journal = n_p;
                        p[n_p++] = (struct pollfd) { .fd = c->args.journal_fd, .events = POLLOUT };
                }

                if (!c->app_exited) {
                        i_signal = n_p;
                        p[n_p++] = (struct pollfd) { .fd = c->signal_fd, .events = POLLIN };
                }

                /* While the journal is full, leave the output in the pipes, so the app feels it. */
                for (size_t k = 0; k < 2 && !stalled; k++)
                        if (c->streams[k].fd >= 0) {
                                i_stream[k] = n_p;
                                p[n_p++] = (struct pollfd) { .fd = c->streams[k].fd, .events = POLLIN };
                        }

                if (deadline == UINT64_MAX)
                        timeout = -1;
                else if (deadline <= now)
                        timeout = 0;
                else
                        timeout = (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);

                r = poll(p, n_p, timeout);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(c, errno, "poll() failed: %m");
                }

                if (i_signal != SIZE_MAX && p[i_signal].revents != 0) {
                        r = handle_signals(c);
                        if (r < 0)
                                return r;
                }

                if (i_journal != SIZE_MAX)
                        for (size_t k = 0; k < 2; k++)
                                if (c->streams[k].has_pending)
                                        (void) stream_process(c, c->streams + k, c->streams[k].eof);

                for (size_t k = 0; k < 2; k++)
                        if (i_stream[k] != SIZE_MAX && p[i_stream[k]].revents != 0)
                                stream_read(c, c->streams + k);
        }
}

static void finish(InitContext *c) {
        /* Last chance for what is buffered or sitting in the pipes right now, partial lines included; the
         * journal gets one try each. Two reads take a full default-sized pipe; more would let a grandchild
         * that writes without pause hold us up. */
        c->exiting = true;
        for (size_t k = 0; k < 2; k++) {
                LogStream *s = c->streams + k;

                (void) stream_process(c, s, s->eof);
                for (unsigned n = 0; n < 2 && stream_read(c, s); n++)
                        ;
                (void) stream_process(c, s, /* flush= */ true);
                stream_close(s);
        }

        if (c->n_dropped > 0)
                (void) log_warning_errno(c, 0, "Dropped %llu lines of app output, the journal did not take them.",
                                         (unsigned long long) c->n_dropped);

        (void) status_write(c);
}

int main(int argc, char *argv[]) {
        InitContext *c = &context;
        int r;

        c->signal_fd = -1;

        /* A container's first process: set the container up, start its app, then be its init, in
         * place (container-setup.c). */
        bool in_place = false;
        if ((argc == 2 || argc == 3) && strncmp(argv[1], "--setup-fd=", 11) == 0) {
                bool new_netns = argc == 3 && streq(argv[2], "--new-netns");
                int fd;

                if (safe_atoi(argv[1] + 11, &fd) < 0 || fd < 0 || (argc == 3 && !new_netns)) {
                        fprintf(stderr, "vessel-init: bad arguments for the setup: %s%s%s\n", argv[1],
                                argc == 3 ? " " : "", argc == 3 ? argv[2] : "");
                        return INIT_EXIT_FAILURE;
                }
                /* What ps and systemctl status show of every container's PID 1: "vessel-init", not
                 * the number of a descriptor long closed. The kernel reads our command line from
                 * this memory; a NUL at its end keeps it from looking further. */
                char *end = argv[argc - 1] + strlen(argv[argc - 1]);
                memset(argv[1], 0, (size_t) (end - argv[1]));

                argv = container_setup(fd, new_netns, &argc);
                in_place = true;
        }

        r = setup(c, argc, argv, in_place);
        if (r < 0)
                return INIT_EXIT_FAILURE;
        if (r == 0)
                return 0;

        r = run(c);
        if (r < 0 && !c->app_exited)
                /* Without a signalfd we cannot learn how the app ends; make the namespace go down with us
                 * rather than leave it without an init. No exit file: the daemon sees our 125. */
                return INIT_EXIT_FAILURE;

        finish(c);
        return exit_status_to_exit_code(c->app_status);
}
