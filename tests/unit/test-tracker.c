/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tracker.h"

static Addr A(const char *s) {
        Addr a;
        assert_int_equal(addr_from_string(s, &a), 0);
        return a;
}

static void test_threshold(void **state) {
        Tracker *t;
        Addr a = A("192.0.2.10"), b = A("2001:db8::10");

        assert_int_equal(tracker_new(3, 600, 1000, &t), 0);
        assert_int_equal(tracker_record(t, &a, 1000), 1);
        assert_int_equal(tracker_record(t, &b, 1000), 1);
        assert_int_equal(tracker_record(t, &a, 1001), 2);
        assert_int_equal(tracker_size(t), 2);
        /* the third failure within findtime reaches maxretry and resets the counter */
        assert_int_equal(tracker_record(t, &a, 1002), 3);
        assert_int_equal(tracker_size(t), 1);
        assert_int_equal(tracker_record(t, &a, 1003), 1);
        assert_int_equal(tracker_record(t, &b, 1004), 2);
        tracker_free(t);
}

static void test_window(void **state) {
        Tracker *t;
        Addr a = A("198.51.100.5");

        assert_int_equal(tracker_new(3, 60, 1000, &t), 0);
        assert_int_equal(tracker_record(t, &a, 1000), 1);
        assert_int_equal(tracker_record(t, &a, 1030), 2);
        /* the first failure is now older than 60 s: it no longer counts */
        assert_int_equal(tracker_record(t, &a, 1061), 2);
        /* exactly findtime old still counts (failures at 1030 and 1061 are within [1090-60, 1090]) */
        assert_int_equal(tracker_record(t, &a, 1090), 3);
        tracker_free(t);
}

static void test_maxretry_one(void **state) {
        Tracker *t;
        Addr a = A("203.0.113.1");

        assert_int_equal(tracker_new(1, 60, 100, &t), 0);
        assert_int_equal(tracker_record(t, &a, 5), 1);
        assert_int_equal(tracker_size(t), 0);
        tracker_free(t);
}

static void test_bad_args(void **state) {
        Tracker *t;
        Addr a = A("203.0.113.1"), z = {};

        assert_int_equal(tracker_new(0, 60, 100, &t), -EINVAL);
        assert_int_equal(tracker_new(256, 60, 100, &t), -EINVAL);
        assert_int_equal(tracker_new(3, 0, 100, &t), -EINVAL);
        assert_int_equal(tracker_new(3, 60, 100, &t), 0);
        assert_int_equal(tracker_record(t, &z, 5), -EINVAL);
        assert_int_equal(tracker_record(t, &a, -1), -EINVAL);
        tracker_free(t);
}

/* Many addresses, removals and regrowth: every address keeps its own count. */
static void test_many(void **state) {
        Tracker *t;
        const size_t n = 50000;

        assert_int_equal(tracker_new(4, 3600, 1000000, &t), 0);
        for (int round = 1; round <= 3; round++)
                for (size_t i = 0; i < n; i++) {
                        Addr a = { .family = AF_INET6 };
                        a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                        memcpy(a.bytes + 8, &i, sizeof i);
                        assert_int_equal(tracker_record(t, &a, 100 + round), round);
                }
        assert_int_equal(tracker_size(t), n);
        /* every other address is forgotten; the rest still count on */
        for (size_t i = 0; i < n; i += 2) {
                Addr a = { .family = AF_INET6 };
                a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                memcpy(a.bytes + 8, &i, sizeof i);
                tracker_forget(t, &a);
        }
        assert_int_equal(tracker_size(t), n / 2);
        for (size_t i = 0; i < n; i++) {
                Addr a = { .family = AF_INET6 };
                a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                memcpy(a.bytes + 8, &i, sizeof i);
                assert_int_equal(tracker_record(t, &a, 200), i % 2 ? 4 : 1);
        }
        assert_int_equal(tracker_size(t), n / 2);
        /* all failures are at t=200 now; an hour and a bit later they have all expired */
        assert_int_equal(tracker_gc(t, 200 + 3601), n / 2);
        assert_int_equal(tracker_size(t), 0);
        tracker_free(t);
}

static void test_bounded(void **state) {
        Tracker *t;

        assert_int_equal(tracker_new(5, 600, 100, &t), 0);
        for (uint32_t i = 0; i < 10000; i++) {
                Addr a = { .family = AF_INET };
                memcpy(a.bytes, &i, 4);
                assert_int_equal(tracker_record(t, &a, 1000 + i / 100), 1);
        }
        assert_int_equal(tracker_size(t), 100);
        /* 100 entries of 40 bytes at most 70% full: 256 slots */
        assert_true(tracker_memory(t) <= 256 * 40 + 128);
        tracker_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_threshold), cmocka_unit_test(test_window),
                cmocka_unit_test(test_maxretry_one), cmocka_unit_test(test_bad_args),
                cmocka_unit_test(test_many), cmocka_unit_test(test_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
