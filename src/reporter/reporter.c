/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "abuseipdb.h"
#include "log-ids.h"
#include "log.h"
#include "reporter.h"
#include "spool.h"
#include "util/dlopen-util.h"
#include "util/macro.h"
#include "util/string-util.h"

#define CURL_SONAME "libcurl.so.4"

/* libcurl is loaded when a reporter starts (or the CLI checks an address): a daemon without
 * [abuseipdb] never maps it nor its TLS, LDAP and Kerberos dependencies. */
DLSYM_POINTER(curl_global_init);
DLSYM_POINTER(curl_global_cleanup);
DLSYM_POINTER(curl_easy_init);
DLSYM_POINTER(curl_easy_cleanup);
DLSYM_POINTER(curl_easy_reset);
DLSYM_POINTER(curl_easy_setopt);
DLSYM_POINTER(curl_easy_perform);
DLSYM_POINTER(curl_easy_getinfo);
DLSYM_POINTER(curl_easy_escape);
DLSYM_POINTER(curl_free);
DLSYM_POINTER(curl_slist_append);
DLSYM_POINTER(curl_slist_free_all);
static void *curl_dl_handle;
static int curl_dl_result;
static pthread_once_t curl_dl_once = PTHREAD_ONCE_INIT;

static void curl_dl_load(void) {
        curl_dl_result = dlopen_many(CURL_SONAME, "for AbuseIPDB reports", &curl_dl_handle,
                                     DLSYM_ARG(curl_global_init),
                                     DLSYM_ARG(curl_global_cleanup),
                                     DLSYM_ARG(curl_easy_init),
                                     DLSYM_ARG(curl_easy_cleanup),
                                     DLSYM_ARG(curl_easy_reset),
                                     DLSYM_ARG(curl_easy_setopt),
                                     DLSYM_ARG(curl_easy_perform),
                                     DLSYM_ARG(curl_easy_getinfo),
                                     DLSYM_ARG(curl_easy_escape),
                                     DLSYM_ARG(curl_free),
                                     DLSYM_ARG(curl_slist_append),
                                     DLSYM_ARG(curl_slist_free_all),
                                     NULL);
}

/* Returns 0 when libcurl is loaded, -EOPNOTSUPP (logged once, naming the library) when not. */
static int curl_dl(void) {
        (void) pthread_once(&curl_dl_once, curl_dl_load);
        return curl_dl_result;
}

#define JOIN_TIMEOUT_SEC 10
#define IDLE_WAIT_USEC (60 * USEC_PER_SEC)
#define KEY_MAX 256
#define SPOOL_MAIN_AUTOCHECKPOINT 0 /* never: the state's checkpoint thread does them (store.h) */

typedef struct JailKey {
        char *jail;
        char *key;
} JailKey;

struct Reporter {
        /* immutable after reporter_new() */
        char *url;
        char *comment_tmpl;
        unsigned timeout_sec, daily_quota;
        char *default_key;
        JailKey *keys;
        size_t n_keys;
        char **self_names, **self_addrs;
        char *state_dir;

        /* main thread only */
        Spool *spool;
        sd_event_source *event_source;
        int efd;
        uint64_t ring_dropped_logged;

        /* shared, under lock */
        pthread_mutex_t lock;
        pthread_cond_t cond;
        Report *ring;
        size_t head, count;
        bool stopping;
        uint64_t ring_dropped;

        atomic_bool abort_transfer;
        atomic_uint_fast64_t n_sent, n_failed;
        pthread_t thread;
        bool thread_started;
};

/* ---- the key ---- */

static int read_key_file(const char *path, char **ret, bool *ret_loose) {
        _cleanup_close_ int fd = -EBADF;
        char buf[KEY_MAX + 1];
        struct stat st;
        ssize_t n;
        char *k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if (ret_loose)
                *ret_loose = (st.st_mode & 0044) != 0;
        n = read(fd, buf, sizeof buf);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        k = strstrip(buf);
        /* the key goes into an HTTP header: printable, no blanks, no CR/LF */
        if (!*k || strlen(k) >= KEY_MAX)
                return -EINVAL;
        for (const char *p = k; *p; p++)
                if (*p <= 0x20 || *p >= 0x7f)
                        return -EINVAL;
        *ret = strdup(k);
        explicit_bzero(buf, sizeof buf);
        return *ret ? 0 : -ENOMEM;
}

int reporter_load_key(const AbuseIPDBConf *c, char **ret_key, char **ret_source, bool *ret_loose) {
        const char *cred = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *p = NULL;
        int r;

        *ret_loose = false;
        if (cred && *cred) {
                if (asprintf(&p, "%s/abuseipdb_apikey", cred) < 0)
                        return -ENOMEM;
                r = read_key_file(p, ret_key, NULL); /* systemd made it ours alone */
                if (r != -ENOENT) {
                        if (r >= 0 && ret_source)
                                *ret_source = TAKE_PTR(p);
                        return r;
                }
        }
        if (!c->apikey_file)
                return -ENOENT;
        r = read_key_file(c->apikey_file, ret_key, ret_loose);
        if (r >= 0 && ret_source)
                *ret_source = strdup(c->apikey_file);
        return r;
}

static bool key_ok(const char *k) {
        if (!k || !*k || strlen(k) >= KEY_MAX)
                return false;
        for (; *k; k++)
                if (*k <= 0x20 || *k >= 0x7f)
                        return false;
        return true;
}

/* ---- HTTP ---- */

typedef struct Buf {
        char *data;
        size_t len;
        bool overflow;
} Buf;

static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
        Buf *b = userdata;
        size_t len = size * n;
        char *d;

        if (b->len + len > REPORTER_RESPONSE_MAX) {
                b->overflow = true;
                return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
        }
        d = realloc(b->data, b->len + len + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, p, len);
        b->len += len;
        d[b->len] = 0;
        b->data = d;
        return len;
}

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

static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
        atomic_bool *stop = userdata;
        return stop && atomic_load(stop) ? 1 : 0;
}

static bool url_is_loopback(const char *url) {
        return strncmp(url, "http://", 7) == 0 && abuseipdb_url_ok(url);
}

/* Sets up h for one request; the caller adds method and body. */
static struct curl_slist *http_setup(CURL *h, const char *url, const char *key, unsigned timeout_sec, Buf *body,
                                     Headers *hdr, atomic_bool *stop) {
        struct curl_slist *l = NULL, *n;
        _cleanup_free_ char *kh = NULL;

        sym_curl_easy_reset(h);
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
        sym_curl_easy_setopt(h, CURLOPT_URL, url);
        sym_curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
        sym_curl_easy_setopt(h, CURLOPT_USERAGENT, "nftjail/" NFTJAIL_VERSION);
        sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, url_is_loopback(url) ? "http,https" : "https");
        sym_curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        sym_curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        sym_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        sym_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        sym_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long) MIN(timeout_sec, 10U));
        sym_curl_easy_setopt(h, CURLOPT_TIMEOUT, (long) timeout_sec);
        sym_curl_easy_setopt(h, CURLOPT_PROXY, ""); /* not from the environment */
        sym_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        sym_curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long) REPORTER_RESPONSE_MAX);
        sym_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        sym_curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        sym_curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        sym_curl_easy_setopt(h, CURLOPT_HEADERDATA, hdr);
        sym_curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        sym_curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        sym_curl_easy_setopt(h, CURLOPT_XFERINFODATA, stop);
        return l;
}

static int map_curl(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        default:
                return -EIO;
        }
}

long reporter_check(const char *base_url, const char *key, const Addr *a, unsigned timeout_sec, char **ret_body,
                    size_t *ret_len) {
        _cleanup_free_ char *url = NULL;
        char as[ADDR_STRLEN];
        CURL *h;
        Buf body = {};
        Headers hdr = {};
        struct curl_slist *l;
        long status = 0;
        int r;

        if (!key_ok(key))
                return -EINVAL;
        /* an address string needs no escaping ("2001:db8::1" is fine in a query) */
        if (asprintf(&url, "%s/check?ipAddress=%s&maxAgeInDays=90", base_url, addr_to_string(a, as, sizeof as)) < 0)
                return -ENOMEM;
        r = curl_dl();
        if (r < 0)
                return r;
        if (sym_curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        h = sym_curl_easy_init();
        if (!h) {
                sym_curl_global_cleanup();
                return -ENOMEM;
        }
        l = http_setup(h, url, key, timeout_sec, &body, &hdr, NULL);
        if (!l) {
                sym_curl_easy_cleanup(h);
                sym_curl_global_cleanup();
                return -ENOMEM;
        }
        r = map_curl(sym_curl_easy_perform(h));
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

/* Sleeps until realtime t, a submit, or stop. */
static void wait_until(Reporter *r, usec_t t) {
        usec_t now = now_real();
        struct timespec ts;
        usec_t m;

        if (t <= now)
                return;
        m = now_usec(CLOCK_MONOTONIC) + MIN(t - now, IDLE_WAIT_USEC);
        ts.tv_sec = (time_t) (m / USEC_PER_SEC);
        ts.tv_nsec = (long) (m % USEC_PER_SEC) * 1000;
        pthread_mutex_lock(&r->lock);
        if (r->count == 0 && !r->stopping)
                (void) pthread_cond_timedwait(&r->cond, &r->lock, &ts);
        pthread_mutex_unlock(&r->lock);
}

static const char *key_for(const Reporter *r, const char *jail) {
        for (size_t i = 0; i < r->n_keys; i++)
                if (strcmp(r->keys[i].jail, jail) == 0)
                        return r->keys[i].key;
        return r->default_key;
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
static int report_one(Reporter *r, Spool *s, CURL *h, Report *rep, usec_t *paused_until) {
        _cleanup_free_ char *fields = NULL, *url = NULL;
        char as[ADDR_STRLEN], ts[40];
        char *e_ip = NULL, *e_cat = NULL, *e_comment = NULL, *e_ts = NULL;
        const char *key = key_for(r, rep->jail);
        usec_t now = now_real(), last;
        int64_t day = (int64_t) (now / (86400 * USEC_PER_SEC));
        struct curl_slist *l;
        Headers hdr = {};
        ReportReply reply;
        Buf body = {};
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
        if (spool_stat_get(s, SPOOL_STAT_QUOTA_USED) >= r->daily_quota) {
                *paused_until = (usec_t) (day + 1) * 86400 * USEC_PER_SEC;
                (void) spool_stat_set(s, SPOOL_STAT_PAUSED_UNTIL, (int64_t) *paused_until);
                log_warning("AbuseIPDB: daily_quota of %u reports used; pausing until the next UTC day", r->daily_quota);
                return 0;
        }

        addr_to_string(&rep->addr, as, sizeof as);
        abuseipdb_timestamp(rep->timestamp, ts, sizeof ts);
        if (asprintf(&url, "%s/report", r->url) < 0)
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

        l = http_setup(h, url, key, r->timeout_sec, &body, &hdr, &r->abort_transfer);
        if (!l)
                return -ENOMEM;
        sym_curl_easy_setopt(h, CURLOPT_POSTFIELDS, fields);
        k = map_curl(sym_curl_easy_perform(h));
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
                snprintf(reply.detail, sizeof reply.detail, "%s", strerror(-k));
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
        Spool *s = NULL;
        CURL *h = NULL;
        usec_t paused_until;
        int k;

        k = spool_open(r->state_dir, false, &s);
        if (k < 0) {
                log_error_errno(k, "AbuseIPDB reporter: cannot open %s/%s, not reporting: %m", r->state_dir, SPOOL_FILE);
                return NULL;
        }
        h = sym_curl_easy_init();
        if (!h) {
                log_oom();
                spool_free(s);
                return NULL;
        }
        paused_until = (usec_t) spool_stat_get(s, SPOOL_STAT_PAUSED_UNTIL);
        for (;;) {
                Report rep;
                usec_t now = now_real();
                bool have;

                pthread_mutex_lock(&r->lock);
                if (r->stopping) {
                        pthread_mutex_unlock(&r->lock);
                        break;
                }
                have = ring_pop(r, &rep);
                pthread_mutex_unlock(&r->lock);

                if (now < paused_until) {
                        wait_until(r, paused_until);
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
                k = report_one(r, s, h, &rep, &paused_until);
                if (k == -ECANCELED)
                        break;
                if (k < 0)
                        wait_until(r, now_real() + USEC_PER_SEC);
                notify_loop(r);
        }
        sym_curl_easy_cleanup(h);
        spool_free(s);
        return NULL;
}

/* ---- main thread ---- */

static int on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Reporter *r = userdata;
        uint64_t v;

        (void) !read(fd, &v, sizeof v);
        log_debug("AbuseIPDB: %llu reported, %llu failed since start", (unsigned long long) atomic_load(&r->n_sent),
                  (unsigned long long) atomic_load(&r->n_failed));
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
        if (r->default_key)
                explicit_bzero(r->default_key, strlen(r->default_key));
        free(r->default_key);
        for (size_t i = 0; i < r->n_keys; i++) {
                explicit_bzero(r->keys[i].key, strlen(r->keys[i].key));
                free(r->keys[i].key);
                free(r->keys[i].jail);
        }
        free(r->keys);
        free(r->url);
        free(r->comment_tmpl);
        free(r->state_dir);
        strv_free(r->self_names);
        strv_free(r->self_addrs);
        free(r->ring);
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
        free(r);
}

Reporter *reporter_free(Reporter *r) {
        if (!r)
                return NULL;
        if (r->thread_started) {
                struct timespec ts;
                int k;

                pthread_mutex_lock(&r->lock);
                r->stopping = true;
                pthread_cond_broadcast(&r->cond);
                pthread_mutex_unlock(&r->lock);
                atomic_store(&r->abort_transfer, true);
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += JOIN_TIMEOUT_SEC;
                k = pthread_timedjoin_np(r->thread, NULL, &ts);
                if (k != 0) {
                        /* still inside libcurl or SQLite: leave it its memory, the process ends */
                        log_warning("AbuseIPDB reporter did not stop within %ds; leaving it", JOIN_TIMEOUT_SEC);
                        (void) pthread_detach(r->thread);
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

/* Whether the file at path is world-readable and holds key. */
static bool file_leaks_key(const char *path, const char *key) {
        _cleanup_fclose_ FILE *f = NULL;
        char line[4096];
        struct stat st;
        bool found = false;

        f = fopen(path, "re");
        if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0004))
                return false;
        while (!found && fgets(line, sizeof line, f))
                found = strstr(line, key) != NULL;
        explicit_bzero(line, sizeof line);
        return found;
}

/* An inline abuseipdb_apikey in a jail file anyone can read: say which file (never the key). */
static void warn_loose_key_files(const char *dir, const JailConf *jc) {
        static const char *const top[] = { "jail.conf", "jail.local" };
        _cleanup_free_ char *jd = NULL;
        DIR *d;

        for (size_t i = 0; i < ELEMENTSOF(top); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, top[i]) >= 0 && file_leaks_key(p, jc->abuseipdb_apikey))
                        log_warning("%s: jail '%s': the AbuseIPDB key is in a file that anyone on this host can read; "
                                    "move it to [abuseipdb] apikey_file (mode 0600) or a systemd credential",
                                    p, jc->name);
        }
        if (asprintf(&jd, "%s/jail.d", dir) < 0 || !(d = opendir(jd)))
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;
                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", jd, de->d_name) >= 0 && file_leaks_key(p, jc->abuseipdb_apikey))
                        log_warning("%s: jail '%s': the AbuseIPDB key is in a file that anyone on this host can read; "
                                    "move it to [abuseipdb] apikey_file (mode 0600) or a systemd credential",
                                    p, jc->name);
        }
        closedir(d);
}

static int add_jail_keys(Reporter *r, const Config *c) {
        r->keys = calloc(MAX(c->n_jails, 1), sizeof(JailKey));
        if (!r->keys)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *jc = &c->jails[i];

                if (!jc->abuseipdb || !jc->abuseipdb_apikey)
                        continue;
                if (!key_ok(jc->abuseipdb_apikey)) {
                        log_warning("%s:%u: jail '%s': abuseipdb_apikey is not a plausible key, ignoring it", jc->file,
                                    jc->line, jc->name);
                        continue;
                }
                warn_loose_key_files(c->dir, jc);
                r->keys[r->n_keys].jail = strdup(jc->name);
                r->keys[r->n_keys].key = strdup(jc->abuseipdb_apikey);
                if (!r->keys[r->n_keys].jail || !r->keys[r->n_keys].key) {
                        free(r->keys[r->n_keys].jail);
                        free(r->keys[r->n_keys].key);
                        return -ENOMEM;
                }
                r->n_keys++;
        }
        return 0;
}

int reporter_new(sd_event *e, const Config *c, const char *state_dir, Reporter **ret) {
        _cleanup_free_ char *source = NULL;
        Reporter *r;
        bool loose = false;
        int k;

        k = curl_dl();
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
        pthread_mutex_init(&r->lock, NULL);
        {
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_init(&r->cond, &ca);
                pthread_condattr_destroy(&ca);
        }
        r->timeout_sec = c->abuseipdb.timeout_sec;
        r->daily_quota = c->abuseipdb.daily_quota;
        r->url = strdup(c->abuseipdb.url);
        r->state_dir = strdup(state_dir);
        r->comment_tmpl = c->abuseipdb.comment ? strdup(c->abuseipdb.comment) : NULL;
        r->ring = calloc(REPORTER_QUEUE_MAX, sizeof(Report));
        if (!r->url || !r->state_dir || (c->abuseipdb.comment && !r->comment_tmpl) || !r->ring ||
            add_jail_keys(r, c) < 0 || self_load(r) < 0) {
                k = log_oom();
                goto fail;
        }
        k = reporter_load_key(&c->abuseipdb, &r->default_key, &source, &loose);
        if (k == -ENOMEM) {
                k = log_oom();
                goto fail;
        }
        if (k < 0 && k != -ENOENT)
                log_warning_errno(k, "AbuseIPDB: cannot use the key in %s, ignoring: %m",
                                  c->abuseipdb.apikey_file ?: "$CREDENTIALS_DIRECTORY/abuseipdb_apikey");
        else if (k >= 0 && loose)
                log_warning("AbuseIPDB: %s is readable by other users than root; chmod 0600 it", source);
        else if (k >= 0)
                log_info("AbuseIPDB: using the key in %s", source);
        for (size_t i = 0; i < c->n_jails && !r->default_key; i++)
                if (c->jails[i].abuseipdb && !key_for(r, c->jails[i].name))
                        log_warning("%s: no AbuseIPDB API key (set [abuseipdb] apikey_file in nftjail.conf): "
                                    "its bans will not be reported", c->jails[i].name);

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
        k = pthread_create(&r->thread, NULL, reporter_thread, r);
        if (k != 0) {
                k = log_error_errno(k, "failed to start the reporter thread: %m");
                goto fail;
        }
        r->thread_started = true;
        log_info("AbuseIPDB: reporting to %s (daily quota %u); %lld report(s) pending", r->url, r->daily_quota,
                 (long long) spool_pending(r->spool));
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
        comment = abuseipdb_comment(r->comment_tmpl, jc->name, failures, jc->findtime_sec, as, lines);
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
        pthread_mutex_lock(&r->lock);
        ring_push(r, &rep);
        ring_dropped = r->ring_dropped;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        /* the ring only carries reports to the thread faster: a dropped one stays in the spool,
         * where the thread finds it once the ring is empty */
        if (ring_dropped != r->ring_dropped_logged && (r->ring_dropped_logged == 0 || ring_dropped % 1000 == 0)) {
                log_warning("AbuseIPDB: reporter queue full (%d); %llu report(s) dropped from it so far, "
                            "they stay spooled", REPORTER_QUEUE_MAX, (unsigned long long) ring_dropped);
                r->ring_dropped_logged = ring_dropped;
        }
        return 0;
}
