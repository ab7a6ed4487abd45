/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vesselctl logs: a container's output, read from the journal with sd-journal.
 *
 * vessel-init relays the container's stdout (PRIORITY=6) and stderr (PRIORITY=3) with the fields
 * Docker's journald driver uses. We match CONTAINER_ID_FULL, the container's Id: a name used again
 * by a later container does not bring the earlier one's lines along. When the container is gone,
 * its name (or Id) is all there is to go by, and CONTAINER_NAME matches every container that had it.
 */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "ctl-bus.h"
#include "ctl-journal.h"
#include "log.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"
#include "verb-ops.h"
#include "vesselctl.h"

/* long-only options of logs; far from vesselctl.h's ARG_* and from CONTAINER_OPTION_BASE */
enum {
        ARG_LOGS_SINCE = 0x400,
        ARG_LOGS_UNTIL,
        ARG_LOGS_NO_TAIL,
};

static bool arg_follow = false;
static bool arg_lines_set = false;
static uint64_t arg_lines = 0;
static bool arg_no_tail = false;
static uint64_t arg_since = UINT64_MAX, arg_until = UINT64_MAX;
static LogOutput arg_output = LOG_OUTPUT_DEFAULT;

const struct option logs_options[] = {
        { "follow", no_argument, NULL, 'f' },
        { "lines", required_argument, NULL, 'n' },
        { "tail", required_argument, NULL, 'n' }, /* docker logs --tail */
        { "since", required_argument, NULL, ARG_LOGS_SINCE },
        { "until", required_argument, NULL, ARG_LOGS_UNTIL },
        { "output", required_argument, NULL, 'o' },
        { "timestamps", no_argument, NULL, 't' },
        { "no-tail", no_argument, NULL, ARG_LOGS_NO_TAIL },
        {},
};

int parse_logs_option(int c, const char *arg) {
        int r;

        switch (c) {
        case 'f':
                arg_follow = true;
                return 0;
        case 'n':
                if (streq(arg, "all")) {
                        arg_lines_set = false;
                        return 0;
                }
                if (safe_atou64(arg, &arg_lines) < 0)
                        return log_error_errno(
                                -EINVAL, "Invalid value '%s' for --lines (expected a number, or all).", arg);
                arg_lines_set = true;
                return 0;
        case ARG_LOGS_SINCE:
        case ARG_LOGS_UNTIL:
                r = parse_time_spec(arg, now_realtime_usec(), c == ARG_LOGS_SINCE ? &arg_since : &arg_until);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(
                                r,
                                "Invalid value '%s' for --%s (expected \"YYYY-MM-DD HH:MM:SS\", \"-10min\", "
                                "\"10min ago\", \"@SECONDS\", \"today\"...).",
                                arg,
                                c == ARG_LOGS_SINCE ? "since" : "until");
                return 0;
        case 'o': {
                LogOutput o = log_output_from_string(arg);

                if (o < 0 || o == LOG_OUTPUT_DEFAULT)
                        return log_error_errno(
                                -EINVAL,
                                "Invalid value '%s' for --output (expected short, cat or json).",
                                arg);
                arg_output = o;
                return 0;
        }
        case 't':
                arg_output = LOG_OUTPUT_SHORT;
                return 0;
        case ARG_LOGS_NO_TAIL:
                arg_no_tail = true;
                return 0;
        }
        return 0;
}

void help_logs(void) {
        printf("  -f --follow                     Print new lines as they come, until interrupted\n"
               "  -n --lines=N|all                Only the last N lines (also --tail)\n"
               "     --no-tail                    All lines, even with -n\n"
               "     --since=TIME                 Lines from this time on: \"2024-05-07 10:00:01\",\n"
               "                                  \"10:00\", \"-10min\", \"10min ago\", \"42m\", \"@EPOCH\",\n"
               "                                  \"today\", \"yesterday\", \"now\"; local time unless\n"
               "                                  followed by Z, UTC or +HH:MM\n"
               "     --until=TIME                 Lines up to this time\n"
               "  -o --output=short|cat|json      short: with timestamps; cat: the container's stdout\n"
               "                                  and stderr lines both to stdout (by default its\n"
               "                                  stderr lines go to stderr); json: one object per\n"
               "                                  line, every field\n"
               "  -t --timestamps                 Same as -o short\n"
               "     --json                       Same as -o json\n");
}

/* ---- the journal ------------------------------------------------------------------------------ */

static bool is_hex(const char *s, size_t n) {
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

static int add_match(sd_journal *j, const char *field, const char *value) {
        _cleanup_free_ char *m = strjoin(field, "=", value);

        if (!m)
                return -ENOMEM;
        return sd_journal_add_match(j, m, 0);
}

/* The entries of a container: by its Id while vesseld knows it, else by what the user gave. */
static int add_container_match(sd_journal *j, sd_bus *bus, const char *arg) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *id = NULL;
        int r;

        if (bus) {
                r = container_get_path(bus, arg, &error, &path);
                if (r >= 0)
                        r = sd_bus_get_property_string(
                                bus, VESSEL_BUS_NAME, path, VESSEL_CONTAINER_INTERFACE, "Id", &error, &id);
                if (r >= 0 && is_hex(id, 32))
                        return add_match(j, "CONTAINER_ID_FULL", id);
                if (r < 0 && !sd_bus_error_has_name(&error, BUS_ERROR_NO_SUCH_CONTAINER))
                        log_debug(
                                "Failed to look up container '%s', going by its name: %s",
                                arg,
                                error.message ?: strerror(-r));
        }

        /* removed, or vesseld unreachable: every container that had this name (or Id) */
        r = add_match(j, "CONTAINER_NAME", arg);
        if (r >= 0 && (is_hex(arg, 32) || is_hex(arg, 12)))
                r = sd_journal_add_disjunction(j);
        if (r >= 0 && is_hex(arg, 32))
                r = add_match(j, "CONTAINER_ID_FULL", arg);
        if (r >= 0 && is_hex(arg, 12))
                r = add_match(j, "CONTAINER_ID", arg);
        return r;
}

static int print_json(sd_journal *j, FILE *f) {
        _cleanup_json_ struct json_object *o = NULL;
        _cleanup_free_ JournalData *fields = NULL;
        _cleanup_free_ char *cursor = NULL;
        uint64_t realtime = UINT64_MAX, monotonic = UINT64_MAX;
        size_t n = 0, allocated = 0;
        const void *data;
        size_t len;
        sd_id128_t boot;
        int r;

        (void) sd_journal_get_cursor(j, &cursor);
        (void) sd_journal_get_realtime_usec(j, &realtime);
        (void) sd_journal_get_monotonic_usec(j, &monotonic, &boot);

        SD_JOURNAL_FOREACH_DATA(j, data, len) {
                if (n == allocated) {
                        JournalData *nf = reallocarray(fields, allocated * 2 + 16, sizeof(JournalData));

                        if (!nf)
                                return -ENOMEM;
                        fields = nf;
                        allocated = allocated * 2 + 16;
                }
                /* data stays valid until the next entry: no copies needed */
                fields[n++] = (JournalData) { data, len };
        }

        r = journal_entry_to_json(fields, n, cursor, realtime, monotonic, &o);
        if (r < 0)
                return r;
        fprintf(f,
                "%s\n",
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        return fflush(f) == 0 ? 0 : -errno;
}

static int print_entry(sd_journal *j, LogOutput mode, FILE *out, FILE *err) {
        LogEntry e = { .priority = -1, .realtime_usec = UINT64_MAX };
        const void *data;
        size_t len;
        int r;

        if (mode == LOG_OUTPUT_JSON)
                return print_json(j, out);

        r = sd_journal_get_data(j, "MESSAGE", &data, &len);
        if (r >= 0)
                e.message = journal_field_value(data, len, "MESSAGE", &e.message_len);
        if (!e.message)
                e.message = "";
        /* PRIORITY=6 for the container's stdout, 3 for its stderr */
        if (sd_journal_get_data(j, "PRIORITY", &data, &len) >= 0 && len == strlen("PRIORITY=") + 1)
                e.priority = ((const char *) data)[len - 1] - '0';
        (void) sd_journal_get_realtime_usec(j, &e.realtime_usec);

        return log_entry_print(&e, mode, out, err);
}

typedef struct LogsQuery {
        uint64_t since, until; /* UINT64_MAX = none */
        bool lines_set;
        uint64_t lines;
        LogOutput mode;
        FILE *out, *err;
} LogsQuery;

static bool entry_after(sd_journal *j, uint64_t until) {
        uint64_t t;

        return until != UINT64_MAX && sd_journal_get_realtime_usec(j, &t) >= 0 && t > until;
}

/* Positions j so that the next sd_journal_next() returns the first entry to print. */
static int logs_seek(sd_journal *j, const LogsQuery *q) {
        _cleanup_free_ char *cursor = NULL;
        uint64_t count = 0;
        int r;

        if (!q->lines_set) {
                if (q->since != UINT64_MAX)
                        return sd_journal_seek_realtime_usec(j, q->since);
                return sd_journal_seek_head(j);
        }

        /* the last N: walk back from the end (or from --until), no further than --since */
        if (q->until != UINT64_MAX)
                r = sd_journal_seek_realtime_usec(j, q->until + 1);
        else
                r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        while (count < q->lines) {
                uint64_t t;

                r = sd_journal_previous(j);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (sd_journal_get_realtime_usec(j, &t) < 0)
                        continue;
                if (q->until != UINT64_MAX && t > q->until)
                        continue;
                if (q->since != UINT64_MAX && t < q->since)
                        break;
                free(cursor);
                cursor = NULL;
                r = sd_journal_get_cursor(j, &cursor);
                if (r < 0)
                        return r;
                count++;
        }

        if (cursor) {
                /* seek_cursor + next() returns that very entry */
                return sd_journal_seek_cursor(j, cursor);
        }

        /* nothing to print: continue (for -f) after the last entry there is */
        r = sd_journal_seek_tail(j);
        if (r < 0)
                return r;
        r = sd_journal_previous(j);
        return r < 0 ? r : 0;
}

/* Prints from the current position on; returns 1 once past --until. */
static int logs_print_available(sd_journal *j, const LogsQuery *q) {
        int r;

        for (;;) {
                r = sd_journal_next(j);
                if (r < 0)
                        return log_error_errno(r, "Failed to read the journal: %m");
                if (r == 0)
                        return 0;
                if (entry_after(j, q->until))
                        return 1;
                r = print_entry(j, q->mode, q->out, q->err);
                if (r == -EPIPE)
                        return 1; /* the reader went away: we are done */
                if (r < 0)
                        return log_error_errno(r, "Failed to print an entry: %m");
        }
}

static int logs_open(sd_journal **ret) {
        int r;

        r = sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
        if (r < 0)
                return r;
        /* whole messages, however long */
        (void) sd_journal_set_data_threshold(*ret, 0);
        return 0;
}

int show_container_log_tail(const char *id_full, const char *name, unsigned n, FILE *f) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_(fclosep) FILE *m = NULL;
        size_t size = 0;
        LogsQuery q = {
                .since = UINT64_MAX,
                .until = UINT64_MAX,
                .lines_set = true,
                .lines = n,
                .mode = LOG_OUTPUT_SHORT,
        };
        int r;

        r = logs_open(&j);
        if (r < 0)
                return r;
        if (!isempty(id_full))
                r = add_match(j, "CONTAINER_ID_FULL", id_full);
        else
                r = add_match(j, "CONTAINER_NAME", name);
        if (r < 0)
                return r;
        r = logs_seek(j, &q);
        if (r < 0)
                return r;

        /* collected first: the blank line that sets them apart only when there are any */
        m = open_memstream(&text, &size);
        if (!m)
                return -ENOMEM;
        q.out = q.err = m;
        r = logs_print_available(j, &q);
        if (r < 0)
                return r;
        if (fclose(TAKE_PTR(m)) != 0)
                return -ENOMEM;
        if (size > 0)
                fprintf(f, "\n%s", text);
        return 0;
}

/* ---- follow ----------------------------------------------------------------------------------- */

typedef struct FollowContext {
        sd_journal *journal;
        const LogsQuery *query;
        sd_event *event;
} FollowContext;

static int on_journal(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FollowContext *c = ASSERT_PTR(userdata);
        int r;

        r = sd_journal_process(c->journal);
        if (r < 0) {
                log_error_errno(r, "Failed to process journal changes: %m");
                return sd_event_exit(c->event, EXIT_FAILURE);
        }
        r = logs_print_available(c->journal, c->query);
        if (r < 0)
                return sd_event_exit(c->event, EXIT_FAILURE);
        if (r > 0)
                return sd_event_exit(c->event, 0);
        return 0;
}

static int on_follow_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        FollowContext *c = ASSERT_PTR(userdata);

        /* interrupted is how following ends */
        return sd_event_exit(c->event, 0);
}

static int logs_follow(sd_journal *j, const LogsQuery *q) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        FollowContext c = { .journal = j, .query = q };
        int fd, events, r;
        sigset_t mask;

        fd = sd_journal_get_fd(j);
        if (fd < 0)
                return log_error_errno(fd, "Failed to watch the journal: %m");
        events = sd_journal_get_events(j);
        if (events < 0)
                return log_error_errno(events, "Failed to watch the journal: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_io(event, NULL, fd, (uint32_t) events, on_journal, &c);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_follow_signal, &c);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_follow_signal, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");
        c.event = event;

        /* what came between the first pass and the watch */
        r = logs_print_available(j, q);
        if (r != 0)
                return r < 0 ? r : 0;

        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}

int verb_logs(int argc, char *argv[]) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        LogsQuery q = {
                .since = arg_since,
                .until = arg_until,
                .lines_set = arg_lines_set && !arg_no_tail,
                .lines = arg_lines,
                .mode = arg_output,
                .out = stdout,
                .err = stderr,
        };
        int r;

        if (arg_json)
                q.mode = LOG_OUTPUT_JSON;
        if (q.since != UINT64_MAX && q.until != UINT64_MAX && q.since > q.until) {
                log_error("--since is later than --until.");
                return EXIT_USAGE;
        }
        if (arg_follow && q.until != UINT64_MAX) {
                log_error("--follow and --until do not go together.");
                return EXIT_USAGE;
        }

        r = logs_open(&j);
        if (r < 0)
                return log_error_errno(r, "Failed to open the journal: %m");
        if (sd_journal_has_runtime_files(j) <= 0 && sd_journal_has_persistent_files(j) <= 0)
                log_warning(
                        "No system journal files could be read%s.",
                        geteuid() != 0
                                ? ": root, or membership in the group systemd-journal or adm, is needed"
                                : "");

        /* vesseld names the container's current Id; without it, we go by the name */
        if (bus_open_vessel(&bus) < 0)
                bus = NULL;
        r = add_container_match(j, bus, argv[0]);
        if (r < 0)
                return log_error_errno(r, "Failed to add the journal match: %m");
        bus = sd_bus_flush_close_unref(bus);

        r = logs_seek(j, &q);
        if (r < 0)
                return log_error_errno(r, "Failed to seek in the journal: %m");

        if (arg_follow)
                return logs_follow(j, &q);

        r = logs_print_available(j, &q);
        return r < 0 ? r : 0;
}
