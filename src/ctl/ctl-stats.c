/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "ctl-stats.h"
#include "string-util.h"

double stats_cpu_percent(const StatsSample *prev, const StatsSample *cur) {
        uint64_t dt, dc;

        if (!prev || !cur || prev->timestamp_usec == 0 || cur->timestamp_usec <= prev->timestamp_usec)
                return -1;
        if (prev->cpu_usage_nsec == UINT64_MAX || cur->cpu_usage_nsec == UINT64_MAX ||
            cur->cpu_usage_nsec < prev->cpu_usage_nsec)
                return -1;
        dt = cur->timestamp_usec - prev->timestamp_usec;
        dc = cur->cpu_usage_nsec - prev->cpu_usage_nsec;
        return (double) dc / ((double) dt * 1000.0) * 100.0;
}

uint64_t stats_memory_limit(uint64_t memory_max, uint64_t host_total) {
        /* a limit above the host's memory is no limit in practice: docker shows the smaller */
        if (memory_max != UINT64_MAX && (host_total == UINT64_MAX || memory_max < host_total))
                return memory_max;
        return host_total;
}

double stats_memory_percent(uint64_t usage, uint64_t limit) {
        if (usage == UINT64_MAX || limit == UINT64_MAX || limit == 0)
                return -1;
        return (double) usage / (double) limit * 100.0;
}

static char *format_custom(char *buf, size_t l, uint64_t b, double base, const char *const *units) {
        double v = (double) b;
        size_t i = 0;

        if (b == UINT64_MAX) {
                snprintf(buf, l, "-");
                return buf;
        }
        while (v >= base && units[i + 1]) {
                v /= base;
                i++;
        }
        snprintf(buf, l, "%.4g%s", v, units[i]);
        return buf;
}

char *format_bytes_iec(char *buf, size_t l, uint64_t b) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", NULL };
        return format_custom(buf, l, b, 1024.0, units);
}

char *format_bytes_si(char *buf, size_t l, uint64_t b) {
        static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", NULL };
        return format_custom(buf, l, b, 1000.0, units);
}

char *format_percent(char *buf, size_t l, double p) {
        if (p < 0)
                snprintf(buf, l, "-");
        else
                snprintf(buf, l, "%.2f%%", p);
        return buf;
}

Table *stats_table_new(void) {
        return table_new("NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "BLOCK I/O");
}

int stats_table_add(
        Table *t, const char *name, const StatsSample *prev, const StatsSample *cur, uint64_t host_total) {
        char cpu[16], a[FORMAT_STATS_BYTES_MAX], b[FORMAT_STATS_BYTES_MAX],
                mem[2 * FORMAT_STATS_BYTES_MAX + 4], memp[16], pids[24], io[2 * FORMAT_STATS_BYTES_MAX + 4];
        uint64_t limit;

        if (!cur || cur->timestamp_usec == 0)
                return table_add_row(t, name, NULL, NULL, NULL, NULL, NULL);

        limit = stats_memory_limit(cur->memory_max, host_total);
        format_percent(cpu, sizeof cpu, stats_cpu_percent(prev, cur));
        snprintf(
                mem,
                sizeof mem,
                "%s / %s",
                format_bytes_iec(a, sizeof a, cur->memory_current),
                format_bytes_iec(b, sizeof b, limit));
        format_percent(memp, sizeof memp, stats_memory_percent(cur->memory_current, limit));
        if (cur->tasks_current == UINT64_MAX)
                snprintf(pids, sizeof pids, "-");
        else
                snprintf(pids, sizeof pids, "%" PRIu64, cur->tasks_current);
        snprintf(
                io,
                sizeof io,
                "%s / %s",
                format_bytes_si(a, sizeof a, cur->io_read_bytes),
                format_bytes_si(b, sizeof b, cur->io_write_bytes));

        return table_add_row(t, name, cpu, mem, memp, pids, io);
}

static struct json_object *u64_or_null(uint64_t v) {
        return v == UINT64_MAX ? NULL : json_object_new_uint64(v);
}

static struct json_object *double_or_null(double v) {
        /* two decimals, as the table shows: "12.34" rather than 12.339999999 */
        char buf[32];

        if (v < 0)
                return NULL;
        snprintf(buf, sizeof buf, "%.2f", v);
        return json_object_new_double_s(v, buf);
}

int stats_to_json(
        const char *name,
        const char *id,
        const StatsSample *prev,
        const StatsSample *cur,
        uint64_t host_total,
        struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL;
        StatsSample none = STATS_SAMPLE_NULL;
        const StatsSample *s = cur && cur->timestamp_usec > 0 ? cur : &none;
        uint64_t limit = s == &none ? UINT64_MAX : stats_memory_limit(s->memory_max, host_total);
        struct {
                const char *key;
                struct json_object *value;
                bool nullable;
        } fields[] = {
                { "name", json_object_new_string(name), false },
                { "id", id ? json_object_new_string(id) : NULL, true },
                { "cpu_percent", double_or_null(s == &none ? -1 : stats_cpu_percent(prev, s)), true },
                { "cpu_usage_nsec", u64_or_null(s->cpu_usage_nsec), true },
                { "memory_usage", u64_or_null(s->memory_current), true },
                { "memory_limit", u64_or_null(limit), true },
                { "memory_max", u64_or_null(s->memory_max), true },
                { "memory_percent", double_or_null(stats_memory_percent(s->memory_current, limit)), true },
                { "pids", u64_or_null(s->tasks_current), true },
                { "pids_limit", u64_or_null(s->tasks_max), true },
                { "block_read", u64_or_null(s->io_read_bytes), true },
                { "block_write", u64_or_null(s->io_write_bytes), true },
        };
        int r = 0;

        o = json_object_new_object();
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (r == 0 && (!o || (!fields[i].value && !fields[i].nullable)))
                        r = -ENOMEM;
                if (r == 0 && json_object_object_add(o, fields[i].key, fields[i].value) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        json_object_put(fields[i].value);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

uint64_t meminfo_total(const char *text) {
        const char *p;
        uint64_t kb;

        if (!text)
                return UINT64_MAX;
        for (p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
                if (startswith(p, "MemTotal:")) {
                        if (sscanf(p + 9, "%" SCNu64, &kb) != 1 || kb > UINT64_MAX / 1024)
                                return UINT64_MAX;
                        return kb * 1024;
                }
        return UINT64_MAX;
}
