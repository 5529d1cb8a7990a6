/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "abuseipdb.h"
#include "cli.h"
#include "spool.h"
#include "webhook-spool.h"

/* nftjail report-queue: the AbuseIPDB spool and the webhook queue, read straight from STATE_DIR/nftjail.db (read-only),
 * so it works whether the daemon runs or not. */

static void fmt_time(usec_t t, usec_t now, char *buf, size_t len) {
        char ts[40];

        if (t == USEC_INFINITY)
                snprintf(buf, len, "-");
        else if (t <= now)
                snprintf(buf, len, "now");
        else
                snprintf(buf, len, "%s (in %llus)", abuseipdb_timestamp(t, ts, sizeof ts),
                         (unsigned long long) ((t - now + USEC_PER_SEC - 1) / USEC_PER_SEC));
}

int ctl_report_queue(int argc, char *argv[]) {
        static const struct option options[] = {
                { "state-dir", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *dir = NFTJAIL_STATE_DIR;
        int64_t pending = 0, st[_SPOOL_STAT_MAX] = {}, wpending = 0, wst[_WEBHOOK_STAT_MAX] = {};
        usec_t wnext = USEC_INFINITY;
        WebhookSpool *ws = NULL;
        usec_t next = USEC_INFINITY, now = now_usec(CLOCK_REALTIME), paused;
        char nb[80], pb[80];
        bool json = false;
        Spool *s = NULL;
        int opt, r;

        opterr = 0;
        while ((opt = getopt_long(argc, argv, "s:jh", options, NULL)) >= 0)
                switch (opt) {
                case 's':
                        dir = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf("Usage: %s report-queue [--state-dir DIR] [--json]\n\n"
                               "Shows the AbuseIPDB reports pending in DIR/%s (default %s), the counts of\n"
                               "reports sent, failed, dropped and coalesced, and when the next attempt is due;\n"
                               "then the same of the webhook events (delivered, rejected, expired, dropped).\n",
                               ctl_program, SPOOL_FILE, NFTJAIL_STATE_DIR);
                        return 0;
                default:
                        fprintf(stderr, "%s report-queue: bad option '%s', see '%s report-queue --help'\n", ctl_program,
                                argv[optind - 1], ctl_program);
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "%s report-queue: unexpected argument '%s'\n", ctl_program, argv[optind]);
                return 2;
        }
        r = spool_open(dir, true, &s);
        if (r < 0 && r != -ENOENT) {
                fprintf(stderr, "%s report-queue: cannot read %s/%s: %s\n", ctl_program, dir, SPOOL_FILE, strerror(-r));
                return 1;
        }
        if (s) {
                pending = spool_pending(s);
                next = spool_next_time(s);
                for (SpoolStat k = 0; k < _SPOOL_STAT_MAX; k++)
                        st[k] = spool_stat_get(s, k);
                spool_free(s);
        }
        r = webhook_spool_open(dir, true, &ws);
        if (r < 0 && r != -ENOENT) {
                fprintf(stderr, "%s report-queue: cannot read the webhook queue of %s/%s: %s\n", ctl_program, dir,
                        SPOOL_FILE, strerror(-r));
                return 1;
        }
        if (ws) {
                wpending = webhook_spool_pending(ws);
                wnext = webhook_spool_next_time(ws);
                for (WebhookStat k = 0; k < _WEBHOOK_STAT_MAX; k++)
                        wst[k] = webhook_spool_stat_get(ws, k);
                webhook_spool_free(ws);
        }
        if (pending < 0 || wpending < 0) {
                fprintf(stderr, "%s report-queue: cannot read %s/%s\n", ctl_program, dir, SPOOL_FILE);
                return 1;
        }
        paused = st[SPOOL_STAT_PAUSED_UNTIL] > 0 && (usec_t) st[SPOOL_STAT_PAUSED_UNTIL] > now
                         ? (usec_t) st[SPOOL_STAT_PAUSED_UNTIL] : 0;
        if (paused && next != USEC_INFINITY && next < paused)
                next = paused;
        if (json) {
                printf("{\"pending\":%lld,\"sent\":%lld,\"failed\":%lld,\"dropped\":%lld,\"coalesced\":%lld,"
                       "\"next_attempt_usec\":%llu,\"paused_until_usec\":%llu,"
                       "\"webhooks\":{\"pending\":%lld,\"delivered\":%lld,\"rejected\":%lld,\"expired\":%lld,"
                       "\"dropped\":%lld,\"next_attempt_usec\":%llu}}\n",
                       (long long) pending, (long long) st[SPOOL_STAT_SENT], (long long) st[SPOOL_STAT_FAILED],
                       (long long) st[SPOOL_STAT_DROPPED], (long long) st[SPOOL_STAT_COALESCED],
                       (unsigned long long) (next == USEC_INFINITY ? 0 : MAX(next, now)),
                       (unsigned long long) paused, (long long) wpending, (long long) wst[WEBHOOK_STAT_DELIVERED],
                       (long long) wst[WEBHOOK_STAT_REJECTED], (long long) wst[WEBHOOK_STAT_EXPIRED],
                       (long long) wst[WEBHOOK_STAT_DROPPED],
                       (unsigned long long) (wnext == USEC_INFINITY ? 0 : MAX(wnext, now)));
                return fflush(stdout) != 0;
        }
        fmt_time(next == USEC_INFINITY ? next : MAX(next, now), now, nb, sizeof nb);
        fmt_time(paused ?: USEC_INFINITY, now, pb, sizeof pb);
        printf("pending: %lld\nsent: %lld\nfailed: %lld\ndropped: %lld\ncoalesced: %lld\nnext attempt: %s\n",
               (long long) pending, (long long) st[SPOOL_STAT_SENT], (long long) st[SPOOL_STAT_FAILED],
               (long long) st[SPOOL_STAT_DROPPED], (long long) st[SPOOL_STAT_COALESCED], pending ? nb : "-");
        if (paused)
                printf("paused (daily limit) until: %s\n", pb);
        fmt_time(wnext == USEC_INFINITY ? wnext : MAX(wnext, now), now, nb, sizeof nb);
        printf("webhook events pending: %lld\nwebhook events delivered: %lld\nwebhook events rejected: %lld\n"
               "webhook events expired: %lld\nwebhook events dropped: %lld\nwebhook next attempt: %s\n",
               (long long) wpending, (long long) wst[WEBHOOK_STAT_DELIVERED], (long long) wst[WEBHOOK_STAT_REJECTED],
               (long long) wst[WEBHOOK_STAT_EXPIRED], (long long) wst[WEBHOOK_STAT_DROPPED], wpending ? nb : "-");
        return fflush(stdout) != 0;
}
