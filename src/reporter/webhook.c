/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "http.h"
#include "log-ids.h"
#include "log.h"
#include "reporter-settings.h"
#include "spool.h"
#include "util/macro.h"
#include "util/string-util.h"
#include "webhook-spool.h"
#include "webhook.h"
#include "worker.h"

#define JOIN_TIMEOUT_SEC 10

/* One webhook as the thread uses it: immutable once built, shared by reference. */
typedef struct WebhookTarget {
        char *id, *url;
        char **headers;         /* the configured ones, then Authorization from token_file */
        unsigned timeout_sec;
        bool usable;            /* false: its token file could not be read */
} WebhookTarget;

typedef struct WebhookSettings {
        atomic_uint n_ref;
        WebhookTarget *v;
        size_t n;
} WebhookSettings;

struct Webhooks {
        char *state_dir;
        char host[WEBHOOK_HOST_MAX + 1];

        /* main thread only */
        WebhookSettings *settings;
        WebhookSpool *spool;

        Worker *worker;
        bool started;
};

/* ---- settings ---- */

static WebhookSettings *settings_unref(WebhookSettings *s) {
        if (!s || atomic_fetch_sub(&s->n_ref, 1) != 1)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                free(s->v[i].id);
                free(s->v[i].url);
                for (char **h = s->v[i].headers; h && *h; h++)
                        explicit_bzero(*h, strlen(*h));
                strv_free(s->v[i].headers);
        }
        free(s->v);
        free(s);
        return NULL;
}

static void settings_unref_void(void *s) {
        settings_unref(s);
}

static WebhookSettings *settings_ref(WebhookSettings *s) {
        if (s)
                atomic_fetch_add(&s->n_ref, 1);
        return s;
}

static const WebhookTarget *settings_find(const WebhookSettings *s, const char *id) {
        for (size_t i = 0; s && i < s->n; i++)
                if (strcmp(s->v[i].id, id) == 0)
                        return &s->v[i];
        return NULL;
}

static int target_add(WebhookSettings *s, const WebhookConf *wc) {
        WebhookTarget *v, *t;

        if (settings_find(s, wc->id))
                return 0; /* a [webhook NAME] used by several jails */
        v = reallocarray(s->v, s->n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        s->v = v;
        t = &s->v[s->n++];
        *t = (WebhookTarget) { .id = strdup(wc->id), .url = strdup(wc->url), .timeout_sec = wc->timeout_sec, .usable = true };
        if (!t->id || !t->url)
                return -ENOMEM;
        for (char **h = wc->headers; h && *h; h++)
                if (strv_extend(&t->headers, *h) < 0)
                        return -ENOMEM;
        if (wc->token_file) {
                _cleanup_free_ char *tok = NULL, *h = NULL;
                bool loose = false;
                int r = reporter_read_key_file(wc->token_file, &tok, &loose);

                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        /* never the content: a secret, however mistyped */
                        log_error_errno(r, "webhook %s: cannot use token_file %s (%s:%u), not sending its events: %m",
                                        wc->id, wc->token_file, wc->file, wc->line);
                        t->usable = false;
                        return 0;
                }
                if (loose)
                        log_warning("webhook %s: token_file %s is readable by other users; chmod 0600 it (or 0640 with the daemon's group)",
                                    wc->id, wc->token_file);
                if (asprintf(&h, "Authorization: Bearer %s", tok) < 0) {
                        explicit_bzero(tok, strlen(tok));
                        return -ENOMEM;
                }
                explicit_bzero(tok, strlen(tok));
                r = strv_extend(&t->headers, h);
                explicit_bzero(h, strlen(h));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int settings_new(const Config *c, WebhookSettings **ret) {
        WebhookSettings *s = calloc(1, sizeof *s);

        if (!s)
                return -ENOMEM;
        s->n_ref = 1;
        for (size_t i = 0; i < c->n_jails; i++)
                for (size_t k = 0; k < c->jails[i].n_webhooks; k++)
                        if (target_add(s, &c->jails[i].webhooks[k]) < 0) {
                                settings_unref(s);
                                return -ENOMEM;
                        }
        *ret = s;
        return 0;
}

bool webhooks_wanted(const Config *c) {
        for (size_t i = 0; i < c->n_jails; i++)
                if (c->jails[i].n_webhooks > 0)
                        return true;
        return false;
}

/* ---- the thread ---- */

static usec_t now_real(void) {
        return now_usec(CLOCK_REALTIME);
}

static void log_row(int level, const char *mid, const WebhookRow *row, const char *fmt, ...) _printf_(4, 5);
static void log_row(int level, const char *mid, const WebhookRow *row, const char *fmt, ...) {
        char fj[JAIL_NAME_MAX + 16], fa[ADDR_PREFIX_STRLEN + 16], msg[512];
        const char *fields[] = { fj, fa, NULL };
        va_list ap;

        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", row->jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", row->addr);
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_event(level, 0, mid, fields, "%s: webhook %s: %s event %s of %s %s", row->jail, row->webhook, row->kind,
                  row->event_id, row->addr, msg);
}

/* POSTs row to t. Returns the HTTP status (> 0), or a negative errno (no answer; then what
 * failed, in http_failure()'s words, is in detail). */
static long post(Webhooks *w, CURL *h, const WebhookTarget *t, const WebhookRow *row, char *detail, size_t detail_len) {
        struct curl_slist *l = NULL, *n;
        HttpBuf body = {}; /* thrown away */
        char ct[80], idk[80], ev[40], errbuf[CURL_ERROR_SIZE] = "";
        _cleanup_free_ char *title = NULL;
        long status = 0;
        CURLcode cc;
        int k;

        snprintf(ct, sizeof ct, "Content-Type: %s", row->content_type);
        snprintf(idk, sizeof idk, "Idempotency-Key: %s", row->event_id);
        snprintf(ev, sizeof ev, "X-Nftjail-Event: %s", row->kind);
        if (row->title && asprintf(&title, "Title: %s", row->title) < 0)
                return -ENOMEM;
        const char *fixed[] = { ct, idk, ev, "Expect:", title };
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                if (!fixed[i])
                        continue;
                n = sym_curl_slist_append(l, fixed[i]);
                if (!n)
                        goto oom;
                l = n;
        }
        for (char **x = t->headers; x && *x; x++) {
                n = sym_curl_slist_append(l, *x);
                if (!n)
                        goto oom;
                l = n;
        }
        http_setup(h, t->url, t->timeout_sec, &body, worker_abort_flag(w->worker));
        sym_curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
        sym_curl_easy_setopt(h, CURLOPT_POSTFIELDS, row->body);
        sym_curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long) strlen(row->body));
        sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        cc = sym_curl_easy_perform(h);
        sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* the handle outlives errbuf */
        k = http_map_curl(cc);
        if (k < 0)
                http_failure(cc, errbuf, detail, detail_len);
        else
                sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        sym_curl_slist_free_all(l);
        return k < 0 ? k : status;
oom:
        sym_curl_slist_free_all(l);
        return -ENOMEM;
}

/* Delivers one row and acts on the answer. Returns -ECANCELED when stopped mid-transfer. */
static int deliver(Webhooks *w, const WebhookSettings *set, WebhookSpool *s, CURL *h, const WebhookRow *row) {
        const WebhookTarget *t = settings_find(set, row->webhook);
        char ub[256], detail[CURL_ERROR_SIZE + 64] = "";
        usec_t now = now_real(), d;
        long status;

        if (!t) {
                (void) webhook_spool_finish(s, row->id, WEBHOOK_STAT_DROPPED);
                log_row(LOG_WARNING, NFTJAIL_MID_WEBHOOK_FAILED, row, "dropped: the webhook is no longer configured");
                return 0;
        }
        if (!t->usable) {
                (void) webhook_spool_finish(s, row->id, WEBHOOK_STAT_DROPPED);
                log_row(LOG_WARNING, NFTJAIL_MID_WEBHOOK_FAILED, row, "dropped: its token_file cannot be read");
                return 0;
        }
        if (webhook_expired(row->created, row->attempts, now)) {
                (void) webhook_spool_finish(s, row->id, WEBHOOK_STAT_EXPIRED);
                log_row(LOG_WARNING, NFTJAIL_MID_WEBHOOK_FAILED, row, "dropped after %u attempts over %llus", row->attempts,
                        (unsigned long long) ((now - MIN(now, row->created)) / USEC_PER_SEC));
                return 0;
        }
        status = post(w, h, t, row, detail, sizeof detail);
        if (status == -ECANCELED)
                return -ECANCELED;
        webhook_url_redact(t->url, ub, sizeof ub);
        switch (webhook_classify(status < 0 ? 0 : status)) {
        case WEBHOOK_DELIVERED:
                (void) webhook_spool_finish(s, row->id, WEBHOOK_STAT_DELIVERED);
                log_row(LOG_INFO, NFTJAIL_MID_WEBHOOK_SENT, row, "delivered to %s (HTTP %ld)", ub, status);
                break;
        case WEBHOOK_RETRY:
                d = webhook_backoff(row->attempts);
                (void) webhook_spool_reschedule(s, row->id, row->webhook, row->attempts + 1, now_real() + d);
                /* the first failure of an event at warning, the retries at debug: a receiver down
                 * for an hour is one line per event, not one per attempt */
                if (status < 0)
                        log_row(row->attempts == 0 ? LOG_WARNING : LOG_DEBUG, NULL, row, "not delivered to %s (%s); retrying in %llus",
                                ub, detail[0] ? detail : strerror((int) -status), (unsigned long long) (d / USEC_PER_SEC));
                else
                        log_row(row->attempts == 0 ? LOG_WARNING : LOG_DEBUG, NULL, row, "not delivered to %s (HTTP %ld); retrying in %llus",
                                ub, status, (unsigned long long) (d / USEC_PER_SEC));
                break;
        default:
                (void) webhook_spool_finish(s, row->id, WEBHOOK_STAT_REJECTED);
                log_row(LOG_WARNING, NFTJAIL_MID_WEBHOOK_FAILED, row, "refused by %s (HTTP %ld), dropped%s", ub, status,
                        status >= 300 && status < 400 ? " (redirects are not followed: give the final URL)" : "");
        }
        return 0;
}

static void *webhook_thread(void *userdata) {
        Webhooks *w = userdata;
        WebhookSettings *set = NULL;
        WebhookSpool *s = NULL;
        CURL *h = NULL;
        int k;

        k = webhook_spool_open(w->state_dir, false, &s);
        if (k < 0) {
                log_error_errno(k, "webhooks: cannot open %s/%s, not sending: %m", w->state_dir, SPOOL_FILE);
                goto finish;
        }
        h = sym_curl_easy_init();
        if (!h) {
                log_oom();
                goto finish;
        }
        for (;;) {
                WebhookRow row;
                usec_t now = now_real();
                bool stop;

                set = worker_take(w->worker, set, NULL);
                worker_lock(w->worker);
                stop = worker_stopping(w->worker);
                worker_unlock(w->worker);
                if (stop)
                        break;
                k = webhook_spool_next_due(s, now, &row);
                if (k == 0) {
                        worker_wait_until(w->worker, webhook_spool_next_time(s), NULL, NULL);
                        continue;
                }
                if (k < 0) {
                        log_warning("webhooks: reading the queue failed, retrying");
                        worker_wait_until(w->worker, now + 5 * USEC_PER_SEC, NULL, NULL);
                        continue;
                }
                k = deliver(w, set, s, h, &row);
                webhook_row_done(&row);
                if (k == -ECANCELED)
                        break;
        }
finish:
        if (h)
                sym_curl_easy_cleanup(h);
        webhook_spool_free(s);
        settings_unref(set);
        return NULL;
}

/* ---- main thread ---- */

Webhooks *webhooks_free(Webhooks *w) {
        if (!w)
                return NULL;
        if (w->started) {
                if (worker_stop_join(w->worker, JOIN_TIMEOUT_SEC) < 0) {
                        /* at exit only: still inside libcurl or SQLite; the process ends with it */
                        log_warning("webhook sender did not stop within %ds; leaving it", JOIN_TIMEOUT_SEC);
                        webhook_spool_free(w->spool);
                        return NULL;
                }
                sym_curl_global_cleanup();
        }
        webhook_spool_free(w->spool);
        settings_unref(w->settings);
        worker_free(w->worker);
        free(w->state_dir);
        free(w);
        return NULL;
}

int webhooks_apply(Webhooks *w, const Config *c) {
        WebhookSettings *set;
        int k;

        k = settings_new(c, &set);
        if (k < 0)
                return log_oom();
        settings_unref(w->settings);
        w->settings = set;
        if (w->started) /* the first ones go with worker_start() */
                worker_hand(w->worker, settings_ref(set));
        log_info("webhooks: %zu configured; %lld event(s) queued", set->n, (long long) webhook_spool_pending(w->spool));
        return 0;
}

int webhooks_new(const Config *c, const char *state_dir, Webhooks **ret) {
        char host[256] = "";
        Webhooks *w;
        int k;

        k = http_dl();
        if (k < 0)
                return k;
        w = calloc(1, sizeof *w);
        if (!w)
                return log_oom();
        k = worker_new(settings_unref_void, &w->worker);
        if (k < 0) {
                free(w);
                return log_oom();
        }
        (void) gethostname(host, sizeof host - 1);
        webhook_host_sanitize(host, w->host, sizeof w->host);
        w->state_dir = strdup(state_dir);
        if (!w->state_dir) {
                k = log_oom();
                goto fail;
        }
        k = webhook_spool_open(state_dir, false, &w->spool);
        if (k < 0) {
                log_error_errno(k, "webhooks: cannot open %s/%s: %m", state_dir, SPOOL_FILE);
                goto fail;
        }
        (void) webhook_spool_set_autocheckpoint(w->spool, 0); /* the state's checkpoint thread does them */
        k = webhooks_apply(w, c);
        if (k < 0)
                goto fail;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                k = log_error_errno(EIO, "failed to initialise libcurl");
                goto fail;
        }
        k = worker_start(w->worker, webhook_thread, w, settings_ref(w->settings));
        if (k < 0) {
                sym_curl_global_cleanup();
                log_error_errno(k, "failed to start the webhook thread: %m");
                goto fail;
        }
        w->started = true;
        *ret = w;
        return 0;
fail:
        webhooks_free(w);
        return k;
}

static void event_id_new(char *buf) {
        uint8_t b[WEBHOOK_EVENT_ID_LEN / 2];

        if (getrandom(b, sizeof b, GRND_NONBLOCK) != (ssize_t) sizeof b) {
                /* no entropy at all: time and a counter still make it unique on this host */
                static atomic_uint_fast64_t ctr;
                uint64_t t = now_usec(CLOCK_REALTIME), c = atomic_fetch_add(&ctr, 1);
                memcpy(b, &t, 8);
                memcpy(b + 8, &c, 8);
        }
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(buf + 2 * i, 3, "%02x", b[i]);
}

int webhooks_submit(Webhooks *w, const JailConf *jc, WebhookKind kind, const Addr *a, uint8_t prefixlen, unsigned failures,
                    int64_t bantime_sec) {
        WebhookEvent ev = { .kind = kind, .addr = *a, .prefix = { .addr = *a, .prefixlen = prefixlen }, .time = now_real() };
        bool queued = false;
        int k;

        addr_mask(&ev.prefix.addr, prefixlen);
        webhook_name_sanitize(jc->name, ev.jail, sizeof ev.jail);
        snprintf(ev.host, sizeof ev.host, "%s", w->host);
        if (kind == WEBHOOK_KIND_BAN) {
                ev.failures = failures;
                ev.bantime_sec = bantime_sec;
                ev.expires = bantime_sec < 0 ? 0 : ev.time + (usec_t) bantime_sec * USEC_PER_SEC;
        }
        for (size_t i = 0; i < jc->n_webhooks; i++) {
                const WebhookConf *wc = &jc->webhooks[i];
                WebhookRow row = { .created = ev.time };
                unsigned dropped = 0;

                event_id_new(ev.id);
                k = webhook_render(wc->format, &ev, &row.body, &row.title);
                if (k < 0)
                        return log_oom();
                snprintf(row.event_id, sizeof row.event_id, "%s", ev.id);
                snprintf(row.webhook, sizeof row.webhook, "%s", wc->id);
                snprintf(row.kind, sizeof row.kind, "%s", webhook_kind_to_string(kind));
                snprintf(row.jail, sizeof row.jail, "%s", jc->name);
                addr_to_string(a, row.addr, sizeof row.addr);
                snprintf(row.content_type, sizeof row.content_type, "%s", webhook_content_type(wc->format));
                k = webhook_spool_insert(w->spool, &row, &dropped);
                webhook_row_done(&row);
                if (k < 0) {
                        log_error_errno(k, "%s: cannot queue the webhook event for %s: %m", jc->name, wc->id);
                        continue;
                }
                if (dropped > 0)
                        log_warning("webhooks: more than %d events queued; dropped the %u oldest", WEBHOOK_SPOOL_MAX, dropped);
                queued = true;
        }
        if (queued)
                worker_kick(w->worker);
        return 0;
}
