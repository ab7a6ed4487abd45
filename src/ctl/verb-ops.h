/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The verbs for living containers: exec, shell, logs, stats, pause, unpause. Their options are their
 * own (parsed in their files); long-only values are 0x400 and up, clear of vesselctl.h's ARG_*. */

#include <getopt.h>
#include <stdio.h>

/* verb-exec.c */
extern const struct option exec_options[];
extern const struct option shell_options[];
int parse_exec_option(int c, const char *arg);
void help_exec(void);
void help_shell(void);
int verb_exec(int argc, char *argv[]);
int verb_shell(int argc, char *argv[]);

/* verb-logs.c */
extern const struct option logs_options[];
int parse_logs_option(int c, const char *arg);
void help_logs(void);
int verb_logs(int argc, char *argv[]);
/* The last n lines of a container's output in the short format, for status. By Id when known. */
int show_container_log_tail(const char *id_full, const char *name, unsigned n, FILE *f);

/* verb-stats.c */
extern const struct option stats_options[];
int parse_stats_option(int c, const char *arg);
void help_stats(void);
int verb_stats(int argc, char *argv[]);

/* verb-pause.c */
int verb_pause(int argc, char *argv[]);
int verb_unpause(int argc, char *argv[]);

/* The rows of vesselctl.c's verb table. exec and shell take Docker's order: options end at NAME. */
#define OPS_VERBS                                                                                       \
        { "exec", 2, VERB_ANY, VERB_OPTIONS_FIRST, "[OPTIONS] NAME COMMAND [ARG...]",                   \
          "Run a command in a running container, exit with its status", exec_options, "itu:e:w:", 0,  \
          parse_exec_option, help_exec, verb_exec },                                                    \
        { "shell", 1, VERB_ANY, VERB_OPTIONS_FIRST, "[OPTIONS] NAME [COMMAND [ARG...]]",                \
          "Open /bin/sh (or COMMAND) on a terminal in a running container", shell_options, "u:e:w:", 0, \
          parse_exec_option, help_shell, verb_shell },                                                  \
        { "logs", 1, 1, 0, "[OPTIONS] NAME", "Show a container's output, from the journal",             \
          logs_options, "fn:o:t", 0, parse_logs_option, help_logs, verb_logs },                         \
        { "stats", 0, VERB_ANY, 0, "[OPTIONS] [NAME...]",                                               \
          "Show containers' CPU, memory, pids and block I/O, live", stats_options, "a", 0,              \
          parse_stats_option, help_stats, verb_stats },                                                 \
        { "pause", 1, VERB_ANY, 0, "NAME...", "Freeze every process of containers", NULL, NULL, 0,     \
          NULL, NULL, verb_pause },                                                                     \
        { "unpause", 1, VERB_ANY, 0, "NAME...", "Thaw paused containers", NULL, NULL, 0, NULL, NULL,    \
          verb_unpause },                                                                               \
        { "resume", 1, VERB_ANY, 0, "NAME...", "Same as unpause", NULL, NULL, 0, NULL, NULL,            \
          verb_unpause }
