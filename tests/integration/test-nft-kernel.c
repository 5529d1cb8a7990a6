/* SPDX-License-Identifier: GPL-2.0-or-later */

/* src/daemon/nft against the real nf_tables, in a network namespace of its own (unshare(CLONE_NEWNET)
 * at start): never the host's ruleset. Exits 77 when not root. */

#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "nft-internal.h"
#include "nft-test-util.h"
#include "nft.h"

static int failures;

#define CHECK(x)                                                                        \
        do {                                                                            \
                if (!(x)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
                        failures++;                                                     \
                }                                                                       \
        } while (0)

#define CHECK_EQ(a, b)                                                                  \
        do {                                                                            \
                long long _a = (long long) (a), _b = (long long) (b);                   \
                if (_a != _b) {                                                         \
                        fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n",     \
                                __FILE__, __LINE__, #a, _a, #b, _b);                    \
                        failures++;                                                     \
                }                                                                       \
        } while (0)

static NftElem elem(const char *addr, uint8_t plen, uint8_t proto, uint16_t port, uint64_t timeout_ms,
                    const char *comment) {
        NftElem e = { .prefixlen = plen, .proto = proto, .port = port, .timeout_ms = timeout_ms,
                      .comment = comment };
        if (addr_from_string(addr, &e.addr) < 0) {
                /* addr.c may still be a stub in this tree: parse here */
                memset(&e.addr, 0, sizeof(e.addr));
                if (inet_pton(AF_INET, addr, e.addr.bytes) == 1)
                        e.addr.family = AF_INET;
                else if (inet_pton(AF_INET6, addr, e.addr.bytes) == 1)
                        e.addr.family = AF_INET6;
        }
        return e;
}

/* The key nft-key.c must have sent for e, in the set it goes to. */
static size_t key_of(const NftElem *e, uint8_t key[24]) {
        memset(key, 0, 24);
        if (e->addr.family == AF_INET) {
                memcpy(key, e->addr.bytes, 4);
                if (e->port == 0)
                        return 4;
                key[4] = e->proto;
                key[8] = (uint8_t) (e->port >> 8);
                key[9] = (uint8_t) e->port;
                return 12;
        }
        memcpy(key, e->addr.bytes, 16);
        if (e->port == 0)
                return 16;
        key[16] = e->proto;
        key[20] = (uint8_t) (e->port >> 8);
        key[21] = (uint8_t) e->port;
        return 24;
}

static const char *set_of(const NftElem *e) {
        return nft_elem_set(e);
}

/* Finds e's (start) element in the kernel; fills *ret. Returns 1 found, 0 not, <0 error. */
static int lookup(const NftElem *e, DumpElem *ret) {
        DumpElem *v = NULL;
        uint8_t key[24];
        size_t len = key_of(e, key);
        int n, found = 0;

        n = dump_set(set_of(e), &v);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                if (v[i].key_len == len && memcmp(v[i].key, key, len) == 0 &&
                    !(v[i].flags & NFT_SET_ELEM_INTERVAL_END)) {
                        if (ret)
                                *ret = v[i];
                        found = 1;
                        break;
                }
        free(v);
        return found;
}

static int count(const char *set) {
        DumpElem *v = NULL;
        int n = dump_set(set, &v);
        free(v);
        return n;
}

static int cmp_dump_key(const void *a, const void *b) {
        const DumpElem *x = a, *y = b;

        if (x->key_len != y->key_len)
                return x->key_len < y->key_len ? -1 : 1;
        return memcmp(x->key, y->key, x->key_len);
}

/* Distinct elements of set with exactly this timeout: counts that short-lived elements of earlier
 * steps, expiring meanwhile, cannot disturb. A dump taken while the kernel resizes a hash set
 * after a large insert can repeat or skip elements (its rhashtable walk restarts), so keys are
 * counted once and the set is dumped until two dumps agree. */
static int count_timeout_once(const char *set, uint64_t timeout_ms) {
        DumpElem *v = NULL;
        int n = dump_set(set, &v), k = 0;

        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                if (v[i].timeout == timeout_ms)
                        v[k++] = v[i];
        qsort(v, (size_t) k, sizeof *v, cmp_dump_key);
        n = k;
        k = 0;
        for (int i = 0; i < n; i++)
                if (i == 0 || cmp_dump_key(&v[i - 1], &v[i]) != 0)
                        k++;
        free(v);
        return k;
}

static int count_timeout(const char *set, uint64_t timeout_ms) {
        int prev = count_timeout_once(set, timeout_ms), cur = prev;

        for (int i = 0; i < 10 && prev >= 0; i++, prev = cur) {
                cur = count_timeout_once(set, timeout_ms);
                if (cur == prev)
                        break;
        }
        return cur;
}

static void check_present(const NftElem *e, uint64_t timeout_ms, const char *comment) {
        DumpElem d;
        CHECK_EQ(lookup(e, &d), 1);
        CHECK_EQ(d.timeout, timeout_ms);
        if (timeout_ms > 0)
                CHECK(d.expiration > 0 && d.expiration <= timeout_ms && d.expiration + 60000 > timeout_ms);
        CHECK(strcmp(d.comment, comment ? comment : "") == 0);
}

static bool nft_list_contains(const char *set, const char *needle) {
        char cmd[256], line[4096];
        bool found = false;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "nft list set inet nftjail %s 2>&1", set);
        f = popen(cmd, "r");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strstr(line, needle))
                        found = true;
        pclose(f);
        return found;
}

/* n distinct v4_port elements (768 addresses of the three documentation networks, then the next
 * udp port), all with timeout_ms: counted by it. NULL when out of memory. */
static NftElem *many(size_t n, uint64_t timeout_ms) {
        static const uint8_t nets[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
        NftElem *v = calloc(n, sizeof(*v));

        for (size_t i = 0; v && i < n; i++) {
                size_t a = i % 768;
                v[i] = (NftElem) { .addr.family = AF_INET, .proto = IPPROTO_UDP,
                                   .port = (uint16_t) (1 + i / 768), .timeout_ms = timeout_ms };
                memcpy(v[i].addr.bytes, nets[a / 256], 3);
                v[i].addr.bytes[3] = (uint8_t) (a % 256);
        }
        return v;
}

static int count_elem_del(const NftEvent *ev, void *userdata) {
        if (ev->type == NFT_EVENT_ELEM_DEL)
                (*(int *) userdata)++;
        return 0;
}

/* A dump of a set that changes while it is listed: fn commits an element of the same timeout
 * into the set (on the persistent socket) at the 1000th element of each of the first
 * commit_tries tries, so that the kernel builds the rest of that dump in a newer generation. */
typedef struct IntrCtx {
        Nft *nft;
        uint64_t timeout_ms;
        unsigned commit_tries;
        unsigned tries;         /* tries started so far, minus one */
        int seen;               /* elements of timeout_ms in this try */
        int in_try;             /* elements of any kind in this try */
        int commit_error;
        unsigned *added;        /* distinct elements committed so far, over every dump */
} IntrCtx;

static NftElem intr_extra(unsigned i, uint64_t timeout_ms) {
        NftElem e = elem("203.0.113.250", 0, IPPROTO_TCP, 0, timeout_ms, "intr");
        e.port = (uint16_t) (40000 + i);
        return e;
}

static int intr_fn(const char *set, struct nftnl_set_elem *e, void *userdata) {
        IntrCtx *c = userdata;
        (void) set;

        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT) &&
            nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT) == c->timeout_ms)
                c->seen++;
        if (++c->in_try == 1000 && c->tries < c->commit_tries) {
                NftElem x = intr_extra((*c->added)++, c->timeout_ms);
                int r = nft_apply(c->nft, NFT_OP_ADD, &x, 1, NULL, NULL);
                if (r < 0)
                        c->commit_error = r;
        }
        return 0;
}

static void intr_restart(const char *set, void *userdata) {
        IntrCtx *c = userdata;
        (void) set;
        c->tries++;
        c->seen = 0;
        c->in_try = 0;
}

/* Netlink edges of issue 14: an interrupted dump is listed again, lost acks are resolved by the
 * generation id, and no answer that never comes (or comes late) wedges or fools the socket. */
static void test_edges(Nft *nft) {
        size_t idx, committed;

        /* A set dump built across generations is started again, and the try that no commit
         * interrupted counts every element exactly once: 20000 plus the one added meanwhile. */
        {
                const uint64_t tmo = 900000;
                NftElem *v = many(20000, tmo);
                unsigned added = 0;
                IntrCtx c = { .nft = nft, .timeout_ms = tmo, .commit_tries = 1, .added = &added };

                CHECK(v != NULL);
                if (v) {
                        CHECK_EQ(nft_apply(nft, NFT_OP_ADD, v, 20000, NULL, &idx), 0);
                        CHECK_EQ(nft_dump_set(NFT_SET_V4_PORT, intr_fn, intr_restart, &c), 0);
                        CHECK_EQ(c.commit_error, 0);
                        /* a rehash of the kernel's hash table can interrupt a try too (a key
                         * listed twice): one restart at least, and the last try exact */
                        CHECK(c.tries >= 1);
                        CHECK(added <= 1);
                        CHECK_EQ(c.seen, 20000 + (int) added);
                        /* changed during every try: -EAGAIN after NFT_DUMP_TRIES */
                        c = (IntrCtx) { .nft = nft, .timeout_ms = tmo, .commit_tries = NFT_DUMP_TRIES,
                                     .added = &added };
                        CHECK_EQ(nft_dump_set(NFT_SET_V4_PORT, intr_fn, intr_restart, &c), -EAGAIN);
                        CHECK_EQ(c.commit_error, 0);
                        CHECK_EQ(c.tries, NFT_DUMP_TRIES - 1);
                        /* no restart function: no second try */
                        c = (IntrCtx) { .nft = nft, .timeout_ms = tmo, .commit_tries = NFT_DUMP_TRIES + 1,
                                     .added = &added };
                        CHECK_EQ(nft_dump_set(NFT_SET_V4_PORT, intr_fn, NULL, &c), -EAGAIN);
                        CHECK_EQ(c.tries, 0);
                        CHECK(added >= 1 && added <= 1 + NFT_DUMP_TRIES + 1);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, 20000, NULL, &idx), 0);
                        for (unsigned i = 0; i < added; i++) {
                                NftElem x = intr_extra(i, tmo);
                                CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &x, 1, NULL, &idx), 0);
                        }
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, tmo), 0);
                        free(v);
                }
        }

        /* Lost acks: with an ack per message and a receive buffer of a few KiB, the kernel drops
         * most of them (ENOBUFS), the last one too. A committed batch is a success, counted; a
         * refused one (its error was dropped) stays the error. */
        {
                const uint64_t tmo = 910000;
                const size_t n = 2000;
                NftElem *v = many(n + 1, tmo);
                uint64_t c0 = nft_commits(nft), u0 = nft_unknown_committed(nft);

                CHECK(v != NULL);
                if (v) {
                        nft_set_ack_all(nft, true);
                        CHECK_EQ(nft_test_rcvbuf(nft, 4096), 0);
                        committed = 0;
                        CHECK_EQ(nft_apply(nft, NFT_OP_ADD, v, n, &committed, &idx), 0);
                        CHECK_EQ(committed, n);
                        CHECK_EQ(nft_commits(nft), c0 + 1);
                        CHECK_EQ(nft_unknown_committed(nft), u0 + 1);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, tmo), n);
                        /* v[n] is not there: the transaction fails with ENOENT, which is dropped */
                        committed = 99;
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, n + 1, &committed, &idx), -ENOBUFS);
                        CHECK_EQ(committed, 0);
                        CHECK_EQ(nft_commits(nft), c0 + 1);
                        CHECK_EQ(nft_unknown_committed(nft), u0 + 1);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, tmo), n);
                        CHECK_EQ(nft_test_rcvbuf(nft, 0), 0);
                        nft_set_ack_all(nft, false);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, n + 1, NULL, &idx), -ENOENT);
                        CHECK_EQ(idx, n);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, n, NULL, &idx), 0);
                        CHECK_EQ(nft_unknown_committed(nft), u0 + 1);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, tmo), 0);
                        free(v);
                }
        }

        /* No answer: a query, a batch and a dump whose request never reaches the kernel time out,
         * and the socket stays usable. */
        {
                NftElem e = elem("203.0.113.77", 0, IPPROTO_TCP, 22, 600000, "late");
                NftListed *l = NULL;
                uint64_t c0 = nft_commits(nft);
                uint32_t g1 = 0, g2 = 0;
                int n;

                nft_test_timeouts(nft, 300, 300);
                nft_test_fault(nft, NFT_FAULT_DROP_QUERY);
                CHECK_EQ(nft_table_exists(nft), -ETIMEDOUT);
                /* the answer to that GETTABLE (NEWTABLE, then an ack) comes right before the
                 * GETGEN's: taken for it, the id would be 0 */
                nft_test_fault(nft, NFT_FAULT_LATE_QUERY);
                CHECK_EQ(nft_genid(nft, &g1), 0);
                CHECK_EQ(nft_genid(nft, &g2), 0);
                CHECK(g1 != 0);
                CHECK_EQ(g1, g2);
                CHECK_EQ(nft_table_exists(nft), 1);

                /* the batch is never sent: the genid says not committed */
                nft_test_fault(nft, NFT_FAULT_DROP_BATCH);
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &e, 1, NULL, &idx), -ETIMEDOUT);
                CHECK_EQ(nft_commits(nft), c0);
                CHECK_EQ(lookup(&e, NULL), 0);
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &e, 1, NULL, &idx), 0);
                CHECK_EQ(nft_commits(nft), c0 + 1);
                check_present(&e, 600000, "late");
                CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &e, 1, NULL, &idx), 0);
                nft_test_timeouts(nft, NFT_QUERY_TIMEOUT_MS, NFT_ACK_TIMEOUT_MS);

                nft_test_dump_fault(true, 300);
                CHECK_EQ(nft_list(nft, &l), -ETIMEDOUT);
                CHECK(l == NULL);
                nft_test_dump_fault(false, 0);
                n = nft_list(nft, &l);
                CHECK(n > 0);
                free(l);
        }
}

int main(void) {
        char path[4096], err[4096];
        const char *srcdir = getenv("SRCDIR");
        Nft *nft = NULL;
        size_t idx;
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "not root: skipping\n");
                return 77;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                perror("unshare(CLONE_NEWNET)");
                return 77;
        }
        snprintf(path, sizeof(path), "%s/nft/nftjail.nft", srcdir ? srcdir : NFTJAIL_SOURCE_ROOT);

        CHECK_EQ(nft_new(&nft), 0);
        if (!nft)
                return 1;

        /* table: missing, loaded, there */
        CHECK_EQ(nft_table_exists(nft), 0);
        r = nft_ensure_table(nft, path, err, sizeof(err));
        if (r < 0)
                fprintf(stderr, "load: %s\n", err);
        CHECK_EQ(r, 1);
        CHECK_EQ(nft_table_exists(nft), 1);
        CHECK_EQ(nft_ensure_table(nft, path, err, sizeof(err)), 0);
        CHECK(nft_load_file("/nonexistent.nft", err, sizeof(err)) == -ENOENT);
        {
                char bad[] = "/tmp/test-nft-kernel-XXXXXX";
                int fd = mkstemp(bad);
                CHECK(fd >= 0);
                if (fd >= 0) {
                        static const char text[] = "table inet nftjail {\n\tset x { type nonsense; }\n}\n";
                        CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t) sizeof(text) - 1);
                        close(fd);
                        err[0] = 0;
                        CHECK_EQ(nft_load_file(bad, err, sizeof(err)), -EINVAL);
                        CHECK(strstr(err, "nonsense") != NULL);
                        unlink(bad);
                }
        }

        /* ADD: ports, all-ports, IPv6 single and /64 in the hash sets and (as the layout before
         * them had it, and any other prefix) in the interval sets */
        NftElem add[] = {
                elem("192.0.2.1", 0, IPPROTO_TCP, 22, 3600000, "sshd"),
                elem("192.0.2.2", 0, IPPROTO_UDP, 53, 0, NULL),
                elem("2001:db8::1", 128, IPPROTO_TCP, 22, 3600000, "sshd"),
                elem("2001:db8:1::", 64, IPPROTO_TCP, 443, 600000, "nginx"),
                elem("198.51.100.7", 0, 0, 0, 86400000, "recidive"),
                elem("2001:db8::5", 128, 0, 0, 86400000, "recidive"),
                elem("2001:db8:2::", 64, 0, 0, 600000, "portscan"),
                elem("2001:db8:3::", 64, IPPROTO_TCP, 22, 3600000, "sshd"),
                elem("2001:db8:4::", 64, 0, 0, 600000, "recidive"),
                elem("2001:db8::8", 128, 0, 0, 0, "manual"),
                elem("2001:db8:5::", 48, IPPROTO_TCP, 22, 600000, "wide"),
        };
        add[3].interval_set = add[5].interval_set = add[6].interval_set = true;
        idx = 99;
        CHECK_EQ(nft_apply(nft, NFT_OP_ADD, add, ELEMENTSOF(add), NULL, &idx), 0);
        CHECK_EQ(idx, 99);
        for (size_t i = 0; i < ELEMENTSOF(add); i++)
                check_present(&add[i], add[i].timeout_ms, add[i].comment);
        CHECK_EQ(count(NFT_SET_V4_PORT), 2);
        CHECK_EQ(count(NFT_SET_V6_PORT), 2);    /* the /64 of the old layout, the /48 */
        CHECK_EQ(count(NFT_SET_V6_PORT_128), 1);
        CHECK_EQ(count(NFT_SET_V6_PORT_64), 1);
        CHECK_EQ(count(NFT_SET_V4), 1);
        CHECK_EQ(count(NFT_SET_V6), 4); /* two starts, two interval ends */
        CHECK_EQ(count(NFT_SET_V6_128), 1);
        CHECK_EQ(count(NFT_SET_V6_64), 1);

        /* interval shapes as nft writes them */
        {
                DumpElem d;
                NftElem e = elem("2001:db8:1::", 64, IPPROTO_TCP, 443, 0, NULL);
                e.interval_set = true;
                CHECK_EQ(lookup(&e, &d), 1);
                CHECK_EQ(d.key_end_len, 24);
                CHECK(memcmp(d.key_end + 8, "\xff\xff\xff\xff\xff\xff\xff\xff", 8) == 0);
                CHECK(memcmp(d.key_end + 16, d.key + 16, 8) == 0);

                NftElem end = elem("2001:db8::6", 128, 0, 0, 0, NULL);  /* end of 2001:db8::5 */
                DumpElem *v = NULL;
                uint8_t key[24];
                int n = dump_set(NFT_SET_V6, &v), found = 0;
                key_of(&end, key);
                for (int i = 0; i < n; i++)
                        if (memcmp(v[i].key, key, 16) == 0 && (v[i].flags & NFT_SET_ELEM_INTERVAL_END))
                                found = 1;
                free(v);
                CHECK_EQ(found, 1);
        }

        /* nft_list() gives every ban back, decoded: 7 elements (interval ends are not bans) */
        {
                NftListed *l = NULL;
                int n = nft_list(nft, &l), matched = 0;

                CHECK_EQ(n, (int) ELEMENTSOF(add));
                for (int i = 0; i < n; i++)
                        for (size_t k = 0; k < ELEMENTSOF(add); k++) {
                                const NftElem *w = &add[k];
                                const NftElem *g = &l[i].elem;
                                if (!addr_equal(&g->addr, &w->addr) || g->port != w->port)
                                        continue;
                                matched++;
                                CHECK_EQ(g->proto, w->port ? w->proto : 0);
                                CHECK_EQ(g->timeout_ms, w->timeout_ms);
                                CHECK(w->timeout_ms == 0 || (l[i].expires_ms > 0 && l[i].expires_ms <= w->timeout_ms));
                                CHECK(strcmp(g->comment ? g->comment : "", w->comment ? w->comment : "") == 0);
                                if (w->addr.family == AF_INET6 && (w->port || !w->interval_set))
                                        CHECK_EQ(g->prefixlen, w->prefixlen);
                                if (w->addr.family == AF_INET6 && (w->prefixlen == 64 || w->prefixlen == 128))
                                        CHECK_EQ(g->interval_set, w->interval_set);
                                CHECK(strcmp(l[i].set, nft_elem_set(g)) == 0);
                        }
                CHECK_EQ(matched, (int) ELEMENTSOF(add));
                free(l);
        }

        /* nft itself shows what we wrote */
        CHECK(nft_list_contains(NFT_SET_V4_PORT, "192.0.2.1 . tcp . 22"));
        CHECK(nft_list_contains(NFT_SET_V4_PORT, "comment \"sshd\""));
        CHECK(nft_list_contains(NFT_SET_V6_PORT, "2001:db8:1::/64 . tcp . 443"));
        CHECK(nft_list_contains(NFT_SET_V6, "2001:db8::5 counter"));
        CHECK(nft_list_contains(NFT_SET_V6, "2001:db8:2::/64"));
        CHECK(nft_list_contains(NFT_SET_V6, "comment \"recidive\""));
        CHECK(nft_list_contains(NFT_SET_V6_PORT_64, "2001:db8:3:: . tcp . 22"));
        CHECK(nft_list_contains(NFT_SET_V6_PORT_128, "2001:db8::1 . tcp . 22"));
        CHECK(nft_list_contains(NFT_SET_V6_64, "2001:db8:4::"));
        CHECK(nft_list_contains(NFT_SET_V6_128, "2001:db8::8 counter"));
        CHECK(nft_list_contains(NFT_SET_V6_PORT, "2001:db8:5::/48 . tcp . 22"));

        /* ADD again: accepted. What happens to the timeout depends on the kernel. */
        {
                NftElem again = add[0];
                DumpElem d;
                again.timeout_ms = 7200000;
                again.comment = "other";
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &again, 1, NULL, &idx), 0);
                CHECK_EQ(lookup(&again, &d), 1);
                printf("re-ADD of an existing element with timeout 2h (was 1h): timeout now %llu ms, comment '%s'\n",
                       (unsigned long long) d.timeout, d.comment);
                CHECK(strcmp(d.comment, "sshd") == 0);
                again.timeout_ms = 3600000;
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &again, 1, NULL, &idx), 0);
                NftElem again6 = add[5];
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &again6, 1, NULL, &idx), 0);
                NftElem again6p = add[3];
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &again6p, 1, NULL, &idx), 0);
        }

        /* REPLACE extends the timeout (any kernel), also of interval elements, and re-creates
         * an element that is gone */
        {
                NftElem rep[] = { add[0], add[5], add[3], elem("203.0.113.50", 0, IPPROTO_TCP, 8006, 60000, "proxmox") };
                for (size_t i = 0; i < 3; i++)
                        rep[i].timeout_ms = 7 * 86400000ULL;
                CHECK_EQ(nft_apply(nft, NFT_OP_REPLACE, rep, ELEMENTSOF(rep), NULL, &idx), 0);
                for (size_t i = 0; i < ELEMENTSOF(rep); i++)
                        check_present(&rep[i], rep[i].timeout_ms, rep[i].comment);
                CHECK_EQ(count(NFT_SET_V6), 4);
                CHECK_EQ(count(NFT_SET_V4_PORT), 3);
        }

        /* DEL removes, intervals with their end */
        {
                NftElem del[] = { add[1], add[6], elem("203.0.113.50", 0, IPPROTO_TCP, 8006, 0, NULL) };
                CHECK_EQ(nft_apply(nft, NFT_OP_DEL, del, ELEMENTSOF(del), NULL, &idx), 0);
                for (size_t i = 0; i < ELEMENTSOF(del); i++)
                        CHECK_EQ(lookup(&del[i], NULL), 0);
                CHECK_EQ(count(NFT_SET_V6), 2);
                CHECK_EQ(count(NFT_SET_V4_PORT), 1);
        }

        /* An error in the middle: nothing applied, the refused element is named */
        {
                NftElem del[] = { add[0], elem("192.0.2.99", 0, IPPROTO_TCP, 22, 0, NULL), add[4] };
                idx = 99;
                CHECK_EQ(nft_apply(nft, NFT_OP_DEL, del, ELEMENTSOF(del), NULL, &idx), -ENOENT);
                CHECK_EQ(idx, 1);
                CHECK_EQ(lookup(&add[0], NULL), 1);
                CHECK_EQ(lookup(&add[4], NULL), 1);

                /* the socket is clean: the next call works and sees no stale ack */
                NftElem ok = elem("192.0.2.3", 0, IPPROTO_TCP, 22, 60000, "sshd");
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &ok, 1, NULL, &idx), 0);
                CHECK_EQ(lookup(&ok, NULL), 1);
                CHECK_EQ(nft_table_exists(nft), 1);
        }

        /* A ban inside an already banned IPv6 prefix of an interval set: the kernel refuses the
         * overlap; the whole batch must be refused. */
        {
                NftElem over[] = { elem("192.0.2.60", 0, IPPROTO_TCP, 22, 60000, NULL),
                                   elem("2001:db8:1::7", 128, IPPROTO_TCP, 443, 60000, NULL) };
                over[1].interval_set = true;
                idx = 99;
                r = nft_apply(nft, NFT_OP_ADD, over, ELEMENTSOF(over), NULL, &idx);
                printf("ADD of 2001:db8:1::7 . tcp . 443 inside banned 2001:db8:1::/64 . tcp . 443: %s (index %zu)\n",
                       r < 0 ? strerror(-r) : "accepted", idx);
                if (r < 0) {
                        CHECK_EQ(idx, 1);
                        CHECK_EQ(lookup(&over[0], NULL), 0);
                }
                NftElem over6[] = { elem("2001:db8::5", 128, 0, 0, 60000, NULL),
                                    elem("2001:db8::", 64, 0, 0, 60000, NULL) };
                over6[0].interval_set = over6[1].interval_set = true;
                r = nft_apply(nft, NFT_OP_ADD, over6, ELEMENTSOF(over6), NULL, &idx);
                printf("ADD of 2001:db8::/64 over banned 2001:db8::5 (set v6): %s (index %zu)\n",
                       r < 0 ? strerror(-r) : "accepted", idx);
        }

        /* Bad input never reaches the kernel */
        {
                NftElem bad[] = { add[0], add[0] };
                bad[1].addr.family = AF_UNIX;
                idx = 99;
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, bad, 2, NULL, &idx), -EINVAL);
                CHECK_EQ(idx, 1);
        }

        /* Large calls: more elements than one transaction holds; and a failing batch whose
         * errors overflow the receive buffer still names the first refused element and leaves
         * the socket usable. */
        {
                size_t n = NFT_TXN_MAX_MSGS + 1000;
                NftElem *v = many(n, 600000);
                CHECK(v != NULL);
                if (v) {
                        /* counted by their own timeout (600 s, used by nothing else here) */
                        int before = count_timeout(NFT_SET_V4_PORT, 600000);
                        idx = 99;
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, 100000, NULL, &idx), -ENOENT);
                        CHECK_EQ(idx, 0);
                        CHECK_EQ(nft_table_exists(nft), 1);
                        CHECK_EQ(nft_apply(nft, NFT_OP_ADD, v, n, NULL, &idx), 0);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, 600000), before + (int) n);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, n, NULL, &idx), 0);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, 600000), before);
                        free(v);
                }
        }

        /* DESTROY of more elements than one transaction holds, one in ten of them gone already
         * (deleted by another socket, standing in for expiry): every element gone, nothing
         * refused. Through DESTROYSETELEM: one transaction each. Through the DEL fallback: each
         * transaction sent again only to drop what the kernel refused, a bounded number of times. */
        {
                size_t n = NFT_TXN_MAX_MSGS + 20000, n_gone = 0, committed;
                NftElem *v = many(n, 700000), *gone = calloc(n, sizeof(NftElem));
                Nft *other = NULL;

                CHECK(v && gone);
                CHECK_EQ(nft_new(&other), 0);
                for (int fallback = 0; v && gone && other && fallback < 2; fallback++) {
                        uint64_t t0, c0;

                        n_gone = 0;
                        for (size_t i = 3; i < n; i += 10)
                                gone[n_gone++] = v[i];
                        /* a strict DEL that succeeds proves every one of them was there (a
                         * dump of a large hash set is slow: its walk restarts per message) */
                        CHECK_EQ(nft_apply(nft, NFT_OP_ADD, v, n, NULL, &idx), 0);
                        CHECK_EQ(nft_apply(other, NFT_OP_DEL, gone, n_gone, NULL, &idx), 0);

                        nft_set_destroy_fallback(nft, fallback);
                        t0 = nft_transactions(nft);
                        c0 = nft_commits(nft);
                        committed = 99;
                        idx = 99;
                        CHECK_EQ(nft_apply(nft, NFT_OP_DESTROY, v, n, &committed, &idx), 0);
                        CHECK_EQ(committed, n);
                        CHECK_EQ(idx, 99);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, 700000), 0);
                        CHECK_EQ(nft_commits(nft) - c0, 2);
                        printf("DESTROY of %zu elements, %zu of them gone, %s: %llu transactions sent\n", n, n_gone,
                               fallback ? "DEL fallback" : "DESTROYSETELEM",
                               (unsigned long long) (nft_transactions(nft) - t0));
                        if (fallback)
                                /* per transaction: the first send learns some of the refused
                                 * elements (more than the receive buffer holds), the second
                                 * the rest, the third commits */
                                CHECK(nft_transactions(nft) - t0 <= 6);
                        else
                                CHECK_EQ(nft_transactions(nft) - t0, 2);
                }
                /* nothing there at all: the fallback sends nothing more than it must */
                if (v) {
                        uint64_t t0 = nft_transactions(nft);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DESTROY, v, 1000, &committed, &idx), 0);
                        CHECK_EQ(committed, 1000);
                        CHECK_EQ(nft_transactions(nft) - t0, 1);
                }
                nft_set_destroy_fallback(nft, false);
                nft_free(other);
                free(gone);
                free(v);
        }

        /* A DESTROY is notified as a delete (DELSETELEM), one per element it removed, with our
         * portid: what the monitor's readers count on */
        {
                NftElem t[3] = { elem("198.51.100.80", 0, 0, 0, 60000, "destroy"),
                                 elem("198.51.100.81", 0, 0, 0, 60000, "destroy"),
                                 elem("198.51.100.82", 0, 0, 0, 0, NULL) };
                NftMonitor *mon = NULL;
                int seen = 0;

                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, t, 2, NULL, &idx), 0);
                CHECK_EQ(nft_monitor_new(&mon), 0);
                CHECK_EQ(nft_apply(nft, NFT_OP_DESTROY, t, 3, NULL, &idx), 0);
                if (mon)
                        CHECK_EQ(nft_monitor_read(mon, count_elem_del, &seen), 0);
                CHECK_EQ(seen, 2);
                CHECK_EQ(lookup(&t[0], NULL), 0);
                nft_monitor_free(mon);
        }

        /* A failure in a later transaction: the earlier ones stay committed and are counted. An
         * ADD of 2.5 transactions' worth whose third transaction holds an element the kernel
         * refuses (a timeout beyond what it can express) */
        {
                size_t n = NFT_TXN_MAX_MSGS * 5 / 2, bad = 2 * NFT_TXN_MAX_MSGS + 100, committed = 99;
                NftElem *v = many(n, 800000);

                CHECK(v != NULL);
                if (v) {
                        v[bad].timeout_ms = UINT64_MAX;
                        idx = 99;
                        r = nft_apply(nft, NFT_OP_ADD, v, n, &committed, &idx);
                        printf("ADD of %zu elements, element %zu with timeout %llu ms: %s\n", n, bad,
                               (unsigned long long) UINT64_MAX, strerror(-r));
                        CHECK(r < 0);
                        CHECK_EQ(idx, bad);
                        CHECK_EQ(committed, 2 * NFT_TXN_MAX_MSGS);
                        /* the committed ones are there: a strict DEL of them all succeeds;
                         * the third transaction's are not */
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, v, 2 * NFT_TXN_MAX_MSGS, &committed, &idx), 0);
                        CHECK_EQ(committed, 2 * NFT_TXN_MAX_MSGS);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &v[2 * NFT_TXN_MAX_MSGS], 1, NULL, &idx), -ENOENT);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &v[bad - 1], 1, NULL, &idx), -ENOENT);
                        CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &v[n - 1], 1, NULL, &idx), -ENOENT);
                        CHECK_EQ(count_timeout(NFT_SET_V4_PORT, 800000), 0);
                        free(v);
                }
        }

        /* Expiry: the kernel removes a 2 s ban by itself */
        {
                NftElem t = elem("203.0.113.9", 0, IPPROTO_TCP, 22, 2000, "sshd");
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                int gone = 0;
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, &t, 1, NULL, &idx), 0);
                CHECK_EQ(lookup(&t, NULL), 1);
                for (int i = 0; i < 100 && !gone; i++) {
                        nanosleep(&ts, NULL);
                        gone = lookup(&t, NULL) == 0;
                }
                CHECK_EQ(gone, 1);
        }

        /* Generation id: ours advance it by one per committed transaction, a refused one not at
         * all, a foreign one by one more; a monitor out of the group sees nothing of it */
        {
                NftElem t[2] = { elem("198.51.100.70", 0, 0, 0, 0, "genid"), elem("198.51.100.71", 0, 0, 0, 0, "genid") };
                NftElem absent = elem("198.51.100.72", 0, 0, 0, 0, NULL);
                NftMonitor *mon = NULL;
                uint32_t g0 = 0, g1 = 0, g2 = 0, g3 = 0;
                uint64_t c0 = nft_commits(nft);
                int seen = 0;

                CHECK_EQ(nft_monitor_new(&mon), 0);
                CHECK_EQ(nft_genid(nft, &g0), 0);
                CHECK_EQ(nft_apply(nft, NFT_OP_ADD, t, 2, NULL, &idx), 0);
                CHECK_EQ(nft_commits(nft), c0 + 1);
                CHECK_EQ(nft_apply(nft, NFT_OP_DEL, &absent, 1, NULL, &idx), -ENOENT);
                CHECK_EQ(nft_commits(nft), c0 + 1);
                CHECK_EQ(nft_genid(nft, &g1), 0);
                CHECK_EQ(g1 - g0, 1);
                if (mon) {
                        CHECK_EQ(nft_monitor_read(mon, count_elem_del, &seen), 0);
                        CHECK_EQ(nft_monitor_subscribe(mon, false), 0);
                        CHECK_EQ(system("nft delete element inet nftjail v4 '{ 198.51.100.70 }'"), 0);
                        CHECK_EQ(nft_monitor_subscribe(mon, true), 0);
                        CHECK_EQ(nft_genid(nft, &g2), 0);
                        CHECK_EQ(g2 - g1, 1);
                        CHECK_EQ(nft_monitor_read(mon, count_elem_del, &seen), 0);
                        CHECK_EQ(seen, 0);
                        /* subscribed again: seen */
                        CHECK_EQ(system("nft delete element inet nftjail v4 '{ 198.51.100.71 }'"), 0);
                        CHECK_EQ(nft_monitor_read(mon, count_elem_del, &seen), 0);
                        CHECK_EQ(seen, 1);
                        CHECK_EQ(nft_genid(nft, &g3), 0);
                        CHECK_EQ(g3 - g2, 1);
                }
                nft_monitor_free(mon);
        }

        test_edges(nft);

        nft_free(nft);
        if (failures)
                fprintf(stderr, "%d check(s) failed\n", failures);
        return failures ? 1 : 0;
}
