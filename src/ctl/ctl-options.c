/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl-options.h"
#include "name-util.h"
#include "parse-util.h"
#include "string-util.h"

void container_options_init(ContainerOptions *o) {
        *o = (ContainerOptions) {
                .stdin_fd = -EBADF,
                .stdout_fd = -EBADF,
                .stderr_fd = -EBADF,
                .console_fd = -EBADF,
        };
}

void container_options_done(ContainerOptions *o) {
        if (!o)
                return;
        free(o->name);
        strv_free(o->command);
        strv_free(o->environment);
        free(o->working_directory);
        free(o->user);
        free(o->hostname);
        free(o->allowed_cpus);
        free(o->slice);
        free(o->restart);
        free(o->network);
        free(o->ports);
        for (size_t i = 0; i < o->n_binds; i++) {
                free(o->binds[i].source);
                free(o->binds[i].destination);
        }
        free(o->binds);
        free(o->private_users);
        strv_free(o->cap_add);
        strv_free(o->cap_drop);
        free(o->seccomp);
        strv_free(o->labels);
        /* the stdio fds belong to the caller */
        container_options_init(o);
}

/* ---- value parsers ---------------------------------------------------------------------------- */

static bool is_infinity_word(const char *s) {
        return streq(s, "-1") || strcasecmp(s, "max") == 0 || strcasecmp(s, "infinity") == 0;
}

int parse_limit_size(const char *s, uint64_t *ret) {
        uint64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        if (is_infinity_word(s)) {
                *ret = UINT64_MAX;
                return 0;
        }
        r = parse_size(s, &v);
        if (r < 0)
                return r;
        if (v == 0 || v == UINT64_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_docker_memory_swap(uint64_t memory, uint64_t swap_total, uint64_t *ret_swap_max) {
        /* Docker's --memory-swap is the total of memory and swap; systemd's MemorySwapMax is the swap
         * alone. -1 means unlimited swap, with or without a memory limit. */
        if (swap_total == UINT64_MAX) {
                *ret_swap_max = UINT64_MAX;
                return 0;
        }
        if (memory == UINT64_MAX)
                return -EINVAL;
        if (swap_total < memory)
                return -ERANGE;
        *ret_swap_max = swap_total - memory;
        return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *ret) {
        char buf[6];
        uint64_t v;

        if (n == 0 || n >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, n);
        buf[n] = 0;
        if (safe_atou64(buf, &v) < 0)
                return -EINVAL;
        if (v < 1 || v > 65535)
                return -ERANGE;
        *ret = (uint16_t) v;
        return 0;
}

int parse_publish(const char *s, PortMapping *ret) {
        PortMapping p = { .protocol = "tcp" };
        const char *colon, *slash, *end;
        int r;

        if (isempty(s))
                return -EINVAL;

        /* HOST:CONTAINER[/PROTO]. Docker's IP:HOST:CONTAINER and bare CONTAINER are not part of our
         * API: a second colon or none is an error, not a guess. */
        colon = strchr(s, ':');
        if (!colon || strchr(colon + 1, ':'))
                return -EINVAL;
        slash = strchr(colon + 1, '/');
        end = slash ?: colon + 1 + strlen(colon + 1);

        r = parse_port(s, colon - s, &p.host_port);
        if (r < 0)
                return r;
        r = parse_port(colon + 1, end - (colon + 1), &p.container_port);
        if (r < 0)
                return r;
        if (slash) {
                if (strcasecmp(slash + 1, "udp") == 0)
                        strcpy(p.protocol, "udp");
                else if (strcasecmp(slash + 1, "tcp") != 0)
                        return -EINVAL;
        }
        *ret = p;
        return 0;
}

int parse_bind(const char *s, BindMount *ret) {
        _cleanup_free_ char *source = NULL, *destination = NULL;
        const char *c1, *c2;
        bool ro = false;

        if (isempty(s))
                return -EINVAL;
        c1 = strchr(s, ':');
        if (!c1)
                return -EINVAL;
        c2 = strchr(c1 + 1, ':');
        if (c2) {
                if (streq(c2 + 1, "ro"))
                        ro = true;
                else if (!streq(c2 + 1, "rw"))
                        return -EINVAL;
        } else
                c2 = c1 + strlen(c1);

        /* Both ends absolute: a relative source would be a Docker named volume, which we do not
         * have, and the daemon does not share our working directory. */
        if (c1 == s || s[0] != '/' || c2 == c1 + 1 || c1[1] != '/')
                return -EINVAL;

        source = strndup(s, c1 - s);
        destination = strndup(c1 + 1, c2 - (c1 + 1));
        if (!source || !destination)
                return -ENOMEM;

        *ret = (BindMount) {
                .source = TAKE_PTR(source),
                .destination = TAKE_PTR(destination),
                .read_only = ro,
        };
        return 0;
}

int parse_env_option(const char *s, char ***env) {
        _cleanup_free_ char *a = NULL;
        const char *v;

        if (isempty(s))
                return -EINVAL;
        if (strchr(s, '=')) {
                if (!env_assignment_is_valid(s))
                        return -EINVAL;
                return strv_env_set(env, s);
        }

        /* "-e KEY": Docker takes KEY from the client's environment, and leaves it out if unset. */
        a = strjoin(s, "=");
        if (!a)
                return -ENOMEM;
        if (!env_assignment_is_valid(a))
                return -EINVAL;
        v = getenv(s);
        if (!v)
                return 0;
        free(a);
        a = strjoin(s, "=", v);
        if (!a)
                return -ENOMEM;
        return strv_env_set(env, a);
}

int parse_label_option(const char *s, char ***labels) {
        _cleanup_free_ char *a = NULL;

        if (isempty(s) || s[0] == '=')
                return -EINVAL;
        /* "KEY" alone is an empty label, as with Docker */
        a = strchr(s, '=') ? strdup(s) : strjoin(s, "=");
        if (!a)
                return -ENOMEM;
        return strv_env_set(labels, a);
}

int parse_restart_policy(const char *s, const char **ret) {
        if (isempty(s))
                return -EINVAL;
        if (streq(s, "no"))
                *ret = "no";
        else if (streq(s, "always"))
                *ret = "always";
        else if (streq(s, "on-failure") || startswith(s, "on-failure:")) {
                /* Docker's retry count has no counterpart: systemd-style restart limits live in the
                 * daemon. Still, a count must be a number. */
                if (s[10] == ':') {
                        uint64_t n;
                        if (safe_atou64(s + 11, &n) < 0)
                                return -EINVAL;
                }
                *ret = "on-failure";
        } else
                return -EINVAL;
        return 0;
}

/* ---- capabilities ----------------------------------------------------------------------------- */

static const char *const capability_names[] = {
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
        "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
};

const char *capability_to_name(int cap) {
        if (cap < 0 || (size_t) cap >= ELEMENTSOF(capability_names))
                return NULL;
        return capability_names[cap];
}

int capability_from_name(const char *s) {
        if (isempty(s))
                return -EINVAL;
        if (strncasecmp(s, "CAP_", 4) == 0)
                s += 4;
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (strcasecmp(capability_names[i] + 4, s) == 0)
                        return (int) i;
        return -EINVAL;
}

#define CAP_BIT(c) (UINT64_C(1) << (c))

uint64_t capability_docker_default(void) {
        /* moby's oci/caps/defaults.go */
        static const char *const defaults[] = {
                "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
                "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
        };
        uint64_t m = 0;

        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                m |= CAP_BIT(capability_from_name(defaults[i]));
        return m;
}

static bool strv_has_all(char **l) {
        STRV_FOREACH(s, l)
                if (strcasecmp(*s, "ALL") == 0)
                        return true;
        return false;
}

static int capability_mask(char **l, uint64_t *ret) {
        uint64_t m = 0;

        STRV_FOREACH(s, l) {
                int c;

                if (strcasecmp(*s, "ALL") == 0)
                        continue;
                c = capability_from_name(*s);
                if (c < 0)
                        return c;
                m |= CAP_BIT(c);
        }
        *ret = m;
        return 0;
}

int capabilities_compute(char **add, char **drop, uint64_t last_cap, uint64_t *ret) {
        uint64_t all, a, d, m;
        int r;

        if (last_cap >= ELEMENTSOF(capability_names))
                last_cap = ELEMENTSOF(capability_names) - 1;
        all = last_cap >= 63 ? UINT64_MAX : CAP_BIT(last_cap + 1) - 1;

        r = capability_mask(add, &a);
        if (r < 0)
                return r;
        r = capability_mask(drop, &d);
        if (r < 0)
                return r;

        if (strv_has_all(add))
                m = all & ~d;
        else if (strv_has_all(drop))
                m = a;
        else
                m = (capability_docker_default() & ~d) | a;

        /* an explicit --cap-add of a capability this kernel lacks is the caller's to see refused */
        *ret = m;
        return 0;
}

int capabilities_to_strv(uint64_t mask, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;

        /* never NULL on success, so that "no capabilities at all" is sent as an empty list */
        l = calloc(1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(capability_names); i++)
                if (mask & CAP_BIT(i)) {
                        int r = strv_extend(&l, capability_names[i]);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(l);
        return 0;
}

static int parse_capability_list(const char *s, char ***l) {
        _cleanup_strv_free_ char **words = NULL;
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;

        if (isempty(s))
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        /* Repeat the option or separate with commas: "--cap-add=NET_ADMIN,SYS_TIME". All or
         * nothing: a bad word leaves the list as it was. */
        for (char *w = strtok_r(copy, ",", &saveptr); w; w = strtok_r(NULL, ",", &saveptr)) {
                int r;

                if (strcasecmp(w, "ALL") != 0 && capability_from_name(w) < 0)
                        return -EINVAL;
                r = strv_extend(&words, w);
                if (r < 0)
                        return r;
        }
        if (!words)
                return -EINVAL;
        STRV_FOREACH(w, words) {
                int r = strv_extend(l, *w);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- per-option handlers ---------------------------------------------------------------------- */

static int set_string(char **field, const char *value) {
        return free_and_strdup(field, value);
}

static int opt_name(ContainerOptions *o, const char *v) {
        if (!container_name_is_valid(v))
                return -EINVAL;
        return set_string(&o->name, v);
}

static int opt_detach(ContainerOptions *o, const char *v) {
        o->detach = true;
        return 0;
}

static int opt_rm(ContainerOptions *o, const char *v) {
        o->auto_remove = true;
        return 0;
}

static int opt_interactive(ContainerOptions *o, const char *v) {
        o->interactive = true;
        return 0;
}

static int opt_tty(ContainerOptions *o, const char *v) {
        o->tty = true;
        return 0;
}

static int opt_env(ContainerOptions *o, const char *v) {
        return parse_env_option(v, &o->environment);
}

static int opt_workdir(ContainerOptions *o, const char *v) {
        if (isempty(v) || v[0] != '/')
                return -EINVAL;
        return set_string(&o->working_directory, v);
}

static int opt_user(ContainerOptions *o, const char *v) {
        if (isempty(v))
                return -EINVAL;
        return set_string(&o->user, v);
}

static int opt_hostname(ContainerOptions *o, const char *v) {
        /* the same rule as names: a valid host name */
        if (!container_name_is_valid(v))
                return -EINVAL;
        return set_string(&o->hostname, v);
}

static int set_limit_size(OptionalU64 *field, const char *v) {
        uint64_t n;
        int r;

        r = parse_limit_size(v, &n);
        if (r < 0)
                return r;
        *field = (OptionalU64) { true, n };
        return 0;
}

static int opt_memory(ContainerOptions *o, const char *v) {
        return set_limit_size(&o->memory_max, v);
}

static int opt_memory_high(ContainerOptions *o, const char *v) {
        return set_limit_size(&o->memory_high, v);
}

static int opt_memory_reservation(ContainerOptions *o, const char *v) {
        return set_limit_size(&o->memory_low, v);
}

static int opt_memory_swap(ContainerOptions *o, const char *v) {
        return set_limit_size(&o->memory_swap_total, v);
}

static int opt_cpus(ContainerOptions *o, const char *v) {
        uint64_t n;
        int r;

        r = parse_cpus(v, &n);
        if (r < 0)
                return r;
        o->cpu_quota_per_sec_usec = (OptionalU64) { true, n };
        return 0;
}

static int parse_weight(const char *v, OptionalU64 *field) {
        uint64_t n;

        if (safe_atou64(v, &n) < 0)
                return -EINVAL;
        if (n < 1 || n > 10000)
                return -ERANGE;
        *field = (OptionalU64) { true, n };
        return 0;
}

static int opt_cpu_weight(ContainerOptions *o, const char *v) {
        return parse_weight(v, &o->cpu_weight);
}

static int opt_io_weight(ContainerOptions *o, const char *v) {
        return parse_weight(v, &o->io_weight);
}

static int opt_cpu_shares(ContainerOptions *o, const char *v) {
        uint64_t n;

        if (safe_atou64(v, &n) < 0)
                return -EINVAL;
        if (n < 1)
                return -ERANGE;
        o->cpu_weight = (OptionalU64) { true, cpu_shares_to_weight(n) };
        return 0;
}

static int opt_pids_limit(ContainerOptions *o, const char *v) {
        uint64_t n;

        if (isempty(v))
                return -EINVAL;
        if (is_infinity_word(v))
                n = UINT64_MAX;
        else {
                if (safe_atou64(v, &n) < 0)
                        return -EINVAL;
                if (n < 1 || n == UINT64_MAX)
                        return -ERANGE;
        }
        o->tasks_max = (OptionalU64) { true, n };
        return 0;
}

static int opt_cpuset(ContainerOptions *o, const char *v) {
        uint8_t *mask;
        size_t n;
        int r;

        r = parse_cpuset(v, &mask, &n);
        if (r < 0)
                return r;
        free(o->allowed_cpus);
        o->allowed_cpus = mask;
        o->n_allowed_cpus = n;
        return 0;
}

static int opt_slice(ContainerOptions *o, const char *v) {
        if (isempty(v) || !endswith(v, ".slice") || strlen(v) <= strlen(".slice") || strchr(v, '/'))
                return -EINVAL;
        return set_string(&o->slice, v);
}

static int opt_stop_signal(ContainerOptions *o, const char *v) {
        int s = parse_signal(v);

        if (s < 0)
                return s;
        o->stop_signal = s;
        return 0;
}

static int opt_stop_timeout(ContainerOptions *o, const char *v) {
        uint64_t n;
        int r;

        if (isempty(v))
                return -EINVAL;
        if (streq(v, "-1"))
                n = UINT64_MAX;
        else {
                /* a plain number is seconds, as with Docker; systemd's forms work too */
                r = parse_sec(v, &n);
                if (r < 0)
                        return r;
        }
        o->stop_timeout_usec = (OptionalU64) { true, n };
        return 0;
}

static int opt_restart(ContainerOptions *o, const char *v) {
        const char *p;
        int r;

        r = parse_restart_policy(v, &p);
        if (r < 0)
                return r;
        return set_string(&o->restart, p);
}

static int opt_network(ContainerOptions *o, const char *v) {
        if (!v || !(streq(v, "none") || streq(v, "host") || streq(v, "bridge")))
                return -EINVAL;
        return set_string(&o->network, v);
}

static int opt_publish(ContainerOptions *o, const char *v) {
        PortMapping p, *n;
        int r;

        r = parse_publish(v, &p);
        if (r < 0)
                return r;
        n = reallocarray(o->ports, o->n_ports + 1, sizeof(PortMapping));
        if (!n)
                return -ENOMEM;
        o->ports = n;
        o->ports[o->n_ports++] = p;
        return 0;
}

static int opt_bind(ContainerOptions *o, const char *v) {
        BindMount b, *n;
        int r;

        r = parse_bind(v, &b);
        if (r < 0)
                return r;
        n = reallocarray(o->binds, o->n_binds + 1, sizeof(BindMount));
        if (!n) {
                free(b.source);
                free(b.destination);
                return -ENOMEM;
        }
        o->binds = n;
        o->binds[o->n_binds++] = b;
        return 0;
}

static int opt_read_only(ContainerOptions *o, const char *v) {
        o->read_only = o->read_only_set = true;
        return 0;
}

static int opt_private_users(ContainerOptions *o, const char *v) {
        if (!v || !(streq(v, "no") || streq(v, "yes") || streq(v, "pick")))
                return -EINVAL;
        return set_string(&o->private_users, v);
}

static int opt_cap_add(ContainerOptions *o, const char *v) {
        return parse_capability_list(v, &o->cap_add);
}

static int opt_cap_drop(ContainerOptions *o, const char *v) {
        return parse_capability_list(v, &o->cap_drop);
}

static int opt_seccomp(ContainerOptions *o, const char *v) {
        if (!v || !(streq(v, "default") || streq(v, "unconfined")))
                return -EINVAL;
        return set_string(&o->seccomp, v);
}

static int opt_label(ContainerOptions *o, const char *v) {
        return parse_label_option(v, &o->labels);
}

#define SIZE_EXPECT "a size in bytes with an optional K/M/G/T suffix, or \"max\""

const ContainerOptionDef container_option_defs[] = {
        { "name", 0, "NAME", OPTION_CREATE_RUN, opt_name, "a host name like \"web-1\"",
          "Name the container (default: generated)" },
        { "detach", 'd', NULL, OPTION_RUN, opt_detach, NULL,
          "Run in the background and print the name" },
        { "rm", 0, NULL, OPTION_CREATE_RUN, opt_rm, NULL,
          "Remove the container when it exits" },
        { "interactive", 'i', NULL, OPTION_RUN, opt_interactive, NULL,
          "Pass our standard input to the container" },
        { "tty", 't', NULL, OPTION_RUN, opt_tty, NULL,
          "Run the command on a terminal of the container's own" },
        { "env", 'e', "KEY[=VALUE]", OPTION_CREATE_RUN, opt_env, "KEY=VALUE, or KEY to pass ours on",
          "Set an environment variable" },
        { "workdir", 'w', "PATH", OPTION_CREATE_RUN, opt_workdir, "an absolute path",
          "Working directory inside the container" },
        { "user", 'u', "USER[:GROUP]", OPTION_CREATE_RUN, opt_user, "a user name or uid",
          "User to run the command as" },
        { "hostname", 0, "NAME", OPTION_CREATE_RUN, opt_hostname, "a valid host name",
          "Host name inside the container" },
        { "memory", 'm', "BYTES", OPTION_ALL, opt_memory, SIZE_EXPECT,
          "Memory limit (MemoryMax)" },
        { "memory-high", 0, "BYTES", OPTION_ALL, opt_memory_high, SIZE_EXPECT,
          "Memory throttling point (MemoryHigh)" },
        { "memory-reservation", 0, "BYTES", OPTION_ALL, opt_memory_reservation, SIZE_EXPECT,
          "Memory soft limit (MemoryLow)" },
        { "memory-swap", 0, "BYTES", OPTION_ALL, opt_memory_swap, SIZE_EXPECT " or -1",
          "Memory plus swap limit, -1 for unlimited swap" },
        { "cpus", 0, "NUMBER", OPTION_ALL, opt_cpus, "a number of CPUs like 1.5, at least 0.001",
          "CPU time limit in CPUs (CPUQuotaPerSecUSec)" },
        { "cpu-weight", 0, "WEIGHT", OPTION_ALL, opt_cpu_weight, "an integer from 1 to 10000",
          "CPU weight, 1..10000 (CPUWeight)" },
        { "cpu-shares", 0, "SHARES", OPTION_ALL, opt_cpu_shares, "a positive integer, 2..262144",
          "Docker CPU shares, converted to a CPU weight" },
        { "pids-limit", 0, "NUMBER", OPTION_ALL, opt_pids_limit, "a positive integer, or -1 or \"max\"",
          "Maximum number of tasks, -1 for unlimited (TasksMax)" },
        { "cpuset", 0, "CPUS", OPTION_ALL, opt_cpuset, "a CPU list like 0-3,6",
          "CPUs the container may run on (AllowedCPUs)" },
        { "io-weight", 0, "WEIGHT", OPTION_ALL, opt_io_weight, "an integer from 1 to 10000",
          "IO weight, 1..10000 (IOWeight)" },
        { "slice", 0, "SLICE", OPTION_CREATE_RUN, opt_slice, "a unit name ending in \".slice\"",
          "Slice to place the container in (default: machine.slice)" },
        { "stop-signal", 0, "SIGNAL", OPTION_CREATE_RUN, opt_stop_signal, "a signal name or number",
          "Signal that stops the container (default: SIGTERM)" },
        { "stop-timeout", 0, "TIME", OPTION_CREATE_RUN, opt_stop_timeout,
          "seconds, or a time span like 30s, 2min; -1 for none",
          "Time to wait after the stop signal before SIGKILL" },
        { "restart", 0, "POLICY", OPTION_CREATE_RUN, opt_restart, "no, on-failure or always",
          "Restart policy: no, on-failure, always" },
        { "network", 0, "MODE", OPTION_CREATE_RUN, opt_network, "none, host or bridge",
          "Network: none, host, bridge" },
        { "publish", 'p', "HOST:CONTAINER[/PROTO]", OPTION_CREATE_RUN, opt_publish,
          "HOST:CONTAINER with ports 1..65535 and an optional /tcp or /udp",
          "Publish a container port on the host" },
        { "bind", 'v', "SRC:DST[:ro]", OPTION_CREATE_RUN, opt_bind,
          "SOURCE:DESTINATION with absolute paths and an optional :ro or :rw",
          "Bind mount a host path into the container" },
        { "read-only", 0, NULL, OPTION_CREATE_RUN, opt_read_only, NULL,
          "Mount the container's root file system read-only" },
        { "private-users", 0, "MODE", OPTION_CREATE_RUN, opt_private_users, "no, yes or pick",
          "User namespace: no, yes, pick" },
        { "cap-add", 0, "CAP", OPTION_CREATE_RUN, opt_cap_add, "a capability name like NET_ADMIN, or ALL",
          "Add a capability to Docker's default set" },
        { "cap-drop", 0, "CAP", OPTION_CREATE_RUN, opt_cap_drop, "a capability name like NET_RAW, or ALL",
          "Drop a capability from Docker's default set" },
        { "seccomp", 0, "PROFILE", OPTION_CREATE_RUN, opt_seccomp, "default or unconfined",
          "Seccomp filter: default, unconfined" },
        { "label", 'l', "KEY=VALUE", OPTION_CREATE_RUN, opt_label, "KEY=VALUE with a non-empty KEY",
          "Attach a label" },
};

const size_t container_option_defs_count = ELEMENTSOF(container_option_defs);

const ContainerOptionDef *container_option_find(const char *long_name) {
        for (size_t i = 0; i < ELEMENTSOF(container_option_defs); i++)
                if (streq(container_option_defs[i].long_name, long_name))
                        return container_option_defs + i;
        return NULL;
}

const ContainerOptionDef *container_option_find_typed(const char *arg, int short_name) {
        _cleanup_free_ char *name = NULL;

        if (short_name > 0 && short_name < 128)
                return container_option_from_getopt(short_name);
        if (!arg || !startswith(arg, "--"))
                return NULL;
        name = strndup(arg + 2, strcspn(arg + 2, "="));
        return name ? container_option_find(name) : NULL;
}

const char *option_scope_verbs(OptionScope scope) {
        if (scope == OPTION_RUN)
                return "run";
        if (scope == OPTION_CREATE_RUN)
                return "create and run";
        if (scope == OPTION_ALL)
                return "create, run and update";
        return NULL;
}

int container_option_apply(ContainerOptions *o, const char *long_name, const char *value) {
        const ContainerOptionDef *d = container_option_find(long_name);

        if (!d)
                return -ENOENT;
        if (d->metavar && !value)
                return -EINVAL;
        return d->parse(o, value);
}

int container_options_getopt(OptionScope scope, struct option **ret_options, char **ret_optstring) {
        _cleanup_free_ struct option *options = NULL;
        _cleanup_free_ char *optstring = NULL;
        size_t n = 0, k = 0;

        options = calloc(ELEMENTSOF(container_option_defs) + 1, sizeof(struct option));
        optstring = calloc(2 * ELEMENTSOF(container_option_defs) + 1, 1);
        if (!options || !optstring)
                return -ENOMEM;

        for (size_t i = 0; i < ELEMENTSOF(container_option_defs); i++) {
                const ContainerOptionDef *d = container_option_defs + i;

                if (!(d->scope & scope))
                        continue;
                options[n++] = (struct option) {
                        .name = d->long_name,
                        .has_arg = d->metavar ? required_argument : no_argument,
                        .val = d->short_name ?: (int) (CONTAINER_OPTION_BASE + i),
                };
                if (d->short_name) {
                        optstring[k++] = d->short_name;
                        if (d->metavar)
                                optstring[k++] = ':';
                }
        }

        *ret_options = TAKE_PTR(options);
        *ret_optstring = TAKE_PTR(optstring);
        return 0;
}

const ContainerOptionDef *container_option_from_getopt(int c) {
        if (c >= CONTAINER_OPTION_BASE &&
            (size_t) c < CONTAINER_OPTION_BASE + ELEMENTSOF(container_option_defs))
                return container_option_defs + (c - CONTAINER_OPTION_BASE);
        if (c <= 0 || c >= 128)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(container_option_defs); i++)
                if (container_option_defs[i].short_name == c)
                        return container_option_defs + i;
        return NULL;
}

void container_options_help(OptionScope scope) {
        for (size_t i = 0; i < ELEMENTSOF(container_option_defs); i++) {
                const ContainerOptionDef *d = container_option_defs + i;
                char spec[64];

                if (!(d->scope & scope))
                        continue;
                snprintf(spec, sizeof spec, "%c%c%s--%s%s%s",
                         d->short_name ? '-' : ' ', d->short_name ?: ' ', d->short_name ? " " : " ",
                         d->long_name, d->metavar ? "=" : "", strempty(d->metavar));
                if (strlen(spec) > 30)
                        printf("  %s\n  %-30s  %s\n", spec, "", d->help);
                else
                        printf("  %-30s  %s\n", spec, d->help);
        }
}

/* ---- settings --------------------------------------------------------------------------------- */

int container_options_finalize(ContainerOptions *o, uint64_t current_memory_max, uint64_t last_cap,
                               const char **ret_reason) {
        const char *reason = NULL;
        int r;

        if (o->memory_swap_total.set) {
                uint64_t memory = o->memory_max.set ? o->memory_max.value : current_memory_max, swap;

                r = parse_docker_memory_swap(memory, o->memory_swap_total.value, &swap);
                if (r == -EINVAL)
                        reason = "--memory-swap is memory plus swap: it needs a --memory limit.";
                else if (r == -ERANGE)
                        reason = "--memory-swap is memory plus swap: it must not be less than --memory.";
                if (r < 0)
                        goto fail;
                o->memory_swap_max = (OptionalU64) { true, swap };
        }

        if (o->cap_add || o->cap_drop) {
                r = capabilities_compute(o->cap_add, o->cap_drop, last_cap, &o->capabilities);
                if (r < 0) {
                        reason = "Unknown capability.";
                        goto fail;
                }
                o->capabilities_set = true;
        }

        return 0;

fail:
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

bool container_options_has_settings(const ContainerOptions *o) {
        return o->command || o->environment || o->working_directory || o->user || o->hostname ||
                o->memory_max.set || o->memory_high.set || o->memory_low.set || o->memory_swap_max.set ||
                o->memory_swap_total.set || o->cpu_weight.set || o->cpu_quota_per_sec_usec.set ||
                o->tasks_max.set || o->io_weight.set || o->allowed_cpus || o->slice || o->stop_signal > 0 ||
                o->stop_timeout_usec.set || o->restart || o->network || o->n_ports > 0 || o->n_binds > 0 ||
                o->read_only_set || o->private_users || o->capabilities_set || o->cap_add || o->cap_drop ||
                o->seccomp || o->labels || o->auto_remove || o->stdin_fd >= 0 || o->stdout_fd >= 0 ||
                o->stderr_fd >= 0 || o->console_fd >= 0;
}

/* One (sv) of an a(sv) array: opened with the variant's signature, the value appended, closed. */
static int open_setting(sd_bus_message *m, const char *key, const char *signature) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', signature);
}

static int close_setting(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int settings_append_string(sd_bus_message *m, const char *key, const char *value) {
        return value ? sd_bus_message_append(m, "(sv)", key, "s", value) : 0;
}

static int append_u64(sd_bus_message *m, const char *key, OptionalU64 v) {
        return v.set ? sd_bus_message_append(m, "(sv)", key, "t", v.value) : 0;
}

int settings_append_strv(sd_bus_message *m, const char *key, char **l) {
        int r;

        if (!l)
                return 0;
        r = open_setting(m, key, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, l);
        if (r < 0)
                return r;
        return close_setting(m);
}

static int append_fd(sd_bus_message *m, const char *key, int fd) {
        return fd >= 0 ? sd_bus_message_append(m, "(sv)", key, "h", fd) : 0;
}

static int append_ports(sd_bus_message *m, const ContainerOptions *o) {
        int r;

        if (o->n_ports == 0)
                return 0;
        r = open_setting(m, "PublishPorts", "a(sqq)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sqq)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < o->n_ports; i++) {
                r = sd_bus_message_append(m, "(sqq)", o->ports[i].protocol, o->ports[i].host_port,
                                          o->ports[i].container_port);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_setting(m);
}

static int append_binds(sd_bus_message *m, const ContainerOptions *o) {
        int r;

        if (o->n_binds == 0)
                return 0;
        r = open_setting(m, "BindPaths", "a(ssb)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(ssb)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < o->n_binds; i++) {
                r = sd_bus_message_append(m, "(ssb)", o->binds[i].source, o->binds[i].destination,
                                          (int) o->binds[i].read_only);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_setting(m);
}

static int append_labels(sd_bus_message *m, const ContainerOptions *o) {
        int r;

        if (!o->labels)
                return 0;
        r = open_setting(m, "Labels", "a(ss)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(ss)");
        if (r < 0)
                return r;
        STRV_FOREACH(l, o->labels) {
                _cleanup_free_ char *key = NULL;
                const char *eq = strchr(*l, '=');

                key = strndup(*l, eq - *l);
                if (!key)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "(ss)", key, eq + 1);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_setting(m);
}

static int append_cpuset(sd_bus_message *m, const ContainerOptions *o) {
        int r;

        if (!o->allowed_cpus)
                return 0;
        r = open_setting(m, "AllowedCPUs", "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'y', o->allowed_cpus, o->n_allowed_cpus);
        if (r < 0)
                return r;
        return close_setting(m);
}

int container_options_append_settings(const ContainerOptions *o, sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;

        /* Only what the user gave: the daemon owns the defaults. */
        if ((r = settings_append_strv(m, "Command", o->command)) < 0 ||
            (r = settings_append_strv(m, "Environment", o->environment)) < 0 ||
            (r = settings_append_string(m, "WorkingDirectory", o->working_directory)) < 0 ||
            (r = settings_append_string(m, "User", o->user)) < 0 ||
            (r = settings_append_string(m, "Hostname", o->hostname)) < 0 ||
            (r = append_u64(m, "MemoryMax", o->memory_max)) < 0 ||
            (r = append_u64(m, "MemoryHigh", o->memory_high)) < 0 ||
            (r = append_u64(m, "MemoryLow", o->memory_low)) < 0 ||
            (r = append_u64(m, "MemorySwapMax", o->memory_swap_max)) < 0 ||
            (r = append_u64(m, "CPUWeight", o->cpu_weight)) < 0 ||
            (r = append_u64(m, "CPUQuotaPerSecUSec", o->cpu_quota_per_sec_usec)) < 0 ||
            (r = append_u64(m, "TasksMax", o->tasks_max)) < 0 ||
            (r = append_u64(m, "IOWeight", o->io_weight)) < 0 ||
            (r = append_cpuset(m, o)) < 0 ||
            (r = settings_append_string(m, "Slice", o->slice)) < 0 ||
            (r = settings_append_string(m, "Network", o->network)) < 0 ||
            (r = append_ports(m, o)) < 0 ||
            (r = append_binds(m, o)) < 0)
                return r;

        if (o->read_only_set) {
                r = sd_bus_message_append(m, "(sv)", "ReadOnly", "b", (int) o->read_only);
                if (r < 0)
                        return r;
        }
        r = settings_append_string(m, "PrivateUsers", o->private_users);
        if (r < 0)
                return r;
        if (o->capabilities_set) {
                _cleanup_strv_free_ char **caps = NULL;

                r = capabilities_to_strv(o->capabilities, &caps);
                if (r < 0)
                        return r;
                r = settings_append_strv(m, "Capabilities", caps);
                if (r < 0)
                        return r;
        }
        r = settings_append_string(m, "Seccomp", o->seccomp);
        if (r < 0)
                return r;
        if (o->stop_signal > 0) {
                r = sd_bus_message_append(m, "(sv)", "StopSignal", "i", (int32_t) o->stop_signal);
                if (r < 0)
                        return r;
        }
        if ((r = append_u64(m, "StopTimeoutUSec", o->stop_timeout_usec)) < 0 ||
            (r = settings_append_string(m, "Restart", o->restart)) < 0)
                return r;
        if (o->auto_remove) {
                r = sd_bus_message_append(m, "(sv)", "AutoRemove", "b", 1);
                if (r < 0)
                        return r;
        }
        if ((r = append_labels(m, o)) < 0 ||
            (r = append_fd(m, "StandardInputFileDescriptor", o->stdin_fd)) < 0 ||
            (r = append_fd(m, "StandardOutputFileDescriptor", o->stdout_fd)) < 0 ||
            (r = append_fd(m, "StandardErrorFileDescriptor", o->stderr_fd)) < 0 ||
            (r = append_fd(m, "ConsoleSocketFileDescriptor", o->console_fd)) < 0)
                return r;
        if (o->console_fd >= 0 && o->tty_rows > 0 && o->tty_columns > 0) {
                r = sd_bus_message_append(m, "(sv)(sv)", "TTYRows", "q", o->tty_rows, "TTYColumns", "q", o->tty_columns);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_close_container(m);
}
