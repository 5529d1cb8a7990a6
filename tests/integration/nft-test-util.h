/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Reading sets back from the kernel for the nft integration test and benchmark: a
 * GETSETELEM dump through libnftnl, on a socket of its own. */

#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"
#include "nft.h"

typedef struct DumpElem {
        uint8_t key[64];
        uint32_t key_len;
        uint8_t key_end[64];
        uint32_t key_end_len;
        uint32_t flags;
        uint64_t timeout;       /* ms, 0 if none */
        uint64_t expiration;    /* ms left */
        char comment[NFT_COMMENT_MAX + 1];
} DumpElem;

typedef struct DumpAcc {
        DumpElem *v;
        int n;
} DumpAcc;

static void dump_restart(const char *set, void *userdata) {
        DumpAcc *a = userdata;
        (void) set;
        a->n = 0;
}

static int dump_add(const char *set, struct nftnl_set_elem *e, void *userdata) {
        DumpAcc *a = userdata;
        DumpElem *d;
        const void *p;
        uint32_t l;

        if ((a->n & (a->n - 1)) == 0) { /* grow at powers of two */
                DumpElem *nv = realloc(a->v, (size_t) (a->n ? 2 * a->n : 1) * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                a->v = nv;
        }
        d = &a->v[a->n++];
        memset(d, 0, sizeof(*d));
        p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &l);
        if (p && l <= sizeof(d->key)) {
                memcpy(d->key, p, l);
                d->key_len = l;
        }
        p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &l);
        if (p && l <= sizeof(d->key_end)) {
                memcpy(d->key_end, p, l);
                d->key_end_len = l;
        }
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                d->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
                d->timeout = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                d->expiration = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
        nft_elem_comment(e, d->comment, sizeof(d->comment));
        return 0;
}

/* Dumps set name of table inet nftjail into a malloc'd array of raw keys. Returns the count or
 * -errno. */
static _unused_ int dump_set(const char *name, DumpElem **ret) {
        DumpAcc a = {};
        int r = nft_dump_set(name, dump_add, dump_restart, &a);

        if (r < 0) {
                free(a.v);
                return r;
        }
        *ret = a.v;
        return a.n;
}
