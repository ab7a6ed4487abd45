/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Where systemd puts a container's scope: its cgroup path below each hierarchy's root, from the slice
 * (systemd nests a-b-c.slice in a.slice/a-b.slice). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>

#include "scope.h"

static void check(const char *slice, const char *expected) {
        char *p = NULL;

        cr_assert(eq(int, scope_cgroup_path(slice, "vessel-web.scope", &p), 0));
        cr_assert(eq(str, p, (char *) expected), "slice %s", slice ?: "(default)");
        free(p);
}

Test(scope_cgroup_path, machine_slice_by_default) {
        check(NULL, "/machine.slice/vessel-web.scope");
        check("machine.slice", "/machine.slice/vessel-web.scope");
}

Test(scope_cgroup_path, nested_slices_by_their_dashes) {
        check("pods.slice", "/pods.slice/vessel-web.scope");
        check("pods-web.slice", "/pods.slice/pods-web.slice/vessel-web.scope");
        check("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice/vessel-web.scope");
}

Test(scope_cgroup_path, the_root_slice) {
        check("-.slice", "/vessel-web.scope");
}
