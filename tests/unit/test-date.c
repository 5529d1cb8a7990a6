/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
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
        check("Nov 24 13:05:01 host sshd[1]: x", NOW, 1795525501, 16);
        check("Nov 24 13:05:01", NOW, 1795525501, 15);
        check("Nov  4 13:05:01 host x", NOW, 1795525501 - 20 * 86400, 16);
        check("Nov 04 13:05:01 host x", NOW, 1795525501 - 20 * 86400, 16);
        /* tomorrow is fine, two days ahead is last year: Nov 26 2025 13:05:01 */
        check("Nov 25 13:05:01 x", NOW, 1795525501 + 86400, 16);
        check("Nov 26 13:05:01 x", NOW, 1764162301, 16);
        /* Dec 31 read on Jan 1 2027 belongs to 2026: 2026-12-31 23:59:59 UTC = 1798761599 */
        check("Dec 31 23:59:59 x", 1798761600 + 60, 1798761599, 16);
        /* fraction */
        check("Nov 24 13:05:01.123456 x", NOW, 1795525501, 23);
}

static void test_iso(void **state) {
        check("2026-11-24T13:05:01Z host", NOW, 1795525501, 21);
        check("2026-11-24T13:05:01.123456+01:00 host", NOW, 1795525501 - 3600, 33);
        check("2026-11-24T13:05:01.123-0530 host", NOW, 1795525501 + 5 * 3600 + 1800, 29);
        check("2026-11-24 13:05:01,123 host", NOW, 1795525501, 24);
        check("2026-11-24 13:05:01 host", NOW, 1795525501, 20);
        check("2026-11-24T13:05:01", NOW, 1795525501, 19);
        check("2024-02-29T00:00:00Z", NOW, 1709164800, 20);
        /* 1970 */
        check("1970-01-01T00:00:00Z", NOW, 0, 20);
}

static void test_local_zone(void **state) {
        /* Zoneless dates are local time: in Europe/Berlin (CET, +01:00 in November) */
        setenv("TZ", "Europe/Berlin", 1);
        tzset();
        check("2026-11-24 13:05:01 x", NOW, 1795525501 - 3600, 20);
        check("Nov 24 13:05:01 x", NOW, 1795525501 - 3600, 16);
        /* summer: CEST +02:00; 2026-07-01 12:00:00 UTC = 1782907200 */
        check("2026-07-01 14:00:00 x", NOW, 1782907200, 20);
        /* explicit zone is not affected */
        check("2026-11-24T13:05:01Z", NOW, 1795525501, 20);
        setenv("TZ", "UTC", 1);
        tzset();
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_rfc3164, setup_utc),
                cmocka_unit_test_setup(test_iso, setup_utc),
                cmocka_unit_test_setup(test_local_zone, setup_utc),
                cmocka_unit_test_setup(test_none, setup_utc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
