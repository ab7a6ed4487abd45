/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "export.h"

static void check_qualify(const char *name, const char *expected) {
        _cleanup_free_ char *q = NULL;

        cr_assert(eq(int, image_name_qualify(name, &q), 0));
        cr_assert(eq(str, q, (char *) expected), "%s", name);
}

Test(image_name_qualify, as_docker_spells_it_in_full) {
        check_qualify("busybox:1.36", "docker.io/library/busybox:1.36");
        check_qualify("vessel/test:v1", "docker.io/vessel/test:v1");
        check_qualify("quay.io/x/y:1", "quay.io/x/y:1");
        check_qualify("localhost/x:1", "localhost/x:1");
        check_qualify("registry:5000/x:1", "registry:5000/x:1");
        check_qualify("localhostx/y:1", "docker.io/localhostx/y:1");
}

Test(image_name_tag, after_the_last_colon_of_the_last_component) {
        cr_assert(eq(str, (char *) image_name_tag("busybox:1.36"), "1.36"));
        cr_assert(eq(str, (char *) image_name_tag("registry:5000/x:v2"), "v2"));
        cr_assert(eq(str, (char *) image_name_tag("registry:5000/x"), "latest"));
        cr_assert(eq(str, (char *) image_name_tag("x"), "latest"));
}

Test(export_shift_id, maps_the_container_range_back) {
        cr_assert(eq(u32, export_shift_id(0, 0), 0));
        cr_assert(eq(u32, export_shift_id(1000, 0), 1000));
        cr_assert(eq(u32, export_shift_id(524288, 524288), 0));
        cr_assert(eq(u32, export_shift_id(525288, 524288), 1000));
        cr_assert(eq(u32, export_shift_id(524288 + 65535, 524288), 65535));
        cr_assert(eq(u32, export_shift_id(524288 + 65536, 524288), 524288 + 65536), "past the range: as is");
        cr_assert(eq(u32, export_shift_id(0, 524288), 0), "the image's own root: as is");
}

Test(export_format, names) {
        cr_assert(eq(int, export_format_from_string("oci-archive"), EXPORT_OCI_ARCHIVE));
        cr_assert(eq(int, export_format_from_string("docker-archive"), EXPORT_DOCKER_ARCHIVE));
        cr_assert(eq(int, export_format_from_string("tar"), EXPORT_TAR));
        cr_assert(eq(int, export_format_from_string("oci"), -EINVAL));
        cr_assert(eq(str, (char *) export_format_to_string(EXPORT_TAR), "tar"));
}
