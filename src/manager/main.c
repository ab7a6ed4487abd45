/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "bus-util.h"
#include "log.h"
#include "manager.h"
#include "seccomp-policy.h"
#include "container.h"

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "The Vessel container manager daemon: serves io.vessel1 on the system bus and on\n"
               VESSEL_PRIVATE_SOCKET ". Normally started by vesseld.service through bus or\n"
               "socket activation.\n\n"
               "  -h --help          Show this help\n"
               "     --version       Show the version\n"
               "     --config=PATH   Configuration file (default: " VESSEL_CONF_DIR "/vesseld.conf)\n"
               "     --debug         Log debug messages\n",
               program_invocation_short_name);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { "config", required_argument, NULL, 'c' },
                { "debug", no_argument, NULL, 'd' },
                {},
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *config = VESSEL_CONF_DIR "/vesseld.conf";
        sigset_t mask;
        int c, r, listen_fd = -EBADF;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'V':
                        printf("vesseld %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        config = optarg;
                        break;
                case 'd':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                log_error("This program takes no arguments.");
                return 2;
        }

        log_set_prefix("vesseld");
        (void) bus_error_register_vessel();

        /* sd-event handles these through signalfd */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        (void) sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_listen_fds(true);
        if (r < 0)
                return log_error_errno(r, "Failed to read the sockets passed by systemd: %m"), 1;
        if (r > 1)
                return log_error("Expected at most one socket, got %i.", r), 1;
        if (r == 1)
                listen_fd = SD_LISTEN_FDS_START;

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the manager: %m"), 1;

        r = manager_load_config(m, config);
        if (r < 0)
                return 1;

        r = manager_init_binary_load(m);
        if (r < 0)
                return 1;

        r = seccomp_default_compile(&m->seccomp_bpf, &m->seccomp_bpf_size);
        if (r < 0)
                return log_error_errno(r, "Failed to compile the default seccomp filter: %m"), 1;

        r = manager_startup(m, listen_fd);
        if (r < 0)
                return 1;

        r = manager_run(m);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m"), 1;
        return 0;
}
