/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "string-util.h"

#define STRV(...) ((char **) (const char *[]) { __VA_ARGS__, NULL })

/* strjoin() */

Test(strjoin, concatenates_all_arguments) {
        _cleanup_free_ char *s = strjoin("a", "bc", "def");

        cr_assert(eq(str, s, "abcdef"));
}

Test(strjoin, handles_empty_strings) {
        _cleanup_free_ char *a = strjoin("", ""), *b = strjoin("", "x", ""), *c = strjoin("x", "");

        cr_assert(eq(str, a, ""));
        cr_assert(eq(str, b, "x"));
        cr_assert(eq(str, c, "x"));
}

Test(strjoin, stops_at_the_first_null) {
        _cleanup_free_ char *s = strjoin("a", NULL, "b");

        cr_assert(eq(str, s, "a"));
}

Test(strjoin, joins_long_strings) {
        char big[5000];
        _cleanup_free_ char *s = NULL;

        memset(big, 'q', sizeof big - 1);
        big[sizeof big - 1] = 0;
        s = strjoin(big, "/", big);
        cr_assert(eq(sz, strlen(s), 2 * (sizeof big - 1) + 1));
        cr_assert(eq(chr, s[sizeof big - 1], '/'));
}

/* asprintf_safe() */

Test(asprintf_safe, formats_and_returns_the_length) {
        _cleanup_free_ char *s = NULL;

        cr_assert(eq(int, asprintf_safe(&s, "%s-%d", "x", 42), 4));
        cr_assert(eq(str, s, "x-42"));
}

/* startswith(), startswith_ptr(), endswith() */

Test(startswith, matches_prefixes) {
        cr_assert(startswith("foobar", "foo"));
        cr_assert(startswith("foo", "foo"));
        cr_assert(startswith("foo", ""));
        cr_assert(not(startswith("fo", "foo")));
        cr_assert(not(startswith("barfoo", "foo")));
        cr_assert(not(startswith("Foobar", "foo")));
}

Test(startswith_ptr, returns_the_rest_after_the_prefix) {
        const char *s = "Key=Value";

        cr_assert(eq(ptr, (void *) startswith_ptr(s, "Key="), (void *) (s + 4)));
        cr_assert(eq(ptr, (void *) startswith_ptr(s, ""), (void *) s));
        cr_assert(eq(ptr, (void *) startswith_ptr(s, s), (void *) (s + strlen(s))));
        cr_assert(zero(ptr, (void *) startswith_ptr(s, "Value")));
        cr_assert(zero(ptr, (void *) startswith_ptr("Ke", "Key")));
}

Test(endswith, matches_suffixes) {
        cr_assert(endswith("file.conf", ".conf"));
        cr_assert(endswith(".conf", ".conf"));
        cr_assert(endswith("x", ""));
        cr_assert(endswith("", ""));
        cr_assert(not(endswith("conf", ".conf")));
        cr_assert(not(endswith("file.conf~", ".conf")));
        cr_assert(not(endswith("", "x")));
}

/* free_and_strdup() */

Test(free_and_strdup, replaces_the_string) {
        _cleanup_free_ char *s = strdup("old");

        cr_assert(eq(int, free_and_strdup(&s, "new"), 0));
        cr_assert(eq(str, s, "new"));
}

Test(free_and_strdup, sets_null) {
        _cleanup_free_ char *s = strdup("old");

        cr_assert(eq(int, free_and_strdup(&s, NULL), 0));
        cr_assert(zero(ptr, s));
        cr_assert(eq(int, free_and_strdup(&s, "again"), 0));
        cr_assert(eq(str, s, "again"));
}

/* strv_length(), strv_copy(), strv_free() */

Test(strv_length, counts_entries) {
        cr_assert(eq(sz, strv_length(NULL), 0));
        cr_assert(eq(sz, strv_length(STRV(NULL)), 0));
        cr_assert(eq(sz, strv_length(STRV("a")), 1));
        cr_assert(eq(sz, strv_length(STRV("a", "", "c")), 3));
}

Test(strv_copy, makes_a_deep_copy) {
        char **orig = STRV("a", "bb", "");
        _cleanup_strv_free_ char **c = strv_copy(orig);

        cr_assert(not(zero(ptr, c)));
        cr_assert(eq(sz, strv_length(c), 3));
        cr_assert(strv_equal(c, orig));
        for (size_t i = 0; i < 3; i++)
                cr_assert(not(eq(ptr, c[i], orig[i])));
}

Test(strv_copy, copies_null_to_an_empty_list) {
        _cleanup_strv_free_ char **c = strv_copy(NULL);

        cr_assert(not(zero(ptr, c)));
        cr_assert(zero(ptr, c[0]));
}

Test(strv_free, accepts_null_and_returns_null) {
        cr_assert(zero(ptr, strv_free(NULL)));
        cr_assert(zero(ptr, strv_free(strv_copy(STRV("x")))));
}

/* strv_extend(), strv_consume() */

Test(strv_extend, appends_copies_to_a_null_list) {
        _cleanup_strv_free_ char **l = NULL;
        char v[] = "one";

        cr_assert(eq(int, strv_extend(&l, v), 0));
        cr_assert(eq(int, strv_extend(&l, "two"), 0));
        cr_assert(eq(int, strv_extend(&l, ""), 0));
        v[0] = 'X';
        cr_assert(strv_equal(l, STRV("one", "two", "")));
}

Test(strv_extend, keeps_the_list_terminated_while_growing) {
        _cleanup_strv_free_ char **l = NULL;
        char buf[16];

        for (int i = 0; i < 1000; i++) {
                snprintf(buf, sizeof buf, "%d", i);
                cr_assert(eq(int, strv_extend(&l, buf), 0));
                cr_assert(eq(sz, strv_length(l), (size_t) i + 1));
        }
        cr_assert(eq(str, l[0], "0"));
        cr_assert(eq(str, l[999], "999"));
        cr_assert(zero(ptr, l[1000]));
}

Test(strv_consume, takes_ownership) {
        _cleanup_strv_free_ char **l = NULL;
        char *v = strdup("mine");

        cr_assert(eq(int, strv_consume(&l, v), 0));
        cr_assert(eq(ptr, l[0], v));
        cr_assert(zero(ptr, l[1]));
}

Test(strv_consume, reports_a_null_value_as_enomem) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_consume(&l, NULL), -ENOMEM));
        cr_assert(zero(ptr, l));
}

/* strv_contains(), strv_equal() */

Test(strv_contains, finds_exact_matches_only) {
        char **l = STRV("alpha", "beta", "");

        cr_assert(strv_contains(l, "alpha"));
        cr_assert(strv_contains(l, "beta"));
        cr_assert(strv_contains(l, ""));
        cr_assert(not(strv_contains(l, "alph")));
        cr_assert(not(strv_contains(l, "Alpha")));
        cr_assert(not(strv_contains(NULL, "alpha")));
}

Test(strv_equal, compares_element_by_element) {
        cr_assert(strv_equal(STRV("a", "b"), STRV("a", "b")));
        cr_assert(not(strv_equal(STRV("a", "b"), STRV("a", "c"))));
        cr_assert(not(strv_equal(STRV("a", "b"), STRV("b", "a"))));
}

Test(strv_equal, treats_different_lengths_as_different) {
        cr_assert(not(strv_equal(STRV("a"), STRV("a", "b"))));
        cr_assert(not(strv_equal(STRV("a", "b"), STRV("a"))));
        cr_assert(not(strv_equal(STRV("a"), NULL)));
        cr_assert(not(strv_equal(NULL, STRV("a"))));
}

Test(strv_equal, treats_null_and_empty_lists_as_equal) {
        cr_assert(strv_equal(NULL, NULL));
        cr_assert(strv_equal(STRV(NULL), NULL));
        cr_assert(strv_equal(NULL, STRV(NULL)));
        cr_assert(strv_equal(STRV(NULL), STRV(NULL)));
}

/* strv_join() */

Test(strv_join, puts_the_separator_between_entries) {
        _cleanup_free_ char *a = strv_join(STRV("a", "b", "c"), ", ");
        _cleanup_free_ char *b = strv_join(STRV("only"), ", ");
        _cleanup_free_ char *c = strv_join(STRV("a", "", "c"), ":");
        _cleanup_free_ char *d = strv_join(STRV("a", "b"), "");

        cr_assert(eq(str, a, "a, b, c"));
        cr_assert(eq(str, b, "only"));
        cr_assert(eq(str, c, "a::c"));
        cr_assert(eq(str, d, "ab"));
}

Test(strv_join, joins_empty_and_null_lists_to_empty_string) {
        _cleanup_free_ char *a = strv_join(STRV(NULL), ","), *b = strv_join(NULL, ",");

        cr_assert(eq(str, a, ""));
        cr_assert(eq(str, b, ""));
}

/* env_assignment_is_valid() */

Test(env_assignment, accepts_shell_style_names) {
        cr_assert(env_assignment_is_valid("PATH=/usr/bin"));
        cr_assert(env_assignment_is_valid("_=x"));
        cr_assert(env_assignment_is_valid("a1_B2=x"));
        cr_assert(env_assignment_is_valid("lower=case"));
}

Test(env_assignment, accepts_empty_values_and_values_with_equals) {
        cr_assert(env_assignment_is_valid("EMPTY="));
        cr_assert(env_assignment_is_valid("OPTS=a=b=c"));
        cr_assert(env_assignment_is_valid("SPACES=  with spaces  "));
        cr_assert(env_assignment_is_valid("NL=line1\nline2"));
}

Test(env_assignment, accepts_dots_and_hyphens_after_the_first_character) {
        cr_assert(env_assignment_is_valid("java.home=/opt"));
        cr_assert(env_assignment_is_valid("my-var=1"));
}

Test(env_assignment, rejects_missing_name_or_equals) {
        cr_assert(not(env_assignment_is_valid("=value")));
        cr_assert(not(env_assignment_is_valid("NOEQUALS")));
        cr_assert(not(env_assignment_is_valid("")));
}

Test(env_assignment, rejects_bad_names) {
        cr_assert(not(env_assignment_is_valid("1ABC=x")));
        cr_assert(not(env_assignment_is_valid("-A=x")));
        cr_assert(not(env_assignment_is_valid(".A=x")));
        cr_assert(not(env_assignment_is_valid("A B=x")));
        cr_assert(not(env_assignment_is_valid("A\tB=x")));
        cr_assert(not(env_assignment_is_valid("A\nB=x")));
        cr_assert(not(env_assignment_is_valid("A$=x")));
        cr_assert(not(env_assignment_is_valid("caf\xc3\xa9=x")));
}

Test(env_assignment, rejects_assignments_of_128_kib_and_more) {
        size_t n = 128 * 1024;
        _cleanup_free_ char *s = malloc(n + 1);

        cr_assert(not(zero(ptr, s)));
        memcpy(s, "BIG=", 4);
        memset(s + 4, 'x', n - 4);
        s[n] = 0;
        cr_assert(not(env_assignment_is_valid(s)));
        s[n - 1] = 0;
        cr_assert(env_assignment_is_valid(s));
}

/* strv_env_set(), strv_env_get() */

Test(strv_env_set, appends_new_keys) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_env_set(&l, "A=1"), 0));
        cr_assert(eq(int, strv_env_set(&l, "B=2"), 0));
        cr_assert(strv_equal(l, STRV("A=1", "B=2")));
}

Test(strv_env_set, replaces_existing_keys_in_place) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_env_set(&l, "A=1"), 0));
        cr_assert(eq(int, strv_env_set(&l, "B=2"), 0));
        cr_assert(eq(int, strv_env_set(&l, "C=3"), 0));
        cr_assert(eq(int, strv_env_set(&l, "B=two"), 0));
        cr_assert(eq(int, strv_env_set(&l, "A="), 0));
        cr_assert(strv_equal(l, STRV("A=", "B=two", "C=3")));
}

Test(strv_env_set, does_not_confuse_keys_sharing_a_prefix) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_env_set(&l, "PATH=/bin"), 0));
        cr_assert(eq(int, strv_env_set(&l, "PA=x"), 0));
        cr_assert(eq(int, strv_env_set(&l, "PATHX=y"), 0));
        cr_assert(eq(int, strv_env_set(&l, "PATH=/usr/bin"), 0));
        cr_assert(strv_equal(l, STRV("PATH=/usr/bin", "PA=x", "PATHX=y")));
}

Test(strv_env_set, copies_the_assignment) {
        _cleanup_strv_free_ char **l = NULL;
        char a[] = "K=v";

        cr_assert(eq(int, strv_env_set(&l, a), 0));
        a[2] = 'X';
        cr_assert(eq(str, l[0], "K=v"));
}

Test(strv_env_set, rejects_assignments_without_equals) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_env_set(&l, "NOEQUALS"), -EINVAL));
        cr_assert(zero(ptr, l));
}

Test(strv_env_get, returns_the_value) {
        char **l = STRV("A=1", "EMPTY=", "OPTS=a=b", "PATH=/bin");

        cr_assert(eq(str, (char *) strv_env_get(l, "A"), "1"));
        cr_assert(eq(str, (char *) strv_env_get(l, "EMPTY"), ""));
        cr_assert(eq(str, (char *) strv_env_get(l, "OPTS"), "a=b"));
        cr_assert(eq(str, (char *) strv_env_get(l, "PATH"), "/bin"));
}

Test(strv_env_get, returns_null_for_missing_keys) {
        char **l = STRV("PATH=/bin", "A=1");

        cr_assert(zero(ptr, (void *) strv_env_get(l, "PAT")));
        cr_assert(zero(ptr, (void *) strv_env_get(l, "PATHX")));
        cr_assert(zero(ptr, (void *) strv_env_get(l, "B")));
        cr_assert(zero(ptr, (void *) strv_env_get(NULL, "A")));
}

Test(strv_env_get, sees_the_value_set_last) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, strv_env_set(&l, "X=old"), 0));
        cr_assert(eq(int, strv_env_set(&l, "X=new"), 0));
        cr_assert(eq(str, (char *) strv_env_get(l, "X"), "new"));
        cr_assert(eq(sz, strv_length(l), 1));
}

/* STRV_FOREACH() */

Test(strv_foreach, visits_every_entry_in_order_and_none_of_null) {
        char **l = STRV("a", "b", "c");
        _cleanup_free_ char *seen = NULL;
        size_t n = 0;

        STRV_FOREACH(s, l) {
                char *t = strjoin(strempty(seen), *s);
                cr_assert(not(zero(ptr, t)));
                free(seen);
                seen = t;
        }
        cr_assert(eq(str, seen, "abc"));

        STRV_FOREACH(s, (char **) NULL)
                n++;
        cr_assert(eq(sz, n, 0));
}
