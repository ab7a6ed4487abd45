/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hashmap.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);
#define _cleanup_hashmap_free_ _cleanup_(hashmap_freep)

#define N_MANY 10000

/* Keys are borrowed by the map, so they live in a static table for the whole test. */
static char keys[N_MANY][16];

static void make_keys(void) {
        for (size_t i = 0; i < N_MANY; i++)
                snprintf(keys[i], sizeof keys[i], "key-%zu", i);
}

/* Values are the index + 1, so that no value is NULL. */
#define VAL(i) ((void *) (uintptr_t) ((i) + 1))
#define IDX(v) ((size_t) (uintptr_t) (v) - 1)

Test(hashmap, starts_empty) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        unsigned i = 0;
        void *v;

        cr_assert(not(zero(ptr, h)));
        cr_assert(eq(sz, hashmap_size(h), 0));
        cr_assert(zero(ptr, hashmap_get(h, "nothing")));
        cr_assert(zero(ptr, hashmap_remove(h, "nothing")));
        cr_assert(not(hashmap_iterate(h, &i, &v, NULL)));
}

Test(hashmap, treats_null_as_an_empty_map) {
        unsigned i = 0;
        void *v;

        cr_assert(eq(sz, hashmap_size(NULL), 0));
        cr_assert(zero(ptr, hashmap_get(NULL, "x")));
        cr_assert(zero(ptr, hashmap_remove(NULL, "x")));
        cr_assert(not(hashmap_iterate(NULL, &i, &v, NULL)));
        cr_assert(zero(ptr, hashmap_free(NULL)));
}

Test(hashmap, gets_what_was_put) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        int a = 1, b = 2;

        cr_assert(eq(int, hashmap_put(h, "a", &a), 0));
        cr_assert(eq(int, hashmap_put(h, "b", &b), 0));
        cr_assert(eq(sz, hashmap_size(h), 2));
        cr_assert(eq(ptr, hashmap_get(h, "a"), &a));
        cr_assert(eq(ptr, hashmap_get(h, "b"), &b));
        cr_assert(zero(ptr, hashmap_get(h, "c")));
}

Test(hashmap, compares_keys_by_content) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        char put_key[] = "web-1", get_key[] = "web-1";
        int a = 1;

        cr_assert(eq(int, hashmap_put(h, put_key, &a), 0));
        cr_assert(eq(ptr, hashmap_get(h, get_key), &a));
        cr_assert(zero(ptr, hashmap_get(h, "web-")));
        cr_assert(zero(ptr, hashmap_get(h, "web-10")));
        cr_assert(zero(ptr, hashmap_get(h, "Web-1")));
}

Test(hashmap, accepts_the_empty_key) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        int a = 1;

        cr_assert(eq(int, hashmap_put(h, "", &a), 0));
        cr_assert(eq(ptr, hashmap_get(h, ""), &a));
        cr_assert(eq(ptr, hashmap_remove(h, ""), &a));
        cr_assert(zero(ptr, hashmap_get(h, "")));
}

Test(hashmap, refuses_a_duplicate_key_with_eexist) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        char other[] = "dup";
        int a = 1, b = 2;

        cr_assert(eq(int, hashmap_put(h, "dup", &a), 0));
        cr_assert(eq(int, hashmap_put(h, "dup", &b), -EEXIST));
        cr_assert(eq(int, hashmap_put(h, other, &b), -EEXIST));
        cr_assert(eq(sz, hashmap_size(h), 1));
        cr_assert(eq(ptr, hashmap_get(h, "dup"), &a));
}

Test(hashmap, removes_and_returns_the_value) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        int a = 1, b = 2;

        cr_assert(eq(int, hashmap_put(h, "a", &a), 0));
        cr_assert(eq(int, hashmap_put(h, "b", &b), 0));
        cr_assert(eq(ptr, hashmap_remove(h, "a"), &a));
        cr_assert(eq(sz, hashmap_size(h), 1));
        cr_assert(zero(ptr, hashmap_get(h, "a")));
        cr_assert(eq(ptr, hashmap_get(h, "b"), &b));
        cr_assert(zero(ptr, hashmap_remove(h, "a")));
        cr_assert(eq(sz, hashmap_size(h), 1));
}

Test(hashmap, puts_again_after_remove) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        int a = 1, b = 2;

        cr_assert(eq(int, hashmap_put(h, "k", &a), 0));
        cr_assert(eq(ptr, hashmap_remove(h, "k"), &a));
        cr_assert(eq(int, hashmap_put(h, "k", &b), 0));
        cr_assert(eq(ptr, hashmap_get(h, "k"), &b));
        cr_assert(eq(sz, hashmap_size(h), 1));
        cr_assert(eq(int, hashmap_put(h, "k", &a), -EEXIST));
}

Test(hashmap, grows_through_ten_thousand_entries, .init = make_keys) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();

        for (size_t i = 0; i < N_MANY; i++) {
                cr_assert(eq(int, hashmap_put(h, keys[i], VAL(i)), 0), "put %s", keys[i]);
                cr_assert(eq(sz, hashmap_size(h), i + 1));
        }
        for (size_t i = 0; i < N_MANY; i++)
                cr_assert(eq(ptr, hashmap_get(h, keys[i]), VAL(i)), "get %s", keys[i]);
        cr_assert(zero(ptr, hashmap_get(h, "key-10000")));
        for (size_t i = 0; i < N_MANY; i++)
                cr_assert(eq(int, hashmap_put(h, keys[i], VAL(0)), -EEXIST));
}

Test(hashmap, iteration_sees_each_live_entry_once, .init = make_keys) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        static unsigned seen[N_MANY];
        const char *k;
        unsigned i = 0;
        size_t n = 0;
        void *v;

        for (size_t j = 0; j < N_MANY; j++)
                cr_assert(eq(int, hashmap_put(h, keys[j], VAL(j)), 0));
        /* leave tombstones behind: every third entry goes */
        for (size_t j = 0; j < N_MANY; j += 3)
                cr_assert(eq(ptr, hashmap_remove(h, keys[j]), VAL(j)));

        while (hashmap_iterate(h, &i, &v, &k)) {
                size_t idx = IDX(v);

                cr_assert(lt(sz, idx, (size_t) N_MANY));
                cr_assert(eq(ptr, (void *) k, keys[idx]), "key and value disagree");
                cr_assert(not(eq(sz, idx % 3, 0)), "removed entry %s seen", k);
                seen[idx]++;
                n++;
        }
        cr_assert(eq(sz, n, hashmap_size(h)));
        for (size_t j = 0; j < N_MANY; j++)
                cr_assert(eq(u32, seen[j], j % 3 == 0 ? 0 : 1), "%s seen %u times", keys[j], seen[j]);
}

Test(hashmap, foreach_visits_every_value, .init = make_keys) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        size_t sum = 0, n = 0;
        void *v;

        for (size_t j = 0; j < 100; j++)
                cr_assert(eq(int, hashmap_put(h, keys[j], VAL(j)), 0));
        HASHMAP_FOREACH(v, h) {
                sum += IDX(v);
                n++;
        }
        cr_assert(eq(sz, n, 100));
        cr_assert(eq(sz, sum, 99 * 100 / 2));
}

Test(hashmap, remove_then_reput_keeps_every_entry_reachable, .init = make_keys) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();

        for (size_t i = 0; i < N_MANY; i++)
                cr_assert(eq(int, hashmap_put(h, keys[i], VAL(i)), 0));
        for (size_t i = 0; i < N_MANY; i += 2)
                cr_assert(eq(ptr, hashmap_remove(h, keys[i]), VAL(i)));
        cr_assert(eq(sz, hashmap_size(h), N_MANY / 2));
        for (size_t i = 1; i < N_MANY; i += 2)
                cr_assert(eq(ptr, hashmap_get(h, keys[i]), VAL(i)));
        for (size_t i = 0; i < N_MANY; i += 2) {
                cr_assert(zero(ptr, hashmap_get(h, keys[i])));
                cr_assert(eq(int, hashmap_put(h, keys[i], VAL(i)), 0));
        }
        cr_assert(eq(sz, hashmap_size(h), N_MANY));
        for (size_t i = 0; i < N_MANY; i++)
                cr_assert(eq(ptr, hashmap_get(h, keys[i]), VAL(i)));
}

/* Tombstones fill a small table when entries come and go; it must rehash rather than run out of
 * empty buckets (a find() that never meets an empty bucket, or a put() that loops forever). */
Test(hashmap, survives_endless_churn_at_small_size, .init = make_keys, .timeout = 20) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();

        cr_assert(eq(int, hashmap_put(h, "resident", VAL(0)), 0));
        for (size_t round = 0; round < 10; round++)
                for (size_t i = 0; i < N_MANY; i++) {
                        cr_assert(eq(int, hashmap_put(h, keys[i], VAL(i)), 0));
                        cr_assert(eq(ptr, hashmap_get(h, keys[i]), VAL(i)));
                        cr_assert(eq(ptr, hashmap_remove(h, keys[i]), VAL(i)));
                        cr_assert(zero(ptr, hashmap_get(h, keys[i])));
                }
        cr_assert(eq(sz, hashmap_size(h), 1));
        cr_assert(eq(ptr, hashmap_get(h, "resident"), VAL(0)));
}

Test(hashmap, iteration_returns_key_and_value_together) {
        _cleanup_hashmap_free_ Hashmap *h = hashmap_new();
        const char *k = NULL;
        unsigned i = 0;
        void *v = NULL;
        int a = 1;

        cr_assert(eq(int, hashmap_put(h, "only", &a), 0));
        cr_assert(hashmap_iterate(h, &i, &v, &k));
        cr_assert(eq(str, (char *) k, "only"));
        cr_assert(eq(ptr, v, &a));
        cr_assert(not(hashmap_iterate(h, &i, &v, &k)));
        /* the iterator stays at its end */
        cr_assert(not(hashmap_iterate(h, &i, &v, &k)));
}
