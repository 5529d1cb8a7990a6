/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "webhook-event.h"

static const char *const kind_table[_WEBHOOK_KIND_MAX] = {
        [WEBHOOK_KIND_BAN] = "ban",
        [WEBHOOK_KIND_UNBAN] = "unban",
        [WEBHOOK_KIND_EXPIRY] = "expiry",
};

const char *webhook_kind_to_string(WebhookKind k) {
        return k >= 0 && k < _WEBHOOK_KIND_MAX ? kind_table[k] : NULL;
}

void webhook_host_sanitize(const char *in, char *out, size_t len) {
        size_t o = 0;

        for (; in && *in && o + 1 < len && o < WEBHOOK_HOST_MAX; in++)
                if ((unsigned char) *in > 0x20 && (unsigned char) *in < 0x7f)
                        out[o++] = *in;
        if (len > 0)
                out[o] = 0;
        if (o == 0 && len > 1)
                snprintf(out, len, "localhost");
}

void webhook_name_sanitize(const char *in, char *out, size_t len) {
        size_t o = 0;

        for (; in && *in && o + 1 < len; in++)
                out[o++] = (unsigned char) *in >= 0x20 && (unsigned char) *in < 0x7f ? *in : '?';
        if (len > 0)
                out[o] = 0;
}

char *webhook_time(usec_t t, char *buf, size_t len) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&s, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, len, "1970-01-01T00:00:00Z");
        return buf;
}

const char *webhook_content_type(WebhookFormat f) {
        return f == WEBHOOK_FORMAT_NTFY ? "text/plain; charset=utf-8" : "application/json";
}

/* "Banned 192.0.2.7 (jail sshd) on bastion after 3 failures, for 10m, until 2026-12-02T15:31:41Z." */
static char *summary(const WebhookEvent *ev, const char *what) {
        char ts[32], bt[32];
        char *s = NULL;
        int r;

        if (ev->kind == WEBHOOK_KIND_UNBAN)
                r = asprintf(&s, "Unbanned %s (jail %s) on %s.", what, ev->jail, ev->host);
        else if (ev->kind == WEBHOOK_KIND_EXPIRY)
                r = asprintf(&s, "The ban of %s (jail %s) on %s expired.", what, ev->jail, ev->host);
        else if (ev->bantime_sec < 0 || ev->expires == 0)
                r = asprintf(&s, "Banned %s (jail %s) on %s after %u failure%s, permanently.", what, ev->jail, ev->host,
                             ev->failures, ev->failures == 1 ? "" : "s");
        else
                r = asprintf(&s, "Banned %s (jail %s) on %s after %u failure%s, for %s, until %s.", what, ev->jail,
                             ev->host, ev->failures, ev->failures == 1 ? "" : "s",
                             format_duration_sec(ev->bantime_sec, bt, sizeof bt), webhook_time(ev->expires, ts, sizeof ts));
        return r < 0 ? NULL : s;
}

static bool is_host_prefix(const AddrPrefix *p) {
        return p->prefixlen == (p->addr.family == AF_INET ? 32 : 128);
}

int webhook_render(WebhookFormat f, const WebhookEvent *ev, char **ret_body, char **ret_title) {
        char as[ADDR_STRLEN], ps[ADDR_PREFIX_STRLEN], ts[32], es[32];
        _cleanup_free_ char *text = NULL, *title = NULL;
        const char *what;
        json_t *o = NULL;
        char *body = NULL;

        addr_to_string(&ev->addr, as, sizeof as);
        addr_prefix_to_string(&ev->prefix, ps, sizeof ps);
        what = is_host_prefix(&ev->prefix) ? as : ps;
        switch (f) {
        case WEBHOOK_FORMAT_JSON:
                o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "event",
                              ev->kind == WEBHOOK_KIND_BAN ? "ban" : "unban",
                              "event_id", ev->id, "jail", ev->jail, "address", as, "prefix", ps,
                              "prefixlen", (json_int_t) ev->prefix.prefixlen, "time", webhook_time(ev->time, ts, sizeof ts),
                              "host", ev->host);
                if (!o)
                        return -ENOMEM;
                if (ev->kind == WEBHOOK_KIND_BAN &&
                    (json_object_set_new(o, "failures", json_integer(ev->failures)) < 0 ||
                     json_object_set_new(o, "bantime", json_integer(ev->bantime_sec)) < 0 ||
                     json_object_set_new(o, "expires",
                                         ev->expires ? json_string(webhook_time(ev->expires, es, sizeof es)) : json_null()) < 0)) {
                        json_decref(o);
                        return -ENOMEM;
                }
                if (ev->kind != WEBHOOK_KIND_BAN &&
                    json_object_set_new(o, "reason", json_string(ev->kind == WEBHOOK_KIND_EXPIRY ? "expired" : "manual")) < 0) {
                        json_decref(o);
                        return -ENOMEM;
                }
                body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
                json_decref(o);
                break;
        case WEBHOOK_FORMAT_NTFY:
                body = summary(ev, what);
                if (body && asprintf(&title, "nftjail %s: %s %s", ev->jail,
                                     ev->kind == WEBHOOK_KIND_BAN ? "banned" : ev->kind == WEBHOOK_KIND_UNBAN ? "unbanned" : "ban expired:",
                                     what) < 0) {
                        title = NULL;
                        free(body);
                        body = NULL;
                }
                break;
        case WEBHOOK_FORMAT_SLACK:
                text = summary(ev, what);
                if (!text)
                        return -ENOMEM;
                o = json_pack("{s:s}", "text", text);
                if (!o)
                        return -ENOMEM;
                body = json_dumps(o, JSON_COMPACT);
                json_decref(o);
                break;
        default:
                return -EINVAL;
        }
        if (!body)
                return -ENOMEM;
        *ret_body = body;
        if (ret_title)
                *ret_title = TAKE_PTR(title);
        return 0;
}

WebhookOutcome webhook_classify(long status) {
        if (status >= 200 && status < 300)
                return WEBHOOK_DELIVERED;
        if (status == 0 || status == 408 || status == 429 || (status >= 500 && status < 600))
                return WEBHOOK_RETRY;
        return WEBHOOK_REJECTED;
}

usec_t webhook_backoff(unsigned attempt) {
        usec_t d = WEBHOOK_BACKOFF_BASE_USEC;

        for (unsigned i = 0; i < attempt && d < WEBHOOK_BACKOFF_MAX_USEC; i++)
                d *= 2;
        return MIN(d, WEBHOOK_BACKOFF_MAX_USEC);
}

bool webhook_expired(usec_t created, unsigned attempts, usec_t now) {
        return attempts >= WEBHOOK_ATTEMPTS_MAX || (now > created && now - created > WEBHOOK_AGE_MAX_USEC);
}
