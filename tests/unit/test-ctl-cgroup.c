/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vesselctl status's process list: the scope's cgroup from /proc/PID/cgroup, and a process's
 * command line for people (src/ctl/ctl-cgroup.c, in vesselctl_lib). */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-cgroup.h"

#define V1_HYBRID                                                                                          \
        "12:cpuset:/machine.slice/vessel-web.scope\n"                                                      \
        "9:name=systemd:/machine.slice/vessel-web.scope\n"                                                 \
        "1:memory:/machine.slice/vessel-web.scope\n"                                                       \
        "0::/machine.slice/vessel-web.scope\n"

Test(cgroup_unit_path, takes_the_named_systemd_hierarchy_on_v1) {
        char *p = NULL;
        bool v1 = false;

        cr_assert(eq(int, cgroup_unit_path(V1_HYBRID, "vessel-web.scope", &p, &v1), 0));
        cr_assert(eq(str, p, "/machine.slice/vessel-web.scope"));
        cr_assert(v1);
        free(p);
}

Test(cgroup_unit_path, cuts_below_the_unit_on_v2) {
        char *p = NULL;
        bool v1 = true;

        /* the leader sits in the delegated scope's leaf */
        cr_assert(eq(int, cgroup_unit_path("0::/pods.slice/vessel-db.scope/container\n", "vessel-db.scope", &p, &v1),
                     0));
        cr_assert(eq(str, p, "/pods.slice/vessel-db.scope"));
        cr_assert(not(v1));
        free(p);
}

Test(cgroup_unit_path, wants_the_unit_as_a_whole_component) {
        char *p = NULL;

        cr_assert(eq(int, cgroup_unit_path("0::/machine.slice/vessel-web.scope2\n", "vessel-web.scope", &p, NULL),
                     -ENOENT));
        cr_assert(eq(int, cgroup_unit_path("0::/machine.slice/xvessel-web.scope\n", "vessel-web.scope", &p, NULL),
                     -ENOENT));
        /* another namespace's view, or a process of another unit */
        cr_assert(eq(int, cgroup_unit_path("0::/\n", "vessel-web.scope", &p, NULL), -ENOENT));
        cr_assert(eq(int, cgroup_unit_path("", "vessel-web.scope", &p, NULL), -ENOENT));
        cr_assert(eq(int, cgroup_unit_path("garbage without colons\n", "vessel-web.scope", &p, NULL), -ENOENT));
        cr_assert(eq(ptr, p, NULL));
}

Test(process_describe, joins_words_and_cuts_long_lines) {
        static const char cmd[] = "sh\0-c\0sleep 1000 & wait\0";
        char *s;

        s = process_describe(cmd, sizeof cmd - 1, "sh", 100);
        cr_assert(eq(str, s, "sh -c sleep 1000 & wait"));
        free(s);

        s = process_describe(cmd, sizeof cmd - 1, "sh", 5);
        cr_assert(eq(str, s, "sh -c…"));
        free(s);

        /* no command line (a zombie, a kernel thread): its name */
        s = process_describe("", 0, "sleep", 100);
        cr_assert(eq(str, s, "[sleep]"));
        free(s);
        s = process_describe("\0\0", 2, NULL, 100);
        cr_assert(eq(str, s, "[]"));
        free(s);
}
