/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A small string-keyed hash table (open addressing, linear probing), enough for a daemon with a few
 * thousand objects. Keys are borrowed: the caller keeps them alive as long as the entry exists
 * (typically the key is a field of the value). */
typedef struct Hashmap Hashmap;

Hashmap *hashmap_new(void);
Hashmap *hashmap_free(Hashmap *h);
/* -EEXIST if the key is present, -ENOMEM */
int hashmap_put(Hashmap *h, const char *key, void *value);
void *hashmap_get(const Hashmap *h, const char *key);
void *hashmap_remove(Hashmap *h, const char *key);
size_t hashmap_size(const Hashmap *h);
/* Iterate: unsigned i = 0; while (hashmap_iterate(h, &i, &v, &k)) ...; removal of the current entry
 * during iteration is not allowed. */
bool hashmap_iterate(const Hashmap *h, unsigned *i, void **ret_value, const char **ret_key);

#define HASHMAP_FOREACH(v, h) \
        for (unsigned _i_ = 0; hashmap_iterate((h), &_i_, (void **) &(v), NULL);)
