/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Ban throughput of nft_apply() against the real kernel, in a network namespace of its own,
 * compared with "nft -f" of the same elements and with one "nft add element" process per ban.
 * Prints figures; never fails on time. Exits 77 when not root.
 *
 * For tests/bench/cmp-nft-rate.py, which runs in a network namespace of its own with the table
 * loaded, and alternates the tools run by run:
 *   bench-nft --apply N        adds the N elements of the mix below in one nft_apply() call (what
 *                              the daemon sends for a burst of N bans) and prints the seconds
 *   bench-nft --nft-file N F   writes the same elements to F as one "nft -f" file
 *   bench-nft --nft-lines N F  writes them to F as one "add element" command a line
 * The mix: 90% IPv4 (the 768 documentation addresses x ports 1..118, v4_port), 10% IPv6 /64s of
 * 2001:db8::/32 on port 22 (v6_port_64), each element with timeout 1h and comment "sshd". */

#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nft-internal.h"
#include "nft.h"

#define N 100000

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Element i: one of the 768 documentation IPv4 addresses, with a port making it distinct. */
static void elem_at(size_t i, NftElem *e, char *str, size_t len) {
        static const uint8_t nets[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
        size_t a = i % 768;
        *e = (NftElem) { .addr.family = AF_INET, .proto = IPPROTO_TCP, .port = (uint16_t) (1 + i / 768),
                         .timeout_ms = 3600000, .comment = "sshd" };
        memcpy(e->addr.bytes, nets[a / 256], 3);
        e->addr.bytes[3] = (uint8_t) (a % 256);
        if (str)
                snprintf(str, len, "%u.%u.%u.%u . tcp . %u", e->addr.bytes[0], e->addr.bytes[1],
                         e->addr.bytes[2], e->addr.bytes[3], e->port);
}

/* Element i of the mix: every tenth an IPv6 /64, the others IPv4 x port. str (may be NULL) gets
 * the element as nft writes it, with timeout and comment. */
static void elem_mix(size_t i, NftElem *e, char *str, size_t len) {
        char s[64];

        if (i % 10 == 9) {
                size_t k = i / 10;
                *e = (NftElem) { .addr.family = AF_INET6, .addr.bytes = { 0x20, 0x01, 0x0d, 0xb8 }, .prefixlen = 64,
                                 .proto = IPPROTO_TCP, .port = 22, .timeout_ms = 3600000, .comment = "sshd" };
                e->addr.bytes[4] = (uint8_t) (k >> 16);
                e->addr.bytes[5] = (uint8_t) (k >> 8);
                e->addr.bytes[6] = (uint8_t) k;
                snprintf(s, sizeof s, "2001:db8:%x:%x:: . tcp . 22", (unsigned) (k >> 8), (unsigned) (k & 0xff) << 8);
        } else
                elem_at(i - i / 10, e, s, sizeof s);
        if (str)
                snprintf(str, len, "%s timeout 1h comment \"sshd\"", s);
}

static int cmp_mode(int argc, char **argv) {
        size_t n = argc > 2 ? (size_t) strtoul(argv[2], NULL, 10) : 0, idx;
        char line[256];

        if (n == 0)
                return 2;
        if (strcmp(argv[1], "--apply") == 0) {
                NftElem *v = calloc(n, sizeof *v);
                Nft *nft = NULL;
                double t0, t;
                int r;

                if (!v || nft_new(&nft) < 0)
                        return 1;
                for (size_t i = 0; i < n; i++)
                        elem_mix(i, &v[i], NULL, 0);
                t0 = now();
                r = nft_apply(nft, NFT_OP_ADD, v, n, NULL, &idx);
                t = now() - t0;
                if (r < 0) {
                        fprintf(stderr, "nft_apply: %s at element %zu\n", strerror(-r), idx);
                        return 1;
                }
                printf("%.6f\n", t);
                nft_free(nft);
                free(v);
                return 0;
        }
        if (argc > 3 && strcmp(argv[1], "--nft-file") == 0) {
                FILE *f = fopen(argv[3], "we");
                NftElem e;

                if (!f)
                        return 1;
                /* one "add element" per set, every element of that set in it: nft's fastest form */
                for (unsigned v6 = 0; v6 < 2; v6++) {
                        bool first = true;
                        for (size_t i = 0; i < n; i++) {
                                if ((i % 10 == 9) != v6)
                                        continue;
                                elem_mix(i, &e, line, sizeof line);
                                if (first)
                                        fprintf(f, "add element inet nftjail %s {\n", nft_elem_set(&e));
                                fprintf(f, "  %s,\n", line);
                                first = false;
                        }
                        if (!first)
                                fprintf(f, "}\n");
                }
                return fclose(f) == 0 ? 0 : 1;
        }
        if (argc > 3 && strcmp(argv[1], "--nft-lines") == 0) {
                FILE *f = fopen(argv[3], "we");
                NftElem e;

                if (!f)
                        return 1;
                for (size_t i = 0; i < n; i++) {
                        elem_mix(i, &e, line, sizeof line);
                        fprintf(f, "add element inet nftjail %s { %s }\n", nft_elem_set(&e), line);
                }
                return fclose(f) == 0 ? 0 : 1;
        }
        return 2;
}

static int run(const char *cmd) {
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void flush(void) {
        (void) run("nft flush set inet nftjail v4_port");
}

static void report(const char *what, size_t n, double secs) {
        printf("%-58s %7zu elements %8.3f s %10.0f bans/s\n", what, n, secs, (double) n / secs);
}

static void bench_apply(Nft *nft, const NftElem *v, size_t per_call, bool ack_all, NftOp op, const char *what) {
        double t0, t;
        size_t idx;
        int r = 0;

        nft_set_ack_all(nft, ack_all);
        t0 = now();
        for (size_t i = 0; i < N && r == 0; i += per_call)
                r = nft_apply(nft, op, v + i, MIN(per_call, (size_t) N - i), NULL, &idx);
        t = now() - t0;
        nft_set_ack_all(nft, false);
        if (r < 0) {
                printf("%s: %s at element %zu\n", what, strerror(-r), idx);
                return;
        }
        report(what, N, t);
}

int main(int argc, char **argv) {
        const char *srcdir = getenv("SRCDIR");
        char path[4096], err[4096], cmd[8192], s[64];
        static NftElem v[N];
        Nft *nft = NULL;
        FILE *f;
        double t0, t;
        int r;

        if (argc > 1)
                return cmp_mode(argc, argv);
        if (geteuid() != 0) {
                fprintf(stderr, "not root: skipping\n");
                return 77;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                perror("unshare(CLONE_NEWNET)");
                return 77;
        }
        snprintf(path, sizeof(path), "%s/nft/nftjail.nft", srcdir ? srcdir : NFTJAIL_SOURCE_ROOT);

        r = nft_new(&nft);
        if (r < 0 || nft_ensure_table(nft, path, err, sizeof(err)) < 0) {
                fprintf(stderr, "setup failed: %s\n", err);
                return 1;
        }
        for (size_t i = 0; i < N; i++)
                elem_at(i, &v[i], NULL, 0);

        bench_apply(nft, v, 1000, false, NFT_OP_ADD, "nft_apply ADD, 1,000 per call");
        bench_apply(nft, v, 1000, false, NFT_OP_ADD, "nft_apply ADD again (existing), 1,000 per call");
        bench_apply(nft, v, 1000, false, NFT_OP_REPLACE, "nft_apply REPLACE, 1,000 per call");
        bench_apply(nft, v, 1000, false, NFT_OP_DEL, "nft_apply DEL, 1,000 per call");
        bench_apply(nft, v, N, false, NFT_OP_ADD, "nft_apply ADD, one call (one transaction)");
        bench_apply(nft, v, N, false, NFT_OP_DEL, "nft_apply DEL, one call");
        bench_apply(nft, v, N, true, NFT_OP_ADD, "nft_apply ADD, one call, NLM_F_ACK on every message");
        bench_apply(nft, v, N, false, NFT_OP_REPLACE, "nft_apply REPLACE, one call (3 transactions)");
        flush();
        bench_apply(nft, v, 1000, true, NFT_OP_ADD, "nft_apply ADD, 1,000 per call, ACK on every message");
        flush();
        {
                /* one ban per call: the daemon's latency for a lone ban */
                size_t idx;
                t0 = now();
                for (size_t i = 0; i < 10000; i++)
                        if (nft_apply(nft, NFT_OP_ADD, &v[i], 1, NULL, &idx) < 0)
                                break;
                report("nft_apply ADD, 1 per call", 10000, now() - t0);
                flush();
        }

        /* nft -f with the same elements, one transaction */
        f = fopen("/tmp/bench-nft-elements.nft", "we");
        if (f) {
                fprintf(f, "add element inet nftjail v4_port {\n");
                for (size_t i = 0; i < N; i++) {
                        elem_at(i, &v[i], s, sizeof(s));
                        fprintf(f, "  %s timeout 1h comment \"sshd\",\n", s);
                }
                fprintf(f, "}\n");
                fclose(f);
                t0 = now();
                r = run("nft -f /tmp/bench-nft-elements.nft");
                t = now() - t0;
                if (r == 0)
                        report("nft -f (one file, one transaction)", N, t);
                else
                        printf("nft -f failed: %d\n", r);
                unlink("/tmp/bench-nft-elements.nft");
                flush();
        }

        /* one nft process per ban */
        t0 = now();
        for (size_t i = 0; i < 500; i++) {
                elem_at(i, &v[i], s, sizeof(s));
                snprintf(cmd, sizeof(cmd), "nft add element inet nftjail v4_port '{ %s timeout 1h comment \"sshd\" }'", s);
                if (run(cmd) != 0) {
                        printf("nft add element failed\n");
                        break;
                }
        }
        report("nft add element, one process per ban (500, extrapolated)", 500, now() - t0);

        nft_free(nft);
        return 0;
}
