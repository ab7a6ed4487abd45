/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* The options of create, run and update, and the settings (a(sv), DESIGN.md names) they turn into.
 * Everything here is pure: no bus connection, no logging, so the unit tests drive it directly. */

typedef enum OptionScope {
        OPTION_RUN = 1 << 0,    /* run only: -d, -i */
        OPTION_CREATE = 1 << 1, /* create and run */
        OPTION_UPDATE = 1 << 2, /* update too: the limits */
} OptionScope;

#define OPTION_CREATE_RUN (OPTION_CREATE | OPTION_RUN)
#define OPTION_ALL (OPTION_CREATE | OPTION_RUN | OPTION_UPDATE)

typedef struct OptionalU64 {
        bool set;
        uint64_t value;
} OptionalU64;

typedef struct PortMapping {
        char protocol[4]; /* "tcp", "udp" */
        uint16_t host_port;
        uint16_t container_port;
} PortMapping;

typedef struct BindMount {
        char *source;
        char *destination;
        bool read_only;
} BindMount;

typedef struct ContainerOptions {
        char *name;
        bool detach;
        bool interactive;
        bool tty;
        bool auto_remove;

        char **command; /* NULL = the image's default */
        char **environment;
        char *working_directory;
        char *user;
        char *hostname;

        OptionalU64 memory_max, memory_high, memory_low;
        OptionalU64 memory_swap_total; /* Docker's --memory-swap: memory + swap */
        OptionalU64 memory_swap_max;   /* what we send, computed by container_options_finalize() */
        OptionalU64 cpu_weight, cpu_quota_per_sec_usec, tasks_max, io_weight;
        uint8_t *allowed_cpus;
        size_t n_allowed_cpus;

        char *slice;
        int stop_signal; /* 0 = not given */
        OptionalU64 stop_timeout_usec;
        char *restart;
        char *network;
        PortMapping *ports;
        size_t n_ports;
        BindMount *binds;
        size_t n_binds;
        bool read_only, read_only_set;
        char *private_users;
        char **cap_add, **cap_drop;
        bool capabilities_set;
        uint64_t capabilities; /* bitmask of capability numbers, computed by finalize */
        char *seccomp;
        char **labels; /* "KEY=VALUE", a later KEY replaces an earlier one */

        /* The caller's stdio for attached runs, or (run -t) the socket for the terminal's master and
         * our terminal's size; -EBADF, 0 when not passed. Not user options: set by verb_run(). */
        int stdin_fd, stdout_fd, stderr_fd, console_fd;
        uint16_t tty_rows, tty_columns;
} ContainerOptions;

void container_options_init(ContainerOptions *o);
void container_options_done(ContainerOptions *o);

/* One option of create/run/update: drives getopt, the parser and --help from the same table. */
typedef struct ContainerOptionDef {
        const char *long_name;
        char short_name;     /* 0 = long only */
        const char *metavar; /* NULL = takes no argument */
        OptionScope scope;
        int (*parse)(ContainerOptions *o, const char *value);
        const char *expect; /* what a valid value looks like, for the error message */
        const char *help;
} ContainerOptionDef;

extern const ContainerOptionDef container_option_defs[];
extern const size_t container_option_defs_count;

const ContainerOptionDef *container_option_find(const char *long_name);

/* The option a user typed, for error messages: short_name as getopt's optopt (0 = a long option),
 * else arg as typed ("--tty", "--memory=1G"). NULL if it is none of ours. */
const ContainerOptionDef *container_option_find_typed(const char *arg, int short_name);

/* The verbs a scope's options belong to, in words ("create and run"); NULL for another mask. */
const char *option_scope_verbs(OptionScope scope);

/* Parses one option by its long name ("memory", "publish"...). Returns -EINVAL/-ERANGE for a bad
 * value (the caller names it), -ENOENT for an unknown option, -ENOMEM. */
int container_option_apply(ContainerOptions *o, const char *long_name, const char *value);

/* getopt tables for a scope. The long options' val is CONTAINER_OPTION_BASE + index into
 * container_option_defs; options with a short name use that character. Returns -ENOMEM. The
 * caller frees *ret_options and *ret_optstring. */
#define CONTAINER_OPTION_BASE 0x1000
int container_options_getopt(OptionScope scope, struct option **ret_options, char **ret_optstring);

/* Maps a getopt return value back to the definition, NULL if it is none of ours. */
const ContainerOptionDef *container_option_from_getopt(int c);

/* Prints the option list of a scope, for --help. */
void container_options_help(OptionScope scope);

/* Cross-option checks and derived settings: the --memory-swap conversion (using
 * current_memory_max, the container's MemoryMax, when --memory was not given; UINT64_MAX = not
 * known), the capability set. On error returns -EINVAL and points *ret_reason at a message. */
int container_options_finalize(ContainerOptions *o, uint64_t current_memory_max, uint64_t last_cap,
                               const char **ret_reason);

/* true if any setting is given, for update */
bool container_options_has_settings(const ContainerOptions *o);

/* Appends the a(sv) array of the settings given. */
int container_options_append_settings(const ContainerOptions *o, sd_bus_message *m);

/* One (sv) of such an array, a string or a string array; nothing if value/l is NULL. Also for
 * exec's settings. */
int settings_append_string(sd_bus_message *m, const char *key, const char *value);
int settings_append_strv(sd_bus_message *m, const char *key, char **l);

/* The pieces, exported for the tests. */
int parse_publish(const char *s, PortMapping *ret);
int parse_bind(const char *s, BindMount *ret); /* ret->source/destination allocated */
int parse_limit_size(const char *s, uint64_t *ret); /* a size, or "max"/"infinity"/"-1" */
int parse_docker_memory_swap(uint64_t memory, uint64_t swap_total, uint64_t *ret_swap_max);
int parse_env_option(const char *s, char ***env); /* "K=V", or "K" taken from our environment */
int parse_label_option(const char *s, char ***labels);
int parse_restart_policy(const char *s, const char **ret);

#define CAPABILITY_MAX 64
int capability_from_name(const char *s); /* "NET_ADMIN", "cap_net_admin" → 12 */
const char *capability_to_name(int cap); /* "CAP_NET_ADMIN" */
uint64_t capability_docker_default(void);
/* Docker's rules: ALL in add = every capability but the dropped ones; ALL in drop = just the added
 * ones; else the default set minus drops plus adds. */
int capabilities_compute(char **add, char **drop, uint64_t last_cap, uint64_t *ret);
/* "CAP_CHOWN", "CAP_KILL"... in capability number order */
int capabilities_to_strv(uint64_t mask, char ***ret);
