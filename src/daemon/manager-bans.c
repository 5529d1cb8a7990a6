/* SPDX-License-Identifier: GPL-2.0-or-later */
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

/* The bans in force as the outside sees them: the unban. */

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

int manager_unban(Manager *m, Jail *j, const Addr *a, size_t *ret_n) {
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
                r = nft_apply(m->nft, NFT_OP_DEL, elems, left, &bad);
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
        r = manager_unban(m, j, &l->elem.addr, &n);
        if (r < 0)
                log_warning_errno(r, "%s: failed to remove the other elements of %s, ignoring: %m", j->conf->name, as);
        if (r < 0 || n == 0)
                persist_on_unban(m->persist, j->conf->name, &l->elem.addr);
}
