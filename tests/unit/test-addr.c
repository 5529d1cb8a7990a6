/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

static void roundtrip(const char *in, const char *want) {
        char buf[ADDR_STRLEN];
        Addr a;

        assert_int_equal(addr_from_string(in, &a), 0);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), want);
}

static void test_parse(void **state) {
        Addr a;

        roundtrip("192.0.2.1", "192.0.2.1");
        roundtrip("2001:db8::1", "2001:db8::1");
        roundtrip("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
        /* an IPv4-mapped IPv6 address is the IPv4 address */
        roundtrip("::ffff:203.0.113.7", "203.0.113.7");
        assert_int_equal(addr_from_string("::ffff:203.0.113.7", &a), 0);
        assert_int_equal(a.family, AF_INET);

        assert_int_equal(addr_from_string("192.0.2", &a), -EINVAL);
        assert_int_equal(addr_from_string("192.0.2.256", &a), -EINVAL);
        assert_int_equal(addr_from_string("192.0.2.1 ", &a), -EINVAL);
        assert_int_equal(addr_from_string("example.com", &a), -EINVAL);
        assert_int_equal(addr_from_string("", &a), -EINVAL);
        assert_int_equal(addr_from_string("2001:db8::1%eth0", &a), -EINVAL);
        assert_int_equal(addr_from_string("[2001:db8::1]", &a), -EINVAL);
        assert_int_equal(addr_parse("192.0.2.1garbage", 9, &a), 0); /* exactly len bytes: "192.0.2.1" */
        roundtrip("0.0.0.0", "0.0.0.0");
}

static void test_parse_long(void **state) {
        char big[4096];
        Addr a;

        memset(big, '1', sizeof big - 1);
        big[sizeof big - 1] = 0;
        assert_int_equal(addr_from_string(big, &a), -EINVAL);
        assert_int_equal(addr_parse("192.0.2.1\0x", 11, &a), -EINVAL);
}

/* The parser is ours (not inet_pton()): what it accepts and refuses, exactly as glibc does. */
static void test_parse_strict(void **state) {
        static const char *const bad[] = {
                ":", ":::", "1:", ":1", "1:::2", "1::2::3", "::1::", "12345::", "1:2:3:4:5:6:7:8:9",
                "1:2:3:4:5:6:7", "1:2:3:4:5:6:7::8", "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::",
                "::ffff:1.2.3", "::ffff:1.2.3.4.5", "::ffff:1.2.3.256", "::ffff:01.2.3.4", "::ffff:1.2.3.4:1",
                "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4x", "::1a.2.3.4", "::1..2.3", "::.1.2.3", "::1.2.3.",
                "2001:db8::g", "2001:db8:: 1", " ::1", "2001:db8::1/64", "fe80::1%eth0", "::-1",
                "00000::", "1.2.3.04", "1.2.3.4.", ".1.2.3.4", "1.2.3.-4", "1,2.3.4", "0x1.2.3.4",
        };
        static const struct {
                const char *in, *out;
        } good[] = {
                { "::", "::" },
                { "::1", "::1" },
                { "1::", "1::" },
                { "2001:DB8::A", "2001:db8::a" },
                { "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
                { "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8" },
                { "1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8" },
                { "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
                { "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304" },
                { "::ffff:0.0.0.0", "0.0.0.0" },
                { "::1.2.3.4", "::1.2.3.4" }, /* inet_ntop writes the old IPv4-compatible form so */
                { "64:ff9b::198.51.100.1", "64:ff9b::c633:6401" },
                { "2001:db8:7f82:edb4::b9cc", "2001:db8:7f82:edb4::b9cc" },
        };
        char buf[ADDR_STRLEN];
        Addr a;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                if (addr_from_string(bad[i], &a) != -EINVAL)
                        fprintf(stderr, "accepted '%s'\n", bad[i]);
                assert_int_equal(addr_from_string(bad[i], &a), -EINVAL);
        }
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                assert_int_equal(addr_from_string(good[i].in, &a), 0);
                assert_string_equal(addr_to_string(&a, buf, sizeof buf), good[i].out);
        }
        /* exactly len bytes, no NUL needed after them */
        assert_int_equal(addr_parse("2001:db8::1 port 22", 11, &a), 0);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), "2001:db8::1");
        assert_int_equal(addr_parse("2001:db8::1:", 11, &a), 0);
        assert_int_equal(addr_parse("::ffff:192.0.2.1x", 16, &a), 0);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), "192.0.2.1");
}

/* Differential: our parser against glibc's inet_pton() on every short string over an alphabet
 * that reaches all its branches, and on random mutations of valid addresses (fixed seed). */
static bool agrees(const char *str, size_t len) {
        char z[64];
        uint8_t want[16];
        bool v6 = memchr(str, ':', len) != NULL;
        int ok;
        Addr a;

        memcpy(z, str, len);
        z[len] = 0;
        ok = inet_pton(v6 ? AF_INET6 : AF_INET, z, want) == 1;
        if (addr_parse(str, len, &a) != (ok ? 0 : -EINVAL))
                return false;
        if (!ok)
                return true;
        if (v6 && a.family == AF_INET) /* mapped: the last four bytes */
                return memcmp(a.bytes, want + 12, 4) == 0;
        return memcmp(a.bytes, want, v6 ? 16 : 4) == 0;
}

static void test_parse_vs_inet_pton(void **state) {
        static const char alpha[] = ":.1f09x";
        static const char *const seeds[] = { "2001:db8::1", "::ffff:192.0.2.1", "192.0.2.255", "1:2:3:4:5:6:7:8",
                                             "::", "2001:db8:0:0:1::", "fe80::1:2.3.4.5", "0.0.0.0" };
        char s[64];
        unsigned seed = 7;

        for (size_t len = 1; len <= 6; len++) {
                size_t total = 1, k = sizeof alpha - 1;

                for (size_t i = 0; i < len; i++)
                        total *= k;
                for (size_t n = 0; n < total; n++) {
                        size_t v = n;
                        for (size_t i = 0; i < len; i++, v /= k)
                                s[i] = alpha[v % k];
                        if (!agrees(s, len))
                                fail_msg("'%.*s': addr_parse disagrees with inet_pton", (int) len, s);
                }
        }
        for (int n = 0; n < 200000; n++) {
                const char *b = seeds[n % (sizeof seeds / sizeof *seeds)];
                size_t len = strlen(b);

                memcpy(s, b, len);
                for (int m = 1 + rand_r(&seed) % 3; m > 0; m--) {
                        size_t at = (size_t) rand_r(&seed) % (len + 1);
                        char c = "0123456789abcdefABCDEFg:.%"[rand_r(&seed) % 26];
                        switch (rand_r(&seed) % 3) {
                        case 0: /* replace */
                                if (at < len)
                                        s[at] = c;
                                break;
                        case 1: /* insert */
                                if (len < 45) {
                                        memmove(s + at + 1, s + at, len - at);
                                        s[at] = c;
                                        len++;
                                }
                                break;
                        default: /* delete */
                                if (at < len && len > 1) {
                                        memmove(s + at, s + at + 1, len - at - 1);
                                        len--;
                                }
                        }
                }
                if (!agrees(s, len))
                        fail_msg("'%.*s': addr_parse disagrees with inet_pton", (int) len, s);
        }
}

static void test_loopback(void **state) {
        Addr a;

        assert_int_equal(addr_from_string("127.0.0.1", &a), 0);
        assert_true(addr_is_loopback(&a));
        assert_int_equal(addr_from_string("127.255.1.2", &a), 0);
        assert_true(addr_is_loopback(&a));
        assert_int_equal(addr_from_string("::1", &a), 0);
        assert_true(addr_is_loopback(&a));
        assert_int_equal(addr_from_string("::ffff:127.0.0.1", &a), 0);
        assert_true(addr_is_loopback(&a));
        assert_int_equal(addr_from_string("192.0.2.1", &a), 0);
        assert_false(addr_is_loopback(&a));
        assert_int_equal(addr_from_string("2001:db8::1", &a), 0);
        assert_false(addr_is_loopback(&a));
}

static void test_prefix(void **state) {
        char buf[ADDR_PREFIX_STRLEN];
        AddrPrefix p;
        Addr a;

        assert_int_equal(addr_prefix_from_string("192.0.2.77/24", &p), 0);
        assert_string_equal(addr_prefix_to_string(&p, buf, sizeof buf), "192.0.2.0/24");
        assert_int_equal(addr_from_string("192.0.2.200", &a), 0);
        assert_true(addr_prefix_contains(&p, &a));
        assert_int_equal(addr_from_string("192.0.3.1", &a), 0);
        assert_false(addr_prefix_contains(&p, &a));
        assert_int_equal(addr_from_string("2001:db8::1", &a), 0);
        assert_false(addr_prefix_contains(&p, &a));

        assert_int_equal(addr_prefix_from_string("2001:db8:1::/48", &p), 0);
        assert_int_equal(addr_from_string("2001:db8:1:ffff::5", &a), 0);
        assert_true(addr_prefix_contains(&p, &a));
        assert_int_equal(addr_from_string("2001:db8:2::5", &a), 0);
        assert_false(addr_prefix_contains(&p, &a));

        assert_int_equal(addr_prefix_from_string("198.51.100.7", &p), 0);
        assert_int_equal(p.prefixlen, 32);
        assert_int_equal(addr_prefix_from_string("198.51.100.0/21", &p), 0);
        assert_string_equal(addr_prefix_to_string(&p, buf, sizeof buf), "198.51.96.0/21");
        assert_int_equal(addr_prefix_from_string("::ffff:192.0.2.0/120", &p), 0);
        assert_string_equal(addr_prefix_to_string(&p, buf, sizeof buf), "192.0.2.0/24");
        assert_int_equal(addr_prefix_from_string("0.0.0.0/0", &p), 0);
        assert_int_equal(addr_from_string("203.0.113.1", &a), 0);
        assert_true(addr_prefix_contains(&p, &a));

        assert_int_equal(addr_prefix_from_string("192.0.2.0/33", &p), -EINVAL);
        assert_int_equal(addr_prefix_from_string("192.0.2.0/", &p), -EINVAL);
        assert_int_equal(addr_prefix_from_string("192.0.2.0/-1", &p), -EINVAL);
        assert_int_equal(addr_prefix_from_string("192.0.2.0/24x", &p), -EINVAL);
        assert_int_equal(addr_prefix_from_string("2001:db8::/129", &p), -EINVAL);
        assert_int_equal(addr_prefix_from_string("host.example/24", &p), -EINVAL);
}

static void test_hash_equal(void **state) {
        Addr a, b;

        assert_int_equal(addr_from_string("192.0.2.1", &a), 0);
        assert_int_equal(addr_from_string("::ffff:192.0.2.1", &b), 0);
        assert_true(addr_equal(&a, &b));
        assert_true(addr_hash(&a, 42) == addr_hash(&b, 42));
        assert_int_equal(addr_from_string("192.0.2.2", &b), 0);
        assert_false(addr_equal(&a, &b));
        assert_false(addr_hash(&a, 42) == addr_hash(&b, 42));
}

static void test_sockaddr(void **state) {
        struct sockaddr_in in4 = { .sin_family = AF_INET };
        struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
        struct sockaddr un = { .sa_family = AF_UNIX };
        char buf[ADDR_STRLEN];
        Addr a;

        assert_int_equal(inet_pton(AF_INET, "192.0.2.9", &in4.sin_addr), 1);
        assert_int_equal(addr_from_sockaddr((struct sockaddr *) &in4, &a), 0);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), "192.0.2.9");
        assert_int_equal(inet_pton(AF_INET6, "2001:db8::9", &in6.sin6_addr), 1);
        assert_int_equal(addr_from_sockaddr((struct sockaddr *) &in6, &a), 0);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), "2001:db8::9");
        assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.9", &in6.sin6_addr), 1);
        assert_int_equal(addr_from_sockaddr((struct sockaddr *) &in6, &a), 0);
        assert_int_equal(a.family, AF_INET);
        assert_string_equal(addr_to_string(&a, buf, sizeof buf), "198.51.100.9");
        assert_int_equal(addr_from_sockaddr(&un, &a), -EAFNOSUPPORT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse),      cmocka_unit_test(test_parse_long),
                cmocka_unit_test(test_parse_strict), cmocka_unit_test(test_parse_vs_inet_pton),
                cmocka_unit_test(test_loopback),   cmocka_unit_test(test_prefix),
                cmocka_unit_test(test_hash_equal), cmocka_unit_test(test_sockaddr),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
