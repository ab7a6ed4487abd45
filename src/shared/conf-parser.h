/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* A minimal ini reader in systemd's dialect: [Section], Key=Value, '#' and ';' comments, blank lines.
 * For each assignment it calls cb(section, key, value, userdata, line); cb returns < 0 to abort.
 * Unknown sections and keys are the callback's business. */
typedef int (*ConfigCallback)(const char *section, const char *key, const char *value, void *userdata,
                              unsigned line);

int config_parse_file(FILE *f, ConfigCallback cb, void *userdata);

/* Reads PATH, then every PATH.d/ *.conf in lexical order (a missing file or directory is fine). */
int config_parse_with_dropins(const char *path, ConfigCallback cb, void *userdata);
