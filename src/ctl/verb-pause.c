/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "ctl-bus.h"
#include "log.h"
#include "verb-ops.h"
#include "vesselctl.h"

/* PauseContainer/ResumeContainer for each name; the first failure decides the exit status, the
 * others are still tried. */
static int pause_resume(int argc, char *argv[], const char *method, const char *what) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r, ret = 0;

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;

        for (int i = 0; i < argc; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = manager_call(
                        bus, method, BUS_TIMEOUT_DEFAULT, &error, /* ret_reply= */ NULL, "s", argv[i]);
                if (r < 0) {
                        r = log_bus_error(r, &error, what);
                        if (ret == 0)
                                ret = r;
                }
        }
        return ret;
}

int verb_pause(int argc, char *argv[]) {
        return pause_resume(argc, argv, "PauseContainer", "Failed to pause container");
}

int verb_unpause(int argc, char *argv[]) {
        return pause_resume(argc, argv, "ResumeContainer", "Failed to resume container");
}
