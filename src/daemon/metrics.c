/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The daemon's figures in the Prometheus text format, for `nftjail metrics` and for
 * node_exporter's textfile collector (metrics_textfile). */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "reporter.h"
#include "util/macro.h"

struct Metrics {
        Manager *manager;
        sd_event_source *timer;
        bool failed_logged;     /* a failed write is logged once until one succeeds */
};

/* A label value as the text format wants it: backslash, double quote and newline escaped. Jail
 * names are checked at load; the comments of elements added by hand are not. */
static void put_label(FILE *f, const char *v) {
        for (; v && *v; v++) {
                if (*v == '\\' || *v == '"')
                        fputc('\\', f);
                if (*v == '\n')
                        fputs("\\n", f);
                else
                        fputc(*v, f);
        }
}

static void help(FILE *f, const char *name, const char *type, const char *text) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

typedef struct JailRow {
        char *name;
        uint64_t elements[2]; /* IPv4, IPv6 */
} JailRow;

typedef struct Rows {
        Manager *m;
        JailRow *v;
        size_t n, cap;
        bool oom;
} Rows;

static JailRow *row_get(Rows *r, const char *name) {
        for (size_t i = 0; i < r->n; i++)
                if (strcmp(r->v[i].name, name) == 0)
                        return &r->v[i];
        if (r->n == r->cap) {
                size_t nc = MAX(r->cap * 2, (size_t) 16);
                JailRow *nv = realloc(r->v, nc * sizeof *nv);
                if (!nv)
                        return NULL;
                r->v = nv;
                r->cap = nc;
        }
        r->v[r->n] = (JailRow) { .name = strdup(name) };
        if (!r->v[r->n].name)
                return NULL;
        return &r->v[r->n++];
}

static void row_jail(const char *name, void *userdata) {
        Rows *r = userdata;

        if (!row_get(r, name))
                r->oom = true;
}

static int row_elem(const ManagerBan *b, void *userdata) {
        Rows *r = userdata;
        JailRow *j = row_get(r, b->jail && *b->jail ? b->jail : "-");

        if (!j)
                return -ENOMEM;
        j->elements[b->addr.family == AF_INET6]++;
        return 0;
}

static void put_jails(FILE *f, Manager *m, Rows *rows) {
        static const struct {
                const char *name, *type, *help;
                size_t off;
        } cols[] = {
                { "nftjail_lines_total", "counter", "Log lines read by the jail since the daemon started.",
                  offsetof(ManagerJailStatus, lines) },
                { "nftjail_ignored_lines_total", "counter", "Lines that matched an ignoreregex.",
                  offsetof(ManagerJailStatus, ignored) },
                { "nftjail_cut_lines_total", "counter", "Lines longer than 8192 bytes, matched on their start.",
                  offsetof(ManagerJailStatus, lines_cut) },
                { "nftjail_gave_up_lines_total", "counter",
                  "Lines on which a regex gave up at a PCRE2 limit (not counted as failures).",
                  offsetof(ManagerJailStatus, lines_limit) },
                { "nftjail_failures_total", "counter", "Failures counted, over every run the state remembers.",
                  offsetof(ManagerJailStatus, failures_total) },
                { "nftjail_bans_total", "counter", "Bans applied, over every run the state remembers.",
                  offsetof(ManagerJailStatus, bans_total) },
                { "nftjail_unbans_total", "counter",
                  "Addresses unbanned by nftjail unban or by deleting elements by hand, since the daemon "
                  "started (expiry in the kernel is not counted).",
                  offsetof(ManagerJailStatus, unbans_total) },
        };

        for (size_t c = 0; c < ELEMENTSOF(cols); c++) {
                help(f, cols[c].name, cols[c].type, cols[c].help);
                for (size_t i = 0; i < rows->n; i++) {
                        ManagerJailStatus js;

                        if (manager_jail_status(m, rows->v[i].name, &js) < 0)
                                continue;
                        fprintf(f, "%s{jail=\"", cols[c].name);
                        put_label(f, rows->v[i].name);
                        fprintf(f, "\"} %" PRIu64 "\n", *(const uint64_t *) ((const char *) &js + cols[c].off));
                }
        }
        help(f, "nftjail_tracked_addresses", "gauge", "Addresses with failures within the jail's findtime.");
        for (size_t i = 0; i < rows->n; i++) {
                ManagerJailStatus js;

                if (manager_jail_status(m, rows->v[i].name, &js) < 0)
                        continue;
                fputs("nftjail_tracked_addresses{jail=\"", f);
                put_label(f, rows->v[i].name);
                fprintf(f, "\"} %zu\n", js.failures_current);
        }
        help(f, "nftjail_kernel_elements", "gauge",
             "Elements of table inet nftjail in force, by the comment that names their jail, as the daemon "
             "knows them (one per address or prefix and port).");
        for (size_t i = 0; i < rows->n; i++)
                for (int fam = 0; fam < 2; fam++) {
                        fputs("nftjail_kernel_elements{jail=\"", f);
                        put_label(f, rows->v[i].name);
                        fprintf(f, "\",family=\"%s\"} %" PRIu64 "\n", fam ? "ipv6" : "ipv4", rows->v[i].elements[fam]);
                }
}

static void put_latency(FILE *f, Manager *m) {
        ManagerLatency l;

        manager_ban_latency(m, &l);
        help(f, "nftjail_ban_latency_seconds", "histogram",
             "Automatic bans, from reading the failure that reached maxretry to the kernel's ack of the "
             "ban's elements.");
        for (size_t b = 0; b < MANAGER_LATENCY_BUCKETS; b++)
                fprintf(f, "nftjail_ban_latency_seconds_bucket{le=\"%g\"} %" PRIu64 "\n", manager_latency_bounds[b], l.le[b]);
        fprintf(f, "nftjail_ban_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", l.count);
        fprintf(f, "nftjail_ban_latency_seconds_sum %.6f\nnftjail_ban_latency_seconds_count %" PRIu64 "\n", l.sum_sec,
                l.count);
}

static void put_reports(FILE *f, Manager *m) {
        ReporterStats st;

        if (manager_report_stats(m, &st) < 0)
                return;
        help(f, "nftjail_reports_total", "counter", "AbuseIPDB reports by result, over every run the state remembers.");
        fprintf(f, "nftjail_reports_total{result=\"sent\"} %" PRId64 "\n", st.sent);
        fprintf(f, "nftjail_reports_total{result=\"failed\"} %" PRId64 "\n", st.failed);
        fprintf(f, "nftjail_reports_total{result=\"dropped\"} %" PRId64 "\n", st.dropped);
        fprintf(f, "nftjail_reports_total{result=\"coalesced\"} %" PRId64 "\n", st.coalesced);
        help(f, "nftjail_reports_pending", "gauge", "AbuseIPDB reports waiting in the spool.");
        fprintf(f, "nftjail_reports_pending %" PRId64 "\n", st.pending);
        help(f, "nftjail_abuseipdb_quota_left", "gauge", "Reports left of today's daily_quota (UTC day).");
        fprintf(f, "nftjail_abuseipdb_quota_left %" PRId64 "\n", st.quota_left);
        help(f, "nftjail_abuseipdb_paused", "gauge", "1 while AbuseIPDB's daily limit holds the reports back.");
        fprintf(f, "nftjail_abuseipdb_paused %d\n", st.paused ? 1 : 0);
}

int metrics_render(Manager *m, char **ret, size_t *ret_len) {
        Rows rows = { .m = m };
        ManagerStatus ms;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        manager_status(m, &ms);
        help(f, "nftjail_info", "gauge", "The running nftjaild.");
        fprintf(f, "nftjail_info{version=\"%s\"} 1\n", NFTJAIL_VERSION);
        help(f, "nftjail_uptime_seconds", "gauge", "Time since the daemon started.");
        fprintf(f, "nftjail_uptime_seconds %.3f\n", (double) ms.uptime / USEC_PER_SEC);

        manager_foreach_jail(m, row_jail, &rows);
        r = rows.oom ? -ENOMEM : manager_list_bans(m, NULL, NULL, false, false, row_elem, &rows);
        if (r >= 0) {
                put_jails(f, m, &rows);
                put_latency(f, m);
                put_reports(f, m);
        }
        for (size_t i = 0; i < rows.n; i++)
                free(rows.v[i].name);
        free(rows.v);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* DIR/.NAME.tmp, written and renamed over path: node_exporter never sees half a file, and reads
 * only *.prom. Mode 0644 whatever the umask: the collector runs as its own user, and the file
 * holds no address. */
static int metrics_write(Manager *m, const char *path) {
        _cleanup_free_ char *text = NULL, *tmp = NULL;
        const char *slash = strrchr(path, '/');
        size_t len = 0, off = 0;
        int fd, r = 0;

        r = metrics_render(m, &text, &len);
        if (r < 0)
                return r;
        if (!slash || asprintf(&tmp, "%.*s/.%s.tmp", (int) (slash - path), path, slash + 1) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        if (fchmod(fd, 0644) < 0)
                r = -errno;
        while (r == 0 && off < len) {
                ssize_t k = write(fd, text + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        r = -errno;
                else
                        off += (size_t) k;
        }
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static int metrics_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Metrics *x = userdata;
        const char *path = manager_config(x->manager)->metrics_textfile;
        int r;

        if (!path)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = metrics_write(x->manager, path);
        if (r < 0 && !x->failed_logged) {
                x->failed_logged = true;
                log_warning_errno(r, "metrics: cannot write %s, retrying every %u s: %m", path,
                                  (unsigned) (METRICS_INTERVAL_USEC / USEC_PER_SEC));
        } else if (r >= 0)
                x->failed_logged = false;
        return sd_event_source_set_time(s, usec + METRICS_INTERVAL_USEC);
}

int metrics_new(sd_event *e, Manager *m, Metrics **ret) {
        Metrics *x = calloc(1, sizeof *x);
        int r;

        if (!x)
                return -ENOMEM;
        x->manager = m;
        /* the first write right away, then every METRICS_INTERVAL_USEC */
        r = sd_event_add_time(e, &x->timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC, metrics_on_timer, x);
        if (r < 0) {
                free(x);
                return r;
        }
        (void) sd_event_source_set_description(x->timer, "metrics");
        metrics_apply(x);
        *ret = x;
        return 0;
}

void metrics_apply(Metrics *x) {
        if (!x)
                return;
        if (!manager_config(x->manager)->metrics_textfile) {
                (void) sd_event_source_set_enabled(x->timer, SD_EVENT_OFF);
                return;
        }
        x->failed_logged = false;
        (void) sd_event_source_set_time(x->timer, now_usec(CLOCK_MONOTONIC));
        (void) sd_event_source_set_enabled(x->timer, SD_EVENT_ON);
}

Metrics *metrics_free(Metrics *x) {
        if (!x)
                return NULL;
        sd_event_source_disable_unref(x->timer);
        free(x);
        return NULL;
}
