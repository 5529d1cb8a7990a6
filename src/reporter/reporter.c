/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "abuseipdb.h"
#include "http.h"
#include "log-ids.h"
#include "log.h"
#include "reporter-settings.h"
#include "reporter.h"
#include "spool.h"
#include "util/macro.h"
#include "util/string-util.h"
#include "worker.h"

#define JOIN_TIMEOUT_SEC 10
#define SPOOL_MAIN_AUTOCHECKPOINT 0 /* never: the state's checkpoint thread does them (store.h) */

/* The thread, as the main thread sees it. A new thread starts only once the last one is joined,
 * so that two never post the same spool row. */
typedef enum ThreadState {
        THREAD_NONE,            /* not started, or joined */
        THREAD_RUNNING,
        THREAD_STOPPING,        /* asked to stop after its request under way; joined once it says so */
} ThreadState;

struct Reporter {
        /* immutable after reporter_new() */
        char **self_names, **self_addrs;
        char *state_dir;

        /* main thread only */
        ReporterSettings *settings;     /* the running configuration's (the comment template) */
        Spool *spool;
        sd_event_source *event_source;
        int efd;
        uint64_t ring_dropped_logged;
        ThreadState state;
        bool restart;           /* start a thread again once the stopping one is joined */
        Worker *worker;         /* the thread, its stop request and its settings */

        /* shared, under worker_lock() */
        Report *ring;
        size_t head, count;
        uint64_t ring_dropped;

        atomic_bool exited;     /* the thread is past its last use of anything but r->efd */
        atomic_uint_fast64_t n_sent, n_failed;
};

/* ---- HTTP ---- */

typedef struct Headers {
        char retry_after[32];
        char reset[32];
} Headers;

static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen) {
        size_t n = strlen(name), k = 0;

        if (len <= n || strncasecmp(line, name, n) != 0)
                return;
        line += n, len -= n;
        while (len > 0 && (*line == ' ' || *line == '\t'))
                line++, len--;
        while (k + 1 < outlen && len > 0 && *line != '\r' && *line != '\n')
                out[k++] = *line++, len--;
        out[k] = 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata) {
        Headers *h = userdata;

        header_value(p, size * n, "Retry-After:", h->retry_after, sizeof h->retry_after);
        header_value(p, size * n, "X-RateLimit-Reset:", h->reset, sizeof h->reset);
        return size * n;
}

/* Sets up h for one request; the caller adds method and body. */
static struct curl_slist *reporter_http_setup(CURL *h, const char *url, const char *key, unsigned timeout_sec,
                                              HttpBuf *body, Headers *hdr, atomic_bool *stop) {
        struct curl_slist *l = NULL, *n;
        _cleanup_free_ char *kh = NULL;

        http_setup(h, url, timeout_sec, body, stop);
        if (asprintf(&kh, "Key: %s", key) < 0)
                return NULL;
        n = sym_curl_slist_append(l, kh);
        explicit_bzero(kh, strlen(kh));
        if (!n)
                return NULL;
        l = n;
        n = sym_curl_slist_append(l, "Accept: application/json");
        if (!n) {
                sym_curl_slist_free_all(l);
                return NULL;
        }
        l = n;
        sym_curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
        sym_curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        sym_curl_easy_setopt(h, CURLOPT_HEADERDATA, hdr);
        return l;
}

long reporter_check(const char *base_url, const char *key, const Addr *a, unsigned timeout_sec, char **ret_body,
                    size_t *ret_len, char *ret_error, size_t error_len) {
        _cleanup_free_ char *url = NULL;
        char as[ADDR_STRLEN], errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cc;
        CURL *h;
        HttpBuf body = { .keep = true };
        Headers hdr = {};
        struct curl_slist *l;
        long status = 0;
        int r;

        if (!reporter_key_ok(key))
                return -EINVAL;
        /* an address string needs no escaping ("2001:db8::1" is fine in a query) */
        if (asprintf(&url, "%s/check?ipAddress=%s&maxAgeInDays=90", base_url, addr_to_string(a, as, sizeof as)) < 0)
                return -ENOMEM;
        r = http_dl();
        if (r < 0)
                return r;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        h = sym_curl_easy_init();
        if (!h) {
                sym_curl_global_cleanup();
                return -ENOMEM;
        }
        l = reporter_http_setup(h, url, key, timeout_sec, &body, &hdr, NULL);
        if (!l) {
                sym_curl_easy_cleanup(h);
                sym_curl_global_cleanup();
                return -ENOMEM;
        }
        sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        cc = sym_curl_easy_perform(h);
        r = http_map_curl(cc);
        if (r < 0 && ret_error && error_len > 0)
                http_failure(cc, errbuf, ret_error, error_len);
        if (r >= 0)
                sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        sym_curl_slist_free_all(l);
        sym_curl_easy_cleanup(h);
        sym_curl_global_cleanup();
        if (r < 0) {
                free(body.data);
                return r;
        }
        *ret_body = body.data;
        *ret_len = body.len;
        return status;
}

/* ---- the ring (under lock) ---- */

static void ring_push(Reporter *r, const Report *rep) {
        if (r->count == REPORTER_QUEUE_MAX) {
                /* drop the oldest; it stays in the spool, where the thread finds it later */
                r->head = (r->head + 1) % REPORTER_QUEUE_MAX;
                r->count--;
                r->ring_dropped++;
        }
        r->ring[(r->head + r->count) % REPORTER_QUEUE_MAX] = *rep;
        r->count++;
}

static bool ring_pop(Reporter *r, Report *ret) {
        if (r->count == 0)
                return false;
        *ret = r->ring[r->head];
        r->head = (r->head + 1) % REPORTER_QUEUE_MAX;
        r->count--;
        return true;
}

/* ---- the thread ---- */

static usec_t now_real(void) {
        return now_usec(CLOCK_REALTIME);
}

static double rnd01(void) {
        uint32_t v = 0;

        if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
                v = (uint32_t) now_usec(CLOCK_MONOTONIC);
        return (double) v / 4294967296.0;
}

static bool ring_pending(void *userdata) {
        Reporter *r = userdata;
        return r->count > 0;
}

/* Sleeps until realtime t, a submit, new settings or stop. */
static void wait_until(Reporter *r, usec_t t) {
        worker_wait_until(r->worker, t, ring_pending, r);
}

static void notify_loop(Reporter *r) {
        uint64_t one = 1;
        (void) !write(r->efd, &one, sizeof one);
}

static void log_report(int level, const char *mid, const Report *rep, const char *fmt, const char *detail, int score) {
        char as[ADDR_STRLEN], fj[100], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(&rep->addr, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", rep->jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        if (score >= 0)
                log_event(level, 0, mid, fields, "%s: %s %s to AbuseIPDB (confidence score %d)", rep->jail, fmt, as, score);
        else
                log_event(level, 0, mid, fields, "%s: %s %s to AbuseIPDB: %s", rep->jail, fmt, as, detail);
}

/* Sends one report and acts on the reply. Returns -ECANCELED when stopping mid-transfer. */
static int report_one(Reporter *r, const ReporterSettings *set, Spool *s, CURL *h, Report *rep, usec_t *paused_until) {
        _cleanup_free_ char *fields = NULL, *url = NULL;
        char as[ADDR_STRLEN], ts[40];
        char *e_ip = NULL, *e_cat = NULL, *e_comment = NULL, *e_ts = NULL;
        const char *key = reporter_settings_key_for(set, rep->jail);
        usec_t now = now_real(), last;
        int64_t day = (int64_t) (now / (86400 * USEC_PER_SEC));
        struct curl_slist *l;
        Headers hdr = {};
        ReportReply reply;
        HttpBuf body = { .keep = true };
        char errbuf[CURL_ERROR_SIZE] = "";
        CURLcode cc;
        long status = 0;
        int k;

        last = spool_last_reported(s, &rep->addr);
        if (last > 0 && now >= last && now - last < ABUSEIPDB_SAME_IP_USEC) {
                /* AbuseIPDB would refuse it: its report from minutes ago stands for this one */
                (void) spool_finish(s, rep->id, SPOOL_STAT_COALESCED, NULL, 0);
                log_report(LOG_INFO, NULL, rep, "not reporting", "reported less than 15 minutes ago", -1);
                return 0;
        }
        if (!key) {
                (void) spool_finish(s, rep->id, SPOOL_STAT_FAILED, NULL, 0);
                atomic_fetch_add(&r->n_failed, 1);
                log_report(LOG_WARNING, NFTJAIL_MID_REPORT_FAILED, rep, "cannot report", "no API key configured", -1);
                return 0;
        }
        if (spool_stat_get(s, SPOOL_STAT_QUOTA_DAY) != day) {
                (void) spool_stat_set(s, SPOOL_STAT_QUOTA_DAY, day);
                (void) spool_stat_set(s, SPOOL_STAT_QUOTA_USED, 0);
        }
        if (spool_stat_get(s, SPOOL_STAT_QUOTA_USED) >= set->daily_quota) {
                *paused_until = (usec_t) (day + 1) * 86400 * USEC_PER_SEC;
                (void) spool_stat_set(s, SPOOL_STAT_PAUSED_UNTIL, (int64_t) *paused_until);
                log_warning("AbuseIPDB: daily_quota of %u reports used; pausing until the next UTC day", set->daily_quota);
                return -EDQUOT;
        }

        addr_to_string(&rep->addr, as, sizeof as);
        abuseipdb_timestamp(rep->timestamp, ts, sizeof ts);
        if (asprintf(&url, "%s/report", set->url) < 0)
                return -ENOMEM;
        e_ip = sym_curl_easy_escape(h, as, 0);
        e_cat = sym_curl_easy_escape(h, rep->categories, 0);
        e_comment = sym_curl_easy_escape(h, rep->comment, 0);
        e_ts = sym_curl_easy_escape(h, ts, 0);
        if (e_ip && e_cat && e_comment && e_ts &&
            asprintf(&fields, "ip=%s&categories=%s&comment=%s&timestamp=%s", e_ip, e_cat, e_comment, e_ts) < 0)
                fields = NULL;
        sym_curl_free(e_ip);
        sym_curl_free(e_cat);
        sym_curl_free(e_comment);
        sym_curl_free(e_ts);
        if (!fields)
                return -ENOMEM;

        l = reporter_http_setup(h, url, key, set->timeout_sec, &body, &hdr, worker_abort_flag(r->worker));
        if (!l)
                return -ENOMEM;
        sym_curl_easy_setopt(h, CURLOPT_POSTFIELDS, fields);
        sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        cc = sym_curl_easy_perform(h);
        k = http_map_curl(cc);
        sym_curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL); /* the handle outlives errbuf */
        sym_curl_slist_free_all(l);
        if (k == -ECANCELED) {
                free(body.data);
                return k;
        }
        if (k >= 0) {
                sym_curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
                (void) spool_stat_set(s, SPOOL_STAT_QUOTA_USED, spool_stat_get(s, SPOOL_STAT_QUOTA_USED) + 1);
        }
        now = now_real();
        abuseipdb_classify(status, body.data, body.len, hdr.retry_after, hdr.reset, now, rep->attempts, rnd01(), &reply);
        if (k < 0)
                http_failure(cc, errbuf, reply.detail, sizeof reply.detail);
        free(body.data);

        switch (reply.outcome) {
        case REPORT_ACCEPTED:
        case REPORT_DUPLICATE:
                (void) spool_finish(s, rep->id, SPOOL_STAT_SENT, &rep->addr, now);
                atomic_fetch_add(&r->n_sent, 1);
                if (reply.outcome == REPORT_ACCEPTED)
                        log_report(LOG_INFO, NFTJAIL_MID_REPORT_SENT, rep, "reported", NULL, reply.score);
                else
                        log_report(LOG_INFO, NFTJAIL_MID_REPORT_SENT, rep, "reported", "AbuseIPDB has a report from the last 15 minutes", -1);
                break;
        case REPORT_RATE_LIMITED:
                *paused_until = reply.retry_at;
                (void) spool_stat_set(s, SPOOL_STAT_PAUSED_UNTIL, (int64_t) reply.retry_at);
                (void) spool_reschedule(s, rep->id, rep->attempts, reply.retry_at);
                log_warning("AbuseIPDB: daily rate limit reached (%s); pausing reports for %llus", reply.detail,
                            (unsigned long long) ((reply.retry_at - MIN(now, reply.retry_at)) / USEC_PER_SEC));
                break;
        case REPORT_RETRY:
                (void) spool_reschedule(s, rep->id, rep->attempts + 1, reply.retry_at);
                log_warning("%s: report of %s failed (%s); retrying in %llus", rep->jail, as, reply.detail,
                            (unsigned long long) ((reply.retry_at - MIN(now, reply.retry_at)) / USEC_PER_SEC));
                break;
        default:
                (void) spool_finish(s, rep->id, SPOOL_STAT_FAILED, NULL, 0);
                atomic_fetch_add(&r->n_failed, 1);
                log_report(LOG_WARNING, NFTJAIL_MID_REPORT_FAILED, rep, "AbuseIPDB refused the report of", reply.detail, -1);
        }
        return 0;
}

static void *reporter_thread(void *userdata) {
        Reporter *r = userdata;
        ReporterSettings *set = NULL;
        Spool *s = NULL;
        CURL *h = NULL;
        usec_t paused_until;
        bool quota_pause = false;
        int k;

        set = worker_take(r->worker, set, NULL); /* thread_start() left the first ones */
        k = spool_open(r->state_dir, false, &s);
        if (k < 0) {
                log_error_errno(k, "AbuseIPDB reporter: cannot open %s/%s, not reporting: %m", r->state_dir, SPOOL_FILE);
                goto finish;
        }
        h = sym_curl_easy_init();
        if (!h) {
                log_oom();
                goto finish;
        }
        paused_until = (usec_t) spool_stat_get(s, SPOOL_STAT_PAUSED_UNTIL);
        for (;;) {
                Report rep;
                usec_t now = now_real();
                bool have, changed;

                set = worker_take(r->worker, set, &changed);
                if (changed && quota_pause) {
                        /* our own daily_quota may have changed: report_one() looks again */
                        paused_until = 0;
                        quota_pause = false;
                }
                worker_lock(r->worker);
                if (worker_stopping(r->worker)) {
                        worker_unlock(r->worker);
                        break;
                }
                have = ring_pop(r, &rep);
                worker_unlock(r->worker);

                if (!set || now < paused_until) {
                        wait_until(r, set ? paused_until : USEC_INFINITY);
                        continue;
                }
                if (have) {
                        /* sent from the spool already, dropped, or tried and rescheduled: then the
                         * spool has the say */
                        if (!spool_is_due(s, rep.id, now))
                                continue;
                } else {
                        k = spool_next_due(s, now, &rep);
                        if (k == 0) {
                                wait_until(r, spool_next_time(s));
                                continue;
                        }
                        if (k < 0) {
                                log_warning("AbuseIPDB reporter: reading the spool failed, retrying");
                                wait_until(r, now + 5 * USEC_PER_SEC);
                                continue;
                        }
                }
                k = report_one(r, set, s, h, &rep, &paused_until);
                if (k == -ECANCELED)
                        break;
                if (k == -EDQUOT) {
                        quota_pause = true;
                        k = 0;
                }
                if (k < 0)
                        wait_until(r, now_real() + USEC_PER_SEC);
                notify_loop(r);
        }
finish:
        if (h)
                sym_curl_easy_cleanup(h);
        spool_free(s);
        reporter_settings_unref(set);
        /* last: the loop joins us once it reads this (on_event()) */
        atomic_store(&r->exited, true);
        notify_loop(r);
        return NULL;
}

/* ---- main thread ---- */

static void settings_unref_void(void *s) {
        reporter_settings_unref(s);
}

static int thread_start(Reporter *r);

/* The thread says it sent, failed, or ended. An ended thread is joined here (it is past its
 * last step, so the join does not wait), and a new one started if a reload asked for it meanwhile. */
static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Reporter *r = userdata;
        uint64_t v;

        (void) !read(fd, &v, sizeof v);
        log_debug("AbuseIPDB: %llu reported, %llu failed since start", (unsigned long long) atomic_load(&r->n_sent),
                  (unsigned long long) atomic_load(&r->n_failed));
        if (r->state == THREAD_NONE || !atomic_load(&r->exited))
                return 0;
        worker_join(r->worker);
        r->state = THREAD_NONE;
        if (r->restart) {
                r->restart = false;
                (void) thread_start(r);
        } else
                log_info("AbuseIPDB: reporter stopped; %lld report(s) stay spooled", (long long) spool_pending(r->spool));
        return 0;
}

static int self_load(Reporter *r) {
        struct ifaddrs *ifa = NULL;
        char host[256] = "";

        if (gethostname(host, sizeof host - 1) == 0 && host[0]) {
                char *dot;
                if (strv_extend(&r->self_names, host) < 0)
                        return -ENOMEM;
                dot = strchr(host, '.');
                if (dot && dot != host) {
                        *dot = 0;
                        if (strv_extend(&r->self_names, host) < 0)
                                return -ENOMEM;
                }
        }
        if (getifaddrs(&ifa) < 0)
                return 0;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                char as[ADDR_STRLEN];
                Addr a = {};

                if (!i->ifa_addr)
                        continue;
                if (addr_from_sockaddr(i->ifa_addr, &a) < 0)
                        continue;
                if (strv_extend(&r->self_addrs, addr_to_string(&a, as, sizeof as)) < 0) {
                        freeifaddrs(ifa);
                        return -ENOMEM;
                }
        }
        freeifaddrs(ifa);
        return 0;
}

static void reporter_free_data(Reporter *r) {
        reporter_settings_unref(r->settings);
        worker_free(r->worker);
        free(r->state_dir);
        strv_free(r->self_names);
        strv_free(r->self_addrs);
        free(r->ring);
        free(r);
}

Reporter *reporter_free(Reporter *r) {
        if (!r)
                return NULL;
        if (r->state != THREAD_NONE) {
                if (worker_stop_join(r->worker, JOIN_TIMEOUT_SEC) < 0) {
                        /* at exit only (a reload never gets here): still inside libcurl or SQLite,
                         * leave it its memory, the process ends with it */
                        log_warning("AbuseIPDB reporter did not stop within %ds; leaving it", JOIN_TIMEOUT_SEC);
                        sd_event_source_disable_unref(r->event_source);
                        spool_free(r->spool);
                        return NULL;
                }
        }
        sd_event_source_disable_unref(r->event_source);
        if (r->efd >= 0)
                close(r->efd);
        spool_free(r->spool);
        reporter_free_data(r);
        sym_curl_global_cleanup();
        return NULL;
}

/* Starts a thread on r->settings. Main thread, with none running. */
static int thread_start(Reporter *r) {
        int k;

        assert(r->state == THREAD_NONE);
        atomic_store(&r->exited, false);
        k = worker_start(r->worker, reporter_thread, r, reporter_settings_ref(r->settings));
        if (k < 0)
                return log_error_errno(k, "failed to start the reporter thread: %m");
        r->state = THREAD_RUNNING;
        log_info("AbuseIPDB: reporting to %s (daily quota %u); %lld report(s) pending", r->settings->url,
                 r->settings->daily_quota, (long long) spool_pending(r->spool));
        return 0;
}

void reporter_stats(Reporter *r, ReporterStats *ret) {
        usec_t now = now_real();
        int64_t day = (int64_t) (now / (86400 * USEC_PER_SEC)), used;

        used = spool_stat_get(r->spool, SPOOL_STAT_QUOTA_DAY) == day ? spool_stat_get(r->spool, SPOOL_STAT_QUOTA_USED) : 0;
        *ret = (ReporterStats) {
                .sent = spool_stat_get(r->spool, SPOOL_STAT_SENT),
                .failed = spool_stat_get(r->spool, SPOOL_STAT_FAILED),
                .dropped = spool_stat_get(r->spool, SPOOL_STAT_DROPPED),
                .coalesced = spool_stat_get(r->spool, SPOOL_STAT_COALESCED),
                .pending = spool_pending(r->spool),
                .quota_left = MAX((int64_t) r->settings->daily_quota - used, (int64_t) 0),
                .paused = (usec_t) spool_stat_get(r->spool, SPOOL_STAT_PAUSED_UNTIL) > now,
        };
}

int reporter_apply(Reporter *r, const Config *c, bool enabled) {
        ReporterSettings *set = NULL;
        int k;

        if (!enabled) {
                r->restart = false;
                if (r->state != THREAD_RUNNING)
                        return 0;
                /* after the request under way, which is neither cut (it would be sent again) nor
                 * waited for here: on_event() joins the thread when it says it ended */
                worker_request_stop(r->worker);
                r->state = THREAD_STOPPING;
                log_info("AbuseIPDB: reporting turned off; the reporter stops after the request under way");
                return 0;
        }
        k = reporter_settings_new(c, &set);
        if (k < 0)
                return k;
        reporter_settings_unref(r->settings);
        r->settings = set;
        switch (r->state) {
        case THREAD_NONE:
                return thread_start(r);
        case THREAD_STOPPING:
                /* never two threads: the next starts once this one is joined, on these settings */
                r->restart = true;
                return 0;
        case THREAD_RUNNING:
                worker_hand(r->worker, reporter_settings_ref(set));
                log_info("AbuseIPDB: reporting to %s (daily quota %u); %lld report(s) pending", set->url,
                         set->daily_quota, (long long) spool_pending(r->spool));
                return 0;
        }
        return 0;
}

int reporter_new(sd_event *e, const Config *c, const char *state_dir, Reporter **ret) {
        Reporter *r;
        int k;

        k = http_dl();
        if (k < 0)
                return k;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return log_error_errno(EIO, "failed to initialise libcurl");
        r = calloc(1, sizeof *r);
        if (!r) {
                sym_curl_global_cleanup();
                return log_oom();
        }
        r->efd = -EBADF;
        r->state_dir = strdup(state_dir);
        r->ring = calloc(REPORTER_QUEUE_MAX, sizeof(Report));
        if (worker_new(settings_unref_void, &r->worker) < 0 || !r->state_dir || !r->ring || self_load(r) < 0) {
                k = log_oom();
                goto fail;
        }
        k = spool_open(state_dir, false, &r->spool);
        if (k < 0) {
                log_error_errno(k, "AbuseIPDB: cannot open %s/%s: %m", state_dir, SPOOL_FILE);
                goto fail;
        }
        (void) spool_set_autocheckpoint(r->spool, SPOOL_MAIN_AUTOCHECKPOINT);
        r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (r->efd < 0) {
                k = log_error_errno(errno, "eventfd: %m");
                goto fail;
        }
        k = sd_event_add_io(e, &r->event_source, r->efd, EPOLLIN, on_event, r);
        if (k < 0) {
                log_error_errno(k, "failed to watch the reporter's eventfd: %m");
                goto fail;
        }
        k = reporter_apply(r, c, true);
        if (k < 0)
                goto fail;
        *ret = r;
        return 0;
fail:
        reporter_free(r);
        return k;
}

int reporter_submit_ban(Reporter *r, const JailConf *jc, const Addr *a, unsigned failures, usec_t last_failure,
                        const char *evidence) {
        _cleanup_free_ char *lines = NULL, *comment = NULL;
        char as[ADDR_STRLEN];
        Report rep = {};
        uint64_t ring_dropped;
        unsigned dropped = 0;
        int k;

        addr_to_string(a, as, sizeof as);
        if (evidence) {
                /* sanitise line by line into a buffer with room for the placeholders */
                size_t n = strlen(evidence), size = n * 2 + 64, used = 0;
                const char *p = evidence;

                lines = malloc(size);
                if (!lines)
                        return -ENOMEM;
                while (*p) {
                        size_t l = strcspn(p, "\n"), room = size - used;
                        char *line = malloc(l * 2 + 64);
                        if (!line)
                                return -ENOMEM;
                        memcpy(line, p, l);
                        l = abuseipdb_sanitize(line, l, l * 2 + 64, (const char *const *) r->self_names,
                                               (const char *const *) r->self_addrs);
                        if (l + 2 < room) {
                                if (used)
                                        lines[used++] = '\n';
                                memcpy(lines + used, line, l);
                                used += l;
                        }
                        free(line);
                        p += strcspn(p, "\n");
                        if (*p)
                                p++;
                }
                lines[used] = 0;
        }
        comment = abuseipdb_comment(r->settings->comment_tmpl, jc->name, failures, jc->findtime_sec, as, lines);
        if (!comment)
                return -ENOMEM;
        rep.addr = *a;
        snprintf(rep.jail, sizeof rep.jail, "%s", jc->name);
        snprintf(rep.categories, sizeof rep.categories, "%s", jc->abuseipdb_categories ?: "18");
        snprintf(rep.comment, sizeof rep.comment, "%s", comment);
        rep.timestamp = last_failure ?: now_real();
        k = spool_insert(r->spool, &rep, &dropped);
        if (k < 0)
                return log_error_errno(k, "%s: cannot spool the AbuseIPDB report of %s, not reporting it: %m", jc->name, as);
        if (dropped > 0)
                log_warning("AbuseIPDB: more than %d reports pending; dropped the %u oldest", SPOOL_MAX_PENDING, dropped);
        worker_lock(r->worker);
        ring_push(r, &rep);
        ring_dropped = r->ring_dropped;
        worker_unlock(r->worker);
        worker_wake(r->worker);
        /* the ring only carries reports to the thread faster: a dropped one stays in the spool,
         * where the thread finds it once the ring is empty */
        if (ring_dropped != r->ring_dropped_logged && (r->ring_dropped_logged == 0 || ring_dropped % 1000 == 0)) {
                log_warning("AbuseIPDB: reporter queue full (%d); %llu report(s) dropped from it so far, "
                            "they stay spooled", REPORTER_QUEUE_MAX, (unsigned long long) ring_dropped);
                r->ring_dropped_logged = ring_dropped;
        }
        return 0;
}
