/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf-parser.h"
#include "macro.h"
#include "string-util.h"

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

int config_parse_file(FILE *f, ConfigCallback cb, void *userdata) {
        _cleanup_free_ char *section = NULL, *buf = NULL;
        size_t n = 0;
        unsigned line = 0;
        int r;

        for (;;) {
                char *l, *eq;

                errno = 0;
                if (getline(&buf, &n, f) < 0) {
                        if (errno > 0)
                                return -errno;
                        break;
                }
                line++;
                l = strip(buf);
                if (!*l || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        size_t k = strlen(l);
                        if (l[k - 1] != ']')
                                return -EBADMSG;
                        l[k - 1] = 0;
                        r = free_and_strdup(&section, strip(l + 1));
                        if (r < 0)
                                return r;
                        continue;
                }
                eq = strchr(l, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                r = cb(strempty(section), strip(l), strip(eq + 1), userdata, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_path(const char *path, ConfigCallback cb, void *userdata) {
        FILE *f = fopen(path, "re");
        int r;

        if (!f)
                return errno == ENOENT ? 0 : -errno;
        r = config_parse_file(f, cb, userdata);
        fclose(f);
        return r;
}

static int filter_conf(const struct dirent *de) {
        return de->d_name[0] != '.' && endswith(de->d_name, ".conf");
}

int config_parse_with_dropins(const char *path, ConfigCallback cb, void *userdata) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **list = NULL;
        int r, n;

        r = parse_path(path, cb, userdata);
        if (r < 0)
                return r;

        dir = strjoin(path, ".d");
        if (!dir)
                return -ENOMEM;
        n = scandir(dir, &list, filter_conf, alphasort);
        if (n < 0)
                return errno == ENOENT ? 0 : -errno;
        r = 0;
        for (int i = 0; i < n; i++) {
                if (r >= 0) {
                        _cleanup_free_ char *p = strjoin(dir, "/", list[i]->d_name);
                        r = p ? parse_path(p, cb, userdata) : -ENOMEM;
                }
                free(list[i]);
        }
        free(list);
        return r;
}
