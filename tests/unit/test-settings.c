/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The limits and names a container's settings accept, and their record (settings_to/from_json). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "settings.h"
#include "string-util.h"

Test(settings_validate, memory_has_a_floor_of_4_MiB) {
        cr_assert(eq(int, settings_validate_memory(SETTING_UNSET), 0));
        cr_assert(eq(int, settings_validate_memory(4ULL << 20), 0));
        cr_assert(eq(int, settings_validate_memory(64ULL << 30), 0));
        cr_assert(eq(int, settings_validate_memory((4ULL << 20) - 1), -ERANGE));
        cr_assert(eq(int, settings_validate_memory(0), -ERANGE));
}

Test(settings_validate, weights_are_1_to_10000) {
        cr_assert(eq(int, settings_validate_cpu_weight(1), 0));
        cr_assert(eq(int, settings_validate_cpu_weight(10000), 0));
        cr_assert(eq(int, settings_validate_cpu_weight(0), -ERANGE));
        cr_assert(eq(int, settings_validate_cpu_weight(10001), -ERANGE));
        cr_assert(eq(int, settings_validate_io_weight(100), 0));
        cr_assert(eq(int, settings_validate_io_weight(0), -ERANGE));
        cr_assert(eq(int, settings_validate_io_weight(20000), -ERANGE));
        cr_assert(eq(int, settings_validate_cpu_weight(SETTING_UNSET), 0));
}

Test(settings_validate, cpu_quota_and_tasks) {
        cr_assert(eq(int, settings_validate_cpu_quota(1000), 0)); /* systemd's floor: 1 ms per second */
        cr_assert(eq(int, settings_validate_cpu_quota(999), -ERANGE));
        cr_assert(eq(int, settings_validate_cpu_quota(4000000), 0)); /* 4 CPUs */
        cr_assert(eq(int, settings_validate_tasks_max(1), 0));
        cr_assert(eq(int, settings_validate_tasks_max(0), -ERANGE));
}

Test(settings_validate, capabilities_by_their_kernel_names) {
        cr_assert(eq(int, settings_validate_capability("CAP_NET_ADMIN"), 0));
        cr_assert(eq(int, settings_validate_capability("CAP_CHECKPOINT_RESTORE"), 0));
        cr_assert(eq(int, settings_validate_capability("NET_ADMIN"), -EINVAL));
        cr_assert(eq(int, settings_validate_capability("cap_net_admin"), -EINVAL));
        cr_assert(eq(int, settings_validate_capability(""), -EINVAL));
        cr_assert(eq(int, capability_from_name("CAP_CHOWN"), 0));
        cr_assert(eq(int, capability_from_name("CAP_SYS_ADMIN"), 21));
}

Test(settings_validate, slices_as_systemd_names_them) {
        static const char *const good[] = { "machine.slice", "pods.slice", "pods-web.slice", "a_b.slice",
                                            "x:y@1.slice" };
        static const char *const bad[] = { "", "machine", ".slice", "-pods.slice", "pods-.slice", "pods--web.slice",
                                           "pods web.slice", "pods/web.slice", "machine.service" };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                cr_assert(eq(int, settings_validate_slice(good[i]), 0), "%s", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                cr_assert(eq(int, settings_validate_slice(bad[i]), -EINVAL), "%s", bad[i]);
}

Test(settings_validate, hostnames_like_container_names) {
        cr_assert(eq(int, settings_validate_hostname("web-1"), 0));
        cr_assert(eq(int, settings_validate_hostname("db.internal"), 0));
        cr_assert(eq(int, settings_validate_hostname("-web"), -EINVAL));
        cr_assert(eq(int, settings_validate_hostname("a_b"), -EINVAL));
        cr_assert(eq(int, settings_validate_hostname(""), -EINVAL));
}

Test(settings_validate, allowed_cpus_only_among_the_online_ones) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        Settings s;

        settings_init(&s);
        /* nothing asked: fine whatever is online */
        cr_assert(eq(int, settings_check_allowed_cpus(&s, "0-1", &error), 0));

        s.allowed_cpus = calloc(2, 1);
        s.allowed_cpus_size = 2;
        s.allowed_cpus[0] = 0x03; /* 0-1 */
        cr_assert(eq(int, settings_check_allowed_cpus(&s, "0-1", &error), 0));
        cr_assert(eq(int, settings_check_allowed_cpus(&s, "0-3,8", &error), 0));

        s.allowed_cpus[1] = 0x01; /* and 8 */
        cr_assert(eq(int, settings_check_allowed_cpus(&s, "0-3,8", &error), 0));
        cr_assert(lt(int, settings_check_allowed_cpus(&s, "0-3", &error), 0));
        cr_assert(eq(str, (char *) error.name, BUS_ERROR_INVALID_SETTING));
        cr_assert(eq(str, (char *) error.message,
                     "Invalid setting AllowedCPUs: CPU 8 is not online on this host (online: 0-3)."));
        sd_bus_error_free(&error);

        /* an online list we cannot read tells nothing: the kernel will */
        cr_assert(eq(int, settings_check_allowed_cpus(&s, "garbage", &error), 0));
        settings_done(&s);
}

Test(settings_json, round_trip_of_what_is_recorded) {
        char *cmd[] = { (char *) "sh", (char *) "-c", (char *) "echo \"hi\"", NULL };
        char *env[] = { (char *) "A=1", (char *) "B=two words", NULL };
        Settings in, out;
        json_object *o = NULL;

        settings_init(&in);
        settings_init(&out);
        in.command = strv_copy(cmd);
        in.environment = strv_copy(env);
        in.user = strdup("1000:1000");
        in.slice = strdup("pods-web.slice");
        in.memory_max = 256ULL << 20;
        in.cpu_weight = 200;
        in.tasks_max = 64;
        in.restart = RESTART_ALWAYS;
        in.network = NETWORK_NONE;
        in.stop_timeout_usec = 3 * USEC_PER_SEC;

        cr_assert(eq(int, settings_to_json(&in, &o), 0));
        /* through text, as the record goes to disk and back */
        json_object *back = json_tokener_parse(json_object_to_json_string(o));
        cr_assert(not(eq(ptr, back, NULL)));
        cr_assert(eq(int, settings_from_json(&out, back), 0));
        cr_assert(eq(str, out.command[2], "echo \"hi\""));
        cr_assert(eq(str, out.environment[1], "B=two words"));
        cr_assert(eq(str, out.user, "1000:1000"));
        cr_assert(eq(str, out.slice, "pods-web.slice"));
        cr_assert(eq(u64, out.memory_max, 256ULL << 20));
        cr_assert(eq(u64, out.cpu_weight, 200));
        cr_assert(eq(u64, out.tasks_max, 64));
        cr_assert(eq(u64, out.memory_high, SETTING_UNSET)); /* unset stays unset */
        cr_assert(eq(int, out.restart, RESTART_ALWAYS));
        cr_assert(eq(int, out.network, NETWORK_NONE));
        cr_assert(eq(u64, out.stop_timeout_usec, 3 * USEC_PER_SEC));
        json_object_put(o);
        json_object_put(back);
        settings_done(&in);
        settings_done(&out);
}
