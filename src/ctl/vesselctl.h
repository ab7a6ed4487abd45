/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "ctl-options.h"
#include "macro.h"

/* Exit codes: 0 ok, 1 failure, 2 usage; run exits with the container's status, or 125 when it
 * failed before the process started. */
#define EXIT_USAGE 2
#define EXIT_RUN_FAILED 125

typedef enum VerbFlags {
        VERB_OPTIONS_FIRST = 1 << 0, /* Docker's order: options end at the first positional */
} VerbFlags;

#define VERB_ANY ((unsigned) -1)

/* Long-only option values, above any character and below CONTAINER_OPTION_BASE. */
enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_PAGER,
        ARG_KILL_WHOM,
        ARG_VALUE,
};

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args; /* positional arguments after the verb */
        VerbFlags flags;
        const char *synopsis; /* for help: "[OPTIONS] NAME..." */
        const char *summary;
        const struct option *options; /* the verb's own options, NULL-terminated; may be NULL */
        const char *optstring;        /* their short forms */
        OptionScope container_scope;  /* which of the create/run/update options it takes, 0 = none */
        int (*parse_option)(int c, const char *arg); /* < 0: usage error, logged */
        void (*help_options)(void);                  /* prints the verb's own options */
        int (*run)(int argc, char *argv[]);          /* positional arguments; < 0 = failure, logged */
} Verb;

/* the options, set by the parser in vesselctl.c */
extern bool arg_json;
extern bool arg_all;
extern bool arg_force;
extern bool arg_value;
extern int arg_signal;
extern const char *arg_kill_whom;
extern bool arg_stop_timeout_set;
extern uint64_t arg_stop_timeout_usec;
extern char **arg_properties;
extern ContainerOptions arg_container;

/* verb-containers.c */
int verb_list(int argc, char *argv[]);
int verb_create(int argc, char *argv[]);
int verb_start(int argc, char *argv[]);
int verb_stop(int argc, char *argv[]);
int verb_restart(int argc, char *argv[]);
int verb_kill(int argc, char *argv[]);
int verb_remove(int argc, char *argv[]);
int verb_wait(int argc, char *argv[]);
int verb_update(int argc, char *argv[]);
/* the last capability this kernel knows, for --cap-add=ALL */
uint64_t read_cap_last_cap(void);
/* runs container_options_finalize(); logs; EXIT_USAGE-style -EINVAL on bad combinations */
int finalize_container_options(uint64_t current_memory_max);

/* helpers shared by create and run */
int container_options_take_command(int argc, char *argv[]);
int container_new_create_call(sd_bus *bus, const char *method, const char *name, const char *image,
                              sd_bus_message **ret);
void print_container_name(const char *path);
int exit_code_from_wait(int32_t status, int32_t signo);

/* verb-run.c */
int verb_run(int argc, char *argv[]);

/* verb-status.c */
int verb_status(int argc, char *argv[]);
int verb_show(int argc, char *argv[]);
