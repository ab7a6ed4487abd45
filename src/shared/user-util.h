/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <sys/types.h>

/* Resolves a container's User= against its own /etc/passwd and /etc/group, read as text: never through
 * NSS, which would load the image's libraries into our process. Forms: "name", "uid", "name:group",
 * "uid:gid". A numeric uid absent from passwd is fine (gid = uid's group or 0), as in Docker. */
typedef struct UserRecord {
        uid_t uid;
        gid_t gid;
        char *name; /* may be NULL for a bare uid */
        char *home; /* "/" if unknown */
        gid_t *groups;
        size_t n_groups;
} UserRecord;

void user_record_done(UserRecord *u);

/* passwd and group may be NULL (no such file). -ESRCH: no such user or group. */
int user_resolve(const char *spec, FILE *passwd, FILE *group, UserRecord *ret);
