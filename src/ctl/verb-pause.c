/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "ctl-bus.h"
#include "log.h"
#include "verb-ops.h"
#include "vesselctl.h"

int verb_pause(int argc, char *argv[]) {
        return manager_call_for_each(
                argc, argv, "PauseContainer", BUS_TIMEOUT_DEFAULT, "Failed to pause container", "s");
}

int verb_unpause(int argc, char *argv[]) {
        return manager_call_for_each(
                argc, argv, "ResumeContainer", BUS_TIMEOUT_DEFAULT, "Failed to resume container", "s");
}
