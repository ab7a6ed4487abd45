/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "string-util.h"
#include "user-util.h"

void user_record_done(UserRecord *u) {
        free(u->name);
        free(u->home);
        free(u->groups);
        *u = (UserRecord) {};
}

static bool is_number(const char *s) {
        uint64_t v;
        return safe_atou64(s, &v) >= 0 && v < UINT32_MAX;
}

/* Splits a colon-separated line in place into at most n fields; returns the count. */
static size_t split_fields(char *line, char **f, size_t n) {
        size_t k = 0;

        line[strcspn(line, "\n")] = 0;
        f[k++] = line;
        for (char *p = line; *p && k < n; p++)
                if (*p == ':') {
                        *p = 0;
                        f[k++] = p + 1;
                }
        return k;
}

static int find_passwd(FILE *f, const char *name_or_uid, bool by_uid, uid_t uid, UserRecord *u) {
        char line[4096];

        if (!f)
                return -ESRCH;
        rewind(f);
        while (fgets(line, sizeof line, f)) {
                char *fl[7];
                uint64_t v, g;

                if (split_fields(line, fl, 7) < 7 || line[0] == '#')
                        continue;
                if (safe_atou64(fl[2], &v) < 0 || safe_atou64(fl[3], &g) < 0)
                        continue;
                if (by_uid ? v != uid : !streq(fl[0], name_or_uid))
                        continue;
                u->uid = v;
                u->gid = g;
                u->name = strdup(fl[0]);
                u->home = strdup(isempty(fl[5]) ? "/" : fl[5]);
                if (!u->name || !u->home)
                        return -ENOMEM;
                return 0;
        }
        return -ESRCH;
}

static int find_group(FILE *f, const char *name, gid_t *ret) {
        char line[16384];

        if (!f)
                return -ESRCH;
        rewind(f);
        while (fgets(line, sizeof line, f)) {
                char *fl[4];
                uint64_t v;

                if (split_fields(line, fl, 4) < 3 || line[0] == '#')
                        continue;
                if (!streq(fl[0], name) || safe_atou64(fl[2], &v) < 0)
                        continue;
                *ret = v;
                return 0;
        }
        return -ESRCH;
}

static int add_group(UserRecord *u, gid_t g) {
        for (size_t i = 0; i < u->n_groups; i++)
                if (u->groups[i] == g)
                        return 0;
        if (u->n_groups >= 64)
                return 0; /* NGROUPS is larger, but nobody needs this many in a container */
        gid_t *n = reallocarray(u->groups, u->n_groups + 1, sizeof(gid_t));
        if (!n)
                return -ENOMEM;
        u->groups = n;
        u->groups[u->n_groups++] = g;
        return 0;
}

/* Supplementary groups: every group listing the user as a member. */
static int collect_groups(FILE *f, UserRecord *u) {
        char line[16384];
        int r;

        if (!f || !u->name)
                return 0;
        rewind(f);
        while (fgets(line, sizeof line, f)) {
                char *fl[4];
                uint64_t v;

                if (split_fields(line, fl, 4) < 4 || line[0] == '#' || safe_atou64(fl[2], &v) < 0)
                        continue;
                for (char *m = fl[3], *e; m && *m; m = e ? e + 1 : NULL) {
                        e = strchr(m, ',');
                        if (e)
                                *e = 0;
                        if (streq(m, u->name)) {
                                r = add_group(u, v);
                                if (r < 0)
                                        return r;
                        }
                }
        }
        return 0;
}

int user_resolve(const char *spec, FILE *passwd, FILE *group, UserRecord *ret) {
        _cleanup_free_ char *user = NULL;
        UserRecord u = {};
        const char *grp = NULL;
        char *colon;
        int r;

        if (isempty(spec))
                return -EINVAL;
        user = strdup(spec);
        if (!user)
                return -ENOMEM;
        colon = strchr(user, ':');
        if (colon) {
                *colon = 0;
                grp = colon + 1;
                if (isempty(grp) || isempty(user))
                        return -EINVAL;
        }

        if (is_number(user)) {
                uint64_t v;
                (void) safe_atou64(user, &v);
                r = find_passwd(passwd, NULL, true, v, &u);
                if (r == -ESRCH) {
                        u.uid = v;
                        u.gid = 0;
                        u.home = strdup("/");
                        if (!u.home)
                                r = -ENOMEM;
                        else
                                r = 0;
                }
        } else
                r = find_passwd(passwd, user, false, 0, &u);
        if (r < 0)
                goto fail;

        if (grp) {
                if (is_number(grp)) {
                        uint64_t v;
                        (void) safe_atou64(grp, &v);
                        u.gid = v;
                } else {
                        gid_t g;
                        r = find_group(group, grp, &g);
                        if (r < 0)
                                goto fail;
                        u.gid = g;
                }
        }

        r = add_group(&u, u.gid);
        if (r >= 0)
                r = collect_groups(group, &u);
        if (r < 0)
                goto fail;

        *ret = u;
        return 0;

fail:
        user_record_done(&u);
        return r;
}
