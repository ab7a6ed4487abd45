/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl-pty.h"
#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "vesselctl.h"

static struct termios saved_termios;
static bool terminal_raw = false;

void pty_terminal_restore(void) {
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
                if (atexit(pty_terminal_restore) != 0)
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
/* how long, after the terminal hung up, we wait to learn the status: vesseld sends no ExecExited
 * when an exec'd process failed before its exec (an unknown user, a missing command), and we must
 * not wait forever */
#define PTY_STATUS_WAIT_USEC (3 * USEC_PER_SEC)

/* Our terminal's window size, from stdout or else stdin; false when neither is a terminal. */
static bool terminal_winsize(struct winsize *ret) {
        *ret = (struct winsize) {};
        return ioctl(STDOUT_FILENO, TIOCGWINSZ, ret) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, ret) >= 0;
}

static void pty_resize(PtyRelay *c) {
        struct winsize ws;

        if (!terminal_winsize(&ws))
                return;
        if (ws.ws_row == 0 && ws.ws_col == 0)
                return;
        if (ioctl(c->master, TIOCSWINSZ, &ws) < 0)
                log_debug_errno(errno, "Failed to set the window size: %m");
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PtyRelay *c = ASSERT_PTR(userdata);

        pty_terminal_restore(); /* for the message's line ending */
        log_error("The terminal hung up, but vesseld did not say how the process ended; "
                  "it may have failed to start.");
        return sd_event_exit(c->event, EXIT_RUN_FAILED);
}

static void pty_finish(PtyRelay *c) {
        int r;

        if (c->exited && c->master_eof) {
                (void) sd_event_exit(c->event, c->exit_code);
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

static void write_stdout(PtyRelay *c, const char *p, size_t n) {
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
static void pty_drain(PtyRelay *c) {
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

static int pty_update_events(PtyRelay *c);

static void pty_send_eof(PtyRelay *c) {
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

static void pty_flush_input(PtyRelay *c) {
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
        PtyRelay *c = ASSERT_PTR(userdata);

        if (revents & EPOLLOUT)
                pty_flush_input(c);
        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))
                pty_drain(c);
        (void) pty_update_events(c);
        pty_finish(c);
        return 0;
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        PtyRelay *c = ASSERT_PTR(userdata);
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
static int pty_update_events(PtyRelay *c) {
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
        PtyRelay *c = ASSERT_PTR(userdata);

        /* the process is gone, but something else holds its terminal: take what is there, and go */
        pty_drain(c);
        c->master_eof = true;
        pty_finish(c);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        PtyRelay *c = ASSERT_PTR(userdata);
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

static int pty_slurp_stdin(PtyRelay *c) {
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

void pty_relay_exited(PtyRelay *c, int exit_code) {
        int r;

        if (c->exited)
                return;
        c->exited = true;
        c->exit_code = exit_code;
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
}

int pty_relay_init(PtyRelay *c, sd_event *event) {
        sigset_t mask;
        int r;

        *c = (PtyRelay) { .event = event, .master = -EBADF };

        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(pty_signals); i++)
                sigaddset(&mask, pty_signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        /* a reader of our output that goes away must not kill us with the terminal in raw mode */
        (void) signal(SIGPIPE, SIG_IGN);

        _Static_assert(ELEMENTSOF(pty_signals) == ELEMENTSOF(((PtyRelay *) NULL)->signal_sources), "one source per signal");
        for (size_t i = 0; i < ELEMENTSOF(pty_signals); i++) {
                r = sd_event_add_signal(event, &c->signal_sources[i], pty_signals[i], on_signal, c);
                if (r < 0)
                        return r;
        }
        return 0;
}

void pty_terminal_size(uint16_t *ret_rows, uint16_t *ret_columns) {
        struct winsize ws;

        if (!terminal_winsize(&ws))
                ws = (struct winsize) {};
        *ret_rows = ws.ws_row;
        *ret_columns = ws.ws_col;
}

bool pty_relay_attached(const PtyRelay *c) {
        return c->master >= 0;
}

int pty_relay_attach(PtyRelay *c, int master, bool relay_stdin) {
        bool stdin_tty = isatty(STDIN_FILENO);
        int r;

        c->master = master;
        r = fcntl(c->master, F_SETFL, fcntl(c->master, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(c->event, &c->master_source, c->master, EPOLLIN, on_master, c);
        if (r < 0)
                return r;
        pty_resize(c);

        c->relay_stdin = relay_stdin;
        if (!relay_stdin)
                return 0;
        c->in_size = PTY_BUFFER_SIZE;
        c->in_buf = malloc(c->in_size);
        if (!c->in_buf)
                return -ENOMEM;
        r = sd_event_add_io(c->event, &c->stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, c);
        if (r == -EPERM) {
                r = pty_slurp_stdin(c);
                if (r < 0)
                        log_warning_errno(r, "Failed to read standard input: %m");
                pty_flush_input(c);
                r = pty_update_events(c);
        }
        if (r < 0)
                return r;
        /* keys go to the process as they are typed: ^C is the container's, not ours */
        if (stdin_tty) {
                r = terminal_make_raw();
                if (r < 0)
                        log_warning_errno(r, "Failed to put the terminal in raw mode: %m");
        }
        return 0;
}

void pty_relay_done(PtyRelay *c) {
        pty_terminal_restore();
        c->stdin_source = sd_event_source_disable_unref(c->stdin_source);
        c->master_source = sd_event_source_disable_unref(c->master_source);
        c->drain_timer = sd_event_source_disable_unref(c->drain_timer);
        c->status_timer = sd_event_source_disable_unref(c->status_timer);
        for (size_t i = 0; i < ELEMENTSOF(c->signal_sources); i++)
                c->signal_sources[i] = sd_event_source_disable_unref(c->signal_sources[i]);
        c->master = safe_close(c->master);
        c->in_buf = mfree(c->in_buf);
}
