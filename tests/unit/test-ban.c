/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ban.h"

static Addr A(const char *s) {
        Addr a;
        assert_int_equal(addr_from_string(s, &a), 0);
        return a;
}

static void test_allowed(void **state) {
        AddrPrefix ign[2];
        JailConf j = { .name = (char *) "sshd", .ignoreip = ign, .n_ignoreip = 2, .ignoreself = true };
        Addr self = A("198.51.100.1"), a;

        assert_int_equal(addr_prefix_from_string("192.0.2.0/25", &ign[0]), 0);
        assert_int_equal(addr_prefix_from_string("2001:db8:1::/48", &ign[1]), 0);

        a = A("127.0.0.1");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_SKIP_LOOPBACK);
        a = A("::1");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_SKIP_LOOPBACK);
        a = A("192.0.2.100");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_SKIP_IGNOREIP);
        a = A("192.0.2.200");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_OK);
        a = A("2001:db8:1:2::3");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_SKIP_IGNOREIP);
        a = A("198.51.100.1");
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_SKIP_SELF);
        j.ignoreself = false;
        assert_int_equal(ban_allowed(&j, &a, &self, 1), BAN_OK);
        assert_string_equal(ban_skip_to_string(BAN_SKIP_IGNOREIP), "ignoreip");
}

static void test_elems(void **state) {
        uint16_t ports[] = { 443, 80, 8006 };
        JailConf j = { .name = (char *) "proxmox", .ports = ports, .n_ports = 3, .protocol = IPPROTO_TCP };
        NftElem e[BAN_ELEMS_MAX];
        Addr a = A("203.0.113.5");

        assert_int_equal(ban_elems(&j, &a, 3600000, e, BAN_ELEMS_MAX), 3);
        for (int i = 0; i < 3; i++) {
                assert_true(addr_equal(&e[i].addr, &a));
                assert_int_equal(e[i].port, ports[i]);
                assert_int_equal(e[i].proto, IPPROTO_TCP);
                assert_int_equal(e[i].timeout_ms, 3600000);
                assert_string_equal(e[i].comment, "proxmox");
        }
        {
                NftElem x = { .addr = a, .proto = IPPROTO_TCP, .port = 8006 };
                assert_true(ban_jail_owns_elem(&j, &x));
                x.port = 22;
                assert_false(ban_jail_owns_elem(&j, &x));
                x.port = 8006;
                x.proto = IPPROTO_UDP;
                assert_false(ban_jail_owns_elem(&j, &x));
                x.port = 0;
                assert_false(ban_jail_owns_elem(&j, &x));
        }
        j.allports = true;
        {
                NftElem x = { .addr = a };
                assert_true(ban_jail_owns_elem(&j, &x));
                x.port = 443;
                x.proto = IPPROTO_TCP;
                assert_false(ban_jail_owns_elem(&j, &x));
        }
        assert_int_equal(ban_elems(&j, &a, 0, e, BAN_ELEMS_MAX), 1);
        assert_int_equal(e[0].port, 0);
        assert_int_equal(e[0].timeout_ms, 0);
}

static NftElem E(const char *s, uint8_t proto, uint16_t port) {
        return (NftElem) { .addr = A(s), .proto = proto, .port = port };
}

static void test_map(void **state) {
        BanMap *m;
        NftElem a = E("192.0.2.1", IPPROTO_TCP, 22), b = E("2001:db8::2", 0, 0);
        NftElem a80 = E("192.0.2.1", IPPROTO_TCP, 80), a_udp = E("192.0.2.1", IPPROTO_UDP, 22);
        NftElem it_e;
        usec_t it_x;
        size_t it = 0, n = 0;

        assert_int_equal(ban_map_new(&m), 0);
        assert_int_equal(ban_map_get(m, &a, 10), 0);
        assert_int_equal(ban_map_set(m, &a, 100), 0);
        assert_int_equal(ban_map_set(m, &b, USEC_INFINITY), 0);
        assert_int_equal(ban_map_get(m, &a, 10), 100);
        /* the same address on another port or protocol is another element */
        assert_int_equal(ban_map_get(m, &a80, 10), 0);
        assert_int_equal(ban_map_get(m, &a_udp, 10), 0);
        assert_int_equal(ban_map_get(m, &a, 100), 0); /* expired */
        assert_true(ban_map_get(m, &b, 1000000) == USEC_INFINITY);
        /* an all-ports element has no protocol: whatever proto says, it is the same element */
        b.proto = IPPROTO_TCP;
        assert_true(ban_map_get(m, &b, 1000000) == USEC_INFINITY);
        assert_int_equal(ban_map_count(m, 50), 2);
        assert_int_equal(ban_map_count(m, 150), 1);
        while (ban_map_next(m, &it, &it_e, &it_x)) {
                if (it_e.port == 22)
                        assert_int_equal(it_e.proto, IPPROTO_TCP);
                n++;
        }
        assert_int_equal(n, 2);
        assert_int_equal(ban_map_gc(m, 150), 1);
        ban_map_remove(m, &b);
        assert_int_equal(ban_map_count(m, 0), 0);
        for (uint32_t i = 0; i < 10000; i++) {
                NftElem x = { .addr = { .family = AF_INET }, .proto = IPPROTO_TCP, .port = (uint16_t) (i % 3 + 1) };
                memcpy(x.addr.bytes, &i, 4);
                assert_int_equal(ban_map_set(m, &x, 1000 + i), 0);
        }
        assert_int_equal(ban_map_count(m, 0), 10000);
        assert_int_equal(ban_map_gc(m, 1000 + 5000), 5001);
        assert_int_equal(ban_map_count(m, 0), 4999);
        ban_map_free(m);
}

/* past the kernel's limit, the arithmetic saturates at the longest ban; it never wraps */
static void test_time_saturates(void **state) {
        const int64_t max = 18446744073; /* NFTJAIL_BANTIME_MAX_SEC */

        assert_int_equal(ban_timeout_ms(600), 600000);
        assert_int_equal(ban_timeout_ms(-1), 0);
        assert_int_equal(ban_timeout_ms(max), 18446744073000ULL);
        assert_int_equal(ban_timeout_ms(18446744073709552), 18446744073000ULL); /* wrapped to 384 ms before */
        assert_int_equal(ban_timeout_ms(INT64_MAX), 18446744073000ULL);
        assert_int_equal(ban_time_clamp(INT64_MAX), max);
        assert_int_equal(ban_time_clamp(-1), -1);
        assert_int_equal(ban_time_clamp(600), 600);

        assert_int_equal(ban_expiry(1000, 600), 1000 + 600 * USEC_PER_SEC);
        assert_true(ban_expiry(1000, -1) == USEC_INFINITY);
        assert_int_equal(ban_expiry(1000, INT64_MAX), 1000 + (usec_t) max * USEC_PER_SEC);
        assert_true(ban_expiry(USEC_INFINITY - 5, 600) == USEC_INFINITY - 1); /* finite, and not permanent */

        assert_int_equal(ban_end_sec(1700000000, 600), 1700000600);
        assert_true(ban_end_sec(1700000000, -1) == INT64_MAX);
        assert_int_equal(ban_end_sec(1700000000, INT64_MAX), 1700000000 + max);
        assert_true(ban_end_sec(INT64_MAX - 10, 600) == INT64_MAX - 1);
}

static void test_ipv6_prefix(void **state) {
        uint16_t ports[] = { 22 };
        JailConf j64 = { .name = (char *) "sshd", .ports = ports, .n_ports = 1, .protocol = IPPROTO_TCP, .ipv6_prefix = 64 };
        JailConf j128 = { .name = (char *) "web", .ports = ports, .n_ports = 1, .protocol = IPPROTO_TCP, .ipv6_prefix = 128 };
        JailConf j48 = { .name = (char *) "wide", .ports = ports, .n_ports = 1, .protocol = IPPROTO_TCP, .ipv6_prefix = 48 };
        Addr a = A("2001:db8:1:2:3:4:5:6"), b = A("2001:db8:1:2::99"), c = A("2001:db8:1:3::1"), v4 = A("192.0.2.9");
        NftElem e[2], f;
        BanMap *m;

        /* the attacker's /64, keyed by its first address; IPv4 untouched */
        assert_int_equal(ban_elems(&j64, &a, 1000, e, 2), 1);
        assert_int_equal(e[0].prefixlen, 64);
        f.addr = A("2001:db8:1:2::");
        assert_true(addr_equal(&e[0].addr, &f.addr));
        assert_true(ban_elem_contains(&e[0], &b));
        assert_false(ban_elem_contains(&e[0], &c));
        assert_int_equal(ban_elems(&j64, &v4, 1000, &f, 1), 1);
        assert_true(addr_equal(&f.addr, &v4));

        assert_int_equal(ban_map_new(&m), 0);
        assert_int_equal(ban_map_set(m, &e[0], 100), 0);
        /* another address of the same /64 is the same element */
        assert_int_equal(ban_elems(&j64, &b, 1000, &f, 1), 1);
        assert_int_equal(ban_map_get(m, &f, 10), 100);
        assert_false(ban_map_v6_conflict(m, &f, 10));
        /* a single address inside the live /64: covered */
        assert_int_equal(ban_elems(&j128, &b, 1000, &f, 1), 1);
        assert_int_equal(f.prefixlen, 128);
        assert_true(ban_map_v6_conflict(m, &f, 10));
        assert_false(ban_map_v6_conflict(m, &f, 100)); /* expired: no conflict */
        /* a /48 covering the live /64 */
        assert_int_equal(ban_elems(&j48, &c, 1000, &f, 1), 1);
        assert_true(ban_map_v6_conflict(m, &f, 10));
        /* another /64: none */
        assert_int_equal(ban_elems(&j64, &c, 1000, &f, 1), 1);
        assert_false(ban_map_v6_conflict(m, &f, 10));
        /* iteration returns the prefix, removal updates the counts */
        {
                size_t it = 0;
                usec_t x;
                assert_true(ban_map_next(m, &it, &f, &x));
                assert_int_equal(f.prefixlen, 64);
        }
        ban_map_remove(m, &e[0]);
        assert_int_equal(ban_elems(&j128, &b, 1000, &f, 1), 1);
        /* a /64 that would take in an ignoreip address shrinks to the one address */
        {
                AddrPrefix ign;
                JailConf ji = j64;
                assert_int_equal(addr_prefix_from_string("2001:db8:1:2::1", &ign), 0);
                ji.ignoreip = &ign;
                ji.n_ignoreip = 1;
                assert_int_equal(ban_elems(&ji, &a, 1000, e, 1), 1);
                assert_int_equal(e[0].prefixlen, 128);
                assert_true(addr_equal(&e[0].addr, &a));
        }
        /* and so does one that would take in an address of this host, with ignoreself */
        {
                Addr self[2] = { A("192.0.2.1"), A("2001:db8:1:2::1") };
                JailConf js = j64;
                assert_int_equal(ban_elems_self(&js, &a, self, 2, 1000, e, 1), 1);
                assert_int_equal(e[0].prefixlen, 64);
                js.ignoreself = true;
                assert_int_equal(ban_elems_self(&js, &a, self, 2, 1000, e, 1), 1);
                assert_int_equal(e[0].prefixlen, 128);
                assert_int_equal(ban_elems_self(&js, &c, self, 2, 1000, e, 1), 1);
                assert_int_equal(e[0].prefixlen, 64);
        }
        assert_false(ban_map_v6_conflict(m, &f, 10));
        ban_map_free(m);
}

/* The map against a plain array of expiries while it grows through several doublings (so that
 * lookups, sets, removals and gc runs meet a table that is still draining into the next): sets
 * (new, longer, shorter, already expired), removals, gc runs and counts at times moving on, and
 * now and then back. ban_map_get(), the size, a walk (each element once) and ban_map_count() agree
 * with the array at every check. */
#define MODEL_KEYS 3000
static void test_map_model(void **state) {
        static usec_t want[MODEL_KEYS]; /* 0: absent */
        BanMap *m;
        uint64_t x = 2463534242ULL;
        usec_t now = 1000;

        memset(want, 0, sizeof want);
        assert_int_equal(ban_map_new(&m), 0);
        for (int step = 0; step < 80000; step++) {
                NftElem e = { .addr = { .family = AF_INET }, .proto = IPPROTO_TCP };
                uint32_t k, r;

                x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                k = (uint32_t) (x % MODEL_KEYS);
                r = (uint32_t) (x >> 32) % 100;
                e.addr.bytes[0] = 192, e.addr.bytes[1] = 0, e.addr.bytes[2] = 2;
                e.addr.bytes[3] = (uint8_t) k;
                e.port = (uint16_t) (k / 256 + 1);
                if (r < 50) {
                        usec_t t = r < 2 ? USEC_INFINITY : now + (x >> 40) % 5000 - 500;
                        assert_int_equal(ban_map_set(m, &e, t), 0);
                        want[k] = t;
                } else if (r < 62) {
                        ban_map_remove(m, &e);
                        want[k] = 0;
                } else if (r == 62) {
                        size_t gone = 0;
                        for (size_t i = 0; i < MODEL_KEYS; i++)
                                if (want[i] && want[i] <= now)
                                        want[i] = 0, gone++;
                        assert_int_equal(ban_map_gc(m, now), gone);
                } else if (r < 92)
                        now += (x >> 20) % 40;
                else if (r == 92 && now > 2000)
                        now -= 1000; /* a count asked for an earlier time */
                else {
                        size_t it = 0, n = 0, live = 0, present = 0;
                        NftElem y;
                        usec_t t;

                        while (ban_map_next(m, &it, &y, &t)) {
                                size_t i = (size_t) (y.port - 1) * 256 + y.addr.bytes[3];
                                assert_true(i < MODEL_KEYS && want[i] == t);
                                n++;
                        }
                        for (size_t i = 0; i < MODEL_KEYS; i++) {
                                present += want[i] != 0;
                                live += want[i] > now;
                        }
                        assert_int_equal(n, present);
                        assert_int_equal(ban_map_size(m), present);
                        assert_int_equal(ban_map_count(m, now), live);
                        assert_int_equal(ban_map_get(m, &e, now), want[k] > now ? want[k] : 0);
                }
        }
        ban_map_free(m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_allowed),
                cmocka_unit_test(test_elems),
                cmocka_unit_test(test_map),
                cmocka_unit_test(test_ipv6_prefix),
                cmocka_unit_test(test_time_saturates),
                cmocka_unit_test(test_map_model),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
