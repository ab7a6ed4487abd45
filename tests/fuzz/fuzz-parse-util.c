/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The strings a client types or sends: sizes ("512m"), times ("1min 30s"), CPU counts ("0.5"), CPU
 * sets ("0-3,7"), signals, container and image names, paths, RFC 3339 dates, digests, slice and
 * host names, capabilities. The first byte chooses the parser; the rest is the string. Besides not
 * crashing, what parses must keep the promises the callers rely on, checked with abort(). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "image.h"
#include "name-util.h"
#include "parse-util.h"
#include "settings.h"

static void check(bool ok) {
        if (!ok)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        uint64_t u;
        uint8_t mode;

        if (size < 1)
                return 0;
        mode = data[0];
        s = malloc(size);
        if (!s)
                return 0;
        memcpy(s, data + 1, size - 1);
        s[size - 1] = 0;

        switch (mode % 12) {
        case 0:
                if (parse_size(s, &u) >= 0) {
                        char buf[FORMAT_BYTES_MAX];
                        check(format_bytes(buf, sizeof buf, u) != NULL);
                }
                break;
        case 1:
                if (parse_sec(s, &u) >= 0) {
                        char buf[FORMAT_TIMESPAN_MAX];
                        check(format_timespan(buf, sizeof buf, u) != NULL);
                }
                break;
        case 2:
                if (parse_cpus(s, &u) >= 0)
                        check(u > 0);
                break;
        case 3: {
                _cleanup_free_ uint8_t *mask = NULL;
                _cleanup_free_ char *f = NULL;
                size_t n;
                if (parse_cpuset(s, &mask, &n) >= 0 && format_cpuset(mask, n, &f) >= 0) {
                        /* what we print parses back to the same set */
                        _cleanup_free_ uint8_t *mask2 = NULL;
                        size_t n2;
                        check(parse_cpuset(f, &mask2, &n2) >= 0);
                        size_t m = n < n2 ? n : n2;
                        check(memcmp(mask, mask2, m) == 0);
                        for (size_t i = m; i < n; i++)
                                check(mask[i] == 0);
                        for (size_t i = m; i < n2; i++)
                                check(mask2[i] == 0);
                }
                break;
        }
        case 4: {
                int sig = parse_signal(s);
                check(sig < 0 || (sig >= 1 && sig < 65));
                break;
        }
        case 5:
                if (container_name_is_valid(s))
                        check(filename_is_valid(s) && strlen(s) <= CONTAINER_NAME_MAX);
                (void) container_id_is_valid(s);
                break;
        case 6: {
                _cleanup_free_ char *n = NULL;
                if (image_name_normalize(s, &n) >= 0) {
                        _cleanup_free_ char *again = NULL;
                        check(image_name_is_valid(n));
                        /* normalizing is idempotent */
                        check(image_name_normalize(n, &again) >= 0 && strcmp(n, again) == 0);
                }
                break;
        }
        case 7:
                (void) filename_is_valid(s);
                (void) path_is_normalized_absolute(s);
                break;
        case 8:
                (void) parse_rfc3339(s, &u);
                break;
        case 9: {
                char hex[SHA256_HEX_LEN + 1];
                if (digest_parse(s, hex) >= 0)
                        check(strlen(hex) == SHA256_HEX_LEN);
                break;
        }
        case 10:
                (void) settings_validate_slice(s);
                (void) settings_validate_hostname(s);
                break;
        case 11:
                if (settings_validate_capability(s) >= 0)
                        check(capability_from_name(s) >= 0);
                break;
        }
        return 0;
}
