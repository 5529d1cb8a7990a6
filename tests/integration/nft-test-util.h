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

static int dump_cb(const struct nlmsghdr *nlh, void *data) {
        return nftnl_set_elems_nlmsg_parse(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int dump_comment_cb(const struct nftnl_udata *attr, void *data) {
        DumpElem *d = data;
        if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT) {
                uint8_t l = nftnl_udata_len(attr);
                if (l == 0 || l > sizeof(d->comment))
                        return -1;
                memcpy(d->comment, nftnl_udata_get(attr), l);
                d->comment[l - 1] = 0;
        }
        return 0;
}

/* Dumps set name of table inet nftjail into a malloc'd array. Returns the count or -errno. */
static _unused_ int dump_set(const char *name, DumpElem **ret) {
        struct mnl_socket *nl;
        struct nftnl_set *s;
        struct nftnl_set_elems_iter *it;
        struct nftnl_set_elem *e;
        struct nlmsghdr *nlh;
        static uint8_t buf[32768];
        uint32_t seq = (uint32_t) time(NULL), portid;
        DumpElem *v = NULL;
        int n = 0, r;

        nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                mnl_socket_close(nl);
                return r;
        }
        portid = mnl_socket_get_portid(nl);

        s = nftnl_set_alloc();
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                r = -errno;
                goto out;
        }
        for (;;) {
                ssize_t k = mnl_socket_recvfrom(nl, buf, sizeof(buf));
                if (k < 0) {
                        r = -errno;
                        goto out;
                }
                r = mnl_cb_run(buf, (size_t) k, seq, portid, dump_cb, s);
                if (r < 0) {
                        r = -errno;
                        goto out;
                }
                if (r == MNL_CB_STOP)
                        break;
        }

        it = nftnl_set_elems_iter_create(s);
        for (e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
                DumpElem *d;
                const void *p;
                uint32_t l;

                if ((n & (n - 1)) == 0) {       /* grow at powers of two */
                        DumpElem *nv = realloc(v, (size_t) (n ? 2 * n : 1) * sizeof(*v));
                        if (!nv) {
                                r = -ENOMEM;
                                nftnl_set_elems_iter_destroy(it);
                                goto out;
                        }
                        v = nv;
                }
                d = &v[n++];
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
                p = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &l);
                if (p)
                        (void) nftnl_udata_parse(p, l, dump_comment_cb, d);
        }
        nftnl_set_elems_iter_destroy(it);
        *ret = v;
        v = NULL;
        r = n;
out:
        free(v);
        nftnl_set_free(s);
        mnl_socket_close(nl);
        return r;
}
