/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every target defines (libFuzzer calls it once per input), and helpers for reading a fuzzer's
 * input as a stream of choices: numbers and strings taken off the front, zeros
 * once it runs out (so every input, however short, is a complete sequence of choices). */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzInput {
        const uint8_t *data;
        size_t size;
} FuzzInput;

static inline uint8_t fuzz_u8(FuzzInput *in) {
        uint8_t v = 0;

        if (in->size > 0) {
                v = in->data[0];
                in->data++;
                in->size--;
        }
        return v;
}

static inline uint64_t fuzz_u64(FuzzInput *in) {
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v = (v << 8) | fuzz_u8(in);
        return v;
}

/* A NUL-terminated copy of up to max bytes (the length comes first); NULL only without memory. */
static inline char *fuzz_string(FuzzInput *in, size_t max) {
        size_t n = fuzz_u8(in) % (max + 1);
        char *s;

        if (n > in->size)
                n = in->size;
        s = malloc(n + 1);
        if (!s)
                return NULL;
        memcpy(s, in->data, n);
        s[n] = 0;
        in->data += n;
        in->size -= n;
        return s;
}
