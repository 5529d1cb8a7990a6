/* SPDX-License-Identifier: GPL-2.0-or-later */

/* nf_tables notifications (NFNLGRP_NFTABLES) about table inet nftjail, on a socket of their
 * own. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h"
#include "nft.h"

#define NFT_MONITOR_RCVBUF (16U << 20)

struct NftMonitor {
        struct mnl_socket *nl;
        uint8_t *buf;
};

int nft_monitor_new(NftMonitor **ret) {
        NftMonitor *mon;
        int r, size = (int) NFT_MONITOR_RCVBUF;

        mon = calloc(1, sizeof *mon);
        if (!mon)
                return -ENOMEM;
        mon->buf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
        if (!mon->buf) {
                free(mon);
                return -ENOMEM;
        }
        mon->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!mon->nl) {
                r = -errno;
                goto fail;
        }
        if (mnl_socket_bind(mon->nl, 1U << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                goto fail;
        }
        /* a burst of our own adds is one notification each: room for a lot before ENOBUFS */
        if (setsockopt(mnl_socket_get_fd(mon->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(mnl_socket_get_fd(mon->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        *ret = mon;
        return 0;
fail:
        nft_monitor_free(mon);
        return r;
}

NftMonitor *nft_monitor_free(NftMonitor *mon) {
        if (!mon)
                return NULL;
        if (mon->nl)
                mnl_socket_close(mon->nl);
        free(mon->buf);
        free(mon);
        return NULL;
}

int nft_monitor_subscribe(NftMonitor *mon, bool on) {
        int group = NFNLGRP_NFTABLES;

        if (setsockopt(mnl_socket_get_fd(mon->nl), SOL_NETLINK, on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
                       &group, sizeof group) < 0)
                return -errno;
        return 0;
}

int nft_monitor_fd(const NftMonitor *mon) {
        return mnl_socket_get_fd(mon->nl);
}

static bool nft_is_our_set(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(nft_sets); i++)
                if (name && strcmp(name, nft_sets[i]) == 0)
                        return true;
        return false;
}

static const char *nft_attr_str(const struct nlattr *a) {
        if (!a || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
                return NULL;
        return mnl_attr_get_str(a);
}

static int nft_monitor_elems(const struct nlmsghdr *nlh, NftEventCb cb, void *userdata) {
        struct nftnl_set *s = nftnl_set_alloc();
        struct nftnl_set_elems_iter *it = NULL;
        const char *table, *set;
        int r = 0;

        if (!s)
                return -ENOMEM;
        /* nft_setelem_msg_validate() first: libnftnl exits on an attribute of the wrong size */
        if (nft_setelem_msg_validate(nlh) < 0 || nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                goto out; /* not ours to judge (another table's maps, say): skip it */
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        set = nftnl_set_get_str(s, NFTNL_SET_NAME);
        if (!table || strcmp(table, NFT_TABLE) != 0 || !nft_is_our_set(set))
                goto out;
        it = nftnl_set_elems_iter_create(s);
        if (!it) {
                r = -ENOMEM;
                goto out;
        }
        for (struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it); e && r >= 0; e = nftnl_set_elems_iter_next(it)) {
                NftListed l;

                if (nft_list_decode(set, e, &l) <= 0)
                        continue;
                l.elem.comment = l.comment[0] ? l.comment : NULL;
                r = cb(&(NftEvent) { .type = NFT_EVENT_ELEM_DEL, .portid = nlh->nlmsg_pid, .elem = &l }, userdata);
        }
out:
        if (it)
                nftnl_set_elems_iter_destroy(it);
        nftnl_set_free(s);
        return r;
}

static int nft_monitor_msg(const struct nlmsghdr *nlh, NftEventCb cb, void *userdata) {
        const struct nlattr *tb[NFTA_SET_MAX + 1] = {};
        const struct nfgenmsg *nfg;
        uint16_t type;

        if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof *nfg || NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return 0;
        type = NFNL_MSG_TYPE(nlh->nlmsg_type);
        if (type == NFT_MSG_NEWGEN)
                return cb(&(NftEvent) { .type = NFT_EVENT_GEN_END, .portid = nlh->nlmsg_pid }, userdata);
        nfg = mnl_nlmsg_get_payload(nlh);
        if (nfg->nfgen_family != NFPROTO_INET)
                return 0;
        switch (type) {
        case NFT_MSG_DELTABLE:
                if (mnl_attr_parse(nlh, sizeof *nfg, nft_attr_cb, tb) < 0)
                        return 0;
                if (!nft_attr_str(tb[NFTA_TABLE_NAME]) || strcmp(nft_attr_str(tb[NFTA_TABLE_NAME]), NFT_TABLE) != 0)
                        return 0;
                return cb(&(NftEvent) { .type = NFT_EVENT_TABLE_DEL, .portid = nlh->nlmsg_pid }, userdata);
        case NFT_MSG_DELSET:
                if (mnl_attr_parse(nlh, sizeof *nfg, nft_attr_cb, tb) < 0)
                        return 0;
                if (!nft_attr_str(tb[NFTA_SET_TABLE]) || strcmp(nft_attr_str(tb[NFTA_SET_TABLE]), NFT_TABLE) != 0 ||
                    !nft_is_our_set(nft_attr_str(tb[NFTA_SET_NAME])))
                        return 0;
                return cb(&(NftEvent) { .type = NFT_EVENT_SET_DEL, .portid = nlh->nlmsg_pid }, userdata);
        case NFT_MSG_DELSETELEM:
                return nft_monitor_elems(nlh, cb, userdata);
        case NFT_MSG_NEWSETELEM:
                /* who added to which set is enough: the elements are only read by a listing */
                if (mnl_attr_parse(nlh, sizeof *nfg, nft_attr_cb, tb) < 0)
                        return 0;
                if (!nft_attr_str(tb[NFTA_SET_ELEM_LIST_TABLE]) ||
                    strcmp(nft_attr_str(tb[NFTA_SET_ELEM_LIST_TABLE]), NFT_TABLE) != 0 ||
                    !nft_is_our_set(nft_attr_str(tb[NFTA_SET_ELEM_LIST_SET])))
                        return 0;
                return cb(&(NftEvent) { .type = NFT_EVENT_ELEM_NEW, .portid = nlh->nlmsg_pid }, userdata);
        default:
                return 0;
        }
}

int nft_monitor_read(NftMonitor *mon, NftEventCb cb, void *userdata) {
        for (;;) {
                ssize_t k = recv(mnl_socket_get_fd(mon->nl), mon->buf, MNL_SOCKET_BUFFER_SIZE * 4, 0);
                int len;

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                len = (int) nft_nlmsg_span(mon->buf, (size_t) k);
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) mon->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        int r = nft_monitor_msg(nlh, cb, userdata);
                        if (r < 0)
                                return r;
                }
        }
}
