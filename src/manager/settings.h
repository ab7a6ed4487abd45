/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "manager.h"

typedef enum RestartPolicy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
} RestartPolicy;

typedef enum NetworkMode {
        NETWORK_NONE,
        NETWORK_HOST,
        NETWORK_BRIDGE,
        _NETWORK_MODE_MAX,
        _NETWORK_MODE_INVALID = -EINVAL,
} NetworkMode;

typedef enum PrivateUsers {
        PRIVATE_USERS_NO,
        PRIVATE_USERS_YES,
        PRIVATE_USERS_PICK,
        _PRIVATE_USERS_MAX,
        _PRIVATE_USERS_INVALID = -EINVAL,
} PrivateUsers;

typedef enum SeccompMode {
        SECCOMP_DEFAULT,
        SECCOMP_UNCONFINED,
        _SECCOMP_MODE_MAX,
        _SECCOMP_MODE_INVALID = -EINVAL,
} SeccompMode;

typedef struct PortMapping {
        char *protocol; /* "tcp", "udp" */
        uint16_t host_port, container_port;
} PortMapping;

typedef struct BindPath {
        char *source, *destination;
        bool read_only;
} BindPath;

typedef struct Label {
        char *key, *value;
} Label;

/* UINT64_MAX for "not set" (systemd's "infinity" where it is a limit). */
#define SETTING_UNSET UINT64_MAX

typedef struct Settings {
        char **command;
        /* image.c: the image's entrypoint is replaced when set ("docker run --entrypoint"); only
         * read by CreateContainer/RunContainer, which merge it into command */
        char **entrypoint;
        bool entrypoint_set;
        char **environment;
        char *working_directory;
        char *user;
        char *hostname;
        char *slice;

        uint64_t memory_max;
        uint64_t memory_high;
        uint64_t memory_low;
        uint64_t memory_swap_max;
        uint64_t cpu_weight;
        uint64_t cpu_quota_per_sec_usec;
        uint64_t tasks_max;
        uint64_t io_weight;
        uint8_t *allowed_cpus;
        size_t allowed_cpus_size;

        NetworkMode network;
        PortMapping *ports;
        size_t n_ports;
        BindPath *binds;
        size_t n_binds;
        bool read_only;
        PrivateUsers private_users;
        char **capabilities;
        bool capabilities_set;
        SeccompMode seccomp;
        int stop_signal;
        bool stop_signal_set; /* given by the caller, not the default: wins over the image's */
        uint64_t stop_timeout_usec;
        RestartPolicy restart;
        bool auto_remove;
        Label *labels;
        size_t n_labels;

        /* the initial size of a terminal (TTYRows, TTYColumns): an exec's, or a run's with a console
         * socket; never persisted */
        uint16_t tty_rows, tty_columns;

        /* the caller's stdio for an attached run, or the socket that gets the master of the app's
         * terminal (ConsoleSocketFileDescriptor); for one start, never persisted */
        int stdin_fd, stdout_fd, stderr_fd, console_fd;
} Settings;

#define SETTINGS_STOP_TIMEOUT_DEFAULT (10 * USEC_PER_SEC)

void settings_init(Settings *s);
void settings_done(Settings *s);
void settings_close_stdio(Settings *s);

/* Where settings come from decides which ones are allowed: UpdateContainer takes only limits that
 * systemd can change on a live unit. */
typedef enum SettingsContext {
        SETTINGS_CREATE,
        SETTINGS_UPDATE,
        SETTINGS_EXEC, /* Environment, User, WorkingDirectory of a process exec'd into a container */
} SettingsContext;

/* Reads an a(sv) array and applies it on top of *s. Every unknown name, wrong type or bad value is an
 * InvalidSetting error naming it; on error *s may be partially updated (callers parse into a copy).
 * 'layout' rejects what the host's cgroup layout cannot honour. Returns the mask of limits that were
 * set (SETTING_LIMIT_*), so UpdateContainer knows what to send to systemd. */
int settings_parse_bus(Settings *s, sd_bus_message *m, SettingsContext context, CgroupLayout layout,
                       sd_bus_error *error);
/* The i-th setting settings_parse_bus() knows, and the D-Bus signature of its value; NULL past the last */
const char *settings_bus_signature(size_t i, const char **ret_name);

typedef enum SettingLimit {
        SETTING_LIMIT_MEMORY_MAX = 1 << 0,
        SETTING_LIMIT_MEMORY_HIGH = 1 << 1,
        SETTING_LIMIT_MEMORY_LOW = 1 << 2,
        SETTING_LIMIT_MEMORY_SWAP_MAX = 1 << 3,
        SETTING_LIMIT_CPU_WEIGHT = 1 << 4,
        SETTING_LIMIT_CPU_QUOTA = 1 << 5,
        SETTING_LIMIT_TASKS_MAX = 1 << 6,
        SETTING_LIMIT_IO_WEIGHT = 1 << 7,
        SETTING_LIMIT_ALLOWED_CPUS = 1 << 8,
        SETTING_LIMIT_STOP = 1 << 9, /* StopSignal, StopTimeoutUSec: ours, not systemd's */
        SETTING_LIMIT_RESTART = 1 << 10,
} SettingLimit;

/* Pure validators, shared by the bus parser and the tests. Each returns 0 or -EINVAL/-ERANGE. */
int settings_validate_memory(uint64_t v);
int settings_validate_cpu_weight(uint64_t v);
int settings_validate_io_weight(uint64_t v);
int settings_validate_cpu_quota(uint64_t v);
int settings_validate_tasks_max(uint64_t v);
int settings_validate_capability(const char *name);
int settings_validate_slice(const char *name);
int settings_validate_hostname(const char *name);

/* AllowedCPUs against the CPUs the host has online (the kernel's list: "0-3,8"): one beyond them is
 * InvalidSetting naming it. 0 when fine or when nothing asks for CPUs. */
int settings_check_allowed_cpus(const Settings *s, const char *online, sd_bus_error *error);
/* The same against this host's /sys/devices/system/cpu/online, when mask has the setting. */
int settings_check_host(const Settings *s, int mask, sd_bus_error *error);

/* Persistence: a JSON object with the same property names as the bus API. */
int settings_to_json(const Settings *s, json_object **ret);
int settings_from_json(Settings *s, json_object *o);

const char *restart_policy_to_string(RestartPolicy p);
RestartPolicy restart_policy_from_string(const char *s);
const char *network_mode_to_string(NetworkMode p);
NetworkMode network_mode_from_string(const char *s);
const char *private_users_to_string(PrivateUsers p);
PrivateUsers private_users_from_string(const char *s);
const char *seccomp_mode_to_string(SeccompMode p);
SeccompMode seccomp_mode_from_string(const char *s);

int capability_from_name(const char *name);
/* The bounding set a container keeps: its Capabilities=, or the default set. */
uint64_t settings_capability_mask(const Settings *s);

/* Docker's default capability set, CAP_ names. */
extern const char *const default_capabilities[];
