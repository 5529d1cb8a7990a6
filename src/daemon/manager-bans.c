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

/* The bans as the control server and the monitor see them: the kernel's listing, the unban. */

static void log_unban(const char *jail, const Addr *a) {
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jail ? jail : "");
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s", jail ? jail : "all jails", as);
}

static int elem_addr_cmp(const void *x, const void *y) {
        const NftElem *a = x, *b = y;

        if (a->addr.family != b->addr.family)
                return a->addr.family < b->addr.family ? -1 : 1;
        return memcmp(a->addr.bytes, b->addr.bytes, sizeof a->addr.bytes);
}

/* The daemon's own bans of a in j (by the map), and their failure counts. */
static int unban_owned(Manager *m, Jail *j, const Addr *a, size_t *ret_n) {
        _cleanup_free_ NftElem *elems = NULL;
        usec_t now = now_usec(CLOCK_BOOTTIME), expiry;
        size_t n = 0, cap = 0, it = 0;
        NftElem e;
        int r = 0;

        while (ban_map_next(m->bans, &it, &e, &expiry)) {
                if (expiry <= now || (a && !ban_elem_contains(&e, a)) || (j && !ban_jail_owns_elem(j->conf, &e)))
                        continue;
                if (n == cap) {
                        size_t nc = MAX(cap * 2, 16);
                        NftElem *ne = realloc(elems, nc * sizeof *ne);
                        if (!ne)
                                return -ENOMEM;
                        elems = ne;
                        cap = nc;
                }
                elems[n++] = e;
        }
        /* An element may be gone already (expired a moment ago, deleted by hand): the kernel then
         * refuses the whole transaction with ENOENT; drop that one and go on. */
        for (size_t left = n, tries = 0; left > 0 && tries < n + 1; tries++) {
                size_t bad = SIZE_MAX;
                r = nft_apply(m->nft, NFT_OP_DEL, elems, left, NULL, &bad);
                if (r >= 0 || r != -ENOENT || bad >= left)
                        break;
                ban_map_remove(m->bans, &elems[bad]);
                elems[bad] = elems[--left];
                n--;
                r = 0;
        }
        if (r < 0)
                return r;
        /* one unban event per address: sorted, an address's elements are neighbours (a linear
         * pass, not a quadratic one, for an "unban --all" of 100,000 elements) */
        if (n > 1)
                qsort(elems, n, sizeof *elems, elem_addr_cmp);
        for (size_t i = 0; i < n; i++) {
                ban_map_remove(m->bans, &elems[i]);
                if (i == 0 || !addr_equal(&elems[i - 1].addr, &elems[i].addr)) {
                        log_unban(j ? j->conf->name : NULL, &elems[i].addr);
                        for (size_t k = 0; k < m->n_jails; k++)
                                if (!j || &m->jails[k] == j)
                                        tracker_forget(m->jails[k].tracker, &elems[i].addr);
                }
        }
        persist_on_unban(m->persist, j ? j->conf->name : NULL, a);
        if (ret_n)
                *ret_n = n;
        return 0;
}

static void log_unban_event(const char *jail, const Addr *a) {
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s", jail, as);
}

/* Deletes the kernel elements that match (comment == jail unless NULL, address a unless NULL),
 * whether the daemon put them there or not (a ban from before a restart, one added by hand).
 * *ret_n = elements deleted. Returns 0 or a negative errno. */
static int unban_listed(Manager *m, const char *jail, const Addr *a, size_t *ret_n) {
        _cleanup_free_ NftListed *l = NULL;
        _cleanup_free_ NftElem *elems = NULL;
        _cleanup_free_ char (*names)[NFT_COMMENT_MAX + 1] = NULL;
        size_t n = 0, events = 0;
        int k, r = 0;

        *ret_n = 0;
        k = nft_list(m->nft, &l);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        elems = calloc(MAX(k, 1), sizeof *elems);
        names = calloc(MAX(k, 1), sizeof *names);
        if (!elems || !names)
                return -ENOMEM;
        for (int i = 0; i < k; i++) {
                if ((jail && strcmp(l[i].comment, jail) != 0) || (a && !ban_elem_contains(&l[i].elem, a)))
                        continue;
                elems[n] = l[i].elem;
                elems[n].comment = NULL;
                memcpy(names[n], l[i].comment, sizeof names[n]);
                n++;
        }
        /* an element may expire between the dump and the delete: the kernel then refuses the
         * whole transaction with ENOENT; drop that one and try again */
        for (size_t left = n, tries = 0; left > 0 && tries <= n; tries++) {
                size_t bad = SIZE_MAX;

                r = nft_apply(m->nft, NFT_OP_DEL, elems, left, NULL, &bad);
                if (r >= 0 || r != -ENOENT || bad >= left)
                        break;
                elems[bad] = elems[left - 1];
                memcpy(names[bad], names[left - 1], sizeof names[bad]);
                left--;
                n--;
                r = 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool first = true;

                ban_map_remove(m->bans, &elems[i]);
                /* elements come from the dump grouped by set, and an address has one per port:
                 * one event per (jail, address) among neighbours, at most UNBAN_EVENTS_MAX */
                if (i > 0 && addr_equal(&elems[i - 1].addr, &elems[i].addr) && strcmp(names[i - 1], names[i]) == 0)
                        first = false;
                if (first && events++ < UNBAN_EVENTS_MAX)
                        log_unban_event(names[i], &elems[i].addr);
        }
        if (events > UNBAN_EVENTS_MAX)
                log_info("control: %zu more addresses unbanned (events are logged for the first %u)",
                         events - UNBAN_EVENTS_MAX, UNBAN_EVENTS_MAX);
        *ret_n = n;
        return 0;
}

int manager_unban(Manager *m, const char *jail, const Addr *a, size_t *ret_n) {
        Jail *j = jail ? manager_find_jail(m, jail) : NULL;
        size_t n1 = 0, n2 = 0;
        int r;

        /* the daemon's own bans first (they also reset the failure counts), then whatever else
         * the kernel holds for that address or jail */
        if (!jail || j) {
                r = unban_owned(m, j, a, &n1);
                if (r < 0)
                        return log_error_errno(r, "failed to unban: %m");
        }
        r = unban_listed(m, jail, a, &n2);
        if (r < 0)
                return log_error_errno(r, "control: failed to delete elements: %m");
        *ret_n = n1 + n2;
        return 0;
}

static int listed_compare_addr(const void *x, const void *y) {
        const NftListed *a = x, *b = y;
        int r;

        if (a->elem.addr.family != b->elem.addr.family)
                return a->elem.addr.family < b->elem.addr.family ? -1 : 1;
        r = memcmp(a->elem.addr.bytes, b->elem.addr.bytes, sizeof a->elem.addr.bytes);
        if (r != 0)
                return r;
        return (int) a->elem.prefixlen - (int) b->elem.prefixlen;
}

int manager_list_bans(Manager *m, const char *jail, const Addr *a, bool by_address, ManagerBanCb cb, void *userdata) {
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
                const NftElem *e = &l[i].elem;
                ManagerBan b = {
                        .addr = e->addr,
                        .prefixlen = e->addr.family == AF_INET ? 32 : e->prefixlen ? e->prefixlen : 128,
                        .proto = e->proto,
                        .port = e->port,
                        .set = l[i].set ? l[i].set : "",
                        .jail = l[i].comment,
                        .timeout_ms = e->timeout_ms,
                        .expires_ms = l[i].expires_ms,
                };

                r = cb(&b, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
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
        if (r < 0)
                log_warning_errno(r, "%s: failed to remove the other elements of %s, ignoring: %m", j->conf->name, as);
        if (r < 0 || n == 0)
                persist_on_unban(m->persist, j->conf->name, &l->elem.addr);
}
