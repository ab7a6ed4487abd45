/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The settings array, a(sv), of CreateContainer, RunContainer, UpdateContainer and ExecContainer*:
 * what any client on the bus may send vesseld. The input is read as choices (fuzz.h): the
 * context and the cgroup layout, then entries of a setting name (one of ours, mostly, or any
 * string), a variant type (mostly the one the setting takes, sometimes another) and a value of that
 * type. The message is built and sealed as one received from the bus would be, then parsed; every
 * input must end in success or in an error, never in a crash or a leak (ASan). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "fuzz.h"
#include "settings.h"

/* the settings settings_parse_bus() knows: their number */
static size_t n_known;

static const char *const other_types[] = { "s", "t", "i", "b", "q", "u", "x", "d", "y", "ay", "as", "h",
                                            "a(ss)", "a(sqq)", "a(ssb)", "(ss)", "v", "a{ss}", "o", "g" };

static sd_bus *bus;
static int null_fd = -1;

/* sd-bus makes messages only for a bus past its setup: one over a socketpair, whose peer never
 * answers; it stays in authentication, where messages may carry fds */
static int fuzz_bus(void) {
        int sv[2];

        if (bus)
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, sv[0], sv[0]) < 0 || sd_bus_negotiate_fds(bus, true) < 0 ||
            sd_bus_start(bus) < 0)
                abort();
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        return null_fd < 0 ? -errno : 0;
}

/* A string that D-Bus accepts as one (valid UTF-8, no NUL), or NULL to give up on the input. */
static char *fuzz_bus_string(FuzzInput *in) {
        char *s = fuzz_string(in, 80);

        /* keep it to printable ASCII and a few specials: sd-bus refuses invalid UTF-8 at append */
        for (char *p = s; p && *p; p++)
                if ((unsigned char) *p >= 0x80 || (unsigned char) *p < 0x20)
                        *p = "/:,.-_ =\n"[(unsigned char) *p % 9];
        return s;
}

/* appends a value of the complete type sig; < 0 gives up on the input */
static int append_value(sd_bus_message *m, FuzzInput *in, const char *sig, unsigned depth) {
        int r;

        if (depth > 4)
                return -E2BIG;
        switch (sig[0]) {
        case 's':
        case 'o':
        case 'g': {
                _cleanup_free_ char *s = fuzz_bus_string(in);
                if (!s)
                        return -ENOMEM;
                if (sig[0] == 'o')
                        return sd_bus_message_append_basic(m, 'o', "/io/vessel1");
                if (sig[0] == 'g')
                        return sd_bus_message_append_basic(m, 'g', "as");
                return sd_bus_message_append_basic(m, 's', s);
        }
        case 't':
        case 'x': {
                uint64_t v = fuzz_u64(in);
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        case 'i':
        case 'u':
        case 'h': {
                uint32_t v = (uint32_t) fuzz_u64(in);
                if (sig[0] == 'h')
                        return sd_bus_message_append_basic(m, 'h', &null_fd);
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        case 'b': {
                int v = fuzz_u8(in) & 1;
                return sd_bus_message_append_basic(m, 'b', &v);
        }
        case 'q': {
                uint16_t v = (uint16_t) fuzz_u64(in);
                return sd_bus_message_append_basic(m, 'q', &v);
        }
        case 'y': {
                uint8_t v = fuzz_u8(in);
                return sd_bus_message_append_basic(m, 'y', &v);
        }
        case 'd': {
                double v = (double) fuzz_u64(in);
                return sd_bus_message_append_basic(m, 'd', &v);
        }
        case 'v': {
                const char *inner = other_types[fuzz_u8(in) % ELEMENTSOF(other_types)];
                r = sd_bus_message_open_container(m, 'v', inner);
                if (r >= 0)
                        r = append_value(m, in, inner, depth + 1);
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        case 'a': {
                char elem[32];
                unsigned n = fuzz_u8(in) % 9;
                /* the element type: the rest of sig, minus a trailing '}' pair's braces */
                snprintf(elem, sizeof elem, "%s", sig + 1);
                r = sd_bus_message_open_container(m, 'a', elem);
                for (unsigned i = 0; r >= 0 && i < n; i++) {
                        if (elem[0] == '{') {
                                _cleanup_free_ char *k = fuzz_bus_string(in), *v = fuzz_bus_string(in);
                                r = sd_bus_message_append(m, "{ss}", k ?: "", v ?: "");
                        } else
                                r = append_value(m, in, elem, depth + 1);
                }
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        case '(': {
                char inner[32];
                size_t l = strlen(sig);
                if (l < 2 || l - 2 >= sizeof inner)
                        return -EINVAL;
                memcpy(inner, sig + 1, l - 2);
                inner[l - 2] = 0;
                r = sd_bus_message_open_container(m, 'r', inner);
                for (const char *p = inner; r >= 0 && *p; p++) {
                        char one[2] = { *p, 0 };
                        r = append_value(m, in, one, depth + 1);
                }
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        }
        return -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        SettingsContext context;
        CgroupLayout layout;
        Settings s;
        unsigned n;
        uint8_t b;
        int r;

        if (fuzz_bus() < 0)
                abort();
        if (n_known == 0) {
                const char *name;
                while (settings_bus_signature(n_known, &name))
                        n_known++;
        }
        b = fuzz_u8(&in);
        context = (SettingsContext) (b % 3);
        layout = (b >> 2) & 1 ? CGROUP_LAYOUT_UNIFIED : CGROUP_LAYOUT_LEGACY;
        n = fuzz_u8(&in) % 16;

        r = sd_bus_message_new_method_call(bus, &m, "io.vessel1", "/io/vessel1", "io.vessel1.Manager",
                                           "CreateContainer");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        for (unsigned i = 0; r >= 0 && i < n; i++) {
                uint8_t pick = fuzz_u8(&in), how = fuzz_u8(&in);
                _cleanup_free_ char *any = NULL;
                const char *name, *type;

                /* one of ours (with its own type, mostly), or any string */
                type = settings_bus_signature(pick % n_known, &name);
                if (pick >= 0xf0) {
                        any = fuzz_bus_string(&in);
                        name = any ?: "";
                }
                if (pick >= 0xf0 || how % 4 == 0)
                        type = other_types[how % ELEMENTSOF(other_types)];
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', name);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', type);
                if (r >= 0)
                        r = append_value(m, &in, type, 0);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_seal(m, 1, 0);
        if (r >= 0)
                r = sd_bus_message_rewind(m, true);
        if (r >= 0) {
                settings_init(&s);
                (void) settings_parse_bus(&s, m, context, layout, &error);
                settings_done(&s);
        }
        sd_bus_error_free(&error);
        sd_bus_message_unref(m);
        return 0;
}
