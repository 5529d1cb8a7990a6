/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "restore.h"
#include "util/string-util.h"

#define RESTORE_RETRIES 16
/* The bans are applied in chunks of this many elements as they are read (one netlink transaction
 * each), so that the elements of a million bans and their batch are never in memory at once: a
 * peak of 218 MiB RSS when they were, 102.5 MiB with chunks of 65,536, 91.3 MiB with 16,384
 * (1,000,000 IPv6 bans, tests/bench/bench-restore-peak.sh; 87.8 MiB once restored, nearly all
 * the ban map: 2^21 entries of 40 bytes). */
#define RESTORE_CHUNK 16384U
#define ADOPTED_JAIL "adopted" /* an element without a comment */

typedef struct AddElem {
        NftElem elem;
        usec_t expiry;
        size_t owner;           /* index of the state ban, for the stats */
} AddElem;

/* A ban of the state whose jail is gone: its elements, still in the kernel, are not adopted again. */
typedef struct Orphan {
        char jail[NFT_COMMENT_MAX + 1];
        Addr addr;
} Orphan;

typedef struct Ctx {
        Nft *nft;
        Orphan *orphans;
        size_t n_orphans, cap_orphans;
        const JailConf *jails;
        size_t n_jails;
        BanMap *kern;           /* what the kernel holds, with its expiry */
        BanMap *bans;
        usec_t now_bt;
        int64_t now_rt_ms;
        AddElem *add;           /* the chunk being read */
        size_t n_add, cap_add;
        AddElem *held;          /* elements that more than one ban gives: applied last, together */
        size_t n_held, cap_held;
        /* A first pass over the state (counting) hashes every element to add; an element whose
         * hash comes twice (two jails on one port, two addresses of one IPv6 /64) is held, so that
         * its longest ban wins as when all were sorted at once. Any other element is unique and
         * goes out with its chunk. 8 bytes a ban, for the length of the restore. */
        bool counting;
        uint64_t *hashes;       /* counting: all; after it: those seen twice or more, sorted */
        size_t n_hashes, cap_hashes;
        size_t n_owner;
        bool as_left;           /* the kernel holds what the state says: not listed, nothing added */
        RestoreStats *stats;
} Ctx;

static const JailConf *find_jail(const Ctx *c, const char *name) {
        for (size_t i = 0; i < c->n_jails; i++)
                if (strcmp(c->jails[i].name, name) == 0)
                        return &c->jails[i];
        return NULL;
}

static uint64_t elem_hash(const NftElem *e) {
        uint8_t k[20];

        /* what elem_cmp() compares */
        k[0] = e->addr.family;
        memcpy(k + 1, e->addr.bytes, 16);
        k[17] = e->proto;
        memcpy(k + 18, &e->port, 2);
        return fnv1a64(k, sizeof k);
}

static int u64_cmp(const void *x, const void *y) {
        uint64_t a = *(const uint64_t *) x, b = *(const uint64_t *) y;

        return a < b ? -1 : a > b;
}

static int push_hash(Ctx *c, uint64_t h) {
        if (c->n_hashes == c->cap_hashes) {
                size_t nc = MAX(c->cap_hashes * 2, 4096);
                uint64_t *v = realloc(c->hashes, nc * sizeof *v);
                if (!v)
                        return -ENOMEM;
                c->hashes = v;
                c->cap_hashes = nc;
        }
        c->hashes[c->n_hashes++] = h;
        return 0;
}

/* After the counting pass: keeps the hashes that came more than once, sorted. */
static void keep_repeated(Ctx *c) {
        size_t k = 0;

        if (c->n_hashes > 0) /* hashes is NULL then, which qsort() must not be given */
                qsort(c->hashes, c->n_hashes, sizeof *c->hashes, u64_cmp);
        for (size_t i = 0; i < c->n_hashes;) {
                size_t j = i + 1;

                while (j < c->n_hashes && c->hashes[j] == c->hashes[i])
                        j++;
                if (j - i > 1)
                        c->hashes[k++] = c->hashes[i];
                i = j;
        }
        c->n_hashes = k;
        if (k == 0) {
                free(c->hashes);
                c->hashes = NULL;
                c->cap_hashes = 0;
        }
}

static int push_add(AddElem **v, size_t *n, size_t *cap, const AddElem *e) {
        if (*n == *cap) {
                size_t nc = MAX(*cap * 2, 1024);
                AddElem *w = realloc(*v, nc * sizeof *w);
                if (!w)
                        return -ENOMEM;
                *v = w;
                *cap = nc;
        }
        (*v)[(*n)++] = *e;
        return 0;
}

static int restore_apply(Nft *nft, Ctx *c);

static int restore_one(const StoreBan *b, void *userdata) {
        Ctx *c = userdata;
        NftElem elems[BAN_ELEMS_MAX];
        const JailConf *jc = find_jail(c, b->jail);
        uint64_t timeout_ms = 0;
        usec_t expiry = USEC_INFINITY;
        size_t n;
        bool added = false;

        if (!jc) {
                if (c->counting)
                        return 0;
                c->stats->dropped++;
                if (c->n_orphans == c->cap_orphans) {
                        size_t nc = MAX(c->cap_orphans * 2, 16);
                        Orphan *v = realloc(c->orphans, nc * sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        c->orphans = v;
                        c->cap_orphans = nc;
                }
                c->orphans[c->n_orphans] = (Orphan) { .addr = b->addr };
                snprintf(c->orphans[c->n_orphans].jail, sizeof c->orphans[0].jail, "%s", b->jail);
                c->n_orphans++;
                return 0;
        }
        if (b->end != STORE_PERMANENT) {
                /* saturating: a row's end may be anything (a state written before the limit) */
                int64_t now_sec = c->now_rt_ms / 1000, left;
                if (b->end < now_sec)
                        return 0;
                left = b->end - now_sec > NFTJAIL_BANTIME_MAX_SEC ? NFTJAIL_BANTIME_MAX_SEC * 1000
                                                                   : b->end * 1000 - c->now_rt_ms;
                if (left <= 0)
                        return 0;
                timeout_ms = (uint64_t) left;
                expiry = c->now_bt + (usec_t) left * USEC_PER_MSEC;
        }
        if (b->addr.family == AF_INET6 && b->prefixlen >= 16 && b->prefixlen <= 128) {
                /* the prefix the ban was made with, whatever the jail says now */
                JailConf tmp = *jc;
                tmp.ipv6_prefix = b->prefixlen;
                tmp.n_ignoreip = 0;
                n = ban_elems(&tmp, &b->addr, timeout_ms, elems, BAN_ELEMS_MAX);
        } else
                n = ban_elems(jc, &b->addr, timeout_ms, elems, BAN_ELEMS_MAX);
        for (size_t i = 0; i < n; i++) {
                usec_t k = c->as_left ? expiry : ban_map_get(c->kern, &elems[i], c->now_bt);
                AddElem a;
                uint64_t h;
                int r;

                if (c->counting) {
                        if (!k && push_hash(c, elem_hash(&elems[i])) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (k) {
                        /* the kernel's time is the truth; keep the longest of two jails */
                        if (ban_map_get(c->bans, &elems[i], c->now_bt) < k && ban_map_set(c->bans, &elems[i], k) < 0)
                                return -ENOMEM;
                        continue;
                }
                a = (AddElem) { .elem = elems[i], .expiry = expiry, .owner = c->n_owner };
                h = elem_hash(&elems[i]);
                if (c->n_hashes > 0 && bsearch(&h, c->hashes, c->n_hashes, sizeof h, u64_cmp))
                        r = push_add(&c->held, &c->n_held, &c->cap_held, &a);
                else
                        r = push_add(&c->add, &c->n_add, &c->cap_add, &a);
                if (r < 0)
                        return r;
                added = true;
        }
        if (c->counting)
                return 0;
        if (added)
                c->stats->restored++;
        else
                c->stats->present++;
        c->n_owner++;
        /* a chunk is full (the next ban might not fit): into the kernel now */
        if (c->n_add + BAN_ELEMS_MAX > RESTORE_CHUNK)
                return restore_apply(c->nft, c);
        return 0;
}

static int elem_cmp(const NftElem *a, const NftElem *b) {
        int r;

        if (a->addr.family != b->addr.family)
                return a->addr.family < b->addr.family ? -1 : 1;
        r = memcmp(a->addr.bytes, b->addr.bytes, 16);
        if (r)
                return r;
        if (a->port != b->port)
                return a->port < b->port ? -1 : 1;
        if (a->proto != b->proto)
                return a->proto < b->proto ? -1 : 1;
        return 0;
}

/* by element, longest expiry first */
static int add_cmp(const void *x, const void *y) {
        const AddElem *a = x, *b = y;
        int r = elem_cmp(&a->elem, &b->elem);

        if (r)
                return r;
        return a->expiry == b->expiry ? 0 : a->expiry > b->expiry ? -1 : 1;
}

/* by jail (comment), then address: one state row per adopted ban */
static int listed_cmp(const void *x, const void *y) {
        const NftListed *a = *(const NftListed *const *) x, *b = *(const NftListed *const *) y;
        int r = strcmp(a->comment, b->comment);

        if (r)
                return r;
        if (a->elem.addr.family != b->elem.addr.family)
                return a->elem.addr.family < b->elem.addr.family ? -1 : 1;
        return memcmp(a->elem.addr.bytes, b->elem.addr.bytes, 16);
}

static int orphan_cmp(const void *x, const void *y) {
        const Orphan *a = x, *b = y;
        int r = strcmp(a->jail, b->jail);

        if (r)
                return r;
        if (a->addr.family != b->addr.family)
                return a->addr.family < b->addr.family ? -1 : 1;
        return memcmp(a->addr.bytes, b->addr.bytes, 16);
}

/* Whether listed element l belongs to a ban of the state whose jail is gone. */
static bool is_orphan(const Ctx *c, const NftListed *l) {
        Orphan key = { .addr = l->elem.addr };

        if (c->n_orphans == 0 || !l->comment[0])
                return false;
        snprintf(key.jail, sizeof key.jail, "%s", l->comment);
        if (bsearch(&key, c->orphans, c->n_orphans, sizeof key, orphan_cmp))
                return true;
        /* an IPv6 prefix ban is keyed by its first address; the state has the offender's */
        for (size_t i = 0; i < c->n_orphans && l->elem.addr.family == AF_INET6; i++) {
                AddrPrefix p = { .addr = l->elem.addr, .prefixlen = l->elem.prefixlen };
                if (strcmp(c->orphans[i].jail, l->comment) == 0 && addr_prefix_contains(&p, &c->orphans[i].addr))
                        return true;
        }
        return false;
}

static usec_t listed_expiry(const NftListed *l, usec_t now_bt) {
        if (l->elem.timeout_ms == 0)
                return USEC_INFINITY;
        return now_bt + MAX(l->expires_ms, 1) * USEC_PER_MSEC;
}

/* Adds c->add (a chunk, or the held elements) to the kernel and empties it; an element the kernel
 * refuses is dropped and the rest tried again. Two bans of one element: the longest is added. */
static int restore_apply(Nft *nft, Ctx *c) {
        _cleanup_free_ NftElem *v = NULL;
        _cleanup_free_ size_t *idx = NULL;
        size_t n = 0;
        int r = 0;

        if (c->n_add == 0)
                return 0;
        qsort(c->add, c->n_add, sizeof *c->add, add_cmp);
        v = malloc(c->n_add * sizeof *v);
        idx = malloc(c->n_add * sizeof *idx);
        if (!v || !idx)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_add; i++) {
                if (n > 0 && elem_cmp(&v[n - 1], &c->add[i].elem) == 0)
                        continue; /* two jails share the element: the longest came first */
                v[n] = c->add[i].elem;
                idx[n++] = i;
        }
        for (unsigned attempt = 0; attempt < RESTORE_RETRIES && n > 0; attempt++) {
                size_t bad = SIZE_MAX;

                r = nft_apply(nft, NFT_OP_ADD, v, n, NULL, &bad);
                if (r >= 0 || bad >= n)
                        break;
                c->stats->dropped++;
                c->stats->refused++;
                c->add[idx[bad]].expiry = 0;
                memmove(v + bad, v + bad + 1, (n - bad - 1) * sizeof *v);
                memmove(idx + bad, idx + bad + 1, (n - bad - 1) * sizeof *idx);
                n--;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const AddElem *a = &c->add[idx[i]];
                if (a->expiry && ban_map_get(c->bans, &a->elem, c->now_bt) < a->expiry &&
                    ban_map_set(c->bans, &a->elem, a->expiry) < 0)
                        return -ENOMEM;
        }
        c->stats->elements += n;
        c->n_add = 0;
        return 0;
}

/* Deletes or adds v (n elements) in one call; an element the kernel refuses (a delete of one that
 * expired meanwhile) is dropped and the rest tried again. Returns the count applied or an errno. */
static int apply_dropping(Nft *nft, NftOp op, NftElem *v, size_t n) {
        int r = 0;

        for (unsigned attempt = 0; attempt < RESTORE_RETRIES && n > 0; attempt++) {
                size_t bad = SIZE_MAX;

                r = nft_apply(nft, op, v, n, NULL, &bad);
                if (r >= 0 || bad >= n)
                        break;
                memmove(v + bad, v + bad + 1, (n - bad - 1) * sizeof *v);
                n--;
        }
        return r < 0 ? r : (int) MIN(n, (size_t) INT32_MAX);
}

static int restore_migrate(Nft *nft, const NftListed *listed, size_t n, RestoreStats *stats) {
        _cleanup_free_ NftElem *add = NULL, *del = NULL;
        size_t k = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                const NftElem *e = &listed[i].elem;
                NftElem to = *e;

                if (!e->interval_set)
                        continue;
                to.interval_set = false;
                if (!listed[i].set || !nft_elem_set(&to) || strcmp(nft_elem_set(&to), listed[i].set) == 0)
                        continue;       /* a prefix that stays in the interval set */
                if (!add) {
                        add = malloc(n * sizeof *add);
                        del = malloc(n * sizeof *del);
                        if (!add || !del)
                                return -ENOMEM;
                }
                to.timeout_ms = e->timeout_ms ? MAX(listed[i].expires_ms, (uint64_t) 1) : 0;
                add[k] = to;
                del[k++] = *e;
        }
        if (k == 0)
                return 0;
        r = apply_dropping(nft, NFT_OP_ADD, add, k);
        if (r < 0)
                return r;
        r = apply_dropping(nft, NFT_OP_DESTROY, del, k);
        if (r < 0)
                return r;
        stats->migrated = (size_t) r;
        return 0;
}

static int restore_adopt(Store *store, Ctx *c, NftListed *listed, size_t n) {
        _cleanup_free_ NftListed **v = NULL;
        int64_t now_rt = c->now_rt_ms / 1000;
        size_t k = 0;
        int r;

        v = malloc(MAX(n, 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                NftListed *l = &listed[i];

                if (ban_map_get(c->bans, &l->elem, c->now_bt) || is_orphan(c, l))
                        continue;
                r = ban_map_set(c->bans, &l->elem, listed_expiry(l, c->now_bt));
                if (r < 0)
                        return r;
                if (!l->comment[0])
                        strcpy(l->comment, ADOPTED_JAIL);
                v[k++] = l;
        }
        if (k == 0)
                return 0;
        qsort(v, k, sizeof *v, listed_cmp);
        r = store_begin(store, true);
        if (r < 0)
                return r;
        for (size_t i = 0; i < k; i++) {
                const NftListed *l = v[i];
                StoreBan b;

                if (i > 0 && listed_cmp(&v[i - 1], &v[i]) == 0)
                        continue; /* another port of the same ban */
                b = (StoreBan) {
                        .jail = l->comment,
                        .addr = l->elem.addr,
                        .prefixlen = l->elem.addr.family == AF_INET ? 32 : l->elem.prefixlen,
                        .start = now_rt - (int64_t) ((l->elem.timeout_ms - MIN(l->expires_ms, l->elem.timeout_ms)) / 1000),
                        .end = l->elem.timeout_ms == 0 ? STORE_PERMANENT : now_rt + (int64_t) ((l->expires_ms + 999) / 1000),
                };
                r = store_add(store, &b);
                if (r < 0) {
                        store_rollback(store);
                        return r;
                }
                c->stats->adopted++;
        }
        return store_commit(store);
}

int restore_run(Nft *nft, Store *store, BanMap *bans, const JailConf *jails, size_t n_jails, bool as_left,
                RestoreStats *ret) {
        _cleanup_free_ NftListed *listed = NULL;
        RestoreStats stats = { .not_listed = as_left };
        BanMap *kern = NULL;
        Ctx c = {
                .nft = nft,
                .jails = jails,
                .n_jails = n_jails,
                .bans = bans,
                .now_bt = now_usec(CLOCK_BOOTTIME),
                .now_rt_ms = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_MSEC),
                .as_left = as_left,
                .stats = &stats,
        };
        int n = 0, r;

        if (!as_left) {
                n = nft_list(nft, &listed);
                if (n < 0)
                        return n;
        }
        r = ban_map_new(&kern);
        if (r < 0)
                return r;
        c.kern = kern;
        for (int i = 0; i < n; i++) {
                r = ban_map_set(kern, &listed[i].elem, listed_expiry(&listed[i], c.now_bt));
                if (r < 0)
                        goto out;
        }
        if (!as_left) {
                /* as_left adds nothing: no element can come twice */
                c.counting = true;
                r = store_foreach_live(store, c.now_rt_ms / 1000, restore_one, &c);
                c.counting = false;
                if (r < 0)
                        goto out;
                /* every element that will be added, and every one found in the kernel, lands in
                 * the map: room for them at once, not a doubling at 70% with both tables held */
                r = ban_map_reserve(bans, c.n_hashes + (size_t) n);
                if (r < 0)
                        goto out;
                keep_repeated(&c);
        }
        r = store_foreach_live(store, c.now_rt_ms / 1000, restore_one, &c);
        if (r < 0)
                goto out;
        if (c.n_orphans > 0)
                qsort(c.orphans, c.n_orphans, sizeof *c.orphans, orphan_cmp);
        r = restore_apply(nft, &c);
        if (r < 0)
                goto out;
        free(c.add);
        c.add = TAKE_PTR(c.held);
        c.cap_add = c.cap_held;
        c.n_add = c.n_held;
        c.n_held = c.cap_held = 0;
        r = restore_apply(nft, &c);
        if (r < 0)
                goto out;
        r = restore_adopt(store, &c, listed, (size_t) n);
        if (r < 0)
                goto out;
        /* not fatal: the elements that stay in the interval sets still drop their packets */
        if (restore_migrate(nft, listed, (size_t) n, &stats) < 0)
                log_debug("restore: moving elements from the interval sets failed, ignoring");
out:
        free(c.add);
        free(c.held);
        free(c.hashes);
        free(c.orphans);
        ban_map_free(kern);
        free(listed);
        listed = NULL;
        /* The listing and the batches of a large table took tens of MiB that are free now; glibc
         * keeps freed heap below its trim threshold (and raises its mmap threshold after freeing a
         * large block), so without this the daemon would keep that RSS for its whole life. */
        (void) malloc_trim(0);
        if (ret)
                *ret = stats;
        return r;
}
