/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <getopt.h>

/* Long-only option values of the image verbs: above vesselctl.h's ARG_*, below CONTAINER_OPTION_BASE. */
enum {
        ARG_IMAGE_REF = 0x180,
        ARG_IMAGE_FORMAT,
        ARG_IMAGE_FORCE,
};

extern const struct option image_import_options[];
extern const struct option image_export_options[];
int parse_image_option(int c, const char *arg);
void help_image_import(void);
void help_image_export(void);
void help_image_list(void);

int verb_import(int argc, char *argv[]);
int verb_export(int argc, char *argv[]);
int verb_images(int argc, char *argv[]);
int verb_image_status(int argc, char *argv[]);
int verb_rmi(int argc, char *argv[]);
int verb_prune(int argc, char *argv[]);
int verb_df(int argc, char *argv[]);

/* The rows for vesselctl.c's verb table. */
#define IMAGE_VERBS                                                                                            \
        { "images", 0, 0, 0, "[--json]", "List images", NULL, NULL, 0, NULL, help_image_list, verb_images },    \
        { "import", 1, 2, 0, "[--ref=REF] [--format=FMT] [--force] FILE|DIR|- [NAME]",                          \
          "Import an image (OCI layout, oci-archive, docker-archive, rootfs tarball or directory)",            \
          image_import_options,                                                                                \
          "f", 0, parse_image_option, help_image_import, verb_import },                                         \
        { "export", 2, 2, 0, "[--format=FMT] IMAGE|CONTAINER FILE|-", "Export an image or a container's root",  \
          image_export_options, NULL, 0, parse_image_option, help_image_export, verb_export },                  \
        { "image-status", 1, 1, 0, "NAME", "Show an image", NULL, NULL, 0, NULL, NULL, verb_image_status },     \
        { "rmi", 1, VERB_ANY, 0, "NAME...", "Remove images", NULL, NULL, 0, NULL, NULL, verb_rmi },              \
        { "prune", 0, 0, 0, "", "Remove layers and blobs no image or container uses", NULL, NULL, 0, NULL,      \
          NULL, verb_prune },                                                                                    \
        { "df", 0, 0, 0, "[--json]", "Show the space used by images, layers, blobs and containers", NULL, NULL, \
          0, NULL, NULL, verb_df }
