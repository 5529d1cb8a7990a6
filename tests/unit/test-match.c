/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "addr.h"
#include "date.h"
#include "filter-file.h"
#include "match.h"

#ifndef NFTJAIL_TEST_SRCDIR
#define NFTJAIL_TEST_SRCDIR "."
#endif

/* A FilterConf from literal patterns (NULL-terminated lists). */
static FilterConf literal_conf(const char *const *fail, const char *const *ignore, const char *pref) {
        FilterConf fc = { .name = (char *) "test", .maxlines = 1 };
        static FilterRegex fr[16], ir[16];
        size_t n = 0;

        for (; fail && fail[n]; n++)
                fr[n] = (FilterRegex) { .pattern = (char *) fail[n], .file = (char *) "test.conf", .line = (unsigned) n + 1 };
        fc.failregex = fr;
        fc.n_failregex = n;
        for (n = 0; ignore && ignore[n]; n++)
                ir[n] = (FilterRegex) { .pattern = (char *) ignore[n], .file = (char *) "test.conf", .line = 100 };
        fc.ignoreregex = ir;
        fc.n_ignoreregex = n;
        if (pref)
                fc.prefregex = (FilterRegex) { .pattern = (char *) pref, .file = (char *) "test.conf", .line = 50 };
        return fc;
}

static Filter *compile(const char *const *fail, const char *const *ignore, const char *pref) {
        FilterConf fc = literal_conf(fail, ignore, pref);
        FilterError e = {};
        Filter *f = NULL;
        int r = filter_new(&fc, &f, &e);

        if (r < 0)
                fprintf(stderr, "%s:%u: %s (offset %zu)\n", e.file, e.line, e.message, e.offset);
        assert_int_equal(r, 0);
        return f;
}

static int match_str(Filter *f, const char *line, char *addr, int *idx) {
        MatchResult m = { .regex_index = -1 };
        int r = filter_match(f, line, strlen(line), &m);

        if (addr) {
                if (r == MATCH_FAILURE || r == MATCH_IGNORED)
                        addr_to_string(&m.addr, addr, ADDR_STRLEN);
                else
                        addr[0] = 0;
        }
        if (idx)
                *idx = m.regex_index;
        return r;
}

static void expect(Filter *f, const char *line, int want, const char *want_addr) {
        char a[ADDR_STRLEN];
        int r = match_str(f, line, a, NULL);

        if (r != want || (want_addr && strcmp(a, want_addr) != 0))
                fprintf(stderr, "line '%s': got %d '%s', want %d '%s'\n", line, r, a, want, want_addr ? want_addr : "");
        assert_int_equal(r, want);
        if (want_addr)
                assert_string_equal(a, want_addr);
}

static void test_tags(void **state) {
        const char *fail[] = {
                "^Failed for .* from <HOST> port \\d+$",
                "^ADDR <ADDR>$",
                "^IP4 <IP4>$",
                "^IP6 <IP6>$",
                "^user <F-USER>\\S+</F-USER> at <HOST>(?: or <HOST>)?$",
                "^either (?:a=<HOST>|b=<HOST>) end$",
                "^sub <SUBNET>$",
                NULL,
        };
        Filter *f = compile(fail, NULL, NULL);
        int idx;
        char a[ADDR_STRLEN];

        assert_int_equal(filter_n_failregex(f), 7);
        expect(f, "Failed for x from 192.0.2.1 port 22", MATCH_FAILURE, "192.0.2.1");
        expect(f, "Failed for x from 2001:db8::1 port 22", MATCH_FAILURE, "2001:db8::1");
        expect(f, "Failed for x from [2001:db8::2] port 22", MATCH_FAILURE, "2001:db8::2");
        /* in brackets, as fail2ban's <HOST> and <ADDR> take it ("[client 192.0.2.4]", monitorix's "- [192.0.2.4]") */
        expect(f, "Failed for x from [192.0.2.4] port 22", MATCH_FAILURE, "192.0.2.4");
        expect(f, "Failed for x from [192.0.2.4 port 22", MATCH_NONE, NULL);
        expect(f, "Failed for x from ::ffff:192.0.2.3 port 22", MATCH_FAILURE, "192.0.2.3");
        expect(f, "Failed for x from host.example.org port 22", MATCH_NONE, NULL);
        expect(f, "ADDR 198.51.100.1", MATCH_FAILURE, "198.51.100.1");
        expect(f, "ADDR ::", MATCH_FAILURE, "::");
        expect(f, "IP4 198.51.100.2", MATCH_FAILURE, "198.51.100.2");
        expect(f, "IP4 2001:db8::3", MATCH_NONE, NULL);
        expect(f, "IP6 2001:db8::3", MATCH_FAILURE, "2001:db8::3");
        expect(f, "IP6 198.51.100.2", MATCH_NONE, NULL);
        expect(f, "user bob at 203.0.113.4", MATCH_FAILURE, "203.0.113.4");
        expect(f, "user bob at 203.0.113.4 or 203.0.113.5", MATCH_FAILURE, "203.0.113.4");
        expect(f, "either a=203.0.113.6 end", MATCH_FAILURE, "203.0.113.6");
        expect(f, "either b=2001:db8::6 end", MATCH_FAILURE, "2001:db8::6");
        expect(f, "sub 192.0.2.0/24", MATCH_FAILURE, "192.0.2.0");
        expect(f, "sub 192.0.2.7", MATCH_FAILURE, "192.0.2.7");
        /* a capture that is not an address is no failure */
        expect(f, "ADDR 300.1.2.3", MATCH_NONE, NULL);
        expect(f, "ADDR 1:2:3:4:5:6:7:8:9", MATCH_NONE, NULL);
        /* regex_index */
        assert_int_equal(match_str(f, "IP6 2001:db8::3", a, &idx), MATCH_FAILURE);
        assert_int_equal(idx, 3);
        filter_free(f);
}

static void test_search_semantics(void **state) {
        /* re.search: not anchored unless ^ */
        const char *fail[] = { "from <HOST>", NULL };
        const char *anchored[] = { "^from <HOST>", NULL };
        Filter *f = compile(fail, NULL, NULL), *g = compile(anchored, NULL, NULL);

        expect(f, "xx from 192.0.2.1 yy", MATCH_FAILURE, "192.0.2.1");
        expect(g, "xx from 192.0.2.1 yy", MATCH_NONE, NULL);
        expect(g, "from 192.0.2.1 yy", MATCH_FAILURE, "192.0.2.1");
        filter_free(f);
        filter_free(g);
}

static void test_python_syntax(void **state) {
        const char *fail[] = {
                "^(?P<word>a{,2})b from <HOST>\\Z",
                "^named (?P<x>\\w+) (?P=x) <HOST>$",
                NULL,
        };
        Filter *f = compile(fail, NULL, NULL);

        expect(f, "b from 192.0.2.1", MATCH_FAILURE, "192.0.2.1");
        expect(f, "aab from 192.0.2.1", MATCH_FAILURE, "192.0.2.1");
        expect(f, "aaab from 192.0.2.1", MATCH_NONE, NULL);
        /* \Z and $ are the very end: not before a trailing newline */
        expect(f, "b from 192.0.2.1\n", MATCH_NONE, NULL);
        expect(f, "named foo foo 192.0.2.2", MATCH_FAILURE, "192.0.2.2");
        expect(f, "named foo bar 192.0.2.2", MATCH_NONE, NULL);
        filter_free(f);
}

static void test_prefregex(void **state) {
        const char *fail[] = { "^Failed for \\S+ from <HOST>$", "^Bad <F-USER>\\S+</F-USER> at <HOST>$", NULL };
        Filter *f = compile(fail, NULL, "^\\S+ sshd\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$");

        expect(f, "host sshd[1]: Failed for x from 192.0.2.1", MATCH_FAILURE, "192.0.2.1");
        expect(f, "host cron[1]: Failed for x from 192.0.2.1", MATCH_NONE, NULL);
        expect(f, "host sshd[1]: Bad bob at 2001:db8::1", MATCH_FAILURE, "2001:db8::1");
        /* failregexes see only the content: ^ is its start */
        expect(f, "host sshd[1]: x Failed for x from 192.0.2.1", MATCH_NONE, NULL);
        filter_free(f);

        /* the address can come from the prefregex */
        {
                const char *fail2[] = { "^denied$", NULL };
                f = compile(fail2, NULL, "^client <HOST>: <F-CONTENT>.+</F-CONTENT>$");
                expect(f, "client 192.0.2.9: denied", MATCH_FAILURE, "192.0.2.9");
                expect(f, "client 192.0.2.9: allowed", MATCH_NONE, NULL);
                filter_free(f);
        }
}

static void test_ignoreregex(void **state) {
        const char *fail[] = { "from <HOST>$", NULL };
        const char *ignore[] = { "^trusted ", NULL };
        Filter *f = compile(fail, ignore, NULL);
        char a[ADDR_STRLEN];

        expect(f, "bad from 192.0.2.1", MATCH_FAILURE, "192.0.2.1");
        assert_int_equal(match_str(f, "trusted from 192.0.2.1", a, NULL), MATCH_IGNORED);
        assert_string_equal(a, "192.0.2.1");
        expect(f, "trusted but no address", MATCH_NONE, NULL);
        filter_free(f);
}

static void test_nofail(void **state) {
        const char *fail[] = { "^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|password) from <HOST>$", NULL };
        Filter *f = compile(fail, NULL, NULL);

        expect(f, "Failed password from 192.0.2.1", MATCH_FAILURE, "192.0.2.1");
        expect(f, "Failed publickey from 192.0.2.1", MATCH_NONE, NULL);
        filter_free(f);

        /* fail2ban's sshd.conf: a login that succeeded, never a failure */
        const char *gained[] = {
                "^<F-MLFFORGET><F-MLFGAINED>Accepted \\w+</F-MLFGAINED></F-MLFFORGET> for <F-USER>\\S+</F-USER> from <HOST>(?:\\s|$)",
                "^Failed password for \\S+ from <HOST>", NULL };
        f = compile(gained, NULL, NULL);
        expect(f, "Accepted publickey for root from 192.0.2.1 port 22 ssh2", MATCH_NONE, NULL);
        expect(f, "Failed password for root from 192.0.2.1 port 22 ssh2", MATCH_FAILURE, "192.0.2.1");
        filter_free(f);
}

/* fail2ban's <F-MLFID>: a failregex without an address counts against the address an earlier
 * line of the same session gave; <F-NOFAIL> lines give it too; <F-MLFFORGET> ends the session;
 * <F-MLFGAINED> (a login that succeeded) is no failure. */
static void test_mlfid(void **state) {
        const char *fail[] = {
                "^Failed password for \\S+ from <HOST> port \\d+",
                "^<F-NOFAIL>pam_unix\\(sshd:auth\\): authentication failure;</F-NOFAIL>.* rhost=<HOST>",
                "^Disconnecting: Too many authentication failures",
                "^<F-NOFAIL><F-MLFFORGET>Received disconnect</F-MLFFORGET></F-NOFAIL> from <HOST>: 11:",
                "^<F-MLFFORGET><F-MLFGAINED>Accepted \\w+</F-MLFGAINED></F-MLFFORGET> for \\S+ from <HOST>",
                NULL,
        };
        Filter *f = compile(fail, NULL, "^<F-MLFID>\\S+ sshd\\[\\d+\\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$");

        /* no session yet: nothing to count against */
        expect(f, "h sshd[10]: Disconnecting: Too many authentication failures", MATCH_NONE, NULL);
        /* a failure gives the session its address; the hostless line then counts against it */
        expect(f, "h sshd[10]: Failed password for root from 198.51.100.1 port 22", MATCH_FAILURE, "198.51.100.1");
        expect(f, "h sshd[10]: Disconnecting: Too many authentication failures", MATCH_FAILURE, "198.51.100.1");
        /* another session (pid) has its own */
        expect(f, "h sshd[11]: Disconnecting: Too many authentication failures", MATCH_NONE, NULL);
        /* a no-failure line gives the address too, without counting */
        expect(f, "h sshd[12]: pam_unix(sshd:auth): authentication failure; logname= rhost=2001:db8::12", MATCH_NONE,
               NULL);
        expect(f, "h sshd[12]: Disconnecting: Too many authentication failures", MATCH_FAILURE, "2001:db8::12");
        /* the session ends: its hostless lines count no more */
        expect(f, "h sshd[10]: Received disconnect from 198.51.100.1: 11: Bye", MATCH_NONE, NULL);
        expect(f, "h sshd[10]: Disconnecting: Too many authentication failures", MATCH_NONE, NULL);
        /* an accepted login is no failure, and ends its session */
        expect(f, "h sshd[12]: Accepted publickey for alice from 2001:db8::12", MATCH_NONE, NULL);
        expect(f, "h sshd[12]: Disconnecting: Too many authentication failures", MATCH_NONE, NULL);
        filter_free(f);

        /* without <F-MLFID>, a failregex without an address is refused at load */
        {
                const char *bad[] = { "^Disconnecting: Too many authentication failures", NULL };
                FilterConf fc = literal_conf(bad, NULL, NULL);
                FilterError e = {};
                Filter *g = NULL;

                assert_int_equal(filter_new(&fc, &g, &e), -EINVAL);
                assert_non_null(strstr(e.message, "F-MLFID"));
                filter_free(g);
        }
}

/* maxlines > 1: the regexes see the last maxlines lines joined by "\n" (^ and $ at each line),
 * <SKIPLINES> skips lines, and the lines a match used leave the buffer (they count once). */
static void test_multiline(void **state) {
        const char *fail[] = {
                /* mongodb-auth's shape: a failure, then (lines later) the same connection's end */
                "^\\[conn(?P<__c>\\d+)\\] Failed to authenticate [^\\n]+<SKIPLINES>\\[conn(?P=__c)\\] end connection <HOST>",
                /* guacamole's: the address on the second of two lines */
                "^.*\\nWARNING: Authentication attempt from <HOST> for user \"[^\"]*\" failed\\.$",
                NULL,
        };
        FilterConf fc = literal_conf(fail, NULL, NULL);
        FilterError e = {};
        Filter *f = NULL;

        fc.maxlines = 4;
        assert_int_equal(filter_new(&fc, &f, &e), 0);
        expect(f, "[conn7] Failed to authenticate u@admin with mechanism SCRAM", MATCH_NONE, NULL);
        expect(f, "[conn8] end connection 198.51.100.8:4000", MATCH_NONE, NULL);
        expect(f, "[conn7] end connection 198.51.100.7:4000", MATCH_FAILURE, "198.51.100.7");
        /* those lines were used: the same end again is no failure */
        expect(f, "[conn7] end connection 198.51.100.7:4000", MATCH_NONE, NULL);
        expect(f, "apr 15, 2013 8:34:08 PM org.slf4j.impl.JCLLoggerAdapter warn", MATCH_NONE, NULL);
        expect(f, "WARNING: Authentication attempt from 2001:db8::9 for user \"null\" failed.", MATCH_FAILURE,
               "2001:db8::9");
        /* more than maxlines lines apart: the first has left the buffer */
        expect(f, "[conn9] Failed to authenticate x@admin", MATCH_NONE, NULL);
        expect(f, "noise 1", MATCH_NONE, NULL);
        expect(f, "noise 2", MATCH_NONE, NULL);
        expect(f, "noise 3", MATCH_NONE, NULL);
        expect(f, "[conn9] end connection 198.51.100.9:4000", MATCH_NONE, NULL);
        /* a newline inside a line (a journal message) does not make two lines */
        expect(f, "[conn10] Failed to authenticate x\n[conn10] end connection 198.51.100.10:1", MATCH_NONE, NULL);
        filter_free(f);

        /* <SKIPLINES> needs maxlines > 1; a prefregex cannot go with it */
        fc.maxlines = 1;
        assert_int_equal(filter_new(&fc, &f, &e), -EINVAL);
        assert_non_null(strstr(e.message, "<SKIPLINES> needs maxlines > 1"));
        fc = literal_conf(fail + 1, NULL, "^<F-CONTENT>.+</F-CONTENT>$");
        fc.maxlines = 2;
        assert_int_equal(filter_new(&fc, &f, &e), -EINVAL);
        assert_non_null(strstr(e.message, "prefregex"));
}

/* fail2ban's <ADDR> is "\\[?ADDR\\]?": a regex may stop before the "]" (monitorix: "- <ADDR>\\b") */
static void test_addr_brackets(void **state) {
        const char *fail[] = { "^- <ADDR>\\b", "^at \\[<HOST>\\] x$", NULL };
        Filter *f = compile(fail, NULL, NULL);

        expect(f, "- [192.0.2.5] File does not exist", MATCH_FAILURE, "192.0.2.5");
        expect(f, "- [2001:db8::5] File does not exist", MATCH_FAILURE, "2001:db8::5");
        expect(f, "- 192.0.2.6 File does not exist", MATCH_FAILURE, "192.0.2.6");
        expect(f, "at [192.0.2.7] x", MATCH_FAILURE, "192.0.2.7");
        /* a "[" without its "]" is no address */
        expect(f, "- [192.0.2.8 File does not exist", MATCH_NONE, NULL);
        filter_free(f);
}

static void test_errors(void **state) {
        static const struct {
                const char *pattern;
                const char *message;
        } bad[] = {
                { "^from <HOST> (unclosed", "missing closing parenthesis" },
                { "^no host here$", "no <HOST>" },
                { "^<SKIPLINES>from <HOST>$", "SKIPLINES" },
                { "^from <HOST> x{3,1}$", "numbers out of order" },
                { "^from <HOST> (?<=a+)x", "lookbehind" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                FilterRegex fr[2] = {
                        { .pattern = (char *) "^ok <HOST>$", .file = (char *) "f.conf", .line = 3 },
                        { .pattern = (char *) bad[i].pattern, .file = (char *) "f.conf", .line = 7 },
                };
                FilterConf fc = { .name = (char *) "t", .failregex = fr, .n_failregex = 2, .maxlines = 1 };
                FilterError e = {};
                Filter *f = NULL;

                assert_int_equal(filter_new(&fc, &f, &e), -EINVAL);
                assert_null(f);
                assert_string_equal(e.file, "f.conf");
                assert_int_equal(e.line, 7);
                if (!strstr(e.message, bad[i].message))
                        fprintf(stderr, "pattern '%s': message '%s'\n", bad[i].pattern, e.message);
                assert_non_null(strstr(e.message, bad[i].message));
        }

        /* the offset points into the expanded pattern */
        {
                FilterRegex fr = { .pattern = (char *) "^abc(", .file = (char *) "g.conf", .line = 1 };
                FilterConf fc = { .failregex = &fr, .n_failregex = 1, .maxlines = 1 };
                FilterError e = {};
                Filter *f = NULL;
                assert_int_equal(filter_new(&fc, &f, &e), -EINVAL);
                assert_int_equal(e.offset, 5);
        }
        /* no failregex (maxlines > 1 is test_multiline's) */
        {
                FilterConf fc = { .name = (char *) "empty", .maxlines = 1 };
                FilterError e = {};
                Filter *f = NULL;
                assert_int_equal(filter_new(&fc, &f, &e), -EINVAL);
        }
}

static void test_bytes(void **state) {
        const char *fail[] = { "^x(?:.)* from <HOST>$", "^y \\S+ from <HOST>$", NULL };
        Filter *f = compile(fail, NULL, NULL);
        static const char nul[] = "x a\0b from 192.0.2.1";
        static const char bad_utf8[] = "y \xff\xfe\xc3\x28 from 192.0.2.2";
        static const char nul_in_addr[] = "y a from 192.0.2.3\0";
        MatchResult m;
        char a[ADDR_STRLEN];

        assert_int_equal(filter_match(f, nul, sizeof nul - 1, &m), MATCH_FAILURE);
        assert_string_equal(addr_to_string(&m.addr, a, sizeof a), "192.0.2.1");
        assert_int_equal(filter_match(f, bad_utf8, sizeof bad_utf8 - 1, &m), MATCH_FAILURE);
        assert_string_equal(addr_to_string(&m.addr, a, sizeof a), "192.0.2.2");
        /* the NUL is part of the line: $ is after it */
        assert_int_equal(filter_match(f, nul_in_addr, sizeof nul_in_addr - 1, &m), MATCH_NONE);
        assert_int_equal(filter_match(f, "", 0, &m), MATCH_NONE);
        filter_free(f);
}

static void test_long_lines(void **state) {
        const char *fail[] = { "^Failed for .* from <HOST> port \\d+ ssh2$", "^start <HOST> ", NULL };
        Filter *f = compile(fail, NULL, NULL);
        size_t n = MATCH_LINE_MAX * 4;
        char *line = malloc(n + 100);
        MatchResult m;
        char a[ADDR_STRLEN];
        int len;

        assert_non_null(line);
        /* a complete-looking message exactly at the cut must not match: the real end is cut off */
        memset(line, 'u', n);
        memcpy(line, "Failed for ", 11);
        {
                const char *fake = " from 203.0.113.99 port 22 ssh2";
                size_t fl = strlen(fake);
                memcpy(line + MATCH_LINE_MAX - fl, fake, fl);
        }
        len = (int) n + sprintf(line + n, " from 192.0.2.1 port 4444 ssh2");
        assert_int_equal(filter_match(f, line, (size_t) len, &m), MATCH_NONE);
        /* a line its source cut, at or under MATCH_LINE_MAX: the same */
        assert_int_equal(filter_match(f, line, MATCH_LINE_MAX, &m), MATCH_FAILURE);
        assert_string_equal(addr_to_string(&m.addr, a, sizeof a), "203.0.113.99");
        assert_int_equal(filter_match_cut(f, line, MATCH_LINE_MAX, &m), MATCH_NONE);
        assert_int_equal(filter_match_cut(f, line, MATCH_LINE_MAX - 5, &m), MATCH_NONE);
        /* text at the start of a long line still matches */
        memcpy(line, "start 192.0.2.5 ", 16);
        assert_int_equal(filter_match(f, line, (size_t) len, &m), MATCH_FAILURE);
        assert_string_equal(addr_to_string(&m.addr, a, sizeof a), "192.0.2.5");
        free(line);
        filter_free(f);
}

static void test_hostile_regex(void **state) {
        /* catastrophic backtracking: bounded by the match limit, reported as no match */
        const char *fail[] = { "^(?:(\\w+\\s?)*$|<HOST>)", "^(?:(?:x|x)*y|<HOST>)", NULL };
        Filter *f = compile(fail, NULL, NULL);
        char line[4096];
        struct timespec t0, t1;
        MatchResult m;
        double sec;

        memset(line, 'a', sizeof line - 2);
        line[sizeof line - 2] = '!';
        line[sizeof line - 1] = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(filter_match(f, line, strlen(line), NULL), MATCH_LIMIT);
        assert_int_equal(filter_match(f, line, strlen(line), &m), MATCH_LIMIT);
        assert_int_equal(m.regex_index, 0);
        assert_non_null(m.limit);
        memset(line, 'x', sizeof line - 1);
        assert_int_equal(filter_match(f, line, strlen(line), NULL), MATCH_NONE);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sec = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
        fprintf(stderr, "hostile lines: %.3f s\n", sec);
        filter_free(f);
}

/* A sane regex that needs more than PCRE2's default 32 KiB of JIT stack on a long line (each
 * round of a capturing alternation keeps a frame): the thread's JIT stack (match-compile.c) lets
 * it match, in two filters of the same thread in turn. */
static void test_jit_stack(void **state) {
        const char *fail[] = { "^(a|b)*c from <HOST>$", NULL };
        Filter *f = compile(fail, NULL, NULL), *g = compile(fail, NULL, NULL);
        char line[MATCH_LINE_MAX];
        size_t n = sizeof line - 40;
        MatchResult m;

        memset(line, 'a', n);
        snprintf(line + n, sizeof line - n, "c from 192.0.2.77");
        for (int i = 0; i < 2; i++) {
                assert_int_equal(filter_match(f, line, strlen(line), &m), MATCH_FAILURE);
                assert_int_equal(filter_match(g, line, strlen(line), &m), MATCH_FAILURE);
        }
        filter_free(f);
        filter_free(g);
}

static void test_hostile_regex_reported(void **state) {
        /* (a+)+$ on a long line of a's: the second regex gives up, the first and third do not
         * match; the line is no failure, and the result names the regex and the limit */
        const char *fail[] = { "^ok from <HOST>$", "^\\s*client <HOST> said (a+)+$", "^bye <HOST>$", NULL };
        const char *pref = "^(?:(a+)+$|<F-CONTENT>.+</F-CONTENT>)";
        Filter *f = compile(fail, NULL, NULL);
        char line[MATCH_LINE_MAX];
        MatchResult m;
        int n;

        n = snprintf(line, sizeof line, "client 192.0.2.9 said ");
        memset(line + n, 'a', sizeof line - (size_t) n - 2);
        line[sizeof line - 2] = '!';
        line[sizeof line - 1] = 0;
        assert_int_equal(filter_match(f, line, strlen(line), &m), MATCH_LIMIT);
        assert_int_equal(m.regex_index, 1);
        assert_string_equal(m.limit, "match limit");
        /* without the '!' it matches, at once */
        line[sizeof line - 2] = 'a';
        assert_int_equal(filter_match(f, line, strlen(line), &m), MATCH_FAILURE);
        assert_int_equal(m.regex_index, 1);
        /* cut: "$" does not match at the cut, and the regex gives up again */
        assert_int_equal(filter_match_cut(f, line, strlen(line), &m), MATCH_LIMIT);
        assert_int_equal(m.regex_index, 1);
        filter_free(f);

        /* the prefregex gives up: -1 */
        f = compile(fail, NULL, pref);
        memset(line, 'a', sizeof line - 2);
        line[sizeof line - 2] = '!';
        assert_int_equal(filter_match(f, line, strlen(line), &m), MATCH_LIMIT);
        assert_int_equal(m.regex_index, -1);
        filter_free(f);
}

static void test_prefilter_literal(void **state) {
        /* patterns whose required text is tricky; results must not depend on the prefilter */
        /* unanchored and without a fixed first character, so that the prefilter is used */
        const char *fail[] = {
                "\\s*a\\x41bc? from <HOST>$",
                "\\s*(?i)CASE from <HOST>$",
                "\\s*opt(?:ional)? text from <HOST>$",
                "\\s*alt1|alt2 from <HOST>$",
                "\\s*\\Qlit.eral\\E from <HOST>$",
                "\\s*esc\\.aped\\[x\\] from <HOST>$",
                "\\s*cls[abc]+def from <HOST>$",
                "\\s*rep{2}x from <HOST>$",
                NULL,
        };
        const char *lines[] = {
                "aAb from 192.0.2.1", "aAbc from 192.0.2.1", "case from 192.0.2.2", "opt text from 192.0.2.3",
                "optional text from 192.0.2.3", "alt1", "x alt2 from 192.0.2.4", "lit.eral from 192.0.2.5",
                "esc.aped[x] from 192.0.2.6", "clsbbdef from 192.0.2.7", "reppx from 192.0.2.8",
                "repx from 192.0.2.8", "nothing 192.0.2.9",
        };
        Filter *f = compile(fail, NULL, NULL);

        for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                MatchResult m1 = {}, m2 = {};
                int r1, r2;

                filter_set_prefilter(f, true);
                r1 = filter_match(f, lines[i], strlen(lines[i]), &m1);
                filter_set_prefilter(f, false);
                r2 = filter_match(f, lines[i], strlen(lines[i]), &m2);
                if (r1 != r2)
                        fprintf(stderr, "prefilter changes '%s': %d vs %d\n", lines[i], r1, r2);
                assert_int_equal(r1, r2);
                assert_int_equal(m1.regex_index, m2.regex_index);
                if (i < ELEMENTSOF(lines) - 2 && i != 5 && i != 11)
                        assert_int_equal(r1, MATCH_FAILURE);
        }
        filter_free(f);
}

/* The combined gate must never change a result: patterns whose common start is tricky to cut. */
static void test_gate(void **state) {
        static const char *const sets[][4] = {
                { "^ab?c <HOST>$", "^ab?d <HOST>$", "^ab <HOST>$", NULL },
                { "^a\\x41 <HOST>$", "^a\\x42 <HOST>$", NULL, NULL },
                { "^x|y <HOST>$", "^x|z <HOST>$", NULL, NULL },
                { "^[ab]x <HOST>$", "^[ab]y <HOST>$", "^[]a]z <HOST>$", NULL },
                { "^(a)b <HOST>$", "^(a)c <HOST>$", "^(a)(b)? <HOST>$", NULL },
                { "^(a)\\1 <HOST>$", "^(a)b <HOST>$", NULL, NULL },
                { "^(?:\\S+ )?k <HOST>$", "^(?:\\S+ )?k x <HOST>$", NULL, NULL },
                { "k{2} <HOST>", "k{2}x <HOST>", NULL, NULL },
                { "^p <HOST>$", "^p <HOST>$", NULL, NULL },
                /* a later regex matches at the prefix's first way, an earlier one only at its second */
                { "^(?:\\S+ )?k x <HOST>$", "^(?:\\S+ )?x <HOST>$", NULL, NULL },
                /* the address is taken from the gate: captures in the prefix and before it */
                { "^(a)b <HOST>$", "^(a)(c)? <HOST> (d)?<HOST>$", "^(a)e (x) <HOST>$", NULL },
        };
        static const char *lines[] = {
                "ac 192.0.2.1", "abc 192.0.2.1", "ad 192.0.2.1", "abd 192.0.2.1", "ab 192.0.2.1", "a 192.0.2.1",
                "aA 192.0.2.1", "aB 192.0.2.1", "x", "y 192.0.2.1", "z 192.0.2.1", "ax 192.0.2.1", "by 192.0.2.1",
                "]z 192.0.2.1", "az 192.0.2.1", "ab 192.0.2.1", "ac 192.0.2.1", "aa 192.0.2.1", "a  192.0.2.1",
                "h k 192.0.2.1", "k x 192.0.2.1", "h k x 192.0.2.1", "kk 192.0.2.1", "kkx 192.0.2.1",
                "p 192.0.2.1", "q 192.0.2.1", "k x 192.0.2.1", "h x 192.0.2.1", "ab 192.0.2.2",
                "a 192.0.2.3 192.0.2.4", "ac 192.0.2.5 d192.0.2.6", "ae x 192.0.2.7", "ae x [2001:db8::8]",
        };

        for (size_t i = 0; i < ELEMENTSOF(sets); i++) {
                Filter *f = compile(sets[i], NULL, NULL);
                for (size_t l = 0; l < ELEMENTSOF(lines); l++) {
                        MatchResult m1 = { .regex_index = -1 }, m2 = { .regex_index = -1 };
                        int r1, r2;

                        /* the gate and the JIT code are built on first use: half of the sets
                         * run their regexes alone before the gate exists */
                        if (i % 2 == 1) {
                                filter_set_prefilter(f, false);
                                r2 = filter_match(f, lines[l], strlen(lines[l]), &m2);
                        }
                        filter_set_prefilter(f, true);
                        r1 = filter_match(f, lines[l], strlen(lines[l]), &m1);
                        if (i % 2 == 0) {
                                filter_set_prefilter(f, false);
                                r2 = filter_match(f, lines[l], strlen(lines[l]), &m2);
                        }
                        if (r1 != r2 || m1.regex_index != m2.regex_index)
                                fprintf(stderr, "set %zu line '%s': %d/%d vs %d/%d\n", i, lines[l], r1,
                                        m1.regex_index, r2, m2.regex_index);
                        assert_int_equal(r1, r2);
                        assert_int_equal(m1.regex_index, m2.regex_index);
                        if (r1 == MATCH_FAILURE)
                                assert_true(addr_equal(&m1.addr, &m2.addr));
                }
                filter_free(f);
        }
}

/* ---- corpus ---- */

static const char *sshd_modes[] = { "normal", "ddos", "extra", "aggressive", NULL };

/* The sshd filter's injection cases, stated once more in code: whatever the mode, a user name
 * never gives the address it contains. */
static void test_sshd_injection(void **state) {
        static const char *users[] = {
                "x from 203.0.113.99 port 22",
                "x from 203.0.113.99 port 22 ssh2",
                "root from 203.0.113.99",
                "rhost=203.0.113.99",
                "x 203.0.113.99 port 22 [preauth]",
                "x from 203.0.113.99 not allowed because y",
                "x from 203.0.113.99 port 22 ssh2 [preauth]",
                "x 203.0.113.99 port 22: Too many authentication failures [preauth]",
        };
        static const char *templates[] = {
                "h sshd[1]: Failed password for invalid user %s from 192.0.2.200 port 4444 ssh2",
                "h sshd[1]: Failed password for %s from 192.0.2.200 port 4444 ssh2",
                "h sshd[1]: Invalid user %s from 192.0.2.200 port 4444",
                "h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.200  user=%s",
                "h sshd[1]: Connection closed by invalid user %s 192.0.2.200 port 4444 [preauth]",
                "h sshd[1]: Connection closed by authenticating user %s 192.0.2.200 port 4444 [preauth]",
                "h sshd[1]: Disconnected from invalid user %s 192.0.2.200 port 4444 [preauth]",
                "h sshd[1]: error: maximum authentication attempts exceeded for invalid user %s from 192.0.2.200 port 4444 ssh2 [preauth]",
                "h sshd[1]: User %s from 192.0.2.200 not allowed because not listed in AllowUsers",
                "h sshd[1]: Disconnecting invalid user %s 192.0.2.200 port 4444: Too many authentication failures [preauth]",
                "h sshd[1]: Failed publickey for %s from 192.0.2.200 port 4444 ssh2: RSA SHA256:x",
                "h sshd[1]: Failed publickey for invalid user %s from 192.0.2.200 port 4444 ssh2: RSA SHA256:x",
                "h sshd[1]: Failed publickey for invalid user %s from 192.0.2.200 port 4444 ssh2",
                "h sshd[1]: Accepted password for %s from 192.0.2.200 port 4444 ssh2",
                "h sshd[1]: pam_unix(sshd:session): session opened for user %s by (uid=0)",
                "h sshd[1]: error: PAM: Authentication failure for %s from 192.0.2.200",
                "h sshd[1]: error: PAM: authentication error for %s from 192.0.2.200 via 192.0.2.1",
                "h sshd[1]: Connection reset by authenticating user %s 192.0.2.200 port 4444 [preauth]",
                "h sshd[1]: Received disconnect from 192.0.2.200 port 4444:3: %s: Auth fail [preauth]",
        };
        char path[4096];

        snprintf(path, sizeof path, "%s/conf/filter.d/sshd.conf", NFTJAIL_TEST_SRCDIR);
        for (size_t mi = 0; sshd_modes[mi]; mi++) {
                char opt[64];
                FilterConf fc = {};
                Filter *f = NULL;

                snprintf(opt, sizeof opt, "mode=%s", sshd_modes[mi]);
                assert_int_equal(ff_load_filter(path, opt, &fc), 0);
                assert_int_equal(filter_new(&fc, &f, NULL), 0);
                for (size_t t = 0; t < ELEMENTSOF(templates); t++)
                        for (size_t u = 0; u < ELEMENTSOF(users); u++) {
                                char line[1024], a[ADDR_STRLEN] = "";
                                MatchResult m;
                                int r;

                                const char *pct = strstr(templates[t], "%s");
                                snprintf(line, sizeof line, "%.*s%s%s", (int) (pct - templates[t]), templates[t],
                                         users[u], pct + 2);
                                r = filter_match(f, line, strlen(line), &m);
                                if (r == MATCH_FAILURE)
                                        addr_to_string(&m.addr, a, sizeof a);
                                if (r == MATCH_FAILURE && strcmp(a, "192.0.2.200") != 0)
                                        fprintf(stderr, "INJECTION [%s] '%s' -> %s\n", sshd_modes[mi], line, a);
                                assert_false(r == MATCH_FAILURE && strcmp(a, "192.0.2.200") != 0);
                        }
                filter_free(f);
                ff_filter_conf_done(&fc);
        }
}

/* In normal mode (the default) each failed attempt counts once, as in fail2ban: a connection with
 * three wrong passwords is 3 failures, not 5 (pam_unix's line for the first one and the closing
 * line count in extra and aggressive modes only). */
static void test_sshd_counts_attempts(void **state) {
        static const char *lines[] = {
                "bastion sshd[123]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=alice",
                "bastion sshd[123]: Failed password for alice from 198.51.100.9 port 50000 ssh2",
                "bastion sshd[123]: Failed password for alice from 198.51.100.9 port 50000 ssh2",
                "bastion sshd[123]: Failed password for alice from 198.51.100.9 port 50000 ssh2",
                "bastion sshd[123]: Connection closed by authenticating user alice 198.51.100.9 port 50000 [preauth]",
                "bastion sshd[123]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.9  user=alice",
                "bastion sshd[124]: error: PAM: Authentication failure for alice from 198.51.100.9",
                "bastion sshd[124]: Failed keyboard-interactive/pam for alice from 198.51.100.9 port 50001 ssh2",
        };
        static const struct {
                const char *mode;
                unsigned want;
        } modes[] = { { "normal", 4 }, { "ddos", 4 }, { "extra", 7 }, { "aggressive", 7 } };
        char path[4096];

        snprintf(path, sizeof path, "%s/conf/filter.d/sshd.conf", NFTJAIL_TEST_SRCDIR);
        for (size_t mi = 0; mi < ELEMENTSOF(modes); mi++) {
                char opt[64];
                FilterConf fc = {};
                Filter *f = NULL;
                unsigned n = 0;

                snprintf(opt, sizeof opt, "mode=%s", modes[mi].mode);
                assert_int_equal(ff_load_filter(path, opt, &fc), 0);
                assert_int_equal(filter_new(&fc, &f, NULL), 0);
                for (size_t i = 0; i < ELEMENTSOF(lines); i++) {
                        MatchResult m;
                        n += filter_match(f, lines[i], strlen(lines[i]), &m) == MATCH_FAILURE;
                }
                if (n != modes[mi].want)
                        fprintf(stderr, "mode %s: %u failures, want %u\n", modes[mi].mode, n, modes[mi].want);
                assert_int_equal(n, modes[mi].want);
                filter_free(f);
                ff_filter_conf_done(&fc);
        }
}

/* Mutated sshd lines with random bytes: no crash, no error return, and a failure always carries
 * a valid address. */
static void test_random_lines(void **state) {
        static const char *seeds[] = {
                "h sshd[1]: Failed password for invalid user x from 192.0.2.1 port 22 ssh2",
                "h sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=2001:db8::1  user=root",
                "h sshd-session[1]: Connection closed by invalid user a [2001:db8::2] port 22 [preauth]",
        };
        char path[4096];
        FilterConf fc = {};
        Filter *f = NULL;
        uint64_t x = 88172645463325252ULL;

        snprintf(path, sizeof path, "%s/conf/filter.d/sshd.conf", NFTJAIL_TEST_SRCDIR);
        assert_int_equal(ff_load_filter(path, "mode=aggressive", &fc), 0);
        assert_int_equal(filter_new(&fc, &f, NULL), 0);
        for (unsigned i = 0; i < 50000; i++) {
                char line[512];
                const char *s0 = seeds[i % ELEMENTSOF(seeds)];
                size_t n = strlen(s0);
                MatchResult m;
                int r;

                memcpy(line, s0, n);
                for (unsigned k = 0; k < 1 + i % 4; k++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        line[x % n] = (char) (x >> 32);
                }
                r = filter_match(f, line, n, &m);
                assert_true(r == MATCH_NONE || r == MATCH_FAILURE);
                if (r == MATCH_FAILURE) {
                        char a[ADDR_STRLEN];
                        addr_to_string(&m.addr, a, sizeof a);
                        /* the printed form may be shorter (::ffff:, zero compression), so check
                         * only that it parses back to the same address */
                        Addr b;
                        assert_int_equal(addr_from_string(a, &b), 0);
                        assert_true(addr_equal(&b, &m.addr));
                }
        }
        filter_free(f);
        ff_filter_conf_done(&fc);
}

/* ---- the names of fail2ban's common.conf ---- */

static void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* Filter files written for fail2ban use the names its common.conf defines (%(__pam_auth)s in
 * dovecot, pam-generic, vsftpd, wuftpd; %(__hostname)s as one word in proftpd, ...). Our shipped
 * common.conf defines them all: a filter of our own using each one loads through conf.c, as the
 * daemon loads it, and matches the lines those names describe. */
static void test_fail2ban_common_names(void **state) {
        static const char filter[] =
                "[INCLUDES]\n"
                "before = common.conf\n"
                "\n"
                "[Definition]\n"
                "_daemon = (?:login|ftpd|proftpd)\n"
                "failregex = ^%(__prefix_line)s%(__pam_auth)s\\(\\S+:auth\\): authentication failure;(?:\\s+\\w+=\\S*)*\\s+rhost=<HOST>(?:\\s+user=\\S*)?$\n"
                "            ^%(__hostname)s %(__daemon_combs_re)s\\s+(?:%(__daemon_extra_re)s\\s+)?login refused for <HOST>$\n"
                "            ^%(__date_ambit)s\\s*(?:%(__bsd_syslog_verbose)s\\s+)?(?:%(__vserver)s\\s+)?%(__kernel_prefix)s\\s+dropped <HOST>$\n"
                "            ^%(__prefix_line)s%(__hostname)s \\(\\S+\\[<HOST>\\]\\) - no such user$\n"
                "            ^<logtype> log: bad client <HOST>$\n"
                "            ^%(__hostname)s %(_daemon)s%(__pid_re)s: %(__daemon_re)s bad user from <HOST>$\n";
        static const struct {
                const char *line;
                int want, regex;
                const char *addr;
        } cases[] = {
                { "gw login[77]: pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 "
                  "tty=/dev/tty1 ruser= rhost=192.0.2.10  user=root", MATCH_FAILURE, 0, "192.0.2.10" },
                { "login[77]: pam_unix(login:auth): authentication failure; logname= uid=0 euid=0 tty= ruser= "
                  "rhost=2001:db8::10", MATCH_FAILURE, 0, "2001:db8::10" },
                /* __pam_auth is pam_unix: another module's lines are not counted */
                { "gw login[77]: pam_sss(login:auth): authentication failure; logname= uid=0 euid=0 tty= ruser= "
                  "rhost=192.0.2.11", MATCH_NONE, -1, NULL },
                { "gw [42]: ftpd login refused for 198.51.100.20", MATCH_FAILURE, 1, "198.51.100.20" },
                { "gw ftpd[42]: [ID 800047 auth.error] login refused for 198.51.100.21", MATCH_FAILURE, 1,
                  "198.51.100.21" },
                { "gw (ftpd) login refused for 198.51.100.22", MATCH_FAILURE, 1, "198.51.100.22" },
                { "gw sshd[42]: login refused for 198.51.100.23", MATCH_NONE, -1, NULL },
                { "[] <kern.warning> @vserver_guest1 kernel: [ 1234.567890] dropped 2001:db8::23", MATCH_FAILURE, 2,
                  "2001:db8::23" },
                { "[]kernel: [12.5] dropped 192.0.2.23", MATCH_FAILURE, 2, "192.0.2.23" },
                /* __hostname is one word, as in fail2ban (proftpd.conf writes "%(__hostname)s \\(") */
                { "gw proftpd[9]: ftp.example.org (client.example[203.0.113.24]) - no such user", MATCH_FAILURE, 3,
                  "203.0.113.24" },
                { "gw proftpd[9]:  (client.example[203.0.113.25]) - no such user", MATCH_NONE, -1, NULL },
                { "file log: bad client 192.0.2.25", MATCH_FAILURE, 4, "192.0.2.25" },
                { "gw ftpd[1]: [ftpd(ctl)]: bad user from 192.0.2.26", MATCH_FAILURE, 5, "192.0.2.26" },
        };
        char dir[] = "/tmp/test-match-XXXXXX", path[4096], cmd[8300];
        ConfDiags d = {};
        FilterConf fc = {};
        Filter *f = NULL;
        FilterError e = {};
        int r;

        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/filter.d", dir);
        assert_int_equal(mkdir(path, 0700), 0);
        snprintf(cmd, sizeof cmd, "cp '%s/conf/filter.d/common.conf' '%s/filter.d/'", NFTJAIL_TEST_SRCDIR, dir);
        assert_int_equal(system(cmd), 0);
        snprintf(path, sizeof path, "%s/filter.d/f2b-names.conf", dir);
        write_text(path, filter);

        r = filter_conf_load(dir, "f2b-names", &fc, &d);
        for (size_t i = 0; i < d.n; i++) {
                char b[1024];
                fprintf(stderr, "  diag: %s\n", conf_diag_format(&d.v[i], b, sizeof b));
        }
        assert_int_equal(r, 0);
        assert_int_equal(fc.n_failregex, 6);
        assert_null(fc.datepattern); /* empty: the leading date is found automatically */
        r = filter_new(&fc, &f, &e);
        if (r < 0)
                fprintf(stderr, "%s:%u: %s (offset %zu)\n", e.file, e.line, e.message, e.offset);
        assert_int_equal(r, 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char a[ADDR_STRLEN] = "";
                int idx;

                r = match_str(f, cases[i].line, a, &idx);
                if (r != cases[i].want || (r == MATCH_FAILURE && (idx != cases[i].regex || strcmp(a, cases[i].addr))))
                        fprintf(stderr, "'%s': got %d regex %d %s\n", cases[i].line, r, idx, a);
                assert_int_equal(r, cases[i].want);
                if (r == MATCH_FAILURE) {
                        assert_int_equal(idx, cases[i].regex);
                        assert_string_equal(a, cases[i].addr);
                }
        }
        filter_free(f);
        filter_conf_done(&fc);
        conf_diags_done(&d);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tags),
                cmocka_unit_test(test_search_semantics),
                cmocka_unit_test(test_python_syntax),
                cmocka_unit_test(test_prefregex),
                cmocka_unit_test(test_ignoreregex),
                cmocka_unit_test(test_nofail),
                cmocka_unit_test(test_addr_brackets),
                cmocka_unit_test(test_mlfid),
                cmocka_unit_test(test_multiline),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_long_lines),
                cmocka_unit_test(test_hostile_regex),
                cmocka_unit_test(test_hostile_regex_reported),
                cmocka_unit_test(test_jit_stack),
                cmocka_unit_test(test_prefilter_literal),
                cmocka_unit_test(test_gate),
                cmocka_unit_test(test_sshd_injection),
                cmocka_unit_test(test_sshd_counts_attempts),
                cmocka_unit_test(test_random_lines),
                cmocka_unit_test(test_fail2ban_common_names),
        };

        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
