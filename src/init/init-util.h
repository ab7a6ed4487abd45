/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pure parts of vessel-init: no syscalls, no global state, so the unit tests can drive them directly. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Exit code of vessel-init itself when it could not start (bad arguments, bad fds). The same value
 * "docker run" uses for failures of the runtime, so it cannot be confused with 128+signal. */
#define INIT_EXIT_FAILURE 125

#define INIT_ID_LEN 32
#define INIT_ID_SHORT_LEN 12
#define INIT_VALUE_MAX 1024             /* longest --name/--tag/--image */
#define INIT_ERROR_MAX 256

typedef struct InitArgs {
        pid_t app_pid;
        int status_fd;
        int journal_fd;                 /* -1 when not given: logs are dropped */
        int stdout_fd;                  /* -1 when not given */
        int stderr_fd;                  /* -1 when not given */
        const char *name;               /* these point into argv, NULL when not given */
        const char *id;
        const char *image;
        const char *tag;                /* defaults to name */
        bool help;
} InitArgs;

/* Parses the command line (argv[0] is skipped). Accepts "--opt=VALUE" and "--opt VALUE". On failure
 * returns -EINVAL and writes a one-line message (no trailing newline) to error. When --help is seen,
 * returns 0 with ret->help set and the other fields unchecked. */
int init_args_parse(int argc, char * const *argv, InitArgs *ret, char *error, size_t error_size);

/* Journald's native protocol: "FIELD=value\n", or, when value holds a newline,
 * "FIELD\n" + little-endian 64-bit length + value + "\n". */
#define JOURNAL_FIELD_NAME_MAX 64
#define JOURNAL_FIELD_HEADER_MAX (JOURNAL_FIELD_NAME_MAX + 1 + 8)
#define JOURNAL_FIELDS_MAX 8192         /* the constant fields; holds six fields of INIT_VALUE_MAX */

/* Writes the header of one field into hdr (at least JOURNAL_FIELD_HEADER_MAX bytes) and returns its length.
 * The field is then hdr + value + "\n". */
size_t journal_field_header(char *hdr, const char *field, const void *value, size_t len);

/* Appends one complete field to buf at *pos. Returns -ENOBUFS (leaving *pos alone) when it does not fit. */
int journal_field_append(char *buf, size_t size, size_t *pos, const char *field, const void *value, size_t len);

/* Formats the fields that every entry of this container carries (SYSLOG_IDENTIFIER, CONTAINER_NAME,
 * CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_TAG, IMAGE_NAME; only those given) into buf. Returns
 * the length or -ENOBUFS. */
ssize_t journal_fields_format(char *buf, size_t size, const InitArgs *args);

/* One datagram: the constant fields, PRIORITY=, MESSAGE=. Points into fields, msg and e itself, so
 * none of them may move or change until the entry is sent. */
typedef struct JournalEntry {
        struct iovec iov[5];
        size_t n_iov;
        char priority[sizeof("PRIORITY=7\n")];
        char message_header[JOURNAL_FIELD_HEADER_MAX];
} JournalEntry;

void journal_entry_init(
                JournalEntry *e,
                const char *fields,
                size_t fields_len,
                int priority,
                const void *msg,
                size_t msg_len);

size_t journal_entry_size(const JournalEntry *e);

/* Splits a byte stream into lines. Lines are returned without their newline; a line longer than
 * LINE_CHUNK_MAX comes out in chunks of LINE_CHUNK_MAX bytes. Data is read straight into the buffer:
 *
 *         for (;;) {
 *                 buf = line_buffer_space(b, &n);
 *                 k = read(fd, buf, n);
 *                 line_buffer_commit(b, k);
 *                 while (line_buffer_next(b, k == 0, &line, &len))
 *                         use(line, len);
 *         }
 */
#define LINE_CHUNK_MAX (48U * 1024U)

typedef struct LineBuffer {
        size_t start;                   /* pending bytes are data[start, end) */
        size_t end;
        bool in_chunked_line;           /* the last thing returned was a full chunk without a newline */
        char data[LINE_CHUNK_MAX];
} LineBuffer;

void line_buffer_init(LineBuffer *b);

/* Where the next read should go, and how much fits there; never 0 once line_buffer_next() returned false. */
char *line_buffer_space(LineBuffer *b, size_t *ret_size);
void line_buffer_commit(LineBuffer *b, size_t n);

/* Returns true with the next line or chunk. With flush (at EOF), also returns a trailing partial line. */
bool line_buffer_next(LineBuffer *b, bool flush, const char **ret_line, size_t *ret_len);

/* The content of the "exit" file for a raw wait status:
 * "STATUS=<status>\nEXIT_CODE=<code or empty>\nEXIT_SIGNAL=<signal or 0>\n". Returns the length or
 * -ENOBUFS. */
#define EXIT_STATUS_MAX 64
ssize_t exit_status_format(char *buf, size_t size, int status);

/* What vessel-init exits with for the app's wait status: its exit code, or 128+signal. */
int exit_status_to_exit_code(int status);
