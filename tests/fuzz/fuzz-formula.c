/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bantime.formula: the evaluator of a subset of Python expressions (increment.c). The input is
 * the formula as written in a jail; one that passes the load-time check is then used for the ban
 * times of counts 0 to 40, which must never be below the jail's bantime nor wrap. */
#include <stdint.h>

#include "fuzz-util.h"
#include "increment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *f = NULL;
        const char *msg = NULL;
        size_t off = 0;
        double v;

        if (size > 4 * INCREMENT_FORMULA_MAX)
                return -1;
        f = fuzz_strndup(data, size);

        if (increment_formula_eval(f, 600, 3, 1.5, &v, &off, &msg) < 0 && (!msg || off > strlen(f)))
                abort();
        if (increment_formula_check(f, &off, &msg) == 0) {
                BanIncrement inc = { .enabled = true, .factor = 1, .formula = f };

                for (unsigned c = 0; c <= 40; c++) {
                        int64_t t = increment_bantime(&inc, 600, c, 0.5);

                        if (t < 600)
                                abort();
                }
        }
        return 0;
}
