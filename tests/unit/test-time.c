/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "prelude.h"

static void check(const char *s, int64_t want) {
        int64_t v = 12345;

        assert_int_equal(parse_duration_sec(s, &v), 0);
        assert_int_equal(v, want);
}

static void check_fail(const char *s, int err) {
        int64_t v = 12345;

        assert_int_equal(parse_duration_sec(s, &v), err);
        assert_int_equal(v, 12345); /* untouched on failure */
}

static void test_plain(void **state) {
        check("600", 600);
        check("0", 0);
        check("  600  ", 600);
        check("-1", -1);
        check("-600", -600);
}

static void test_units(void **state) {
        check("10m", 600);
        check("1h30m", 5400);
        check("1d", 86400);
        check("1w", 604800);
        check("1 hour", 3600);
        check("2 hours 5 minutes", 7500);
        check("30s", 30);
        check("5min", 300);
        check("1mo", 2592000);
        check("1y", 31536000);
        check("1H", 3600);
        check("-1d", -86400);
}

static void test_bad(void **state) {
        check_fail("", -EINVAL);
        check_fail("   ", -EINVAL);
        check_fail("-", -EINVAL);
        check_fail("abc", -EINVAL);
        check_fail("10x", -EINVAL);
        check_fail("m", -EINVAL);
        check_fail("10 m m", -EINVAL);
        check_fail("1.5h", -EINVAL);
        check_fail("--1", -EINVAL);
        check_fail("1h-1", -EINVAL);
        assert_int_equal(parse_duration_sec(NULL, &(int64_t) { 0 }), -EINVAL);
}

static void test_overflow(void **state) {
        check_fail("99999999999999999999", -ERANGE);
        check_fail("100000000000000000w", -ERANGE);
        check_fail("9000000000000000000 9000000000000000000", -ERANGE);
        check("922337203685477579", 922337203685477579LL);
}

static void test_format(void **state) {
        char b[32];

        assert_string_equal(format_duration_sec(5400, b, sizeof b), "1h30m");
        assert_string_equal(format_duration_sec(600, b, sizeof b), "10m");
        assert_string_equal(format_duration_sec(-1, b, sizeof b), "permanent");
        assert_string_equal(format_duration_sec(0, b, sizeof b), "0s");
        assert_string_equal(format_duration_sec(694861, b, sizeof b), "1w1d1h1m1s");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain),
                cmocka_unit_test(test_units),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_overflow),
                cmocka_unit_test(test_format),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
