/* SPDX-License-Identifier: GPL-2.0-or-later */
/* [fleet] of nftjail.conf: defaults, every option, every refusal with its file and line. */
#include "conf-fixture.h"
#include "util/string-util.h"

static void minimal(const char *nftjail_conf) {
        write_file("nftjail.conf", nftjail_conf);
        write_file("filter.d/f1.conf", "[Definition]\nfailregex = ^fail from <HOST>$\n");
        write_file("jail.conf", "[sshd]\nenabled = true\nfilter = f1\nlogpath = /dev/null\n"
                                "[web]\nenabled = true\nfilter = f1\nlogpath = /dev/null\n");
}

static void test_fleet_defaults(void **state) {
        ConfDiags d = {};
        Config *c;

        minimal("[Definition]\n");
        c = load_ok(&d);
        assert_false(c->fleet.enabled);
        assert_true(c->fleet.accept);
        assert_int_equal(c->fleet.max_prefix4, 24);
        assert_int_equal(c->fleet.max_prefix6, 48);
        assert_int_equal(c->fleet.max_bantime_sec, 7 * 86400);
        assert_int_equal(c->fleet.rate, 6000);
        assert_int_equal(c->fleet.rate_period_sec, 60);
        assert_int_equal(c->fleet.stream_replicas, 1);
        assert_null(c->fleet.share);
        assert_true(fleet_shares_jail(&c->fleet, "sshd"));
        config_free(c);
        conf_diags_done(&d);
}

static void test_fleet_full(void **state) {
        char ab[ADDR_PREFIX_STRLEN], *buf = NULL;
        ConfDiags d = {};
        size_t len = 0;
        Config *c;
        FILE *f;

        minimal("[fleet]\n"
                "enabled = yes\n"
                "url = nats://192.0.2.1:4222, tls://nats.example.org:4443,nats://[2001:db8::1]\n"
                "name = bastion-2\n"
                "user = nftjail\n"
                "password_file = /etc/nftjail/nats-password\n"
                "tls_ca = /etc/ssl/ca.pem\n"
                "share = sshd\n"
                "accept = no\n"
                "fleet_ignoreip = 198.51.100.0/24 2001:db8:1::/48\n"
                "fleet_max_prefix = 16 32\n"
                "fleet_max_bantime = 1d\n"
                "fleet_rate = 50\n"
                "fleet_rate_period = 10m\n"
                "stream_replicas = 3\n");
        c = load_ok(&d);
        assert_int_equal(d.n, 0);
        assert_true(c->fleet.enabled);
        assert_int_equal(strv_length(c->fleet.urls), 3);
        assert_string_equal(c->fleet.urls[1], "tls://nats.example.org:4443");
        assert_string_equal(c->fleet.name, "bastion-2");
        assert_string_equal(c->fleet.user, "nftjail");
        assert_string_equal(c->fleet.password_file, "/etc/nftjail/nats-password");
        assert_string_equal(c->fleet.tls_ca, "/etc/ssl/ca.pem");
        assert_true(fleet_shares_jail(&c->fleet, "sshd"));
        assert_false(fleet_shares_jail(&c->fleet, "web"));
        assert_false(c->fleet.accept);
        /* the literal server addresses are protected too */
        assert_int_equal(c->fleet.n_ignoreip, 4);
        assert_string_equal(addr_prefix_to_string(&c->fleet.ignoreip[0], ab, sizeof ab), "192.0.2.1/32");
        assert_string_equal(addr_prefix_to_string(&c->fleet.ignoreip[1], ab, sizeof ab), "2001:db8::1/128");
        assert_string_equal(addr_prefix_to_string(&c->fleet.ignoreip[2], ab, sizeof ab), "198.51.100.0/24");
        assert_string_equal(addr_prefix_to_string(&c->fleet.ignoreip[3], ab, sizeof ab), "2001:db8:1::/48");
        assert_int_equal(c->fleet.max_prefix4, 16);
        assert_int_equal(c->fleet.max_prefix6, 32);
        assert_int_equal(c->fleet.max_bantime_sec, 86400);
        assert_int_equal(c->fleet.rate, 50);
        assert_int_equal(c->fleet.rate_period_sec, 600);
        assert_int_equal(c->fleet.stream_replicas, 3);

        f = open_memstream(&buf, &len);
        assert_non_null(f);
        config_dump(c, f);
        fclose(f);
        assert_non_null(strstr(buf, "fleet: enabled, name bastion-2, url nats://192.0.2.1:4222,tls://nats.example.org:4443,nats://[2001:db8::1]\n"));
        assert_non_null(strstr(buf, "  fleet share: sshd\n"));
        assert_non_null(strstr(buf, "  fleet accept: no, max_prefix /16 /32, max_bantime 1d, rate 50 per 600s\n"));
        assert_non_null(strstr(buf, "  fleet stream_replicas: 3 (when the daemon creates the stream)\n"));
        assert_non_null(strstr(buf, "  fleet_ignoreip: 192.0.2.1/32 2001:db8::1/128 198.51.100.0/24 2001:db8:1::/48\n"));
        free(buf);
        config_free(c);
        conf_diags_done(&d);
}

/* nftjail.local overrides nftjail.conf; share = (empty) shares nothing; an unknown jail is a warning. */
static void test_fleet_local(void **state) {
        ConfDiags d = {};
        Config *c;

        minimal("[fleet]\nenabled = true\nurl = nats://127.0.0.1\nname = a\nshare = sshd nosuch\n");
        c = load_ok(&d);
        assert_diag(&d, "[fleet] 'share': no enabled jail 'nosuch', ignoring", "nftjail.conf", 5, false);
        config_free(c);
        conf_diags_done(&d);

        write_file("nftjail.local", "[fleet]\nname = node_b\nshare =\n");
        c = load_ok(&d);
        assert_int_equal(d.n, 0);
        assert_string_equal(c->fleet.name, "node_b");
        assert_false(fleet_shares_jail(&c->fleet, "sshd"));
        config_free(c);
        conf_diags_done(&d);
}

static void test_fleet_errors(void **state) {
        ConfDiags d = {};
        char name65[66];

        memset(name65, 'a', 65);
        name65[65] = 0;
        minimal("[fleet]\n"                                     /* 1 */
                "enabled = maybe\n"                             /* 2 */
                "url = http://192.0.2.1, nats://u:p@host\n"     /* 3 */
                "name = a.b\n"                                  /* 4 */
                "user = has blank\n"                            /* 5 */
                "password_file = relative\n"                    /* 6 */
                "fleet_ignoreip = 192.0.2.0/33\n"               /* 7 */
                "fleet_max_prefix = 4\n"                        /* 8 */
                "fleet_max_bantime = -1\n"                      /* 9 */
                "fleet_rate = x\n"                              /* 10 */
                "password = secret\n"                           /* 11 */
                "colour = blue\n"                               /* 12 */
                "stream_replicas = 6\n");                       /* 13 */
        load_fail(&d);
        assert_diag(&d, "[fleet] 'enabled': 'maybe' is not a boolean", "nftjail.conf", 2, true);
        assert_diag(&d, "[fleet] 'url': 'http://192.0.2.1' is not nats://HOST[:PORT] or tls://HOST[:PORT]", "nftjail.conf", 3, true);
        assert_diag(&d, "[fleet] 'name': 'a.b' is not 1 to 64 of A-Z a-z 0-9 _ -", "nftjail.conf", 4, true);
        assert_diag(&d, "[fleet] 'user': 'has blank' is not printable ASCII", "nftjail.conf", 5, true);
        assert_diag(&d, "[fleet] 'password_file': 'relative' is not an absolute path", "nftjail.conf", 6, true);
        assert_diag(&d, "[fleet] 'fleet_ignoreip': '192.0.2.0/33' is not an address", "nftjail.conf", 7, true);
        assert_diag(&d, "[fleet] 'fleet_max_prefix': '4' is not an IPv4 prefix length in 8..32", "nftjail.conf", 8, true);
        assert_diag(&d, "[fleet] 'fleet_max_bantime': '-1' is not a positive time span", "nftjail.conf", 9, true);
        assert_diag(&d, "[fleet] 'fleet_rate': 'x' is not a number", "nftjail.conf", 10, true);
        assert_diag(&d, "[fleet] 'password': put the password in a file", "nftjail.conf", 11, true);
        assert_diag(&d, "[fleet] unknown option 'colour', ignoring", "nftjail.conf", 12, false);
        assert_diag(&d, "[fleet] 'stream_replicas': '6' is not a number in 1..5", "nftjail.conf", 13, true);
        conf_diags_done(&d);
        for (const char *const *v = (const char *const[]) { "0", "-1", "3x", "", NULL }; *v; v++) {
                char conf[128];

                snprintf(conf, sizeof conf, "[fleet]\n\nstream_replicas = %s\n", *v);
                minimal(conf);
                load_fail(&d);
                assert_diag(&d, "[fleet] 'stream_replicas': '", "nftjail.conf", 3, true);
                conf_diags_done(&d);
        }

        /* the URL with credentials is refused too (the first bad token stops the list) */
        minimal("[fleet]\nurl = nats://u:p@host\n");
        load_fail(&d);
        assert_diag(&d, "'url': 'nats://u:p@host' is not", "nftjail.conf", 2, true);
        conf_diags_done(&d);

        {
                char conf[256];
                snprintf(conf, sizeof conf, "[fleet]\nname = %s\n", name65);
                minimal(conf);
        }
        load_fail(&d);
        assert_diag(&d, "is not 1 to 64 of", "nftjail.conf", 2, true);
        conf_diags_done(&d);

        /* what goes together, at the section header */
        minimal("\n[fleet]\nenabled = true\nname = a\n");
        load_fail(&d);
        assert_diag(&d, "[fleet] is enabled but has no 'url'", "nftjail.conf", 2, true);
        conf_diags_done(&d);
        minimal("[fleet]\nenabled = true\nname = a\nurl = nats://127.0.0.1:4222\nuser = u\n");
        load_fail(&d);
        assert_diag(&d, "[fleet] 'user' and 'password_file' go together", "nftjail.conf", 1, true);
        conf_diags_done(&d);
        minimal("[fleet]\nenabled = true\nname = a\nurl = nats://127.0.0.1:4222\nuser = u\npassword_file = /p\ncreds_file = /c\n");
        load_fail(&d);
        assert_diag(&d, "[fleet] 'creds_file' and 'user' exclude each other", "nftjail.conf", 1, true);
        conf_diags_done(&d);
        minimal("[fleet]\nenabled = true\nname = a\nurl = nats://127.0.0.1:4222\ntls_cert = /c\n");
        load_fail(&d);
        assert_diag(&d, "[fleet] 'tls_cert' and 'tls_key' go together", "nftjail.conf", 1, true);
        conf_diags_done(&d);
        /* a disabled section is still checked, but what goes together only when enabled */
        minimal("[fleet]\nenabled = false\nuser = u\n");
        config_free(load_ok(&d));
        conf_diags_done(&d);
}

static void test_fleet_name_ok(void **state) {
        assert_true(fleet_name_ok("node-a"));
        assert_true(fleet_name_ok("A_9"));
        assert_false(fleet_name_ok(""));
        assert_false(fleet_name_ok("a.b"));
        assert_false(fleet_name_ok("a*"));
        assert_false(fleet_name_ok("a>"));
        assert_false(fleet_name_ok("a b"));
        assert_false(fleet_name_ok("\xc3\xa9"));
}

#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
int main(void) {
        const struct CMUnitTest tests[] = {
                T(test_fleet_defaults), T(test_fleet_full), T(test_fleet_local), T(test_fleet_errors),
                cmocka_unit_test(test_fleet_name_ok),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
