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

/* A reference of the same rules, for test_grow_model: per address, its failure times. */
#define MODEL_N 40000
#define MODEL_M 4
static uint32_t model_ts[MODEL_N][MODEL_M];
static unsigned model_n[MODEL_N];

static Addr model_addr(size_t i) {
        Addr a = { .family = i % 10 == 0 ? AF_INET : AF_INET6 };
        uint32_t v = (uint32_t) i;

        if (a.family == AF_INET) {
                /* 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 only: 768 addresses, reused */
                static const uint8_t v4[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
                size_t k = i / 10; /* < 768: see model_index() */
                memcpy(a.bytes, v4[k / 256], 3);
                a.bytes[3] = (uint8_t) (k % 256);
        } else {
                a.bytes[0] = 0x20; a.bytes[1] = 0x01; a.bytes[2] = 0x0d; a.bytes[3] = 0xb8;
                memcpy(a.bytes + 12, &v, 4);
        }
        return a;
}

static size_t model_index(size_t i) {
        /* the IPv4 ones alias: 768 distinct */
        return i % 10 == 0 ? (i / 10 % 768) * 10 : i;
}

static unsigned model_expire(size_t i, int64_t now, int64_t findtime) {
        unsigned k = 0;
        for (unsigned j = 0; j < model_n[i]; j++)
                if ((int64_t) model_ts[i][j] >= now - findtime)
                        model_ts[i][k++] = model_ts[i][j];
        model_n[i] = k;
        return k;
}

static size_t model_size(void) {
        size_t n = 0;
        for (size_t i = 0; i < MODEL_N; i++)
                n += model_n[i] > 0;
        return n;
}

/* Records, forgets and gc runs interleaved while the table grows from 64 slots to 65,536 again
 * and again (entries leave at maxretry and by gc, so it empties and refills): every answer and
 * the size agree with the reference at every step, including while an old table drains. */
static void test_grow_model(void **state) {
        const int64_t findtime = 50;
        Tracker *t;
        uint64_t x = 88172645463325252ULL;
        size_t peak = 0;

        memset(model_n, 0, sizeof model_n);
        assert_int_equal(tracker_new(MODEL_M, findtime, 1000000, &t), 0);
        for (int64_t step = 0; step < 400000; step++) {
                int64_t now = 1000 + step / 2000;
                size_t i, r;

                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                i = model_index((size_t) (x >> 16) % MODEL_N);
                r = (size_t) (x >> 8) % 1000;
                if (r < 5) {
                        Addr a = model_addr(i);
                        tracker_forget(t, &a);
                        model_n[i] = 0;
                } else if (r == 5 && step % 7 == 0) {
                        size_t before = model_size();
                        for (size_t k = 0; k < MODEL_N; k++)
                                (void) model_expire(k, now, findtime);
                        assert_int_equal(tracker_gc(t, now), before - model_size());
                } else {
                        Addr a = model_addr(i);
                        unsigned want = model_expire(i, now, findtime) + 1;
                        model_ts[i][want - 1] = (uint32_t) now;
                        model_n[i] = want;
                        if (want == MODEL_M)
                                model_n[i] = 0;
                        assert_int_equal(tracker_record(t, &a, now), (int) want);
                }
                if (step % 97 == 0)
                        assert_int_equal(tracker_size(t), model_size());
                peak = tracker_size(t) > peak ? tracker_size(t) : peak;
        }
        assert_int_equal(tracker_size(t), model_size());
        /* it grew past 16,384 slots (and drained the old tables on the way) */
        assert_true(peak > 16384);
        tracker_free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_threshold), cmocka_unit_test(test_window),
                cmocka_unit_test(test_maxretry_one), cmocka_unit_test(test_bad_args),
                cmocka_unit_test(test_many), cmocka_unit_test(test_bounded),
                cmocka_unit_test(test_grow_model),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
