/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vesselctl stats: the live figures of containers (io.vessel1.Container's MemoryCurrent,
 * CPUUsageNSec, TasksCurrent, IOReadBytes, IOWriteBytes, which vesseld reads from the scope's cgroup
 * when asked), as a table that refreshes every second, or once.
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-properties.h"
#include "ctl-stats.h"
#include "log.h"
#include "output.h"
#include "string-util.h"
#include "verb-ops.h"
#include "vesselctl.h"

enum {
        ARG_STATS_NO_STREAM = 0x480,
};

static bool arg_no_stream = false;

const struct option stats_options[] = {
        { "all", no_argument, NULL, 'a' },
        { "no-stream", no_argument, NULL, ARG_STATS_NO_STREAM },
        {},
};

int parse_stats_option(int c, const char *arg) {
        switch (c) {
        case 'a':
                arg_all = true;
                return 0;
        case ARG_STATS_NO_STREAM:
                arg_no_stream = true;
                return 0;
        }
        return 0;
}

void help_stats(void) {
        printf("  -a --all                        All containers, not only running and paused ones\n"
               "     --no-stream                  Print once, not every second\n"
               "     --json                       Print once, as a JSON array\n");
}

#define STATS_FIRST_INTERVAL_USEC (500 * USEC_PER_MSEC)
#define STATS_INTERVAL_USEC USEC_PER_SEC

typedef struct StatsEntry {
        char *name, *id, *path;
        StatsSample prev, cur;
        bool listed; /* in the last ListContainers */
} StatsEntry;

typedef struct StatsContext {
        sd_bus *bus;
        StatsEntry *entries;
        size_t n_entries;
        bool by_name; /* NAME... given: those, whatever their state */
        uint64_t host_memory;
} StatsContext;

static void stats_context_done(StatsContext *c) {
        for (size_t i = 0; i < c->n_entries; i++) {
                free(c->entries[i].name);
                free(c->entries[i].id);
                free(c->entries[i].path);
        }
        free(c->entries);
}

static uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static uint64_t read_host_memory(void) {
        _cleanup_(fclosep) FILE *f = NULL;
        char buf[4096];
        size_t n;

        f = fopen("/proc/meminfo", "re");
        if (!f)
                return UINT64_MAX;
        n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        return meminfo_total(buf);
}

static StatsEntry *entry_find(StatsContext *c, const char *name) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].name, name))
                        return c->entries + i;
        return NULL;
}

static int entry_add(StatsContext *c, const char *name, const char *path) {
        StatsEntry *n;

        n = reallocarray(c->entries, c->n_entries + 1, sizeof(StatsEntry));
        if (!n)
                return -ENOMEM;
        c->entries = n;
        n = c->entries + c->n_entries;
        *n = (StatsEntry) {
                .name = strdup(name),
                .path = strdup(path),
                .prev = STATS_SAMPLE_NULL,
                .cur = STATS_SAMPLE_NULL,
                .listed = true,
        };
        if (!n->name || !n->path) {
                free(n->name);
                free(n->path);
                return -ENOMEM;
        }
        c->n_entries++;
        return 0;
}

/* The running (and paused) containers, or all with -a: new ones join, gone ones leave. */
static int stats_refresh_list(StatsContext *c) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name, *image, *state, *unit, *path;
        uint32_t leader;
        size_t k = 0;
        int r;

        r = manager_call(c->bus, "ListContainers", BUS_TIMEOUT_DEFAULT, &error, &reply, NULL);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to list containers");

        for (size_t i = 0; i < c->n_entries; i++)
                c->entries[i].listed = false;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssuo)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply: %m");
        while ((r = sd_bus_message_read(reply, "(ssssuo)", &name, &image, &state, &unit, &leader, &path)) >
               0) {
                StatsEntry *e;

                if (!arg_all && !streq(state, "running") && !streq(state, "paused"))
                        continue;
                e = entry_find(c, name);
                if (e)
                        e->listed = true;
                else if (entry_add(c, name, path) < 0)
                        return log_oom();
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply: %m");

        for (size_t i = 0; i < c->n_entries; i++) {
                if (c->entries[i].listed) {
                        c->entries[k++] = c->entries[i];
                        continue;
                }
                free(c->entries[i].name);
                free(c->entries[i].id);
                free(c->entries[i].path);
        }
        c->n_entries = k;
        return 0;
}

static void stats_sample(StatsContext *c, StatsEntry *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(container_info_done) ContainerInfo info;
        int r;

        container_info_init(&info);
        e->prev = e->cur;
        e->cur = STATS_SAMPLE_NULL;

        r = sd_bus_call_method(
                c->bus,
                VESSEL_BUS_NAME,
                e->path,
                "org.freedesktop.DBus.Properties",
                "GetAll",
                &error,
                &reply,
                "s",
                VESSEL_CONTAINER_INTERFACE);
        if (r >= 0)
                r = container_info_read(reply, &info);
        if (r < 0) {
                /* gone meanwhile: a row of "-" */
                log_debug("Failed to read the figures of %s: %s", e->name, error.message ?: strerror(-r));
                return;
        }

        e->cur = (StatsSample) {
                .timestamp_usec = now_monotonic_usec(),
                .cpu_usage_nsec = info.cpu_usage_nsec,
                .memory_current = info.memory_current,
                .memory_max = info.memory_max,
                .tasks_current = info.tasks_current,
                .tasks_max = info.tasks_max,
                .io_read_bytes = info.io_read_bytes,
                .io_write_bytes = info.io_write_bytes,
        };
        if (!e->id && info.id)
                e->id = strdup(info.id);
}

static int stats_sample_all(StatsContext *c) {
        int r;

        if (!c->by_name) {
                r = stats_refresh_list(c);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < c->n_entries; i++)
                stats_sample(c, c->entries + i);
        return 0;
}

static int stats_print_table(StatsContext *c, bool redraw) {
        _cleanup_(table_freep) Table *t = NULL;
        int r;

        t = stats_table_new();
        if (!t)
                return log_oom();
        for (size_t i = 0; i < c->n_entries; i++) {
                StatsEntry *e = c->entries + i;

                r = stats_table_add(t, e->name, &e->prev, &e->cur, c->host_memory);
                if (r < 0)
                        return log_oom();
        }
        table_sort(t, 0);

        if (redraw)
                fputs("\x1B[H\x1B[2J", stdout); /* home, clear the screen */
        r = table_print(t, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write output: %m");
        return 0;
}

static int stats_print_json(StatsContext *c) {
        _cleanup_json_ struct json_object *a = NULL;
        int r;

        a = json_object_new_array();
        if (!a)
                return log_oom();
        for (size_t i = 0; i < c->n_entries; i++) {
                StatsEntry *e = c->entries + i;
                struct json_object *o = NULL;

                r = stats_to_json(e->name, e->id, &e->prev, &e->cur, c->host_memory, &o);
                if (r < 0 || json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        return log_oom();
                }
        }
        return json_print(a, stdout);
}

static volatile sig_atomic_t stats_interrupted = 0;

static void on_stats_signal(int sig) {
        stats_interrupted = sig;
}

/* sleeps, unless a signal ends it */
static void stats_sleep(uint64_t usec) {
        struct timespec ts = {
                .tv_sec = (time_t) (usec / USEC_PER_SEC),
                .tv_nsec = (long) ((usec % USEC_PER_SEC) * NSEC_PER_USEC),
        };

        while (!stats_interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int verb_stats(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(stats_context_done) StatsContext c = {};
        struct sigaction sa = { .sa_handler = on_stats_signal };
        bool once = arg_no_stream || arg_json, redraw;
        int r;

        /* ^C ends the stream; the last table stays on the screen. Caught from the start: a signal
         * before the handler is set would end us uncleanly (or be ignored, in a background job). */
        (void) sigaction(SIGINT, &sa, NULL);
        (void) sigaction(SIGTERM, &sa, NULL);

        r = ctl_bus_open(&bus);
        if (r < 0)
                return r;
        c.bus = bus;
        c.host_memory = read_host_memory();
        c.by_name = argc > 0;

        for (int i = 0; i < argc && !stats_interrupted; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_free_ char *path = NULL;

                if (entry_find(&c, argv[i]))
                        continue;
                r = container_get_path(bus, argv[i], &error, &path);
                if (r < 0)
                        return log_bus_error(r, &error, "Failed to get container");
                if (entry_add(&c, argv[i], path) < 0)
                        return log_oom();
        }

        /* CPU % needs two samples: the first table comes after a short one */
        r = stats_sample_all(&c);
        if (r < 0)
                return r;
        stats_sleep(STATS_FIRST_INTERVAL_USEC);

        redraw = !once && isatty(STDOUT_FILENO);
        for (;;) {
                if (stats_interrupted)
                        return 0;
                r = stats_sample_all(&c);
                if (r < 0)
                        return r;
                if (arg_json)
                        return stats_print_json(&c);
                r = stats_print_table(&c, redraw);
                if (r < 0 || once)
                        return r;
                stats_sleep(STATS_INTERVAL_USEC);
        }
}
