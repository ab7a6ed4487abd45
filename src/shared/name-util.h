/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define CONTAINER_NAME_MAX 63
#define CONTAINER_ID_LEN 32

/* A container name is a valid host name, so machined accepts it too:
 * ^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$, no "..", no trailing '.' or '-'. */
bool container_name_is_valid(const char *s);

/* 32 lower-case hex digits, as Id. */
bool container_id_is_valid(const char *s);

/* Writes a fresh random 128-bit id as 32 hex digits (+ NUL) to ret. */
int container_id_generate(char ret[CONTAINER_ID_LEN + 1]);

/* A name like "brave-otter" from two random words; the caller retries on collision. A non-zero
 * attempt appends "-N", so a crowded host still finds one. */
int container_name_generate(unsigned attempt, char **ret);

/* NAME[:TAG], where NAME is a docker-style repository path (lower-case alnum with '.', '_', '-'
 * separators and '/' components; an optional registry host:port as first component) and TAG is
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. On success *ret is "NAME:TAG", tag defaulting to "latest".
 * -EINVAL for what is not such a name; -ENAMETOOLONG for one whose NAME:TAG is longer than
 * IMAGE_NAME_MAX bytes, or whose record file in the image store (image_path_label() + ".json", where
 * every byte but [A-Za-z0-9], and a leading digit, counts three) would not fit in a file name. */
#define IMAGE_NAME_MAX 255
/* What ImportImage and an import say of a name refused with -ENAMETOOLONG, after "'NAME': " */
#define IMAGE_NAME_TOO_LONG \
        "too long (at most " XSTRINGIFY(IMAGE_NAME_MAX) " bytes as NAME:TAG, fewer with many characters other than letters and digits)"
int image_name_normalize(const char *s, char **ret);
bool image_name_is_valid(const char *s);
/* The name escaped as in an object path (sd_bus_path_encode()), for the store's paths and file names */
int image_path_label(const char *name, char **ret);

/* True for strings that are safe as one path component we create under our state directories. */
bool filename_is_valid(const char *s);

/* An absolute, normalized path: starts with '/', no "." or ".." components, no "//", no trailing '/'
 * (except "/" itself), at most PATH_MAX. */
bool path_is_normalized_absolute(const char *p);
