/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl-properties.h"
#include "output.h"
#include "parse-util.h"
#include "string-util.h"

char *format_in_addr(int family, const void *data, size_t size, char *buf, size_t l) {
        if (family == AF_INET && size == 4)
                return (char *) inet_ntop(AF_INET, data, buf, l);
        if (family == AF_INET6 && size == 16)
                return (char *) inet_ntop(AF_INET6, data, buf, l);
        return NULL;
}

static int read_in_addr(sd_bus_message *m, char *buf, size_t l) {
        const void *data;
        int32_t family;
        size_t size;
        int r;

        r = sd_bus_message_read(m, "i", &family);
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 'y', &data, &size);
        if (r < 0)
                return r;
        if (!format_in_addr(family, data, size, buf, l))
                snprintf(buf, l, "(family %" PRIi32 ", %zu bytes)", family, size);
        return 0;
}

/* any basic D-Bus value, as sd_bus_message_read_basic() writes it */
typedef union BasicValue {
        uint8_t u8;
        int16_t s16;
        uint16_t u16;
        int32_t s32;
        uint32_t u32;
        int64_t s64;
        uint64_t u64;
        int b;
        double d;
        const char *str;
        int fd;
} BasicValue;

/* a struct "iay" (family, address bytes) as text */
static int read_in_addr_struct(sd_bus_message *m, char *buf, size_t l) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, "iay");
        if (r < 0)
                return r;
        r = read_in_addr(m, buf, l);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_cpuset(sd_bus_message *m, char **ret) {
        const void *data;
        size_t size;
        int r;

        r = sd_bus_message_read_array(m, 'y', &data, &size);
        if (r < 0)
                return r;
        return format_cpuset(data, size, ret);
}

/* The type of the next value, which must be there. */
static int peek_value(sd_bus_message *m, char *ret_type, const char **ret_contents) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -EBADMSG;
        *ret_type = type;
        *ret_contents = contents;
        return 0;
}

static bool type_is_container(char type) {
        return IN_SET(type, SD_BUS_TYPE_ARRAY, SD_BUS_TYPE_STRUCT, SD_BUS_TYPE_DICT_ENTRY, SD_BUS_TYPE_VARIANT);
}

/* ---- text ------------------------------------------------------------------------------------- */

static int value_to_text(sd_bus_message *m, FILE *f);

static int basic_to_text(sd_bus_message *m, char type, FILE *f) {
        BasicValue v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_BYTE:
                fprintf(f, "%u", v.u8);
                break;
        case SD_BUS_TYPE_BOOLEAN:
                fputs(yes_no(v.b), f);
                break;
        case SD_BUS_TYPE_INT16:
                fprintf(f, "%" PRIi16, v.s16);
                break;
        case SD_BUS_TYPE_UINT16:
                fprintf(f, "%" PRIu16, v.u16);
                break;
        case SD_BUS_TYPE_INT32:
                fprintf(f, "%" PRIi32, v.s32);
                break;
        case SD_BUS_TYPE_UINT32:
                fprintf(f, "%" PRIu32, v.u32);
                break;
        case SD_BUS_TYPE_INT64:
                fprintf(f, "%" PRIi64, v.s64);
                break;
        case SD_BUS_TYPE_UINT64:
                if (v.u64 == UINT64_MAX)
                        fputs("infinity", f);
                else
                        fprintf(f, "%" PRIu64, v.u64);
                break;
        case SD_BUS_TYPE_DOUBLE:
                fprintf(f, "%g", v.d);
                break;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                fputs(v.str, f);
                break;
        case SD_BUS_TYPE_UNIX_FD:
                fprintf(f, "%i", v.fd);
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

static int container_to_text(sd_bus_message *m, char type, const char *contents, FILE *f) {
        bool first = true;
        int r;

        if (type == SD_BUS_TYPE_STRUCT && streq(contents, "iay")) {
                char buf[INET6_ADDRSTRLEN + 32];

                r = read_in_addr_struct(m, buf, sizeof buf);
                if (r < 0)
                        return r;
                fputs(buf, f);
                return 0;
        }

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                if (!first) {
                        if (type == SD_BUS_TYPE_ARRAY)
                                fputc(' ', f);
                        else if (type == SD_BUS_TYPE_DICT_ENTRY || streq(contents, "ss"))
                                fputc('=', f);
                        else
                                fputc(':', f);
                }
                first = false;
                r = value_to_text(m, f);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int value_to_text(sd_bus_message *m, FILE *f) {
        const char *contents;
        char type;
        int r;

        r = peek_value(m, &type, &contents);
        if (r < 0)
                return r;
        if (type_is_container(type))
                return container_to_text(m, type, contents, f);
        return basic_to_text(m, type, f);
}

int bus_property_to_text(sd_bus_message *m, const char *name, char **ret) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        const char *contents;
        size_t size = 0;
        char type;
        int r;

        r = peek_value(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT)
                return -EBADMSG;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        if (streq_ptr(name, "AllowedCPUs") && streq(contents, "ay")) {
                _cleanup_free_ char *s = NULL;

                r = read_cpuset(m, &s);
                if (r < 0)
                        return r;
                fputs(s, f);
        } else if (streq(contents, "t") && name && STR_IN_SET(name, "CPUWeight", "IOWeight", "MemoryLow")) {
                /* UINT64_MAX is "not set" for every limit; "infinity" reads right for a maximum,
                 * not for a weight or a reservation (as systemctl show prints them) */
                uint64_t v;

                r = sd_bus_message_read_basic(m, 't', &v);
                if (r < 0)
                        return r;
                if (v == UINT64_MAX)
                        fputs("[not set]", f);
                else
                        fprintf(f, "%" PRIu64, v);
        } else if (streq(contents, "t") && name && (endswith(name, "Timestamp") || endswith(name, "USec"))) {
                /* as systemctl show prints them: a date, empty for never; a time span */
                char buf_t[MAX(FORMAT_TIMESTAMP_MAX, FORMAT_TIMESPAN_MAX)];
                uint64_t v;

                r = sd_bus_message_read_basic(m, 't', &v);
                if (r < 0)
                        return r;
                if (endswith(name, "Timestamp"))
                        fputs(strempty(format_timestamp(buf_t, sizeof buf_t, v)), f);
                else
                        fputs(format_timespan_exact(buf_t, sizeof buf_t, v), f);
        } else {
                r = value_to_text(m, f);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        if (fclose(TAKE_PTR(f)) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static int value_to_json(sd_bus_message *m, struct json_object **ret);

static int basic_to_json(sd_bus_message *m, char type, struct json_object **ret) {
        BasicValue v;
        struct json_object *j;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_BYTE:
                j = json_object_new_int(v.u8);
                break;
        case SD_BUS_TYPE_BOOLEAN:
                j = json_object_new_boolean(v.b);
                break;
        case SD_BUS_TYPE_INT16:
                j = json_object_new_int(v.s16);
                break;
        case SD_BUS_TYPE_UINT16:
                j = json_object_new_int(v.u16);
                break;
        case SD_BUS_TYPE_INT32:
                j = json_object_new_int(v.s32);
                break;
        case SD_BUS_TYPE_UINT32:
                j = json_object_new_int64(v.u32);
                break;
        case SD_BUS_TYPE_INT64:
                j = json_object_new_int64(v.s64);
                break;
        case SD_BUS_TYPE_UINT64:
                /* "not set", "unlimited", "unknown": no number to give */
                if (v.u64 == UINT64_MAX) {
                        *ret = NULL;
                        return 0;
                }
                j = json_object_new_uint64(v.u64);
                break;
        case SD_BUS_TYPE_DOUBLE:
                j = json_object_new_double(v.d);
                break;
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                j = json_object_new_string(v.str);
                break;
        case SD_BUS_TYPE_UNIX_FD:
                j = json_object_new_int(v.fd);
                break;
        default:
                return -EINVAL;
        }
        if (!j)
                return -ENOMEM;
        *ret = j;
        return 0;
}

/* a(ss) and a{..}: an object keyed by the first field, in text form */
static int pairs_to_json(sd_bus_message *m, char type, const char *contents, struct json_object **ret) {
        _cleanup_json_ struct json_object *obj = NULL;
        const char *inner = contents + 1;
        _cleanup_free_ char *inner_sig = NULL;
        int r;

        /* contents is "(ss)" or "{sv}"...: strip the brackets for the element */
        inner_sig = strndup(inner, strlen(inner) - 1);
        if (!inner_sig)
                return -ENOMEM;

        obj = json_object_new_object();
        if (!obj)
                return -ENOMEM;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(
                        m, contents[0] == '(' ? SD_BUS_TYPE_STRUCT : SD_BUS_TYPE_DICT_ENTRY, inner_sig)) >
               0) {
                _cleanup_json_ struct json_object *v = NULL;
                _cleanup_free_ char *key = NULL;
                _cleanup_(fclosep) FILE *f = NULL;
                size_t size = 0;

                f = open_memstream(&key, &size);
                if (!f)
                        return -ENOMEM;
                r = value_to_text(m, f);
                if (r < 0)
                        return r;
                if (fclose(TAKE_PTR(f)) != 0)
                        return -ENOMEM;
                r = value_to_json(m, &v);
                if (r < 0)
                        return r;
                if (json_object_object_add(obj, key, TAKE_PTR(v)) < 0)
                        return -ENOMEM;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(obj);
        return 0;
}

static int container_to_json(sd_bus_message *m, char type, const char *contents, struct json_object **ret) {
        _cleanup_json_ struct json_object *arr = NULL;
        int r;

        if (type == SD_BUS_TYPE_ARRAY && (streq(contents, "(ss)") || contents[0] == '{'))
                return pairs_to_json(m, type, contents, ret);

        if (type == SD_BUS_TYPE_STRUCT && streq(contents, "iay")) {
                char buf[INET6_ADDRSTRLEN + 32];
                struct json_object *s;

                r = read_in_addr_struct(m, buf, sizeof buf);
                if (r < 0)
                        return r;
                s = json_object_new_string(buf);
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }

        if (type == SD_BUS_TYPE_VARIANT) {
                r = sd_bus_message_enter_container(m, type, contents);
                if (r < 0)
                        return r;
                r = value_to_json(m, ret);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }

        /* arrays and other structs: JSON arrays */
        arr = json_object_new_array();
        if (!arr)
                return -ENOMEM;
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                _cleanup_json_ struct json_object *e = NULL;

                r = value_to_json(m, &e);
                if (r < 0)
                        return r;
                if (json_object_array_add(arr, TAKE_PTR(e)) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(arr);
        return 0;
}

static int value_to_json(sd_bus_message *m, struct json_object **ret) {
        const char *contents;
        char type;
        int r;

        r = peek_value(m, &type, &contents);
        if (r < 0)
                return r;
        if (type_is_container(type))
                return container_to_json(m, type, contents, ret);
        return basic_to_json(m, type, ret);
}

int bus_property_to_json(sd_bus_message *m, const char *name, struct json_object **ret) {
        const char *contents;
        char type;
        int r;

        r = peek_value(m, &type, &contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT)
                return -EBADMSG;

        if (streq_ptr(name, "AllowedCPUs") && streq(contents, "ay")) {
                _cleanup_free_ char *s = NULL;
                struct json_object *j;

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
                if (r < 0)
                        return r;
                r = read_cpuset(m, &s);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                j = json_object_new_string(s);
                if (!j)
                        return -ENOMEM;
                *ret = j;
                return 0;
        }

        return value_to_json(m, ret);
}

/* ---- all properties --------------------------------------------------------------------------- */

/* Walks an a{sv}: for each property in filter (all if NULL), calls cb with m at the variant, which
 * cb reads (or skips); the others are skipped. */
typedef int (*PropertyCallback)(sd_bus_message *m, const char *name, void *userdata);

static int bus_message_foreach_property(sd_bus_message *m, char **filter, PropertyCallback cb, void *userdata) {
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (filter && !strv_contains(filter, name))
                        r = sd_bus_message_skip(m, "v");
                else
                        r = cb(m, name, userdata);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 0;
}

typedef struct PrintContext {
        bool value_only;
        FILE *f;
} PrintContext;

static int print_property(sd_bus_message *m, const char *name, void *userdata) {
        PrintContext *p = userdata;
        _cleanup_free_ char *text = NULL;
        int r;

        r = bus_property_to_text(m, name, &text);
        if (r < 0)
                return r;
        if (p->value_only)
                fprintf(p->f, "%s\n", text);
        else
                fprintf(p->f, "%s=%s\n", name, text);
        return 0;
}

int bus_print_properties(sd_bus_message *reply, char **filter, bool value_only, FILE *f) {
        PrintContext p = { .value_only = value_only, .f = f };

        return bus_message_foreach_property(reply, filter, print_property, &p);
}

static int add_property_json(sd_bus_message *m, const char *name, void *userdata) {
        struct json_object *obj = userdata;
        _cleanup_json_ struct json_object *v = NULL;
        int r;

        r = bus_property_to_json(m, name, &v);
        if (r < 0)
                return r;
        if (json_object_object_add(obj, name, TAKE_PTR(v)) < 0)
                return -ENOMEM;
        return 0;
}

int bus_properties_to_json(sd_bus_message *reply, char **filter, struct json_object **ret) {
        _cleanup_json_ struct json_object *obj = NULL;
        int r;

        obj = json_object_new_object();
        if (!obj)
                return -ENOMEM;

        r = bus_message_foreach_property(reply, filter, add_property_json, obj);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(obj);
        return 0;
}

/* ---- status ----------------------------------------------------------------------------------- */

void container_info_init(ContainerInfo *i) {
        *i = (ContainerInfo) {
                .memory_max = UINT64_MAX,
                .memory_high = UINT64_MAX,
                .memory_low = UINT64_MAX,
                .memory_swap_max = UINT64_MAX,
                .cpu_weight = UINT64_MAX,
                .cpu_quota_per_sec_usec = UINT64_MAX,
                .tasks_max = UINT64_MAX,
                .io_weight = UINT64_MAX,
                .stop_timeout_usec = UINT64_MAX,
                .memory_current = UINT64_MAX,
                .cpu_usage_nsec = UINT64_MAX,
                .tasks_current = UINT64_MAX,
                .io_read_bytes = UINT64_MAX,
                .io_write_bytes = UINT64_MAX,
        };
}

void container_info_done(ContainerInfo *i) {
        char **strings[] = {
                &i->name, &i->id, &i->image, &i->state, &i->unit, &i->slice, &i->restart, &i->network,
                &i->hostname, &i->user, &i->working_directory,
        };

        for (size_t k = 0; k < ELEMENTSOF(strings); k++)
                free(*strings[k]);
        strv_free(i->command);
        strv_free(i->addresses);
        strv_free(i->labels);
        free(i->allowed_cpus);
        container_info_init(i);
}

typedef struct PropertyMap {
        const char *name;
        const char *signature;
        size_t offset;
} PropertyMap;

#define MAP(n, sig, field) { n, sig, offsetof(ContainerInfo, field) }

static const PropertyMap container_info_map[] = {
        MAP("Name", "s", name),
        MAP("Id", "s", id),
        MAP("Image", "s", image),
        MAP("State", "s", state),
        MAP("Unit", "s", unit),
        MAP("Slice", "s", slice),
        MAP("Restart", "s", restart),
        MAP("Network", "s", network),
        MAP("Hostname", "s", hostname),
        MAP("User", "s", user),
        MAP("WorkingDirectory", "s", working_directory),
        MAP("Leader", "u", leader),
        MAP("RestartCount", "u", restart_count),
        MAP("CreatedTimestamp", "t", created_timestamp),
        MAP("StartedTimestamp", "t", started_timestamp),
        MAP("FinishedTimestamp", "t", finished_timestamp),
        MAP("ExitStatus", "i", exit_status),
        MAP("ExitSignal", "i", exit_signal),
        MAP("StopSignal", "i", stop_signal),
        MAP("OOMKilled", "b", oom_killed),
        MAP("AutoRemove", "b", auto_remove),
        MAP("Command", "as", command),
        MAP("Addresses", "a(iay)", addresses),
        MAP("Labels", "a(ss)", labels),
        MAP("MemoryMax", "t", memory_max),
        MAP("MemoryHigh", "t", memory_high),
        MAP("MemoryLow", "t", memory_low),
        MAP("MemorySwapMax", "t", memory_swap_max),
        MAP("CPUWeight", "t", cpu_weight),
        MAP("CPUQuotaPerSecUSec", "t", cpu_quota_per_sec_usec),
        MAP("TasksMax", "t", tasks_max),
        MAP("IOWeight", "t", io_weight),
        MAP("StopTimeoutUSec", "t", stop_timeout_usec),
        MAP("MemoryCurrent", "t", memory_current),
        MAP("CPUUsageNSec", "t", cpu_usage_nsec),
        MAP("TasksCurrent", "t", tasks_current),
        MAP("IOReadBytes", "t", io_read_bytes),
        MAP("IOWriteBytes", "t", io_write_bytes),
        MAP("AllowedCPUs", "ay", allowed_cpus),
};

static int read_mapped(sd_bus_message *m, const PropertyMap *p, ContainerInfo *info) {
        void *field = (uint8_t *) info + p->offset;
        int r;

        if (streq(p->signature, "s")) {
                const char *s;

                r = sd_bus_message_read(m, "s", &s);
                if (r < 0)
                        return r;
                return free_and_strdup(field, s);
        }
        if (streq(p->signature, "u"))
                return sd_bus_message_read(m, "u", field);
        if (streq(p->signature, "i"))
                return sd_bus_message_read(m, "i", field);
        if (streq(p->signature, "t"))
                return sd_bus_message_read(m, "t", field);
        if (streq(p->signature, "b")) {
                int b;

                r = sd_bus_message_read(m, "b", &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        }
        if (streq(p->signature, "as")) {
                char **l = NULL;

                r = sd_bus_message_read_strv(m, &l);
                if (r < 0)
                        return r;
                strv_free(*(char ***) field);
                *(char ***) field = l;
                return 0;
        }
        if (streq(p->signature, "ay")) {
                const void *data;
                size_t size;
                uint8_t *copy = NULL;

                r = sd_bus_message_read_array(m, 'y', &data, &size);
                if (r < 0)
                        return r;
                if (size > 0) {
                        copy = malloc(size);
                        if (!copy)
                                return -ENOMEM;
                        memcpy(copy, data, size);
                }
                free(info->allowed_cpus);
                info->allowed_cpus = copy;
                info->n_allowed_cpus = size;
                return 0;
        }
        if (streq(p->signature, "a(iay)") || streq(p->signature, "a(ss)")) {
                _cleanup_strv_free_ char **l = NULL;
                bool addr = streq(p->signature, "a(iay)");

                r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, p->signature + 1);
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(m, SD_BUS_TYPE_STRUCT, addr ? "iay" : "ss")) >
                       0) {
                        if (addr) {
                                char buf[INET6_ADDRSTRLEN + 32];

                                r = read_in_addr(m, buf, sizeof buf);
                                if (r < 0)
                                        return r;
                                r = strv_extend(&l, buf);
                        } else {
                                const char *k, *v;

                                r = sd_bus_message_read(m, "ss", &k, &v);
                                if (r < 0)
                                        return r;
                                r = strv_consume(&l, strjoin(k, "=", v));
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                strv_free(*(char ***) field);
                *(char ***) field = TAKE_PTR(l);
                return 0;
        }
        return -EINVAL;
}

static int read_info_property(sd_bus_message *m, const char *name, void *userdata) {
        ContainerInfo *info = userdata;
        const PropertyMap *p = NULL;
        const char *contents;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        for (size_t k = 0; k < ELEMENTSOF(container_info_map); k++)
                if (streq(container_info_map[k].name, name)) {
                        p = container_info_map + k;
                        break;
                }

        /* A property we do not know, or of another type than we expect, is skipped: status shows
         * what it can rather than fail on a newer daemon. */
        if (!p || !streq(contents, p->signature))
                return sd_bus_message_skip(m, "v");

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_VARIANT, contents);
        if (r < 0)
                return r;
        r = read_mapped(m, p, info);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int container_info_read(sd_bus_message *reply, ContainerInfo *info) {
        return bus_message_foreach_property(reply, /* filter= */ NULL, read_info_property, info);
}

static void print_field(FILE *f, const char *label, const char *fmt, ...) _printf_(3, 4);
static void print_field(FILE *f, const char *label, const char *fmt, ...) {
        va_list ap;

        /* continuation lines (label "") line up under the value */
        fprintf(f, "%13s%s ", label, *label ? ":" : " ");
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
}

static bool state_is_active(const char *state) {
        return streq_ptr(state, "running") || streq_ptr(state, "paused") || streq_ptr(state, "stopping") ||
                streq_ptr(state, "restarting");
}

static char *format_limits(char *buf, size_t l, const char *first, ...) {
        /* "(max: 512.0M, high: 256.0M)" from label/value pairs whose value is a formatted string or
         * NULL; "" if none */
        va_list ap;
        size_t n = 0;

        buf[0] = 0;
        va_start(ap, first);
        for (const char *label = first; label; label = va_arg(ap, const char *)) {
                const char *value = va_arg(ap, const char *);

                if (!value)
                        continue;
                n += snprintf(
                        buf + MIN(n, l), n < l ? l - n : 0, "%s%s: %s", n == 0 ? " (" : ", ", label, value);
        }
        va_end(ap);
        if (n > 0 && n + 2 <= l)
                strcat(buf, ")");
        return buf;
}

static const char *bytes_or_null(char *buf, size_t l, uint64_t v) {
        return v == UINT64_MAX ? NULL : format_bytes(buf, l, v);
}

void container_info_print(const ContainerInfo *i, uint64_t now_usec, FILE *f) {
        char since[FORMAT_TIMESTAMP_MAX], ago[FORMAT_TIMESTAMP_RELATIVE_MAX], limits[256];
        const char *on, *off = ansi_normal();
        uint64_t since_usec;

        if (state_is_active(i->state))
                on = ansi_highlight_green();
        else if (streq_ptr(i->state, "exited") && (i->exit_status != 0 || i->exit_signal != 0))
                on = ansi_highlight_red();
        else
                on = "";

        fprintf(f, "%s\u25CF%s %s", on, off, strempty(i->name));
        if (i->id)
                fprintf(f, " (%s)", i->id);
        fputc('\n', f);

        /* State: since when it is in it */
        if (state_is_active(i->state))
                since_usec = i->started_timestamp;
        else if (streq_ptr(i->state, "exited"))
                since_usec = i->finished_timestamp;
        else
                since_usec = i->created_timestamp;
        {
                char detail[64] = "";

                if (streq_ptr(i->state, "exited")) {
                        const char *sig = signal_to_name(i->exit_signal);

                        if (i->exit_signal > 0 && sig)
                                snprintf(
                                        detail,
                                        sizeof detail,
                                        " (signal=SIG%s%s)",
                                        sig,
                                        i->oom_killed ? ", OOM killed" : "");
                        else if (i->exit_signal > 0)
                                snprintf(detail, sizeof detail, " (signal=%" PRIi32 "%s)", i->exit_signal,
                                         i->oom_killed ? ", OOM killed" : "");
                        else
                                snprintf(detail, sizeof detail, " (status=%" PRIi32 "%s)", i->exit_status,
                                         i->oom_killed ? ", OOM killed" : "");
                }
                if (format_timestamp(since, sizeof since, since_usec) &&
                    format_timestamp_relative(ago, sizeof ago, since_usec, now_usec))
                        print_field(
                                f,
                                "State",
                                "%s%s%s%s since %s; %s",
                                on,
                                strna(i->state),
                                off,
                                detail,
                                since,
                                ago);
                else
                        print_field(f, "State", "%s%s%s%s", on, strna(i->state), off, detail);
        }

        if (i->image)
                print_field(f, "Image", "%s", i->image);
        if (i->command) {
                _cleanup_free_ char *cmd = format_command_line(i->command);
                if (cmd)
                        print_field(f, "Command", "%s", cmd);
        }
        if (i->unit)
                print_field(f, "Unit", "%s", i->unit);
        if (i->slice)
                print_field(f, "Slice", "%s", i->slice);
        if (i->leader > 0)
                print_field(f, "Leader", "%" PRIu32, i->leader);
        if (i->created_timestamp > 0 && format_timestamp(since, sizeof since, i->created_timestamp))
                print_field(f, "Created", "%s", since);
        if (i->network)
                print_field(f, "Network", "%s", i->network);
        STRV_FOREACH(a, i->addresses)
                print_field(f, a == i->addresses ? "Address" : "", "%s", *a);
        if (i->restart && !streq(i->restart, "no"))
                print_field(f, "Restart", "%s (restarted %" PRIu32 " time%s)", i->restart, i->restart_count,
                            i->restart_count == 1 ? "" : "s");
        else if (i->restart_count > 0)
                print_field(f, "Restarts", "%" PRIu32, i->restart_count);

        /* live figures, with the limits that are set */
        {
                char cur[FORMAT_BYTES_MAX], max[FORMAT_BYTES_MAX], high[FORMAT_BYTES_MAX],
                        low[FORMAT_BYTES_MAX], swap[FORMAT_BYTES_MAX];

                format_limits(
                        limits,
                        sizeof limits,
                        "max",
                        bytes_or_null(max, sizeof max, i->memory_max),
                        "high",
                        bytes_or_null(high, sizeof high, i->memory_high),
                        "low",
                        bytes_or_null(low, sizeof low, i->memory_low),
                        "swap max",
                        bytes_or_null(swap, sizeof swap, i->memory_swap_max),
                        NULL);
                if (i->memory_current != UINT64_MAX)
                        print_field(
                                f,
                                "Memory",
                                "%s%s",
                                format_bytes(cur, sizeof cur, i->memory_current),
                                limits);
                else if (limits[0])
                        print_field(f, "Memory", "-%s", limits);
        }
        {
                char span[FORMAT_TIMESPAN_MAX], quota[32] = "", weight[32] = "";
                _cleanup_free_ char *cpus = NULL;

                if (i->cpu_quota_per_sec_usec != UINT64_MAX)
                        snprintf(quota, sizeof quota, "%" PRIu64 "%%", i->cpu_quota_per_sec_usec / 10000);
                if (i->cpu_weight != UINT64_MAX)
                        snprintf(weight, sizeof weight, "%" PRIu64, i->cpu_weight);
                if (i->allowed_cpus && i->n_allowed_cpus > 0)
                        (void) format_cpuset(i->allowed_cpus, i->n_allowed_cpus, &cpus);
                format_limits(limits, sizeof limits, "quota", quota[0] ? quota : NULL, "weight",
                              weight[0] ? weight : NULL, "cpus", cpus, NULL);
                if (i->cpu_usage_nsec != UINT64_MAX)
                        print_field(
                                f,
                                "CPU",
                                "%s%s",
                                format_timespan(span, sizeof span, i->cpu_usage_nsec / NSEC_PER_USEC),
                                limits);
                else if (limits[0])
                        print_field(f, "CPU", "-%s", limits);
        }
        {
                char limit[32] = "";

                if (i->tasks_max != UINT64_MAX)
                        snprintf(limit, sizeof limit, "%" PRIu64, i->tasks_max);
                format_limits(limits, sizeof limits, "limit", limit[0] ? limit : NULL, NULL);
                if (i->tasks_current != UINT64_MAX)
                        print_field(f, "Tasks", "%" PRIu64 "%s", i->tasks_current, limits);
                else if (limits[0])
                        print_field(f, "Tasks", "-%s", limits);
        }
        {
                char rd[FORMAT_BYTES_MAX], wr[FORMAT_BYTES_MAX], weight[32] = "";

                if (i->io_weight != UINT64_MAX)
                        snprintf(weight, sizeof weight, "%" PRIu64, i->io_weight);
                format_limits(limits, sizeof limits, "weight", weight[0] ? weight : NULL, NULL);
                if (i->io_read_bytes != UINT64_MAX || i->io_write_bytes != UINT64_MAX)
                        print_field(
                                f,
                                "IO",
                                "%s read, %s written%s",
                                i->io_read_bytes != UINT64_MAX
                                        ? format_bytes(rd, sizeof rd, i->io_read_bytes)
                                        : "-",
                                i->io_write_bytes != UINT64_MAX
                                        ? format_bytes(wr, sizeof wr, i->io_write_bytes)
                                        : "-",
                                limits);
                else if (limits[0])
                        print_field(f, "IO", "-%s", limits);
        }
        STRV_FOREACH(l, i->labels)
                print_field(f, l == i->labels ? "Labels" : "", "%s", *l);
}
