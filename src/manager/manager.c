/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "bus-util.h"
#include "conf-parser.h"
#include "container.h"
#include "container-spawn.h"
#include "image.h"
#include "log.h"
#include "machine.h"
#include "manager.h"
#include "netns-pool.h"
#include "network.h"
#include "operation.h"
#include "parse-util.h"
#include "scope.h"
#include "string-util.h"

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->private_fd = -EBADF;
        m->init_fd = -EBADF;
        m->netns_pool_home = -EBADF;
        m->spare_pidfd = m->spare_sync_fd = -EBADF;
        m->config.max_layer_size = 8ULL << 30;

        m->containers = hashmap_new();
        m->containers_by_id = hashmap_new();
        m->images = hashmap_new();
        m->transfers = hashmap_new();
        if (!m->containers || !m->containers_by_id || !m->images || !m->transfers)
                return -ENOMEM;

        m->state_dir = strdup(getenv("VESSEL_STATE_DIRECTORY") ?: VESSEL_STATE_DIR);
        m->runtime_dir = strdup(getenv("VESSEL_RUNTIME_DIRECTORY") ?: VESSEL_RUNTIME_DIR);
        if (!m->state_dir || !m->runtime_dir)
                return -ENOMEM;

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;
        if (c->manager) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->manager->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                if (c->is_private)
                        c->manager->n_private_connections--;
        }
        sd_bus_flush_close_unref(c->bus);
        return mfree(c);
}

Manager *manager_free(Manager *m) {
        Container *c;

        if (!m)
                return NULL;

        /* Containers live on without us: freeing the objects stops nothing. */
        while (hashmap_size(m->containers) > 0) {
                unsigned i = 0;
                if (!hashmap_iterate(m->containers, &i, (void **) &c, NULL))
                        break;
                container_free(c);
        }
        hashmap_free(m->containers);
        hashmap_free(m->containers_by_id);
        manager_graveyard_free(m);
        manager_free_transfers(m);
        hashmap_free(m->transfers);
        manager_free_images(m);
        hashmap_free(m->images);

        while (m->connections)
                connection_free(m->connections);
        m->bus = NULL;

        sd_event_source_unref(m->private_source);
        sd_event_source_unref(m->idle_timer);
        safe_close(m->private_fd);
        scope_manager_done(m);
        netns_pool_done(m);
        spare_done(m);
        m->network = network_free(m->network);
        sd_event_unref(m->event);

        free(m->seccomp_bpf);
        safe_close(m->init_fd);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->config.subnet);
        return mfree(m);
}

static int config_item(const char *section, const char *key, const char *value, void *userdata, unsigned line) {
        Manager *m = userdata;
        int r = 0;

        if (streq(section, "Manager") && streq(key, "ExitIdleSec")) {
                r = parse_sec(value, &m->config.exit_idle_usec);
                if (r >= 0 && m->config.exit_idle_usec == USEC_INFINITY)
                        m->config.exit_idle_usec = 0;
        } else if (streq(section, "Images") && streq(key, "MaxLayerSize"))
                r = parse_size(value, &m->config.max_layer_size);
        else if (streq(section, "Network") && streq(key, "Subnet"))
                r = free_and_strdup(&m->config.subnet, value);
        else if (streq(section, "Network") && streq(key, "IPv6")) {
                if (streq(value, "yes") || streq(value, "true") || streq(value, "1"))
                        m->config.ipv6 = true;
                else if (streq(value, "no") || streq(value, "false") || streq(value, "0"))
                        m->config.ipv6 = false;
                else
                        r = -EINVAL;
        } else
                log_warning("Config line %u: unknown key [%s] %s=, ignoring.", line, section, key);

        if (r < 0)
                log_warning_errno(r, "Config line %u: invalid value for [%s] %s=: %s, ignoring.", line, section,
                                  key, value);
        return 0;
}

int manager_load_config(Manager *m, const char *path) {
        int r;

        r = config_parse_with_dropins(path, config_item, m);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        return 0;
}

static int detect_cgroup_layout(CgroupLayout *ret) {
        struct statfs fs;

        if (statfs("/sys/fs/cgroup/", &fs) < 0)
                return -errno;
        *ret = fs.f_type == CGROUP2_SUPER_MAGIC ? CGROUP_LAYOUT_UNIFIED : CGROUP_LAYOUT_LEGACY;
        return 0;
}

static int on_private_disconnected(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Connection *c = userdata;
        Manager *m = c->manager;

        log_debug("Private connection %u closed.", c->id);
        connection_free(c);
        manager_check_idle(m);
        return 0;
}

static int method_hello(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Connection *c = userdata;
        char name[32];

        /* A direct connection has no bus daemon to hand out names; answer Hello ourselves, so that
         * clients that speak to a bus (busctl --address=, sd_bus_set_bus_client()) work unchanged. */
        (void) snprintf(name, sizeof name, ":1.%u", c->id);
        return sd_bus_reply_method_return(message, "s", name);
}

static int method_match(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        /* Every signal goes to every private connection; a client's match rules filter on its side
         * (sd-bus does), so there is nothing to install, and nothing to refuse. */
        return sd_bus_reply_method_return(message, NULL);
}

static const sd_bus_vtable hello_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_ARGS("Hello", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", unique_name), method_hello,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT, method_match,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT, method_match,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int on_private_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_close_ int nfd = -EBADF;
        Manager *m = userdata;
        Connection *c;
        sd_id128_t id;
        int r;

        nfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (nfd < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                        return 0;
                log_warning_errno(errno, "Failed to accept private connection: %m");
                return 0;
        }
        if (m->n_private_connections >= 4096) {
                log_warning("Too many private connections, refusing.");
                return 0;
        }

        r = sd_bus_new(&bus);
        if (r < 0)
                return log_warning_errno(r, "Failed to allocate private bus: %m"), 0;
        r = sd_bus_set_fd(bus, nfd, nfd);
        if (r < 0)
                return log_warning_errno(r, "Failed to set private bus fd: %m"), 0;
        TAKE_FD(nfd);

        (void) sd_id128_randomize(&id);
        r = sd_bus_set_server(bus, 1, id);
        if (r < 0)
                return log_warning_errno(r, "Failed to make private bus a server: %m"), 0;
        (void) sd_bus_negotiate_fds(bus, true);
        (void) sd_bus_negotiate_creds(bus, true, SD_BUS_CREDS_PID | SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);

        c = calloc(1, sizeof(Connection));
        if (!c)
                return log_oom(), 0;
        c->manager = m;
        c->is_private = true;
        c->id = ++m->private_counter;

        r = sd_bus_add_object_vtable(bus, NULL, "/org/freedesktop/DBus", "org.freedesktop.DBus", hello_vtable, c);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                        "Disconnected", on_private_disconnected, c);
        if (r >= 0)
                r = manager_add_bus_objects(m, bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_start(bus);
        if (r < 0) {
                free(c);
                return log_warning_errno(r, "Failed to set up private connection: %m"), 0;
        }

        c->bus = TAKE_PTR(bus);
        /* after the system bus, which stays first */
        if (m->connections && !m->connections->is_private) {
                c->prev = m->connections;
                c->next = m->connections->next;
                if (c->next)
                        c->next->prev = c;
                m->connections->next = c;
        } else {
                c->next = m->connections;
                if (c->next)
                        c->next->prev = c;
                m->connections = c;
        }
        m->n_private_connections++;
        manager_check_idle(m);
        return 0;
}

static int listen_private(Manager *m, int listen_fd) {
        int r;

        if (listen_fd < 0) {
                /* Started by hand, not by vesseld.socket: listen ourselves. */
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                _cleanup_free_ char *path = strjoin(m->runtime_dir, "/io.vessel1");

                if (!path)
                        return log_oom();
                if (strlen(path) >= sizeof sa.sun_path)
                        return log_error_errno(ENAMETOOLONG, "Socket path %s too long.", path);
                strcpy(sa.sun_path, path);

                listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (listen_fd < 0)
                        return log_error_errno(errno, "Failed to create socket: %m");
                m->private_fd = listen_fd;
                (void) unlink(path);
                if (bind(listen_fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                        return log_error_errno(errno, "Failed to bind %s: %m", path);
                (void) chmod(path, 0666);
                if (listen(listen_fd, SOMAXCONN) < 0)
                        return log_error_errno(errno, "Failed to listen on %s: %m", path);
        } else {
                m->private_fd = listen_fd;
                r = fcntl(listen_fd, F_GETFL);
                if (r >= 0)
                        (void) fcntl(listen_fd, F_SETFL, r | O_NONBLOCK);
        }

        r = sd_event_add_io(m->event, &m->private_source, m->private_fd, EPOLLIN, on_private_connection, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch private socket: %m");
        return 0;
}

static int connect_system_bus(Manager *m) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        Connection *c;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                /* Socket activation without a bus (early boot, a rescue system) still works. */
                log_warning_errno(r, "Failed to connect to the system bus, serving the private socket only: %m");
                return 0;
        }

        r = manager_add_bus_objects(m, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to register objects: %m");
        r = sd_bus_attach_event(bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");

        c = calloc(1, sizeof(Connection));
        if (!c)
                return log_oom();
        c->manager = m;
        /* the Connection holds the reference; m->bus borrows it */
        c->bus = TAKE_PTR(bus);
        c->next = m->connections;
        if (c->next)
                c->next->prev = c;
        m->connections = c;
        m->bus = c->bus;
        return 1;
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIG%s, exiting. Containers keep running.", signal_to_name(si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(m->event, 0);
}

int manager_startup(Manager *m, int listen_fd) {
        int r;

        r = detect_cgroup_layout(&m->cgroup_layout);
        if (r < 0)
                return log_error_errno(r, "Failed to detect the cgroup layout: %m");
        log_debug("cgroup layout: %s", m->cgroup_layout == CGROUP_LAYOUT_UNIFIED ? "unified (v2)" : "legacy (v1)");

        (void) mkdir(m->runtime_dir, 0755);
        if (mkdir(m->state_dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", m->state_dir);

        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = listen_private(m, listen_fd);
        if (r < 0)
                return r;

        r = connect_system_bus(m);
        if (r < 0)
                return r;
        (void) machine_watch(m);

        r = scope_manager_init(m);
        if (r < 0)
                return r;
        (void) netns_pool_start(m);

        r = manager_load_images(m);
        if (r < 0)
                return r;

        r = manager_load_containers(m);
        if (r < 0)
                return r;
        (void) spare_start(m);

        /* Only now, with every object in place, take the name: a call that activated us must find
         * what is already there. */
        if (m->bus) {
                r = sd_bus_request_name(m->bus, VESSEL_BUS_NAME, 0);
                if (r < 0)
                        return log_error_errno(r, "Failed to acquire bus name %s: %m", VESSEL_BUS_NAME);
        }

        manager_check_idle(m);
        return 0;
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_info("Idle for %s, exiting.", format_timespan((char[FORMAT_TIMESPAN_MAX]) {}, FORMAT_TIMESPAN_MAX,
                                                          m->config.exit_idle_usec));
        return sd_event_exit(m->event, 0);
}

static bool manager_is_idle(Manager *m) {
        Container *c;

        if (m->n_private_connections > 0 || m->n_systemd_calls > 0 || hashmap_size(m->transfers) > 0)
                return false;
        HASHMAP_FOREACH(c, m->containers)
                if (container_keeps_manager_busy(c))
                        return false;
        return true;
}

void manager_check_idle(Manager *m) {
        int r;

        if (m->config.exit_idle_usec == 0)
                return;
        if (!manager_is_idle(m)) {
                if (m->idle_timer)
                        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_OFF);
                return;
        }
        if (m->idle_timer) {
                if (sd_event_source_get_enabled(m->idle_timer, NULL) > 0)
                        return;
                (void) sd_event_source_set_time_relative(m->idle_timer, m->config.exit_idle_usec);
                (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
                return;
        }
        r = sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC, m->config.exit_idle_usec, 0,
                                       on_idle_timeout, m);
        if (r < 0)
                log_warning_errno(r, "Failed to arm idle timer, staying up: %m");
}

int manager_run(Manager *m) {
        (void) sd_notify(false, "READY=1\nSTATUS=Serving.");
        return sd_event_loop(m->event);
}
