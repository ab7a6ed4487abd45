/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/ctl/output.c and src/ctl/ctl-properties.c (in vesselctl_lib, from src/ctl/meson.build),
 * src/shared (libvessel_shared_dep: parse-util for format_bytes/format_timespan/format_cpuset,
 * string-util), libsystemd and json-c. Wire it like test-ctl-options. No bus daemon: the messages
 * are built on an unconnected socketpair. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl-properties.h"
#include "output.h"
#include "string-util.h"

#define SEC UINT64_C(1000000)
#define NOW (UINT64_C(1700000000) * SEC)

/* ---- "ago" ------------------------------------------------------------------------------------ */

Test(ctl_output, formats_ago_in_whole_seconds) {
        char buf[FORMAT_TIMESTAMP_RELATIVE_MAX];

        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW - 123 * SEC, NOW), "2min 3s ago"));
        cr_assert(
                eq(str,
                   format_timestamp_relative(buf, sizeof buf, NOW - 123 * SEC - 456789, NOW),
                   "2min 3s ago"));
        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW - SEC - SEC / 2, NOW), "1s ago"));
        cr_assert(
                eq(str,
                   format_timestamp_relative(buf, sizeof buf, NOW - (3 * 86400 + 2 * 3600 + 5) * SEC, NOW),
                   "3d 2h ago"));
}

Test(ctl_output, formats_ago_below_a_second_in_milliseconds) {
        char buf[FORMAT_TIMESTAMP_RELATIVE_MAX];

        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW - 250123, NOW), "250ms ago"));
        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW - 12, NOW), "12us ago"));
        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW, NOW), "now"));
}

Test(ctl_output, formats_future_as_left) {
        char buf[FORMAT_TIMESTAMP_RELATIVE_MAX];

        cr_assert(eq(str, format_timestamp_relative(buf, sizeof buf, NOW + 5 * SEC, NOW), "5s left"));
}

Test(ctl_output, never_is_no_timestamp) {
        char buf[FORMAT_TIMESTAMP_MAX];

        cr_assert(eq(ptr, format_timestamp_relative(buf, sizeof buf, 0, NOW), NULL));
        cr_assert(eq(ptr, format_timestamp_relative(buf, sizeof buf, UINT64_MAX, NOW), NULL));
        cr_assert(eq(ptr, format_timestamp(buf, sizeof buf, 0), NULL));
        cr_assert(eq(ptr, format_timestamp(buf, sizeof buf, UINT64_MAX), NULL));
}

Test(ctl_output, formats_timestamp_in_local_time) {
        char buf[FORMAT_TIMESTAMP_MAX];

        setenv("TZ", "UTC", 1);
        tzset();
        cr_assert(eq(str, format_timestamp(buf, sizeof buf, NOW), "Tue 2023-11-14 22:13:20 UTC"));
}

/* ---- table ------------------------------------------------------------------------------------ */

static char *print_table(Table *t) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        cr_assert(not(eq(ptr, f, NULL)));
        cr_assert(eq(int, table_print(t, f), 0));
        fclose(f);
        return buf;
}

Test(ctl_output, pads_columns_but_not_the_last) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *s = NULL;

        t = table_new("NAME", "STATE", "LEADER");
        cr_assert(not(eq(ptr, t, NULL)));
        cr_assert(eq(int, table_add_row(t, "web", "running", "4242"), 0));
        cr_assert(eq(int, table_add_row(t, "database", "exited", NULL), 0));
        cr_assert(eq(sz, table_get_rows(t), 2));

        s = print_table(t);
        cr_assert(eq(str, s,
                     "NAME     STATE   LEADER\n"
                     "web      running 4242\n"
                     "database exited  -\n"));
}

Test(ctl_output, sorts_rows_keeping_the_header) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *s = NULL;

        t = table_new("NAME", "X");
        cr_assert(eq(int, table_add_row(t, "web", "1"), 0));
        cr_assert(eq(int, table_add_row(t, "api", "2"), 0));
        cr_assert(eq(int, table_add_row(t, "db", "3"), 0));
        table_sort(t, 0);

        s = print_table(t);
        cr_assert(eq(str, s, "NAME X\napi  2\ndb   3\nweb  1\n"));
}

Test(ctl_output, prints_header_of_empty_table) {
        _cleanup_(table_freep) Table *t = NULL;
        _cleanup_free_ char *s = NULL;

        t = table_new("NAME", "IMAGE");
        table_sort(t, 0);
        s = print_table(t);
        cr_assert(eq(str, s, "NAME IMAGE\n"));
}

/* ---- command lines ---------------------------------------------------------------------------- */

Test(ctl_output, quotes_words_only_when_needed) {
        _cleanup_free_ char *a = quote_word("plain-word_1.0"), *b = quote_word("two words"),
                            *c = quote_word("it's"), *d = quote_word("");
        _cleanup_free_ char *cmd = format_command_line((char *[]) { (char *) "sh", (char *) "-c",
                                                                   (char *) "sleep 1; echo $HOME", NULL });

        cr_assert(eq(str, a, "plain-word_1.0"));
        cr_assert(eq(str, b, "'two words'"));
        cr_assert(eq(str, c, "'it'\\''s'"));
        cr_assert(eq(str, d, "''"));
        cr_assert(eq(str, cmd, "sh -c 'sleep 1; echo $HOME'"));
}

/* ---- properties ------------------------------------------------------------------------------- */

static sd_bus *bus;
static int fds[2] = { -EBADF, -EBADF };

static void setup_bus(void) {
        cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0));
        cr_assert(eq(int, sd_bus_new(&bus), 0));
        cr_assert(eq(int, sd_bus_set_fd(bus, fds[0], fds[0]), 0));
        cr_assert(eq(int, sd_bus_start(bus), 0));
}

static void teardown_bus(void) {
        bus = sd_bus_close_unref(bus);
        close(fds[1]);
}

TestSuite(ctl_properties, .init = setup_bus, .fini = teardown_bus);

/* A GetAll-like a{sv} as the daemon would send it. */
static sd_bus_message *build_properties(void) {
        static const uint8_t v4[4] = { 10, 88, 0, 2 }, v6[16] = { 0xfd, [15] = 2 }, cpus[2] = { 0x0f, 0x01 };
        sd_bus_message *m = NULL;

        cr_assert(eq(int, sd_bus_message_new_method_call(bus, &m, "x.y", "/", "x.y", "Z"), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'a', "{sv}"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "Name", "s", "web"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "State", "s", "exited"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "Leader", "u", 0), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "ExitSignal", "i", 9), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "OOMKilled", "b", 1), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "MemoryMax", "t", UINT64_C(536870912)), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "MemoryHigh", "t", UINT64_MAX), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "MemoryLow", "t", UINT64_MAX), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "CPUWeight", "t", UINT64_MAX), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "IOWeight", "t", UINT64_C(200)), 0));
        /* 2024-05-07 10:00:01 UTC; a span of 1 h 2 min 3 s 4 µs; never; no quota */
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "StartedTimestamp", "t", UINT64_C(1715076001000000)), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "FinishedTimestamp", "t", UINT64_C(0)), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "StopTimeoutUSec", "t", UINT64_C(3723000004)), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "CPUQuotaPerSecUSec", "t", UINT64_MAX), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "Command", "as", 3, "sh", "-c", "echo hi"), 0));
        cr_assert(
                ge(int,
                   sd_bus_message_append(m, "{sv}", "Labels", "a(ss)", 2, "app", "web", "tier", "front"),
                   0));
        cr_assert(
                ge(int, sd_bus_message_append(m, "{sv}", "PublishPorts", "a(sqq)", 1, "tcp", 8080, 80), 0));
        /* a newer daemon's property of a type we do not expect must not break status */
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "RestartCount", "t", UINT64_C(3)), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "{sv}", "SomethingNew", "d", 0.5), 0));

        cr_assert(ge(int, sd_bus_message_open_container(m, 'e', "sv"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "s", "AllowedCPUs"), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'v', "ay"), 0));
        cr_assert(ge(int, sd_bus_message_append_array(m, 'y', cpus, sizeof cpus), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));

        cr_assert(ge(int, sd_bus_message_open_container(m, 'e', "sv"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "s", "Addresses"), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'v', "a(iay)"), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'a', "(iay)"), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'r', "iay"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "i", AF_INET), 0));
        cr_assert(ge(int, sd_bus_message_append_array(m, 'y', v4, sizeof v4), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(ge(int, sd_bus_message_open_container(m, 'r', "iay"), 0));
        cr_assert(ge(int, sd_bus_message_append(m, "i", AF_INET6), 0));
        cr_assert(ge(int, sd_bus_message_append_array(m, 'y', v6, sizeof v6), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(ge(int, sd_bus_message_close_container(m), 0));

        cr_assert(ge(int, sd_bus_message_close_container(m), 0));
        cr_assert(eq(int, sd_bus_message_seal(m, 1, 0), 0));
        cr_assert(ge(int, sd_bus_message_rewind(m, true), 0));
        return m;
}

Test(ctl_properties, prints_every_property_as_key_value) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_properties();
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        setenv("TZ", "UTC", 1);
        tzset();

        cr_assert(eq(int, bus_print_properties(m, NULL, false, f), 0));
        fclose(f);
        cr_assert(eq(str, buf,
                     "Name=web\n"
                     "State=exited\n"
                     "Leader=0\n"
                     "ExitSignal=9\n"
                     "OOMKilled=yes\n"
                     "MemoryMax=536870912\n"
                     "MemoryHigh=infinity\n"
                     "MemoryLow=[not set]\n"
                     "CPUWeight=[not set]\n"
                     "IOWeight=200\n"
                     "StartedTimestamp=Tue 2024-05-07 10:00:01 UTC\n"
                     "FinishedTimestamp=\n"
                     "StopTimeoutUSec=1h 2min 3s 4us\n"
                     "CPUQuotaPerSecUSec=infinity\n"
                     "Command=sh -c echo hi\n"
                     "Labels=app=web tier=front\n"
                     "PublishPorts=tcp:8080:80\n"
                     "RestartCount=3\n"
                     "SomethingNew=0.5\n"
                     "AllowedCPUs=0-3,8\n"
                     "Addresses=10.88.0.2 fd00::2\n"));
}

Test(ctl_properties, filters_properties_and_prints_values_only) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_properties();
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        cr_assert(eq(
                int,
                bus_print_properties(m, (char *[]){ (char *) "MemoryHigh", (char *) "Name", NULL }, true, f),
                0));
        fclose(f);
        cr_assert(eq(str, buf, "web\ninfinity\n"));
}

Test(ctl_properties, converts_properties_to_json) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_properties();
        _cleanup_json_ struct json_object *j = NULL;
        struct json_object *v;

        cr_assert(eq(int, bus_properties_to_json(m, NULL, &j), 0));
        cr_assert(json_object_object_get_ex(j, "Name", &v));
        cr_assert(eq(str, (char *) json_object_get_string(v), "web"));
        cr_assert(json_object_object_get_ex(j, "OOMKilled", &v));
        cr_assert(json_object_get_boolean(v));
        cr_assert(json_object_object_get_ex(j, "MemoryMax", &v));
        cr_assert(eq(u64, json_object_get_uint64(v), 536870912));
        /* UINT64_MAX: present, null */
        cr_assert(json_object_object_get_ex(j, "MemoryHigh", &v));
        cr_assert(eq(ptr, v, NULL));
        cr_assert(json_object_object_get_ex(j, "Command", &v));
        cr_assert(eq(sz, json_object_array_length(v), 3));
        cr_assert(json_object_object_get_ex(j, "Labels", &v));
        cr_assert(json_object_object_get_ex(v, "tier", &v));
        cr_assert(eq(str, (char *) json_object_get_string(v), "front"));
        cr_assert(json_object_object_get_ex(j, "AllowedCPUs", &v));
        cr_assert(eq(str, (char *) json_object_get_string(v), "0-3,8"));
        cr_assert(json_object_object_get_ex(j, "Addresses", &v));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_array_get_idx(v, 1)), "fd00::2"));
        cr_assert(json_object_object_get_ex(j, "PublishPorts", &v));
        cr_assert(
                eq(int,
                   json_object_get_int(json_object_array_get_idx(json_object_array_get_idx(v, 0), 1)),
                   8080));
}

Test(ctl_properties, reads_status_fields_skipping_unexpected_types) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_properties();
        _cleanup_(container_info_done) ContainerInfo i;

        container_info_init(&i);
        cr_assert(eq(int, container_info_read(m, &i), 0));
        cr_assert(eq(str, i.name, "web"));
        cr_assert(eq(str, i.state, "exited"));
        cr_assert(eq(i32, i.exit_signal, 9));
        cr_assert(i.oom_killed);
        cr_assert(eq(u64, i.memory_max, 536870912));
        cr_assert(eq(u64, i.memory_high, UINT64_MAX));
        cr_assert(eq(u64, i.tasks_max, UINT64_MAX)); /* absent */
        cr_assert(eq(u32, i.restart_count, 0));      /* wrong type: skipped */
        cr_assert(eq(sz, strv_length(i.command), 3));
        cr_assert(eq(str, i.labels[1], "tier=front"));
        cr_assert(eq(str, i.addresses[0], "10.88.0.2"));
        cr_assert(eq(sz, i.n_allowed_cpus, 2));
}

Test(ctl_properties, prints_status_for_people) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = build_properties();
        _cleanup_(container_info_done) ContainerInfo i;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        container_info_init(&i);
        cr_assert(eq(int, container_info_read(m, &i), 0));
        i.finished_timestamp = NOW - 65 * SEC;

        setenv("TZ", "UTC", 1);
        tzset();
        f = open_memstream(&buf, &size);
        container_info_print(&i, NOW, f);
        fclose(f);

        cr_assert(not(eq(ptr, strstr(buf, "State: exited (signal=SIGKILL, OOM killed) since "), NULL)));
        cr_assert(not(eq(ptr, strstr(buf, "; 1min 5s ago\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(buf, "Command: sh -c 'echo hi'\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(buf, "Address: 10.88.0.2\n               fd00::2\n"), NULL)));
        cr_assert(not(eq(ptr, strstr(buf, "Memory: - (max: 512.0M)\n"), NULL)));
        cr_assert(eq(ptr, strstr(buf, "Leader"), NULL)); /* no pid once exited */
}
