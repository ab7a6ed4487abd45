/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-parser.h"
#include "macro.h"
#include "string-util.h"

#define STRV(...) ((char **) (const char *[]) { __VA_ARGS__, NULL })

/* Records every assignment as "Section|Key|Value@line". */
static int record(const char *section, const char *key, const char *value, void *userdata, unsigned line) {
        char ***l = userdata;
        char *s;

        if (asprintf_safe(&s, "%s|%s|%s@%u", section, key, value, line) < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

static int parse_string(const char *text, char ***ret) {
        FILE *f;
        int r;

        f = fmemopen((void *) text, strlen(text), "r");
        cr_assert(not(zero(ptr, f)));
        r = config_parse_file(f, record, ret);
        fclose(f);
        return r;
}

static void assert_strv(char **l, char **expected) {
        _cleanup_free_ char *got = strv_join(l, "\n"), *want = strv_join(expected, "\n");

        cr_assert(eq(str, got, want));
}

/* config_parse_file() */

Test(config_parse_file, reads_sections_and_assignments) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[Manager]\n"
                                       "MaxContainers=100\n"
                                       "DefaultNetwork=bridge\n"
                                       "[Network]\n"
                                       "Bridge=vessel0\n", &l), 0));
        assert_strv(l, STRV("Manager|MaxContainers|100@2",
                            "Manager|DefaultNetwork|bridge@3",
                            "Network|Bridge|vessel0@5"));
}

Test(config_parse_file, gives_assignments_before_any_section_an_empty_section) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("A=1\n[S]\nB=2\n", &l), 0));
        assert_strv(l, STRV("|A|1@1", "S|B|2@3"));
}

Test(config_parse_file, skips_comments_and_blank_lines) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("# a comment\n"
                                       "; another\n"
                                       "\n"
                                       "   \t\n"
                                       "  # indented comment\n"
                                       "[S]\n"
                                       "#Commented=out\n"
                                       "Key=v\n", &l), 0));
        assert_strv(l, STRV("S|Key|v@8"));
}

Test(config_parse_file, keeps_a_hash_inside_a_value) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\nColor=#ff0000\nNote=a ; b # c\n", &l), 0));
        assert_strv(l, STRV("S|Color|#ff0000@2", "S|Note|a ; b # c@3"));
}

Test(config_parse_file, strips_whitespace_around_names_and_values) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("  [  Spaced Section  ]  \n"
                                       "\t Key \t=\t value with  inner  spaces \t\n"
                                       "Tight=x\n", &l), 0));
        assert_strv(l, STRV("Spaced Section|Key|value with  inner  spaces@2",
                            "Spaced Section|Tight|x@3"));
}

Test(config_parse_file, splits_at_the_first_equals_sign) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\nEnv=A=B=C\n", &l), 0));
        assert_strv(l, STRV("S|Env|A=B=C@2"));
}

Test(config_parse_file, passes_empty_values) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\nEmpty=\nBlank=   \n", &l), 0));
        assert_strv(l, STRV("S|Empty|@2", "S|Blank|@3"));
}

Test(config_parse_file, reads_a_last_line_without_newline) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\nLast=1", &l), 0));
        assert_strv(l, STRV("S|Last|1@2"));
}

Test(config_parse_file, reads_crlf_line_endings) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\r\nKey=v\r\n", &l), 0));
        assert_strv(l, STRV("S|Key|v@2"));
}

Test(config_parse_file, reads_an_empty_file) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("", &l), 0));
        cr_assert(zero(ptr, l));
}

Test(config_parse_file, reads_long_lines) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *value = malloc(10001), *text = NULL;

        cr_assert(not(zero(ptr, value)));
        memset(value, 'v', 10000);
        value[10000] = 0;
        text = strjoin("[S]\nLong=", value, "\n");
        cr_assert(eq(int, parse_string(text, &l), 0));
        cr_assert(eq(sz, strv_length(l), 1));
        cr_assert(eq(sz, strlen(l[0]), strlen("S|Long|") + 10000 + strlen("@2")));
}

Test(config_parse_file, rejects_a_line_without_equals_with_ebadmsg) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S]\nGood=1\nJustAWord\nAfter=2\n", &l), -EBADMSG));
        /* what came before was delivered, nothing after */
        assert_strv(l, STRV("S|Good|1@2"));
}

Test(config_parse_file, rejects_an_unterminated_section_header) {
        _cleanup_strv_free_ char **l = NULL;

        cr_assert(eq(int, parse_string("[S\nA=1\n", &l), -EBADMSG));
        cr_assert(zero(ptr, l));
        cr_assert(eq(int, parse_string("[\n", &l), -EBADMSG));
        cr_assert(eq(int, parse_string("[S] trailing\n", &l), -EBADMSG));
}

static int fail_on_second(const char *section, const char *key, const char *value, void *userdata,
                          unsigned line) {
        unsigned *calls = userdata;

        return ++*calls == 2 ? -ENOTRECOVERABLE : 0;
}

Test(config_parse_file, stops_at_and_returns_a_callback_error) {
        const char *text = "A=1\nB=2\nC=3\n";
        unsigned calls = 0;
        FILE *f;

        f = fmemopen((void *) text, strlen(text), "r");
        cr_assert(not(zero(ptr, f)));
        cr_assert(eq(int, config_parse_file(f, fail_on_second, &calls), -ENOTRECOVERABLE));
        fclose(f);
        cr_assert(eq(u32, calls, 2));
}

/* config_parse_with_dropins(), in a scratch directory under /tmp */

#define TMPDIR_TEMPLATE "/tmp/vessel-test-conf-parser-XXXXXX"
static char tmpdir[] = TMPDIR_TEMPLATE;

static void make_tmpdir(void) {
        /* reset, in case the tests run in one process (--no-fork) */
        memcpy(tmpdir, TMPDIR_TEMPLATE, sizeof tmpdir);
        cr_assert(not(zero(ptr, mkdtemp(tmpdir))), "mkdtemp: %m");
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

static void remove_tmpdir(void) {
        /* bottom-up, without following symlinks, never leaving the mkdtemp() directory */
        if (!streq(tmpdir, TMPDIR_TEMPLATE))
                (void) nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config_parse_with_dropins, .init = make_tmpdir, .fini = remove_tmpdir);

static char *tmp_path(const char *rel) {
        char *p = strjoin(tmpdir, "/", rel);

        cr_assert(not(zero(ptr, p)));
        return p;
}

static void write_file(const char *rel, const char *text) {
        _cleanup_free_ char *p = tmp_path(rel);
        FILE *f;

        f = fopen(p, "we");
        cr_assert(not(zero(ptr, f)), "cannot create %s: %m", p);
        cr_assert(eq(int, fputs(text, f) >= 0, 1));
        cr_assert(eq(int, fclose(f), 0));
}

static void make_dir(const char *rel) {
        _cleanup_free_ char *p = tmp_path(rel);

        cr_assert(eq(int, mkdir(p, 0755), 0), "cannot create %s: %m", p);
}

Test(config_parse_with_dropins, reads_the_main_file_then_dropins_in_lexical_order) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "[S]\nOrigin=main\n");
        make_dir("vessel.conf.d");
        /* created out of order, so that directory order cannot pass for sorting */
        write_file("vessel.conf.d/50-middle.conf", "[S]\nOrigin=50\n");
        write_file("vessel.conf.d/99-last.conf", "[S]\nOrigin=99\n");
        write_file("vessel.conf.d/10-first.conf", "[S]\nOrigin=10\n");
        write_file("vessel.conf.d/20-second.conf", "[S]\nOrigin=20\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("S|Origin|main@2", "S|Origin|10@2", "S|Origin|20@2", "S|Origin|50@2",
                            "S|Origin|99@2"));
}

Test(config_parse_with_dropins, sorts_bytewise_not_numerically) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/9.conf", "K=9\n");
        write_file("vessel.conf.d/10.conf", "K=10\n");
        write_file("vessel.conf.d/B.conf", "K=B\n");
        write_file("vessel.conf.d/a.conf", "K=a\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("|K|10@1", "|K|9@1", "|K|B@1", "|K|a@1"));
}

Test(config_parse_with_dropins, ignores_hidden_and_non_conf_files) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "K=main\n");
        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/10-used.conf", "K=used\n");
        write_file("vessel.conf.d/.20-hidden.conf", "K=hidden\n");
        write_file("vessel.conf.d/30-disabled.conf.disabled", "K=disabled\n");
        write_file("vessel.conf.d/40-backup.conf~", "K=backup\n");
        write_file("vessel.conf.d/README", "not a config file at all\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("|K|main@1", "|K|used@1"));
}

Test(config_parse_with_dropins, reads_dropins_without_a_main_file) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/override.conf", "[S]\nK=v\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("S|K|v@2"));
}

Test(config_parse_with_dropins, accepts_a_missing_dropin_directory) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "[S]\nK=v\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("S|K|v@2"));
}

Test(config_parse_with_dropins, accepts_nothing_at_all) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("absent.conf");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        cr_assert(zero(ptr, l));
}

Test(config_parse_with_dropins, starts_each_dropin_without_a_section) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "[Main]\nA=1\n");
        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/a.conf", "B=2\n[Other]\nC=3\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), 0));
        assert_strv(l, STRV("Main|A|1@2", "|B|2@1", "Other|C|3@3"));
}

Test(config_parse_with_dropins, stops_at_a_bad_dropin) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "K=main\n");
        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/10-good.conf", "K=10\n");
        write_file("vessel.conf.d/20-bad.conf", "K=20\nno equals sign here\n");
        write_file("vessel.conf.d/30-never.conf", "K=30\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), -EBADMSG));
        assert_strv(l, STRV("|K|main@1", "|K|10@1", "|K|20@1"));
}

Test(config_parse_with_dropins, stops_at_a_bad_main_file) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *main_conf = tmp_path("vessel.conf");

        write_file("vessel.conf", "[Broken\n");
        make_dir("vessel.conf.d");
        write_file("vessel.conf.d/10.conf", "K=10\n");

        cr_assert(eq(int, config_parse_with_dropins(main_conf, record, &l), -EBADMSG));
        cr_assert(zero(ptr, l));
}
