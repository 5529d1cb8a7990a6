/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "restore.h"

#define RESTORE_RETRIES 16
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
        Orphan *orphans;
        size_t n_orphans, cap_orphans;
        const JailConf *jails;
        size_t n_jails;
        BanMap *kern;           /* what the kernel holds, with its expiry */
        BanMap *bans;
        usec_t now_bt;
        int64_t now_rt_ms;
        AddElem *add;
        size_t n_add, cap_add;
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

static int restore_one(const StoreBan *b, void *userdata) {
        Ctx *c = userdata;
        NftElem elems[BAN_ELEMS_MAX];
        const JailConf *jc = find_jail(c, b->jail);
        uint64_t timeout_ms = 0;
        usec_t expiry = USEC_INFINITY;
        size_t n;
        bool added = false;

        if (!jc) {
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

                if (k) {
                        /* the kernel's time is the truth; keep the longest of two jails */
                        if (ban_map_get(c->bans, &elems[i], c->now_bt) < k && ban_map_set(c->bans, &elems[i], k) < 0)
                                return -ENOMEM;
                        continue;
                }
                if (c->n_add == c->cap_add) {
                        size_t nc = MAX(c->cap_add * 2, 1024);
                        AddElem *v = realloc(c->add, nc * sizeof *v);
                        if (!v)
                                return -ENOMEM;
                        c->add = v;
                        c->cap_add = nc;
                }
                c->add[c->n_add++] = (AddElem) { .elem = elems[i], .expiry = expiry, .owner = c->n_owner };
                added = true;
        }
        if (added)
                c->stats->restored++;
        else
                c->stats->present++;
        c->n_owner++;
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

/* Adds c->add to the kernel; an element the kernel refuses is dropped and the rest tried again. */
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
        c->stats->elements = n;
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
        r = store_foreach_live(store, c.now_rt_ms / 1000, restore_one, &c);
        if (r < 0)
                goto out;
        if (c.n_orphans > 0)
                qsort(c.orphans, c.n_orphans, sizeof *c.orphans, orphan_cmp);
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
