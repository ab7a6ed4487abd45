/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "macro.h"
#include "name-util.h"
#include "string-util.h"

/* A string of n copies of c, in a buffer that the caller frees. */
static char *repeat(char c, size_t n) {
        char *s = malloc(n + 1);

        cr_assert(not(zero(ptr, s)));
        memset(s, c, n);
        s[n] = 0;
        return s;
}

#define assert_valid(f, s) cr_assert(f(s), #f "(\"%s\") is false", s)
#define assert_invalid(f, s) cr_assert(not(f(s)), #f "(\"%s\") is true", s)

/* container_name_is_valid() */

Test(container_name, accepts_single_alphanumeric_character) {
        assert_valid(container_name_is_valid, "a");
        assert_valid(container_name_is_valid, "Z");
        assert_valid(container_name_is_valid, "7");
}

Test(container_name, accepts_host_name_like_names) {
        assert_valid(container_name_is_valid, "web");
        assert_valid(container_name_is_valid, "brave-otter");
        assert_valid(container_name_is_valid, "db.example.com");
        assert_valid(container_name_is_valid, "Web-1.Prod");
        assert_valid(container_name_is_valid, "0day");
        assert_valid(container_name_is_valid, "a-b-c");
        assert_valid(container_name_is_valid, "a--b");
}

Test(container_name, accepts_sixty_three_characters) {
        _cleanup_free_ char *s = repeat('a', 63);

        assert_valid(container_name_is_valid, s);
}

Test(container_name, rejects_sixty_four_characters) {
        _cleanup_free_ char *s = repeat('a', 64);

        assert_invalid(container_name_is_valid, s);
}

Test(container_name, rejects_empty_and_null) {
        assert_invalid(container_name_is_valid, "");
        assert_invalid(container_name_is_valid, NULL);
}

Test(container_name, rejects_leading_dot_or_hyphen) {
        assert_invalid(container_name_is_valid, ".a");
        assert_invalid(container_name_is_valid, "-a");
        assert_invalid(container_name_is_valid, ".");
        assert_invalid(container_name_is_valid, "-");
}

Test(container_name, rejects_dot_dot) {
        assert_invalid(container_name_is_valid, "a..b");
        assert_invalid(container_name_is_valid, "..");
        assert_invalid(container_name_is_valid, "a...b");
}

Test(container_name, rejects_trailing_dot_or_hyphen) {
        assert_invalid(container_name_is_valid, "a.");
        assert_invalid(container_name_is_valid, "a-");
        assert_invalid(container_name_is_valid, "abc.def.");
}

/* A container name must be a host name machined accepts (hostname_is_valid() in systemd ≥ 247):
 * no label may begin or end with '-'. */
Test(container_name, rejects_hyphen_next_to_dot) {
        assert_invalid(container_name_is_valid, "a-.b");
        assert_invalid(container_name_is_valid, "a.-b");
        assert_invalid(container_name_is_valid, "web-.prod");
}

Test(container_name, rejects_characters_outside_the_host_name_alphabet) {
        assert_invalid(container_name_is_valid, "a_b");
        assert_invalid(container_name_is_valid, "a b");
        assert_invalid(container_name_is_valid, "a/b");
        assert_invalid(container_name_is_valid, "a:b");
        assert_invalid(container_name_is_valid, "caf\xc3\xa9");
        assert_invalid(container_name_is_valid, "a\nb");
        assert_invalid(container_name_is_valid, "_a");
}

/* container_id_is_valid(), container_id_generate() */

Test(container_id, accepts_thirty_two_lower_case_hex_digits) {
        assert_valid(container_id_is_valid, "0123456789abcdef0123456789abcdef");
        assert_valid(container_id_is_valid, "ffffffffffffffffffffffffffffffff");
}

Test(container_id, rejects_wrong_length) {
        assert_invalid(container_id_is_valid, "0123456789abcdef0123456789abcde");
        assert_invalid(container_id_is_valid, "0123456789abcdef0123456789abcdef0");
        assert_invalid(container_id_is_valid, "");
        assert_invalid(container_id_is_valid, NULL);
}

Test(container_id, rejects_upper_case_and_non_hex) {
        assert_invalid(container_id_is_valid, "0123456789ABCDEF0123456789abcdef");
        assert_invalid(container_id_is_valid, "0123456789abcdeg0123456789abcdef");
        assert_invalid(container_id_is_valid, "0123456789abcdef-123456789abcdef");
}

Test(container_id, generates_valid_ids) {
        for (int i = 0; i < 100; i++) {
                char id[CONTAINER_ID_LEN + 1];

                cr_assert(eq(int, container_id_generate(id), 0));
                cr_assert(eq(sz, strlen(id), (size_t) CONTAINER_ID_LEN));
                cr_assert(container_id_is_valid(id), "generated id \"%s\" is not valid", id);
        }
}

Test(container_id, generates_distinct_ids) {
        char ids[64][CONTAINER_ID_LEN + 1];

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                cr_assert(eq(int, container_id_generate(ids[i]), 0));
                for (size_t j = 0; j < i; j++)
                        cr_assert(not(eq(str, ids[i], ids[j])));
        }
}

/* container_name_generate() */

Test(container_name_generate, makes_adjective_animal_names) {
        for (int i = 0; i < 1000; i++) {
                _cleanup_free_ char *s = NULL;

                cr_assert(eq(int, container_name_generate(0, &s), 0));
                cr_assert(container_name_is_valid(s), "generated name \"%s\" is not valid", s);
                /* exactly one '-', between two lower-case words */
                const char *dash = strchr(s, '-');
                cr_assert(not(zero(ptr, (void *) dash)), "no '-' in \"%s\"", s);
                cr_assert(zero(ptr, strchr(dash + 1, '-')), "more than one '-' in \"%s\"", s);
                cr_assert(eq(sz, strspn(s, "abcdefghijklmnopqrstuvwxyz-"), strlen(s)));
        }
}

Test(container_name_generate, appends_a_number_on_retries) {
        for (unsigned attempt = 1; attempt < 1000; attempt++) {
                _cleanup_free_ char *s = NULL;

                cr_assert(eq(int, container_name_generate(attempt, &s), 0));
                cr_assert(container_name_is_valid(s), "generated name \"%s\" is not valid", s);
                const char *last = strrchr(s, '-');
                cr_assert(not(zero(ptr, (void *) last)));
                cr_assert(ge(sz, strlen(last + 1), (size_t) 1));
                cr_assert(le(sz, strlen(last + 1), (size_t) 4));
                cr_assert(eq(sz, strspn(last + 1, "0123456789"), strlen(last + 1)),
                          "bad suffix in \"%s\"", s);
                /* two words before the number */
                cr_assert(not(eq(ptr, (void *) strchr(s, '-'), (void *) last)), "\"%s\" lacks a word", s);
        }
}

Test(container_name_generate, makes_mostly_distinct_names) {
        _cleanup_strv_free_ char **seen = NULL;
        size_t distinct = 0;

        /* 48 × 48 word pairs: 200 draws repeat ~9 times on average; fewer than 150 distinct names would
         * mean the randomness or the word choice is broken. */
        for (int i = 0; i < 200; i++) {
                char *s = NULL;

                cr_assert(eq(int, container_name_generate(0, &s), 0));
                if (strv_contains(seen, s)) {
                        free(s);
                        continue;
                }
                cr_assert(eq(int, strv_consume(&seen, s), 0));
                distinct++;
        }
        cr_assert(ge(sz, distinct, (size_t) 150));
}

/* image_name_normalize(), image_name_is_valid() */

static void assert_image(const char *in, const char *expected) {
        _cleanup_free_ char *out = NULL;
        int r;

        r = image_name_normalize(in, &out);
        cr_assert(eq(int, r, 0), "image_name_normalize(\"%s\") failed: %d", in, r);
        cr_assert(eq(str, out, (char *) expected));
        cr_assert(image_name_is_valid(in));
}

static void assert_image_invalid(const char *in) {
        char *out = NULL;

        cr_assert(eq(int, image_name_normalize(in, &out), -EINVAL), "\"%s\" was accepted", in);
        cr_assert(zero(ptr, out), "ret was written for \"%s\"", in);
        cr_assert(not(image_name_is_valid(in)));
}

Test(image_name, the_limit_holds_for_the_normalized_name_and_its_record_file) {
        char name[300], *out = NULL;

        /* 240 letters: "NAME:latest" is 247 bytes, its record file 254 ("_3a" for ':', ".json") */
        memset(name, 'a', 240);
        name[240] = 0;
        cr_assert(eq(int, image_name_normalize(name, &out), 0));
        cr_assert(eq(sz, strlen(out), 247));
        free(out);
        out = NULL;

        /* 250 bytes are fine as typed but not with ":latest" added: found by tests/fuzz, where the
         * stored name failed its own check when read back */
        memset(name, 'a', 250);
        name[250] = 0;
        cr_assert(eq(int, image_name_normalize(name, &out), -ENAMETOOLONG));
        cr_assert(zero(ptr, out));
        cr_assert(not(image_name_is_valid(name)));

        /* 241 letters fit; a leading digit is escaped too (object paths cannot start with one) */
        memset(name, 'a', 241);
        name[241] = 0;
        cr_assert(eq(int, image_name_normalize(name, &out), 0));
        free(out);
        out = NULL;
        name[0] = '1';
        cr_assert(eq(int, image_name_normalize(name, &out), -ENAMETOOLONG));
        cr_assert(zero(ptr, out));

        /* short enough, but each '-' is three bytes of the record's file name */
        for (size_t i = 0; i < 200; i += 2)
                name[i] = 'a', name[i + 1] = '-';
        name[199] = 'a';
        name[200] = 0;
        cr_assert(eq(int, image_name_normalize(name, &out), -ENAMETOOLONG));

        /* whatever normalizes, normalizes to itself */
        cr_assert(eq(int, image_name_normalize("docker.io/library/busybox", &out), 0));
        char *again = NULL;
        cr_assert(eq(int, image_name_normalize(out, &again), 0));
        cr_assert(eq(str, again, out));
        free(again);
        free(out);
}

Test(image_name, adds_latest_when_the_tag_is_missing) {
        assert_image("busybox", "busybox:latest");
        assert_image("library/busybox", "library/busybox:latest");
}

Test(image_name, keeps_an_explicit_tag) {
        assert_image("busybox:1.36", "busybox:1.36");
        assert_image("library/busybox:1.36", "library/busybox:1.36");
        assert_image("alpine:3.19.1-r0_x", "alpine:3.19.1-r0_x");
        assert_image("alpine:_internal", "alpine:_internal");
        assert_image("alpine:Latest", "alpine:Latest");
}

Test(image_name, accepts_a_registry_host_with_port) {
        assert_image("localhost:5000/foo/bar:v1", "localhost:5000/foo/bar:v1");
        assert_image("reg.example:443/x", "reg.example:443/x:latest");
        assert_image("localhost/foo", "localhost/foo:latest");
        assert_image("quay.io/coreos/etcd:v3.5", "quay.io/coreos/etcd:v3.5");
}

Test(image_name, accepts_component_separators) {
        assert_image("my.repo/a_b/c__d/e-f/g--h", "my.repo/a_b/c__d/e-f/g--h:latest");
        assert_image("a.b", "a.b:latest");
}

Test(image_name, rejects_upper_case_repository) {
        assert_image_invalid("Busybox");
        assert_image_invalid("library/BusyBox:1.36");
        assert_image_invalid("localhost:5000/Foo");
}

Test(image_name, rejects_empty) {
        assert_image_invalid("");
        assert_image_invalid(NULL);
}

Test(image_name, rejects_tag_without_name) {
        assert_image_invalid(":tag");
        assert_image_invalid(":latest");
}

Test(image_name, rejects_empty_tag) {
        assert_image_invalid("foo:");
        assert_image_invalid("library/foo:");
}

Test(image_name, rejects_double_colon) {
        assert_image_invalid("foo::x");
}

Test(image_name, rejects_dot_dot) {
        assert_image_invalid("a..b");
        assert_image_invalid("x/a..b:1");
}

Test(image_name, rejects_empty_path_components) {
        assert_image_invalid("foo/");
        assert_image_invalid("foo/:v1");
        assert_image_invalid("/foo");
        assert_image_invalid("foo//bar");
        assert_image_invalid("localhost:5000/");
}

/* The repository grammar is [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*: one separator between alphanumerics. */
Test(image_name, rejects_mixed_separators) {
        assert_image_invalid("a.-b");
        assert_image_invalid("a-.b");
        assert_image_invalid("a-_b");
        assert_image_invalid("a_-b");
        assert_image_invalid("a._b");
        assert_image_invalid("a_.b");
        assert_image_invalid("a__.b");
        assert_image_invalid("a___b");
}

Test(image_name, rejects_leading_or_trailing_separators) {
        assert_image_invalid("-foo");
        assert_image_invalid("foo-");
        assert_image_invalid("_foo");
        assert_image_invalid("foo.");
        assert_image_invalid("x/foo_");
}

Test(image_name, rejects_bad_tag_characters) {
        assert_image_invalid("foo:-x");
        assert_image_invalid("foo:.x");
        assert_image_invalid("foo:a/b");
        assert_image_invalid("foo:a+b");
}

/* A registry host is a DNS name: dot-separated labels that begin and end alphanumeric. ".." as the
 * first component must never pass for a host. */
Test(image_name, rejects_malformed_registry_hosts) {
        assert_image_invalid("../x");
        assert_image_invalid("./x");
        assert_image_invalid("..:5000/x");
        assert_image_invalid(".example/x");
        assert_image_invalid("reg..example/x");
        assert_image_invalid("reg.example./x");
        assert_image_invalid("-reg.example/x");
        assert_image_invalid("reg.example-/x");
        assert_image_invalid("reg-.example/x");
}

Test(image_name, accepts_registry_hosts_in_any_case) {
        assert_image("Reg.Example/x", "Reg.Example/x:latest");
        assert_image("a-b.example:5000/x/y:1", "a-b.example:5000/x/y:1");
        assert_image("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest");
}

Test(image_name, rejects_bad_registry_port) {
        assert_image_invalid("localhost:/foo");
        assert_image_invalid("localhost:50a0/foo");
        assert_image_invalid("localhost:123456/foo");
        assert_image_invalid("reg.example:1:2/foo");
        assert_image_invalid(":5000/foo");
}

Test(image_name, accepts_a_tag_of_128_characters) {
        _cleanup_free_ char *tag = repeat('t', 128), *in = strjoin("foo:", tag);

        assert_image(in, in);
}

Test(image_name, rejects_a_tag_of_129_characters) {
        _cleanup_free_ char *tag = repeat('t', 129), *in = strjoin("foo:", tag);

        assert_image_invalid(in);
}

Test(image_name, rejects_names_longer_than_255_characters) {
        /* the longest plain name the store can keep: its record is images/NAME_3alatest.json */
        _cleanup_free_ char *ok = repeat('a', 241), *long_ = repeat('a', 256);
        _cleanup_free_ char *expected = strjoin(ok, ":latest");

        assert_image(ok, expected);
        assert_image_invalid(long_);
}

/* filename_is_valid() */

Test(filename, accepts_plain_names) {
        assert_valid(filename_is_valid, "a");
        assert_valid(filename_is_valid, "config.json");
        assert_valid(filename_is_valid, ".hidden");
        assert_valid(filename_is_valid, "...");
        assert_valid(filename_is_valid, "with space");
}

Test(filename, rejects_dot_dot_dot_empty_and_null) {
        assert_invalid(filename_is_valid, ".");
        assert_invalid(filename_is_valid, "..");
        assert_invalid(filename_is_valid, "");
        assert_invalid(filename_is_valid, NULL);
}

Test(filename, rejects_slashes) {
        assert_invalid(filename_is_valid, "/");
        assert_invalid(filename_is_valid, "a/b");
        assert_invalid(filename_is_valid, "a/");
        assert_invalid(filename_is_valid, "/a");
}

Test(filename, accepts_name_max_but_not_longer) {
        _cleanup_free_ char *ok = repeat('x', NAME_MAX), *too_long = repeat('x', NAME_MAX + 1);

        assert_valid(filename_is_valid, ok);
        assert_invalid(filename_is_valid, too_long);
}

/* path_is_normalized_absolute() */

Test(normalized_path, accepts_root_and_plain_absolute_paths) {
        assert_valid(path_is_normalized_absolute, "/");
        assert_valid(path_is_normalized_absolute, "/a");
        assert_valid(path_is_normalized_absolute, "/var/lib/vessel");
        assert_valid(path_is_normalized_absolute, "/a/.hidden/...");
        assert_valid(path_is_normalized_absolute, "/a/b.c/d..e");
}

Test(normalized_path, rejects_relative_empty_and_null) {
        assert_invalid(path_is_normalized_absolute, "a/b");
        assert_invalid(path_is_normalized_absolute, "./a");
        assert_invalid(path_is_normalized_absolute, "");
        assert_invalid(path_is_normalized_absolute, NULL);
}

Test(normalized_path, rejects_dot_and_dot_dot_components) {
        assert_invalid(path_is_normalized_absolute, "/.");
        assert_invalid(path_is_normalized_absolute, "/..");
        assert_invalid(path_is_normalized_absolute, "/a/./b");
        assert_invalid(path_is_normalized_absolute, "/a/../b");
        assert_invalid(path_is_normalized_absolute, "/a/..");
        assert_invalid(path_is_normalized_absolute, "/a/.");
}

Test(normalized_path, rejects_double_and_trailing_slashes) {
        assert_invalid(path_is_normalized_absolute, "//");
        assert_invalid(path_is_normalized_absolute, "//a");
        assert_invalid(path_is_normalized_absolute, "/a//b");
        assert_invalid(path_is_normalized_absolute, "/a/");
}

Test(normalized_path, rejects_paths_that_do_not_fit_path_max) {
        _cleanup_free_ char *ok = repeat('a', PATH_MAX - 1), *too_long = repeat('a', PATH_MAX);

        /* "/aaa…": a single long component is fine for this check; the length is what matters */
        ok[0] = '/';
        too_long[0] = '/';
        assert_valid(path_is_normalized_absolute, ok);
        assert_invalid(path_is_normalized_absolute, too_long);
}
