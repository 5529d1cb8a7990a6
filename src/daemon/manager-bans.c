/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ban.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "nft.h"
#include "persist.h"
#include "tracker.h"

#define UNBAN_EVENTS_MAX 1000 /* unban events logged by one unban; then one summary */
#define UNBAN_PASSES 4         /* listings of one unban at most */

/* The bans as the control server and the monitor see them: the kernel's listing, the unban. */

static void log_unban(const char *jail, const Addr *a) {
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jail ? jail : "");
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s", jail ? jail : "all jails", as);
}

/* One kernel element to unban. */
typedef struct UnbanElem {
        NftElem elem;           /* comment NULL: nft_apply() needs the key only */
        const char *jail;       /* named by its event: the element's comment, else the jail unbanned */
        usec_t expiry;          /* CLOCK_BOOTTIME when it would end on its own; USEC_INFINITY: never */
} UnbanElem;

typedef struct Unban {
        UnbanElem *v;
        size_t n, cap;
} Unban;

static void unban_done(Unban *u) {
        free(u->v);
}

static int unban_push(Unban *u, const NftElem *e, const char *jail, usec_t expiry) {
        if (u->n == u->cap) {
                size_t nc = MAX(u->cap * 2, 64);
                UnbanElem *v = realloc(u->v, nc * sizeof *v);
                if (!v)
                        return -ENOMEM;
                u->v = v;
                u->cap = nc;
        }
        u->v[u->n] = (UnbanElem) { .elem = *e, .jail = jail, .expiry = expiry };
        u->v[u->n++].elem.comment = NULL;
        return 0;
}

/* by jail, then address: an address's elements (one per port) are neighbours */
static int unban_elem_cmp(const void *x, const void *y) {
        const UnbanElem *a = x, *b = y;
        int r = strcmp(a->jail ?: "", b->jail ?: "");

        if (r != 0)
                return r;
        if (a->elem.addr.family != b->elem.addr.family)
                return a->elem.addr.family < b->elem.addr.family ? -1 : 1;
        return memcmp(a->elem.addr.bytes, b->elem.addr.bytes, sizeof a->elem.addr.bytes);
}

/* Forgets the failures of a in j, or in every jail when j and jail are NULL. */
static void unban_forget(Manager *m, const Jail *j, const char *jail, const Addr *a) {
        for (size_t k = 0; k < m->n_jails; k++)
                if (j ? &m->jails[k] == j : !jail)
                        tracker_forget(m->jails[k].tracker, a);
}

/* The one way an unban reaches the kernel: u->v[from .. u->n), the elements chosen, less those
 * that ended on their own since, go in one nft_apply(NFT_OP_DESTROY) call, which splits them
 * into transactions, never fails on an element that expired meanwhile, and tells how many
 * leading elements were committed even when a later transaction fails. On return u->v[from ..
 * u->n) are the elements removed, and they are out of the map too. Returns 0 or the kernel's
 * error. */
static int unban_destroy(Manager *m, Unban *u, size_t from) {
        _cleanup_free_ NftElem *elems = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t n = from, done = 0;
        int r;

        for (size_t i = from; i < u->n; i++)
                if (u->v[i].expiry > now)
                        u->v[n++] = u->v[i];
        u->n = from;
        if (n == from)
                return 0;
        elems = malloc((n - from) * sizeof *elems);
        if (!elems)
                return -ENOMEM;
        for (size_t i = from; i < n; i++)
                elems[i - from] = u->v[i].elem;
        r = nft_apply(m->nft, NFT_OP_DESTROY, elems, n - from, &done, NULL);
        u->n = from + (r >= 0 ? n - from : done);
        for (size_t i = from; i < u->n; i++)
                ban_map_remove(m->bans, &u->v[i].elem);
        return r;
}

/* What follows the removal of u's elements, bans of a (NULL: every address) in jail (NULL: every
 * jail; j is its runtime, NULL when it is not configured): one event per (jail, address), at
 * most UNBAN_EVENTS_MAX, then a count; the failure counts are forgotten, and the history ends
 * the bans (complete: all of a in jail; else only those whose elements went). */
static void unban_account(Manager *m, const Jail *j, const char *jail, const Addr *a, Unban *u, bool complete) {
        size_t events = 0;

        if (u->n > 1)
                qsort(u->v, u->n, sizeof *u->v, unban_elem_cmp);
        for (size_t i = 0; i < u->n; i++) {
                const UnbanElem *e = &u->v[i];

                if (i > 0 && unban_elem_cmp(&u->v[i - 1], e) == 0)
                        continue;
                if (events++ < UNBAN_EVENTS_MAX)
                        log_unban(e->jail, &e->elem.addr);
                {
                        Jail *ej = manager_find_jail(m, j ? j->conf->name : e->jail);

                        if (ej)
                                ej->unbans_total++;
                        if (ej && ej->conf)
                                (void) actions_submit_cmd(m->actions, ej->conf, ACTION_CMD_UNBAN, &e->elem.addr,
                                                          e->elem.addr.family == AF_INET ? 32 : e->elem.prefixlen);
                        if (ej && ej->conf && m->webhooks && ej->conf->n_webhooks > 0)
                                (void) webhooks_submit(m->webhooks, ej->conf, WEBHOOK_KIND_UNBAN, &e->elem.addr,
                                                       e->elem.addr.family == AF_INET ? 32 : e->elem.prefixlen, 0, 0);
                }
                {
                        const Jail *ej = j ?: manager_find_jail(m, e->jail);

                        /* this node's own ban lifted: a tombstone for the fleet */
                        if (ej && ej->conf && m->fleet && e->jail && strcmp(e->jail, ej->conf->name) == 0)
                                manager_fleet_unbanned(m, ej->conf, &e->elem);
                        else if (m->fleet_unban && e->jail)
                                manager_fleet_unbanned_remote(m, e->jail);
                }
                unban_forget(m, j, jail, &e->elem.addr);
                if (!complete)
                        persist_on_unban(m->persist, jail, &e->elem.addr);
        }
        if (events > UNBAN_EVENTS_MAX)
                log_info("%zu more addresses unbanned (events are logged for the first %u)", events - UNBAN_EVENTS_MAX,
                         UNBAN_EVENTS_MAX);
        if (!complete)
                return;
        if (a)
                unban_forget(m, j, jail, a);
        persist_on_unban(m->persist, jail, a);
}

/* The daemon's own bans of a in j, by the map (no listing): the other ports of a ban whose
 * element was deleted by hand. */
static int unban_owned(Manager *m, Jail *j, const Addr *a, size_t *ret_n) {
        _cleanup_(unban_done) Unban u = {};
        usec_t now = now_usec(CLOCK_BOOTTIME), expiry;
        size_t it = 0;
        NftElem e;
        int r;

        while (ban_map_next(m->bans, &it, &e, &expiry)) {
                if (expiry <= now || !ban_elem_contains(&e, a) || !ban_jail_owns_elem(j->conf, &e))
                        continue;
                r = unban_push(&u, &e, j->conf->name, expiry);
                if (r < 0)
                        return r;
        }
        r = unban_destroy(m, &u, 0);
        unban_account(m, j, j->conf->name, a, &u, r >= 0);
        *ret_n = u.n;
        return r;
}

/* Whether the map's element e is one of the bans that an unban of a in jail (j its runtime)
 * takes: jails that share a port share its element, so a jail's own are those of its ports. */
static bool unban_takes(const Jail *j, const char *jail, const Addr *a, const NftElem *e) {
        if (a && !ban_elem_contains(e, a))
                return false;
        return !jail || (j && ban_jail_owns_elem(j->conf, e));
}

/* Kernel elements chosen by one listing and deleted by the next nft_apply() call: the listing's
 * comments, to which the chosen elements point, live until the unban's end. */
static int unban_pass(Manager *m, const Jail *j, const char *jail, const Addr *a, Unban *u, NftListed **ret_listing) {
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t from = u->n;
        NftListed *l = NULL;
        int k;

        *ret_listing = NULL;
        k = nft_list(m->nft, &l);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return log_error_errno(k, "failed to list the sets of table inet %s: %m", NFT_TABLE);
        *ret_listing = l;
        for (int i = 0; i < k; i++) {
                const NftListed *x = &l[i];

                if (a && !ban_elem_contains(&x->elem, a))
                        continue;
                if (jail && strcmp(x->comment, jail) != 0 &&
                    !(unban_takes(j, jail, a, &x->elem) && ban_map_get(m->bans, &x->elem, now)))
                        continue;
                if (unban_push(u, &x->elem, x->comment[0] ? x->comment : jail,
                               x->elem.timeout_ms == 0 ? USEC_INFINITY : now + MAX(x->expires_ms, 1) * USEC_PER_MSEC) < 0)
                        return log_oom();
        }
        return (int) MIN(u->n - from, (size_t) INT32_MAX);
}

int manager_unban(Manager *m, const char *jail, const Addr *a, size_t *ret_n) {
        _cleanup_(unban_done) Unban u = {}, stale = {};
        NftListed *listings[UNBAN_PASSES] = {};
        Jail *j = jail ? manager_find_jail(m, jail) : NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME), expiry;
        size_t it = 0, from, chosen;
        unsigned pass;
        NftElem e;
        int r = 0;

        /* The kernel's word: the daemon's own bans and whatever else it holds for a in jail (from
         * before a restart, added by hand, of a jail no longer configured: by their comment). A
         * dump resumes each message by counting elements from the set's start, so elements that
         * expire during a long dump make it skip live ones: while a pass finds something, another
         * listing follows (a few at most; each finds what the one before skipped, far fewer). */
        for (pass = 0; pass < UNBAN_PASSES; pass++) {
                from = u.n;
                r = unban_pass(m, j, jail, a, &u, &listings[pass]);
                if (r <= 0)
                        break;
                chosen = (size_t) r;
                r = unban_destroy(m, &u, from);
                log_debug("unban: pass %u removed %zu of the %zu elements it chose", pass + 1, u.n - from, chosen);
                if (r < 0) {
                        log_error_errno(r, "failed to delete elements (%zu deleted): %m", u.n);
                        break;
                }
        }
        unban_account(m, j, jail, a, &u, r >= 0);
        *ret_n = u.n;
        for (unsigned i = 0; i < UNBAN_PASSES; i++)
                free(listings[i]);
        if (r < 0)
                return r;
        /* what the map still takes is not in the kernel (deleted while the monitor could not
         * tell us): forgotten, not counted */
        while (ban_map_next(m->bans, &it, &e, &expiry))
                if (expiry > now && unban_takes(j, jail, a, &e) && unban_push(&stale, &e, jail, expiry) < 0)
                        return log_oom();
        for (size_t i = 0; i < stale.n; i++)
                ban_map_remove(m->bans, &stale.v[i].elem);
        return 0;
}

/* by address, then prefix length */
static int elem_compare_addr(const NftElem *a, const NftElem *b) {
        int r;

        if (a->addr.family != b->addr.family)
                return a->addr.family < b->addr.family ? -1 : 1;
        r = memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
        if (r != 0)
                return r;
        return (int) a->prefixlen - (int) b->prefixlen;
}

static int listed_compare_addr(const void *x, const void *y) {
        return elem_compare_addr(&((const NftListed *) x)->elem, &((const NftListed *) y)->elem);
}

static int list_emit(const NftElem *e, const char *set, uint64_t expires_ms, ManagerBanCb cb, void *userdata) {
        ManagerBan b = {
                .addr = e->addr,
                .prefixlen = e->addr.family == AF_INET ? 32 : e->prefixlen ? e->prefixlen : 128,
                .proto = e->proto,
                .port = e->port,
                .set = set ? set : "",
                .jail = e->comment ? e->comment : "",
                .timeout_ms = e->timeout_ms,
                .expires_ms = expires_ms,
        };

        return cb(&b, userdata);
}

/* The kernel's word: every set listed whole. */
static int list_bans_kernel(Manager *m, const char *jail, const Addr *a, bool by_address, ManagerBanCb cb,
                            void *userdata) {
        _cleanup_free_ NftListed *l = NULL;
        size_t n = 0;
        int k, r;

        k = nft_list(m->nft, &l);
        if (k < 0)
                return log_error_errno(k, "failed to list the sets of table inet %s: %m", NFT_TABLE);
        for (int i = 0; i < k; i++) {
                if ((jail && strcmp(l[i].comment, jail) != 0) || (a && !ban_elem_contains(&l[i].elem, a)))
                        continue;
                if ((size_t) i != n)
                        l[n] = l[i];
                n++;
        }
        /* sorted, an address's elements (one per port) are neighbours: a caller groups them in
         * one pass, not a quadratic one, for a million bans */
        if (by_address && n > 1)
                qsort(l, n, sizeof *l, listed_compare_addr);
        for (size_t i = 0; i < n; i++) {
                l[i].elem.comment = l[i].comment; /* its own buffer, wherever the entry moved */
                r = list_emit(&l[i].elem, l[i].set, l[i].expires_ms, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* One live element of the map, for a sorted listing. */
typedef struct MapBan {
        NftElem elem;           /* comment points into the map */
        uint64_t expires_ms;
} MapBan;

static int map_ban_compare_addr(const void *x, const void *y) {
        return elem_compare_addr(&((const MapBan *) x)->elem, &((const MapBan *) y)->elem);
}

/* The next live element of the map that the listing takes, with its time left. */
static bool map_next(const Manager *m, size_t *it, const char *jail, const Addr *a, usec_t now, MapBan *ret) {
        usec_t expiry;

        while (ban_map_next(m->bans, it, &ret->elem, &expiry)) {
                if (expiry <= now || (jail && strcmp(ret->elem.comment ?: "", jail) != 0) ||
                    (a && !ban_elem_contains(&ret->elem, a)))
                        continue;
                ret->expires_ms = expiry == USEC_INFINITY ? 0 : MAX((expiry - now) / USEC_PER_MSEC, 1);
                return true;
        }
        return false;
}

/* The daemon's word: the map, one pass; sorted through a copy of what it takes (about 56 bytes
 * an element). */
static int list_bans_map(Manager *m, const char *jail, const Addr *a, bool by_address, ManagerBanCb cb,
                         void *userdata) {
        _cleanup_free_ MapBan *v = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME);
        size_t it = 0, n = 0, cap = 0;
        MapBan x;
        int r;

        while (map_next(m, &it, jail, a, now, &x)) {
                if (!by_address) {
                        r = list_emit(&x.elem, nft_elem_set(&x.elem), x.expires_ms, cb, userdata);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n == cap) {
                        size_t nc = MAX(cap * 2, 256);
                        MapBan *nv = realloc(v, nc * sizeof *nv);
                        if (!nv)
                                return log_oom();
                        v = nv;
                        cap = nc;
                }
                v[n++] = x;
        }
        if (n > 1)
                qsort(v, n, sizeof *v, map_ban_compare_addr);
        for (size_t i = 0; i < n; i++) {
                r = list_emit(&v[i].elem, nft_elem_set(&v[i].elem), v[i].expires_ms, cb, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int manager_list_bans(Manager *m, const char *jail, const Addr *a, bool by_address, bool kernel, ManagerBanCb cb,
                      void *userdata) {
        if (kernel)
                return list_bans_kernel(m, jail, a, by_address, cb, userdata);
        return list_bans_map(m, jail, a, by_address, cb, userdata);
}

void manager_on_elem_deleted(void *userdata, const NftListed *l) {
        Manager *m = userdata;
        Jail *j = NULL;
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };
        size_t n = 0;
        int r;

        ban_map_remove(m->bans, &l->elem);
        if (l->elem.comment)
                j = manager_find_jail(m, l->elem.comment);
        for (size_t i = 0; !j && i < m->n_jails; i++)
                if (ban_jail_owns_elem(m->jails[i].conf, &l->elem))
                        j = &m->jails[i];
        addr_to_string(&l->elem.addr, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", j ? j->conf->name : "");
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s (element deleted from the ruleset by hand)",
                  j ? j->conf->name : "all jails", as);
        if (!j) {
                persist_on_unban(m->persist, NULL, &l->elem.addr);
                return;
        }
        r = unban_owned(m, j, &l->elem.addr, &n);
        if (r < 0) {
                log_warning_errno(r, "%s: failed to remove the other elements of %s, ignoring: %m", j->conf->name, as);
                persist_on_unban(m->persist, j->conf->name, &l->elem.addr);
        }
}

uint64_t manager_bans_generation(const Manager *m) {
        return ban_map_generation(m->bans);
}

/* Whether the end of a ban of jc is told to anyone: its webhooks, its action.d actionunban. */
static bool expiry_told(const Manager *m, const JailConf *jc) {
        if (m->webhooks && jc->n_webhooks > 0)
                return true;
        for (size_t i = 0; m->actions && i < jc->n_action_files; i++)
                if (jc->action_files[i].cmd[ACTION_CMD_UNBAN])
                        return true;
        return false;
}

/* The ends in u (sorted here) told: per jail and address, at most UNBAN_EVENTS_MAX of them, an
 * expiry event to the jail's webhooks and its action.d actionunban. Returns how many were told. */
static size_t expired_tell(Manager *m, Unban *u) {
        size_t events = 0;

        if (u->n > 1)
                qsort(u->v, u->n, sizeof *u->v, unban_elem_cmp);
        for (size_t i = 0; i < u->n; i++) {
                const UnbanElem *x = &u->v[i];
                const Jail *j;
                uint8_t plen;

                if (i > 0 && unban_elem_cmp(&u->v[i - 1], x) == 0)
                        continue;
                j = manager_find_jail(m, x->jail);
                if (!j || !j->conf || !expiry_told(m, j->conf))
                        continue;
                if (events++ >= UNBAN_EVENTS_MAX)
                        continue;
                plen = x->elem.addr.family == AF_INET ? 32 : x->elem.prefixlen;
                if (m->webhooks && j->conf->n_webhooks > 0)
                        (void) webhooks_submit(m->webhooks, j->conf, WEBHOOK_KIND_EXPIRY, &x->elem.addr, plen, 0, 0);
                /* fail2ban runs actionunban when a ban ends: so do we, after the kernel ended it */
                if (m->actions && j->conf->n_action_files > 0)
                        (void) actions_submit_cmd(m->actions, j->conf, ACTION_CMD_UNBAN, &x->elem.addr, plen);
        }
        if (events > UNBAN_EVENTS_MAX)
                log_warning("%zu bans expired at once; told the webhooks and actions of %u", events, UNBAN_EVENTS_MAX);
        return MIN(events, (size_t) UNBAN_EVENTS_MAX);
}

void manager_bans_expired(Manager *m, usec_t now) {
        _cleanup_(unban_done) Unban u = {};
        size_t it = 0;
        usec_t expiry;
        NftElem e;

        /* first in the state, so that a crash after the events never tells them again (one
         * that comes before they ran loses them instead) */
        persist_expired_mark(m->persist);
        if (!m->webhooks && !m->actions)
                return;
        while (ban_map_next(m->bans, &it, &e, &expiry)) {
                const Jail *j;

                if (expiry > now || !e.comment)
                        continue;
                j = manager_find_jail(m, e.comment);
                if (!j || !j->conf || !expiry_told(m, j->conf))
                        continue;
                if (unban_push(&u, &e, j->conf->name, expiry) < 0)
                        break; /* out of memory: these bans end without their events */
        }
        (void) expired_tell(m, &u);
}

typedef struct ExpiredWalk {
        Manager *m;
        Unban *u;
} ExpiredWalk;

/* For persist_expired_take(): the ban's element as the map would hold it (one per ban: the events
 * go per jail and address), when its jail tells anyone. */
static int expired_collect(const StoreBan *b, void *userdata) {
        ExpiredWalk *w = userdata;
        const Jail *j = manager_find_jail(w->m, b->jail);
        NftElem e = { .addr = b->addr, .prefixlen = b->prefixlen };

        if (!j || !j->conf || !expiry_told(w->m, j->conf))
                return 0;
        return unban_push(w->u, &e, j->conf->name, 0);
}

void manager_bans_expired_offline(Manager *m) {
        _cleanup_(unban_done) Unban u = {};
        ExpiredWalk w = { .m = m, .u = &u };
        int r;

        /* a few more than are told, so that the warning says there were more */
        r = persist_expired_take(m->persist, UNBAN_EVENTS_MAX + 1, expired_collect, &w);
        if (r <= 0)
                return; /* nothing ended, or nothing recorded: nothing told */
        log_info("state: bans that ran out while the daemon was down: %d; told to the webhooks and actions: %zu", r,
                 expired_tell(m, &u));
}
