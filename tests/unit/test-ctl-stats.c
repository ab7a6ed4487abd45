/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/ctl/ctl-stats.c and output.c (in vesselctl_lib), src/shared and json-c. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-stats.h"
#include "output.h"
#include "string-util.h"

#define MSEC UINT64_C(1000)
#define SEC UINT64_C(1000000)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* no libm: criterion's ieee_ulp_eq needs nextafter() */
static bool approx(double a, double b) {
        double d = a - b;
        return (d < 0 ? -d : d) < 1e-9;
}

static StatsSample sample(uint64_t t, uint64_t cpu_nsec) {
        StatsSample s = STATS_SAMPLE_NULL;

        s.timestamp_usec = t;
        s.cpu_usage_nsec = cpu_nsec;
        return s;
}

Test(ctl_stats, computes_cpu_percent_from_deltas) {
        StatsSample a = sample(10 * SEC, 5000000000ULL), b = sample(11 * SEC, 5500000000ULL);

        /* 0.5 s of CPU in 1 s */
        cr_assert(approx(stats_cpu_percent(&a, &b), 50.0));

        /* two CPUs busy for 0.5 s */
        b = sample(10 * SEC + 500 * MSEC, 6000000000ULL);
        cr_assert(approx(stats_cpu_percent(&a, &b), 200.0));

        b = sample(12 * SEC, 5000000000ULL);
        cr_assert(approx(stats_cpu_percent(&a, &b), 0.0));
}

Test(ctl_stats, knows_when_cpu_percent_is_unknown) {
        StatsSample none = STATS_SAMPLE_NULL, a = sample(10 * SEC, 5000), b = sample(11 * SEC, 9000);
        StatsSample back = sample(11 * SEC, 10), same_time = sample(10 * SEC, 9000),
                    unknown = sample(11 * SEC, UINT64_MAX);

        cr_assert(lt(dbl, stats_cpu_percent(NULL, &b), 0.0));
        cr_assert(lt(dbl, stats_cpu_percent(&none, &b), 0.0));
        cr_assert(lt(dbl, stats_cpu_percent(&a, &back), 0.0)); /* restarted */
        cr_assert(lt(dbl, stats_cpu_percent(&a, &same_time), 0.0));
        cr_assert(lt(dbl, stats_cpu_percent(&a, &unknown), 0.0));
        cr_assert(lt(dbl, stats_cpu_percent(&unknown, &b), 0.0));
}

Test(ctl_stats, picks_the_memory_limit) {
        cr_assert(eq(u64, stats_memory_limit(64 * MiB, 16 * GiB), 64 * MiB));
        cr_assert(eq(u64, stats_memory_limit(UINT64_MAX, 16 * GiB), 16 * GiB));
        cr_assert(eq(u64, stats_memory_limit(32 * GiB, 16 * GiB), 16 * GiB));
        cr_assert(eq(u64, stats_memory_limit(64 * MiB, UINT64_MAX), 64 * MiB));
        cr_assert(eq(u64, stats_memory_limit(UINT64_MAX, UINT64_MAX), UINT64_MAX));
}

Test(ctl_stats, computes_memory_percent) {
        cr_assert(approx(stats_memory_percent(16 * MiB, 64 * MiB), 25.0));
        cr_assert(lt(dbl, stats_memory_percent(UINT64_MAX, 64 * MiB), 0.0));
        cr_assert(lt(dbl, stats_memory_percent(16 * MiB, UINT64_MAX), 0.0));
        cr_assert(lt(dbl, stats_memory_percent(16 * MiB, 0), 0.0));
}

Test(ctl_stats, formats_sizes_as_docker_does) {
        char buf[FORMAT_STATS_BYTES_MAX];

        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 0), "0B"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 1023), "1023B"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 1024), "1KiB"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 1601105), "1.527MiB"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 64 * MiB), "64MiB"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, 16696254464ULL), "15.55GiB"));
        cr_assert(eq(str, format_bytes_iec(buf, sizeof buf, UINT64_MAX), "-"));

        cr_assert(eq(str, format_bytes_si(buf, sizeof buf, 0), "0B"));
        cr_assert(eq(str, format_bytes_si(buf, sizeof buf, 999), "999B"));
        cr_assert(eq(str, format_bytes_si(buf, sizeof buf, 1000), "1kB"));
        cr_assert(eq(str, format_bytes_si(buf, sizeof buf, 12300000), "12.3MB"));
        cr_assert(eq(str, format_bytes_si(buf, sizeof buf, UINT64_MAX), "-"));
}

Test(ctl_stats, formats_percent) {
        char buf[16];

        cr_assert(eq(str, format_percent(buf, sizeof buf, 0), "0.00%"));
        cr_assert(eq(str, format_percent(buf, sizeof buf, 12.3456), "12.35%"));
        cr_assert(eq(str, format_percent(buf, sizeof buf, 250), "250.00%"));
        cr_assert(eq(str, format_percent(buf, sizeof buf, -1), "-"));
}

static char *table_text(Table *t) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        cr_assert(eq(int, table_print(t, f), 0));
        fclose(f);
        return s;
}

Test(ctl_stats, fills_the_table) {
        _cleanup_(table_freep) Table *t = stats_table_new();
        _cleanup_free_ char *s = NULL;
        StatsSample a = sample(SEC, 0), b = sample(2 * SEC, 250000000), gone = STATS_SAMPLE_NULL;

        b.memory_current = 16 * MiB;
        b.memory_max = 64 * MiB;
        b.tasks_current = 3;
        b.io_read_bytes = 1000;
        b.io_write_bytes = 2500000;

        cr_assert(not(eq(ptr, t, NULL)));
        cr_assert(eq(int, stats_table_add(t, "web", &a, &b, 16 * GiB), 0));
        cr_assert(eq(int, stats_table_add(t, "gone", NULL, &gone, 16 * GiB), 0));
        s = table_text(t);
        cr_assert(
                eq(str,
                   s,
                   "NAME CPU %  MEM USAGE / LIMIT MEM %  PIDS BLOCK I/O\n"
                   "web  25.00% 16MiB / 64MiB     25.00% 3    1kB / 2.5MB\n"
                   "gone -      -                 -      -    -\n"));
}

Test(ctl_stats, shows_unknown_figures_as_dashes) {
        _cleanup_(table_freep) Table *t = stats_table_new();
        _cleanup_free_ char *s = NULL;
        StatsSample b = sample(2 * SEC, UINT64_MAX);

        cr_assert(eq(int, stats_table_add(t, "x", NULL, &b, 2 * GiB), 0));
        s = table_text(t);
        cr_assert(
                eq(str,
                   s,
                   "NAME CPU % MEM USAGE / LIMIT MEM % PIDS BLOCK I/O\n"
                   "x    -     - / 2GiB          -     -    - / -\n"));
}

Test(ctl_stats, builds_json_with_nulls_for_the_unknown) {
        _cleanup_json_ struct json_object *o = NULL, *g = NULL;
        StatsSample a = sample(SEC, 0), b = sample(2 * SEC, 500000000), gone = STATS_SAMPLE_NULL;

        b.memory_current = 16 * MiB;
        b.tasks_current = 2;
        b.tasks_max = 100;

        cr_assert(eq(int, stats_to_json("web", "0123456789abcdef0123456789abcdef", &a, &b, GiB, &o), 0));
        cr_assert(eq(str, (char *) json_object_get_string(json_object_object_get(o, "name")), "web"));
        cr_assert(approx(json_object_get_double(json_object_object_get(o, "cpu_percent")), 50.0));
        cr_assert(eq(u64, json_object_get_uint64(json_object_object_get(o, "cpu_usage_nsec")), 500000000));
        cr_assert(eq(u64, json_object_get_uint64(json_object_object_get(o, "memory_usage")), 16 * MiB));
        cr_assert(eq(u64, json_object_get_uint64(json_object_object_get(o, "memory_limit")), GiB));
        cr_assert(approx(json_object_get_double(json_object_object_get(o, "memory_percent")), 1.5625));
        cr_assert(eq(u64, json_object_get_uint64(json_object_object_get(o, "pids")), 2));
        cr_assert(eq(u64, json_object_get_uint64(json_object_object_get(o, "pids_limit")), 100));
        /* present, and null */
        cr_assert(json_object_object_get_ex(o, "memory_max", NULL));
        cr_assert(eq(ptr, json_object_object_get(o, "memory_max"), NULL));
        cr_assert(eq(ptr, json_object_object_get(o, "block_read"), NULL));
        cr_assert(eq(int, json_object_object_length(o), 12));

        cr_assert(eq(int, stats_to_json("gone", NULL, NULL, &gone, GiB, &g), 0));
        cr_assert(eq(ptr, json_object_object_get(g, "cpu_percent"), NULL));
        cr_assert(eq(ptr, json_object_object_get(g, "memory_limit"), NULL));
        cr_assert(eq(ptr, json_object_object_get(g, "id"), NULL));
}

Test(ctl_stats, reads_meminfo) {
        cr_assert(
                eq(u64,
                   meminfo_total("MemTotal:       16305424 kB\nMemFree: 1 kB\n"),
                   UINT64_C(16305424) * 1024));
        cr_assert(eq(u64, meminfo_total("MemFree: 1 kB\nMemTotal: 2 kB\n"), 2048));
        cr_assert(eq(u64, meminfo_total("MemFree: 1 kB\n"), UINT64_MAX));
        cr_assert(eq(u64, meminfo_total(""), UINT64_MAX));
        cr_assert(eq(u64, meminfo_total(NULL), UINT64_MAX));
}
