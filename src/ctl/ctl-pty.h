/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The client's side of a container's terminal (exec -t, run -t): we hold the master of a pty of
 * the container's own devpts and relay our stdin to it (with -i), its output to our stdout, and our
 * window size, with our terminal in raw mode meanwhile, until the process is known to have exited
 * and the master is drained. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

typedef struct PtyRelay {
        sd_event *event;
        int master;
        bool exited;   /* the caller said so, with exit_code */
        int exit_code; /* vesselctl's, for sd_event_exit() once the master is drained too */

        sd_event_source *stdin_source, *master_source, *drain_timer, *status_timer;
        sd_event_source *signal_sources[6];
        bool relay_stdin, stdin_eof, eof_sent, master_eof, stdout_broken;
        char *in_buf; /* waiting for the master */
        size_t in_len, in_off, in_size;
} PtyRelay;

/* Blocks the signals the relay handles (before anything can deliver them) and ignores SIGPIPE; then
 * the relay's event sources for them on event. A terminating signal ends the loop with 128+N. */
int pty_relay_init(PtyRelay *c, sd_event *event);
/* Our terminal's size now (0, 0 when we have none), for the process's terminal from its start. */
void pty_terminal_size(uint16_t *ret_rows, uint16_t *ret_columns);
/* Takes master (a descriptor of ours from now on, also on failure) and starts relaying; with
 * relay_stdin our stdin too, and a terminal on it goes raw. */
int pty_relay_attach(PtyRelay *c, int master, bool relay_stdin);
/* The process exited: the loop ends with exit_code once the master is drained (or after a short
 * wait, when others hold the terminal still). */
void pty_relay_exited(PtyRelay *c, int exit_code);
bool pty_relay_attached(const PtyRelay *c);
void pty_relay_done(PtyRelay *c);
/* Our terminal back as it was, if we made it raw; safe to call any time, also from atexit(). */
void pty_terminal_restore(void);
