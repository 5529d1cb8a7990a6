/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Addresses and prefixes as text (what <HOST> captures, ignoreip, the control protocol's
 * "addr"): what parses prints and parses back to the same value. */
#include <stdint.h>

#include "addr.h"
#include "fuzz-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_strndup(data, size);
        char buf[ADDR_PREFIX_STRLEN];
        Addr a, b;
        AddrPrefix p, q;

        if (addr_parse(s, size, &a) == 0) {
                if (addr_parse(addr_to_string(&a, buf, sizeof buf), strlen(buf), &b) < 0 || !addr_equal(&a, &b))
                        abort();
                (void) addr_hash(&a, 1);
                (void) addr_is_loopback(&a);
        }
        if (addr_from_string(s, &a) == 0 &&
            (addr_from_string(addr_to_string(&a, buf, sizeof buf), &b) < 0 || !addr_equal(&a, &b)))
                abort();
        if (addr_prefix_from_string(s, &p) == 0) {
                if (addr_prefix_from_string(addr_prefix_to_string(&p, buf, sizeof buf), &q) < 0 ||
                    !addr_equal(&p.addr, &q.addr) || p.prefixlen != q.prefixlen || !addr_prefix_contains(&p, &p.addr))
                        abort();
                a = p.addr;
                addr_mask(&a, p.prefixlen);
                if (!addr_prefix_contains(&p, &a))
                        abort();
        }
        return 0;
}
