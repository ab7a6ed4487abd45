/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-exec.h"
#include "ctl-options.h"
#include "string-util.h"

void exec_options_init(ExecOptions *o) {
        *o = (ExecOptions) {};
}

void exec_options_done(ExecOptions *o) {
        if (!o)
                return;
        free(o->user);
        free(o->working_directory);
        strv_free(o->environment);
        exec_options_init(o);
}

int exec_options_apply(ExecOptions *o, char c, const char *value) {
        switch (c) {
        case 'i':
                o->interactive = true;
                return 0;
        case 't':
                o->tty = true;
                return 0;
        case 'u':
                if (isempty(value))
                        return -EINVAL;
                return free_and_strdup(&o->user, value);
        case 'w':
                /* the daemon resolves it inside the container: it must be absolute */
                if (isempty(value) || value[0] != '/')
                        return -EINVAL;
                return free_and_strdup(&o->working_directory, value);
        case 'e':
                /* the same rules as run's -e: "K=V", or "K" taken from our environment */
                return parse_env_option(value, &o->environment);
        default:
                return -ENOENT;
        }
}

int exec_options_append_settings(const ExecOptions *o, const char *term, sd_bus_message *m) {
        _cleanup_strv_free_ char **env = NULL;
        int r;

        if (o->environment) {
                env = strv_copy(o->environment);
                if (!env)
                        return -ENOMEM;
        }
        if (o->tty && !strv_env_get(env, "TERM")) {
                _cleanup_free_ char *a = strjoin("TERM=", isempty(term) ? "xterm" : term);

                if (!a)
                        return -ENOMEM;
                /* a $TERM with odd bytes is not worth a failure: leave it to the container */
                if (env_assignment_is_valid(a)) {
                        r = strv_env_set(&env, a);
                        if (r < 0)
                                return r;
                }
        }

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        if ((r = settings_append_strv(m, "Environment", env)) < 0 ||
            (r = settings_append_string(m, "User", o->user)) < 0 ||
            (r = settings_append_string(m, "WorkingDirectory", o->working_directory)) < 0)
                return r;
        /* the terminal's size before the process starts: a program that asks at once sees it */
        if (o->tty && o->rows > 0 && o->columns > 0) {
                r = sd_bus_message_append(m, "(sv)(sv)", "TTYRows", "q", o->rows, "TTYColumns", "q", o->columns);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int shell_command(int argc, char *argv[], char ***ret) {
        char **l;

        l = argc > 0 ? strv_copy(argv) : strv_copy(STRV_MAKE("/bin/sh"));
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

int exec_exit_code(int32_t status) {
        if (status < 0 || status > 255)
                return 125;
        return status;
}
