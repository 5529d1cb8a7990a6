/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shipped filters over their corpora (tests/corpus/NAME.txt): every line's verdict and
 * address, with and without the shortcuts (split from test-match.c). */
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

#ifndef NFTJAIL_TEST_SRCDIR
#define NFTJAIL_TEST_SRCDIR "."
#endif

static const char *sshd_modes[] = { "normal", "ddos", "extra", "aggressive", NULL };
static const char *no_modes[] = { NULL, NULL };

static bool mode_listed(const char *modes, const char *mode) {
        char buf[256], *save = NULL;

        if (strcmp(modes, "all") == 0)
                return true;
        if (!mode)
                return false;
        snprintf(buf, sizeof buf, "%s", modes);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (strcmp(t, mode) == 0)
                        return true;
        return false;
}

static char *chomp(char *s) {
        size_t n = strlen(s);
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

/* Reads the next non-blank, non-comment line. */
static char *next_line(FILE *f, char **buf, size_t *cap) {
        while (getline(buf, cap, f) >= 0) {
                chomp(*buf);
                if ((*buf)[0] == 0 || (*buf)[0] == '#')
                        continue;
                return *buf;
        }
        return NULL;
}

/* Runs tests/corpus/FILTER.txt through conf/filter.d/FILTER.conf in each mode, the date cut out
 * as the daemon does (the filter's datepattern, else automatic detection). */
static void run_corpus(const char *filter, const char *const *modes, bool prefilter) {
        char path[4096], cpath[4096];
        unsigned n_cases = 0, n_fail = 0, n_known = 0;

        snprintf(path, sizeof path, "%s/conf/filter.d/%s.conf", NFTJAIL_TEST_SRCDIR, filter);
        snprintf(cpath, sizeof cpath, "%s/tests/corpus/%s.txt", NFTJAIL_TEST_SRCDIR, filter);

        for (size_t mi = 0; mi == 0 || modes[mi]; mi++) {
                const char *mode = modes[mi];
                char opt[64];
                FilterConf fc = {};
                FilterError e = {};
                Filter *flt = NULL;
                FILE *f;
                char *buf = NULL, *line = NULL, *want = NULL;
                size_t cap = 0;
                int r;

                snprintf(opt, sizeof opt, "mode=%s", mode ? mode : "");
                assert_int_equal(ff_load_filter(path, mode ? opt : NULL, &fc), 0);
                r = filter_new(&fc, &flt, &e);
                if (r < 0)
                        fprintf(stderr, "%s:%u: %s (offset %zu)\n", e.file, e.line, e.message, e.offset);
                assert_int_equal(r, 0);
                filter_set_prefilter(flt, prefilter);
                /* a filter with a journal match names the uid: a forgeable one fails here */
                if (fc.journalmatch)
                        assert_non_null(strstr(fc.journalmatch, "_UID="));
                DatePattern *dp = NULL;
                assert_int_equal(date_pattern_new(fc.datepattern, NULL, &dp), 0);

                f = fopen(cpath, "re");
                assert_non_null(f);
                for (;;) {
                        char *mx, got[ADDR_STRLEN] = "", exp_addr[ADDR_STRLEN + 1] = "-", exp_modes[256] = "";
                        const char *body;
                        size_t end = 0;
                        int64_t epoch;
                        MatchResult m = {};
                        bool ok, must;

                        if (!next_line(f, &buf, &cap))
                                break;
                        free(line);
                        line = strdup(buf);
                        assert_non_null(next_line(f, &buf, &cap));
                        free(want);
                        want = strdup(buf);
                        mx = next_line(f, &buf, &cap);
                        assert_non_null(mx);
                        assert_true(strcmp(mx, "M") == 0 || strcmp(mx, "X") == 0);
                        must = strcmp(mx, "M") == 0;

                        if (strcmp(want, "-") != 0)
                                assert_int_equal(sscanf(want, "%46s %255s", exp_addr, exp_modes), 2);

                        char stripped[8192];
                        bool dated = false;
                        size_t blen;
                        body = NULL;
                        blen = date_strip(dp, line, strlen(line), time(NULL), stripped, sizeof stripped, &body, &dated,
                                          &epoch);
                        (void) end;
                        r = filter_match(flt, body, blen, &m);
                        if (r == MATCH_FAILURE)
                                addr_to_string(&m.addr, got, sizeof got);

                        if (strcmp(exp_addr, "-") != 0 && mode_listed(exp_modes, mode))
                                ok = r == MATCH_FAILURE && strcmp(got, exp_addr) == 0;
                        else
                                ok = r == MATCH_NONE;
                        n_cases++;
                        if (!ok) {
                                fprintf(stderr, "%s %s [mode %s]: '%s': got %s %s, want %s\n", must ? "FAIL" : "known",
                                        filter, mode ? mode : "-", line, r == MATCH_FAILURE ? "match" : "no match", got,
                                        want);
                                if (must)
                                        n_fail++;
                                else
                                        n_known++;
                        }
                }
                fclose(f);
                free(buf);
                free(line);
                free(want);
                filter_free(flt);
                date_pattern_free(dp);
                ff_filter_conf_done(&fc);
        }
        fprintf(stderr, "corpus %s (prefilter %s): %u checks, %u failed, %u known gaps\n", filter,
                prefilter ? "on" : "off", n_cases, n_fail, n_known);
        assert_int_equal(n_fail, 0);
}

static void test_corpus_sshd(void **state) {
        run_corpus("sshd", sshd_modes, true);
        run_corpus("sshd", sshd_modes, false);
}

static void test_corpus_drupal_auth(void **state) {
        (void) state;
        run_corpus("drupal-auth", no_modes, true);
        run_corpus("drupal-auth", no_modes, false);
}

static void test_corpus_proxmox(void **state) {
        run_corpus("proxmox", no_modes, true);
        run_corpus("proxmox", no_modes, false);
}

static const char *aggressive_modes[] = { "normal", "aggressive", NULL };

/* The filters of issue 17: every one with a corpus of its own. */
static void test_corpus_more(void **state) {
        static const struct {
                const char *name;
                const char *const *modes;
        } filters[] = {
                { "wordpress", aggressive_modes }, { "nginx-http-auth", no_modes }, { "nginx-limit-req", no_modes },
                { "nginx-botsearch", no_modes },   { "apache-auth", no_modes },     { "apache-badbots", no_modes },
                { "postfix", aggressive_modes },   { "dovecot", no_modes },         { "proftpd", no_modes },
                { "vsftpd", no_modes },            { "pure-ftpd", no_modes },       { "mysqld-auth", no_modes },
                { "pam-generic", no_modes },
        };
        for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
                run_corpus(filters[i].name, filters[i].modes, true);
                run_corpus(filters[i].name, filters[i].modes, false);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus_sshd),
                cmocka_unit_test(test_corpus_proxmox),
                cmocka_unit_test(test_corpus_more),
                cmocka_unit_test(test_corpus_drupal_auth),
        };

        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
