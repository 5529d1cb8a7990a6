/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The literal prefilter of a MatchSet never changes a verdict: every shipped filter (in each of
 * its modes) in one set, and every line of every corpus (tests/corpus/NAME.txt) through all of
 * them, with the prefilter and without; also the literals a pattern is found to need. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "addr.h"
#include "date.h"
#include "filter-file.h"
#include "match.h"

static const struct {
        const char *name;
        const char *mode;
} shipped[] = {
        { "sshd", "normal" },         { "sshd", "ddos" },           { "sshd", "extra" },
        { "sshd", "aggressive" },     { "proxmox", NULL },          { "recidive", NULL },
        { "wordpress", "normal" },    { "wordpress", "aggressive" }, { "drupal-auth", NULL },
        { "nginx-http-auth", NULL },  { "nginx-limit-req", NULL },  { "nginx-botsearch", NULL },
        { "apache-auth", NULL },      { "apache-badbots", NULL },   { "postfix", "normal" },
        { "postfix", "aggressive" },  { "dovecot", NULL },          { "proftpd", NULL },
        { "vsftpd", NULL },           { "pure-ftpd", NULL },        { "mysqld-auth", NULL },
        { "pam-generic", NULL },
};
#define N_SHIPPED (sizeof shipped / sizeof shipped[0])

static Filter *load(size_t k, FilterConf *fc) {
        char path[4096], opt[64];
        FilterError e = {};
        Filter *f = NULL;

        snprintf(path, sizeof path, "%s/conf/filter.d/%s.conf", NFTJAIL_TEST_SRCDIR, shipped[k].name);
        snprintf(opt, sizeof opt, "mode=%s", shipped[k].mode ?: "");
        assert_int_equal(ff_load_filter(path, shipped[k].mode ? opt : NULL, fc), 0);
        if (filter_new(fc, &f, &e) < 0)
                fprintf(stderr, "%s:%u: %s\n", e.file, e.line, e.message);
        assert_non_null(f);
        return f;
}

/* The input lines of a corpus: every first line of its three-line records. */
static char **corpus_lines(const char *name, size_t *ret_n) {
        char path[4096], *buf = NULL, **v = NULL;
        size_t cap = 0, n = 0, rec = 0;
        FILE *f;

        snprintf(path, sizeof path, "%s/tests/corpus/%s.txt", NFTJAIL_TEST_SRCDIR, name);
        f = fopen(path, "re");
        assert_non_null(f);
        while (getline(&buf, &cap, f) >= 0) {
                size_t l = strcspn(buf, "\r\n");
                buf[l] = 0;
                if (l == 0 || buf[0] == '#')
                        continue;
                if (rec++ % 3 == 0) {
                        v = realloc(v, (n + 1) * sizeof *v);
                        assert_non_null(v);
                        v[n] = strdup(buf);
                        assert_non_null(v[n]);
                        n++;
                }
        }
        free(buf);
        fclose(f);
        *ret_n = n;
        return v;
}

static void test_set_verdicts(void **state) {
        static const char *const corpora[] = {
                "sshd", "proxmox", "wordpress", "drupal-auth", "nginx-http-auth", "nginx-limit-req",
                "nginx-botsearch", "apache-auth", "apache-badbots", "postfix", "dovecot", "proftpd",
                "vsftpd", "pure-ftpd", "mysqld-auth", "pam-generic",
        };
        FilterConf fc[N_SHIPPED] = {};
        Filter *f[N_SHIPPED];
        DatePattern *dp[N_SHIPPED];
        MatchSet *set = NULL;
        size_t checks = 0, skipped = 0, failures = 0;

        for (size_t k = 0; k < N_SHIPPED; k++) {
                f[k] = load(k, &fc[k]);
                assert_int_equal(date_pattern_new(fc[k].datepattern, NULL, &dp[k]), 0);
        }
        assert_int_equal(match_set_new(f, N_SHIPPED, &set), 0);

        for (size_t c = 0; c < sizeof corpora / sizeof corpora[0]; c++) {
                size_t n;
                char **lines = corpus_lines(corpora[c], &n);

                assert_true(n > 0);
                for (size_t i = 0; i < n; i++) {
                        for (size_t k = 0; k < N_SHIPPED; k++) {
                                char stripped[8192];
                                uint8_t want[N_SHIPPED];
                                const char *body = NULL;
                                bool dated = false;
                                int64_t epoch;
                                size_t blen = date_strip(dp[k], lines[i], strlen(lines[i]), time(NULL), stripped,
                                                         sizeof stripped, &body, &dated, &epoch);
                                MatchResult m1 = { .regex_index = -1 }, m2 = { .regex_index = -1 };
                                char a1[ADDR_STRLEN] = "", a2[ADDR_STRLEN] = "";
                                int r1, r2;

                                match_set_set_prefilter(set, true);
                                match_set_scan(set, body, blen, want);
                                r1 = want[k] ? match_set_match(set, k, body, blen, false, &m1) : MATCH_NONE;
                                skipped += !want[k];
                                match_set_set_prefilter(set, false);
                                match_set_scan(set, body, blen, want);
                                assert_true(want[k]);
                                r2 = match_set_match(set, k, body, blen, false, &m2);
                                if (r1 == MATCH_FAILURE)
                                        addr_to_string(&m1.addr, a1, sizeof a1);
                                if (r2 == MATCH_FAILURE)
                                        addr_to_string(&m2.addr, a2, sizeof a2);
                                if (r1 != r2 || strcmp(a1, a2) != 0 ||
                                    (r1 == MATCH_FAILURE && m1.regex_index != m2.regex_index))
                                        fprintf(stderr, "%s[mode=%s] on '%s': %d %s vs %d %s without the prefilter\n",
                                                shipped[k].name, shipped[k].mode ?: "", lines[i], r1, a1, r2, a2);
                                assert_int_equal(r1, r2);
                                assert_string_equal(a1, a2);
                                failures += r2 == MATCH_FAILURE;
                                checks++;
                        }
                        free(lines[i]);
                }
                free(lines);
        }
        fprintf(stderr, "%zu verdicts identical with and without the prefilter (%zu failures; %zu runs skipped by it)\n",
                checks, failures, skipped);
        /* the prefilter did skip most of them, and the corpora hold failures */
        assert_true(skipped > checks / 2);
        assert_true(failures > 100);

        match_set_free(set);
        for (size_t k = 0; k < N_SHIPPED; k++) {
                filter_free(f[k]);
                date_pattern_free(dp[k]);
                ff_filter_conf_done(&fc[k]);
        }
}

/* A filter of one regex; its prefilter literals, joined by '|', or "" for none. */
static void literals_of(const char *pattern, char *out, size_t size) {
        FilterRegex fr = { .pattern = (char *) pattern, .file = (char *) "<test>", .line = 1 };
        FilterConf fc = { .name = (char *) "t", .failregex = &fr, .n_failregex = 1, .maxlines = 1 };
        FilterError e = {};
        Filter *f = NULL;
        const char *s;
        size_t l, n = 0;

        assert_int_equal(filter_new(&fc, &f, &e), 0);
        out[0] = 0;
        for (size_t i = 0; (s = filter_literal(f, i, &l)); i++)
                n += (size_t) snprintf(out + n, size - n, "%s%.*s", i ? "|" : "", (int) l, s);
        filter_free(f);
}

static void test_literals(void **state) {
        static const char *const cases[][2] = {
                { "^\\s*\\S+ sshd\\[\\d+\\]: Failed password for .* from <HOST> port \\d+$", "]: Failed password for " },
                { "^x (?:alpha|beta|gamma) <HOST>$", "alpha|beta|gamma" },
                { "^(?:ab|cd) <HOST> longer literal here$", " longer literal here" },
                /* an alternative without a literal: the group gives none */
                { "^x(?:alpha|\\d+) <HOST>$", "" },
                /* optional text is not required */
                { "^(?:optional text )?<HOST>$", "" },
                /* (?i): literals would not mean themselves */
                { "^(?i)failed from <HOST>$", "" },
                { "^\\Qa.b*c\\E from <HOST>$", "a.b*c from " },
                { "^ab+cde <HOST>$", "cde " },
                { "^x{2}yzw <HOST>$", "yzw " },
                { "^\\.env <HOST>$", ".env " },
                /* shorter than 4 bytes: none */
                { "^abc<HOST>$", "" },
                { "^x|y <HOST>$", "" },
        };
        char got[512];

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                literals_of(cases[i][0], got, sizeof got);
                if (strcmp(got, cases[i][1]) != 0)
                        fprintf(stderr, "'%s': got '%s', want '%s'\n", cases[i][0], got, cases[i][1]);
                assert_string_equal(got, cases[i][1]);
        }
}

/* fuzz-lint: a group name that the pattern ends in ("(?<ip4") read past the pattern's end, and
 * groups nested deeper than the reader follows leaked the alternative being read (ASan) */
static void test_lint_unterminated(void **state) {
        char deep[256];

        memset(deep, '(', sizeof deep - 1);
        deep[sizeof deep - 1] = 0;
        {
                FilterRegex fr = { .pattern = deep, .file = (char *) "<test>", .line = 1 };
                FilterConf fc = { .name = (char *) "t", .failregex = &fr, .n_failregex = 1, .maxlines = 1 };
                FilterError e = {};

                assert_int_equal(filter_lint(&fc, NULL, NULL, &e), 0);
        }
        static const char *const patterns[] = { "(?<", "(?<ip4", "x (?P<host", "(?'a", "(?", "(?i", "\\", "[", "(?<=", "<HOST>(" };

        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
                FilterRegex fr = { .pattern = (char *) patterns[i], .file = (char *) "<test>", .line = 1 };
                FilterConf fc = { .name = (char *) "t", .failregex = &fr, .n_failregex = 1, .maxlines = 1 };
                FilterError e = {};

                assert_true(filter_lint(&fc, NULL, NULL, &e) >= 0);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_literals),
                cmocka_unit_test(test_lint_unterminated),
                cmocka_unit_test(test_set_verdicts),
        };
        setenv("TZ", "UTC", 1);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
