/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhooks: the URL check, the configuration (webhook[...] actions, [webhook NAME] sections, errors
 * with file:line), the three formats, what a reply means, the backoff, and the queue. */
#include "conf-fixture.h"

#include <jansson.h>

#include "util/string-util.h"
#include "webhook-event.h"
#include "webhook-spool.h"

static void test_url_check(void **state) {
        static const char *const good[] = {
                "https://hooks.example.org/x", "https://ntfy.example.org/topic?auth=x", "https://[2001:db8::1]:8443/h",
                "http://127.0.0.1:8080/hook", "http://127.9.9.9/", "http://localhost/x", "http://LOCALHOST:1/",
                "http://[::1]:80/x", "https://example.org",
        };
        static const struct {
                const char *url, *why;
        } bad[] = {
                { "http://192.0.2.1/x", "plain http://" },
                { "http://128.0.0.1/x", "plain http://" },
                { "http://localhost.example.net/", "plain http://" },
                { "http://127.0.0.1.example.net/", "plain http://" },
                { "http://[::2]/", "plain http://" },
                { "https://user:pw@hooks.example.org/x", "user name or password" },
                { "https://user@hooks.example.org/x", "user name or password" },
                { "https://hooks.example.org/x#frag", "fragment" },
                { "https://hooks.example.org/a b", "blank" },
                { "https://hooks.example.org/a\r\nX: y", "control character" },
                { "https://hooks.example.org/\xc3\xa9", "non-ASCII" },
                { "ftp://hooks.example.org/", "not an https://" },
                { "hooks.example.org", "not an https://" },
                { "https://", "no host" },
                { "https:///path", "no host" },
                { "https://hooks.example.org:0/", "invalid port" },
                { "https://hooks.example.org:65536/", "invalid port" },
                { "https://hooks.example.org:/", "invalid port" },
                { "https://hooks.example.org:80x/", "invalid port" },
                { "https://hooks_example.org/", "invalid host" },
                { "https://[2001:db8::1/", "unterminated" },
        };
        char longurl[WEBHOOK_URL_MAX + 16];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                const char *why = webhook_url_check(good[i]);
                if (why)
                        fail_msg("%s: %s", good[i], why);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *why = webhook_url_check(bad[i].url);
                if (!why || !strstr(why, bad[i].why))
                        fail_msg("%s: want '%s', got '%s'", bad[i].url, bad[i].why, why ?: "(accepted)");
        }
        snprintf(longurl, sizeof longurl, "https://example.org/");
        memset(longurl + strlen(longurl), 'a', WEBHOOK_URL_MAX - strlen(longurl));
        longurl[WEBHOOK_URL_MAX] = 0;
        assert_null(webhook_url_check(longurl));
        strcat(longurl, "a");
        assert_non_null(strstr(webhook_url_check(longurl), "longer than 2048"));
}

static void test_url_redact(void **state) {
        char b[256];

        assert_string_equal(webhook_url_redact("https://hooks.slack.com/services/T0/B0/secret", b, sizeof b),
                            "https://hooks.slack.com/...");
        assert_string_equal(webhook_url_redact("https://u:pw@h.example.org:8443/x?y", b, sizeof b), "https://...@h.example.org:8443/...");
        assert_string_equal(webhook_url_redact("http://127.0.0.1:80", b, sizeof b), "http://127.0.0.1:80");
        assert_string_equal(webhook_url_redact("nonsense", b, sizeof b), "(not a URL)");
        assert_string_equal(webhook_url_redact("alice:pw@https://h.example.org/", b, sizeof b), "(not a URL)");
}

static void test_conf(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("nftjail.local", "[webhook ops]\nurl = https://hooks.example.org/nftjail\nformat = slack\n"
                                    "header = X-A: 1\n   X-B: two words\ntoken_file = /etc/nftjail/ops.token\ntimeout = 3\n");
        write_file("jail.local", "[sshd]\naction = %(action_)s\n         webhook[name=ops]\n"
                                 "         webhook[url=\"http://127.0.0.1:9000/h?x=1\", format=ntfy]\n");
        c = load_ok(&d);
        assert_diag(&d, "'token_file': cannot read '/etc/nftjail/ops.token' (No such file or directory)", "nftjail.local", 6, false);
        j = jail(c, "sshd");
        assert_true(j->action_ban);
        assert_int_equal(j->n_webhooks, 2);
        assert_string_equal(j->webhooks[0].id, "ops");
        assert_string_equal(j->webhooks[0].url, "https://hooks.example.org/nftjail");
        assert_int_equal(j->webhooks[0].format, WEBHOOK_FORMAT_SLACK);
        assert_int_equal(strv_length(j->webhooks[0].headers), 2);
        assert_string_equal(j->webhooks[0].headers[1], "X-B: two words");
        assert_string_equal(j->webhooks[0].token_file, "/etc/nftjail/ops.token");
        assert_int_equal(j->webhooks[0].timeout_sec, 3);
        assert_string_equal(j->webhooks[1].id, "sshd/2");
        assert_int_equal(j->webhooks[1].format, WEBHOOK_FORMAT_NTFY);
        assert_int_equal(j->webhooks[1].timeout_sec, WEBHOOK_TIMEOUT_DEFAULT);
        assert_null(j->webhooks[1].headers);
        config_free(c);
        conf_diags_done(&d);
}

static void test_conf_errors(void **state) {
        ConfDiags d = {};

        shipped_setup();
        write_file("nftjail.local", "[webhook ops]\nurl = http://192.0.2.1/x\nformat = xml\nheader = Host: evil\n"
                                    "token = abc\ntimeout = 0\n[webhook bad name]\nurl = https://x.example.org/\n"
                                    "[webhook nourl]\nformat = json\n");
        write_file("jail.local", "[sshd]\naction = webhook[url=\"https://alice:secret@hooks.example.org/x\"]\n"
                                 "         webhook[url=\"https://hooks.example.org/#f\"]\n"
                                 "         webhook[name=nosuch]\n"
                                 "         webhook[name=ops, format=json]\n"
                                 "         webhook[format=json]\n"
                                 "         webhook[url=\"https://hooks.example.org/\", token_file=relative]\n");
        load_fail(&d);
        assert_diag(&d, "[webhook ops]: 'url': 'http://192.0.2.1/...' is plain http://", "nftjail.local", 2, true);
        assert_diag(&d, "'format': 'xml' is not json, ntfy or slack", "nftjail.local", 3, true);
        assert_diag(&d, "'header': the header sets a header the sender sets itself", "nftjail.local", 4, true);
        assert_diag(&d, "'token': put the token in a file", "nftjail.local", 5, true);
        assert_diag(&d, "'timeout': '0' is not a number of seconds in 1..120", "nftjail.local", 6, true);
        assert_diag(&d, "a webhook's name is 1..64 letters", "nftjail.local", 7, true);
        assert_diag(&d, "[webhook nourl]: 'url' is missing", "nftjail.local", 9, true);
        /* the password is never repeated */
        assert_diag(&d, "'url': 'https://...@hooks.example.org/...' has a user name or password", "jail.local", 2, true);
        assert_null(find_diag(&d, "secret"));
        assert_diag(&d, "has a fragment", "jail.local", 3, true);
        assert_diag(&d, "no [webhook nosuch] section", "jail.local", 4, true);
        assert_diag(&d, "name= takes no other options", "jail.local", 5, true);
        assert_diag(&d, "needs url=", "jail.local", 6, true);
        assert_diag(&d, "'token_file': 'relative' is not an absolute path", "jail.local", 7, true);
        conf_diags_done(&d);
}

static const WebhookEvent ban_event = {
        .kind = WEBHOOK_KIND_BAN,
        .id = "0123456789abcdef0123456789abcdef",
        .jail = "sshd",
        .failures = 3,
        .bantime_sec = 600,
        .time = (usec_t) 1795500000 * USEC_PER_SEC,          /* 2026-11-24T06:00:00Z */
        .expires = (usec_t) (1795500000 + 600) * USEC_PER_SEC,
        .host = "bastion",
};

static void test_render(void **state) {
        WebhookEvent ev = ban_event;
        char *body = NULL, *title = NULL;
        json_t *o;

        assert_int_equal(addr_from_string("192.0.2.7", &ev.addr), 0);
        ev.prefix = (AddrPrefix) { .addr = ev.addr, .prefixlen = 32 };
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, &ev, &body, &title), 0);
        assert_null(title);
        assert_string_equal(body, "{\"address\":\"192.0.2.7\",\"bantime\":600,\"event\":\"ban\","
                                  "\"event_id\":\"0123456789abcdef0123456789abcdef\",\"expires\":\"2026-11-24T06:10:00Z\","
                                  "\"failures\":3,\"host\":\"bastion\",\"jail\":\"sshd\",\"prefix\":\"192.0.2.7/32\","
                                  "\"prefixlen\":32,\"time\":\"2026-11-24T06:00:00Z\"}");
        free(body);
        assert_string_equal(webhook_content_type(WEBHOOK_FORMAT_JSON), "application/json");

        assert_int_equal(webhook_render(WEBHOOK_FORMAT_NTFY, &ev, &body, &title), 0);
        assert_string_equal(body, "Banned 192.0.2.7 (jail sshd) on bastion after 3 failures, for 10m, until 2026-11-24T06:10:00Z.");
        assert_string_equal(title, "nftjail sshd: banned 192.0.2.7");
        assert_string_equal(webhook_content_type(WEBHOOK_FORMAT_NTFY), "text/plain; charset=utf-8");
        free(body);
        free(title);
        title = NULL;

        assert_int_equal(webhook_render(WEBHOOK_FORMAT_SLACK, &ev, &body, &title), 0);
        assert_null(title);
        o = json_loads(body, 0, NULL);
        assert_non_null(o);
        assert_int_equal(json_object_size(o), 1);
        assert_string_equal(json_string_value(json_object_get(o, "text")),
                            "Banned 192.0.2.7 (jail sshd) on bastion after 3 failures, for 10m, until 2026-11-24T06:10:00Z.");
        json_decref(o);
        free(body);

        /* an IPv6 /64 ban, permanent: the prefix is named, expires is null */
        assert_int_equal(addr_from_string("2001:db8::5", &ev.addr), 0);
        ev.prefix = (AddrPrefix) { .addr = ev.addr, .prefixlen = 64 };
        addr_mask(&ev.prefix.addr, 64);
        ev.bantime_sec = -1;
        ev.expires = 0;
        ev.failures = 1;
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, &ev, &body, NULL), 0);
        o = json_loads(body, 0, NULL);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "address")), "2001:db8::5");
        assert_string_equal(json_string_value(json_object_get(o, "prefix")), "2001:db8::/64");
        assert_true(json_is_null(json_object_get(o, "expires")));
        assert_int_equal(json_integer_value(json_object_get(o, "bantime")), -1);
        json_decref(o);
        free(body);
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_NTFY, &ev, &body, &title), 0);
        assert_string_equal(body, "Banned 2001:db8::/64 (jail sshd) on bastion after 1 failure, permanently.");
        free(body);
        free(title);

        /* an unban: no counts, no expiry */
        ev.kind = WEBHOOK_KIND_UNBAN;
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, &ev, &body, NULL), 0);
        o = json_loads(body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "event")), "unban");
        assert_string_equal(json_string_value(json_object_get(o, "reason")), "manual");
        assert_null(json_object_get(o, "failures"));
        assert_null(json_object_get(o, "expires"));
        json_decref(o);
        free(body);
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_NTFY, &ev, &body, &title), 0);
        assert_string_equal(body, "Unbanned 2001:db8::/64 (jail sshd) on bastion.");
        assert_string_equal(title, "nftjail sshd: unbanned 2001:db8::/64");
        free(body);
        free(title);

        /* an expiry: an unban with reason "expired" */
        ev.kind = WEBHOOK_KIND_EXPIRY;
        assert_string_equal(webhook_kind_to_string(ev.kind), "expiry");
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_JSON, &ev, &body, NULL), 0);
        o = json_loads(body, 0, NULL);
        assert_string_equal(json_string_value(json_object_get(o, "event")), "unban");
        assert_string_equal(json_string_value(json_object_get(o, "reason")), "expired");
        json_decref(o);
        free(body);
        assert_int_equal(webhook_render(WEBHOOK_FORMAT_NTFY, &ev, &body, &title), 0);
        assert_string_equal(body, "The ban of 2001:db8::/64 (jail sshd) on bastion expired.");
        assert_string_equal(title, "nftjail sshd: ban expired: 2001:db8::/64");
        free(body);
        free(title);
}

static void test_host(void **state) {
        char b[WEBHOOK_HOST_MAX + 1];

        webhook_host_sanitize("bas tion\r\nX-Evil: 1", b, sizeof b);
        assert_string_equal(b, "bastionX-Evil:1");
        webhook_host_sanitize("", b, sizeof b);
        assert_string_equal(b, "localhost");
        webhook_name_sanitize("j\xc3\xa9il\r\n", b, sizeof b);
        assert_string_equal(b, "j??il??");
}

static void test_classify(void **state) {
        assert_int_equal(webhook_classify(200), WEBHOOK_DELIVERED);
        assert_int_equal(webhook_classify(204), WEBHOOK_DELIVERED);
        assert_int_equal(webhook_classify(0), WEBHOOK_RETRY);
        assert_int_equal(webhook_classify(408), WEBHOOK_RETRY);
        assert_int_equal(webhook_classify(429), WEBHOOK_RETRY);
        assert_int_equal(webhook_classify(500), WEBHOOK_RETRY);
        assert_int_equal(webhook_classify(503), WEBHOOK_RETRY);
        assert_int_equal(webhook_classify(400), WEBHOOK_REJECTED);
        assert_int_equal(webhook_classify(404), WEBHOOK_REJECTED);
        assert_int_equal(webhook_classify(302), WEBHOOK_REJECTED);
        assert_int_equal(webhook_classify(101), WEBHOOK_REJECTED);

        assert_int_equal(webhook_backoff(0), 5 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff(1), 10 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff(6), 320 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff(7), 600 * USEC_PER_SEC);
        assert_int_equal(webhook_backoff(1000), 600 * USEC_PER_SEC);

        assert_false(webhook_expired(ban_event.time, 3, ban_event.time + 3600 * USEC_PER_SEC));
        assert_true(webhook_expired(ban_event.time, 3, ban_event.time + 86401 * USEC_PER_SEC));
        assert_true(webhook_expired(ban_event.time, WEBHOOK_ATTEMPTS_MAX, ban_event.time));
}

static void row_fill(WebhookRow *r, const char *hook, unsigned i) {
        *r = (WebhookRow) { .created = ban_event.time };
        snprintf(r->event_id, sizeof r->event_id, "%032x", i);
        snprintf(r->webhook, sizeof r->webhook, "%s", hook);
        snprintf(r->kind, sizeof r->kind, "ban");
        snprintf(r->jail, sizeof r->jail, "sshd");
        snprintf(r->addr, sizeof r->addr, "192.0.2.%u", i % 250);
        snprintf(r->content_type, sizeof r->content_type, "application/json");
        r->body = strdup("{}");
        r->title = i % 2 ? strdup("t") : NULL;
}

static void test_spool(void **state) {
        WebhookSpool *s = NULL, *ro = NULL;
        WebhookRow r, got;
        usec_t now = ban_event.time;
        unsigned dropped = 99;

        assert_int_equal(webhook_spool_open(tmpdir, true, &ro), -ENOENT);
        assert_int_equal(webhook_spool_open(tmpdir, false, &s), 0);
        assert_int_equal(webhook_spool_next_due(s, now, &got), 0);
        assert_true(webhook_spool_next_time(s) == USEC_INFINITY);
        row_fill(&r, "a", 1);
        assert_int_equal(webhook_spool_insert(s, &r, &dropped), 0);
        assert_true(r.id > 0);
        assert_int_equal(dropped, 0);
        webhook_row_done(&r);
        row_fill(&r, "a", 2);
        assert_int_equal(webhook_spool_insert(s, &r, NULL), 0);
        webhook_row_done(&r);
        row_fill(&r, "b", 4);
        assert_int_equal(webhook_spool_insert(s, &r, NULL), 0);
        webhook_row_done(&r);
        assert_int_equal(webhook_spool_pending(s), 3);

        assert_int_equal(webhook_spool_next_due(s, now, &got), 1);
        assert_string_equal(got.event_id, "00000000000000000000000000000001");
        assert_string_equal(got.webhook, "a");
        assert_string_equal(got.body, "{}");
        assert_string_equal(got.title, "t");
        /* a's receiver is down: its other row waits as long, b's does not */
        assert_int_equal(webhook_spool_reschedule(s, got.id, "a", 1, now + 5 * USEC_PER_SEC), 0);
        webhook_row_done(&got);
        assert_int_equal(webhook_spool_next_due(s, now, &got), 1);
        assert_string_equal(got.webhook, "b");
        assert_null(got.title);
        assert_int_equal(webhook_spool_finish(s, got.id, WEBHOOK_STAT_DELIVERED), 0);
        webhook_row_done(&got);
        assert_int_equal(webhook_spool_next_due(s, now, &got), 0);
        assert_true(webhook_spool_next_time(s) == now + 5 * USEC_PER_SEC);
        assert_int_equal(webhook_spool_next_due(s, now + 5 * USEC_PER_SEC, &got), 1);
        assert_int_equal(got.attempts, 1);
        assert_int_equal(webhook_spool_finish(s, got.id, WEBHOOK_STAT_REJECTED), 0);
        webhook_row_done(&got);

        /* the CLI's read-only view */
        assert_int_equal(webhook_spool_open(tmpdir, true, &ro), 0);
        assert_int_equal(webhook_spool_pending(ro), 1);
        assert_int_equal(webhook_spool_stat_get(ro, WEBHOOK_STAT_DELIVERED), 1);
        assert_int_equal(webhook_spool_stat_get(ro, WEBHOOK_STAT_REJECTED), 1);
        webhook_spool_free(ro);

        /* bounded: past WEBHOOK_SPOOL_MAX the oldest go, counted */
        for (unsigned i = 0; i < WEBHOOK_SPOOL_MAX + 5; i++) {
                row_fill(&r, "c", 10 + i);
                assert_int_equal(webhook_spool_insert(s, &r, &dropped), 0);
                webhook_row_done(&r);
        }
        assert_int_equal(webhook_spool_pending(s), WEBHOOK_SPOOL_MAX);
        assert_int_equal(webhook_spool_stat_get(s, WEBHOOK_STAT_DROPPED), 6);
        webhook_spool_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_url_check), cmocka_unit_test(test_url_redact), T(test_conf), T(test_conf_errors),
                cmocka_unit_test(test_render), cmocka_unit_test(test_host), cmocka_unit_test(test_classify),
                T(test_spool),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
