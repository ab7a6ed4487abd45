/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Needs src/init/init-util.c compiled in: link_with vessel_init_util, include_directories init_inc
 * (both defined in src/init/meson.build). No other dependency. */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "init-util.h"

#define MEM(p, n) ((struct cr_mem) { .data = (p), .size = (n) })
#define STRMEM(s) MEM(s, sizeof(s) - 1)
#define ID "0123456789abcdef0123456789abcdef"

static int parse(InitArgs *ret, char *error, ...) {
        char *argv[32] = { (char *) "vessel-init" };
        va_list ap;
        int argc = 1;

        va_start(ap, error);
        for (char *a; (a = va_arg(ap, char *)); )
                argv[argc++] = a;
        va_end(ap);

        return init_args_parse(argc, argv, ret, error, INIT_ERROR_MAX);
}

#define PARSE(ret, error, ...) parse(ret, error, __VA_ARGS__, (char *) NULL)

Test(init_args, accepts_the_minimal_command_line) {
        char error[INIT_ERROR_MAX] = "";
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=7", "--status-fd=3"), 0));
        cr_assert(eq(int, a.app_pid, 7));
        cr_assert(eq(int, a.status_fd, 3));
        cr_assert(eq(int, a.journal_fd, -1));
        cr_assert(eq(int, a.stdout_fd, -1));
        cr_assert(eq(int, a.stderr_fd, -1));
        cr_assert(eq(ptr, (void *) a.name, NULL));
        cr_assert(eq(ptr, (void *) a.tag, NULL));
        cr_assert(not(a.help));
}

Test(init_args, accepts_every_option_in_both_spellings) {
        char error[INIT_ERROR_MAX] = "";
        InitArgs a;
        int r;

        r = PARSE(&a, error,
                  "--app-pid", "42", "--status-fd=3", "--journal-fd", "4", "--stdout-fd=5", "--stderr-fd=6",
                  "--name=web", "--id=" ID, "--image", "nginx:latest", "--tag=front");
        cr_assert(eq(int, r, 0), "%s", error);
        cr_assert(eq(int, a.app_pid, 42));
        cr_assert(eq(int, a.journal_fd, 4));
        cr_assert(eq(int, a.stdout_fd, 5));
        cr_assert(eq(int, a.stderr_fd, 6));
        cr_assert(eq(str, (char *) a.name, "web"));
        cr_assert(eq(str, (char *) a.id, ID));
        cr_assert(eq(str, (char *) a.image, "nginx:latest"));
        cr_assert(eq(str, (char *) a.tag, "front"));
}

Test(init_args, defaults_tag_to_name) {
        char error[INIT_ERROR_MAX] = "";
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=2", "--status-fd=3", "--name=db"), 0));
        cr_assert(eq(str, (char *) a.tag, "db"));
}

Test(init_args, rejects_a_missing_app_pid_with_a_message) {
        char error[INIT_ERROR_MAX] = "";
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--status-fd=3"), -EINVAL));
        cr_assert(eq(str, error, "Missing --app-pid"));
}

Test(init_args, rejects_a_missing_status_fd) {
        char error[INIT_ERROR_MAX] = "";
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5"), -EINVAL));
        cr_assert(eq(str, error, "Missing --status-fd"));
}

Test(init_args, rejects_bad_fds) {
        const char *bad[] = { "-1", "", "3x", " 3", "+3", "0x3", "2147483648", "99999999999999999999" };
        char error[INIT_ERROR_MAX], arg[64];
        InitArgs a;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(arg, sizeof(arg), "--journal-fd=%s", bad[i]);
                cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", arg), -EINVAL), "%s", arg);
                cr_assert(not(eq(ptr, strstr(error, "--journal-fd"), NULL)), "%s", error);
        }
}

Test(init_args, accepts_the_largest_fd) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=2147483647"), 0));
        cr_assert(eq(int, a.status_fd, 2147483647));
}

Test(init_args, rejects_one_fd_for_two_options) {
        char error[INIT_ERROR_MAX];
        InitArgs a;
        int r;

        r = PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--stdout-fd=4", "--stderr-fd=4");
        cr_assert(eq(int, r, -EINVAL));
        cr_assert(eq(str, error, "File descriptor 4 passed for two options"));
}

Test(init_args, rejects_pids_below_two) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=0", "--status-fd=3"), -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=1", "--status-fd=3"), -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=-4", "--status-fd=3"), -EINVAL));
        cr_assert(eq(str, error, "Invalid --app-pid '-4'"));
}

Test(init_args, rejects_an_option_given_twice) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--name=a", "--name=b"), -EINVAL));
        cr_assert(eq(str, error, "Option --name given more than once"));
}

Test(init_args, rejects_unknown_options_and_positional_arguments) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--verbose"), -EINVAL));
        cr_assert(eq(str, error, "Unknown option '--verbose'"));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--app"), -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "sh"), -EINVAL));
        cr_assert(eq(str, error, "Unexpected argument 'sh'"));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--"), -EINVAL));
}

Test(init_args, rejects_an_option_without_its_value) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--status-fd=3", "--app-pid"), -EINVAL));
        cr_assert(eq(str, error, "Option --app-pid needs a value"));
}

Test(init_args, rejects_ids_that_are_not_32_lowercase_hex_digits) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--id=0123456789ABCDEF0123456789abcdef"),
                     -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--id=0123"), -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--id=" ID "0"), -EINVAL));
}

Test(init_args, rejects_empty_and_overlong_names) {
        char error[INIT_ERROR_MAX], longname[INIT_VALUE_MAX + 16];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", "--name="), -EINVAL));

        strcpy(longname, "--image=");
        memset(longname + strlen(longname), 'x', INIT_VALUE_MAX + 1);
        longname[strlen("--image=") + INIT_VALUE_MAX + 1] = '\0';
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", longname), -EINVAL));

        longname[strlen("--image=") + INIT_VALUE_MAX] = '\0';
        cr_assert(eq(int, PARSE(&a, error, "--app-pid=5", "--status-fd=3", longname), 0));
}

Test(init_args, reports_help_without_checking_the_rest) {
        char error[INIT_ERROR_MAX];
        InitArgs a;

        cr_assert(eq(int, PARSE(&a, error, "--bogus=1", "--help"), -EINVAL));
        cr_assert(eq(int, PARSE(&a, error, "--help"), 0));
        cr_assert(a.help);
}

Test(init_args, tolerates_a_null_error_buffer) {
        char *argv[] = { (char *) "vessel-init", (char *) "--app-pid=x", NULL };
        InitArgs a;

        cr_assert(eq(int, init_args_parse(2, argv, &a, NULL, 0), -EINVAL));
}

Test(journal_field, uses_the_plain_form_for_a_value_without_newline) {
        char buf[64];
        size_t pos = 0;

        cr_assert(eq(int, journal_field_append(buf, sizeof(buf), &pos, "MESSAGE", "hello", 5), 0));
        cr_assert(eq(mem, MEM(buf, pos), STRMEM("MESSAGE=hello\n")));
}

Test(journal_field, uses_the_binary_form_for_a_value_with_newline) {
        const char expected[] = "MESSAGE\n" "\x05\0\0\0\0\0\0\0" "a\nb\nc" "\n";
        char buf[64];
        size_t pos = 0;

        cr_assert(eq(int, journal_field_append(buf, sizeof(buf), &pos, "MESSAGE", "a\nb\nc", 5), 0));
        cr_assert(eq(mem, MEM(buf, pos), STRMEM(expected)));
}

Test(journal_field, encodes_an_empty_value) {
        char buf[64];
        size_t pos = 0;

        cr_assert(eq(int, journal_field_append(buf, sizeof(buf), &pos, "MESSAGE", "", 0), 0));
        cr_assert(eq(mem, MEM(buf, pos), STRMEM("MESSAGE=\n")));
}

Test(journal_field, refuses_to_overflow_and_leaves_the_buffer_position_alone) {
        char buf[14];
        size_t pos = 0;

        /* "MESSAGE=hello\n" is 14 bytes. */
        cr_assert(eq(int, journal_field_append(buf, sizeof(buf) - 1, &pos, "MESSAGE", "hello", 5), -ENOBUFS));
        cr_assert(eq(sz, pos, 0));
        cr_assert(eq(int, journal_field_append(buf, sizeof(buf), &pos, "MESSAGE", "hello", 5), 0));
        cr_assert(eq(sz, pos, 14));
}

Test(journal_fields, formats_only_the_fields_given) {
        InitArgs a = { .name = "web", .tag = "web" };
        char buf[JOURNAL_FIELDS_MAX];
        ssize_t n;

        n = journal_fields_format(buf, sizeof(buf), &a);
        cr_assert(eq(mem, MEM(buf, (size_t) n),
                     STRMEM("SYSLOG_IDENTIFIER=web\nCONTAINER_NAME=web\nCONTAINER_TAG=web\n")));
}

Test(journal_fields, formats_every_field_with_a_short_and_a_full_id) {
        InitArgs a = { .name = "web", .tag = "front", .id = ID, .image = "docker.io/nginx:1" };
        char buf[JOURNAL_FIELDS_MAX];
        ssize_t n;

        n = journal_fields_format(buf, sizeof(buf), &a);
        cr_assert(eq(mem, MEM(buf, (size_t) n),
                     STRMEM("SYSLOG_IDENTIFIER=front\n"
                            "CONTAINER_NAME=web\n"
                            "CONTAINER_ID=0123456789ab\n"
                            "CONTAINER_ID_FULL=" ID "\n"
                            "CONTAINER_TAG=front\n"
                            "IMAGE_NAME=docker.io/nginx:1\n")));
}

Test(journal_fields, fit_the_buffer_with_every_value_at_its_longest) {
        char *v = malloc(INIT_VALUE_MAX + 1);
        char buf[JOURNAL_FIELDS_MAX];

        memset(v, '\n', INIT_VALUE_MAX);        /* newlines: the longer, binary encoding */
        v[INIT_VALUE_MAX] = '\0';
        InitArgs a = { .name = v, .tag = v, .id = ID, .image = v };
        cr_assert(gt(i64, journal_fields_format(buf, sizeof(buf), &a), 0));
        free(v);
}

static size_t flatten(const JournalEntry *e, char *buf) {
        size_t n = 0;

        for (size_t i = 0; i < e->n_iov; i++) {
                memcpy(buf + n, e->iov[i].iov_base, e->iov[i].iov_len);
                n += e->iov[i].iov_len;
        }
        return n;
}

Test(journal_entry, carries_the_fields_priority_and_message) {
        const char fields[] = "CONTAINER_NAME=web\n";
        JournalEntry e;
        char buf[256];
        size_t n;

        journal_entry_init(&e, fields, strlen(fields), 6, "listening on :80", 16);
        n = flatten(&e, buf);
        cr_assert(eq(sz, n, journal_entry_size(&e)));
        cr_assert(eq(mem, MEM(buf, n), STRMEM("CONTAINER_NAME=web\nPRIORITY=6\nMESSAGE=listening on :80\n")));
}

Test(journal_entry, encodes_a_message_with_newlines_in_binary) {
        const char expected[] = "PRIORITY=3\nMESSAGE\n" "\x03\0\0\0\0\0\0\0" "a\nb" "\n";
        JournalEntry e;
        char buf[256];
        size_t n;

        journal_entry_init(&e, "", 0, 3, "a\nb", 3);
        n = flatten(&e, buf);
        cr_assert(eq(mem, MEM(buf, n), STRMEM(expected)));
}

Test(journal_entry, encodes_the_length_little_endian) {
        static char msg[70000];
        JournalEntry e;
        uint64_t le;

        memset(msg, 'x', sizeof(msg));
        msg[10] = '\n';
        journal_entry_init(&e, "", 0, 6, msg, sizeof(msg));
        cr_assert(eq(sz, e.iov[2].iov_len, strlen("MESSAGE\n") + 8));
        memcpy(&le, (char *) e.iov[2].iov_base + strlen("MESSAGE\n"), sizeof(le));
        cr_assert(eq(u64, le64toh(le), sizeof(msg)));
}

static void feed(LineBuffer *b, const char *data) {
        size_t size, n = strlen(data);
        char *p = line_buffer_space(b, &size);

        cr_assert(ge(sz, size, n));
        memcpy(p, data, n);
        line_buffer_commit(b, n);
}

static char *next(LineBuffer *b, bool flush) {
        const char *line;
        size_t len;

        if (!line_buffer_next(b, flush, &line, &len))
                return NULL;
        return strndup(line, len);
}

#define assert_next(b, flush, expected)                         \
        do {                                                    \
                char *_l = next(b, flush);                      \
                cr_assert(not(eq(ptr, _l, NULL)));              \
                cr_assert(eq(str, _l, expected));               \
                free(_l);                                       \
        } while (false)

Test(line_buffer, splits_lines_across_reads) {
        static LineBuffer b;

        line_buffer_init(&b);
        feed(&b, "one\ntw");
        assert_next(&b, false, "one");
        cr_assert(eq(ptr, next(&b, false), NULL));
        feed(&b, "o\n\nthree\nfo");
        assert_next(&b, false, "two");
        assert_next(&b, false, "");
        assert_next(&b, false, "three");
        cr_assert(eq(ptr, next(&b, false), NULL));
        feed(&b, "ur\n");
        assert_next(&b, false, "four");
        cr_assert(eq(ptr, next(&b, true), NULL));
}

Test(line_buffer, flushes_a_trailing_partial_line_at_eof) {
        static LineBuffer b;

        line_buffer_init(&b);
        feed(&b, "done\nno newline");
        assert_next(&b, true, "done");
        assert_next(&b, true, "no newline");
        cr_assert(eq(ptr, next(&b, true), NULL));
}

Test(line_buffer, sends_a_long_line_in_chunks) {
        static LineBuffer b;
        static char big[LINE_CHUNK_MAX + 1];
        const char *line;
        size_t len, size;
        char *p;

        line_buffer_init(&b);

        /* LINE_CHUNK_MAX + 100 'x', then "\nnext\n", written in the pieces a pipe would give us. */
        p = line_buffer_space(&b, &size);
        cr_assert(eq(sz, size, LINE_CHUNK_MAX));
        memset(p, 'x', size);
        line_buffer_commit(&b, size);

        cr_assert(line_buffer_next(&b, false, &line, &len));
        cr_assert(eq(sz, len, LINE_CHUNK_MAX));
        cr_assert(eq(chr, line[0], 'x'));
        cr_assert(not(line_buffer_next(&b, false, &line, &len)));

        memset(big, 'x', 100);
        big[100] = '\0';
        feed(&b, big);
        feed(&b, "\nnext\n");
        cr_assert(line_buffer_next(&b, false, &line, &len));
        cr_assert(eq(sz, len, 100));
        assert_next(&b, false, "next");
        cr_assert(eq(ptr, next(&b, true), NULL));
}

Test(line_buffer, ends_a_line_of_exactly_one_chunk_without_an_extra_empty_line) {
        static LineBuffer b;
        const char *line;
        size_t len, size;
        char *p;

        line_buffer_init(&b);
        p = line_buffer_space(&b, &size);
        memset(p, 'y', size);
        line_buffer_commit(&b, size);
        cr_assert(line_buffer_next(&b, false, &line, &len));
        cr_assert(eq(sz, len, LINE_CHUNK_MAX));

        feed(&b, "\n\nafter\n");
        assert_next(&b, false, "");     /* the second newline is a real empty line */
        assert_next(&b, false, "after");
        cr_assert(eq(ptr, next(&b, true), NULL));
}

Test(line_buffer, always_has_room_after_lines_are_taken) {
        static LineBuffer b;
        size_t size;

        line_buffer_init(&b);
        for (int i = 0; i < 10000; i++) {
                feed(&b, "0123456789abcdef");
                while (free(next(&b, false)), b.start < b.end && memchr(b.data + b.start, '\n', b.end - b.start))
                        ;
                (void) line_buffer_space(&b, &size);
                cr_assert(gt(sz, size, 0));
        }
}

Test(exit_status, records_an_exit_code) {
        char buf[EXIT_STATUS_MAX];
        ssize_t n;

        n = exit_status_format(buf, sizeof(buf), 3 << 8);
        cr_assert(eq(mem, MEM(buf, (size_t) n), STRMEM("STATUS=768\nEXIT_CODE=3\nEXIT_SIGNAL=0\n")));
        cr_assert(eq(int, exit_status_to_exit_code(3 << 8), 3));
}

Test(exit_status, records_a_signal_with_an_empty_exit_code) {
        char buf[EXIT_STATUS_MAX];
        ssize_t n;

        n = exit_status_format(buf, sizeof(buf), SIGTERM);
        cr_assert(eq(mem, MEM(buf, (size_t) n), STRMEM("STATUS=15\nEXIT_CODE=\nEXIT_SIGNAL=15\n")));
        cr_assert(eq(int, exit_status_to_exit_code(SIGTERM), 143));
}

Test(exit_status, records_a_core_dump_as_its_signal) {
        char buf[EXIT_STATUS_MAX];
        ssize_t n;

        n = exit_status_format(buf, sizeof(buf), SIGSEGV | 0x80);
        cr_assert(eq(mem, MEM(buf, (size_t) n), STRMEM("STATUS=139\nEXIT_CODE=\nEXIT_SIGNAL=11\n")));
        cr_assert(eq(int, exit_status_to_exit_code(SIGSEGV | 0x80), 139));
}

Test(exit_status, refuses_a_short_buffer) {
        char buf[8];

        cr_assert(eq(i64, exit_status_format(buf, sizeof(buf), 0), -ENOBUFS));
}
