/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The cost on the main thread of spooling one AbuseIPDB report: one INSERT, its own transaction,
 * WAL with synchronous=NORMAL, a comment of about 600 bytes, in a directory on /var/tmp (a disk,
 * not a tmpfs, where the state directory lives). Prints mean, p50, p99 and max. With --webhook,
 * the hand-off of one webhook event instead (webhooks_submit() per webhook): rendering the JSON
 * body and its INSERT into webhook_spool, committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "webhook-spool.h"

/* One webhook event as webhooks_submit() queues it. Returns the microseconds it took, or 0. */
static usec_t webhook_one(WebhookSpool *ws, int i) {
        WebhookEvent ev = { .kind = WEBHOOK_KIND_BAN, .failures = 5, .bantime_sec = 600, .time = now_usec(CLOCK_REALTIME) };
        WebhookRow row = { .created = ev.time };
        usec_t t0 = now_usec(CLOCK_MONOTONIC), t;
        int r;

        (void) addr_from_string("203.0.113.9", &ev.addr);
        ev.addr.bytes[3] = (uint8_t) i;
        ev.prefix = (AddrPrefix) { .addr = ev.addr, .prefixlen = 32 };
        ev.expires = ev.time + 600 * USEC_PER_SEC;
        snprintf(ev.id, sizeof ev.id, "%032x", i);
        snprintf(ev.jail, sizeof ev.jail, "sshd");
        snprintf(ev.host, sizeof ev.host, "bastion");
        if (webhook_render(WEBHOOK_FORMAT_JSON, &ev, &row.body, &row.title) < 0)
                return 0;
        snprintf(row.event_id, sizeof row.event_id, "%s", ev.id);
        snprintf(row.webhook, sizeof row.webhook, "ops");
        snprintf(row.kind, sizeof row.kind, "ban");
        snprintf(row.jail, sizeof row.jail, "sshd");
        addr_to_string(&ev.addr, row.addr, sizeof row.addr);
        snprintf(row.content_type, sizeof row.content_type, "%s", webhook_content_type(WEBHOOK_FORMAT_JSON));
        r = webhook_spool_insert(ws, &row, NULL);
        t = now_usec(CLOCK_MONOTONIC) - t0;
        webhook_row_done(&row);
        return r < 0 ? 0 : MAX(t, (usec_t) 1);
}

static int cmp(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        const char *mode = "autocheckpoint off, as the main thread";
        enum { N = 5000 };
        char dir[] = "/var/tmp/bench-spool.XXXXXX", path[128];
        static usec_t lat[N];
        usec_t total = 0;
        WebhookSpool *ws = NULL;
        Spool *s;

        if (!mkdtemp(dir) || spool_open(dir, false, &s) < 0)
                return 1;
        if (argc > 1 && strcmp(argv[1], "--webhook") == 0) {
                if (webhook_spool_open(dir, false, &ws) < 0)
                        return 1;
                (void) webhook_spool_set_autocheckpoint(ws, 0);
        }
        /* as the main thread has it: checkpoints are the checkpoint thread's job (none runs here) */
        if (argc > 1 && strcmp(argv[1], "--default-checkpoint") == 0)
                mode = "default autocheckpoint";
        else
                (void) spool_set_autocheckpoint(s, 0);
        for (int i = 0; i < N; i++) {
                Report r = { .timestamp = now_usec(CLOCK_REALTIME) };
                usec_t t0;

                if (ws) {
                        lat[i] = webhook_one(ws, i);
                        if (!lat[i])
                                return 1;
                        total += lat[i];
                        continue;
                }
                (void) addr_from_string("203.0.113.9", &r.addr);
                r.addr.bytes[3] = (uint8_t) i;
                snprintf(r.jail, sizeof r.jail, "sshd");
                snprintf(r.categories, sizeof r.categories, "18,22");
                for (int k = 0; k < 6; k++)
                        snprintf(r.comment + strlen(r.comment), sizeof r.comment - strlen(r.comment),
                                 "[host] sshd[%d]: Failed password for [user] from 203.0.113.9 port 4%04d ssh2\n",
                                 1000 + k, i);
                t0 = now_usec(CLOCK_MONOTONIC);
                if (spool_insert(s, &r, NULL) < 0)
                        return 1;
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
                total += lat[i];
        }
        qsort(lat, N, sizeof lat[0], cmp);
        printf("%s: %d inserts (one transaction each, WAL, synchronous=NORMAL, %s) on /var/tmp: mean %.1f us, "
               "p50 %llu us, p99 %llu us, max %llu us\n",
               ws ? "webhook event (JSON rendered, queued)" : "spool", N, ws ? "autocheckpoint off" : mode, (double) total / N, (unsigned long long) lat[N / 2], (unsigned long long) lat[N * 99 / 100],
               (unsigned long long) lat[N - 1]);
        spool_free(s);
        webhook_spool_free(ws);
        for (const char *const *x = (const char *const[]) { "", "-wal", "-shm", NULL }; *x; x++) {
                snprintf(path, sizeof path, "%s/%s%s", dir, SPOOL_FILE, *x);
                (void) unlink(path);
        }
        return rmdir(dir) < 0;
}
