/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "ctl-bus.h"
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
} RunContext;

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
                                return sd_event_exit(c->event, EXIT_RUN_FAILED);
                        }
                        return 0;
                }
                log_bus_error(-sd_bus_message_get_errno(m), e, "Failed to run container");
                /* The container was made and its start failed: the wait sent along answers with
                 * 127 or 126 where the command could not be executed (the container ran and exited
                 * so, as a shell would), 125 where the setup failed before. Any other error: the
                 * wait may watch nothing, or someone else's container. */
                if (sd_bus_error_has_name(e, BUS_ERROR_SPAWN_FAILED) && !c->wait_lost) {
                        if (c->wait_done)
                                return sd_event_exit(c->event, c->exit_code);
                        c->spawn_failed = true;
                        return 0;
                }
                return sd_event_exit(c->event, EXIT_RUN_FAILED);
        }

        c->started = true;
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                if (c->pending_signals & (UINT64_C(1) << forwarded_signals[i]))
                        forward_signal(c, forwarded_signals[i]);
        c->pending_signals = 0;

        if (c->wait_done)
                return sd_event_exit(c->event, c->exit_code);
        if (c->wait_lost) {
                c->wait_lost = false;
                r = send_wait(c);
                if (r < 0) {
                        log_error_errno(r, "Failed to wait for container: %m");
                        return sd_event_exit(c->event, EXIT_RUN_FAILED);
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
                        return sd_event_exit(c->event, EXIT_RUN_FAILED);
                if (!c->started) {
                        c->wait_lost = true;
                        return 0;
                }
                log_bus_error(-sd_bus_message_get_errno(m), e, "Failed to wait for container");
                return sd_event_exit(c->event, EXIT_RUN_FAILED);
        }

        r = sd_bus_message_read(m, "ii", &status, &signo);
        if (r < 0) {
                log_error_errno(r, "Failed to parse the WaitContainer reply: %m");
                return sd_event_exit(c->event, EXIT_RUN_FAILED);
        }
        c->exit_code = exit_code_from_wait(status, signo);
        c->wait_done = true;

        if (c->started || c->spawn_failed)
                return sd_event_exit(c->event, c->exit_code);
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

static int run_attached(const char *image) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        RunContext c = { .image = image };
        sigset_t mask;
        int r;

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

        r = ctl_bus_open(&bus);
        if (r < 0)
                return EXIT_RUN_FAILED;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(forwarded_signals); i++)
                r = sd_event_add_signal(event, /* ret= */ NULL, forwarded_signals[i], on_signal, &c);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                return EXIT_RUN_FAILED;
        }
        c.event = event;
        c.bus = bus;

        /* With our own name we can send WaitContainer along with RunContainer (see send_run()). */
        if (arg_container.name)
                c.name = strdup(arg_container.name);
        else {
                c.name_generated = true;
                r = container_name_generate(0, &c.name);
                if (r < 0) {
                        log_error_errno(r, "Failed to generate a container name: %m");
                        return EXIT_RUN_FAILED;
                }
        }
        if (!c.name) {
                log_oom();
                return EXIT_RUN_FAILED;
        }

        r = send_run(&c);
        if (r < 0) {
                log_error_errno(r, "Failed to run container: %m");
                r = EXIT_RUN_FAILED;
        } else {
                r = sd_event_loop(event);
                if (r < 0) {
                        log_error_errno(r, "Event loop failed: %m");
                        r = EXIT_RUN_FAILED;
                }
        }

        sd_bus_slot_unref(c.run_slot);
        sd_bus_slot_unref(c.wait_slot);
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

        if (arg_container.detach)
                return run_detached(argv[0]);
        return run_attached(argv[0]);
}
