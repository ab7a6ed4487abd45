/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* The options of exec and shell, and the settings (a(sv)) they turn into. Pure: no bus connection,
 * no logging, so that the unit tests drive it directly. */

typedef struct ExecOptions {
        bool interactive; /* -i: pass our stdin */
        bool tty;         /* -t: a pty of the container's own devpts */
        char *user;
        char *working_directory;
        char **environment; /* "KEY=VALUE", a later KEY replaces an earlier one */
        uint16_t rows, columns; /* -t: our terminal's size, sent as TTYRows/TTYColumns (0 = unknown) */
} ExecOptions;

void exec_options_init(ExecOptions *o);
void exec_options_done(ExecOptions *o);

/* One option by its short name ('i', 't', 'u', 'e', 'w'). -EINVAL for a bad value, -ENOENT for an
 * option that is not one of these, -ENOMEM. */
int exec_options_apply(ExecOptions *o, char c, const char *value);

/* Appends the a(sv) array ExecContainer takes: Environment, User, WorkingDirectory, only those given.
 * term: with a terminal, "TERM=..." is added to the environment unless the user set TERM (the
 * caller passes its own $TERM, or NULL for "xterm", as Docker does). */
int exec_options_append_settings(const ExecOptions *o, const char *term, sd_bus_message *m);

/* The command of "vesselctl shell NAME [CMD [ARG...]]": CMD..., or /bin/sh. */
int shell_command(int argc, char *argv[], char ***ret);

/* What vesselctl exits with for an ExecContainer status: the status itself when it is a valid
 * exit code (0..255, which includes 128+N for a signal), else 125. */
int exec_exit_code(int32_t status);
