/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bus-util.h"
#include "fd-util.h"
#include "name-util.h"
#include "parse-util.h"
#include "settings.h"
#include "string-util.h"

static const char *const restart_policy_table[_RESTART_POLICY_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ALWAYS] = "always",
};
DEFINE_STRING_TABLE_LOOKUP(restart_policy, RestartPolicy);

static const char *const network_mode_table[_NETWORK_MODE_MAX] = {
        [NETWORK_NONE] = "none",
        [NETWORK_HOST] = "host",
        [NETWORK_BRIDGE] = "bridge",
};
DEFINE_STRING_TABLE_LOOKUP(network_mode, NetworkMode);

static const char *const private_users_table[_PRIVATE_USERS_MAX] = {
        [PRIVATE_USERS_NO] = "no",
        [PRIVATE_USERS_YES] = "yes",
        [PRIVATE_USERS_PICK] = "pick",
};
DEFINE_STRING_TABLE_LOOKUP(private_users, PrivateUsers);

static const char *const seccomp_mode_table[_SECCOMP_MODE_MAX] = {
        [SECCOMP_DEFAULT] = "default",
        [SECCOMP_UNCONFINED] = "unconfined",
};
DEFINE_STRING_TABLE_LOOKUP(seccomp_mode, SeccompMode);

const char *const default_capabilities[] = {
        "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",     "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID",      "CAP_SETUID",           "CAP_SETFCAP",    "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",     "CAP_AUDIT_WRITE", NULL,
};

static const char *const capability_names[] = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
        "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
        "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
        "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

int capability_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (streq(capability_names[i], name))
                        return (int) i;
        return -EINVAL;
}

static uint64_t capability_bit(const char *name) {
        int cap = capability_from_name(name);
        return cap >= 0 && cap < 64 ? UINT64_C(1) << cap : 0;
}

uint64_t settings_capability_mask(const Settings *s) {
        uint64_t keep = 0;

        if (s->capabilities_set)
                STRV_FOREACH(n, s->capabilities)
                        keep |= capability_bit(*n);
        else
                for (const char *const *n = default_capabilities; *n; n++)
                        keep |= capability_bit(*n);
        return keep;
}

void settings_init(Settings *s) {
        *s = (Settings) {
                .memory_max = SETTING_UNSET,
                .memory_high = SETTING_UNSET,
                .memory_low = SETTING_UNSET,
                .memory_swap_max = SETTING_UNSET,
                .cpu_weight = SETTING_UNSET,
                .cpu_quota_per_sec_usec = SETTING_UNSET,
                .tasks_max = SETTING_UNSET,
                .io_weight = SETTING_UNSET,
                .network = NETWORK_BRIDGE,
                .private_users = PRIVATE_USERS_NO,
                .seccomp = SECCOMP_DEFAULT,
                .stop_signal = SIGTERM,
                .stop_timeout_usec = SETTINGS_STOP_TIMEOUT_DEFAULT,
                .restart = RESTART_NO,
                .stdin_fd = -EBADF,
                .stdout_fd = -EBADF,
                .stderr_fd = -EBADF,
                .console_fd = -EBADF,
        };
}

void settings_close_stdio(Settings *s) {
        s->stdin_fd = safe_close(s->stdin_fd);
        s->stdout_fd = safe_close(s->stdout_fd);
        s->stderr_fd = safe_close(s->stderr_fd);
        s->console_fd = safe_close(s->console_fd);
}

void settings_done(Settings *s) {
        strv_free(s->command);
        strv_free(s->entrypoint);
        strv_free(s->environment);
        free(s->working_directory);
        free(s->user);
        free(s->hostname);
        free(s->slice);
        free(s->allowed_cpus);
        for (size_t i = 0; i < s->n_ports; i++)
                free(s->ports[i].protocol);
        free(s->ports);
        for (size_t i = 0; i < s->n_binds; i++) {
                free(s->binds[i].source);
                free(s->binds[i].destination);
        }
        free(s->binds);
        strv_free(s->capabilities);
        for (size_t i = 0; i < s->n_labels; i++) {
                free(s->labels[i].key);
                free(s->labels[i].value);
        }
        free(s->labels);
        settings_close_stdio(s);
        settings_init(s);
}

int settings_validate_memory(uint64_t v) {
        /* below a few MiB the kernel can't even start a shell; systemd takes anything, the kernel
         * rounds to pages. 4 MiB is Docker's floor too (6 MiB in newer versions). */
        if (v != SETTING_UNSET && v < 4ULL << 20)
                return -ERANGE;
        return 0;
}

int settings_validate_cpu_weight(uint64_t v) {
        return v == SETTING_UNSET || (v >= 1 && v <= 10000) ? 0 : -ERANGE;
}

int settings_validate_io_weight(uint64_t v) {
        return v == SETTING_UNSET || (v >= 1 && v <= 10000) ? 0 : -ERANGE;
}

int settings_validate_cpu_quota(uint64_t v) {
        /* systemd: at least 1ms per second */
        return v == SETTING_UNSET || v >= 1000 ? 0 : -ERANGE;
}

int settings_validate_tasks_max(uint64_t v) {
        return v == SETTING_UNSET || v >= 1 ? 0 : -ERANGE;
}

int settings_validate_capability(const char *name) {
        return capability_from_name(name) >= 0 ? 0 : -EINVAL;
}

int settings_validate_slice(const char *name) {
        size_t n;

        /* a unit name ending in .slice, "-" separated path components, no "--" and no leading or
         * trailing "-" (what systemd accepts for slices) */
        if (isempty(name) || !endswith(name, ".slice"))
                return -EINVAL;
        n = strlen(name) - strlen(".slice");
        if (n == 0 || n > 200 || name[0] == '-' || name[n - 1] == '-')
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '_' || c == '.' || c == ':' || c == '@'))
                        return -EINVAL;
                if (c == '-' && name[i + 1] == '-')
                        return -EINVAL;
        }
        if (streq(name, "-.slice"))
                return -EINVAL;
        return 0;
}

int settings_validate_hostname(const char *name) {
        /* the same rule as container names, which are host names */
        return container_name_is_valid(name) ? 0 : -EINVAL;
}

#define INVALID(error, name, fmt, ...) \
        sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING, "Invalid setting %s: " fmt, name, ##__VA_ARGS__)

int settings_check_allowed_cpus(const Settings *s, const char *online, sd_bus_error *error) {
        _cleanup_free_ uint8_t *mask = NULL;
        size_t size = 0;
        int r;

        if (!s->allowed_cpus)
                return 0;
        r = parse_cpuset(online, &mask, &size);
        if (r < 0)
                return 0; /* nothing to tell by: the kernel will */
        for (size_t i = 0; i < s->allowed_cpus_size * 8; i++) {
                bool asked = s->allowed_cpus[i / 8] & (1U << (i % 8));
                bool there = i / 8 < size && (mask[i / 8] & (1U << (i % 8)));

                if (asked && !there)
                        return INVALID(error, "AllowedCPUs", "CPU %zu is not online on this host (online: %s).", i,
                                       online);
        }
        return 0;
}

int settings_check_host(const Settings *s, int mask, sd_bus_error *error) {
        _cleanup_free_ char *online = NULL;

        if (!(mask & SETTING_LIMIT_ALLOWED_CPUS) || !s->allowed_cpus)
                return 0;
        if (read_one_line_file("/sys/devices/system/cpu/online", &online) < 0)
                return 0;
        return settings_check_allowed_cpus(s, online, error);
}

static int read_strv(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *s;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                if (strv_length(l) >= 4096)
                        return -E2BIG;
                r = strv_extend(&l, s);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* Reads the variant's value of the expected type, or fails with InvalidSetting naming the types. */
static int enter_variant(sd_bus_message *m, const char *name, const char *want, sd_bus_error *error) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (!streq(contents, want))
                return INVALID(error, name, "expected type '%s', got '%s'.", want, contents);
        return sd_bus_message_enter_container(m, 'v', want);
}

typedef enum SettingType {
        ST_AS,
        ST_S,
        ST_T,
        ST_I,
        ST_B,
        ST_AY,
        ST_H,
        ST_Q,
        ST_PORTS,
        ST_BINDS,
        ST_LABELS,
} SettingType;

typedef struct SettingDef {
        const char *name;
        SettingType type;
        bool updatable;
        SettingLimit limit;
} SettingDef;

static const SettingDef setting_defs[] = {
        { "Command", ST_AS },
        { "Entrypoint", ST_AS }, /* image.c: replaces the image's entrypoint, [] = none */
        { "Environment", ST_AS },
        { "WorkingDirectory", ST_S },
        { "User", ST_S },
        { "Hostname", ST_S },
        { "Slice", ST_S },
        { "MemoryMax", ST_T, true, SETTING_LIMIT_MEMORY_MAX },
        { "MemoryHigh", ST_T, true, SETTING_LIMIT_MEMORY_HIGH },
        { "MemoryLow", ST_T, true, SETTING_LIMIT_MEMORY_LOW },
        { "MemorySwapMax", ST_T, true, SETTING_LIMIT_MEMORY_SWAP_MAX },
        { "CPUWeight", ST_T, true, SETTING_LIMIT_CPU_WEIGHT },
        { "CPUQuotaPerSecUSec", ST_T, true, SETTING_LIMIT_CPU_QUOTA },
        { "TasksMax", ST_T, true, SETTING_LIMIT_TASKS_MAX },
        { "IOWeight", ST_T, true, SETTING_LIMIT_IO_WEIGHT },
        { "AllowedCPUs", ST_AY, true, SETTING_LIMIT_ALLOWED_CPUS },
        { "Network", ST_S },
        { "PublishPorts", ST_PORTS },
        { "BindPaths", ST_BINDS },
        { "ReadOnly", ST_B },
        { "PrivateUsers", ST_S },
        { "Capabilities", ST_AS },
        { "Seccomp", ST_S },
        { "StopSignal", ST_I, true, SETTING_LIMIT_STOP },
        { "StopTimeoutUSec", ST_T, true, SETTING_LIMIT_STOP },
        { "Restart", ST_S, true, SETTING_LIMIT_RESTART },
        { "AutoRemove", ST_B },
        { "Labels", ST_LABELS },
        { "TTYRows", ST_Q },
        { "TTYColumns", ST_Q },
        { "StandardInputFileDescriptor", ST_H },
        { "StandardOutputFileDescriptor", ST_H },
        { "StandardErrorFileDescriptor", ST_H },
        { "ConsoleSocketFileDescriptor", ST_H },
};

static const char *const type_signature[] = {
        [ST_AS] = "as", [ST_S] = "s", [ST_T] = "t", [ST_I] = "i", [ST_B] = "b", [ST_AY] = "ay",
        [ST_H] = "h", [ST_Q] = "q", [ST_PORTS] = "a(sqq)", [ST_BINDS] = "a(ssb)", [ST_LABELS] = "a(ss)",
};

const char *settings_bus_signature(size_t i, const char **ret_name) {
        if (i >= ELEMENTSOF(setting_defs))
                return NULL;
        *ret_name = setting_defs[i].name;
        return type_signature[setting_defs[i].type];
}

static int apply_t(Settings *s, const char *name, uint64_t v, CgroupLayout layout, sd_bus_error *error) {
        char buf[FORMAT_BYTES_MAX];

        if (STR_IN_SET(name, "MemoryMax", "MemoryHigh", "MemoryLow", "MemorySwapMax")) {
                if (!streq(name, "MemorySwapMax") && settings_validate_memory(v) < 0)
                        return INVALID(error, name, "%" PRIu64 " bytes (%s) is below the 4M minimum.", v,
                                       format_bytes(buf, sizeof buf, v));
                if (layout == CGROUP_LAYOUT_LEGACY && STR_IN_SET(name, "MemoryHigh", "MemorySwapMax"))
                        return INVALID(error, name,
                                       "not supported on this host's legacy (v1) cgroup layout, only on the unified (v2) one.");
        }

        if (streq(name, "MemoryMax"))
                s->memory_max = v;
        else if (streq(name, "MemoryHigh"))
                s->memory_high = v;
        else if (streq(name, "MemoryLow"))
                s->memory_low = v;
        else if (streq(name, "MemorySwapMax"))
                s->memory_swap_max = v;
        else if (streq(name, "CPUWeight")) {
                if (settings_validate_cpu_weight(v) < 0)
                        return INVALID(error, name, "%" PRIu64 " is out of range 1…10000.", v);
                s->cpu_weight = v;
        } else if (streq(name, "IOWeight")) {
                if (settings_validate_io_weight(v) < 0)
                        return INVALID(error, name, "%" PRIu64 " is out of range 1…10000.", v);
                s->io_weight = v;
        } else if (streq(name, "CPUQuotaPerSecUSec")) {
                if (settings_validate_cpu_quota(v) < 0)
                        return INVALID(error, name, "%" PRIu64 "us is below the 1ms minimum.", v);
                s->cpu_quota_per_sec_usec = v;
        } else if (streq(name, "TasksMax")) {
                if (settings_validate_tasks_max(v) < 0)
                        return INVALID(error, name, "%" PRIu64 " is below 1.", v);
                s->tasks_max = v;
        } else if (streq(name, "StopTimeoutUSec")) {
                if (v == 0 || v == UINT64_MAX)
                        return INVALID(error, name, "%" PRIu64 " must be above 0 and finite.", v);
                s->stop_timeout_usec = v;
        }
        return 0;
}

static int apply_s(Settings *s, const char *name, const char *v, sd_bus_error *error) {
        if (streq(name, "WorkingDirectory")) {
                if (!path_is_normalized_absolute(v))
                        return INVALID(error, name, "'%s' is not a normalized absolute path.", v);
                return free_and_strdup(&s->working_directory, v);
        }
        if (streq(name, "User")) {
                if (isempty(v) || strlen(v) > 256 || strpbrk(v, "\n/"))
                        return INVALID(error, name, "'%s' is not a user name or UID[:GID].", v);
                return free_and_strdup(&s->user, v);
        }
        if (streq(name, "Hostname")) {
                if (settings_validate_hostname(v) < 0)
                        return INVALID(error, name, "'%s' is not a valid host name.", v);
                return free_and_strdup(&s->hostname, v);
        }
        if (streq(name, "Slice")) {
                if (settings_validate_slice(v) < 0)
                        return INVALID(error, name, "'%s' is not a valid slice unit name.", v);
                return free_and_strdup(&s->slice, v);
        }
        if (streq(name, "Network")) {
                NetworkMode n = network_mode_from_string(v);
                if (n < 0)
                        return INVALID(error, name, "'%s' is not one of none, host, bridge.", v);
                s->network = n;
                return 0;
        }
        if (streq(name, "PrivateUsers")) {
                PrivateUsers p = private_users_from_string(v);
                if (p < 0)
                        return INVALID(error, name, "'%s' is not one of no, yes, pick.", v);
                s->private_users = p;
                return 0;
        }
        if (streq(name, "Seccomp")) {
                SeccompMode p = seccomp_mode_from_string(v);
                if (p < 0)
                        return INVALID(error, name, "'%s' is not one of default, unconfined.", v);
                s->seccomp = p;
                return 0;
        }
        if (streq(name, "Restart")) {
                RestartPolicy p = restart_policy_from_string(v);
                if (p < 0)
                        return INVALID(error, name, "'%s' is not one of no, on-failure, always.", v);
                s->restart = p;
                return 0;
        }
        return -EINVAL;
}

/* Takes v, whatever happens. */
static int apply_as(Settings *s, const char *name, char **v_in, sd_bus_error *error) {
        _cleanup_strv_free_ char **v = v_in;

        if (streq(name, "Entrypoint")) {
                strv_free(s->entrypoint);
                s->entrypoint = TAKE_PTR(v);
                s->entrypoint_set = true;
                return 0;
        }
        if (streq(name, "Command")) {
                if (strv_length(v) == 0)
                        return INVALID(error, name, "the command line is empty.");
                if (isempty(v[0]))
                        return INVALID(error, name, "the program name is empty.");
                strv_free(s->command);
                s->command = TAKE_PTR(v);
                return 0;
        }
        if (streq(name, "Environment")) {
                STRV_FOREACH(e, v)
                        if (!env_assignment_is_valid(*e))
                                return INVALID(error, name, "'%s' is not a valid VAR=VALUE assignment.", *e);
                strv_free(s->environment);
                s->environment = TAKE_PTR(v);
                return 0;
        }
        if (streq(name, "Capabilities")) {
                STRV_FOREACH(c, v)
                        if (settings_validate_capability(*c) < 0)
                                return INVALID(error, name, "'%s' is not a known capability name (CAP_…).", *c);
                strv_free(s->capabilities);
                s->capabilities = TAKE_PTR(v);
                s->capabilities_set = true;
                return 0;
        }
        return -EINVAL;
}

static int read_ports(Settings *s, sd_bus_message *m, sd_bus_error *error) {
        const char *proto;
        uint16_t hp, cp;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sqq)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sqq)", &proto, &hp, &cp)) > 0) {
                if (!STR_IN_SET(proto, "tcp", "udp"))
                        return INVALID(error, "PublishPorts", "protocol '%s' is not tcp or udp.", proto);
                if (hp == 0 || cp == 0)
                        return INVALID(error, "PublishPorts", "port 0 (%u:%u/%s) is not allowed.", hp, cp, proto);
                if (s->n_ports >= 1024)
                        return INVALID(error, "PublishPorts", "more than 1024 ports.");
                for (size_t i = 0; i < s->n_ports; i++)
                        if (s->ports[i].host_port == hp && streq(s->ports[i].protocol, proto))
                                return INVALID(error, "PublishPorts", "host port %u/%s is published twice.", hp, proto);
                PortMapping *n = reallocarray(s->ports, s->n_ports + 1, sizeof(PortMapping));
                if (!n)
                        return -ENOMEM;
                s->ports = n;
                s->ports[s->n_ports] = (PortMapping) { .protocol = strdup(proto), .host_port = hp, .container_port = cp };
                if (!s->ports[s->n_ports++].protocol)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_binds(Settings *s, sd_bus_message *m, sd_bus_error *error) {
        const char *src, *dst;
        int ro, r;

        r = sd_bus_message_enter_container(m, 'a', "(ssb)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ssb)", &src, &dst, &ro)) > 0) {
                if (!path_is_normalized_absolute(src))
                        return INVALID(error, "BindPaths", "source '%s' is not a normalized absolute path.", src);
                if (!path_is_normalized_absolute(dst) || streq(dst, "/"))
                        return INVALID(error, "BindPaths", "destination '%s' is not a normalized absolute path below /.", dst);
                /* the container's own procfs, with its masks, stays what it is (as runc and Docker keep it) */
                if (streq(dst, "/proc") || startswith(dst, "/proc/"))
                        return INVALID(error, "BindPaths", "destination '%s' is in /proc, which is the container's own.", dst);
                if (s->n_binds >= 256)
                        return INVALID(error, "BindPaths", "more than 256 binds.");
                BindPath *n = reallocarray(s->binds, s->n_binds + 1, sizeof(BindPath));
                if (!n)
                        return -ENOMEM;
                s->binds = n;
                s->binds[s->n_binds] = (BindPath) { .source = strdup(src), .destination = strdup(dst), .read_only = ro };
                if (!s->binds[s->n_binds].source || !s->binds[s->n_binds].destination) {
                        s->n_binds++;
                        return -ENOMEM;
                }
                s->n_binds++;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_labels(Settings *s, sd_bus_message *m, sd_bus_error *error) {
        const char *k, *v;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(ss)", &k, &v)) > 0) {
                if (isempty(k) || strlen(k) > 256 || strlen(v) > 4096)
                        return INVALID(error, "Labels", "label '%s' has an empty or too long key or value.", k);
                if (s->n_labels >= 256)
                        return INVALID(error, "Labels", "more than 256 labels.");
                Label *n = reallocarray(s->labels, s->n_labels + 1, sizeof(Label));
                if (!n)
                        return -ENOMEM;
                s->labels = n;
                s->labels[s->n_labels] = (Label) { .key = strdup(k), .value = strdup(v) };
                s->n_labels++;
                if (!s->labels[s->n_labels - 1].key || !s->labels[s->n_labels - 1].value)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int settings_parse_bus(Settings *s, sd_bus_message *m, SettingsContext context, CgroupLayout layout,
                       sd_bus_error *error) {
        int mask = 0, r;
        unsigned n = 0;

        r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        for (;;) {
                const SettingDef *def = NULL;
                const char *name;

                r = sd_bus_message_enter_container(m, 'r', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (++n > 256)
                        return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "More than 256 settings.");

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(setting_defs); i++)
                        if (streq(setting_defs[i].name, name))
                                def = setting_defs + i;
                if (!def)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING, "Unknown setting '%s'.", name);
                if (context == SETTINGS_UPDATE && !def->updatable)
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                                 "Setting %s cannot be changed on an existing container.", name);
                if (context == SETTINGS_EXEC &&
                    !STR_IN_SET(name, "Environment", "User", "WorkingDirectory", "TTYRows", "TTYColumns"))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                                 "Setting %s does not apply to an exec'd process (only Environment, User, "
                                                 "WorkingDirectory, TTYRows, TTYColumns do).",
                                                 name);
                if (context == SETTINGS_UPDATE && STR_IN_SET(name, "TTYRows", "TTYColumns"))
                        return sd_bus_error_setf(error, BUS_ERROR_INVALID_SETTING,
                                                 "Setting %s applies to a start on a terminal only.", name);

                r = enter_variant(m, name, type_signature[def->type], error);
                if (r < 0)
                        return r;

                switch (def->type) {
                case ST_AS: {
                        char **l = NULL;
                        r = read_strv(m, &l);
                        if (r == -E2BIG)
                                return sd_bus_error_setf(error, BUS_ERROR_LIMITS_EXCEEDED, "Setting %s has too many entries.", name);
                        if (r < 0)
                                return r;
                        r = apply_as(s, name, l, error);
                        break;
                }
                case ST_S: {
                        const char *v;
                        r = sd_bus_message_read_basic(m, 's', &v);
                        if (r >= 0)
                                r = apply_s(s, name, v, error);
                        break;
                }
                case ST_T: {
                        uint64_t v;
                        r = sd_bus_message_read_basic(m, 't', &v);
                        if (r >= 0)
                                r = apply_t(s, name, v, layout, error);
                        break;
                }
                case ST_I: {
                        int32_t v;
                        r = sd_bus_message_read_basic(m, 'i', &v);
                        if (r < 0)
                                break;
                        /* StopSignal */
                        if (v <= 0 || v >= _NSIG || v == SIGSTOP)
                                return INVALID(error, name, "%i is not a signal that can stop a process.", v);
                        s->stop_signal = v;
                        s->stop_signal_set = true;
                        break;
                }
                case ST_B: {
                        int v;
                        r = sd_bus_message_read_basic(m, 'b', &v);
                        if (r < 0)
                                break;
                        if (streq(name, "ReadOnly"))
                                s->read_only = v;
                        else
                                s->auto_remove = v;
                        break;
                }
                case ST_AY: {
                        const void *p;
                        size_t sz;
                        r = sd_bus_message_read_array(m, 'y', &p, &sz);
                        if (r < 0)
                                break;
                        if (sz > 1024)
                                return INVALID(error, name, "CPU mask of %zu bytes is too large.", sz);
                        bool any = false;
                        for (size_t i = 0; i < sz; i++)
                                any = any || ((const uint8_t *) p)[i];
                        if (!any)
                                return INVALID(error, name, "the CPU mask is empty.");
                        free(s->allowed_cpus);
                        s->allowed_cpus = memdup(p, sz);
                        s->allowed_cpus_size = sz;
                        if (!s->allowed_cpus)
                                return -ENOMEM;
                        break;
                }
                case ST_H: {
                        int fd, *slot;
                        r = sd_bus_message_read_basic(m, 'h', &fd);
                        if (r < 0)
                                break;
                        slot = streq(name, "StandardInputFileDescriptor")    ? &s->stdin_fd
                               : streq(name, "StandardOutputFileDescriptor") ? &s->stdout_fd
                               : streq(name, "StandardErrorFileDescriptor")  ? &s->stderr_fd
                                                                              : &s->console_fd;
                        if (slot == &s->console_fd) {
                                struct stat st;
                                int type = 0;
                                socklen_t l = sizeof type;

                                if (fstat(fd, &st) < 0)
                                        return -errno;
                                if (!S_ISSOCK(st.st_mode) ||
                                    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type == SOCK_DGRAM)
                                        return INVALID(error, name, "the descriptor is not a stream or "
                                                       "sequential-packet socket.");
                        }
                        safe_close(*slot);
                        *slot = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                        if (*slot < 0)
                                return -errno;
                        break;
                }
                case ST_Q: {
                        uint16_t v;
                        r = sd_bus_message_read_basic(m, 'q', &v);
                        if (r < 0)
                                break;
                        if (v == 0)
                                return INVALID(error, name, "0 is not a terminal size.");
                        if (streq(name, "TTYRows"))
                                s->tty_rows = v;
                        else
                                s->tty_columns = v;
                        break;
                }
                case ST_PORTS:
                        r = read_ports(s, m, error);
                        break;
                case ST_BINDS:
                        r = read_binds(s, m, error);
                        break;
                case ST_LABELS:
                        r = read_labels(s, m, error);
                        break;
                }
                if (r < 0)
                        return r;
                mask |= def->limit;

                r = sd_bus_message_exit_container(m); /* v */
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m); /* r */
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        /* the terminal is the app's stdin, stdout and stderr: no room for other ones */
        if (s->console_fd >= 0 && (s->stdin_fd >= 0 || s->stdout_fd >= 0 || s->stderr_fd >= 0))
                return INVALID(error, "ConsoleSocketFileDescriptor",
                               "the terminal is the app's standard input, output and error; "
                               "Standard*FileDescriptor cannot come with it.");
        /* ports are forwarded to the container's address on the bridge: without one they would
         * silently lead nowhere */
        if (context == SETTINGS_CREATE && s->n_ports > 0 && s->network != NETWORK_BRIDGE)
                return INVALID(error, "PublishPorts", "ports can only be published with Network=bridge, not %s.",
                               network_mode_to_string(s->network));
        return mask;
}

static json_object *strv_to_json(char **l) {
        json_object *a = json_object_new_array();
        STRV_FOREACH(i, l)
                json_object_array_add(a, json_object_new_string(*i));
        return a;
}

static int strv_from_json(json_object *a, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n;

        if (!json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string))
                        return -EBADMSG;
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static void add_u64(json_object *o, const char *k, uint64_t v) {
        if (v != SETTING_UNSET)
                json_object_object_add(o, k, json_object_new_uint64(v));
}

static void add_str(json_object *o, const char *k, const char *v) {
        if (v)
                json_object_object_add(o, k, json_object_new_string(v));
}

int settings_to_json(const Settings *s, json_object **ret) {
        json_object *o = json_object_new_object(), *a;

        if (!o)
                return -ENOMEM;
        if (s->command)
                json_object_object_add(o, "Command", strv_to_json(s->command));
        if (s->environment)
                json_object_object_add(o, "Environment", strv_to_json(s->environment));
        add_str(o, "WorkingDirectory", s->working_directory);
        add_str(o, "User", s->user);
        add_str(o, "Hostname", s->hostname);
        add_str(o, "Slice", s->slice);
        add_u64(o, "MemoryMax", s->memory_max);
        add_u64(o, "MemoryHigh", s->memory_high);
        add_u64(o, "MemoryLow", s->memory_low);
        add_u64(o, "MemorySwapMax", s->memory_swap_max);
        add_u64(o, "CPUWeight", s->cpu_weight);
        add_u64(o, "CPUQuotaPerSecUSec", s->cpu_quota_per_sec_usec);
        add_u64(o, "TasksMax", s->tasks_max);
        add_u64(o, "IOWeight", s->io_weight);
        if (s->allowed_cpus) {
                _cleanup_free_ char *c = NULL;
                if (format_cpuset(s->allowed_cpus, s->allowed_cpus_size, &c) < 0) {
                        json_object_put(o);
                        return -ENOMEM;
                }
                add_str(o, "AllowedCPUs", c);
        }
        add_str(o, "Network", network_mode_to_string(s->network));
        a = json_object_new_array();
        for (size_t i = 0; i < s->n_ports; i++) {
                json_object *p = json_object_new_object();
                add_str(p, "Protocol", s->ports[i].protocol);
                json_object_object_add(p, "HostPort", json_object_new_int(s->ports[i].host_port));
                json_object_object_add(p, "ContainerPort", json_object_new_int(s->ports[i].container_port));
                json_object_array_add(a, p);
        }
        json_object_object_add(o, "PublishPorts", a);
        a = json_object_new_array();
        for (size_t i = 0; i < s->n_binds; i++) {
                json_object *p = json_object_new_object();
                add_str(p, "Source", s->binds[i].source);
                add_str(p, "Destination", s->binds[i].destination);
                json_object_object_add(p, "ReadOnly", json_object_new_boolean(s->binds[i].read_only));
                json_object_array_add(a, p);
        }
        json_object_object_add(o, "BindPaths", a);
        json_object_object_add(o, "ReadOnly", json_object_new_boolean(s->read_only));
        add_str(o, "PrivateUsers", private_users_to_string(s->private_users));
        if (s->capabilities_set)
                json_object_object_add(o, "Capabilities", strv_to_json(s->capabilities));
        add_str(o, "Seccomp", seccomp_mode_to_string(s->seccomp));
        json_object_object_add(o, "StopSignal", json_object_new_int(s->stop_signal));
        json_object_object_add(o, "StopTimeoutUSec", json_object_new_uint64(s->stop_timeout_usec));
        add_str(o, "Restart", restart_policy_to_string(s->restart));
        json_object_object_add(o, "AutoRemove", json_object_new_boolean(s->auto_remove));
        a = json_object_new_object();
        for (size_t i = 0; i < s->n_labels; i++)
                json_object_object_add(a, s->labels[i].key, json_object_new_string(s->labels[i].value));
        json_object_object_add(o, "Labels", a);

        *ret = o;
        return 0;
}

static int get_u64(json_object *o, const char *k, uint64_t *v) {
        json_object *e;

        if (!json_object_object_get_ex(o, k, &e))
                return 0;
        if (!json_object_is_type(e, json_type_int))
                return -EBADMSG;
        *v = json_object_get_uint64(e);
        return 0;
}

static int get_str(json_object *o, const char *k, char **v) {
        json_object *e;

        if (!json_object_object_get_ex(o, k, &e))
                return 0;
        if (!json_object_is_type(e, json_type_string))
                return -EBADMSG;
        return free_and_strdup(v, json_object_get_string(e));
}

static const char *peek_str(json_object *o, const char *k) {
        json_object *e;

        if (!json_object_object_get_ex(o, k, &e) || !json_object_is_type(e, json_type_string))
                return NULL;
        return json_object_get_string(e);
}

int settings_from_json(Settings *s, json_object *o) {
        json_object *e;
        const char *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return -EBADMSG;
        if (json_object_object_get_ex(o, "Command", &e) && (r = strv_from_json(e, &s->command)) < 0)
                return r;
        if (json_object_object_get_ex(o, "Environment", &e) && (r = strv_from_json(e, &s->environment)) < 0)
                return r;
        if ((r = get_str(o, "WorkingDirectory", &s->working_directory)) < 0 ||
            (r = get_str(o, "User", &s->user)) < 0 || (r = get_str(o, "Hostname", &s->hostname)) < 0 ||
            (r = get_str(o, "Slice", &s->slice)) < 0)
                return r;
        if ((r = get_u64(o, "MemoryMax", &s->memory_max)) < 0 || (r = get_u64(o, "MemoryHigh", &s->memory_high)) < 0 ||
            (r = get_u64(o, "MemoryLow", &s->memory_low)) < 0 ||
            (r = get_u64(o, "MemorySwapMax", &s->memory_swap_max)) < 0 ||
            (r = get_u64(o, "CPUWeight", &s->cpu_weight)) < 0 ||
            (r = get_u64(o, "CPUQuotaPerSecUSec", &s->cpu_quota_per_sec_usec)) < 0 ||
            (r = get_u64(o, "TasksMax", &s->tasks_max)) < 0 || (r = get_u64(o, "IOWeight", &s->io_weight)) < 0 ||
            (r = get_u64(o, "StopTimeoutUSec", &s->stop_timeout_usec)) < 0)
                return r;
        v = peek_str(o, "AllowedCPUs");
        if (v && (r = parse_cpuset(v, &s->allowed_cpus, &s->allowed_cpus_size)) < 0)
                return r;
        if ((v = peek_str(o, "Network")) && (s->network = network_mode_from_string(v)) < 0)
                return -EBADMSG;
        if ((v = peek_str(o, "PrivateUsers")) && (s->private_users = private_users_from_string(v)) < 0)
                return -EBADMSG;
        if ((v = peek_str(o, "Seccomp")) && (s->seccomp = seccomp_mode_from_string(v)) < 0)
                return -EBADMSG;
        if ((v = peek_str(o, "Restart")) && (s->restart = restart_policy_from_string(v)) < 0)
                return -EBADMSG;
        if (json_object_object_get_ex(o, "Capabilities", &e)) {
                if ((r = strv_from_json(e, &s->capabilities)) < 0)
                        return r;
                s->capabilities_set = true;
        }
        if (json_object_object_get_ex(o, "ReadOnly", &e))
                s->read_only = json_object_get_boolean(e);
        if (json_object_object_get_ex(o, "AutoRemove", &e))
                s->auto_remove = json_object_get_boolean(e);
        if (json_object_object_get_ex(o, "StopSignal", &e))
                s->stop_signal = json_object_get_int(e);

        if (json_object_object_get_ex(o, "PublishPorts", &e) && json_object_is_type(e, json_type_array)) {
                size_t n = json_object_array_length(e);
                s->ports = calloc(n ?: 1, sizeof(PortMapping));
                if (!s->ports)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++, s->n_ports++) {
                        json_object *p = json_object_array_get_idx(e, i), *x;
                        if ((r = get_str(p, "Protocol", &s->ports[i].protocol)) < 0)
                                return r;
                        if (json_object_object_get_ex(p, "HostPort", &x))
                                s->ports[i].host_port = json_object_get_int(x);
                        if (json_object_object_get_ex(p, "ContainerPort", &x))
                                s->ports[i].container_port = json_object_get_int(x);
                }
        }
        if (json_object_object_get_ex(o, "BindPaths", &e) && json_object_is_type(e, json_type_array)) {
                size_t n = json_object_array_length(e);
                s->binds = calloc(n ?: 1, sizeof(BindPath));
                if (!s->binds)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++, s->n_binds++) {
                        json_object *p = json_object_array_get_idx(e, i), *x;
                        if ((r = get_str(p, "Source", &s->binds[i].source)) < 0 ||
                            (r = get_str(p, "Destination", &s->binds[i].destination)) < 0)
                                return r;
                        if (json_object_object_get_ex(p, "ReadOnly", &x))
                                s->binds[i].read_only = json_object_get_boolean(x);
                }
        }
        if (json_object_object_get_ex(o, "Labels", &e) && json_object_is_type(e, json_type_object)) {
                s->labels = calloc(json_object_object_length(e) ?: 1, sizeof(Label));
                if (!s->labels)
                        return -ENOMEM;
                json_object_object_foreach(e, key, val) {
                        s->labels[s->n_labels].key = strdup(key);
                        s->labels[s->n_labels].value = strdup(json_object_get_string(val));
                        s->n_labels++;
                        if (!s->labels[s->n_labels - 1].key || !s->labels[s->n_labels - 1].value)
                                return -ENOMEM;
                }
        }
        return 0;
}
