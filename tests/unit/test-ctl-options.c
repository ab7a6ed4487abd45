/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/ctl/ctl-options.c (in vesselctl_lib, from src/ctl/meson.build) and src/shared
 * (libvessel_shared_dep: parse-util, string-util, name-util), libsystemd for the settings message.
 * No bus daemon: the messages are built on an unconnected socketpair. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl-options.h"
#include "string-util.h"

#define GiB (UINT64_C(1) << 30)
#define MiB (UINT64_C(1) << 20)

/* ---- publish ---------------------------------------------------------------------------------- */

Test(ctl_options, parses_publish_with_protocol) {
        PortMapping p;
        int r;

        r = parse_publish("5353:53/udp", &p);
        cr_assert(eq(int, r, 0));
        cr_assert(eq(str, p.protocol, "udp"));
        cr_assert(eq(u16, p.host_port, 5353));
        cr_assert(eq(u16, p.container_port, 53));

        r = parse_publish("8443:443/TCP", &p);
        cr_assert(eq(int, r, 0));
        cr_assert(eq(str, p.protocol, "tcp"));
}

Test(ctl_options, parses_publish_defaulting_to_tcp) {
        PortMapping p;

        cr_assert(eq(int, parse_publish("8080:80", &p), 0));
        cr_assert(eq(str, p.protocol, "tcp"));
        cr_assert(eq(u16, p.host_port, 8080));
        cr_assert(eq(u16, p.container_port, 80));
        cr_assert(eq(int, parse_publish("65535:1", &p), 0));
}

Test(ctl_options, rejects_publish_outside_the_design_form) {
        PortMapping p;

        cr_assert(eq(int, parse_publish("80", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("127.0.0.1:8080:80", &p), -EINVAL));
        cr_assert(eq(int, parse_publish(":80", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("80:", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("80:80/sctp", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("80:80/", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("http:80", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("-1:80", &p), -EINVAL));
        cr_assert(eq(int, parse_publish("", &p), -EINVAL));
}

Test(ctl_options, rejects_publish_ports_out_of_range) {
        PortMapping p;

        cr_assert(eq(int, parse_publish("0:80", &p), -ERANGE));
        cr_assert(eq(int, parse_publish("80:65536", &p), -ERANGE));
        cr_assert(eq(int, parse_publish("123456:80", &p), -EINVAL));
}

/* ---- bind ------------------------------------------------------------------------------------- */

Test(ctl_options, parses_bind_read_only_and_read_write) {
        BindMount b;

        cr_assert(eq(int, parse_bind("/data:/srv/data:ro", &b), 0));
        cr_assert(eq(str, b.source, "/data"));
        cr_assert(eq(str, b.destination, "/srv/data"));
        cr_assert(b.read_only);
        free(b.source);
        free(b.destination);

        cr_assert(eq(int, parse_bind("/a:/b:rw", &b), 0));
        cr_assert(not(b.read_only));
        free(b.source);
        free(b.destination);

        cr_assert(eq(int, parse_bind("/a:/b", &b), 0));
        cr_assert(eq(str, b.destination, "/b"));
        cr_assert(not(b.read_only));
        free(b.source);
        free(b.destination);
}

Test(ctl_options, rejects_bind_with_relative_paths_or_bad_mode) {
        BindMount b;

        cr_assert(eq(int, parse_bind("data:/srv", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("/data:srv", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("/data", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("/data:", &b), -EINVAL));
        cr_assert(eq(int, parse_bind(":/srv", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("/a:/b:rx", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("/a:/b:ro:z", &b), -EINVAL));
        cr_assert(eq(int, parse_bind("", &b), -EINVAL));
}

/* ---- sizes and Docker's --memory-swap --------------------------------------------------------- */

Test(ctl_options, parses_limit_sizes_and_infinity) {
        uint64_t v;

        cr_assert(eq(int, parse_limit_size("512M", &v), 0));
        cr_assert(eq(u64, v, 512 * MiB));
        cr_assert(eq(int, parse_limit_size("1g", &v), 0));
        cr_assert(eq(u64, v, GiB));
        cr_assert(eq(int, parse_limit_size("4096", &v), 0));
        cr_assert(eq(u64, v, 4096));
        cr_assert(eq(int, parse_limit_size("max", &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
        cr_assert(eq(int, parse_limit_size("-1", &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
        cr_assert(eq(int, parse_limit_size("infinity", &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
}

Test(ctl_options, rejects_bad_limit_sizes) {
        uint64_t v;

        cr_assert(eq(int, parse_limit_size("0", &v), -ERANGE));
        cr_assert(eq(int, parse_limit_size("abc", &v), -EINVAL));
        cr_assert(eq(int, parse_limit_size("12q", &v), -EINVAL));
        cr_assert(eq(int, parse_limit_size("-2", &v), -EINVAL));
        cr_assert(eq(int, parse_limit_size("", &v), -EINVAL));
}

Test(ctl_options, converts_docker_memory_swap_to_swap_alone) {
        uint64_t v;

        cr_assert(eq(int, parse_docker_memory_swap(GiB, 3 * GiB, &v), 0));
        cr_assert(eq(u64, v, 2 * GiB));
        cr_assert(eq(int, parse_docker_memory_swap(GiB, GiB, &v), 0));
        cr_assert(eq(u64, v, 0));
        cr_assert(eq(int, parse_docker_memory_swap(GiB, UINT64_MAX, &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
        cr_assert(eq(int, parse_docker_memory_swap(UINT64_MAX, UINT64_MAX, &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
}

Test(ctl_options, rejects_memory_swap_below_memory_or_without_it) {
        uint64_t v = 7;

        cr_assert(eq(int, parse_docker_memory_swap(GiB, 512 * MiB, &v), -ERANGE));
        cr_assert(eq(int, parse_docker_memory_swap(UINT64_MAX, GiB, &v), -EINVAL));
        cr_assert(eq(u64, v, 7));
}

/* ---- environment, labels, restart ------------------------------------------------------------- */

Test(ctl_options, sets_environment_later_assignment_wins) {
        _cleanup_strv_free_ char **env = NULL;

        cr_assert(eq(int, parse_env_option("FOO=bar", &env), 0));
        cr_assert(eq(int, parse_env_option("EMPTY=", &env), 0));
        cr_assert(eq(int, parse_env_option("FOO=baz=qux", &env), 0));
        cr_assert(eq(sz, strv_length(env), 2));
        cr_assert(eq(str, env[0], "FOO=baz=qux"));
        cr_assert(eq(str, env[1], "EMPTY="));
}

Test(ctl_options, takes_bare_env_key_from_our_environment) {
        _cleanup_strv_free_ char **env = NULL;

        setenv("VESSEL_TEST_VAR", "from client", 1);
        unsetenv("VESSEL_TEST_UNSET");
        cr_assert(eq(int, parse_env_option("VESSEL_TEST_VAR", &env), 0));
        cr_assert(eq(int, parse_env_option("VESSEL_TEST_UNSET", &env), 0));
        cr_assert(eq(sz, strv_length(env), 1));
        cr_assert(eq(str, env[0], "VESSEL_TEST_VAR=from client"));
}

Test(ctl_options, rejects_bad_env_names) {
        _cleanup_strv_free_ char **env = NULL;

        cr_assert(eq(int, parse_env_option("=x", &env), -EINVAL));
        cr_assert(eq(int, parse_env_option("1ABC=x", &env), -EINVAL));
        cr_assert(eq(int, parse_env_option("A B=x", &env), -EINVAL));
        cr_assert(eq(int, parse_env_option("", &env), -EINVAL));
        cr_assert(eq(ptr, env, NULL));
}

Test(ctl_options, parses_labels_with_and_without_value) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_label_option("app=web", &l), 0));
        cr_assert(eq(int, parse_label_option("tier", &l), 0));
        cr_assert(eq(int, parse_label_option("app=api", &l), 0));
        cr_assert(eq(sz, strv_length(l), 2));
        cr_assert(eq(str, l[0], "app=api"));
        cr_assert(eq(str, l[1], "tier="));
        cr_assert(eq(int, parse_label_option("=x", &l), -EINVAL));
        cr_assert(eq(int, parse_label_option("", &l), -EINVAL));
}

Test(ctl_options, maps_docker_restart_policies) {
        const char *p;

        cr_assert(eq(int, parse_restart_policy("no", &p), 0));
        cr_assert(eq(str, (char *) p, "no"));
        cr_assert(eq(int, parse_restart_policy("always", &p), 0));
        cr_assert(eq(str, (char *) p, "always"));
        cr_assert(eq(int, parse_restart_policy("on-failure", &p), 0));
        cr_assert(eq(str, (char *) p, "on-failure"));
        cr_assert(eq(int, parse_restart_policy("on-failure:5", &p), 0));
        cr_assert(eq(str, (char *) p, "on-failure"));
        cr_assert(eq(int, parse_restart_policy("on-failure:x", &p), -EINVAL));
        cr_assert(eq(int, parse_restart_policy("on-failure:", &p), -EINVAL));
        cr_assert(eq(int, parse_restart_policy("unless-stopped", &p), -EINVAL));
        cr_assert(eq(int, parse_restart_policy("", &p), -EINVAL));
}

/* ---- capabilities ----------------------------------------------------------------------------- */

static uint64_t caps(const char *first, ...) {
        va_list ap;
        uint64_t m = 0;

        va_start(ap, first);
        for (const char *c = first; c; c = va_arg(ap, const char *))
                m |= UINT64_C(1) << capability_from_name(c);
        va_end(ap);
        return m;
}

Test(ctl_options, names_capabilities_with_or_without_prefix) {
        cr_assert(eq(int, capability_from_name("NET_ADMIN"), 12));
        cr_assert(eq(int, capability_from_name("CAP_NET_ADMIN"), 12));
        cr_assert(eq(int, capability_from_name("cap_net_admin"), 12));
        cr_assert(eq(int, capability_from_name("chown"), 0));
        cr_assert(eq(int, capability_from_name("CHECKPOINT_RESTORE"), 40));
        cr_assert(eq(int, capability_from_name("NET_FOO"), -EINVAL));
        cr_assert(eq(int, capability_from_name("CAP_"), -EINVAL));
        cr_assert(eq(int, capability_from_name("ALL"), -EINVAL));
        cr_assert(eq(str, (char *) capability_to_name(21), "CAP_SYS_ADMIN"));
        cr_assert(eq(ptr, (void *) capability_to_name(41), NULL));
}

Test(ctl_options, computes_docker_default_set) {
        uint64_t m;

        cr_assert(
                eq(u64,
                   capability_docker_default(),
                   caps("CHOWN",
                        "DAC_OVERRIDE",
                        "FSETID",
                        "FOWNER",
                        "MKNOD",
                        "NET_RAW",
                        "SETGID",
                        "SETUID",
                        "SETFCAP",
                        "SETPCAP",
                        "NET_BIND_SERVICE",
                        "SYS_CHROOT",
                        "KILL",
                        "AUDIT_WRITE",
                        NULL)));
        cr_assert(eq(int, capabilities_compute(NULL, NULL, 40, &m), 0));
        cr_assert(eq(u64, m, capability_docker_default()));
}

Test(ctl_options, adds_and_drops_from_default_set) {
        char *add[] = { (char *) "NET_ADMIN", (char *) "cap_sys_time", NULL };
        char *drop[] = { (char *) "NET_RAW", (char *) "MKNOD", NULL };
        uint64_t m;

        cr_assert(eq(int, capabilities_compute(add, drop, 40, &m), 0));
        cr_assert(eq(u64, m, (capability_docker_default() & ~caps("NET_RAW", "MKNOD", NULL)) |
                                     caps("NET_ADMIN", "SYS_TIME", NULL)));
}

Test(ctl_options, add_wins_over_drop_of_the_same_capability) {
        char *add[] = { (char *) "NET_RAW", NULL };
        char *drop[] = { (char *) "NET_RAW", NULL };
        uint64_t m;

        cr_assert(eq(int, capabilities_compute(add, drop, 40, &m), 0));
        cr_assert(ne(u64, m & caps("NET_RAW", NULL), 0));
}

Test(ctl_options, drop_all_keeps_only_added) {
        char *add[] = { (char *) "NET_BIND_SERVICE", NULL };
        char *drop[] = { (char *) "all", NULL };
        uint64_t m;

        cr_assert(eq(int, capabilities_compute(add, drop, 40, &m), 0));
        cr_assert(eq(u64, m, caps("NET_BIND_SERVICE", NULL)));
        cr_assert(eq(int, capabilities_compute(NULL, drop, 40, &m), 0));
        cr_assert(eq(u64, m, 0));
}

Test(ctl_options, add_all_gives_every_known_capability_but_dropped) {
        char *add[] = { (char *) "ALL", NULL };
        char *drop[] = { (char *) "SYS_ADMIN", NULL };
        uint64_t m;

        cr_assert(eq(int, capabilities_compute(add, drop, 40, &m), 0));
        cr_assert(eq(u64, m, ((UINT64_C(1) << 41) - 1) & ~caps("SYS_ADMIN", NULL)));
        /* an older kernel: ALL stops at its last capability */
        cr_assert(eq(int, capabilities_compute(add, NULL, 37, &m), 0));
        cr_assert(eq(u64, m, (UINT64_C(1) << 38) - 1));
}

Test(ctl_options, rejects_unknown_capability) {
        char *add[] = { (char *) "NET_FOO", NULL };
        uint64_t m;

        cr_assert(eq(int, capabilities_compute(add, NULL, 40, &m), -EINVAL));
}

Test(ctl_options, lists_capabilities_in_number_order) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, capabilities_to_strv(caps("KILL", "CHOWN", "SYS_ADMIN", NULL), &l), 0));
        cr_assert(eq(sz, strv_length(l), 3));
        cr_assert(eq(str, l[0], "CAP_CHOWN"));
        cr_assert(eq(str, l[1], "CAP_KILL"));
        cr_assert(eq(str, l[2], "CAP_SYS_ADMIN"));
        strv_free(l);
        l = NULL;
        cr_assert(eq(int, capabilities_to_strv(0, &l), 0));
        cr_assert(not(eq(ptr, l, NULL)));
        cr_assert(eq(sz, strv_length(l), 0));
}

/* ---- the option table ------------------------------------------------------------------------- */

static ContainerOptions o;

static void setup(void) {
        container_options_init(&o);
}

static void teardown(void) {
        container_options_done(&o);
}

TestSuite(ctl_option_table, .init = setup, .fini = teardown);

Test(ctl_option_table, converts_cpu_shares_to_weight) {
        cr_assert(eq(int, container_option_apply(&o, "cpu-shares", "1024"), 0));
        cr_assert(o.cpu_weight.set);
        cr_assert(eq(u64, o.cpu_weight.value, 39));
        cr_assert(eq(int, container_option_apply(&o, "cpu-shares", "2"), 0));
        cr_assert(eq(u64, o.cpu_weight.value, 1));
        cr_assert(eq(int, container_option_apply(&o, "cpu-shares", "262144"), 0));
        cr_assert(eq(u64, o.cpu_weight.value, 10000));
        cr_assert(eq(int, container_option_apply(&o, "cpu-shares", "0"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "cpu-shares", "x"), -EINVAL));
}

Test(ctl_option_table, checks_weight_range) {
        cr_assert(eq(int, container_option_apply(&o, "cpu-weight", "10000"), 0));
        cr_assert(eq(int, container_option_apply(&o, "cpu-weight", "10001"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "cpu-weight", "0"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "io-weight", "1"), 0));
        cr_assert(eq(u64, o.io_weight.value, 1));
        cr_assert(eq(int, container_option_apply(&o, "io-weight", "-5"), -EINVAL));
}

Test(ctl_option_table, parses_cpus_as_quota) {
        cr_assert(eq(int, container_option_apply(&o, "cpus", "1.5"), 0));
        cr_assert(eq(u64, o.cpu_quota_per_sec_usec.value, 1500000));
        cr_assert(eq(int, container_option_apply(&o, "cpus", "0"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "cpus", "two"), -EINVAL));
}

Test(ctl_option_table, parses_pids_limit) {
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "100"), 0));
        cr_assert(eq(u64, o.tasks_max.value, 100));
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "-1"), 0));
        cr_assert(eq(u64, o.tasks_max.value, UINT64_MAX));
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "max"), 0));
        cr_assert(eq(u64, o.tasks_max.value, UINT64_MAX));
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "0"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "lots"), -EINVAL));
}

Test(ctl_option_table, parses_stop_timeout_in_seconds_or_systemd_forms) {
        cr_assert(eq(int, container_option_apply(&o, "stop-timeout", "10"), 0));
        cr_assert(eq(u64, o.stop_timeout_usec.value, 10000000));
        cr_assert(eq(int, container_option_apply(&o, "stop-timeout", "1min 30s"), 0));
        cr_assert(eq(u64, o.stop_timeout_usec.value, 90000000));
        cr_assert(eq(int, container_option_apply(&o, "stop-timeout", "500ms"), 0));
        cr_assert(eq(u64, o.stop_timeout_usec.value, 500000));
        cr_assert(eq(int, container_option_apply(&o, "stop-timeout", "-1"), 0));
        cr_assert(eq(u64, o.stop_timeout_usec.value, UINT64_MAX));
        cr_assert(eq(int, container_option_apply(&o, "stop-timeout", "soon"), -EINVAL));
}

Test(ctl_option_table, parses_stop_signal) {
        cr_assert(eq(int, container_option_apply(&o, "stop-signal", "SIGINT"), 0));
        cr_assert(eq(int, o.stop_signal, 2));
        cr_assert(eq(int, container_option_apply(&o, "stop-signal", "term"), 0));
        cr_assert(eq(int, o.stop_signal, 15));
        cr_assert(eq(int, container_option_apply(&o, "stop-signal", "SIGFOO"), -EINVAL));
}

Test(ctl_option_table, validates_words) {
        cr_assert(eq(int, container_option_apply(&o, "network", "bridge"), 0));
        cr_assert(eq(int, container_option_apply(&o, "network", "overlay"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "private-users", "pick"), 0));
        cr_assert(eq(int, container_option_apply(&o, "private-users", "maybe"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "seccomp", "unconfined"), 0));
        cr_assert(eq(int, container_option_apply(&o, "seccomp", "strict"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "slice", "pods.slice"), 0));
        cr_assert(eq(int, container_option_apply(&o, "slice", "pods"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "slice", ".slice"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "workdir", "/srv"), 0));
        cr_assert(eq(int, container_option_apply(&o, "workdir", "srv"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "name", "web-1"), 0));
        cr_assert(eq(str, o.name, "web-1"));
        cr_assert(eq(int, container_option_apply(&o, "name", "web_1"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "name", "a..b"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "cpuset", "0-3,6"), 0));
        cr_assert(eq(sz, o.n_allowed_cpus, 1));
        cr_assert(eq(u8, o.allowed_cpus[0], 0x4f));
        cr_assert(eq(int, container_option_apply(&o, "cpuset", "3-1"), -ERANGE));
        cr_assert(eq(int, container_option_apply(&o, "no-such-option", "x"), -ENOENT));
        cr_assert(eq(int, container_option_apply(&o, "memory", NULL), -EINVAL));
}

Test(ctl_option_table, accepts_comma_separated_capabilities) {
        cr_assert(eq(int, container_option_apply(&o, "cap-add", "NET_ADMIN,SYS_TIME"), 0));
        cr_assert(eq(sz, strv_length(o.cap_add), 2));
        cr_assert(eq(int, container_option_apply(&o, "cap-drop", "ALL"), 0));
        cr_assert(eq(int, container_option_apply(&o, "cap-drop", "NET_RAW,BOGUS"), -EINVAL));
        cr_assert(eq(int, container_option_apply(&o, "cap-drop", ","), -EINVAL));
}

Test(ctl_option_table, finalize_needs_memory_for_memory_swap) {
        const char *reason = NULL;

        cr_assert(eq(int, container_option_apply(&o, "memory-swap", "2G"), 0));
        cr_assert(eq(int, container_options_finalize(&o, UINT64_MAX, 40, &reason), -EINVAL));
        cr_assert(not(eq(ptr, (void *) reason, NULL)));

        /* update: the limit in force counts when --memory is not given */
        cr_assert(eq(int, container_options_finalize(&o, 512 * MiB, 40, &reason), 0));
        cr_assert(o.memory_swap_max.set);
        cr_assert(eq(u64, o.memory_swap_max.value, 2 * GiB - 512 * MiB));

        cr_assert(eq(int, container_option_apply(&o, "memory", "1G"), 0));
        cr_assert(eq(int, container_options_finalize(&o, 512 * MiB, 40, &reason), 0));
        cr_assert(eq(u64, o.memory_swap_max.value, GiB));

        cr_assert(eq(int, container_option_apply(&o, "memory", "3G"), 0));
        cr_assert(eq(int, container_options_finalize(&o, UINT64_MAX, 40, &reason), -EINVAL));
}

Test(ctl_option_table, finalize_computes_capabilities_only_when_asked) {
        cr_assert(eq(int, container_options_finalize(&o, UINT64_MAX, 40, NULL), 0));
        cr_assert(not(o.capabilities_set));
        cr_assert(not(container_options_has_settings(&o)));

        cr_assert(eq(int, container_option_apply(&o, "cap-drop", "NET_RAW"), 0));
        cr_assert(eq(int, container_options_finalize(&o, UINT64_MAX, 40, NULL), 0));
        cr_assert(o.capabilities_set);
        cr_assert(eq(u64, o.capabilities, capability_docker_default() & ~caps("NET_RAW", NULL)));
        cr_assert(container_options_has_settings(&o));
}

/* Docker's order: options end at IMAGE, so "run -m 1G img ls -l" leaves -l to ls. */
Test(ctl_option_table, getopt_stops_at_the_image) {
        _cleanup_free_ struct option *options = NULL;
        _cleanup_free_ char *optstring = NULL, *full = NULL;
        char *argv[] = { (char *) "run", (char *) "-m", (char *) "1G", (char *) "--rm", (char *) "-d",
                         (char *) "img", (char *) "ls", (char *) "-l", (char *) "--memory=2G", NULL };
        int c;

        cr_assert(eq(int, container_options_getopt(OPTION_RUN, &options, &optstring), 0));
        full = strjoin("+:", optstring);
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(ELEMENTSOF(argv) - 1, argv, full, options, NULL)) >= 0) {
                const ContainerOptionDef *d = container_option_from_getopt(c);

                cr_assert(not(eq(ptr, (void *) d, NULL)));
                cr_assert(eq(int, d->parse(&o, optarg), 0));
        }
        cr_assert(eq(int, optind, 5));
        cr_assert(eq(str, argv[optind], "img"));
        cr_assert(eq(u64, o.memory_max.value, GiB));
        cr_assert(o.auto_remove);
        cr_assert(o.detach);
}

Test(ctl_option_table, scopes_select_options) {
        _cleanup_free_ struct option *run = NULL, *create = NULL, *update = NULL;
        _cleanup_free_ char *run_s = NULL, *create_s = NULL, *update_s = NULL;
        bool run_detach = false, create_detach = false, update_memory = false, update_name = false;

        cr_assert(eq(int, container_options_getopt(OPTION_RUN, &run, &run_s), 0));
        cr_assert(eq(int, container_options_getopt(OPTION_CREATE, &create, &create_s), 0));
        cr_assert(eq(int, container_options_getopt(OPTION_UPDATE, &update, &update_s), 0));

        for (struct option *p = run; p->name; p++)
                run_detach = run_detach || streq(p->name, "detach");
        for (struct option *p = create; p->name; p++)
                create_detach = create_detach || streq(p->name, "detach");
        for (struct option *p = update; p->name; p++) {
                update_memory = update_memory || streq(p->name, "memory");
                update_name = update_name || streq(p->name, "name");
        }
        cr_assert(run_detach);
        cr_assert(not(create_detach));
        cr_assert(update_memory);
        cr_assert(not(update_name));
        cr_assert(not(eq(ptr, strchr(run_s, 'd'), NULL)));
        cr_assert(eq(ptr, strchr(create_s, 'd'), NULL));
        cr_assert(eq(str, update_s, "m:"));
}

Test(ctl_option_table, finds_an_option_as_typed_and_names_its_verbs) {
        const ContainerOptionDef *d;

        d = container_option_find_typed("-t", 't');
        cr_assert(not(eq(ptr, (void *) d, NULL)));
        cr_assert(eq(str, (char *) d->long_name, "tty"));
        cr_assert(eq(str, (char *) option_scope_verbs(d->scope), "run"));

        d = container_option_find_typed("--memory=1G", 0);
        cr_assert(not(eq(ptr, (void *) d, NULL)));
        cr_assert(eq(str, (char *) d->long_name, "memory"));
        cr_assert(eq(str, (char *) option_scope_verbs(d->scope), "create, run and update"));

        d = container_option_find_typed("--name", 0);
        cr_assert(eq(str, (char *) option_scope_verbs(d->scope), "create and run"));

        /* a prefix is not the option, nor is an unknown one or a bare word */
        cr_assert(eq(ptr, (void *) container_option_find_typed("--mem", 0), NULL));
        cr_assert(eq(ptr, (void *) container_option_find_typed("--memoryx", 0), NULL));
        cr_assert(eq(ptr, (void *) container_option_find_typed("-Z", 'Z'), NULL));
        cr_assert(eq(ptr, (void *) container_option_find_typed("memory", 0), NULL));
        cr_assert(eq(ptr, (void *) container_option_find_typed(NULL, 0), NULL));
        cr_assert(eq(ptr, (void *) option_scope_verbs(OPTION_UPDATE), NULL));
}

/* ---- the settings message --------------------------------------------------------------------- */

static sd_bus *bus;
static int fds[2] = { -EBADF, -EBADF };

static void setup_bus(void) {
        container_options_init(&o);
        /* an unconnected peer is enough to build and read messages */
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0));
        cr_assert(eq(int, sd_bus_new(&bus), 0));
        cr_assert(eq(int, sd_bus_set_fd(bus, fds[0], fds[0]), 0));
        cr_assert(eq(int, sd_bus_start(bus), 0));
}

static void teardown_bus(void) {
        container_options_done(&o);
        bus = sd_bus_close_unref(bus);
        close(fds[1]);
}

static sd_bus_message *build(void) {
        sd_bus_message *m = NULL;

        cr_assert(
                eq(int,
                   sd_bus_message_new_method_call(
                           bus, &m, "io.vessel1", "/io/vessel1", "io.vessel1.Manager", "RunContainer"),
                   0));
        cr_assert(eq(int, container_options_append_settings(&o, m), 0));
        cr_assert(eq(int, sd_bus_message_seal(m, 1, 0), 0));
        cr_assert(ge(int, sd_bus_message_rewind(m, true), 0));
        return m;
}

/* the next setting's name and signature */
static void expect_setting(sd_bus_message *m, const char *name, const char *sig) {
        const char *k, *contents;

        cr_assert(eq(int, sd_bus_message_enter_container(m, 'r', "sv"), 1));
        cr_assert(eq(int, sd_bus_message_read(m, "s", &k), 1));
        cr_assert(eq(str, (char *) k, (char *) name));
        cr_assert(eq(int, sd_bus_message_peek_type(m, NULL, &contents), 1));
        cr_assert(eq(str, (char *) contents, (char *) sig));
}

TestSuite(ctl_settings, .init = setup_bus, .fini = teardown_bus);

Test(ctl_settings, sends_nothing_the_user_did_not_give) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        m = build();
        cr_assert(eq(str, (char *) sd_bus_message_get_signature(m, true), "a(sv)"));
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'a', "(sv)"), 1));
        cr_assert(eq(int, sd_bus_message_at_end(m, false), 1));
}

Test(ctl_settings, uses_design_names_and_types) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const char *proto, *src, *dst, *s;
        uint16_t hp, cp;
        uint64_t t;
        int32_t i;
        int b;

        cr_assert(eq(int, container_option_apply(&o, "memory", "1G"), 0));
        cr_assert(eq(int, container_option_apply(&o, "memory-swap", "3G"), 0));
        cr_assert(eq(int, container_option_apply(&o, "pids-limit", "-1"), 0));
        cr_assert(eq(int, container_option_apply(&o, "cpuset", "1"), 0));
        cr_assert(eq(int, container_option_apply(&o, "publish", "8080:80/udp"), 0));
        cr_assert(eq(int, container_option_apply(&o, "bind", "/a:/b:ro"), 0));
        cr_assert(eq(int, container_option_apply(&o, "read-only", NULL), 0));
        cr_assert(eq(int, container_option_apply(&o, "cap-drop", "ALL"), 0));
        cr_assert(eq(int, container_option_apply(&o, "stop-signal", "INT"), 0));
        cr_assert(eq(int, container_option_apply(&o, "rm", NULL), 0));
        cr_assert(eq(int, container_option_apply(&o, "label", "k=v"), 0));
        cr_assert(eq(int, container_options_finalize(&o, UINT64_MAX, 40, NULL), 0));
        o.stdout_fd = STDOUT_FILENO;

        m = build();
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'a', "(sv)"), 1));

        expect_setting(m, "MemoryMax", "t");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "t", &t), 1));
        cr_assert(eq(u64, t, GiB));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "MemorySwapMax", "t");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "t", &t), 1));
        cr_assert(eq(u64, t, 2 * GiB));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "TasksMax", "t");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "t", &t), 1));
        cr_assert(eq(u64, t, UINT64_MAX));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "AllowedCPUs", "ay");
        cr_assert(eq(int, sd_bus_message_skip(m, "v"), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "PublishPorts", "a(sqq)");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "a(sqq)", 1, &proto, &hp, &cp), 1));
        cr_assert(eq(str, (char *) proto, "udp"));
        cr_assert(eq(u16, hp, 8080));
        cr_assert(eq(u16, cp, 80));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "BindPaths", "a(ssb)");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "a(ssb)", 1, &src, &dst, &b), 1));
        cr_assert(eq(str, (char *) src, "/a"));
        cr_assert(eq(str, (char *) dst, "/b"));
        cr_assert(b);
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "ReadOnly", "b");
        cr_assert(eq(int, sd_bus_message_skip(m, "v"), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        /* --cap-drop=ALL: an empty set, sent as an empty list rather than left out */
        expect_setting(m, "Capabilities", "as");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "as", 0), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "StopSignal", "i");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "i", &i), 1));
        cr_assert(eq(i32, i, 2));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "AutoRemove", "b");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "b", &b), 1));
        cr_assert(b);
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "Labels", "a(ss)");
        cr_assert(eq(int, sd_bus_message_read(m, "v", "a(ss)", 1, &src, &s), 1));
        cr_assert(eq(str, (char *) src, "k"));
        cr_assert(eq(str, (char *) s, "v"));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        expect_setting(m, "StandardOutputFileDescriptor", "h");
        cr_assert(eq(int, sd_bus_message_skip(m, "v"), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));

        cr_assert(eq(int, sd_bus_message_at_end(m, false), 1));
}

Test(ctl_settings, sends_command_and_environment_as_string_arrays) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **l = NULL;

        o.command = strv_copy((char *[]) { (char *) "ls", (char *) "-l", NULL });
        cr_assert(eq(int, container_option_apply(&o, "env", "A=1"), 0));
        cr_assert(eq(int, container_option_apply(&o, "user", "1000:1000"), 0));

        m = build();
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'a', "(sv)"), 1));
        expect_setting(m, "Command", "as");
        cr_assert(eq(int, sd_bus_message_enter_container(m, 'v', "as"), 1));
        cr_assert(eq(int, sd_bus_message_read_strv(m, &l), 1));
        cr_assert(eq(sz, strv_length(l), 2));
        cr_assert(eq(str, l[1], "-l"));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));
        expect_setting(m, "Environment", "as");
        cr_assert(eq(int, sd_bus_message_skip(m, "v"), 1));
        cr_assert(eq(int, sd_bus_message_exit_container(m), 1));
        expect_setting(m, "User", "s");
}
