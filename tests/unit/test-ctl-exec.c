/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/ctl/ctl-exec.c and ctl-options.c (in vesselctl_lib), src/shared and libsystemd for the
 * settings message. No bus daemon: the messages are built on an unconnected socketpair. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl-exec.h"
#include "string-util.h"

static ExecOptions o;

/* ---- options ---------------------------------------------------------------------------------- */

Test(ctl_exec_options, sets_flags_and_values) {
        exec_options_init(&o);
        cr_assert(eq(int, exec_options_apply(&o, 'i', NULL), 0));
        cr_assert(eq(int, exec_options_apply(&o, 't', NULL), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'u', "user:extra"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'w', "/tmp"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "A=1"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "B=2"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "A=3"), 0));
        cr_assert(o.interactive);
        cr_assert(o.tty);
        cr_assert(eq(str, o.user, "user:extra"));
        cr_assert(eq(str, o.working_directory, "/tmp"));
        cr_assert(eq(sz, strv_length(o.environment), 2));
        cr_assert(eq(str, (char *) strv_env_get(o.environment, "A"), "3"));
        cr_assert(eq(str, (char *) strv_env_get(o.environment, "B"), "2"));
        exec_options_done(&o);
        cr_assert(eq(ptr, o.user, NULL));
        cr_assert(not(o.tty));
}

Test(ctl_exec_options, takes_env_from_our_environment) {
        exec_options_init(&o);
        cr_assert(eq(int, setenv("VESSEL_TEST_EXEC_VAR", "from-us", 1), 0));
        cr_assert(eq(int, unsetenv("VESSEL_TEST_EXEC_UNSET"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "VESSEL_TEST_EXEC_VAR"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "VESSEL_TEST_EXEC_UNSET"), 0));
        cr_assert(eq(sz, strv_length(o.environment), 1));
        cr_assert(eq(str, o.environment[0], "VESSEL_TEST_EXEC_VAR=from-us"));
        exec_options_done(&o);
}

Test(ctl_exec_options, rejects_bad_values) {
        exec_options_init(&o);
        cr_assert(eq(int, exec_options_apply(&o, 'w', "relative/dir"), -EINVAL));
        cr_assert(eq(int, exec_options_apply(&o, 'w', ""), -EINVAL));
        cr_assert(eq(int, exec_options_apply(&o, 'u', ""), -EINVAL));
        cr_assert(eq(int, exec_options_apply(&o, 'e', ""), -EINVAL));
        cr_assert(eq(int, exec_options_apply(&o, 'e', "=x"), -EINVAL));
        cr_assert(eq(int, exec_options_apply(&o, 'x', NULL), -ENOENT));
        cr_assert(eq(ptr, o.working_directory, NULL));
        cr_assert(eq(ptr, o.environment, NULL));
        exec_options_done(&o);
}

Test(ctl_exec_options, shell_defaults_to_bin_sh) {
        _cleanup_strv_free_ char **a = NULL, **b = NULL;

        cr_assert(eq(int, shell_command(0, NULL, &a), 0));
        cr_assert(eq(sz, strv_length(a), 1));
        cr_assert(eq(str, a[0], "/bin/sh"));

        cr_assert(eq(int, shell_command(2, STRV_MAKE("bash", "-l"), &b), 0));
        cr_assert(eq(sz, strv_length(b), 2));
        cr_assert(eq(str, b[0], "bash"));
        cr_assert(eq(str, b[1], "-l"));
}

Test(ctl_exec_options, exit_codes) {
        cr_assert(eq(int, exec_exit_code(0), 0));
        cr_assert(eq(int, exec_exit_code(3), 3));
        cr_assert(eq(int, exec_exit_code(127), 127));
        cr_assert(eq(int, exec_exit_code(128 + 9), 137));
        cr_assert(eq(int, exec_exit_code(255), 255));
        /* no valid exit code: the failure is ours */
        cr_assert(eq(int, exec_exit_code(-1), 125));
        cr_assert(eq(int, exec_exit_code(256), 125));
}

/* ---- the settings message --------------------------------------------------------------------- */

static sd_bus *bus;
static int fds[2] = { -EBADF, -EBADF };

static void setup_bus(void) {
        exec_options_init(&o);
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0));
        cr_assert(eq(int, sd_bus_new(&bus), 0));
        cr_assert(eq(int, sd_bus_set_fd(bus, fds[0], fds[0]), 0));
        cr_assert(eq(int, sd_bus_start(bus), 0));
}

static void teardown_bus(void) {
        exec_options_done(&o);
        bus = sd_bus_close_unref(bus);
        close(fds[1]);
}

static sd_bus_message *build(const char *term) {
        sd_bus_message *m = NULL;

        cr_assert(
                eq(int,
                   sd_bus_message_new_method_call(
                           bus, &m, "io.vessel1", "/io/vessel1", "io.vessel1.Manager", "ExecContainer"),
                   0));
        cr_assert(eq(int, exec_options_append_settings(&o, term, m), 0));
        cr_assert(eq(int, sd_bus_message_seal(m, 1, 0), 0));
        cr_assert(ge(int, sd_bus_message_rewind(m, true), 0));
        cr_assert(eq(str, (char *) sd_bus_message_get_signature(m, true), "a(sv)"));
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'a', "(sv)"), 1));
        return m;
}

static void expect_setting(sd_bus_message *m, const char *name, const char *sig) {
        const char *k, *contents;

        cr_assert(eq(int, sd_bus_message_enter_container(m, 'r', "sv"), 1));
        cr_assert(eq(int, sd_bus_message_read(m, "s", &k), 1));
        cr_assert(eq(str, (char *) k, (char *) name));
        cr_assert(eq(int, sd_bus_message_peek_type(m, NULL, &contents), 1));
        cr_assert(eq(str, (char *) contents, (char *) sig));
}

static char **read_env(sd_bus_message *m) {
        char **l = NULL;

        expect_setting(m, "Environment", "as");
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'v', "as"), 1));
        cr_assert(eq(int, sd_bus_message_read_strv(m, &l), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));
        return l;
}

TestSuite(ctl_exec_settings, .init = setup_bus, .fini = teardown_bus);

Test(ctl_exec_settings, sends_nothing_the_user_did_not_give) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        m = build("xterm-256color");
        cr_assert(eq(int, sd_bus_message_at_end(m, false), 1));
}

Test(ctl_exec_settings, sends_environment_user_and_directory) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL;
        const char *s;

        cr_assert(eq(int, exec_options_apply(&o, 'e', "K=V"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'u', "1000"), 0));
        cr_assert(eq(int, exec_options_apply(&o, 'w', "/srv"), 0));

        m = build(NULL);
        env = read_env(m);
        cr_assert(eq(sz, strv_length(env), 1));
        cr_assert(eq(str, env[0], "K=V"));

        expect_setting(m, "User", "s");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "s", &s), 1));
        cr_assert(eq(str, (char *) s, "1000"));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "WorkingDirectory", "s");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "s", &s), 1));
        cr_assert(eq(str, (char *) s, "/srv"));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        cr_assert(eq(int, sd_bus_message_at_end(m, false), 1));
}

Test(ctl_exec_settings, passes_term_with_a_terminal) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **env = NULL;

        o.tty = true;
        m = build("screen-256color");
        env = read_env(m);
        cr_assert(eq(sz, strv_length(env), 1));
        cr_assert(eq(str, env[0], "TERM=screen-256color"));
}

Test(ctl_exec_settings, term_defaults_to_xterm_and_yields_to_the_user) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *m2 = NULL;
        _cleanup_strv_free_ char **env = NULL, **env2 = NULL;

        o.tty = true;
        m = build(NULL);
        env = read_env(m);
        cr_assert(eq(str, env[0], "TERM=xterm"));

        cr_assert(eq(int, exec_options_apply(&o, 'e', "TERM=vt100"), 0));
        m2 = build("xterm-256color");
        env2 = read_env(m2);
        cr_assert(eq(sz, strv_length(env2), 1));
        cr_assert(eq(str, env2[0], "TERM=vt100"));
}
