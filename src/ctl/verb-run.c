/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-pty.h"
#include "fd-util.h"
#include "log.h"
#include "name-util.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"
#include "vesselctl.h"

/* Signals we pass on to the container's PID 1 while attached, as docker's sig-proxy does. */
static const int forwarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

/* How often a generated name may collide before we give up. */
#define NAME_ATTEMPTS_MAX 8

typedef struct RunContext {
        sd_event *event;
        sd_bus *bus;
        const char *image;
        char *name;
        bool name_generated;
        unsigned attempt;

        sd_bus_slot *run_slot;
        sd_bus_slot *wait_slot;
        bool started;   /* RunContainer succeeded */
        bool wait_done; /* WaitContainer answered; exit_code holds the result */
        bool wait_lost; /* WaitContainer failed before RunContainer answered: ask again */
        /* RunContainer failed in the container's start: the wait's status decides */
        bool spawn_failed;
        int exit_code;
        uint64_t pending_signals; /* arrived before the container started */

        /* -t: the app runs on a terminal of the container's own; its master comes over console_fd */
        bool tty;
        int console_fd;
        sd_event_source *console_source;
        PtyRelay pty;
} RunContext;

/* The container's status is known (and RunContainer answered): with a terminal, once the master is
 * drained too. */
static int run_done(RunContext *c) {
        if (c->tty && pty_relay_attached(&c->pty)) {
                pty_relay_exited(&c->pty, c->exit_code);
                return 0;
        }
        return sd_event_exit(c->event, c->exit_code);
}

static int run_failed(RunContext *c) {
        pty_terminal_restore();
        return sd_event_exit(c->event, EXIT_RUN_FAILED);
}

static int on_console(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        RunContext *c = ASSERT_PTR(userdata);
        char path[64];
        struct iovec iov = { .iov_base = path, .iov_len = sizeof path };
        int master = -EBADF, r;
        size_t n_fds;
        ssize_t n;

        n = recv_with_fds(fd, &iov, 1, &master, 1, &n_fds, MSG_DONTWAIT);
        if (n == -EAGAIN)
                return 0;

        /* one message, or the end: the start failed before the terminal, RunContainer says why */
        c->console_source = sd_event_source_disable_unref(c->console_source);
        c->console_fd = safe_close(c->console_fd);
        if (master < 0)
                return 0;
        r = pty_relay_attach(&c->pty, master, arg_container.interactive);
        if (r < 0) {
                log_error_errno(r, "Failed to relay the container's terminal: %m");
                return run_failed(c);
        }
        return 0;
}

static int send_wait(RunContext *c);
static int send_run(RunContext *c);

static int on_kill_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);

        /* the container may have exited meanwhile: not worth more than a debug line */
        if (e)
                log_debug("Failed to forward signal: %s", e->message ?: e->name);
        return 0;
}

static void forward_signal(RunContext *c, int sig) {
        int r;

        r = sd_bus_call_method_async(
                c->bus,
                /* slot= */ NULL,
                VESSEL_BUS_NAME,
                VESSEL_OBJECT_PATH,
                VESSEL_MANAGER_INTERFACE,
                "KillContainer",
                on_kill_reply,
                c,
                "ssi",
                c->name,
                "leader",
                (int32_t) sig);
        if (r < 0)
                log_warning_errno(r, "Failed to forward SIG%s: %m", strna(signal_to_name(sig)));
}

static int on_run_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        RunContext *c = ASSERT_PTR(userdata);
        const sd_bus_error *e;
        int r;

        c->run_slot = sd_bus_slot_unref(c->run_slot);

        e = sd_bus_message_get_error(m);
        if (e) {
                if (c->name_generated && sd_bus_error_has_name(e, BUS_ERROR_CONTAINER_EXISTS) &&
                    c->attempt + 1 < NAME_ATTEMPTS_MAX) {
                        /* The wait we sent along would watch someone else's container. */
                        c->wait_slot = sd_bus_slot_unref(c->wait_slot);
                        c->wait_done = c->wait_lost = false;
                        c->attempt++;
                        c->name = mfree(c->name);
                        r = container_name_generate(c->attempt, &c->name);
                        if (r >= 0)
                                r = send_run(c);
                        if (r < 0) {
                                log_error_errno(r, "Failed to run container: %m");
                                return run_failed(c);
                        }
                        return 0;
                }
                pty_terminal_restore();
                log_bus_error(-sd_bus_message_get_errno(m), e, "Failed to run container");
                /* The container was made and its start failed: the wait sent along answers with
                 * 127 or 126 where the command could not be executed (the container ran and exited
                 * so, as a shell would), 125 where the setup failed before. Any other error: the
                 * wait may watch nothing, or someone else's container. */
                if (sd_bus_error_has_name(e, BUS_ERROR_SPAWN_FAILED) && !c->wait_lost) {
                        if (c->wait_done)
                                return run_done(c);
                        c->spawn_failed = true;
                        return 0;
                }
                return run_failed(c);
        }

        c->started = true;
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                if (c->pending_signals & (UINT64_C(1) << forwarded_signals[i]))
                        forward_signal(c, forwarded_signals[i]);
        c->pending_signals = 0;

        if (c->wait_done)
                return run_done(c);
        if (c->wait_lost) {
                c->wait_lost = false;
                r = send_wait(c);
                if (r < 0) {
                        log_error_errno(r, "Failed to wait for container: %m");
                        return run_failed(c);
                }
        }
        return 0;
}

static int on_wait_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        RunContext *c = ASSERT_PTR(userdata);
        const sd_bus_error *e;
        int32_t status, signo;
        int r;

        c->wait_slot = sd_bus_slot_unref(c->wait_slot);

        e = sd_bus_message_get_error(m);
        if (e) {
                /* Sent right behind RunContainer, the wait can find no container yet if the daemon
                 * registers it late: ask again once the run is answered. */
                if (c->spawn_failed)
                        return run_failed(c);
                if (!c->started) {
                        c->wait_lost = true;
                        return 0;
                }
                pty_terminal_restore();
                log_bus_error(-sd_bus_message_get_errno(m), e, "Failed to wait for container");
                return run_failed(c);
        }

        r = sd_bus_message_read(m, "ii", &status, &signo);
        if (r < 0) {
                pty_terminal_restore();
                log_error_errno(r, "Failed to parse the WaitContainer reply: %m");
                return run_failed(c);
        }
        c->exit_code = exit_code_from_wait(status, signo);
        c->wait_done = true;

        if (c->started || c->spawn_failed)
                return run_done(c);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        RunContext *c = ASSERT_PTR(userdata);
        int sig = (int) si->ssi_signo;
        uint64_t bit = UINT64_C(1) << sig;

        if (c->started) {
                forward_signal(c, sig);
                return 0;
        }

        /* Not started yet: keep it for the container. A second terminating signal means the user
         * wants out now, even though RunContainer has not answered. */
        if ((c->pending_signals & bit) && sig != SIGUSR1 && sig != SIGUSR2) {
                log_error("Interrupted before the container started.");
                return sd_event_exit(c->event, 128 + sig);
        }
        c->pending_signals |= bit;
        return 0;
}

static int send_wait(RunContext *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = manager_new_call(c->bus, "WaitContainer", &m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", c->name);
        if (r < 0)
                return r;
        return sd_bus_call_async(c->bus, &c->wait_slot, m, on_wait_reply, c, BUS_TIMEOUT_INFINITE);
}

static int send_run(RunContext *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = container_new_create_call(c->bus, "RunContainer", c->name, c->image, &m);
        if (r < 0)
                return r;
        r = sd_bus_call_async(c->bus, &c->run_slot, m, on_run_reply, c, BUS_TIMEOUT_INFINITE);
        if (r < 0)
                return r;

        /* WaitContainer right behind it, before RunContainer is answered: with AutoRemove a short
         * process can exit and be removed before a wait sent after the reply would arrive, and its
         * status would be lost. The daemon reads our messages in order. */
        return send_wait(c);
}

static int run_detached(const char *image) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const char *path;
        int r;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return EXIT_RUN_FAILED;

        r = container_new_create_call(bus, "RunContainer", arg_container.name, image, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                return EXIT_RUN_FAILED;
        }
        r = sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, &error, &reply);
        if (r < 0) {
                log_bus_error(r, &error, "Failed to run container");
                return EXIT_RUN_FAILED;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0) {
                log_error_errno(r, "Failed to parse reply: %m");
                return EXIT_RUN_FAILED;
        }
        print_container_name(path);
        return 0;
}

/* run -t: TERM for the terminal, unless the user set one (as docker run -t does) */
static int tty_environment(void) {
        STRV_FOREACH(e, arg_container.environment)
                if (startswith(*e, "TERM=") || streq(*e, "TERM"))
                        return 0;
        _cleanup_free_ char *term = strjoin("TERM=", getenv("TERM") ?: "xterm");
        if (!term)
                return -ENOMEM;
        return strv_env_set(&arg_container.environment, term);
}

static int run_attached(const char *image) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        RunContext c = { .image = image, .tty = arg_container.tty, .console_fd = -EBADF };
        sigset_t mask;
        int r;

        c.pty.master = -EBADF;
        r = sd_event_default(&event);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return EXIT_RUN_FAILED;
        }
        c.event = event;

        if (c.tty) {
                /* the terminal is the container's: it takes our keys (with -i) and our window size;
                 * a signal to us hangs it up */
                int pair[2];

                r = pty_relay_init(&c.pty, event);
                if (r >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
                        r = -errno;
                if (r >= 0) {
                        c.console_fd = pair[0];
                        arg_container.console_fd = pair[1];
                        r = sd_event_add_io(event, &c.console_source, c.console_fd, EPOLLIN, on_console, &c);
                }
                if (r >= 0)
                        r = tty_environment();
                if (r < 0) {
                        log_error_errno(r, "Failed to prepare the terminal: %m");
                        r = EXIT_RUN_FAILED;
                        goto finish;
                }
                pty_terminal_size(&arg_container.tty_rows, &arg_container.tty_columns);
        } else {
                /* Our stdio is the container's: the daemon attaches these instead of the journal. */
                arg_container.stdout_fd = STDOUT_FILENO;
                arg_container.stderr_fd = STDERR_FILENO;
                if (arg_container.interactive)
                        arg_container.stdin_fd = STDIN_FILENO;

                /* blocked before anything can deliver them, so none is lost between connect and the loop */
                sigemptyset(&mask);
                for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                        sigaddset(&mask, forwarded_signals[i]);
                if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                        log_error_errno(errno, "Failed to block signals: %m");
                        return EXIT_RUN_FAILED;
                }
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(forwarded_signals); i++)
                        r = sd_event_add_signal(event, /* ret= */ NULL, forwarded_signals[i], on_signal, &c);
                if (r < 0) {
                        log_error_errno(r, "Failed to set up the event loop: %m");
                        return EXIT_RUN_FAILED;
                }
        }

        r = ctl_bus_open(&bus);
        if (r < 0) {
                r = EXIT_RUN_FAILED;
                goto finish;
        }
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                r = EXIT_RUN_FAILED;
                goto finish;
        }
        c.bus = bus;

        /* With our own name we can send WaitContainer along with RunContainer (see send_run()). */
        if (arg_container.name)
                c.name = strdup(arg_container.name);
        else {
                c.name_generated = true;
                r = container_name_generate(0, &c.name);
                if (r < 0) {
                        log_error_errno(r, "Failed to generate a container name: %m");
                        r = EXIT_RUN_FAILED;
                        goto finish;
                }
        }
        if (!c.name) {
                log_oom();
                r = EXIT_RUN_FAILED;
                goto finish;
        }

        r = send_run(&c);
        /* the message has its own copy: the socket's other end is the container's alone now, so
         * that a start that fails before the terminal ends our side too */
        arg_container.console_fd = safe_close(arg_container.console_fd);
        if (r < 0) {
                log_error_errno(r, "Failed to run container: %m");
                r = EXIT_RUN_FAILED;
        } else {
                r = sd_event_loop(event);
                pty_terminal_restore();
                if (r < 0) {
                        log_error_errno(r, "Event loop failed: %m");
                        r = EXIT_RUN_FAILED;
                }
        }

finish:
        sd_bus_slot_unref(c.run_slot);
        sd_bus_slot_unref(c.wait_slot);
        sd_event_source_disable_unref(c.console_source);
        safe_close(c.console_fd);
        arg_container.console_fd = safe_close(arg_container.console_fd);
        pty_relay_done(&c.pty);
        free(c.name);
        return r;
}

int verb_run(int argc, char *argv[]) {
        if (finalize_container_options(UINT64_MAX) < 0)
                return EXIT_USAGE;
        if (container_options_take_command(argc, argv) < 0) {
                log_oom();
                return EXIT_RUN_FAILED;
        }

        if (arg_container.tty && arg_container.detach) {
                log_error("--tty needs an attached run: the terminal lives as long as vesselctl holds it "
                          "(for a shell in a running container: vesselctl shell NAME).");
                return EXIT_USAGE;
        }
        if (arg_container.tty && arg_container.restart && !streq(arg_container.restart, "no")) {
                log_error("--tty with --restart: a restarted command would have no terminal to run on.");
                return EXIT_USAGE;
        }
        if (arg_container.detach)
                return run_detached(argv[0]);
        return run_attached(argv[0]);
}
