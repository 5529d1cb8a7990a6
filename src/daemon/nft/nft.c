/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The persistent NETLINK_NETFILTER socket that nft_apply() and the queries share, and what the
 * files of this folder need of it: seqs, buffer sizes, draining. */

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>

#include "nft-internal.h"
#include "nft.h"

int nft_new(Nft **ret) {
        Nft *nft;
        int one = 1;

        nft = calloc(1, sizeof(*nft));
        if (!nft)
                return -ENOMEM;

        nft->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nft->nl) {
                int r = -errno;
                free(nft);
                return r;
        }
        if (mnl_socket_bind(nft->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                nft_free(nft);
                return r;
        }
        nft->portid = mnl_socket_get_portid(nft->nl);

        /* Errors carry only the header of the refused message, plus the extended ack. */
        (void) mnl_socket_setsockopt(nft->nl, NETLINK_CAP_ACK, &one, sizeof(one));
        (void) mnl_socket_setsockopt(nft->nl, NETLINK_EXT_ACK, &one, sizeof(one));

        nft->seq = (uint32_t) time(NULL);
        if (nft->seq == 0)
                nft->seq = 1;

        *ret = nft;
        return 0;
}

Nft *nft_free(Nft *nft) {
        if (!nft)
                return NULL;
        if (nft->nl)
                mnl_socket_close(nft->nl);
        free(nft);
        return NULL;
}

void nft_set_ack_all(Nft *nft, bool b) {
        nft->ack_all = b;
}

void nft_set_destroy_fallback(Nft *nft, bool b) {
        nft->destroy_fallback = b;
}

/* Grows a socket buffer: SO_*BUFFORCE (CAP_NET_ADMIN, beyond rmem_max/wmem_max) or else the
 * capped SO_*BUF. The kernel doubles the value it is given. */
int nft_grow_buf(Nft *nft, bool snd, size_t want) {
        int *cur = snd ? &nft->sndbuf : &nft->rcvbuf;
        int v;

        if (want > INT32_MAX / 2)
                return -EMSGSIZE;
        if ((int) want <= *cur)
                return 0;

        v = (int) want;
        if (setsockopt(mnl_socket_get_fd(nft->nl), SOL_SOCKET, snd ? SO_SNDBUFFORCE : SO_RCVBUFFORCE,
                       &v, sizeof(v)) < 0 &&
            setsockopt(mnl_socket_get_fd(nft->nl), SOL_SOCKET, snd ? SO_SNDBUF : SO_RCVBUF,
                       &v, sizeof(v)) < 0)
                return -errno;
        *cur = v;
        return 0;
}

void nft_drain(Nft *nft, const NftBatch *b, NftAcks *a) {
        for (;;) {
                ssize_t k = recv(mnl_socket_get_fd(nft->nl), nft->rbuf, sizeof(nft->rbuf), MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR || errno == ENOBUFS)
                                continue;
                        return;
                }
                if (k == 0)
                        return;
                if (b && a)
                        (void) nft_acks_feed(b, a, nft->rbuf, (size_t) k);
        }
}

int nft_attr_cb(const struct nlattr *attr, void *data) {
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(attr);

        if (type <= NFTA_SET_MAX)
                tb[type] = attr;
        return MNL_CB_OK;
}

uint32_t nft_portid(const Nft *nft) {
        return nft ? nft->portid : 0;
}

uint64_t nft_commits(const Nft *nft) {
        return nft ? nft->commits : 0;
}

uint64_t nft_transactions(const Nft *nft) {
        return nft ? nft->transactions : 0;
}
