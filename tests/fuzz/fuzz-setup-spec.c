/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The setup spec, as vessel-init's setup mode reads it from the memfd vesseld wrote (setup-spec.h):
 * a header, then {key, size, bytes} records, then the fd indexes resolved against the fds that came
 * with it. vesseld is the only writer, but a parser that trusts lengths is a parser to fuzz. The
 * first byte is how many fds "arrived" (0..14); the rest is the spec. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "setup-spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int fds[SETUP_SPEC_FDS_MAX];
        SetupSpec spec = {};
        size_t n_fds;
        void *buffer;

        if (size < 1)
                return 0;
        n_fds = data[0] % (SETUP_SPEC_FDS_MAX + 1);
        for (size_t i = 0; i < n_fds; i++)
                fds[i] = 100 + (int) i; /* numbers only: resolve never touches them */
        /* the parser takes ownership of a malloc'ed buffer of exactly the spec's size */
        buffer = malloc(size - 1 ?: 1);
        if (!buffer)
                return 0;
        memcpy(buffer, data + 1, size - 1);
        if (setup_spec_parse(buffer, size - 1, &spec) >= 0) {
                (void) setup_spec_fds_resolve(&spec, fds, n_fds);
                /* what the setup reads of a parsed spec */
                for (size_t i = 0; i < spec.n_binds; i++)
                        (void) strlen(spec.binds[i].source), (void) strlen(spec.binds[i].destination);
                for (char **a = spec.argv; a && *a; a++)
                        (void) strlen(*a);
        }
        /* the fields are numbers here, not fds of ours: nothing to close */
        setup_spec_done(&spec);
        return 0;
}
