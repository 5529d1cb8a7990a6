/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet's wire format and the receiver's policy (src/fleet/fleet-msg.c), and its outbox. */
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleet-msg.h"
#include "fleet-outbox.h"

static FleetMsg sample(void) {
        FleetMsg m = { .prefixlen = 32, .proto = IPPROTO_TCP, .ports = { 22, 2222 }, .n_ports = 2, .created = 1700000000,
                       .expires = 1700003600, .failures = 5, .seq = 7 };

        assert_int_equal(addr_from_string("203.0.113.10", &m.addr), 0);
        strcpy(m.jail, "sshd");
        strcpy(m.origin, "node-a");
        return m;
}

static FleetRefusal parse(const char *subject, const char *json, FleetMsg *m) {
        char origin[FLEET_NAME_MAX + 1];

        return fleet_msg_parse(subject, json, strlen(json), m, origin);
}

static void test_subject(void **state) {
        FleetMsg m = sample();
        char s[FLEET_SUBJECT_MAX];

        assert_int_equal(fleet_subject(&m, s, sizeof s), 0);
        assert_string_equal(s, "nftjail.ban.node-a.sshd.203-0-113-10_32");
        strcpy(m.jail, "my jail.*>");
        assert_int_equal(addr_from_string("2001:db8:1::", &m.addr), 0);
        m.prefixlen = 64;
        assert_int_equal(fleet_subject(&m, s, sizeof s), 0);
        assert_string_equal(s, "nftjail.ban.node-a.my%20jail%2E%2A%3E.2001-db8-1--_64");
        assert_int_equal(fleet_subject(&m, s, 20), -ENAMETOOLONG);
}

static void test_roundtrip(void **state) {
        FleetMsg m = sample(), back;
        char s[FLEET_SUBJECT_MAX], *json = NULL;

        assert_int_equal(fleet_msg_format(&m, &json), 0);
        assert_string_equal(json, "{\"addr\":\"203.0.113.10\",\"created\":1700000000,\"expires\":1700003600,\"failures\":5,"
                                  "\"jail\":\"sshd\",\"op\":\"ban\",\"origin\":\"node-a\",\"ports\":[22,2222],\"prefixlen\":32,"
                                  "\"proto\":\"tcp\",\"seq\":7,\"v\":1}");
        assert_int_equal(fleet_subject(&m, s, sizeof s), 0);
        assert_int_equal(parse(s, json, &back), FLEET_OK);
        assert_memory_equal(&back, &m, sizeof m);
        free(json);

        m.n_ports = 0;
        m.unban = true;
        m.expires = 0;
        assert_int_equal(fleet_msg_format(&m, &json), 0);
        assert_non_null(strstr(json, "\"ports\":\"all\""));
        assert_non_null(strstr(json, "\"op\":\"unban\""));
        assert_int_equal(parse(s, json, &back), FLEET_OK);
        assert_true(back.unban);
        assert_int_equal(back.n_ports, 0);
        free(json);
}

static void test_hostile(void **state) {
        static const char subj[] = "nftjail.ban.node-a.sshd.203-0-113-10_32";
        static const struct {
                const char *json;
                FleetRefusal want;
        } t[] = {
                { "", FLEET_REFUSE_MALFORMED },
                { "[]", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1}", FLEET_REFUSE_MALFORMED },
                /* the good one, then each field broken */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_OK },
                { "{\"v\":2,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"addr\":\"203.0.113.11\",\"prefixlen\":32,\"jail\":\"sshd\","
                  "\"proto\":\"tcp\",\"ports\":[22],\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}",
                  FLEET_REFUSE_MALFORMED }, /* duplicate key */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":\"32\",\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":24,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED }, /* host bits */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"ss\\u0000hd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED }, /* NUL */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[0],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"icmp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":5,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED }, /* ends before it starts */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"example.org\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node.a\",\"seq\":1}", FLEET_REFUSE_MALFORMED },
                /* well formed, but not the subject's: another origin, address or jail */
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-c\",\"seq\":1}", FLEET_REFUSE_SUBJECT },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.11\",\"prefixlen\":32,\"jail\":\"sshd\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_SUBJECT },
                { "{\"v\":1,\"op\":\"ban\",\"addr\":\"203.0.113.10\",\"prefixlen\":32,\"jail\":\"web\",\"proto\":\"tcp\",\"ports\":[22],"
                  "\"created\":1,\"expires\":2,\"failures\":1,\"origin\":\"node-a\",\"seq\":1}", FLEET_REFUSE_SUBJECT },
        };
        char origin[FLEET_NAME_MAX + 1], big[FLEET_MSG_MAX + 2];
        FleetMsg m;

        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                FleetRefusal r = parse(subj, t[i].json, &m);
                if (r != t[i].want)
                        fail_msg("case %zu: %d, want %d", i, r, t[i].want);
        }
        memset(big, ' ', sizeof big);
        assert_int_equal(fleet_msg_parse(subj, big, sizeof big, &m, origin), FLEET_REFUSE_MALFORMED);
        assert_string_equal(origin, "node-a");
        assert_int_equal(fleet_msg_parse("other.subject", "{}", 2, &m, origin), FLEET_REFUSE_MALFORMED);
        assert_string_equal(origin, "");
}

static void test_policy(void **state) {
        FleetConf f = { .max_prefix4 = 24, .max_prefix6 = 48, .max_bantime_sec = 86400 };
        AddrPrefix ign[2];
        FleetMsg m;

        assert_int_equal(addr_prefix_from_string("198.51.100.0/24", &ign[0]), 0);
        assert_int_equal(addr_prefix_from_string("203.0.113.7", &ign[1]), 0);
        f.ignoreip = ign;
        f.n_ignoreip = 2;

        m = sample();
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_OK);
        assert_int_equal(m.expires, 1700003600);
        assert_int_equal(fleet_policy_check(&f, &m, 1700003600), FLEET_REFUSE_EXPIRED);
        m = sample();
        m.expires = 0; /* permanent: clamped */
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_OK);
        assert_int_equal(m.expires, 1700000000 + 86400);
        m = sample();
        m.prefixlen = 8;
        addr_mask(&m.addr, 8);
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_REFUSE_PREFIX);
        m.prefixlen = 24; /* 203.0.113.0/24 takes in 203.0.113.7 */
        assert_int_equal(addr_from_string("203.0.113.0", &m.addr), 0);
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_REFUSE_IGNOREIP);
        m = sample();
        assert_int_equal(addr_from_string("198.51.100.9", &m.addr), 0);
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_REFUSE_IGNOREIP);
        assert_int_equal(addr_from_string("127.0.0.1", &m.addr), 0);
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_REFUSE_IGNOREIP);
        m = sample();
        assert_int_equal(addr_from_string("2001:db8::", &m.addr), 0);
        m.prefixlen = 32;
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_REFUSE_PREFIX);
        m.prefixlen = 64;
        assert_int_equal(fleet_policy_check(&f, &m, 1700000000), FLEET_OK);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static void test_outbox(void **state) {
        char dir[] = "/tmp/test-fleet-XXXXXX";
        FleetOutbox *o = NULL;
        FleetMsg a = sample(), b = sample(), got = { .origin = "me" };
        uint64_t seq;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(fleet_outbox_open(dir, &o), 0);
        assert_int_equal(fleet_outbox_next(o, 0, &got), 0);
        assert_int_equal(fleet_outbox_add(o, &a, NULL), 0);
        b.n_ports = 0;
        b.unban = true;
        assert_int_equal(fleet_outbox_add(o, &b, NULL), 0);
        assert_true(b.seq > a.seq);
        assert_int_equal(fleet_outbox_pending(o), 2);
        assert_int_equal(fleet_outbox_next(o, 0, &got), 1);
        assert_string_equal(got.origin, "me");
        strcpy(got.origin, a.origin);
        assert_memory_equal(&got, &a, sizeof a);
        assert_int_equal(fleet_outbox_next(o, a.seq, &got), 1);
        assert_true(got.unban);
        assert_int_equal(got.seq, b.seq);
        assert_int_equal(fleet_outbox_done(o, a.seq), 0);
        assert_int_equal(fleet_outbox_pending(o), 1);
        assert_int_equal(fleet_state_get_seq(o, &seq), 0);
        assert_int_equal(seq, 0);
        assert_int_equal(fleet_state_set_seq(o, 42), 0);
        fleet_outbox_free(o);
        /* durable: a new connection sees the rest, and the seq goes on growing */
        assert_int_equal(fleet_outbox_open(dir, &o), 0);
        assert_int_equal(fleet_state_get_seq(o, &seq), 0);
        assert_int_equal(seq, 42);
        assert_int_equal(fleet_outbox_pending(o), 1);
        assert_int_equal(fleet_outbox_done(o, b.seq), 0);
        a = sample();
        assert_int_equal(fleet_outbox_add(o, &a, NULL), 0);
        assert_true(a.seq > b.seq);
        assert_int_equal(fleet_remote_record(o, &a, 1700000000), 0);
        fleet_outbox_free(o);
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subject), cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_hostile),
                cmocka_unit_test(test_policy), cmocka_unit_test(test_outbox),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
