/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vesselctl exec and shell: a process in a running container.
 *
 * Without -t the process gets our stdio (stdin only with -i, else /dev/null) through ExecContainer,
 * whose reply carries its status. With -t it gets a pty of the container's own devpts
 * (ExecContainerPTY hands us the master) and we relay: our stdin to the master (with -i), the
 * master to our stdout, window size changes, until the manager's ExecExited signal tells the
 * status and the master has been drained.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <systemd/sd-event.h>
#include <termios.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-exec.h"
#include "log.h"
#include "string-util.h"
#include "verb-ops.h"
#include "vesselctl.h"

static ExecOptions arg_exec;

/* ---- options ---------------------------------------------------------------------------------- */

const struct option exec_options[] = {
        { "interactive", no_argument, NULL, 'i' },
        { "tty", no_argument, NULL, 't' },
        { "user", required_argument, NULL, 'u' },
        { "env", required_argument, NULL, 'e' },
        { "workdir", required_argument, NULL, 'w' },
        {},
};

/* shell is exec -it: only the rest */
const struct option shell_options[] = {
        { "user", required_argument, NULL, 'u' },
        { "env", required_argument, NULL, 'e' },
        { "workdir", required_argument, NULL, 'w' },
        {},
};

int parse_exec_option(int c, const char *arg) {
        int r;

        if (c <= 0 || c >= 128)
                return 0;
        r = exec_options_apply(&arg_exec, (char) c, arg);
        if (r == -ENOMEM)
                return log_oom();
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                const char *opt = "env", *expect = "KEY=VALUE, or KEY to pass ours";

                if (c == 'u') {
                        opt = "user";
                        expect = "USER[:GROUP], names or numbers";
                } else if (c == 'w') {
                        opt = "workdir";
                        expect = "an absolute path";
                }

                return log_error_errno(r, "Invalid value '%s' for --%s (expected %s).", arg, opt, expect);
        }
        return 0;
}

static void help_exec_common(void) {
        printf("  -u --user=USER[:GROUP]          Run as this user of the container (name or uid)\n"
               "  -e --env=KEY=VALUE              Set an environment variable (KEY alone: pass ours)\n"
               "  -w --workdir=DIR                Working directory inside the container\n");
}

void help_exec(void) {
        printf("  -i --interactive                Pass our standard input (else /dev/null)\n"
               "  -t --tty                        Allocate a terminal in the container's own devpts;\n"
               "                                  with -i, our terminal goes raw: keys go to it as typed\n");
        help_exec_common();
}

void help_shell(void) {
        help_exec_common();
}

/* ---- without a terminal ----------------------------------------------------------------------- */

static int append_call(sd_bus_message *m, const char *name, char **argv, const char *term) {
        int r;

        r = sd_bus_message_append(m, "s", name);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, argv);
        if (r < 0)
                return r;
        return exec_options_append_settings(&arg_exec, term, m);
}

static int exec_pipe(const char *name, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int null_fd = -EBADF;
        int32_t status;
        int in_fd = STDIN_FILENO, r;

        if (!arg_exec.interactive) {
                null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (null_fd < 0) {
                        log_error_errno(errno, "Failed to open /dev/null: %m");
                        return EXIT_RUN_FAILED;
                }
                in_fd = null_fd;
        }

        r = ctl_bus_open(&bus);
        if (r < 0)
                return EXIT_RUN_FAILED;

        r = manager_new_call(bus, "ExecContainer", &m);
        if (r >= 0)
                r = append_call(m, name, argv, NULL);
        if (r >= 0)
                r = sd_bus_message_append(m, "hhh", in_fd, STDOUT_FILENO, STDERR_FILENO);
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                return EXIT_RUN_FAILED;
        }

        fflush(stdout);
        /* as long as the process runs */
        r = sd_bus_call(bus, m, BUS_TIMEOUT_INFINITE, &error, &reply);
        if (r < 0) {
                log_bus_error(r, &error, "Failed to execute in the container");
                return EXIT_RUN_FAILED;
        }
        r = sd_bus_message_read(reply, "i", &status);
        if (r < 0) {
                log_error_errno(r, "Failed to parse the ExecContainer reply: %m");
                return EXIT_RUN_FAILED;
        }
        return exec_exit_code(status);
}

/* ---- with a terminal -------------------------------------------------------------------------- */

static struct termios saved_termios;
static bool terminal_raw = false;

static void terminal_restore(void) {
        if (!terminal_raw)
                return;
        (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
        terminal_raw = false;
}

static int terminal_make_raw(void) {
        static bool atexit_done = false;
        struct termios raw;

        if (!terminal_raw && tcgetattr(STDIN_FILENO, &saved_termios) < 0)
                return -errno;
        raw = saved_termios;
        /* output too: the container's terminal has done its processing already (\n → \r\n) */
        cfmakeraw(&raw);
        if (!atexit_done) {
                /* every way out restores it, also exit() from a path we did not think of */
                if (atexit(terminal_restore) != 0)
                        return -ENOMEM;
                atexit_done = true;
        }
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return -errno;
        terminal_raw = true;
        return 0;
}

/* Blocked while we run, handled by the event loop: none can come between the raw mode and its
 * restoration. */
static const int pty_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGCONT };

#define PTY_BUFFER_SIZE 4096
#define PTY_STDIN_FILE_MAX (16U << 20)
/* how long, after the process exited, output may still come from others that hold the terminal */
#define PTY_DRAIN_USEC (500 * USEC_PER_MSEC)
/* how long, after the terminal hung up, we wait for ExecExited: vesseld sends none when the process
 * failed before its exec (an unknown user, a missing command), and we must not wait forever */
#define PTY_STATUS_WAIT_USEC (3 * USEC_PER_SEC)

typedef struct PtyContext {
        sd_event *event;
        sd_bus *bus;
        char *daemon; /* the sender of the reply: ExecExited must come from it */
        int master;
        uint32_t id;
        bool exited;
        int32_t status;

        sd_event_source *stdin_source, *master_source, *drain_timer, *status_timer;
        bool relay_stdin, stdin_eof, eof_sent, master_eof, stdout_broken;
        char *in_buf; /* waiting for the master */
        size_t in_len, in_off, in_size;
} PtyContext;

static void pty_resize(PtyContext *c) {
        struct winsize ws = {};

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
                return;
        if (ws.ws_row == 0 && ws.ws_col == 0)
                return;
        if (ioctl(c->master, TIOCSWINSZ, &ws) < 0)
                log_debug_errno(errno, "Failed to set the window size: %m");
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PtyContext *c = ASSERT_PTR(userdata);

        terminal_restore(); /* for the message's line ending */
        log_error("The terminal hung up, but vesseld did not say how the process ended; "
                  "it may have failed to start.");
        return sd_event_exit(c->event, EXIT_RUN_FAILED);
}

static void pty_finish(PtyContext *c) {
        int r;

        if (c->exited && c->master_eof) {
                (void) sd_event_exit(c->event, exec_exit_code(c->status));
                return;
        }
        if (c->master_eof && !c->exited && !c->status_timer) {
                r = sd_event_add_time_relative(
                        c->event,
                        &c->status_timer,
                        CLOCK_MONOTONIC,
                        PTY_STATUS_WAIT_USEC,
                        0,
                        on_status_timer,
                        c);
                if (r < 0)
                        log_debug_errno(r, "Failed to arm a timer: %m");
        }
}

static void write_stdout(PtyContext *c, const char *p, size_t n) {
        while (n > 0 && !c->stdout_broken) {
                ssize_t k = write(STDOUT_FILENO, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        /* a non-blocking stdout someone else set up: wait for it */
                        struct timespec ts = { 0, 1000000 };
                        (void) nanosleep(&ts, NULL);
                        continue;
                }
                if (k <= 0) {
                        /* the reader went away: keep draining the master, drop the output */
                        log_debug_errno(k < 0 ? errno : EIO, "Failed to write output: %m");
                        c->stdout_broken = true;
                        return;
                }
                p += k;
                n -= (size_t) k;
        }
}

/* Reads what the master has; marks EOF when no one holds the other side any more (EIO). */
static void pty_drain(PtyContext *c) {
        char buf[PTY_BUFFER_SIZE * 4];

        for (unsigned i = 0; i < 64 && !c->master_eof; i++) {
                ssize_t n = read(c->master, buf, sizeof buf);

                if (n > 0) {
                        write_stdout(c, buf, (size_t) n);
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                c->master_eof = true;
                c->master_source = sd_event_source_disable_unref(c->master_source);
        }
}

static int pty_update_events(PtyContext *c);

static void pty_send_eof(PtyContext *c) {
        struct termios t;
        char eof = 4; /* ^D */

        /* our input ended: tell the process as a terminal would, with its VEOF character */
        c->eof_sent = true;
        if (tcgetattr(c->master, &t) >= 0 && t.c_cc[VEOF] != _POSIX_VDISABLE)
                eof = (char) t.c_cc[VEOF];
        if (c->in_len + 1 > c->in_size) {
                char *n = realloc(c->in_buf, c->in_len + 1);
                if (!n)
                        return;
                c->in_buf = n;
                c->in_size = c->in_len + 1;
        }
        c->in_buf[c->in_len++] = eof;
}

static void pty_flush_input(PtyContext *c) {
        while (c->in_off < c->in_len && !c->master_eof) {
                ssize_t n = write(c->master, c->in_buf + c->in_off, c->in_len - c->in_off);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0) {
                        /* no one reads the terminal any more */
                        c->in_off = c->in_len;
                        break;
                }
                c->in_off += (size_t) n;
        }
        if (c->in_off >= c->in_len) {
                c->in_off = c->in_len = 0;
                if (c->stdin_eof && !c->eof_sent) {
                        pty_send_eof(c);
                        pty_flush_input(c);
                }
        }
}

static int on_master(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PtyContext *c = ASSERT_PTR(userdata);

        if (revents & EPOLLOUT)
                pty_flush_input(c);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                pty_drain(c);
        (void) pty_update_events(c);
        pty_finish(c);
        return 0;
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PtyContext *c = ASSERT_PTR(userdata);
        ssize_t n;

        /* epoll said readable: this read does not block */
        n = read(STDIN_FILENO, c->in_buf, c->in_size);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return 0;
        if (n <= 0) {
                c->stdin_eof = true;
                c->stdin_source = sd_event_source_disable_unref(c->stdin_source);
        } else {
                c->in_len = (size_t) n;
                c->in_off = 0;
        }
        pty_flush_input(c);
        return pty_update_events(c);
}

/* Input waits in in_buf until the master takes it; meanwhile we read no more of stdin. */
static int pty_update_events(PtyContext *c) {
        bool pending = c->in_off < c->in_len;
        int r;

        if (c->stdin_source) {
                r = sd_event_source_set_enabled(c->stdin_source, pending ? SD_EVENT_OFF : SD_EVENT_ON);
                if (r < 0)
                        return r;
        }
        if (c->master_source) {
                r = sd_event_source_set_io_events(c->master_source, EPOLLIN | (pending ? EPOLLOUT : 0));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_drain_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PtyContext *c = ASSERT_PTR(userdata);

        /* the process is gone, but something else holds its terminal: take what is there, and go */
        pty_drain(c);
        c->master_eof = true;
        pty_finish(c);
        return 0;
}

static int on_exec_exited(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PtyContext *c = ASSERT_PTR(userdata);
        uint32_t id;
        int32_t status;
        int r;

        /* a broadcast: the one for our process, from vesseld itself (the reply's sender) */
        if (!streq_ptr(sd_bus_message_get_sender(m), c->daemon))
                return 0;
        r = sd_bus_message_read(m, "ui", &id, &status);
        if (r < 0 || id != c->id || c->exited)
                return 0;

        c->exited = true;
        c->status = status;
        if (!c->master_eof) {
                pty_drain(c);
                if (!c->master_eof) {
                        r = sd_event_add_time_relative(
                                c->event,
                                &c->drain_timer,
                                CLOCK_MONOTONIC,
                                PTY_DRAIN_USEC,
                                0,
                                on_drain_timer,
                                c);
                        if (r < 0)
                                c->master_eof = true;
                }
        }
        pty_finish(c);
        return 0;
}

static int on_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        /* vesseld's private socket has no match rules to install (and needs none: it sends us its
         * signals directly); a refusal there must not close the connection */
        if (e)
                log_debug("AddMatch failed: %s", e->message ?: e->name);
        return 0;
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PtyContext *c = ASSERT_PTR(userdata);

        if (c->exited)
                return 0;
        terminal_restore();
        log_error("Lost the connection to vesseld; the exit status of the process is unknown.");
        return sd_event_exit(c->event, EXIT_RUN_FAILED);
}

static int on_pty_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        PtyContext *c = ASSERT_PTR(userdata);
        int sig = (int) si->ssi_signo;

        switch (sig) {
        case SIGWINCH:
                pty_resize(c);
                return 0;
        case SIGCONT:
                /* back from a stop: the shell that stopped us may have reset the terminal */
                if (terminal_raw)
                        (void) terminal_make_raw();
                pty_resize(c);
                return 0;
        default:
                /* The process keeps running until the terminal hangs up on it, when we close the
                 * master on our way out. */
                return sd_event_exit(c->event, 128 + sig);
        }
}

/* stdin that epoll cannot watch (a file, /dev/null) never blocks: take it all now */
static int pty_slurp_stdin(PtyContext *c) {
        for (;;) {
                ssize_t n;

                if (c->in_len == c->in_size) {
                        char *b;

                        if (c->in_size >= PTY_STDIN_FILE_MAX)
                                return -EFBIG;
                        b = realloc(c->in_buf, c->in_size * 2);
                        if (!b)
                                return -ENOMEM;
                        c->in_buf = b;
                        c->in_size *= 2;
                }
                n = read(STDIN_FILENO, c->in_buf + c->in_len, c->in_size - c->in_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                c->in_len += (size_t) n;
        }
        c->stdin_eof = true;
        return 0;
}

static int exec_pty(const char *name, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *disconnect = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        PtyContext c = { .master = -EBADF };
        const char *sender;
        bool stdin_tty = isatty(STDIN_FILENO);
        sigset_t mask;
        int fd, r;

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(pty_signals); i++)
                sigaddset(&mask, pty_signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                log_error_errno(errno, "Failed to block signals: %m");
                return EXIT_RUN_FAILED;
        }
        /* a reader of our output that goes away must not kill us with the terminal in raw mode */
        (void) signal(SIGPIPE, SIG_IGN);

        r = ctl_bus_open(&bus);
        if (r < 0)
                return EXIT_RUN_FAILED;
        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(pty_signals); i++)
                r = sd_event_add_signal(event, NULL, pty_signals[i], on_pty_signal, &c);
        /* before the call: the process may exit before its reply is read */
        if (r >= 0)
                r = sd_bus_add_match_async(
                        bus,
                        &match,
                        "type='signal',path='" VESSEL_OBJECT_PATH "',"
                        "interface='" VESSEL_MANAGER_INTERFACE "',member='ExecExited'",
                        on_exec_exited,
                        on_match_installed,
                        &c);
        if (r >= 0)
                r = sd_bus_match_signal_async(
                        bus,
                        &disconnect,
                        NULL,
                        "/org/freedesktop/DBus/Local",
                        "org.freedesktop.DBus.Local",
                        "Disconnected",
                        on_disconnected,
                        on_match_installed,
                        &c);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return EXIT_RUN_FAILED;
        }
        c.event = event;
        c.bus = bus;

        struct winsize ws0 = {};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws0) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws0) >= 0) {
                arg_exec.rows = ws0.ws_row;
                arg_exec.columns = ws0.ws_col;
        }
        r = manager_new_call(bus, "ExecContainerPTY", &m);
        if (r >= 0)
                r = append_call(m, name, argv, getenv("TERM"));
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                return EXIT_RUN_FAILED;
        }
        /* answered as soon as the terminal exists, before the process runs: sd-bus's default
         * timeout, so that a reply that never comes does not hang us (with the terminal cooked
         * still, ^C works meanwhile) */
        r = sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, &error, &reply);
        if (r < 0) {
                log_bus_error(r, &error, "Failed to execute in the container");
                return EXIT_RUN_FAILED;
        }
        r = sd_bus_message_read(reply, "hu", &fd, &c.id);
        if (r < 0) {
                log_error_errno(r, "Failed to parse the ExecContainerPTY reply: %m");
                return EXIT_RUN_FAILED;
        }
        c.master = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (c.master < 0) {
                log_error_errno(errno, "Failed to take the terminal: %m");
                return EXIT_RUN_FAILED;
        }
        sender = sd_bus_message_get_sender(reply);
        if (sender) {
                c.daemon = strdup(sender);
                if (!c.daemon) {
                        log_oom();
                        r = EXIT_RUN_FAILED;
                        goto finish;
                }
        }

        /* From here on the process runs: failures are ours, its status is lost, 125 says so. */
        r = fcntl(c.master, F_SETFL, fcntl(c.master, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(event, &c.master_source, c.master, EPOLLIN, on_master, &c);
        if (r < 0) {
                log_error_errno(r, "Failed to watch the terminal: %m");
                r = EXIT_RUN_FAILED;
                goto finish;
        }
        pty_resize(&c);

        c.relay_stdin = arg_exec.interactive;
        if (c.relay_stdin) {
                c.in_size = PTY_BUFFER_SIZE;
                c.in_buf = malloc(c.in_size);
                if (!c.in_buf) {
                        log_oom();
                        r = EXIT_RUN_FAILED;
                        goto finish;
                }
                r = sd_event_add_io(event, &c.stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, &c);
                if (r == -EPERM) {
                        r = pty_slurp_stdin(&c);
                        if (r < 0)
                                log_warning_errno(r, "Failed to read standard input: %m");
                        pty_flush_input(&c);
                        r = pty_update_events(&c);
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to watch standard input: %m");
                        r = EXIT_RUN_FAILED;
                        goto finish;
                }
                /* keys go to the process as they are typed: ^C is the container's, not ours */
                if (stdin_tty) {
                        r = terminal_make_raw();
                        if (r < 0)
                                log_warning_errno(r, "Failed to put the terminal in raw mode: %m");
                }
        }

        r = sd_event_loop(event);
        terminal_restore();
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                r = EXIT_RUN_FAILED;
        }

finish:
        terminal_restore();
        sd_event_source_disable_unref(c.stdin_source);
        sd_event_source_disable_unref(c.master_source);
        sd_event_source_disable_unref(c.drain_timer);
        sd_event_source_disable_unref(c.status_timer);
        safe_close(c.master);
        free(c.in_buf);
        free(c.daemon);
        return r;
}

/* ---- verbs ------------------------------------------------------------------------------------ */

static int exec_run(const char *name, char **argv) {
        int r;

        if (arg_exec.tty)
                r = exec_pty(name, argv);
        else
                r = exec_pipe(name, argv);
        exec_options_done(&arg_exec);
        return r;
}

int verb_exec(int argc, char *argv[]) {
        /* NAME CMD [ARG...] */
        return exec_run(argv[0], argv + 1);
}

int verb_shell(int argc, char *argv[]) {
        _cleanup_strv_free_ char **cmd = NULL;

        if (shell_command(argc - 1, argv + 1, &cmd) < 0) {
                log_oom();
                return EXIT_RUN_FAILED;
        }
        arg_exec.interactive = arg_exec.tty = true;
        return exec_run(argv[0], cmd);
}
