/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define TiB (UINT64_C(1) << 40)

static uint64_t size_ok(const char *s) {
        uint64_t v = 0;
        int r;

        r = parse_size(s, &v);
        cr_assert(eq(int, r, 0), "parse_size(\"%s\") failed: %d", s, r);
        return v;
}

static int size_err(const char *s) {
        uint64_t v = 4711;
        int r;

        r = parse_size(s, &v);
        cr_assert(lt(int, r, 0), "parse_size(\"%s\") succeeded", s);
        cr_assert(eq(u64, v, 4711), "parse_size(\"%s\") wrote ret on failure", s);
        return r;
}

static uint64_t sec_ok(const char *s) {
        uint64_t v = 0;
        int r;

        r = parse_sec(s, &v);
        cr_assert(eq(int, r, 0), "parse_sec(\"%s\") failed: %d", s, r);
        return v;
}

static int sec_err(const char *s) {
        uint64_t v = 4711;
        int r;

        r = parse_sec(s, &v);
        cr_assert(lt(int, r, 0), "parse_sec(\"%s\") succeeded", s);
        cr_assert(eq(u64, v, 4711), "parse_sec(\"%s\") wrote ret on failure", s);
        return r;
}

/* parse_size() */

Test(parse_size, reads_bare_numbers_as_bytes) {
        cr_assert(eq(u64, size_ok("0"), 0));
        cr_assert(eq(u64, size_ok("1"), 1));
        cr_assert(eq(u64, size_ok("1024"), 1024));
}

Test(parse_size, reads_suffixes_in_either_case_base_1024) {
        cr_assert(eq(u64, size_ok("1k"), KiB));
        cr_assert(eq(u64, size_ok("1K"), KiB));
        cr_assert(eq(u64, size_ok("512m"), 512ULL << 20));
        cr_assert(eq(u64, size_ok("512M"), 512ULL << 20));
        cr_assert(eq(u64, size_ok("2g"), 2 * GiB));
        cr_assert(eq(u64, size_ok("2G"), 2 * GiB));
        cr_assert(eq(u64, size_ok("3t"), 3 * TiB));
        cr_assert(eq(u64, size_ok("3T"), 3 * TiB));
}

Test(parse_size, reads_fractions_exactly) {
        cr_assert(eq(u64, size_ok("1.5g"), GiB + GiB / 2));
        cr_assert(eq(u64, size_ok("0.5k"), 512));
        cr_assert(eq(u64, size_ok(".5M"), MiB / 2));
        cr_assert(eq(u64, size_ok("0.25T"), TiB / 4));
        cr_assert(eq(u64, size_ok("1.000000001G"), GiB + 1));
}

Test(parse_size, accepts_byte_suffixes) {
        cr_assert(eq(u64, size_ok("512MiB"), 512ULL << 20));
        cr_assert(eq(u64, size_ok("512mb"), 512ULL << 20));
        cr_assert(eq(u64, size_ok("512MB"), 512ULL << 20));
        cr_assert(eq(u64, size_ok("4KiB"), 4 * KiB));
        cr_assert(eq(u64, size_ok("1GiB"), GiB));
        cr_assert(eq(u64, size_ok("100b"), 100));
        cr_assert(eq(u64, size_ok("100B"), 100));
}

Test(parse_size, rejects_negative_numbers) {
        cr_assert(eq(int, size_err("-1"), -EINVAL));
        cr_assert(eq(int, size_err("-1M"), -EINVAL));
}

Test(parse_size, rejects_unknown_suffixes) {
        cr_assert(eq(int, size_err("1x"), -EINVAL));
        cr_assert(eq(int, size_err("1P"), -EINVAL));
        cr_assert(eq(int, size_err("1Mx"), -EINVAL));
        cr_assert(eq(int, size_err("1iB"), -EINVAL));
        cr_assert(eq(int, size_err("1MiBB"), -EINVAL));
        cr_assert(eq(int, size_err("1 M"), -EINVAL));
        cr_assert(eq(int, size_err("1M "), -EINVAL));
}

Test(parse_size, rejects_a_suffix_without_number) {
        cr_assert(eq(int, size_err("m"), -EINVAL));
        cr_assert(eq(int, size_err("."), -EINVAL));
        cr_assert(eq(int, size_err("1."), -EINVAL));
        cr_assert(eq(int, size_err(".M"), -EINVAL));
}

Test(parse_size, rejects_empty) {
        cr_assert(eq(int, size_err(""), -EINVAL));
        cr_assert(eq(int, size_err(NULL), -EINVAL));
}

Test(parse_size, accepts_the_largest_value) {
        cr_assert(eq(u64, size_ok("18446744073709551615"), UINT64_MAX));
        cr_assert(eq(u64, size_ok("16777215T"), 16777215 * TiB));
}

Test(parse_size, rejects_overflow_with_erange) {
        cr_assert(eq(int, size_err("16777216T"), -ERANGE));
        cr_assert(eq(int, size_err("17179869184G"), -ERANGE));
        cr_assert(eq(int, size_err("18446744073709551616"), -ERANGE));
        cr_assert(eq(int, size_err("99999999999999999999999"), -ERANGE));
}

/* parse_sec() */

Test(parse_sec, reads_seconds) {
        cr_assert(eq(u64, sec_ok("10s"), 10 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("10 s"), 10 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("10sec"), 10 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1second"), USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("2seconds"), 2 * USEC_PER_SEC));
}

Test(parse_sec, reads_a_bare_number_as_seconds) {
        cr_assert(eq(u64, sec_ok("5"), 5 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("0"), 0));
}

Test(parse_sec, reads_sub_second_units) {
        cr_assert(eq(u64, sec_ok("500ms"), 500 * USEC_PER_MSEC));
        cr_assert(eq(u64, sec_ok("500msec"), 500 * USEC_PER_MSEC));
        cr_assert(eq(u64, sec_ok("250us"), 250));
        cr_assert(eq(u64, sec_ok("250usec"), 250));
        cr_assert(eq(u64, sec_ok("250\xc2\xb5s"), 250));
}

Test(parse_sec, reads_minutes_hours_and_days) {
        cr_assert(eq(u64, sec_ok("2m"), 120 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("2min"), 120 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1minute"), 60 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("3minutes"), 180 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("2h"), 2 * 3600 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("2hr"), 2 * 3600 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1hour"), 3600 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("2hours"), 2 * 3600 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1d"), 86400 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1day"), 86400 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("7days"), 7 * 86400 * USEC_PER_SEC));
}

Test(parse_sec, adds_up_several_parts) {
        cr_assert(eq(u64, sec_ok("1min 30s"), 90 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1min30s"), 90 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1m30s"), 90 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1h 1min 1s 1ms 1us"), 3661 * USEC_PER_SEC + USEC_PER_MSEC + 1));
        cr_assert(eq(u64, sec_ok(" 2 hours\t5 min "), (2 * 3600 + 300) * USEC_PER_SEC));
}

Test(parse_sec, reads_fractions) {
        cr_assert(eq(u64, sec_ok("1.5s"), 1500 * USEC_PER_MSEC));
        cr_assert(eq(u64, sec_ok("0.5"), 500 * USEC_PER_MSEC));
        cr_assert(eq(u64, sec_ok("1.5min"), 90 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok(".25h"), 900 * USEC_PER_SEC));
        cr_assert(eq(u64, sec_ok("1.5ms"), 1500));
}

Test(parse_sec, reads_infinity) {
        cr_assert(eq(u64, sec_ok("infinity"), USEC_INFINITY));
}

Test(parse_sec, rejects_words) {
        cr_assert(eq(int, sec_err("abc"), -EINVAL));
        cr_assert(eq(int, sec_err("s"), -EINVAL));
        cr_assert(eq(int, sec_err("Infinity"), -EINVAL));
}

Test(parse_sec, rejects_unknown_units) {
        cr_assert(eq(int, sec_err("10 parsecs"), -EINVAL));
        cr_assert(eq(int, sec_err("10x"), -EINVAL));
        cr_assert(eq(int, sec_err("10sx"), -EINVAL));
        cr_assert(eq(int, sec_err("10mins"), -EINVAL));
        cr_assert(eq(int, sec_err("10s,"), -EINVAL));
        cr_assert(eq(int, sec_err("1min 30 parsecs"), -EINVAL));
}

Test(parse_sec, rejects_negative_empty_and_blank) {
        cr_assert(eq(int, sec_err("-5s"), -EINVAL));
        cr_assert(eq(int, sec_err(""), -EINVAL));
        cr_assert(eq(int, sec_err(NULL), -EINVAL));
        cr_assert(eq(int, sec_err("   "), -EINVAL));
        cr_assert(eq(int, sec_err("1.s"), -EINVAL));
}

Test(parse_sec, keeps_finite_spans_below_infinity) {
        cr_assert(eq(u64, sec_ok("18446744073709551614us"), USEC_INFINITY - 1));
        cr_assert(eq(int, sec_err("18446744073709551615us"), -ERANGE));
        cr_assert(eq(int, sec_err("18446744073709551614us 1us"), -ERANGE));
        cr_assert(eq(int, sec_err("300000000000000d"), -ERANGE));
}

/* parse_cpus() */

static uint64_t cpus_ok(const char *s) {
        uint64_t v = 0;
        int r;

        r = parse_cpus(s, &v);
        cr_assert(eq(int, r, 0), "parse_cpus(\"%s\") failed: %d", s, r);
        return v;
}

static int cpus_err(const char *s) {
        uint64_t v = 4711;
        int r;

        r = parse_cpus(s, &v);
        cr_assert(lt(int, r, 0), "parse_cpus(\"%s\") succeeded", s);
        cr_assert(eq(u64, v, 4711));
        return r;
}

Test(parse_cpus, converts_cpus_to_quota_per_second) {
        cr_assert(eq(u64, cpus_ok("0.5"), 500000));
        cr_assert(eq(u64, cpus_ok("2"), 2000000));
        cr_assert(eq(u64, cpus_ok("1"), 1000000));
        cr_assert(eq(u64, cpus_ok("1.25"), 1250000));
        cr_assert(eq(u64, cpus_ok(".5"), 500000));
        cr_assert(eq(u64, cpus_ok("64"), 64000000));
}

Test(parse_cpus, accepts_one_millisecond_per_second) {
        cr_assert(eq(u64, cpus_ok("0.001"), 1000));
}

Test(parse_cpus, rejects_zero_and_less_than_one_millisecond) {
        cr_assert(eq(int, cpus_err("0"), -ERANGE));
        cr_assert(eq(int, cpus_err("0.0"), -ERANGE));
        cr_assert(eq(int, cpus_err("0.0009"), -ERANGE));
}

Test(parse_cpus, rejects_negative_words_and_empty) {
        cr_assert(eq(int, cpus_err("-1"), -EINVAL));
        cr_assert(eq(int, cpus_err("abc"), -EINVAL));
        cr_assert(eq(int, cpus_err("1.5x"), -EINVAL));
        cr_assert(eq(int, cpus_err("1 "), -EINVAL));
        cr_assert(eq(int, cpus_err(""), -EINVAL));
        cr_assert(eq(int, cpus_err(NULL), -EINVAL));
}

Test(parse_cpus, rejects_overflow) {
        cr_assert(eq(int, cpus_err("99999999999999999"), -ERANGE));
}

/* parse_cpuset(), format_cpuset() */

Test(parse_cpuset, sets_one_bit_per_cpu) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("0-3,5", &mask, &size), 0));
        cr_assert(eq(sz, size, 1));
        cr_assert(eq(u8, mask[0], 0x2f));
}

Test(parse_cpuset, sizes_the_mask_for_the_highest_cpu) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("8", &mask, &size), 0));
        cr_assert(eq(sz, size, 2));
        cr_assert(eq(u8, mask[0], 0x00));
        cr_assert(eq(u8, mask[1], 0x01));
}

Test(parse_cpuset, reads_single_cpus) {
        _cleanup_free_ uint8_t *a = NULL, *b = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("0", &a, &size), 0));
        cr_assert(eq(sz, size, 1));
        cr_assert(eq(u8, a[0], 0x01));

        cr_assert(eq(int, parse_cpuset("7", &b, &size), 0));
        cr_assert(eq(sz, size, 1));
        cr_assert(eq(u8, b[0], 0x80));
}

Test(parse_cpuset, grows_the_mask_when_a_later_cpu_is_higher) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("1,17,9", &mask, &size), 0));
        cr_assert(eq(sz, size, 3));
        cr_assert(eq(u8, mask[0], 0x02));
        cr_assert(eq(u8, mask[1], 0x02));
        cr_assert(eq(u8, mask[2], 0x02));
}

Test(parse_cpuset, merges_overlapping_ranges) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("0-3,2-5,1-1", &mask, &size), 0));
        cr_assert(eq(sz, size, 1));
        cr_assert(eq(u8, mask[0], 0x3f));
}

Test(parse_cpuset, reads_ranges_across_bytes) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("6-9", &mask, &size), 0));
        cr_assert(eq(sz, size, 2));
        cr_assert(eq(u8, mask[0], 0xc0));
        cr_assert(eq(u8, mask[1], 0x03));
}

Test(parse_cpuset, accepts_the_highest_cpu) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("0-8191", &mask, &size), 0));
        cr_assert(eq(sz, size, 1024));
        for (size_t i = 0; i < size; i++)
                cr_assert(eq(u8, mask[i], 0xff));
}

static int cpuset_err(const char *s) {
        uint8_t *mask = NULL;
        size_t size = 4711;
        int r;

        r = parse_cpuset(s, &mask, &size);
        cr_assert(lt(int, r, 0), "parse_cpuset(\"%s\") succeeded", s);
        cr_assert(zero(ptr, mask));
        cr_assert(eq(sz, size, 4711));
        return r;
}

Test(parse_cpuset, rejects_reversed_ranges) {
        cr_assert(eq(int, cpuset_err("3-1"), -ERANGE));
}

Test(parse_cpuset, rejects_cpus_beyond_8191) {
        cr_assert(eq(int, cpuset_err("8192"), -ERANGE));
        cr_assert(eq(int, cpuset_err("0-8192"), -ERANGE));
        cr_assert(eq(int, cpuset_err("99999999999999999999999"), -ERANGE));
}

Test(parse_cpuset, rejects_malformed_lists) {
        cr_assert(eq(int, cpuset_err("a"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1,"), -EINVAL));
        cr_assert(eq(int, cpuset_err(",1"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1,,2"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1-"), -EINVAL));
        cr_assert(eq(int, cpuset_err("-1"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1--2"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1 2"), -EINVAL));
        cr_assert(eq(int, cpuset_err("1-2x"), -EINVAL));
        cr_assert(eq(int, cpuset_err(""), -EINVAL));
        cr_assert(eq(int, cpuset_err(NULL), -EINVAL));
}

static void assert_cpuset_round_trip(const char *s) {
        _cleanup_free_ uint8_t *mask = NULL;
        _cleanup_free_ char *out = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset(s, &mask, &size), 0), "parse_cpuset(\"%s\") failed", s);
        cr_assert(eq(int, format_cpuset(mask, size, &out), 0));
        cr_assert(eq(str, out, (char *) s));
}

Test(format_cpuset, round_trips_canonical_lists) {
        assert_cpuset_round_trip("0-3,5");
        assert_cpuset_round_trip("0");
        assert_cpuset_round_trip("7");
        assert_cpuset_round_trip("8");
        assert_cpuset_round_trip("1,3,5");
        assert_cpuset_round_trip("6-9");
        assert_cpuset_round_trip("2,4-7,9-15,64");
        assert_cpuset_round_trip("0-8191");
        assert_cpuset_round_trip("0,2,4,6,8,10,12,14,16,8190");
}

Test(format_cpuset, joins_adjacent_cpus_into_ranges) {
        _cleanup_free_ uint8_t *mask = NULL;
        _cleanup_free_ char *out = NULL;
        size_t size = 0;

        cr_assert(eq(int, parse_cpuset("3,0,1,2,5", &mask, &size), 0));
        cr_assert(eq(int, format_cpuset(mask, size, &out), 0));
        cr_assert(eq(str, out, "0-3,5"));
}

Test(format_cpuset, formats_an_empty_mask_as_empty_string) {
        static const uint8_t zeros[4] = {};
        _cleanup_free_ char *a = NULL, *b = NULL;

        cr_assert(eq(int, format_cpuset(zeros, sizeof zeros, &a), 0));
        cr_assert(eq(str, a, ""));
        cr_assert(eq(int, format_cpuset(NULL, 0, &b), 0));
        cr_assert(eq(str, b, ""));
}

Test(format_cpuset, formats_every_other_cpu_of_a_full_mask) {
        uint8_t mask[1024];
        _cleanup_free_ char *out = NULL;
        _cleanup_free_ uint8_t *back = NULL;
        size_t size = 0;

        /* the longest output: 4096 separate CPUs */
        memset(mask, 0x55, sizeof mask);
        cr_assert(eq(int, format_cpuset(mask, sizeof mask, &out), 0));
        cr_assert(eq(int, parse_cpuset(out, &back, &size), 0));
        cr_assert(eq(sz, size, sizeof mask));
        cr_assert(eq(int, memcmp(back, mask, sizeof mask), 0));
}

/* parse_signal(), signal_to_name() */

Test(parse_signal, reads_names_with_and_without_sig_in_any_case) {
        cr_assert(eq(int, parse_signal("SIGTERM"), SIGTERM));
        cr_assert(eq(int, parse_signal("TERM"), SIGTERM));
        cr_assert(eq(int, parse_signal("term"), SIGTERM));
        cr_assert(eq(int, parse_signal("sigterm"), SIGTERM));
        cr_assert(eq(int, parse_signal("SigKill"), SIGKILL));
        cr_assert(eq(int, parse_signal("HUP"), SIGHUP));
        cr_assert(eq(int, parse_signal("SIGWINCH"), SIGWINCH));
        cr_assert(eq(int, parse_signal("SIGSYS"), SIGSYS));
}

Test(parse_signal, reads_numbers) {
        cr_assert(eq(int, parse_signal("15"), SIGTERM));
        cr_assert(eq(int, parse_signal("1"), 1));
        cr_assert(eq(int, parse_signal("64"), 64));
}

Test(parse_signal, reads_real_time_signals) {
        char buf[32];

        cr_assert(eq(int, parse_signal("RTMIN+2"), SIGRTMIN + 2));
        cr_assert(eq(int, parse_signal("SIGRTMIN+2"), SIGRTMIN + 2));
        cr_assert(eq(int, parse_signal("rtmin+2"), SIGRTMIN + 2));
        cr_assert(eq(int, parse_signal("RTMIN"), SIGRTMIN));
        cr_assert(eq(int, parse_signal("RTMIN+0"), SIGRTMIN));

        snprintf(buf, sizeof buf, "RTMIN+%d", SIGRTMAX - SIGRTMIN);
        cr_assert(eq(int, parse_signal(buf), SIGRTMAX));
        snprintf(buf, sizeof buf, "RTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
        cr_assert(eq(int, parse_signal(buf), -ERANGE));
}

Test(parse_signal, rejects_numbers_out_of_range) {
        cr_assert(eq(int, parse_signal("0"), -ERANGE));
        cr_assert(eq(int, parse_signal("65"), -ERANGE));
        cr_assert(eq(int, parse_signal("-1"), -ERANGE));
        cr_assert(eq(int, parse_signal("99999999999"), -ERANGE));
}

Test(parse_signal, rejects_unknown_names) {
        cr_assert(eq(int, parse_signal("FOO"), -EINVAL));
        cr_assert(eq(int, parse_signal("SIGFOO"), -EINVAL));
        cr_assert(eq(int, parse_signal("SIG"), -EINVAL));
        cr_assert(eq(int, parse_signal("SIGTERMX"), -EINVAL));
        cr_assert(eq(int, parse_signal("15x"), -EINVAL));
        cr_assert(eq(int, parse_signal(""), -EINVAL));
        cr_assert(eq(int, parse_signal(NULL), -EINVAL));
}

Test(parse_signal, rejects_malformed_real_time_offsets) {
        cr_assert(eq(int, parse_signal("RTMIN+"), -EINVAL));
        cr_assert(eq(int, parse_signal("RTMIN+x"), -EINVAL));
        cr_assert(eq(int, parse_signal("RTMIN-1"), -EINVAL));
        cr_assert(eq(int, parse_signal("RTMINX"), -EINVAL));
        cr_assert(eq(int, parse_signal("RTMIN+-1"), -ERANGE));
}

Test(signal_to_name, names_standard_signals) {
        cr_assert(eq(str, (char *) signal_to_name(SIGTERM), "TERM"));
        cr_assert(eq(str, (char *) signal_to_name(SIGKILL), "KILL"));
        cr_assert(eq(str, (char *) signal_to_name(SIGHUP), "HUP"));
        cr_assert(eq(str, (char *) signal_to_name(SIGSYS), "SYS"));
}

Test(signal_to_name, returns_null_for_unnamed_signals) {
        cr_assert(zero(ptr, (void *) signal_to_name(0)));
        cr_assert(zero(ptr, (void *) signal_to_name(-1)));
        cr_assert(zero(ptr, (void *) signal_to_name(SIGRTMIN)));
        cr_assert(zero(ptr, (void *) signal_to_name(1000)));
}

Test(signal_to_name, round_trips_through_parse_signal) {
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *name = signal_to_name(sig);
                if (!name)
                        continue;
                cr_assert(eq(int, parse_signal(name), sig), "signal %d (%s)", sig, name);
        }
}

/* cpu_shares_to_weight() */

Test(cpu_shares_to_weight, converts_the_default_as_runc_does) {
        cr_assert(eq(u64, cpu_shares_to_weight(1024), 39));
        cr_assert(eq(u64, cpu_shares_to_weight(1024), 1 + ((1024 - 2) * 9999) / 262142));
}

Test(cpu_shares_to_weight, maps_the_bounds) {
        cr_assert(eq(u64, cpu_shares_to_weight(2), 1));
        cr_assert(eq(u64, cpu_shares_to_weight(262144), 10000));
}

Test(cpu_shares_to_weight, clamps_out_of_range_shares) {
        cr_assert(eq(u64, cpu_shares_to_weight(1), 1));
        cr_assert(eq(u64, cpu_shares_to_weight(262145), 10000));
        cr_assert(eq(u64, cpu_shares_to_weight(UINT64_MAX), 10000));
}

Test(cpu_shares_to_weight, is_monotonic_and_stays_in_range) {
        uint64_t prev = 0;

        for (uint64_t s = 2; s <= 262144; s++) {
                uint64_t w = cpu_shares_to_weight(s);
                cr_assert(ge(u64, w, prev));
                cr_assert(ge(u64, w, 1));
                cr_assert(le(u64, w, 10000));
                prev = w;
        }
}

/* safe_atou64(), safe_atoi() */

Test(safe_atou64, reads_unsigned_decimals) {
        uint64_t v = 0;

        cr_assert(eq(int, safe_atou64("0", &v), 0));
        cr_assert(eq(u64, v, 0));
        cr_assert(eq(int, safe_atou64("18446744073709551615", &v), 0));
        cr_assert(eq(u64, v, UINT64_MAX));
}

Test(safe_atou64, rejects_signs_garbage_and_overflow) {
        uint64_t v = 4711;

        cr_assert(eq(int, safe_atou64("-1", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64("+1", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64(" 1", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64("1 ", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64("0x10", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64("", &v), -EINVAL));
        cr_assert(eq(int, safe_atou64(NULL, &v), -EINVAL));
        cr_assert(eq(int, safe_atou64("18446744073709551616", &v), -ERANGE));
        cr_assert(eq(u64, v, 4711));
}

Test(safe_atoi, reads_signed_decimals) {
        int v = 0;

        cr_assert(eq(int, safe_atoi("-42", &v), 0));
        cr_assert(eq(int, v, -42));
        cr_assert(eq(int, safe_atoi("2147483647", &v), 0));
        cr_assert(eq(int, v, INT32_MAX));
        cr_assert(eq(int, safe_atoi("-2147483648", &v), 0));
        cr_assert(eq(int, v, INT32_MIN));
}

Test(safe_atoi, rejects_garbage) {
        int v = 4711;

        cr_assert(eq(int, safe_atoi("", &v), -EINVAL));
        cr_assert(eq(int, safe_atoi(NULL, &v), -EINVAL));
        cr_assert(eq(int, safe_atoi("1x", &v), -EINVAL));
        cr_assert(eq(int, safe_atoi("x", &v), -EINVAL));
        cr_assert(eq(int, v, 4711));
}

Test(safe_atoi, rejects_values_beyond_int_with_erange) {
        int v = 4711;

        cr_assert(eq(int, safe_atoi("2147483648", &v), -ERANGE));
        cr_assert(eq(int, safe_atoi("-2147483649", &v), -ERANGE));
        cr_assert(eq(int, safe_atoi("99999999999999999999", &v), -ERANGE));
        cr_assert(eq(int, v, 4711));
}

/* format_bytes() */

static void assert_bytes(uint64_t b, const char *expected) {
        char buf[FORMAT_BYTES_MAX];

        cr_assert(eq(ptr, format_bytes(buf, sizeof buf, b), buf));
        cr_assert(eq(str, buf, (char *) expected), "format_bytes(%" PRIu64 ")", b);
}

Test(format_bytes, prints_small_sizes_in_bytes) {
        assert_bytes(0, "0B");
        assert_bytes(300, "300B");
        assert_bytes(1023, "1023B");
}

Test(format_bytes, prints_one_decimal_with_a_binary_unit) {
        assert_bytes(1024, "1.0K");
        assert_bytes(1536, "1.5K");
        assert_bytes(512 * MiB, "512.0M");
        assert_bytes(GiB + GiB / 2, "1.5G");
        assert_bytes(TiB, "1.0T");
        assert_bytes(1024 * TiB, "1.0P");
        assert_bytes(1024 * 1024 * TiB, "1.0E");
}

Test(format_bytes, fits_the_largest_value_in_format_bytes_max) {
        assert_bytes(UINT64_MAX, "16.0E");
}

/* format_timespan() */

static void assert_timespan(uint64_t usec, const char *expected) {
        char buf[FORMAT_TIMESPAN_MAX];

        cr_assert(eq(ptr, format_timespan(buf, sizeof buf, usec), buf));
        cr_assert(eq(str, buf, (char *) expected), "format_timespan(%" PRIu64 ")", usec);
}

Test(format_timespan, prints_zero_and_infinity) {
        assert_timespan(0, "0");
        assert_timespan(USEC_INFINITY, "infinity");
}

Test(format_timespan, prints_a_single_unit) {
        assert_timespan(1, "1us");
        assert_timespan(250 * USEC_PER_MSEC, "250ms");
        assert_timespan(USEC_PER_SEC, "1s");
        assert_timespan(60 * USEC_PER_SEC, "1min");
        assert_timespan(2 * 3600 * USEC_PER_SEC, "2h");
        assert_timespan(86400 * USEC_PER_SEC, "1d");
}

Test(format_timespan, prints_the_two_largest_units) {
        assert_timespan(90 * USEC_PER_SEC, "1min 30s");
        assert_timespan(1500 * USEC_PER_MSEC, "1s 500ms");
        assert_timespan((86400 + 2 * 3600 + 3 * 60) * USEC_PER_SEC, "1d 2h");
        assert_timespan(3 * 3600 * USEC_PER_SEC + 59 * USEC_PER_SEC + 999, "3h 59s");
}

Test(format_timespan, round_trips_through_parse_sec) {
        static const uint64_t spans[] = {
                1, 999, USEC_PER_MSEC, 250 * USEC_PER_MSEC, 1500 * USEC_PER_MSEC, 90 * USEC_PER_SEC,
                3600 * USEC_PER_SEC, 7 * 86400 * USEC_PER_SEC, USEC_INFINITY,
        };

        for (size_t i = 0; i < ELEMENTSOF(spans); i++) {
                char buf[FORMAT_TIMESPAN_MAX];
                uint64_t back = 0;

                format_timespan(buf, sizeof buf, spans[i]);
                cr_assert(eq(int, parse_sec(buf, &back), 0), "parse_sec(\"%s\") failed", buf);
                cr_assert(eq(u64, back, spans[i]), "\"%s\"", buf);
        }
}

Test(format_timespan, exact_prints_every_unit_and_reads_back) {
        static const uint64_t spans[] = {
                0, 1, 90 * USEC_PER_SEC, (86400 + 2 * 3600 + 3 * 60 + 4) * USEC_PER_SEC + 5 * USEC_PER_MSEC + 6,
                UINT64_MAX - 1, USEC_INFINITY,
        };
        char buf[FORMAT_TIMESPAN_MAX];

        cr_assert(eq(str, format_timespan_exact(buf, sizeof buf, spans[3]), "1d 2h 3min 4s 5ms 6us"));
        cr_assert(eq(str, format_timespan_exact(buf, sizeof buf, spans[2]), "1min 30s"));
        for (size_t i = 0; i < ELEMENTSOF(spans); i++) {
                uint64_t back = 0;

                format_timespan_exact(buf, sizeof buf, spans[i]);
                cr_assert(eq(int, parse_sec(buf, &back), 0), "parse_sec(\"%s\") failed", buf);
                cr_assert(eq(u64, back, spans[i]), "\"%s\"", buf);
        }
}

/* A part that does not fit is left out whole: "1s 500" would read back as 501 s. */
Test(format_timespan, leaves_out_a_part_that_does_not_fit) {
        char buf[7], small[6];

        memset(buf, 'x', sizeof buf);
        format_timespan(buf, sizeof buf, 1500 * USEC_PER_MSEC);
        cr_assert(eq(str, buf, "1s"));

        memset(small, 'x', sizeof small);
        format_timespan(small, sizeof small, 90 * USEC_PER_SEC);
        cr_assert(eq(str, small, "1min"));
}
