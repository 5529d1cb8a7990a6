/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What AbuseIPDB (or whatever answers at the configured URL) sends back: the body of a reply to
 * POST /report under each kind of HTTP status, with and without rate-limit headers, and of a
 * reply to GET /check. The outcome must be a known one and the detail printable ASCII. The same
 * bytes also go through the sanitizer of reported log lines and the comment template. */
#include <stdint.h>

#include "abuseipdb.h"
#include "fuzz-util.h"

static void check_printable(const char *s, size_t size) {
        size_t n = strnlen(s, size);

        if (n == size)
                abort(); /* not NUL-terminated */
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const long statuses[] = { 0, 200, 201, 302, 401, 403, 422, 429, 500, 503 };
        static const char *const names[] = { "bastion", "bastion.example.org", NULL };
        static const char *const addrs[] = { "192.0.2.1", "2001:db8::1", NULL };
        _cleanup_free_ char *body = fuzz_strndup(data, size), *line = NULL, *comment = NULL;
        CheckInfo ci;
        size_t n;

        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
                for (int h = 0; h < 2; h++) {
                        ReportReply rr;

                        abuseipdb_classify(statuses[i], body, size, h ? "2" : NULL, h ? "1764000002" : NULL,
                                           1764000000 * USEC_PER_SEC, (unsigned) i * 3, 0.5, &rr);
                        if (rr.outcome < 0 || rr.outcome >= _REPORT_OUTCOME_MAX || !report_outcome_to_string(rr.outcome))
                                abort();
                        check_printable(rr.detail, sizeof rr.detail);
                }
        if (abuseipdb_parse_check(body, size, &ci) < 0)
                check_printable(ci.detail, sizeof ci.detail);

        /* a log line of the ban, sanitised in place in a buffer with room to grow */
        line = malloc(2 * size + 64);
        if (!line)
                abort();
        memcpy(line, data, size);
        line[size] = 0;
        n = abuseipdb_sanitize(line, size, 2 * size + 64, names, addrs);
        if (n >= 2 * size + 64 || line[n] != 0)
                abort();
        comment = abuseipdb_comment(body, "sshd", 5, 600, "198.51.100.7", line);
        if (comment && strlen(comment) > ABUSEIPDB_COMMENT_MAX)
                abort();
        return 0;
}
