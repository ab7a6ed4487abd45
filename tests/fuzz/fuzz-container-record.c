/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A container's record, /var/lib/vessel/containers/ID/container.json, as vesseld reads it back at
 * start (container_load()): vesseld wrote it, atomically, but a damaged disk, a restored backup or a
 * hand edit can leave anything there, and one bad record must cost that container only, never the
 * daemon. The input is the file. A record that loads must save again. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "fd-util.h"
#include "fuzz.h"
#include "manager.h"

#define ID "0123456789abcdef0123456789abcdef"

static char state_dir[] = "/var/tmp/fuzz-container-record-XXXXXX";
static char record_dir[PATH_MAX];
static Manager *m;

static void cleanup(void) {
        m = manager_free(m);
        (void) rm_rf(state_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        Container *c = NULL;

        if (!m) {
                if (!mkdtemp(state_dir))
                        abort();
                setenv("VESSEL_STATE_DIRECTORY", state_dir, 1);
                setenv("VESSEL_RUNTIME_DIRECTORY", state_dir, 1);
                if (manager_new(&m) < 0)
                        abort();
                atexit(cleanup);
                snprintf(record_dir, sizeof record_dir, "%s/containers/" ID, state_dir);
                if (mkdir_parents_and_self(record_dir, 0700) < 0)
                        abort();
        }
        {
                char path[PATH_MAX + 32];
                snprintf(path, sizeof path, "%s/container.json", record_dir);
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size))
                        abort();
        }
        if (container_load(m, ID, &c) >= 0) {
                if (container_save(c) < 0)
                        abort();
                container_free(c);
        }
        return 0;
}
