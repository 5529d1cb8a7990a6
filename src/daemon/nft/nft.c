/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The persistent NETLINK_NETFILTER socket that nft_apply() and the queries share, and what the
 * files of this folder need of it: seqs, buffer sizes, draining. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
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

        nft->query_timeout_ms = NFT_QUERY_TIMEOUT_MS;
        nft->ack_timeout_ms = NFT_ACK_TIMEOUT_MS;
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
        free(nft->fault_kept);
        free(nft);
        return NULL;
}

ssize_t nft_send(Nft *nft, const void *buf, size_t len, bool batch) {
        ssize_t k;

        if (!batch && nft->fault == NFT_FAULT_DROP_QUERY) {
                void *copy = malloc(len);
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, buf, len);
                free(nft->fault_kept);
                nft->fault_kept = copy;
                nft->fault_kept_len = len;
                nft->fault = NFT_FAULT_NONE;
                return (ssize_t) len;
        }
        if (batch && nft->fault == NFT_FAULT_DROP_BATCH) {
                nft->fault = NFT_FAULT_NONE;
                return (ssize_t) len;
        }
        if (!batch && nft->fault == NFT_FAULT_LATE_QUERY) {
                nft->fault = NFT_FAULT_NONE;
                if (nft->fault_kept &&
                    mnl_socket_sendto(nft->nl, nft->fault_kept, nft->fault_kept_len) < 0)
                        return -errno;
        }

        for (;;) {
                k = mnl_socket_sendto(nft->nl, buf, len);
                if (k >= 0)
                        return k;
                if (errno != EINTR)
                        return -errno;
        }
}

void nft_test_fault(Nft *nft, NftFault f) {
        nft->fault = f;
}

void nft_test_timeouts(Nft *nft, int query_ms, int ack_ms) {
        if (query_ms > 0)
                nft->query_timeout_ms = query_ms;
        if (ack_ms > 0)
                nft->ack_timeout_ms = ack_ms;
}

int nft_test_rcvbuf(Nft *nft, int bytes) {
        nft->rcvbuf_pinned = false;
        if (bytes <= 0)
                return 0;
        if (setsockopt(mnl_socket_get_fd(nft->nl), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
                return -errno;
        /* the next nft_grow_buf() must raise it again once unpinned */
        nft->rcvbuf = 0;
        nft->rcvbuf_pinned = true;
        return 0;
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

        if (!snd && nft->rcvbuf_pinned)
                return 0;
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

uint64_t nft_unknown_committed(const Nft *nft) {
        return nft ? nft->unknown_committed : 0;
}

uint64_t nft_transactions(const Nft *nft) {
        return nft ? nft->transactions : 0;
}
