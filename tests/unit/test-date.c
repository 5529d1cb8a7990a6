/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "date.h"

/* 2026-11-24 14:00:00 UTC */
#define NOW 1795528800

static int parse(const char *s, int64_t now, int64_t *epoch, size_t *end) {
        return date_parse_prefix(s, strlen(s), now, epoch, end);
}

static void check(const char *s, int64_t now, int64_t want_epoch, size_t want_end) {
        int64_t epoch = -1;
        size_t end = 0;

        assert_int_equal(parse(s, now, &epoch, &end), 1);
        assert_int_equal(epoch, want_epoch);
        assert_int_equal(end, want_end);
}

static void check_none(const char *s) {
        int64_t epoch = 42;
        size_t end = 42;

        assert_int_equal(parse(s, NOW, &epoch, &end), 0);
        assert_int_equal(epoch, 42);
        assert_int_equal(end, 42);
}

static int setup_utc(void **state) {
        setenv("TZ", "UTC", 1);
        tzset();
        return 0;
}

static void test_rfc3164(void **state) {
        /* 2026-11-24 13:05:01 UTC = 1795525501 */
        check("Nov 24 13:05:01 host sshd[1]: x", NOW, 1795525501, 15);
        check("Nov 24 13:05:01", NOW, 1795525501, 15);
        check("Nov  4 13:05:01 host x", NOW, 1795525501 - 20 * 86400, 15);
        check("Nov 04 13:05:01 host x", NOW, 1795525501 - 20 * 86400, 15);
        /* tomorrow is fine, two days ahead is last year: Nov 26 2025 13:05:01 */
        check("Nov 25 13:05:01 x", NOW, 1795525501 + 86400, 15);
        check("Nov 26 13:05:01 x", NOW, 1764162301, 15);
        /* Dec 31 read on Jan 1 2027 belongs to 2026: 2026-12-31 23:59:59 UTC = 1798761599 */
        check("Dec 31 23:59:59 x", 1798761600 + 60, 1798761599, 15);
        /* fraction */
        check("Nov 24 13:05:01.123456 x", NOW, 1795525501, 22);
}

static void test_iso(void **state) {
        check("2026-11-24T13:05:01Z host", NOW, 1795525501, 20);
        check("2026-11-24T13:05:01.123456+01:00 host", NOW, 1795525501 - 3600, 32);
        check("2026-11-24T13:05:01.123-0530 host", NOW, 1795525501 + 5 * 3600 + 1800, 28);
        check("2026-11-24 13:05:01,123 host", NOW, 1795525501, 23);
        check("2026-11-24 13:05:01 host", NOW, 1795525501, 19);
        check("2026-11-24T13:05:01", NOW, 1795525501, 19);
        check("2024-02-29T00:00:00Z", NOW, 1709164800, 20);
        /* 1970 */
        check("1970-01-01T00:00:00Z", NOW, 0, 20);
}

static void test_local_zone(void **state) {
        /* Zoneless dates are local time: in Europe/Berlin (CET, +01:00 in November) */
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        check("2026-11-24 13:05:01 x", NOW, 1795525501 - 3600, 19);
        check("Nov 24 13:05:01 x", NOW, 1795525501 - 3600, 15);
        /* summer: CEST +02:00; 2026-07-01 12:00:00 UTC = 1782907200 */
        check("2026-07-01 14:00:00 x", NOW, 1782907200, 19);
        /* explicit zone is not affected */
        check("2026-11-24T13:05:01Z", NOW, 1795525501, 20);
        setenv("TZ", "UTC", 1);
        tzset();
}

static void set_tz(const char *tz) {
        setenv("TZ", tz, 1);
        tzset();
}

/* The offset cache (per hour, per zone) must give what localtime_r() gives: each line is read
 * right after one from another hour or offset, so a stale entry would show. */
static void test_dst(void **state) {
        /* 2026-11-24 12:00:00 UTC, for RFC 3164 lines of 2026 */
        const int64_t now = 1795528800;

        set_tz("Europe/Berlin");
        /* spring forward 2026-03-29 01:00 UTC: 02:00 CET -> 03:00 CEST */
        check("2026-03-29 01:59:59 x", now, 1774745999, 19);
        check("2026-03-29 03:00:00 x", now, 1774746000, 19);
        check("2026-03-29 03:59:59 x", now, 1774749599, 19);
        check("2026-03-29 01:59:59 x", now, 1774745999, 19);
        check("Mar 29 01:59:59 x", now, 1774745999, 15);
        check("Mar 29 03:00:00 x", now, 1774746000, 15);
        /* fall back 2026-10-25 01:00 UTC: 03:00 CEST -> 02:00 CET; 02:30 is read as CET */
        check("Oct 25 01:59:59 x", now, 1792886399, 15);
        check("Oct 25 03:00:00 x", now, 1792893600, 15);
        check("Oct 25 02:30:00 x", now, 1792891800, 15);
        check("Oct 25 01:59:59 x", now, 1792886399, 15);
        /* the zone changes under the same line (TZ and tzset(), as a test or a reload does) */
        check("2026-07-01 14:00:00 x", now, 1782907200, 19);
        set_tz("America/New_York");
        check("2026-07-01 14:00:00 x", now, 1782907200 + 6 * 3600, 19);
        /* spring forward 2026-03-08 07:00 UTC: 02:00 EST -> 03:00 EDT */
        check("Mar  8 01:59:59 x", now, 1772953199, 15);
        check("Mar  8 03:00:00 x", now, 1772953200, 15);
        /* fall back 2026-11-01 06:00 UTC: 02:00 EDT -> 01:00 EST; 01:30 is read as EDT */
        check("Nov  1 00:59:59 x", now, 1793509199, 15);
        check("Nov  1 02:00:00 x", now, 1793516400, 15);
        check("Nov  1 01:30:00 x", now, 1793511000, 15);
        check("Nov  1 00:59:59 x", now, 1793509199, 15);
        /* a transition in the middle of a UTC hour: Lord Howe goes from +10:30 to +11:00 at
         * 15:30 UTC (02:00 -> 02:30 local), so that hour has two offsets */
        set_tz("Australia/Lord_Howe");
        check("2026-10-04 02:40:00 x", now, 1791042000, 19);
        check("2026-10-04 01:50:00 x", now, 1791040800, 19);
        check("2026-10-04 01:29:59 x", now, 1791039599, 19);
        check("2026-10-04 02:40:00 x", now, 1791042000, 19);
        /* and back: Berlin again, not New York's or Lord Howe's offsets */
        set_tz("Europe/Berlin");
        check("2026-07-01 14:00:00 x", now, 1782907200, 19);
        set_tz("UTC");
}

static void test_year_rollover(void **state) {
        /* 2026-12-31 23:30:00 UTC is already 2027 in Berlin: the year of a line without one is
         * the local year, and December lines read in January are last year's */
        set_tz("Europe/Berlin");
        check("Dec 31 23:59:59 x", 1798759800, 1798757999, 15);
        check("Jan  1 00:10:00 x", 1798759800, 1798758600, 15);
        /* ... and still 2026 in New York when it is 2027 in UTC */
        set_tz("America/New_York");
        check("Dec 31 21:00:00 x", 1798772400, 1798768800, 15);
        check("Jan  1 00:10:00 x", 1798772400, 1767244200, 15);
        /* the same lines in UTC */
        set_tz("UTC");
        check("Jan  1 00:10:00 x", 1798772400, 1798762200, 15);
        check("Dec 31 21:00:00 x", 1798772400, 1798750800, 15);
}

static void test_feb29(void **state) {
        int64_t epoch = 42;
        size_t end = 42;

        set_tz("Europe/Berlin");
        /* read on 2028-03-01 (a leap year), and on 2029-01-10 (last year was one) */
        check("Feb 29 12:00:00 x", 1835481600, 1835434800, 15);
        check("Feb 29 12:00:00 x", 1862697600, 1835434800, 15);
        check("2028-02-29 12:00:00 x", 1862697600, 1835434800, 19);
        /* read on 2027-03-01: neither 2027 nor 2026 has one */
        assert_int_equal(parse("Feb 29 12:00:00 x", 1803859200, &epoch, &end), 0);
        check("Feb 28 12:00:00 x", 1803859200, 1835434800 - 365 * 86400 - 86400, 15);
        set_tz("UTC");
        check("2000-02-29T00:00:00Z", NOW, 951782400, 20);
        check("2100-02-28T00:00:00Z", NOW, 4107456000, 20);
        check_none("2100-02-29T00:00:00Z");
        check("1969-12-31T23:59:59Z", NOW, -1, 20);
        /* a leap second is the next minute's first second, as timegm() reads it */
        check("2016-12-31T23:59:60Z", NOW, 1483228800, 20);
}

static void test_none(void **state) {
        check_none("");
        check_none("host sshd[1]: Failed password");
        check_none("Foo 24 13:05:01 host");
        check_none("Nov 24 13:05 host x y z a");
        check_none("Nov 24 25:05:01 host");
        check_none("Nov 32 13:05:01 host");
        check_none("2026-13-24T13:05:01Z");
        check_none("2026-02-30T13:05:01Z");
        check_none("2025-02-29T13:05:01Z");
        check_none("2026-11-24T13:05:01Zx");
        check_none("2026-11-24T13:05:61Z");
        check_none("2026-11-24X13:05:01Z");
        check_none("Nov 24 13:05:01x");
        /* embedded NUL: only len bytes are looked at */
        assert_int_equal(date_parse_prefix("Nov 24 13:05\0001 x", 17, NOW, NULL, NULL), 0);
}

/* date_find with a pattern (NULL spec: automatic); want_start/want_end as bytes of line. */
static void find(const char *spec, const char *tz, const char *line, int64_t now, int64_t want_epoch,
                 size_t want_start, size_t want_end) {
        DatePattern *p = NULL;
        int64_t epoch = -1;
        size_t start = 99, end = 99;

        assert_int_equal(date_pattern_new(spec, tz, &p), 0);
        assert_int_equal(date_find(p, line, strlen(line), now, &epoch, &start, &end), 1);
        assert_int_equal(epoch, want_epoch);
        assert_int_equal(start, want_start);
        assert_int_equal(end, want_end);
        date_pattern_free(p);
}

static void find_none(const char *spec, const char *line) {
        DatePattern *p = NULL;
        int64_t epoch = 42;
        size_t start = 42, end = 42;

        assert_int_equal(date_pattern_new(spec, NULL, &p), 0);
        assert_int_equal(date_find(p, line, strlen(line), NOW, &epoch, &start, &end), 0);
        assert_int_equal(epoch, 42);
        date_pattern_free(p);
}

static void test_find_auto(void **state) {
        /* the prefix formats, through date_find: same results */
        find(NULL, NULL, "Nov 24 13:05:01 pve pvedaemon[1]: x", NOW, 1795525501, 0, 15);
        find(NULL, NULL, "2026-11-24 13:05:01,123 x", NOW, 1795525501, 0, 23);
        find(NULL, NULL, "2026/11/24 13:05:01 [error] x", NOW, 1795525501, 0, 19);
        find(NULL, NULL, "2026.11.24 13:05:01 x", NOW, 1795525501, 0, 19);
        find_none(NULL, "2026/11-24 13:05:01 x");
        /* epoch seconds at the line start */
        find(NULL, NULL, "1795525501 host x", NOW, 1795525501, 0, 10);
        find(NULL, NULL, "1795525501.123 host x", NOW, 1795525501, 0, 14);
        /* Apache/nginx, in the middle of the line; the brackets stay */
        find(NULL, NULL, "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] \"GET / HTTP/1.1\" 401", NOW, 1795525501, 17, 43);
        find(NULL, NULL, "203.0.113.5 - - [24/Nov/2026:14:05:01 +0100] \"GET /\"", NOW, 1795525501, 17, 43);
        /* zoneless CLF date: local (UTC here) */
        find(NULL, NULL, "x [24/Nov/2026:13:05:01] y", NOW, 1795525501, 3, 23);
        find_none(NULL, "host sshd[1]: user 1795525501x");
        find_none(NULL, "12345 short number");
        find_none(NULL, "203.0.113.5 - - [32/Nov/2026:13:05:01 +0000] x");
}

static void test_find_pattern(void **state) {
        DatePattern *p = NULL;

        find("%Y-%m-%d %H:%M:%S", NULL, "2026-11-24 13:05:01 x", NOW, 1795525501, 0, 19);
        find("{^LN-BEG}%Y-%m-%d %H:%M:%S", NULL, "2026-11-24 13:05:01 x", NOW, 1795525501, 0, 19);
        find("^%d/%m/%Y %H:%M:%S", NULL, "24/11/2026 13:05:01 x", NOW, 1795525501, 0, 19);
        /* unanchored: the first match in the line */
        find("%Y-%m-%d %H:%M:%S", NULL, "[app] 2026-11-24 13:05:01 x", NOW, 1795525501, 6, 25);
        /* fraction, zone */
        find("%Y-%m-%dT%H:%M:%S.%f%z", NULL, "2026-11-24T14:05:01.123+0100 x", NOW, 1795525501, 0, 28);
        /* month names, weekday, 2-digit year */
        find("%a %b %d %H:%M:%S %Y", NULL, "Tue Nov 24 13:05:01 2026 x", NOW, 1795525501, 0, 24);
        find("%d-%B-%y %H:%M:%S", NULL, "24-November-26 13:05:01 x", NOW, 1795525501, 0, 23);
        /* no year: inferred as for RFC 3164 */
        find("%b %d %H:%M:%S", NULL, "Nov 24 13:05:01 x", NOW, 1795525501, 0, 15);
        /* day of year: 2026-11-24 is day 328 */
        find("%Y.%j %H:%M:%S", NULL, "2026.328 13:05:01 x", NOW, 1795525501, 0, 17);
        /* escaped literal */
        find("\\[%Y-%m-%d %H:%M:%S\\]", NULL, "x [2026-11-24 13:05:01] y", NOW, 1795525501, 2, 23);
        /* EPOCH anywhere */
        find("EPOCH", NULL, "type=USER_AUTH msg=audit(1795525501.123:42): x", NOW, 1795525501, 25, 39);
        /* logtimezone applies to zoneless dates only */
        find("%Y-%m-%d %H:%M:%S", "UTC+0200", "2026-11-24 15:05:01 x", NOW, 1795525501, 0, 19);
        find("%Y-%m-%d %H:%M:%S", "-05:00", "2026-11-24 08:05:01 x", NOW, 1795525501, 0, 19);
        find(NULL, "+0200", "Nov 24 15:05:01 x", NOW, 1795525501, 0, 15);
        find(NULL, "+0200", "2026-11-24T13:05:01Z x", NOW, 1795525501, 0, 20);
        /* "{^LN-BEG}" or "^" alone: automatic detection at the line start only (fail2ban's stock
         * nginx-http-auth, pam-generic, courier-auth... set it): the date is found and stripped */
        find("{^LN-BEG}", NULL, "Nov 24 13:05:01 pve pvedaemon[1]: x", NOW, 1795525501, 0, 15);
        find("^", NULL, "2026-11-24 13:05:01,123 x", NOW, 1795525501, 0, 23);
        find("{^LN-BEG}", NULL, "2026/11/24 13:05:01 [error] 7#7: *1 user \"u\": password mismatch", NOW, 1795525501, 0, 19);
        find_none("{^LN-BEG}", "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] x");
        find_none("{^LN-BEG}", "host sshd[1]: Nov 24 13:05:01 x");
        /* anchored pattern does not search */
        find_none("^%Y-%m-%d %H:%M:%S", "x 2026-11-24 13:05:01");
        find_none("{NONE}", "2026-11-24 13:05:01 x");
        find_none("%Y-%m-%d %H:%M:%S", "2026-13-24 13:05:01 x");
        /* what we do not read is refused, not misread */
        assert_int_equal(date_pattern_new("%Y-%m-%d (?:%H", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new("%Q", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new("%", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new(NULL, "Mars/Olympus", &p), -EINVAL);
        assert_int_equal(date_pattern_new(NULL, "UTC", &p), 0);
        date_pattern_free(p);
}

/* datepatterns with regex syntax, as fail2ban's stock filters write them */
static void test_find_templates(void **state) {
        DatePattern *p = NULL;
        const char *multi = "{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?\n"
                            "^[^\\[]*\\[({DATE})\n"
                            "{^LN-BEG}";
        char hostile[600];

        /* {DATE} inside the line's own group: the group is the date (apache-badbots) */
        find("^[^\\[]*\\[({DATE})", NULL, "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] \"GET /\"", NOW,
             1795525501, 17, 43);
        /* without a group of its own the whole match is the date (apache-fakegooglebot's has one) */
        find("^[^\\[]*(\\[{DATE}\\s*\\])", NULL, "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] x", NOW, 1795525501,
             16, 44);
        /* several lines, tried in order (nginx-bad-request) */
        find(multi, NULL, "2026/11/24 13:05:01 [error] 7#7: x", NOW, 1795525501, 0, 19);
        find(multi, NULL, "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] \"GET /\" 400", NOW, 1795525501, 17, 43);
        find(multi, NULL, "Nov 24 13:05:01 host nginx: x", NOW, 1795525501, 0, 15);
        find_none(multi, "no date at all");
        /* %Exy, a month name with dashes (assp); 12-hour clock */
        find("{^LN-BEG}%b-%d-%Exy %H:%M:%S", NULL, "Nov-24-26 13:05:01 x", NOW, 1795525501, 0, 18);
        find("%b %d, %ExY %I:%M:%S %p", NULL, "Nov 24, 2026 1:05:01 PM x", NOW, 1795525501, 0, 23);
        /* a literal prefix before {DATE} (oracleims, murmur) */
        find("^<co ts=\"{DATE}\"\\s+", NULL, "<co ts=\"2026-11-24T13:05:01Z\" x", NOW, 1795525501, 0, 30);
        /* keywords: Epoch at the line start (nsd, squid), TAI64N (dovecot's deliver log) */
        find("{^LN-BEG}Epoch", NULL, "1795525501.123 x", NOW, 1795525501, 0, 14);
        find("{^LN-BEG}TAI64N", NULL, "@400000006b058b8700000000 x", NOW, 1795525501, 0, 25);
        /* a label before 1970 or far in the future is no date */
        find_none("{^LN-BEG}TAI64N", "@000000000000000000000000 x");
        find_none("{^LN-BEG}TAI64N", "@ffffffffffffffff00000000 x");
        /* an optional part in regex syntax (freeswitch) */
        find("^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?", NULL, "2026-11-24 13:05:01.123 x", NOW, 1795525501, 0, 23);
        /* fail2ban's "**" (no word boundary) at either end is taken out: ejabberd's continuation line
         * "^I\\(()**" is an empty date, which is no date */
        find_none("^I\\(()**", "I(<0.1440.0>:ejabberd_c2s:813) : x");
        find("**%Y-%m-%d %H:%M:%S(?:\\.%f)?**", NULL, "x2026-11-24 13:05:01.5y", NOW, 1795525501, 1, 22);
        /* what does not compile is refused; so is a group of the pattern named like ours */
        assert_int_equal(date_pattern_new("(?P<njDATE>%Y)-(%m)", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new("^[^\\[]*\\[({DATE}", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new("%Y-%m-%d [%H", NULL, &p), -EINVAL);
        assert_int_equal(date_pattern_new("%Y\n%Q", NULL, &p), -EINVAL);
        /* what is wrong is said, with the line */
        {
                char why[256];

                assert_int_equal(date_pattern_new_why("%Y\n^(%m", NULL, &p, why, sizeof why), -EINVAL);
                assert_string_equal(why, "line 2 '^(%m': missing closing parenthesis");
                assert_int_equal(date_pattern_new_why("%Y %Q", NULL, &p, why, sizeof why), -EINVAL);
                assert_non_null(strstr(why, "line 1 '%Y %Q': a % directive that is not a date's"));
                assert_int_equal(date_pattern_new_why(NULL, "Mars", &p, why, sizeof why), -EINVAL);
                assert_non_null(strstr(why, "logtimezone 'Mars' is not a zone"));
        }
        /* {DATE} over and over: the expansion is bounded */
        {
                char big[40 * 6 + 1] = "";
                for (int i = 0; i < 40; i++)
                        strcat(big, "{DATE}");
                assert_int_equal(date_pattern_new(big, NULL, &p), -EINVAL);
                assert_int_equal(date_pattern_new("{DATE} {DATE}", NULL, &p), 0);
                date_pattern_free(p);
                p = NULL;
        }
        /* a hostile line: the pattern backtracks over 512 "[" and finds nothing */
        memset(hostile, '[', sizeof hostile - 1);
        hostile[sizeof hostile - 1] = 0;
        find_none("^[^\\[]*\\[({DATE})", hostile);
        find_none(multi, hostile);
}

/* automatic detection: the usual formats that the hand-written parsers do not read, at the line
 * start past up to two non-word characters */
static void test_find_auto_more(void **state) {
        find(NULL, NULL, "[Tue Nov 24 13:05:01 2026] [error] [client 203.0.113.5] x", NOW, 1795525501, 1, 25);
        find(NULL, NULL, "[Tue Nov 24 13:05:01.123456 2026] [auth_basic:error] x", NOW, 1795525501, 1, 32);
        find(NULL, NULL, "[2026-11-24 13:05:01] NOTICE[1638] chan_sip.c: x", NOW, 1795525501, 1, 20);
        find(NULL, NULL, "261124 13:05:01 [Warning] Access denied", NOW, 1795525501, 0, 15);
        find(NULL, NULL, "[24/Nov/2026 13:05:01] Relay attempt", NOW, 1795525501, 1, 21);
        find(NULL, NULL, "24-11-2026 13:05:01 +0300 PROXY", NOW, 1795525501, 0, 19);
        find(NULL, NULL, "20261124 13:05:01 x", NOW, 1795525501, 0, 17);
        find(NULL, NULL, "Nov 24, 2026 1:05:01 PM org.apache x", NOW, 1795525501, 0, 23);
        find(NULL, NULL, "@400000006b058b8700000000 deliver(u): x", NOW, 1795525501, 0, 25);
        /* digits that none of them starts with: not looked at further */
        find_none(NULL, "203.0.113.5 - - x");
        find_none(NULL, "12345 13:05:01 x");
        find_none(NULL, "xyz [Tue Nov 24 13:05:01 2026] late");
        /* a zone after a blank (Serilog); a blank and a sign that are not a zone stay the message's */
        find(NULL, NULL, "2026-11-24 21:05:01.008 +08:00 [WRN] Failed login", NOW, 1795525501, 0, 30);
        find(NULL, NULL, "2026-11-24 13:05:01 -- x", NOW, 1795525501, 0, 19);
        find(NULL, NULL, "2026-11-24 13:05:01 +5 points", NOW, 1795525501, 0, 19);
}

static void test_strip(void **state) {
        char out[256];
        const char *text;
        bool dated;
        int64_t epoch = 0;
        size_t n;
        const char *l1 = "Nov 24 13:05:01 pve pvedaemon[1]: x";
        const char *l2 = "203.0.113.5 - - [24/Nov/2026:13:05:01 +0000] \"GET /\"";
        const char *l3 = "no date here";

        n = date_strip(NULL, l1, strlen(l1), NOW, out, sizeof out, &text, &dated, &epoch);
        assert_true(dated);
        assert_int_equal(epoch, 1795525501);
        /* the blank after the date stays, as in fail2ban */
        assert_int_equal(n, strlen(" pve pvedaemon[1]: x"));
        assert_memory_equal(text, " pve pvedaemon[1]: x", n);
        n = date_strip(NULL, l2, strlen(l2), NOW, out, sizeof out, &text, &dated, &epoch);
        assert_true(dated);
        assert_string_equal(text, "203.0.113.5 - - [] \"GET /\"");
        assert_int_equal(n, strlen(text));
        n = date_strip(NULL, l3, strlen(l3), NOW, out, sizeof out, &text, &dated, &epoch);
        assert_false(dated);
        assert_ptr_equal(text, l3);
        assert_int_equal(n, strlen(l3));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_rfc3164, setup_utc),
                cmocka_unit_test_setup(test_iso, setup_utc),
                cmocka_unit_test_setup(test_local_zone, setup_utc),
                cmocka_unit_test_setup(test_dst, setup_utc),
                cmocka_unit_test_setup(test_year_rollover, setup_utc),
                cmocka_unit_test_setup(test_feb29, setup_utc),
                cmocka_unit_test_setup(test_none, setup_utc),
                cmocka_unit_test_setup(test_find_auto, setup_utc),
                cmocka_unit_test_setup(test_find_pattern, setup_utc),
                cmocka_unit_test_setup(test_find_templates, setup_utc),
                cmocka_unit_test_setup(test_find_auto_more, setup_utc),
                cmocka_unit_test_setup(test_strip, setup_utc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
