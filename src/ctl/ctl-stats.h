/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "output.h"

struct json_object;

/* The pure parts of "vesselctl stats": figures from two samples, cells, JSON. */

/* One reading of a container's live figures; UINT64_MAX = unknown (as the properties have it). */
typedef struct StatsSample {
        uint64_t timestamp_usec; /* CLOCK_MONOTONIC when read; 0 = no sample */
        uint64_t cpu_usage_nsec;
        uint64_t memory_current, memory_max;
        uint64_t tasks_current, tasks_max;
        uint64_t io_read_bytes, io_write_bytes;
} StatsSample;

#define STATS_SAMPLE_NULL                                                                              \
        ((StatsSample) { 0, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, \
                         UINT64_MAX })

/* 100 × CPU time used / wall time passed between the samples (100% = one CPU busy, as docker stats
 * counts); < 0 when it cannot be known: no earlier sample, an unknown figure, no time passed, or a
 * counter that went back (the container restarted). */
double stats_cpu_percent(const StatsSample *prev, const StatsSample *cur);

/* The limit to show: the container's MemoryMax, else the host's memory (host_total, UINT64_MAX if
 * not known either). */
uint64_t stats_memory_limit(uint64_t memory_max, uint64_t host_total);

/* 100 × usage / limit; < 0 when either is unknown or the limit is 0. */
double stats_memory_percent(uint64_t usage, uint64_t limit);

/* Docker's sizes: "1.527MiB" (base 1024, four significant digits) for memory; "12.3MB" (base 1000)
 * for block I/O. "-" for UINT64_MAX. */
#define FORMAT_STATS_BYTES_MAX 24
char *format_bytes_iec(char *buf, size_t l, uint64_t b);
char *format_bytes_si(char *buf, size_t l, uint64_t b);

/* "12.34%", "-" for < 0 */
char *format_percent(char *buf, size_t l, double p);

/* The table's columns: NAME, CPU %, MEM USAGE / LIMIT, MEM %, PIDS, BLOCK I/O. prev may be NULL or
 * hold no sample (CPU % is then "-"); cur with timestamp_usec 0 (a container that went away) gives
 * a row of "-". */
Table *stats_table_new(void);
int stats_table_add(
        Table *t, const char *name, const StatsSample *prev, const StatsSample *cur, uint64_t host_total);

/* {"name", "id", "cpu_percent", "cpu_usage_nsec", "memory_usage", "memory_limit", "memory_max",
 * "memory_percent", "pids", "pids_limit", "block_read", "block_write"}; unknown figures are null. */
int stats_to_json(
        const char *name,
        const char *id,
        const StatsSample *prev,
        const StatsSample *cur,
        uint64_t host_total,
        struct json_object **ret);

/* MemTotal of /proc/meminfo's text, in bytes; UINT64_MAX if it is not there. */
uint64_t meminfo_total(const char *text);
