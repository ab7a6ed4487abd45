/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "name-util.h"
#include "string-util.h"

static bool ascii_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool container_name_is_valid(const char *s) {
        size_t n;

        if (isempty(s))
                return false;
        n = strlen(s);
        if (n > CONTAINER_NAME_MAX)
                return false;
        if (!ascii_alnum(s[0]))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!ascii_alnum(s[i]) && s[i] != '.' && s[i] != '-')
                        return false;
                /* as systemd's hostname_is_valid(), which machined applies: no empty label, and no label
                 * that begins or ends with '-' (s[0] is alphanumeric, so s[i - 1] exists) */
                if (s[i] == '.' && (s[i + 1] == '.' || s[i + 1] == '-' || s[i - 1] == '-'))
                        return false;
        }
        return s[n - 1] != '.' && s[n - 1] != '-';
}

bool container_id_is_valid(const char *s) {
        if (!s || strlen(s) != CONTAINER_ID_LEN)
                return false;
        for (size_t i = 0; i < CONTAINER_ID_LEN; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

int container_id_generate(char ret[CONTAINER_ID_LEN + 1]) {
        uint8_t b[CONTAINER_ID_LEN / 2];
        ssize_t n;

        n = getrandom(b, sizeof b, 0);
        if (n < 0)
                return -errno;
        if ((size_t) n != sizeof b)
                return -EIO;
        for (size_t i = 0; i < sizeof b; i++)
                sprintf(ret + 2 * i, "%02x", b[i]);
        return 0;
}

static const char *const adjectives[] = {
        "agile", "amber", "bold", "brave", "brisk", "calm", "clever", "cosmic", "crisp", "daring",
        "eager", "fancy", "fierce", "gentle", "glad", "golden", "happy", "hardy", "jolly", "keen",
        "kind", "lively", "lucid", "merry", "mighty", "misty", "noble", "plucky", "polite", "proud",
        "quick", "quiet", "rapid", "shiny", "silent", "sleek", "snug", "solid", "steady", "sunny",
        "swift", "tidy", "vivid", "wise", "witty", "young", "zesty", "zen",
};

static const char *const animals[] = {
        "badger", "beaver", "bison", "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch",
        "gecko", "heron", "ibis", "jackal", "koala", "lemur", "lynx", "marmot", "marten", "mole",
        "moose", "narwhal", "newt", "ocelot", "otter", "owl", "panda", "pelican", "puffin", "quail",
        "raven", "robin", "salmon", "seal", "shrew", "sparrow", "stoat", "swan", "tapir", "tern",
        "toucan", "trout", "turtle", "vole", "walrus", "weasel", "wombat", "yak",
};

int container_name_generate(unsigned attempt, char **ret) {
        uint32_t rnd;
        char *s;

        if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                return errno_or_else(EIO);

        const char *a = adjectives[rnd % ELEMENTSOF(adjectives)];
        const char *b = animals[(rnd / ELEMENTSOF(adjectives)) % ELEMENTSOF(animals)];

        if (attempt == 0)
                s = strjoin(a, "-", b);
        else if (asprintf(&s, "%s-%s-%u", a, b, (rnd >> 16) % 10000) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static bool image_component_is_valid(const char *s, size_t n) {
        /* [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*: runs of lower-case alphanumerics, exactly one separator
         * between two runs */
        for (size_t i = 0;;) {
                size_t run = i;

                while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
                        i++;
                if (i == run)
                        return false;
                if (i == n)
                        return true;
                if (s[i] == '.')
                        i++;
                else if (s[i] == '_')
                        i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
                else if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else
                        return false;
        }
}

static bool image_host_is_valid(const char *s, size_t n) {
        /* registry host[:port]; the host is a DNS name: dot-separated labels of alphanumerics and '-'
         * that begin and end alphanumeric, so that neither "." nor ".." passes for one */
        const char *c = memchr(s, ':', n);
        size_t colon = c ? (size_t) (c - s) : n;

        for (const char *p = s, *e = s + colon;;) {
                const char *dot = memchr(p, '.', e - p) ?: e;

                if (dot == p || !ascii_alnum(p[0]) || !ascii_alnum(dot[-1]))
                        return false;
                for (const char *k = p; k < dot; k++)
                        if (!ascii_alnum(*k) && *k != '-')
                                return false;
                if (dot == e)
                        break;
                p = dot + 1;
        }
        if (colon != n) {
                if (colon + 1 == n || n - colon - 1 > 5)
                        return false;
                for (size_t i = colon + 1; i < n; i++)
                        if (!(s[i] >= '0' && s[i] <= '9'))
                                return false;
        }
        return true;
}

static bool image_tag_is_valid(const char *t) {
        size_t n = strlen(t);
        if (n == 0 || n > 128)
                return false;
        if (!(ascii_alnum(t[0]) || t[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(ascii_alnum(t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
                        return false;
        return true;
}

int image_name_normalize(const char *s, char **ret) {
        const char *slash, *tag = NULL, *end;
        size_t n;

        if (isempty(s) || strlen(s) > IMAGE_NAME_MAX)
                return -EINVAL;

        /* The tag is after the last ':' that follows the last '/'; a ':' before it is a port. */
        slash = strrchr(s, '/');
        tag = strchr(slash ? slash : s, ':');
        end = tag ?: s + strlen(s);
        if (tag && !image_tag_is_valid(tag + 1))
                return -EINVAL;

        n = end - s;
        /* no name before the tag, or an empty last component ("foo/") */
        if (n == 0 || s[n - 1] == '/')
                return -EINVAL;
        for (const char *p = s, *q; p < end; p = q + 1) {
                q = memchr(p, '/', end - p) ?: end;
                bool first = p == s, more = q < end;
                /* the first of several components may be a registry host: it has a '.' or ':' or is
                 * "localhost" */
                if (first && more && (memchr(p, '.', q - p) || memchr(p, ':', q - p) ||
                                      (q - p == 9 && strncmp(p, "localhost", 9) == 0))) {
                        if (!image_host_is_valid(p, q - p))
                                return -EINVAL;
                } else if (!image_component_is_valid(p, q - p))
                        return -EINVAL;
                if (q == end)
                        break;
        }

        char *r;
        if (asprintf(&r, "%.*s:%s", (int) n, s, tag ? tag + 1 : "latest") < 0)
                return -ENOMEM;
        /* The limit holds for the result too ("NAME" of 250 bytes is not valid as "NAME:latest", or a
         * stored name would not pass this check when it is read back), and so does the store's: the
         * image's record is images/LABEL.json, and that must fit in a file name. */
        _cleanup_free_ char *label = NULL;
        int k = strlen(r) > IMAGE_NAME_MAX ? -ENAMETOOLONG : image_path_label(r, &label);
        if (k >= 0 && strlen(label) + sizeof(".json") - 1 > NAME_MAX)
                k = -ENAMETOOLONG;
        if (k < 0) {
                free(r);
                return k;
        }
        *ret = r;
        return 0;
}

int image_path_label(const char *name, char **ret) {
        _cleanup_free_ char *p = NULL;
        char *l;
        int r;

        r = sd_bus_path_encode("/x", name, &p);
        if (r < 0)
                return r;
        l = strdup(p + 3);
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

bool image_name_is_valid(const char *s) {
        _cleanup_free_ char *n = NULL;
        return image_name_normalize(s, &n) >= 0;
}

bool filename_is_valid(const char *s) {
        if (isempty(s) || streq(s, ".") || streq(s, ".."))
                return false;
        if (strchr(s, '/'))
                return false;
        return strlen(s) <= NAME_MAX;
}

bool path_is_normalized_absolute(const char *p) {
        if (!p || p[0] != '/' || strlen(p) >= PATH_MAX)
                return false;
        if (streq(p, "/"))
                return true;
        for (const char *c = p; *c;) {
                const char *e;
                c++; /* skip '/' */
                e = strchrnul(c, '/');
                if (e == c) /* "//" or trailing '/' */
                        return false;
                if ((e - c == 1 && c[0] == '.') || (e - c == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c = e;
        }
        return true;
}
