/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "increment.h"

static double eval(const char *f, double t, double c, double k) {
        double v = -1;

        assert_int_equal(increment_formula_eval(f, t, c, k, &v, NULL, NULL), 0);
        return v;
}

static void test_default_formula(void **state) {
        /* fail2ban's default: ban.Time * 2^min(count, 20) * factor */
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 10, 0, 1) == 10);
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 10, 1, 1) == 20);
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 10, 2, 1) == 40);
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 600, 3, 2) == 9600);
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 1, 20, 1) == 1048576);
        assert_true(eval(INCREMENT_DEFAULT_FORMULA, 1, 25, 1) == 1048576); /* capped at 2^20 */
        /* whitespace does not matter */
        assert_true(eval("ban.Time*(1<<(ban.Count if ban.Count<20 else 20))*banFactor", 10, 3, 1) == 80);
}

static void test_other_formulas(void **state) {
        /* the alternative that fail2ban's jail.conf shows */
        double v = eval("ban.Time * math.exp(float(ban.Count+1)*banFactor)/math.exp(1*banFactor)", 600, 1, 1);
        assert_true(v > 1630.9 && v < 1631.0); /* 600 * e */
        assert_true(eval("ban.Time + ban.Count * 3600", 600, 2, 1) == 7800);
        assert_true(eval("min(ban.Time * 2 ** ban.Count, 86400)", 600, 10, 1) == 86400);
        assert_true(eval("-2 ** 2", 0, 0, 1) == -4);
        assert_true(eval("7 // 2 + 7 % 4 + 1 / 4", 0, 0, 1) == 6.25);
        assert_true(eval("1 if ban.Count >= 2 and not ban.Count == 3 else 0", 0, 2, 1) == 1);
        assert_true(eval("1 if ban.Count >= 2 and not ban.Count == 3 else 0", 0, 3, 1) == 0);
        assert_true(eval("(((ban.Time)))", 5, 0, 1) == 5);
        assert_true(eval("max(1, 2) >> 1 << 3", 0, 0, 1) == 8);
}

static void test_bad_formulas(void **state) {
        const char *msg = NULL;
        size_t off = 99;
        double v;

        assert_int_equal(increment_formula_eval("__import__('os').system('id')", 1, 1, 1, &v, &off, &msg), -EINVAL);
        assert_int_equal(off, 0);
        assert_non_null(msg);
        assert_int_equal(increment_formula_eval("ban.Time * ", 1, 1, 1, &v, &off, &msg), -EINVAL);
        assert_int_equal(increment_formula_eval("ban.Time ban.Count", 1, 1, 1, &v, &off, &msg), -EINVAL);
        assert_int_equal(off, 9);
        assert_string_equal(msg, "unexpected text");
        assert_int_equal(increment_formula_eval("ban.Tim", 1, 1, 1, &v, &off, &msg), -EINVAL);
        assert_int_equal(increment_formula_eval("open('/etc/passwd')", 1, 1, 1, &v, &off, &msg), -EINVAL);
        assert_int_equal(increment_formula_eval("ban.Time / (ban.Count - 1)", 1, 1, 1, &v, &off, &msg), -EDOM);
        assert_int_equal(increment_formula_eval("1 << 99", 1, 1, 1, &v, &off, &msg), -EDOM);
        assert_int_equal(increment_formula_eval("10 ** 400", 1, 1, 1, &v, &off, &msg), -EDOM);
        assert_int_equal(increment_formula_eval("(((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))", 1, 1, 1,
                                                &v, &off, &msg),
                         -EINVAL);
        assert_int_equal(increment_formula_check("ban.Time / ban.Count", &off, &msg), -EDOM);
        assert_int_equal(increment_formula_check(INCREMENT_DEFAULT_FORMULA, &off, &msg), 0);
}

/* An operator with nothing before it is an error at offset 0, and telling "/" from "//" must not
 * read before the formula: the copies are exactly as long as the text, as the configuration's
 * values are, so that ASan sees a read out of them. */
static void test_leading_operator(void **state) {
        static const char *const formulas[] = { "/2", "//2", "%2", "*2", " /2", "/" };

        for (size_t i = 0; i < sizeof formulas / sizeof formulas[0]; i++) {
                char *f = strdup(formulas[i]);
                const char *msg = NULL;
                size_t off = 99;
                double v = -1;

                assert_non_null(f);
                assert_int_equal(increment_formula_eval(f, 600, 1, 1, &v, &off, &msg), -EINVAL);
                assert_string_equal(msg, "expected a number, a name or '('");
                assert_int_equal(off, strspn(f, " "));
                assert_int_equal(increment_formula_check(f, &off, &msg), -EINVAL);
                free(f);
        }
        assert_true(eval("7 // 2 / 2", 0, 0, 1) == 1.5);
        assert_true(eval("ban.Time*2//3%5", 10, 0, 1) == 1);
}

/* A computed ban time never passes what the kernel takes for an element timeout (18446744073709
 * ms is refused), rndtime included. */
static void test_bantime_kernel_limit(void **state) {
        BanIncrement inc = { .enabled = true, .factor = 1 };

        assert_int_equal(NFT_TIMEOUT_MSEC_LIMIT, 18446744073709ULL);
        assert_int_equal(NFTJAIL_BANTIME_MAX_SEC, 18446744073);
        assert_true(bantime_valid(NFTJAIL_BANTIME_MAX_SEC));
        assert_false(bantime_valid(NFTJAIL_BANTIME_MAX_SEC + 1));
        assert_false(bantime_valid(0));
        assert_true(bantime_valid(-1));
        assert_true(bantime_valid(1));
        /* the default formula: 2^20 * 1e8 s */
        assert_int_equal(increment_bantime(&inc, 100000000, 25, 0), 18446744073);
        inc.formula = (char *) "ban.Time * 1000000";
        assert_int_equal(increment_bantime(&inc, 18446744073, 1, 0), 18446744073);
        assert_int_equal(increment_bantime(&inc, 18446, 1, 0), 18446000000);
        inc.formula = NULL;
        inc.rndtime_sec = 18446744073;
        assert_int_equal(increment_bantime(&inc, 18446744073, 0, 0.99), 18446744073);
        inc.rndtime_sec = 0;
        inc.multipliers = (int64_t[]) { 1000000 };
        inc.n_multipliers = 1;
        assert_int_equal(increment_bantime(&inc, 1000000, 0, 0), 18446744073);
}

static void test_bantime(void **state) {
        BanIncrement inc = { .enabled = true, .factor = 1 };
        int64_t mult[] = { 1, 5, 30, 60 };

        /* bantime 10 s, factor 1: 10, 20, 40, 80 */
        assert_int_equal(increment_bantime(&inc, 10, 0, 0), 10);
        assert_int_equal(increment_bantime(&inc, 10, 1, 0), 20);
        assert_int_equal(increment_bantime(&inc, 10, 2, 0), 40);
        assert_int_equal(increment_bantime(&inc, 10, 3, 0), 80);
        /* permanent stays permanent; disabled changes nothing */
        assert_int_equal(increment_bantime(&inc, -1, 5, 0), -1);
        inc.enabled = false;
        assert_int_equal(increment_bantime(&inc, 10, 5, 0), 10);
        inc.enabled = true;
        /* factor */
        inc.factor = 3;
        assert_int_equal(increment_bantime(&inc, 10, 2, 0), 120);
        inc.factor = 1;
        /* maxtime caps, rndtime adds up to its value */
        inc.maxtime_sec = 50;
        assert_int_equal(increment_bantime(&inc, 10, 3, 0), 50);
        inc.rndtime_sec = 10;
        assert_int_equal(increment_bantime(&inc, 10, 3, 0.5), 55);
        inc.maxtime_sec = inc.rndtime_sec = 0;
        /* multipliers instead of the formula; the last repeats */
        inc.multipliers = mult;
        inc.n_multipliers = 4;
        assert_int_equal(increment_bantime(&inc, 60, 0, 0), 60);
        assert_int_equal(increment_bantime(&inc, 60, 1, 0), 300);
        assert_int_equal(increment_bantime(&inc, 60, 3, 0), 3600);
        assert_int_equal(increment_bantime(&inc, 60, 9, 0), 3600);
        inc.n_multipliers = 0;
        /* a formula below the bantime never shortens it */
        inc.formula = (char *) "ban.Time / 2";
        assert_int_equal(increment_bantime(&inc, 60, 4, 0), 60);
        /* huge counts do not overflow: they stop at the kernel's limit */
        inc.formula = NULL;
        assert_int_equal(increment_bantime(&inc, 1000000000, 30, 0), 18446744073LL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_default_formula),
                cmocka_unit_test(test_other_formulas),
                cmocka_unit_test(test_bad_formulas),
                cmocka_unit_test(test_leading_operator),
                cmocka_unit_test(test_bantime_kernel_limit),
                cmocka_unit_test(test_bantime),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
