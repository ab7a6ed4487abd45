/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

typedef struct Entry {
        const char *key; /* NULL = empty */
        void *value;
        bool tombstone;
} Entry;

struct Hashmap {
        Entry *entries;
        size_t n_buckets; /* power of two */
        size_t n_used;    /* live entries */
        size_t n_filled;  /* live + tombstones */
};

/* FNV-1a: keys are our own names and ids, not attacker-chosen floods (caller limits cap them). */
static uint64_t hash_string(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

Hashmap *hashmap_new(void) {
        return calloc(1, sizeof(Hashmap));
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        free(h->entries);
        free(h);
        return NULL;
}

static Entry *find(const Hashmap *h, const char *key) {
        if (h->n_buckets == 0)
                return NULL;
        size_t mask = h->n_buckets - 1;
        for (size_t i = hash_string(key) & mask, n = 0; n < h->n_buckets; i = (i + 1) & mask, n++) {
                Entry *e = h->entries + i;
                if (!e->key && !e->tombstone)
                        return NULL;
                if (e->key && strcmp(e->key, key) == 0)
                        return e;
        }
        return NULL;
}

static int resize(Hashmap *h, size_t n_buckets) {
        Entry *old = h->entries;
        size_t old_n = h->n_buckets;

        h->entries = calloc(n_buckets, sizeof(Entry));
        if (!h->entries) {
                h->entries = old;
                return -ENOMEM;
        }
        h->n_buckets = n_buckets;
        h->n_used = h->n_filled = 0;
        for (size_t i = 0; i < old_n; i++)
                if (old[i].key)
                        (void) hashmap_put(h, old[i].key, old[i].value);
        free(old);
        return 0;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        int r;

        if (find(h, key))
                return -EEXIST;
        if ((h->n_filled + 1) * 4 >= h->n_buckets * 3) {
                size_t n = h->n_buckets ? h->n_buckets : 16;
                while ((h->n_used + 1) * 2 >= n)
                        n *= 2;
                r = resize(h, n);
                if (r < 0)
                        return r;
        }
        size_t mask = h->n_buckets - 1;
        for (size_t i = hash_string(key) & mask;; i = (i + 1) & mask) {
                Entry *e = h->entries + i;
                if (!e->key) {
                        if (!e->tombstone)
                                h->n_filled++;
                        *e = (Entry) { .key = key, .value = value };
                        h->n_used++;
                        return 0;
                }
        }
}

void *hashmap_get(const Hashmap *h, const char *key) {
        Entry *e;

        if (!h)
                return NULL;
        e = find(h, key);
        return e ? e->value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        Entry *e;
        void *v;

        if (!h)
                return NULL;
        e = find(h, key);
        if (!e)
                return NULL;
        v = e->value;
        *e = (Entry) { .tombstone = true };
        h->n_used--;
        return v;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_used : 0;
}

bool hashmap_iterate(const Hashmap *h, unsigned *i, void **ret_value, const char **ret_key) {
        if (!h)
                return false;
        for (; *i < h->n_buckets; (*i)++) {
                Entry *e = h->entries + *i;
                if (!e->key)
                        continue;
                if (ret_value)
                        *ret_value = e->value;
                if (ret_key)
                        *ret_key = e->key;
                (*i)++;
                return true;
        }
        return false;
}
