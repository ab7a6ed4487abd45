/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What an image archive brings, as the image store parses it: an OCI index.json or image index, an
 * image manifest, an image config, a docker-archive manifest.json, and the picks among their
 * entries. All of it comes from whoever made the archive. The first byte chooses the parser and the
 * ref to pick by; the rest is the file (not NUL-terminated: the parsers take a length). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"

static const char *const refs[] = { "", "latest", "v1", "busybox:latest", "a:b:c", ":" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *error = NULL;
        const char *text, *ref;
        size_t n = 0, pick;
        uint8_t mode;

        if (size < 1)
                return 0;
        mode = data[0];
        text = (const char *) data + 1;
        size--;
        ref = refs[(mode >> 2) % ELEMENTSOF(refs)];

        switch (mode & 3) {
        case 0: {
                OciDescriptor *d = NULL;
                if (oci_index_parse(text, size, &d, &n, &error) >= 0) {
                        free(error);
                        error = NULL;
                        (void) oci_index_pick(d, n, ref, platform_native(), &pick, &error);
                        oci_descriptors_free(d, n);
                }
                break;
        }
        case 1: {
                OciDescriptor config = {}, *layers = NULL;
                if (oci_manifest_parse(text, size, &config, &layers, &n, &error) >= 0) {
                        for (size_t i = 0; i < n; i++)
                                (void) layer_media_type_supported(layers[i].media_type);
                        oci_descriptor_done(&config);
                        oci_descriptors_free(layers, n);
                }
                break;
        }
        case 2: {
                ImageConfig c = {};
                if (image_config_parse(text, size, &c, &error) >= 0)
                        image_config_done(&c);
                break;
        }
        case 3: {
                DockerManifestEntry *e = NULL;
                if (docker_manifest_parse(text, size, &e, &n, &error) >= 0) {
                        free(error);
                        error = NULL;
                        (void) docker_manifest_pick(e, n, ref, &pick, &error);
                        docker_manifest_free(e, n);
                }
                break;
        }
        }
        return 0;
}
