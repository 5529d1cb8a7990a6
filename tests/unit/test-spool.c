/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static char dir[] = "/tmp/test-spool.XXXXXX";

static Report R(const char *addr, const char *jail) {
        Report r = { .timestamp = 1000 };
        assert_int_equal(addr_from_string(addr, &r.addr), 0);
        snprintf(r.jail, sizeof r.jail, "%s", jail);
        snprintf(r.categories, sizeof r.categories, "18,21");
        snprintf(r.comment, sizeof r.comment, "%s: 3 failures in 10m", jail);
        return r;
}

static void test_spool(void **state) {
        Spool *w = NULL, *t = NULL, *ro = NULL;
        Report a = R("192.0.2.66", "sshd"), b = R("2001:db8::66", "sshd"), got;
        unsigned dropped = 9;
        char path[64];

        assert_non_null(mkdtemp(dir));
        assert_int_equal(spool_open(dir, true, &ro), -ENOENT);
        /* two connections, as the main thread and the reporter thread have */
        assert_int_equal(spool_open(dir, false, &w), 0);
        assert_int_equal(spool_open(dir, false, &t), 0);
        assert_int_equal(spool_insert(w, &a, &dropped), 0);
        assert_int_equal(dropped, 0);
        assert_int_equal(spool_insert(w, &b, NULL), 0);
        assert_true(b.id > a.id);
        assert_int_equal(spool_pending(t), 2);
        assert_int_equal(spool_next_time(t), 0);

        assert_int_equal(spool_next_due(t, 5, &got), 1);
        assert_int_equal(got.id, a.id);
        assert_true(addr_equal(&got.addr, &a.addr));
        assert_string_equal(got.comment, "sshd: 3 failures in 10m");
        assert_string_equal(got.categories, "18,21");
        assert_int_equal(got.timestamp, 1000);

        /* a retry later: b comes first now */
        assert_int_equal(spool_reschedule(t, a.id, 1, 500), 0);
        assert_int_equal(spool_next_due(t, 5, &got), 1);
        assert_int_equal(got.id, b.id);
        assert_int_equal(spool_finish(t, b.id, SPOOL_STAT_SENT, &b.addr, 77), 0);
        assert_false(spool_is_due(t, b.id, 1000));
        assert_false(spool_is_due(t, a.id, 499));
        assert_true(spool_is_due(t, a.id, 500));
        assert_int_equal(spool_last_reported(t, &b.addr), 77);
        assert_int_equal(spool_last_reported(t, &a.addr), 0);
        assert_int_equal(spool_next_due(t, 5, &got), 0);
        assert_int_equal(spool_next_time(t), 500);
        assert_int_equal(spool_next_due(t, 500, &got), 1);
        assert_int_equal(got.attempts, 1);
        assert_int_equal(spool_finish(t, a.id, SPOOL_STAT_FAILED, NULL, 0), 0);
        assert_int_equal(spool_next_time(t), USEC_INFINITY);
        assert_int_equal(spool_stat_get(t, SPOOL_STAT_SENT), 1);
        assert_int_equal(spool_stat_get(t, SPOOL_STAT_FAILED), 1);

        /* the read-only view of the CLI */
        assert_int_equal(spool_open(dir, true, &ro), 0);
        assert_int_equal(spool_pending(ro), 0);
        assert_int_equal(spool_stat_get(ro, SPOOL_STAT_SENT), 1);
        assert_int_equal(spool_stat_set(ro, SPOOL_STAT_SENT, 5), -EROFS);

        /* bounded: past SPOOL_MAX_PENDING the oldest go, and are counted */
        for (unsigned i = 0; i < SPOOL_MAX_PENDING + 3; i++) {
                Report r = R("198.51.100.7", "bulk");
                dropped = 0;
                assert_int_equal(spool_insert(w, &r, &dropped), 0);
                assert_int_equal(dropped, i >= SPOOL_MAX_PENDING ? 1 : 0);
        }
        assert_int_equal(spool_pending(ro), SPOOL_MAX_PENDING);
        assert_int_equal(spool_stat_get(ro, SPOOL_STAT_DROPPED), 3);

        spool_free(ro);
        spool_free(t);
        spool_free(w);
        for (const char *const *s = (const char *const[]) { "", "-wal", "-shm", NULL }; *s; s++) {
                snprintf(path, sizeof path, "%s/%s%s", dir, SPOOL_FILE, *s);
                (void) unlink(path);
        }
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_spool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
