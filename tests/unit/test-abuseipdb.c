/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "abuseipdb.h"
#include "conf.h"

#define NOW ((usec_t) 1795500000 * USEC_PER_SEC) /* 2026-11-24T06:00:00Z */

static void check_sanitize(const char *in, const char *want) {
        static const char *const names[] = { "bastion.example.org", "bastion", NULL };
        static const char *const addrs[] = { "198.51.100.1", "2001:db8::1", NULL };
        char buf[512];
        size_t n;

        snprintf(buf, sizeof buf, "%s", in);
        n = abuseipdb_sanitize(buf, strlen(buf), sizeof buf, names, addrs);
        assert_string_equal(buf, want);
        assert_int_equal(n, strlen(want));
}

static void test_sanitize(void **state) {
        check_sanitize("Failed password for alice from 192.0.2.66 port 22 ssh2",
                       "Failed password for [user] from 192.0.2.66 port 22 ssh2");
        check_sanitize("Failed password for invalid user bob from 192.0.2.66 port 22 ssh2",
                       "Failed password for invalid user [user] from 192.0.2.66 port 22 ssh2");
        check_sanitize("Invalid user carol from 192.0.2.66 port 4242",
                       "Invalid user [user] from 192.0.2.66 port 4242");
        check_sanitize("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.66  user=dave",
                       "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.66  user=[user]");
        check_sanitize("bastion sshd[12]: Connection closed by 192.0.2.66 port 22 [preauth] on bastion.example.org to 198.51.100.1",
                       "[host] sshd[12]: Connection closed by 192.0.2.66 port 22 [preauth] on [host] to [self]");
        /* addresses only whole: 198.51.100.10 is not this host's 198.51.100.1 */
        check_sanitize("from 198.51.100.10 to 2001:db8::1 port 22", "from 198.51.100.10 to [self] port 22");
        check_sanitize("authentication failure for \"erin\" from 192.0.2.66",
                       "authentication failure for \"[user]\" from 192.0.2.66");
        check_sanitize("login failed: user='frank smith' rhost=192.0.2.66", "login failed: user='[user]' rhost=192.0.2.66");
        check_sanitize("", "");
}

static void test_comment(void **state) {
        char *c;
        char big[3000];

        c = abuseipdb_comment(NULL, "sshd", 3, 600, "192.0.2.66", "line one\nline two");
        assert_string_equal(c, "sshd: 3 failures in 10m\nline one\nline two");
        free(c);
        c = abuseipdb_comment(NULL, "recidive", 5, 86400, "192.0.2.66", NULL);
        assert_string_equal(c, "recidive: 5 failures in 1d");
        free(c);
        c = abuseipdb_comment("%(ip)s banned by %(jail)s (%(findtime)s) %(unknown)s", "x", 1, 90, "2001:db8::66", "");
        assert_string_equal(c, "2001:db8::66 banned by x (90s) %(unknown)s");
        free(c);
        /* cut at 1000 bytes, never inside a UTF-8 sequence */
        memset(big, 'a', sizeof big);
        big[sizeof big - 1] = 0;
        memcpy(big + 990 - 10, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 20);
        c = abuseipdb_comment("%(jail)s:%(lines)s", "j", 1, 60, "192.0.2.1", big);
        assert_true(strlen(c) <= ABUSEIPDB_COMMENT_MAX);
        assert_true(strlen(c) >= ABUSEIPDB_COMMENT_MAX - 1);
        assert_true(((unsigned char) c[strlen(c) - 1] & 0xc0) != 0xc0);
        free(c);
}

static void test_timestamp(void **state) {
        char b[40];
        assert_string_equal(abuseipdb_timestamp(NOW, b, sizeof b), "2026-11-24T06:00:00+00:00");
}

static void classify(long status, const char *body, const char *ra, const char *reset, unsigned attempt,
                     ReportReply *r) {
        abuseipdb_classify(status, body, body ? strlen(body) : 0, ra, reset, NOW, attempt, 0.5, r);
}

static void test_classify(void **state) {
        ReportReply r;

        classify(200, "{\"data\":{\"ipAddress\":\"192.0.2.66\",\"abuseConfidenceScore\":52}}", NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_ACCEPTED);
        assert_int_equal(r.score, 52);

        classify(429, "{\"errors\":[{\"detail\":\"You can only report the same IP address (`192.0.2.66`) once in 15 minutes.\","
                      "\"status\":429,\"source\":{\"parameter\":\"ip\"}}]}", NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_DUPLICATE);

        classify(429, "{\"errors\":[{\"detail\":\"Daily rate limit of 1000 requests exceeded for this endpoint. See headers "
                      "for additional details.\",\"status\":429}]}", "3600", NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_RATE_LIMITED);
        assert_int_equal(r.retry_at, NOW + 3600 * USEC_PER_SEC);
        /* X-RateLimit-Reset (epoch seconds) when there is no Retry-After */
        classify(429, "{\"errors\":[{\"detail\":\"Daily rate limit of 1000 requests exceeded\"}]}", NULL, "1795507200", 0, &r);
        assert_int_equal(r.outcome, REPORT_RATE_LIMITED);
        assert_int_equal(r.retry_at, (usec_t) 1795507200 * USEC_PER_SEC);
        /* neither: the next UTC day */
        classify(429, "{\"errors\":[{\"detail\":\"Daily rate limit of 1000 requests exceeded\"}]}", NULL, NULL, 0, &r);
        assert_int_equal(r.retry_at, (usec_t) 1795564800 * USEC_PER_SEC);

        /* another 429: Retry-After */
        classify(429, "{\"errors\":[{\"detail\":\"Too Many Attempts.\"}]}", "7", NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_RETRY);
        assert_int_equal(r.retry_at, NOW + 7 * USEC_PER_SEC);

        classify(422, "{\"errors\":[{\"detail\":\"The ip address must be a valid IPv4 or IPv6 address.\",\"status\":422,"
                      "\"source\":{\"parameter\":\"ip\"}}]}", NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_REJECTED);
        assert_string_equal(r.detail, "The ip address must be a valid IPv4 or IPv6 address.");
        classify(401, NULL, NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_REJECTED);
        assert_string_equal(r.detail, "HTTP 401");

        classify(503, NULL, NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_RETRY);
        assert_int_equal(r.retry_at, NOW + abuseipdb_backoff(0, 0.5));
        classify(0, NULL, NULL, NULL, 3, &r);
        assert_int_equal(r.outcome, REPORT_RETRY);
        assert_int_equal(r.retry_at, NOW + abuseipdb_backoff(3, 0.5));
        /* garbage is never accepted as success */
        classify(200, "{\"errors\":[{\"detail\":\"odd\"}]}", NULL, NULL, 0, &r);
        assert_int_equal(r.outcome, REPORT_REJECTED);
        classify(500, "\x01not json", "abc", "-1", 0, &r);
        assert_int_equal(r.outcome, REPORT_RETRY);
        /* control characters in the detail never reach the journal */
        classify(400, "{\"errors\":[{\"detail\":\"a\\nb\\u0007c\"}]}", NULL, NULL, 0, &r);
        assert_string_equal(r.detail, "a?b?c");
}

static void test_backoff(void **state) {
        assert_int_equal(abuseipdb_backoff(0, 0), ABUSEIPDB_BACKOFF_BASE_USEC / 2);
        assert_int_equal(abuseipdb_backoff(1, 0), ABUSEIPDB_BACKOFF_BASE_USEC);
        assert_int_equal(abuseipdb_backoff(2, 0.5), 3 * ABUSEIPDB_BACKOFF_BASE_USEC);
        assert_int_equal(abuseipdb_backoff(100, 0), ABUSEIPDB_BACKOFF_MAX_USEC / 2);
        assert_true(abuseipdb_backoff(100, 0.999) < ABUSEIPDB_BACKOFF_MAX_USEC);
        assert_int_equal(abuseipdb_backoff(0, 7.0), ABUSEIPDB_BACKOFF_BASE_USEC / 2);
}

static void test_check(void **state) {
        const char *ok = "{\"data\":{\"ipAddress\":\"192.0.2.66\",\"abuseConfidenceScore\":87,\"countryCode\":\"ZZ\","
                         "\"usageType\":\"Data Center/Web Hosting/Transit\",\"totalReports\":42,"
                         "\"lastReportedAt\":\"2026-11-24T12:00:00+00:00\"}}";
        const char *err = "{\"errors\":[{\"detail\":\"Authentication failed.\",\"status\":401}]}";
        CheckInfo ci;

        assert_int_equal(abuseipdb_parse_check(ok, strlen(ok), &ci), 0);
        assert_int_equal(ci.score, 87);
        assert_string_equal(ci.country, "ZZ");
        assert_string_equal(ci.usage, "Data Center/Web Hosting/Transit");
        assert_int_equal(ci.total_reports, 42);
        assert_string_equal(ci.last_reported, "2026-11-24T12:00:00+00:00");
        assert_int_equal(abuseipdb_parse_check(err, strlen(err), &ci), -EINVAL);
        assert_string_equal(ci.detail, "Authentication failed.");
        assert_int_equal(abuseipdb_parse_check("[", 1, &ci), -EINVAL);
}

static void test_url(void **state) {
        assert_true(abuseipdb_url_ok("https://api.abuseipdb.com/api/v2"));
        assert_true(abuseipdb_url_ok("http://127.0.0.1:8080/api/v2"));
        assert_true(abuseipdb_url_ok("http://localhost/api/v2"));
        assert_true(abuseipdb_url_ok("http://[::1]:80/"));
        assert_false(abuseipdb_url_ok("http://api.abuseipdb.com/api/v2"));
        assert_false(abuseipdb_url_ok("http://127.0.0.1.example.net/"));
        assert_false(abuseipdb_url_ok("http://localhost.example.net/"));
        assert_false(abuseipdb_url_ok("ftp://127.0.0.1/"));
        assert_false(abuseipdb_url_ok("https://"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sanitize), cmocka_unit_test(test_comment), cmocka_unit_test(test_timestamp),
                cmocka_unit_test(test_classify), cmocka_unit_test(test_backoff), cmocka_unit_test(test_check),
                cmocka_unit_test(test_url),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
