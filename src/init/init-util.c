/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "init-util.h"

typedef enum InitOption {
        OPT_APP_PID,
        OPT_STATUS_FD,
        OPT_JOURNAL_FD,
        OPT_STDOUT_FD,
        OPT_STDERR_FD,
        OPT_NAME,
        OPT_ID,
        OPT_IMAGE,
        OPT_TAG,
        _OPT_MAX,
        _OPT_INVALID = -EINVAL,
} InitOption;

static const char * const option_table[_OPT_MAX] = {
        [OPT_APP_PID]    = "app-pid",
        [OPT_STATUS_FD]  = "status-fd",
        [OPT_JOURNAL_FD] = "journal-fd",
        [OPT_STDOUT_FD]  = "stdout-fd",
        [OPT_STDERR_FD]  = "stderr-fd",
        [OPT_NAME]       = "name",
        [OPT_ID]         = "id",
        [OPT_IMAGE]      = "image",
        [OPT_TAG]        = "tag",
};

static InitOption option_from_string(const char *s, size_t len) {
        for (InitOption o = 0; o < _OPT_MAX; o++)
                if (strlen(option_table[o]) == len && memcmp(option_table[o], s, len) == 0)
                        return o;
        return _OPT_INVALID;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *error, size_t error_size, const char *format, ...) {
        va_list ap;

        if (error && error_size > 0) {
                va_start(ap, format);
                (void) vsnprintf(error, error_size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* Plain decimal only: no sign, no spaces, no trailing garbage, nothing past INT_MAX. */
static int parse_int(const char *s, int *ret) {
        long long v = 0;

        if (*s == '\0')
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (*s - '0');
                if (v > INT_MAX)
                        return -ERANGE;
        }
        *ret = (int) v;
        return 0;
}

static bool id_valid(const char *s) {
        size_t n = strlen(s);

        if (n != INIT_ID_LEN)
                return false;
        return strspn(s, "0123456789abcdef") == n;
}

int init_args_parse(int argc, char * const *argv, InitArgs *ret, char *error, size_t error_size) {
        InitArgs a = {
                .journal_fd = -1,
                .stdout_fd = -1,
                .stderr_fd = -1,
        };
        bool seen[_OPT_MAX] = {};
        int r;

        assert(argc >= 0);
        assert(ret);

        for (int i = 1; i < argc; i++) {
                const char *arg = argv[i], *key, *eq, *value;
                InitOption o;
                int v;

                if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                        *ret = (InitArgs) { .help = true, .journal_fd = -1, .stdout_fd = -1, .stderr_fd = -1 };
                        return 0;
                }

                if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
                        return fail(error, error_size, "Unexpected argument '%.64s'", arg);

                key = arg + 2;
                eq = strchr(key, '=');
                o = option_from_string(key, eq ? (size_t) (eq - key) : strlen(key));
                if (o < 0)
                        return fail(error, error_size, "Unknown option '%.64s'", arg);

                if (eq)
                        value = eq + 1;
                else if (i + 1 < argc)
                        value = argv[++i];
                else
                        return fail(error, error_size, "Option --%s needs a value", option_table[o]);

                if (seen[o])
                        return fail(error, error_size, "Option --%s given more than once", option_table[o]);
                seen[o] = true;

                switch (o) {

                case OPT_APP_PID:
                        r = parse_int(value, &v);
                        /* pid 1 is vessel-init itself; 0 would make kill() signal our own process group. */
                        if (r < 0 || v < 2)
                                return fail(error, error_size, "Invalid --app-pid '%.64s'", value);
                        a.app_pid = v;
                        break;

                case OPT_STATUS_FD:
                case OPT_JOURNAL_FD:
                case OPT_STDOUT_FD:
                case OPT_STDERR_FD:
                        r = parse_int(value, &v);
                        if (r < 0)
                                return fail(error, error_size, "Invalid --%s '%.64s'", option_table[o], value);
                        if (o == OPT_STATUS_FD)
                                a.status_fd = v;
                        else if (o == OPT_JOURNAL_FD)
                                a.journal_fd = v;
                        else if (o == OPT_STDOUT_FD)
                                a.stdout_fd = v;
                        else
                                a.stderr_fd = v;
                        break;

                case OPT_ID:
                        if (!id_valid(value))
                                return fail(error, error_size,
                                            "Invalid --id '%.64s', expected 32 lowercase hex digits", value);
                        a.id = value;
                        break;

                case OPT_NAME:
                case OPT_IMAGE:
                case OPT_TAG:
                        if (value[0] == '\0' || strlen(value) > INIT_VALUE_MAX)
                                return fail(error, error_size, "Invalid --%s '%.64s', expected 1..%u characters",
                                            option_table[o], value, INIT_VALUE_MAX);
                        if (o == OPT_NAME)
                                a.name = value;
                        else if (o == OPT_IMAGE)
                                a.image = value;
                        else
                                a.tag = value;
                        break;

                default:
                        assert(false);
                }
        }

        if (!seen[OPT_APP_PID])
                return fail(error, error_size, "Missing --app-pid");
        if (!seen[OPT_STATUS_FD])
                return fail(error, error_size, "Missing --status-fd");

        /* Two roles on one fd is always a caller bug, and would make us read our own journal socket or
         * write the status into a pipe. */
        const int fds[] = { a.status_fd, a.journal_fd, a.stdout_fd, a.stderr_fd };
        for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
                for (size_t j = i + 1; j < sizeof(fds) / sizeof(fds[0]); j++)
                        if (fds[i] >= 0 && fds[i] == fds[j])
                                return fail(error, error_size,
                                            "File descriptor %i passed for two options", fds[i]);

        if (!a.tag)
                a.tag = a.name;

        *ret = a;
        return 0;
}

size_t journal_field_header(char *hdr, const char *field, const void *value, size_t len) {
        size_t n = strlen(field);

        assert(n > 0 && n <= JOURNAL_FIELD_NAME_MAX);
        assert(value || len == 0);

        memcpy(hdr, field, n);
        if (len > 0 && memchr(value, '\n', len)) {
                uint64_t le = htole64((uint64_t) len);

                hdr[n++] = '\n';
                memcpy(hdr + n, &le, sizeof(le));
                n += sizeof(le);
        } else
                hdr[n++] = '=';

        return n;
}

int journal_field_append(char *buf, size_t size, size_t *pos, const char *field, const void *value, size_t len) {
        char hdr[JOURNAL_FIELD_HEADER_MAX];
        size_t n;

        assert(buf);
        assert(pos && *pos <= size);

        n = journal_field_header(hdr, field, value, len);
        if (n + len + 1 > size - *pos)
                return -ENOBUFS;

        memcpy(buf + *pos, hdr, n);
        if (len > 0)
                memcpy(buf + *pos + n, value, len);
        buf[*pos + n + len] = '\n';
        *pos += n + len + 1;
        return 0;
}

ssize_t journal_fields_format(char *buf, size_t size, const InitArgs *args) {
        const struct {
                const char *field;
                const char *value;
                size_t len;
        } fields[] = {
                { "SYSLOG_IDENTIFIER", args->tag,   args->tag ? strlen(args->tag) : 0     },
                { "CONTAINER_NAME",    args->name,  args->name ? strlen(args->name) : 0   },
                { "CONTAINER_ID",      args->id,    INIT_ID_SHORT_LEN                     },
                { "CONTAINER_ID_FULL", args->id,    args->id ? strlen(args->id) : 0       },
                { "CONTAINER_TAG",     args->tag,   args->tag ? strlen(args->tag) : 0     },
                { "IMAGE_NAME",        args->image, args->image ? strlen(args->image) : 0 },
        };
        size_t pos = 0;
        int r;

        assert(buf);
        assert(args);

        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                if (!fields[i].value)
                        continue;

                r = journal_field_append(buf, size, &pos, fields[i].field, fields[i].value, fields[i].len);
                if (r < 0)
                        return r;
        }

        return (ssize_t) pos;
}

void journal_entry_init(
                JournalEntry *e,
                const char *fields,
                size_t fields_len,
                int priority,
                const void *msg,
                size_t msg_len) {

        size_t n;

        assert(e);
        assert(priority >= 0 && priority <= 7);

        memcpy(e->priority, "PRIORITY=", strlen("PRIORITY="));
        e->priority[strlen("PRIORITY=")] = (char) ('0' + priority);
        e->priority[strlen("PRIORITY=") + 1] = '\n';

        n = journal_field_header(e->message_header, "MESSAGE", msg, msg_len);

        e->iov[0] = (struct iovec) { .iov_base = (char *) fields, .iov_len = fields_len };
        e->iov[1] = (struct iovec) { .iov_base = e->priority, .iov_len = strlen("PRIORITY=") + 2 };
        e->iov[2] = (struct iovec) { .iov_base = e->message_header, .iov_len = n };
        e->iov[3] = (struct iovec) { .iov_base = (void *) msg, .iov_len = msg_len };
        e->iov[4] = (struct iovec) { .iov_base = (char *) "\n", .iov_len = 1 };
        e->n_iov = 5;
}

size_t journal_entry_size(const JournalEntry *e) {
        size_t n = 0;

        for (size_t i = 0; i < e->n_iov; i++)
                n += e->iov[i].iov_len;
        return n;
}

void line_buffer_init(LineBuffer *b) {
        b->start = b->end = 0;
        b->in_chunked_line = false;
}

char *line_buffer_space(LineBuffer *b, size_t *ret_size) {
        assert(b);
        assert(ret_size);

        if (b->start > 0) {
                memmove(b->data, b->data + b->start, b->end - b->start);
                b->end -= b->start;
                b->start = 0;
        }

        *ret_size = sizeof(b->data) - b->end;
        return b->data + b->end;
}

void line_buffer_commit(LineBuffer *b, size_t n) {
        assert(b);
        assert(n <= sizeof(b->data) - b->end);

        b->end += n;
}

bool line_buffer_next(LineBuffer *b, bool flush, const char **ret_line, size_t *ret_len) {
        const char *p, *nl;
        size_t pending;

        assert(b);
        assert(ret_line);
        assert(ret_len);

        pending = b->end - b->start;
        p = b->data + b->start;

        /* The newline that ends a line we already sent in chunks is not an empty line of its own. */
        if (b->in_chunked_line && pending > 0 && p[0] == '\n') {
                b->start++;
                b->in_chunked_line = false;
                pending--;
                p++;
        }

        if (pending == 0)
                return false;

        nl = memchr(p, '\n', pending);
        if (nl) {
                *ret_line = p;
                *ret_len = (size_t) (nl - p);
                b->start += *ret_len + 1;
                b->in_chunked_line = false;
                return true;
        }

        if (pending < sizeof(b->data) && !flush)
                return false;

        *ret_line = p;
        *ret_len = pending;
        b->start = b->end;
        b->in_chunked_line = !flush;
        return true;
}

ssize_t exit_status_format(char *buf, size_t size, int status) {
        int n;

        if (WIFEXITED(status))
                n = snprintf(buf, size, "STATUS=%i\nEXIT_CODE=%i\nEXIT_SIGNAL=0\n", status, WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                n = snprintf(buf, size, "STATUS=%i\nEXIT_CODE=\nEXIT_SIGNAL=%i\n", status, WTERMSIG(status));
        else
                n = snprintf(buf, size, "STATUS=%i\nEXIT_CODE=\nEXIT_SIGNAL=0\n", status);

        if (n < 0 || (size_t) n >= size)
                return -ENOBUFS;
        return n;
}

int exit_status_to_exit_code(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}
