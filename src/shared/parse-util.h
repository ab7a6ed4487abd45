/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "512m", "1G", "1.5g", "1024" (bytes); K/M/G/T in either case, base 1024, an optional trailing
 * 'b'/'B' ("512mb"). */
int parse_size(const char *s, uint64_t *ret);

/* systemd's time spans: "10s", "500ms", "1min 30s", "2h", "1d", "250us"; a bare number is seconds. */
int parse_sec(const char *s, uint64_t *ret_usec);

/* Docker's --cpus: "0.5" → 500000 (CPUQuotaPerSecUSec). */
int parse_cpus(const char *s, uint64_t *ret_quota_per_sec_usec);

/* "0-3,5" → a bitmask as systemd's AllowedCPUs takes it (byte i bit j = cpu 8i+j). */
int parse_cpuset(const char *s, uint8_t **ret_mask, size_t *ret_size);
/* the reverse: "0-3,5" */
int format_cpuset(const uint8_t *mask, size_t size, char **ret);

/* "SIGTERM", "TERM", "term", "15". */
int parse_signal(const char *s);
const char *signal_to_name(int sig);

/* Docker's --cpu-shares, converted as runc and crun do: [2, 262144] → [1, 10000]. */
uint64_t cpu_shares_to_weight(uint64_t shares);

int safe_atou64(const char *s, uint64_t *ret);
int safe_atoi(const char *s, int *ret);

/* Human output: "1.5G", "512.0M", "300B"; "1min 30s", "250ms". */
char *format_bytes(char *buf, size_t l, uint64_t b);
char *format_timespan(char *buf, size_t l, uint64_t usec);
/* Every unit, down to us, as systemctl show prints spans: "1h 2min 3s 4us"; parse_sec() reads it
 * back to the same value (given FORMAT_TIMESPAN_MAX). */
char *format_timespan_exact(char *buf, size_t l, uint64_t usec);
#define FORMAT_BYTES_MAX 16
#define FORMAT_TIMESPAN_MAX 64
