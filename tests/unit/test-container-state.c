/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A container's record under /var/lib/vessel: written, read back, and what is not trusted in it. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "fd-util.h"
#include "manager.h"
#include "settings.h"
#include "string-util.h"

#define ID "0123456789abcdef0123456789abcdef"

static char state_dir[] = "/tmp/vessel-test-state.XXXXXX";
static Manager *m;

static void setup(void) {
        cr_assert(not(eq(ptr, mkdtemp(state_dir), NULL)));
        setenv("VESSEL_STATE_DIRECTORY", state_dir, 1);
        setenv("VESSEL_RUNTIME_DIRECTORY", state_dir, 1);
        cr_assert(eq(int, manager_new(&m), 0));
}

static void teardown(void) {
        char cmd[128];

        m = manager_free(m);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
        (void) system(cmd);
}

static Container *new_container(const char *name) {
        Container *c;

        cr_assert(eq(int, container_new(m, name, ID, &c), 0));
        c->image = strdup("dir:/srv/rootfs");
        c->lower_dir = strdup("/srv/rootfs");
        c->state = CONTAINER_CREATED;
        c->created_usec = 1700000000000000ULL;
        cr_assert(not(eq(ptr, c->image, NULL)));
        return c;
}

static Container *reload(Container *c) {
        Container *back = NULL;

        container_free(c); /* the name is free again for the load */
        cr_assert(eq(int, container_load(m, ID, &back), 0));
        return back;
}

Test(container_state, round_trip_keeps_the_record, .init = setup, .fini = teardown) {
        Container *c = new_container("brave-otter");
        char *cmd[] = { (char *) "sh", (char *) "-c", (char *) "echo hi", NULL };

        c->settings.command = strv_copy(cmd);
        c->settings.memory_max = 64ULL << 20;
        c->settings.restart = RESTART_ON_FAILURE;
        cr_assert(eq(int, container_persist(c), 0));
        cr_assert(c->persisted);

        c = reload(c);
        cr_assert(eq(str, c->name, "brave-otter"));
        cr_assert(eq(str, c->image, "dir:/srv/rootfs"));
        cr_assert(eq(str, c->lower_dir, "/srv/rootfs"));
        cr_assert(eq(int, c->state, CONTAINER_CREATED));
        cr_assert(eq(u64, c->created_usec, 1700000000000000ULL));
        cr_assert(eq(u64, c->settings.memory_max, 64ULL << 20));
        cr_assert(eq(int, c->settings.restart, RESTART_ON_FAILURE));
        cr_assert(eq(str, c->settings.command[2], "echo hi"));
        cr_assert(c->persisted);
        container_free(c);
}

Test(container_state, a_leader_only_while_it_runs, .init = setup, .fini = teardown) {
        Container *c = new_container("lead");

        /* a start in flight (RunContainer writes its record after the clone): its process dies with
         * vesseld, and is no leader to re-adopt */
        c->leader = 4242;
        c->leader_starttime = 777;
        cr_assert(eq(int, container_persist(c), 0));
        c = reload(c);
        cr_assert(eq(int, c->leader, 0));
        cr_assert(eq(u64, c->leader_starttime, 0));

        c->state = CONTAINER_RUNNING;
        c->leader = 4343;
        c->leader_starttime = 888;
        cr_assert(eq(int, container_save(c), 0));
        c = reload(c);
        cr_assert(eq(int, c->state, CONTAINER_RUNNING));
        cr_assert(eq(int, c->leader, 4343));
        cr_assert(eq(u64, c->leader_starttime, 888));
        container_free(c);
}

static void write_record(const char *json) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof path, "%s/containers/" ID "/container.json", state_dir);
        f = fopen(path, "we");
        cr_assert(not(eq(ptr, f, NULL)));
        fputs(json, f);
        fclose(f);
}

Test(container_state, an_old_record_of_a_start_in_flight_has_no_leader, .init = setup, .fini = teardown) {
        Container *c = new_container("old");

        cr_assert(eq(int, container_persist(c), 0));
        container_free(c);
        write_record("{ \"Name\": \"old\", \"Id\": \"" ID "\", \"Image\": \"dir:/srv/rootfs\", "
                     "\"RootDirectory\": \"/srv/rootfs\", \"State\": \"created\", \"Leader\": 99, "
                     "\"LeaderStartTime\": 5, \"Settings\": {} }");
        cr_assert(eq(int, container_load(m, ID, &c), 0));
        cr_assert(eq(int, c->leader, 0));
        cr_assert(eq(u64, c->leader_starttime, 0));
        container_free(c);
}

Test(container_state, damaged_records_are_refused, .init = setup, .fini = teardown) {
        static const char *const bad[] = {
                "",
                "not json",
                "{ \"Name\": \"x\" }",                                             /* no Id, no Image */
                "{ \"Name\": \"-bad-\", \"Id\": \"" ID "\", \"Image\": \"dir:/a\", \"RootDirectory\": \"/a\", "
                "\"State\": \"created\" }",                                        /* an invalid name */
                "{ \"Name\": \"x\", \"Id\": \"" ID "\", \"Image\": \"dir:/a\", \"RootDirectory\": \"/a\", "
                "\"State\": \"flying\" }",                                         /* an unknown state */
        };
        Container *c = new_container("x");

        cr_assert(eq(int, container_persist(c), 0));
        container_free(c);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                c = NULL;
                write_record(bad[i]);
                cr_assert(lt(int, container_load(m, ID, &c), 0), "record %zu: %s", i, bad[i]);
                cr_assert(eq(ptr, c, NULL));
        }
}
