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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-exec.h"
#include "ctl-pty.h"
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

typedef struct ExecPty {
        PtyRelay pty;
        char *daemon; /* the sender of the reply: ExecExited must come from it */
        uint32_t id;
} ExecPty;

static int on_exec_exited(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        ExecPty *c = ASSERT_PTR(userdata);
        uint32_t id;
        int32_t status;
        int r;

        /* a broadcast: the one for our process, from vesseld itself (the reply's sender) */
        if (!streq_ptr(sd_bus_message_get_sender(m), c->daemon))
                return 0;
        r = sd_bus_message_read(m, "ui", &id, &status);
        if (r < 0 || id != c->id)
                return 0;
        pty_relay_exited(&c->pty, exec_exit_code(status));
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
        ExecPty *c = ASSERT_PTR(userdata);

        if (c->pty.exited)
                return 0;
        pty_terminal_restore();
        log_error("Lost the connection to vesseld; the exit status of the process is unknown.");
        return sd_event_exit(c->pty.event, EXIT_RUN_FAILED);
}

static int exec_pty(const char *name, char **argv) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *disconnect = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        ExecPty c = {};
        const char *sender;
        int fd, r;

        r = sd_event_default(&event);
        if (r >= 0)
                r = pty_relay_init(&c.pty, event);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop: %m");
                goto finish;
        }
        r = ctl_bus_open(&bus);
        if (r < 0)
                goto finish;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
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
                goto finish;
        }

        pty_terminal_size(&arg_exec.rows, &arg_exec.columns);
        r = manager_new_call(bus, "ExecContainerPTY", &m);
        if (r >= 0)
                r = append_call(m, name, argv, getenv("TERM"));
        if (r < 0) {
                log_error_errno(r, "Failed to build the call: %m");
                goto finish;
        }
        /* answered as soon as the terminal exists, before the process runs: sd-bus's default
         * timeout, so that a reply that never comes does not hang us (with the terminal cooked
         * still, ^C works meanwhile) */
        r = sd_bus_call(bus, m, BUS_TIMEOUT_DEFAULT, &error, &reply);
        if (r < 0) {
                log_bus_error(r, &error, "Failed to execute in the container");
                goto finish;
        }
        r = sd_bus_message_read(reply, "hu", &fd, &c.id);
        if (r < 0) {
                log_error_errno(r, "Failed to parse the ExecContainerPTY reply: %m");
                goto finish;
        }
        sender = sd_bus_message_get_sender(reply);
        if (sender) {
                c.daemon = strdup(sender);
                if (!c.daemon) {
                        r = log_oom();
                        goto finish;
                }
        }

        /* From here on the process runs: failures are ours, its status is lost, 125 says so. */
        fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        r = fd < 0 ? -errno : pty_relay_attach(&c.pty, fd, arg_exec.interactive);
        if (r < 0) {
                log_error_errno(r, "Failed to relay the terminal: %m");
                goto finish;
        }

        r = sd_event_loop(event);
        pty_terminal_restore();
        if (r < 0)
                log_error_errno(r, "Event loop failed: %m");

finish:
        pty_relay_done(&c.pty);
        free(c.daemon);
        return r < 0 ? EXIT_RUN_FAILED : r;
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
