/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Cost of the state: recording bans in SQLite (one transaction per flush), the latency of one ban's
 * commit with SQLite's automatic checkpoints (before) and with the checkpoint thread (the daemon's,
 * after), and the restore of 100,000 bans into an empty table at start (list, read the state, one
 * nft_apply batch). Runs in
 * a network namespace of its own, with the state in a temporary directory under /var/tmp (a real
 * disk, as /var/lib/nftjail). Prints figures; never fails on time. Exits 77 when not root. */

#include <netinet/in.h>
#include <sched.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ban.h"
#include "conf.h"
#include "nft.h"
#include "restore.h"
#include "store.h"

#define N 100000

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static bool use_v4;

/* Ban i: 2001:db8:X:Y::1, a distinct /64 each; or one of the 768 IPv4 documentation addresses */
static Addr addr_at(size_t i) {
        static const uint8_t nets[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
        Addr a = { .family = AF_INET6, .bytes = { 0x20, 0x01, 0x0d, 0xb8 } };

        if (use_v4) {
                a = (Addr) { .family = AF_INET };
                memcpy(a.bytes, nets[(i % 768) / 256], 3);
                a.bytes[3] = (uint8_t) (i % 256);
                return a;
        }
        a.bytes[4] = (uint8_t) (i >> 16);
        a.bytes[5] = (uint8_t) (i >> 8);
        a.bytes[6] = (uint8_t) i;
        a.bytes[15] = 1;
        return a;
}

static int fill(Store *s, const char *jail, size_t n, size_t per_txn, bool durable, int64_t t) {
        for (size_t i = 0; i < n; i += per_txn) {
                int r = store_begin(s, durable);
                for (size_t k = i; r >= 0 && k < MIN(n, i + per_txn); k++)
                        r = store_add(s, &(StoreBan) { .jail = jail, .addr = addr_at(k), .prefixlen = 128, .start = t,
                                                       .end = t + 3600, .failures = 5,
                                                       .evidence = "Failed password for root from 2001:db8::1 port 22 ssh2" });
                if (r >= 0)
                        r = store_commit(s);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void bench_flush(const char *dir, size_t n, size_t per_txn, bool durable) {
        char sub[4200];
        Store *s = NULL;
        double t0, t;

        snprintf(sub, sizeof sub, "%s/f-%zu-%d", dir, per_txn, durable);
        if (mkdir(sub, 0700) < 0 || store_open(sub, &s) < 0) {
                printf("store_open failed\n");
                return;
        }
        t0 = now();
        if (fill(s, "sshd", n, per_txn, durable, time(NULL)) < 0)
                printf("store write failed\n");
        t = now() - t0;
        printf("state: %6zu bans, %5zu per transaction (flush), synchronous=%-6s %8.3f s  %7.1f us/ban  %8.1f us/flush\n",
               n, per_txn, durable ? "FULL" : "NORMAL", t, t * 1e6 / (double) n, t * 1e6 / (double) (n / per_txn));
        store_free(s);
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

static off_t wal_size(const char *sub) {
        char p[4300];
        struct stat st;

        snprintf(p, sizeof p, "%s/%s-wal", sub, STORE_FILE);
        return stat(p, &st) < 0 ? 0 : st.st_size;
}

/* The ban path as a daemon under attack runs it: per ban, a batch of 5 failures with its source
 * position (one transaction), then the ban's own (its failures spent, its row added), timed.
 * before: SQLite's default, a commit that passes 1000 WAL pages checkpoints (copies and fsyncs)
 * inside itself; after: automatic checkpoints off, the checkpoint thread at the daemon's interval. */
static void bench_commit_latency(const char *dir, size_t n, bool checkpointer, unsigned gap_usec) {
        static usec_t lat[100000];
        StoreCheckpointer *c = NULL;
        StoreCheckpointStats st = {};
        char sub[4200], pos[64];
        double total = 0;
        off_t wal_max = 0;
        Store *s = NULL;
        int64_t t = time(NULL);

        n = MIN(n, ELEMENTSOF(lat));
        snprintf(sub, sizeof sub, "%s/lat-%d-%u", dir, checkpointer, gap_usec);
        if (mkdir(sub, 0700) < 0 || store_open(sub, &s) < 0 ||
            (checkpointer ? store_checkpointer_start(sub, STORE_CHECKPOINT_INTERVAL_USEC, &c)
                          : store_set_autocheckpoint(s, 1000)) < 0) {
                printf("setup failed\n");
                return;
        }
        if (c)
                store_set_checkpointer(s, c);
        for (size_t i = 0; i < n; i++) {
                StoreBan b = { .jail = "sshd", .addr = addr_at(i), .prefixlen = 128, .start = t, .end = t + 3600,
                               .failures = 5, .evidence = "Failed password for root from 2001:db8::1 port 22 ssh2" };
                usec_t t0;
                int r;

                r = store_begin(s, false);
                for (int k = 0; r >= 0 && k < 5; k++)
                        r = store_failure_add(s, "sshd", &b.addr, t, NULL, 0);
                snprintf(pos, sizeof pos, "s=%zu;i=%zu", i, i * 5);
                if (r >= 0)
                        r = store_position_set(s, "sshd", "journal", pos);
                if (r >= 0)
                        r = store_commit(s);
                t0 = now_usec(CLOCK_MONOTONIC);
                if (r >= 0)
                        r = store_begin(s, false);
                if (r >= 0)
                        r = store_failures_forget(s, "sshd", &b.addr);
                if (r >= 0)
                        r = store_add(s, &b);
                if (r >= 0)
                        r = store_commit(s);
                lat[i] = now_usec(CLOCK_MONOTONIC) - t0;
                if (r < 0) {
                        printf("store write failed: %s\n", strerror(-r));
                        break;
                }
                total += (double) lat[i];
                wal_max = MAX(wal_max, wal_size(sub));
                if (gap_usec > 0)
                        (void) usleep(gap_usec); /* the loop's other work between two bans */
        }
        if (c)
                store_checkpointer_stats(c, &st);
        qsort(lat, n, sizeof lat[0], cmp_usec);
        printf("ban commit, %zu bans %s, %-44s mean %6.1f us  p50 %5llu us  p99 %6llu us  p99.9 %6llu us  max %7llu us  "
               "WAL max %.1f MiB%s",
               n, gap_usec ? "paced 1/ms" : "back to back", checkpointer ? "after: autocheckpoint off, checkpoint thread" : "before: SQLite's autocheckpoint (1000)",
               total / (double) n, (unsigned long long) lat[n / 2], (unsigned long long) lat[n * 99 / 100],
               (unsigned long long) lat[n * 999 / 1000], (unsigned long long) lat[n - 1],
               (double) wal_max / (1024.0 * 1024.0), c ? "" : "\n");
        if (c)
                printf(" (%llu rounds, %llu copied, %llu truncated)\n", (unsigned long long) st.rounds,
                       (unsigned long long) st.passive, (unsigned long long) st.truncated);
        store_set_checkpointer(s, NULL);
        store_checkpointer_stop(c);
        store_free(s);
}

static void bench_restore(Nft *nft, const char *dir, const char *name, JailConf *jc, size_t n) {
        char sub[4200];
        RestoreStats st;
        BanMap *bans = NULL;
        Store *s = NULL;
        double t0, t;
        int r;

        snprintf(sub, sizeof sub, "%s/r-%s", dir, name);
        if (mkdir(sub, 0700) < 0 || store_open(sub, &s) < 0 || ban_map_new(&bans) < 0) {
                printf("setup failed\n");
                return;
        }
        if (fill(s, jc->name, n, n, false, time(NULL)) < 0) {
                printf("store write failed\n");
                return;
        }
        t0 = now();
        r = restore_run(nft, s, bans, jc, 1, false, &st);
        t = now() - t0;
        if (r < 0)
                printf("restore failed: %s\n", strerror(-r));
        else
                printf("restore at start, empty table, %-22s %zu bans (%zu elements) in %.3f s (%.0f bans/s)\n", name,
                       st.restored, st.elements, t, (double) st.restored / t);
        /* second run: everything is in place, nothing to add (a restart without reboot) */
        t0 = now();
        r = restore_run(nft, s, bans, jc, 1, false, &st);
        t = now() - t0;
        if (r >= 0)
                printf("restore at start, all in place,  %-22s %zu bans checked in %.3f s (%zu re-added)\n", name, st.present, t, st.restored);
        ban_map_free(bans);
        store_free(s);
        /* empty the sets for the next one (in our own network namespace) */
        for (size_t i = 0; i < ELEMENTSOF(nft_sets); i++) {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "nft flush set inet nftjail %s", nft_sets[i]);
                if (system(cmd) != 0)
                        printf("nft flush failed\n");
        }
}

int main(void) {
        const char *srcdir = getenv("SRCDIR");
        char path[4096], err[4096], dir[] = "/var/tmp/bench-state.XXXXXX", cmd[4200];
        uint16_t port22 = 22, ports[131];
        Nft *nft = NULL;

        if (!mkdtemp(dir))
                return 1;
        /* no root needed: first */
        for (int i = 0; i < 2; i++) {
                bench_commit_latency(dir, 10000, false, 0);
                bench_commit_latency(dir, 10000, true, 0);
                bench_commit_latency(dir, 5000, false, 1000);
                bench_commit_latency(dir, 5000, true, 1000);
                snprintf(cmd, sizeof cmd, "rm -rf '%s'/lat-*", dir);
                if (system(cmd) != 0)
                        return 1;
        }
        if (getenv("BENCH_STATE_COMMIT_ONLY"))
                goto done;
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "not root: skipping the rest\n");
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
                (void) !system(cmd);
                return 77;
        }
        snprintf(path, sizeof(path), "%s/nft/nftjail.nft", srcdir ? srcdir : NFTJAIL_SOURCE_ROOT);
        if (nft_new(&nft) < 0 || nft_ensure_table(nft, path, err, sizeof(err)) < 0) {
                fprintf(stderr, "setup failed: %s\n", err);
                return 1;
        }

        bench_flush(dir, 10000, 1000, false);
        bench_flush(dir, 10000, 1000, true);
        bench_flush(dir, 2000, 1, false);
        bench_flush(dir, 500, 1, true);

        bench_restore(nft, dir, "sshd (v6_port_64, :22)",
                      &(JailConf) { .name = (char *) "sshd", .ports = &port22, .n_ports = 1, .protocol = IPPROTO_TCP }, N);
        bench_restore(nft, dir, "recidive (v6_64, all)", &(JailConf) { .name = (char *) "recidive", .allports = true }, N);
        /* IPv4: only 768 documentation addresses, so 131 ports each (the hash set v4_port) */
        for (size_t i = 0; i < 131; i++)
                ports[i] = (uint16_t) (1000 + i);
        use_v4 = true;
        bench_restore(nft, dir, "web (v4_port, 131 ports)",
                      &(JailConf) { .name = (char *) "web", .ports = ports, .n_ports = 131, .protocol = IPPROTO_TCP }, 768);

        nft_free(nft);
done:
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
}
