/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The <F-*> groups of a failure (MatchResult.tags): which groups, from which regex, bounded; the
 * shipped sshd and drupal-auth filters give the user name, exactly, whatever it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "filter-file.h"
#include "match.h"
#include "util/macro.h"

#ifndef NFTJAIL_TEST_SRCDIR
#define NFTJAIL_TEST_SRCDIR "."
#endif

static Filter *compile(const char *const *fail, const char *pref, unsigned maxlines) {
        static FilterRegex fr[16];
        FilterConf fc = { .name = (char *) "test", .maxlines = maxlines };
        FilterError e = {};
        Filter *f = NULL;
        size_t n = 0;
        int r;

        for (; fail[n]; n++)
                fr[n] = (FilterRegex) { .pattern = (char *) fail[n], .file = (char *) "t.conf", .line = (unsigned) n + 1 };
        fc.failregex = fr;
        fc.n_failregex = n;
        if (pref)
                fc.prefregex = (FilterRegex) { .pattern = (char *) pref, .file = (char *) "t.conf", .line = 50 };
        r = filter_new(&fc, &f, &e);
        if (r < 0)
                fprintf(stderr, "%s:%u: %s\n", e.file, e.line, e.message);
        assert_int_equal(r, 0);
        return f;
}

/* The value of tag name as a string ("" when there is none; "<none>" when it took no part). */
static const char *tag(const MatchResult *m, const char *name) {
        static char buf[MATCH_TAG_VALUE_MAX + 1];
        const MatchTag *t = match_tag_find(m, name);

        if (!t)
                return "<none>";
        match_tag_copy(t, buf, sizeof buf, NULL);
        return buf;
}

static void match(Filter *f, const char *line, int want, MatchResult *m) {
        int r = filter_match(f, line, strlen(line), m);

        if (r != want)
                fprintf(stderr, "'%s': %d, want %d\n", line, r, want);
        assert_int_equal(r, want);
}

static void test_groups(void **state) {
        /* two regexes: with and without the gate */
        const char *fail[] = {
                "^Bad <F-USER>\\S+</F-USER> at <HOST>(?: id <F-ID>\\d+</F-ID>)?(?: port <F-PORT>\\d+</F-PORT>)?$",
                "^Other (?P<user>\\w+) <F-ALT_USER>\\w+</F-ALT_USER> <HOST>$",
                "^Alt (?:u=(?P<user>\\w+)|a=<F-ALT_USER1>\\w+</F-ALT_USER1>) <HOST>$",
                "^Plain from <HOST> <F-CONTENT>\\w+</F-CONTENT>(?: <F-NOFAIL>x</F-NOFAIL>)?$",
                NULL,
        };
        MatchResult m;

        for (int pass = 0; pass < 2; pass++) {
                Filter *f = compile(fail, NULL, 1);

                filter_set_prefilter(f, pass == 0);
                match(f, "Bad admin at 192.0.2.1 id 77", MATCH_FAILURE, &m);
                assert_int_equal(m.n_tags, 2);
                assert_string_equal(tag(&m, "user"), "admin");
                assert_string_equal(tag(&m, "fid"), "77");
                assert_string_equal(tag(&m, "fport"), "<none>");
                match(f, "Bad r at 192.0.2.1 port 22", MATCH_FAILURE, &m);
                assert_string_equal(tag(&m, "user"), "r");
                assert_string_equal(tag(&m, "port"), "22");
                /* the group of the name comes first, then the alternative */
                match(f, "Other first second 192.0.2.1", MATCH_FAILURE, &m);
                assert_int_equal(m.n_tags, 1);
                assert_string_equal(tag(&m, "user"), "first");
                match(f, "Alt a=stand 192.0.2.1", MATCH_FAILURE, &m);
                assert_string_equal(tag(&m, "user"), "stand");
                match(f, "Alt u=own 192.0.2.1", MATCH_FAILURE, &m);
                assert_string_equal(tag(&m, "user"), "own");
                /* the address and the filter's controls are no tags */
                match(f, "Plain from 192.0.2.1 w", MATCH_FAILURE, &m);
                assert_int_equal(m.n_tags, 0);
                assert_null(match_tag_find(&m, "content"));
                filter_free(f);
        }
}

static void test_prefregex_and_multiline(void **state) {
        const char *fail[] = { "^failed for <F-USER>\\S+</F-USER> from <HOST>$", NULL };
        const char *multi[] = { "^start <F-USER>\\S+</F-USER>\\n.*from <HOST>$", NULL };
        Filter *f = compile(fail, "^<F-MLFID>\\w+\\[\\d+\\]</F-MLFID>: (?:user=<F-USER>\\S+</F-USER> )?<F-CONTENT>.+</F-CONTENT>$", 1);
        MatchResult m;

        match(f, "sshd[12]: failed for root from 192.0.2.3", MATCH_FAILURE, &m);
        assert_int_equal(m.n_tags, 2);
        assert_string_equal(tag(&m, "user"), "root");
        assert_string_equal(tag(&m, "mlfid"), "sshd[12]");
        /* the failregex's user, not the prefregex's */
        match(f, "sshd[12]: user=pref failed for fail from 192.0.2.3", MATCH_FAILURE, &m);
        assert_string_equal(tag(&m, "user"), "fail");
        filter_free(f);

        f = compile(multi, NULL, 2);
        match(f, "start carol", MATCH_NONE, &m);
        match(f, "then from 192.0.2.4", MATCH_FAILURE, &m);
        assert_string_equal(tag(&m, "user"), "carol");
        filter_free(f);
}

static void test_bounds(void **state) {
        const char *fail[] = {
                "^x <F-A>a</F-A><F-B>b</F-B><F-C>c</F-C><F-D>d</F-D><F-E>e</F-E><F-G>g</F-G><F-H>h</F-H>"
                "<F-I>i</F-I><F-J>j</F-J><F-K>k</F-K> <F-USER>.*</F-USER> at <HOST>$",
                NULL,
        };
        char line[MATCH_LINE_MAX], buf[MATCH_TAG_VALUE_MAX + 1];
        Filter *f = compile(fail, NULL, 1);
        MatchResult m;
        bool cut;
        size_t n;

        /* at most MATCH_TAGS_MAX names: those after are not kept */
        match(f, "x abcdeghijk u at 192.0.2.5", MATCH_FAILURE, &m);
        assert_int_equal(m.n_tags, MATCH_TAGS_MAX);
        assert_string_equal(tag(&m, "a"), "a");
        assert_string_equal(tag(&m, "i"), "i");
        assert_null(match_tag_find(&m, "user"));
        filter_free(f);

        /* a long value: cut at MATCH_TAG_VALUE_MAX, never inside a UTF-8 sequence; NUL dropped */
        {
                const char *fu[] = { "^u <F-USER>.*</F-USER> at <HOST>$", NULL };
                size_t o;

                f = compile(fu, NULL, 1);
                for (int lead = 0; lead < 4; lead++) {
                        o = (size_t) snprintf(line, sizeof line, "u ");
                        memset(line + o, 'x', (size_t) lead);
                        o += (size_t) lead;
                        while (o < 2 + 300) {
                                memcpy(line + o, "\xe2\x82\xac", 3); /* the euro sign */
                                o += 3;
                        }
                        o += (size_t) snprintf(line + o, sizeof line - o, " at 192.0.2.6");
                        assert_int_equal(filter_match(f, line, o, &m), MATCH_FAILURE);
                        n = match_tag_copy(match_tag_find(&m, "user"), buf, sizeof buf, &cut);
                        assert_true(cut);
                        assert_true(n <= MATCH_TAG_VALUE_MAX && n > MATCH_TAG_VALUE_MAX - 3);
                        assert_int_equal((n - (size_t) lead) % 3, 0);
                        assert_int_equal(strlen(buf), n);
                }
                memcpy(line, "u a\0b at 192.0.2.6", 18);
                assert_int_equal(filter_match(f, line, 18, &m), MATCH_FAILURE);
                assert_int_equal(match_tag_find(&m, "user")->len, 3);
                n = match_tag_copy(match_tag_find(&m, "user"), buf, sizeof buf, &cut);
                assert_false(cut);
                assert_string_equal(buf, "ab");
                filter_free(f);
        }
}

/* Without tags the same lines match, with no tags; the controls still work, and a regex that
 * refers back to a group by name keeps it. */
static void test_no_tags(void **state) {
        static FilterRegex fr[] = {
                { .pattern = (char *) "^Bad <F-USER>\\S+</F-USER> at <HOST>(?: <F-NOFAIL>ok</F-NOFAIL>)?$" },
                { .pattern = (char *) "^Twice <F-USER>\\w+</F-USER>=(?P=user) at <HOST>$" },
                /* a group that is not kept must still hold its alternatives and its quantifier */
                { .pattern = (char *) "^Alt <F-USER>x|y</F-USER> at <HOST>$" },
                { .pattern = (char *) "^Rep <F-USER>ab</F-USER>+ at <HOST>$" },
                { .pattern = (char *) "^Num (a)<F-X>\\1</F-X>0 at <HOST>$" },
        };
        FilterConf fc = { .name = (char *) "t", .maxlines = 1, .failregex = fr, .n_failregex = ELEMENTSOF(fr) };
        Filter *f = NULL;
        MatchResult m;

        assert_int_equal(filter_new_flags(&fc, FILTER_NO_TAGS, &f, NULL), 0);
        match(f, "Bad admin at 192.0.2.1", MATCH_FAILURE, &m);
        assert_int_equal(m.n_tags, 0);
        match(f, "Bad admin at 192.0.2.1 ok", MATCH_NONE, &m);
        match(f, "Twice bob=bob at 192.0.2.1", MATCH_FAILURE, &m);
        match(f, "Twice bob=eve at 192.0.2.1", MATCH_NONE, &m);
        match(f, "Alt y at 192.0.2.1", MATCH_FAILURE, &m);
        match(f, "Alt x at 192.0.2.1", MATCH_FAILURE, &m);
        match(f, "Rep ababab at 192.0.2.1", MATCH_FAILURE, &m);
        match(f, "Num aa0 at 192.0.2.1", MATCH_FAILURE, &m);
        filter_free(f);
}

static void test_action_names(void **state) {
        char b[40];

        assert_string_equal(match_tag_action_name("user", b, sizeof b), "F-USER");
        assert_string_equal(match_tag_action_name("fid", b, sizeof b), "F-ID");
        assert_string_equal(match_tag_action_name("mlfid", b, sizeof b), "F-MLFID");
        assert_string_equal(match_tag_action_name("my_tag2", b, sizeof b), "F-MY_TAG2");
}

/* The shipped filters give the user exactly, whatever the client put in it. */
static void test_shipped_filters(void **state) {
        static const char *users[] = {
                "admin", "$(touch /tmp/x)", "`id`; id", "a'b\"c", "x from 203.0.113.99 port 22", "root from 203.0.113.99",
        };
        static const struct {
                const char *filter, *opt, *tmpl;
        } cases[] = {
                { "sshd", "mode=normal", "h sshd[1]: Invalid user %s from 192.0.2.200 port 4444" },
                { "sshd", "mode=normal", "h sshd[1]: Failed password for invalid user %s from 192.0.2.200 port 4444 ssh2" },
                { "sshd", "mode=normal", "h sshd[1]: Failed password for %s from 192.0.2.200 port 4444 ssh2" },
                { "sshd", "mode=normal", "h sshd[1]: User %s from 192.0.2.200 not allowed because not listed in AllowUsers" },
                { "sshd", "mode=aggressive", "h sshd[1]: Connection closed by invalid user %s 192.0.2.200 port 4444 [preauth]" },
                { "sshd", "mode=aggressive", "h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.200  user=%s" },
                { "drupal-auth", NULL, "web drupal: https://x.example|1|user|192.0.2.200|/user/login||0||Login attempt failed for %s." },
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                char path[4096];
                FilterConf fc = {};
                Filter *f = NULL;

                snprintf(path, sizeof path, "%s/conf/filter.d/%s.conf", NFTJAIL_TEST_SRCDIR, cases[c].filter);
                assert_int_equal(ff_load_filter(path, cases[c].opt, &fc), 0);
                assert_int_equal(filter_new(&fc, &f, NULL), 0);
                for (size_t u = 0; u < ELEMENTSOF(users); u++) {
                        const char *pct = strstr(cases[c].tmpl, "%s");
                        char line[1024], a[ADDR_STRLEN];
                        MatchResult m;

                        snprintf(line, sizeof line, "%.*s%s%s", (int) (pct - cases[c].tmpl), cases[c].tmpl, users[u],
                                 pct + 2);
                        match(f, line, MATCH_FAILURE, &m);
                        assert_string_equal(addr_to_string(&m.addr, a, sizeof a), "192.0.2.200");
                        if (strcmp(tag(&m, "user"), users[u]) != 0)
                                fail_msg("%s: '%s': user '%s'", cases[c].filter, line, tag(&m, "user"));
                }
                filter_free(f);
                ff_filter_conf_done(&fc);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_groups),
                cmocka_unit_test(test_prefregex_and_multiline),
                cmocka_unit_test(test_bounds),
                cmocka_unit_test(test_no_tags),
                cmocka_unit_test(test_action_names),
                cmocka_unit_test(test_shipped_filters),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
