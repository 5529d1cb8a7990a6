/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhooks: a URL from the configuration (webhook_url_check(), webhook_url_redact()) and an event
 * whose jail name is arbitrary bytes (webhook_name_sanitize(), webhook_render()). An accepted URL
 * has no blank or control byte, no userinfo, no fragment, and plain http only to loopback; the
 * redacted form never holds what came before an '@'; every body is valid JSON (json, slack) and
 * every ntfy title printable ASCII. The input: a URL, a newline, a jail name. */
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "fuzz-util.h"
#include "webhook-event.h"

static void check_url(const char *u) {
        char b[256];
        const char *at;

        if (!webhook_url_check(u)) {
                size_t n;
                const char *auth = strstr(u, "://");

                if (!auth || strchr(u, '#'))
                        abort();
                for (const char *p = u; *p; p++)
                        if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                                abort();
                auth += 3;
                n = strcspn(auth, "/?");
                if (memchr(auth, '@', n) || n == 0)
                        abort();
                if (strncasecmp(u, "http://", 7) == 0 && !(strncasecmp(auth, "localhost", 9) == 0 ||
                                                           strncmp(auth, "127.", 4) == 0 || strncmp(auth, "[::1]", 5) == 0))
                        abort();
        }
        webhook_url_redact(u, b, sizeof b);
        /* what precedes the host's '@' never shows: the redacted text has at most the "://...@" marker */
        at = strchr(b, '@');
        if (at && (at - b < 6 || strncmp(at - 6, "://...", 6) != 0 || strchr(at + 1, '@')))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = fuzz_strndup(data, size);
        char *nl = strchr(s, '\n');
        WebhookEvent ev = { .failures = 3, .bantime_sec = 600, .time = 1795500000 * USEC_PER_SEC,
                            .expires = 1795500600 * USEC_PER_SEC, .id = "0123456789abcdef0123456789abcdef" };

        if (nl)
                *nl = 0;
        check_url(s);
        webhook_name_sanitize(nl ? nl + 1 : "", ev.jail, sizeof ev.jail);
        webhook_host_sanitize(nl ? nl + 1 : "", ev.host, sizeof ev.host);
        (void) addr_from_string("192.0.2.1", &ev.addr);
        ev.prefix = (AddrPrefix) { .addr = ev.addr, .prefixlen = 32 };
        for (WebhookKind k = 0; k < _WEBHOOK_KIND_MAX; k++)
                for (WebhookFormat f = 0; f < _WEBHOOK_FORMAT_MAX; f++) {
                        char *body = NULL, *title = NULL;
                        json_t *o;

                        ev.kind = k;
                        if (webhook_render(f, &ev, &body, &title) < 0)
                                abort();
                        if (f != WEBHOOK_FORMAT_NTFY) {
                                o = json_loads(body, 0, NULL);
                                if (!o)
                                        abort();
                                json_decref(o);
                        }
                        for (const char *p = title; p && *p; p++)
                                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                                        abort();
                        free(body);
                        free(title);
                }
        return 0;
}
