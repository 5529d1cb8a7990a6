/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Set elements over netlink: one persistent NETLINK_NETFILTER socket, one batch (transaction)
 * per nft_apply() call, one element message per element so that a kernel error, which names the
 * seq of the message it refused, maps back to the caller's element index.
 *
 * Key layout (checked with "nft --debug=netlink add element" on nft 1.0.6 / kernel 6.18):
 * concatenations use 32-bit aligned fields, so ipv4_addr . inet_proto . inet_service is
 *   c0 00 02 01 | 06 00 00 00 | 00 16 00 00     (192.0.2.1 . tcp . 22: 12 bytes)
 * the protocol in the first byte of its word, the port big-endian in the first two bytes of its
 * word. In the concatenated interval set (v6_port, pipapo) a single element carries KEY and
 * KEY_END, equal for one address; a /64 has KEY_END = the prefix's last address. In the plain
 * interval set (v6, rbtree) nft sends a start element (with timeout and comment) and an end
 * element flagged NFT_SET_ELEM_INTERVAL_END whose key is the first address AFTER the range
 * (2001:db8::2 -> end 2001:db8::3), without timeout. nft also adds a "0 [end]" element when the
 * set is empty; the kernel does not need it (a lookup below every element misses), so we don't.
 *
 * Kernel behaviour (6.18, measured in a network namespace): NEWSETELEM of an element that exists,
 * with NLM_F_CREATE and without NLM_F_EXCL, succeeds and REPLACES its timeout and expiration with
 * the new ones, longer or shorter (5h -> 1h shortens it); a re-add without timeout makes a timed
 * element permanent; the comment (userdata) and the counter are kept. The same holds for the
 * interval sets. Kernels before 6.12 keep the old timeout: that is why NFT_OP_REPLACE exists.
 * So on this kernel NFT_OP_ADD is not "left as it is" for the timeout.
 *
 * NFT_OP_REPLACE is sent as add + delete + add: the first add makes the delete succeed when the
 * ban has already expired (a bare delete would fail with -ENOENT and abort the transaction). The
 * element's counter restarts at zero.
 *
 * Acks: errors are always reported by the kernel, per message, once the whole batch has been
 * processed (nfnetlink_rcv_batch), in message order. By default we ask NLM_F_ACK on the last
 * element message only: its answer ends the batch, and the kernel queues O(errors) acks instead
 * of one skb (~1 KiB of receive buffer each) per element. nfnetlink processes a batch inside
 * sendmsg(), so when sendmsg() returns every answer is already queued; we read them all and then
 * drain until EAGAIN, so no stale ack is left on the persistent socket. If the errors of a
 * failing batch overflow the receive buffer, the first of them is still read and routed.
 *
 * Large calls: one transaction holds at most NFT_TXN_MAX_MSGS element messages (a REPLACE costs
 * three). A larger call is split into several transactions, each all-or-nothing: when a later
 * one fails, the earlier ones stay applied (*ret_committed counts their elements), and
 * *reterr_index still names the refused element. The send buffer is raised (SO_SNDBUFFORCE) to
 * hold the batch: ~100 bytes per element.
 *
 * Deletes of elements that may be gone (expired between a listing and the delete): a DELSETELEM
 * of a missing element fails with ENOENT and aborts its transaction. NFT_MSG_DESTROYSETELEM
 * (Linux 6.3) skips it instead. A kernel before 6.3 refuses the unknown message type with EINVAL
 * on every message of the batch (nfnetlink_rcv_batch(): no callback for it), so the first DESTROY
 * transaction tells, once per Nft. There NFT_OP_DESTROY sends DELSETELEM and, since the kernel
 * reports every refused message of a failed batch, drops every element refused with ENOENT at
 * once and sends the rest of that transaction again: a transaction costs one more send per moment
 * in which elements expired during the previous send, whatever their number; when the errors
 * overflowed the receive buffer, the buffer is raised to hold them all and the next send learns
 * the rest. Transactions already committed are never sent again.
 *
 * Overlaps: the interval sets (v6, v6_port) refuse, with -EEXIST even without NLM_F_EXCL, an
 * element that overlaps an existing one without being identical (2001:db8:1::7 while
 * 2001:db8:1::/64 is banned, or the /64 while one of its addresses is), which fails the whole
 * transaction: callers must not send a ban covered by, or covering, a live IPv6 ban. */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "log.h"
#include "nft-internal.h"
#include "nft.h"

#if HAVE_NFT_MSG_DESTROYSETELEM
_Static_assert(NFT_DESTROYSETELEM == NFT_MSG_DESTROYSETELEM, "NFT_DESTROYSETELEM");
#endif

/* Upper bound of one element message: headers, table and set names, two element nests with
 * keys, timeout, flags and a comment of NFT_COMMENT_MAX bytes. */
#define NFT_MSG_MAX_SIZE 640U
#define NFT_RECV_BUF_SIZE 16384U
#define NFT_ACK_TIMEOUT_MS 10000
/* Receive buffer charged per queued ack skb (truesize) when sizing SO_RCVBUF. */
#define NFT_ACK_TRUESIZE 1024U

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

struct Nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        int sndbuf;             /* what we asked for, 0 = kernel default */
        int rcvbuf;
        bool ack_all;
        bool destroy_fallback;  /* NFT_OP_DESTROY as DELSETELEM: the kernel lacks DESTROYSETELEM */
        uint64_t commits;       /* transactions of nft_apply() the kernel committed */
        uint64_t transactions;  /* transactions of nft_apply() sent */
        uint8_t rbuf[NFT_RECV_BUF_SIZE] __attribute__((aligned(8)));
};

static uint32_t nft_seq_next(uint32_t *seq) {
        if (*seq == 0)
                *seq = 1;
        return (*seq)++;
}

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
static int nft_grow_buf(Nft *nft, bool snd, size_t want) {
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

/* Reads everything pending without blocking, ignoring it: no stale ack survives a call. */
static void nft_drain(Nft *nft, const NftBatch *b, NftAcks *a) {
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

/* ---- keys ---- */

int nft_elem_key(const NftElem *e, NftKey *ret) {
        NftKey k = {};

        if (!e || !ret)
                return -EINVAL;
        if (e->comment && strnlen(e->comment, NFT_COMMENT_MAX + 1) > NFT_COMMENT_MAX)
                return -EINVAL;
        if (e->port != 0 && e->proto == 0)
                return -EINVAL;

        switch (e->addr.family) {
        case AF_INET:
                memcpy(k.key, e->addr.bytes, 4);
                if (e->port == 0) {
                        k.set = NFT_SET_V4;
                        k.len = 4;
                } else {
                        k.set = NFT_SET_V4_PORT;
                        k.key[4] = e->proto;
                        k.key[8] = (uint8_t) (e->port >> 8);
                        k.key[9] = (uint8_t) e->port;
                        k.len = 12;
                }
                k.kind = NFT_KEY_SINGLE;
                break;

        case AF_INET6: {
                /* 0 is taken as "one address": never ban all of IPv6 by an unset field. */
                unsigned plen = e->prefixlen == 0 ? 128 : e->prefixlen;
                uint8_t last[16];
                bool carry = true;

                if (plen > 128)
                        return -EINVAL;

                /* start = masked address, last = start with every host bit set */
                for (unsigned i = 0; i < 16; i++) {
                        unsigned bits = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
                        uint8_t mask = (uint8_t) (0xffu << (8 - bits));
                        k.key[i] = e->addr.bytes[i] & mask;
                        last[i] = k.key[i] | (uint8_t) ~mask;
                }

                if (!e->interval_set && (plen == 64 || plen == 128)) {
                        /* the hash sets: the masked address, matched by the rules as
                         * "ip6 saddr & ffff:ffff:ffff:ffff::" for the /64 ones */
                        k.kind = NFT_KEY_SINGLE;
                        if (e->port == 0) {
                                k.set = plen == 64 ? NFT_SET_V6_64 : NFT_SET_V6_128;
                                k.len = 16;
                        } else {
                                k.set = plen == 64 ? NFT_SET_V6_PORT_64 : NFT_SET_V6_PORT_128;
                                k.len = 24;
                                k.key[16] = e->proto;
                                k.key[20] = (uint8_t) (e->port >> 8);
                                k.key[21] = (uint8_t) e->port;
                        }
                } else if (e->port == 0) {
                        k.set = NFT_SET_V6;
                        k.len = 16;
                        /* exclusive end: last + 1, none when last is ffff:...:ffff */
                        memcpy(k.end, last, 16);
                        for (int i = 15; i >= 0 && carry; i--) {
                                k.end[i]++;
                                carry = k.end[i] == 0;
                        }
                        k.kind = carry ? NFT_KEY_INTERVAL_OPEN : NFT_KEY_INTERVAL;
                } else {
                        k.set = NFT_SET_V6_PORT;
                        k.len = 24;
                        k.key[16] = e->proto;
                        k.key[20] = (uint8_t) (e->port >> 8);
                        k.key[21] = (uint8_t) e->port;
                        memcpy(k.end, k.key, 24);
                        memcpy(k.end, last, 16);
                        k.kind = NFT_KEY_RANGE;
                }
                break;
        }

        default:
                return -EINVAL;
        }

        *ret = k;
        return 0;
}

const char *const nft_sets[NFT_SETS_MAX] = {
        NFT_SET_V4_PORT, NFT_SET_V6_PORT_128, NFT_SET_V6_PORT_64, NFT_SET_V6_PORT,
        NFT_SET_V4,      NFT_SET_V6_128,      NFT_SET_V6_64,      NFT_SET_V6,
};

const char *nft_elem_set(const NftElem *e) {
        NftKey k;

        return nft_elem_key(e, &k) < 0 ? NULL : k.set;
}

/* ---- batch ---- */

static int nft_batch_reserve(NftBatch *b, size_t more_bytes) {
        if (b->len + more_bytes > b->cap) {
                size_t cap = MAX(b->cap * 2, b->len + more_bytes);
                uint8_t *p = realloc(b->buf, cap);
                if (!p)
                        return -ENOMEM;
                b->buf = p;
                b->cap = cap;
        }
        if (b->n_msgs + 1 > b->msg_cap) {
                size_t cap = MAX(b->msg_cap * 2, (size_t) 64);
                size_t *p = realloc(b->msg_elem, cap * sizeof(size_t));
                if (!p)
                        return -ENOMEM;
                b->msg_elem = p;
                b->msg_cap = cap;
        }
        return 0;
}

static struct nlmsghdr *nft_batch_put(NftBatch *b, uint16_t type, uint16_t flags, uint8_t family,
                                      uint16_t res_id, uint32_t seq) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->buf + b->len);
        struct nfgenmsg *nfg;

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = seq;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = family;
        nfg->version = NFNETLINK_V0;
        nfg->res_id = htons(res_id);
        return nlh;
}

static void nft_put_data(struct nlmsghdr *nlh, uint16_t type, const uint8_t *data, size_t len) {
        struct nlattr *nest = mnl_attr_nest_start(nlh, type);
        mnl_attr_put(nlh, NFTA_DATA_VALUE, len, data);
        mnl_attr_nest_end(nlh, nest);
}

/* One element of the NFTA_SET_ELEM_LIST_ELEMENTS list. */
static void nft_put_elem(struct nlmsghdr *nlh, const NftKey *k, const NftElem *e, bool end, bool del,
                         const void *udata, size_t udata_len) {
        struct nlattr *nest = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);

        if (end) {
                nft_put_data(nlh, NFTA_SET_ELEM_KEY, k->end, k->len);
                mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(NFT_SET_ELEM_INTERVAL_END));
        } else {
                nft_put_data(nlh, NFTA_SET_ELEM_KEY, k->key, k->len);
                if (k->kind == NFT_KEY_RANGE)
                        nft_put_data(nlh, NFTA_SET_ELEM_KEY_END, k->end, k->len);
                if (!del) {
                        if (e->timeout_ms > 0)
                                mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(e->timeout_ms));
                        if (udata_len > 0)
                                mnl_attr_put(nlh, NFTA_SET_ELEM_USERDATA, udata_len, udata);
                }
        }
        mnl_attr_nest_end(nlh, nest);
}

static int nft_batch_put_elem(NftBatch *b, uint32_t *seq, uint16_t type, const NftElem *e, size_t index,
                              bool ack) {
        struct nlmsghdr *nlh;
        struct nlattr *list;
        NftKey k;
        uint8_t udata[NFT_COMMENT_MAX + 8];
        size_t udata_len = 0;
        bool del = type != NFT_MSG_NEWSETELEM;
        int r;

        r = nft_elem_key(e, &k);
        if (r < 0)
                return r;
        r = nft_batch_reserve(b, NFT_MSG_MAX_SIZE);
        if (r < 0)
                return r;

        if (!del && e->comment && e->comment[0]) {
                /* The TLV nft writes (NFTNL_UDATA_SET_ELEM_COMMENT, strz), shown as comment "…". */
                size_t l = strlen(e->comment) + 1;
                udata[0] = NFTNL_UDATA_SET_ELEM_COMMENT;
                udata[1] = (uint8_t) l;
                memcpy(udata + 2, e->comment, l);
                udata_len = 2 + l;
        }

        nlh = nft_batch_put(b, (uint16_t) (NFNL_SUBSYS_NFTABLES << 8 | type),
                            (del ? 0 : NLM_F_CREATE) | (ack ? NLM_F_ACK : 0), NFPROTO_INET, 0,
                            nft_seq_next(seq));
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, k.set);
        list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        nft_put_elem(nlh, &k, e, false, del, udata, udata_len);
        if (k.kind == NFT_KEY_INTERVAL)
                nft_put_elem(nlh, &k, e, true, del, NULL, 0);
        mnl_attr_nest_end(nlh, list);

        b->len += nlh->nlmsg_len;
        b->msg_elem[b->n_msgs++] = index;
        return 0;
}

void nft_batch_done(NftBatch *b) {
        if (!b)
                return;
        free(b->buf);
        free(b->msg_elem);
        *b = (NftBatch) {};
}

int nft_batch_build(NftBatch *b, uint32_t *seq, NftOp op, const NftElem *elems, size_t n) {
        static const uint16_t replace_steps[] = { NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM };
        static const uint16_t op_type[_NFT_OP_MAX] = {
                [NFT_OP_ADD] = NFT_MSG_NEWSETELEM,
                [NFT_OP_DEL] = NFT_MSG_DELSETELEM,
                [NFT_OP_DESTROY] = NFT_DESTROYSETELEM,
        };
        size_t total;
        int r;

        if (op < 0 || op >= _NFT_OP_MAX || (n > 0 && !elems))
                return -EINVAL;

        total = op == NFT_OP_REPLACE ? n * 3 : n;
        b->len = 0;
        b->n_msgs = 0;
        r = nft_batch_reserve(b, 64);
        if (r < 0)
                return r;

        b->seq_begin = nft_seq_next(seq);
        b->len += nft_batch_put(b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES,
                                b->seq_begin)->nlmsg_len;
        b->seq_first = *seq == 0 ? 1 : *seq;

        for (size_t i = 0; i < n; i++) {
                if (op == NFT_OP_REPLACE) {
                        for (size_t s = 0; s < ELEMENTSOF(replace_steps); s++) {
                                r = nft_batch_put_elem(b, seq, replace_steps[s], &elems[i], i,
                                                       b->ack_all || b->n_msgs + 1 == total);
                                if (r < 0)
                                        return r;
                        }
                } else {
                        r = nft_batch_put_elem(b, seq, op_type[op], &elems[i], i,
                                               b->ack_all || b->n_msgs + 1 == total);
                        if (r < 0)
                                return r;
                }
        }

        /* Element seqs must be consecutive for seq -> message mapping; a wrap past 0 breaks that,
         * so a batch crossing it is rebuilt from seq 1. */
        if (b->n_msgs > 0 && (uint32_t) (b->seq_first + b->n_msgs - 1) < b->seq_first) {
                *seq = 1;
                return nft_batch_build(b, seq, op, elems, n);
        }

        r = nft_batch_reserve(b, 64);
        if (r < 0)
                return r;
        b->seq_end = nft_seq_next(seq);
        b->len += nft_batch_put(b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES,
                                b->seq_end)->nlmsg_len;
        return 0;
}

/* ---- acks ---- */

void nft_acks_init(NftAcks *a) {
        *a = (NftAcks) { .error_msg = SIZE_MAX };
}

int nft_acks_feed(const NftBatch *b, NftAcks *a, const void *buf, size_t len) {
        const struct nlmsghdr *nlh = buf;
        int left = (int) MIN(len, (size_t) INT32_MAX);

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                const struct nlmsgerr *err;
                uint32_t k;

                if (nlh->nlmsg_type != NLMSG_ERROR)
                        continue;       /* no echo requested: nothing else is expected */
                if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
                        return -EBADMSG;
                err = mnl_nlmsg_get_payload(nlh);

                if (nlh->nlmsg_seq == b->seq_begin) {
                        /* Commit failed, or the kernel could not queue the errors. */
                        a->begin_error = true;
                        if (a->error == 0 && err->error < 0) {
                                a->error = err->error;
                                a->error_msg = SIZE_MAX;
                        }
                        continue;
                }

                k = nlh->nlmsg_seq - b->seq_first;
                if (k >= b->n_msgs)
                        continue;       /* not ours (stale): ignore */

                a->n_acked++;
                if (err->error < 0 && a->errors)
                        a->errors[k] = err->error;
                if (err->error < 0 && a->error_msg == SIZE_MAX) {
                        /* the first refused element; a commit error seen first is kept */
                        if (a->error == 0)
                                a->error = err->error;
                        a->error_msg = k;
                }
                if (k == b->n_msgs - 1)
                        a->done = true;
        }
        return 0;
}

/* Sends b and reads its answers into a, which the caller initialised. */
static int nft_batch_talk(Nft *nft, NftBatch *b, NftAcks *a) {
        int fd = mnl_socket_get_fd(nft->nl);
        size_t expected;
        ssize_t k;
        int r;

        /* A leftover from an interrupted call would confuse nothing (seqs differ), but drop it. */
        nft_drain(nft, NULL, NULL);

        r = nft_grow_buf(nft, true, b->len + 4096);
        if (r < 0)
                return r;
        expected = b->ack_all ? b->n_msgs : 1;
        r = nft_grow_buf(nft, false, MAX((size_t) 256 * 1024, expected * NFT_ACK_TRUESIZE + 256 * 1024));
        if (r < 0)
                return r;

        for (;;) {
                k = mnl_socket_sendto(nft->nl, b->buf, b->len);
                if (k >= 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        nft->transactions++;
        if ((size_t) k != b->len)
                return -EIO;

        while (!a->done) {
                k = recv(fd, nft->rbuf, sizeof(nft->rbuf), MSG_DONTWAIT);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                /* Answers were dropped. Without ack_all only errors can be
                                 * that many; the first ones found room (the queue was empty)
                                 * and are still queued behind this report: keep reading. The
                                 * last ack may be lost, so stop at EAGAIN: everything was
                                 * queued during sendmsg(). */
                                a->overrun = true;
                                continue;
                        }
                        if (errno == EAGAIN) {
                                struct pollfd p = { .fd = fd, .events = POLLIN };
                                if (a->begin_error || a->overrun)
                                        break;  /* kernel OOM path: nothing else follows */
                                r = poll(&p, 1, NFT_ACK_TIMEOUT_MS);
                                if (r < 0 && errno != EINTR)
                                        return -errno;
                                if (r == 0)
                                        return -ETIMEDOUT;
                                continue;
                        }
                        return -errno;
                }
                r = nft_acks_feed(b, a, nft->rbuf, (size_t) k);
                if (r < 0)
                        return r;
        }

        nft_drain(nft, b, a);
        if (a->error == 0 && a->overrun)
                return -ENOBUFS;        /* outcome unknown */
        return a->error;
}

/* One transaction of m elements. On failure *bad is the refused element's index, or m. */
static int nft_apply_txn(Nft *nft, NftBatch *b, NftOp op, const NftElem *elems, size_t m, size_t *bad) {
        NftAcks a;
        int r;

        *bad = m;
        r = nft_batch_build(b, &nft->seq, op, elems, m);
        if (r < 0)
                return r;
        nft_acks_init(&a);
        r = nft_batch_talk(nft, b, &a);
        if (r < 0) {
                if (a.error_msg < b->n_msgs)
                        *bad = b->msg_elem[a.error_msg];
                return r;
        }
        nft->commits++;
        return 0;
}

/* NFT_OP_DESTROY of one transaction's worth on a kernel without DESTROYSETELEM: DELSETELEM, every
 * element refused with ENOENT dropped, the rest sent again (see the top of this file). */
static int nft_apply_del_dropping(Nft *nft, NftBatch *b, const NftElem *elems, size_t m, size_t *bad) {
        _cleanup_free_ NftElem *w = NULL;
        _cleanup_free_ size_t *orig = NULL;
        _cleanup_free_ int *errors = NULL;
        size_t live = m;
        int r;

        *bad = m;
        w = malloc(m * sizeof *w);
        orig = malloc(m * sizeof *orig);
        errors = malloc(m * sizeof *errors);
        if (!w || !orig || !errors)
                return -ENOMEM;
        memcpy(w, elems, m * sizeof *w);
        for (size_t i = 0; i < m; i++)
                orig[i] = i;

        while (live > 0) {
                NftAcks a;
                size_t kept = 0;

                r = nft_batch_build(b, &nft->seq, NFT_OP_DEL, w, live);
                if (r < 0)
                        return r;
                nft_acks_init(&a);
                memset(errors, 0, live * sizeof *errors);
                a.errors = errors;
                r = nft_batch_talk(nft, b, &a);
                if (r >= 0) {
                        nft->commits++;
                        return 0;
                }
                if (a.begin_error || a.error_msg >= b->n_msgs) {
                        if (a.error_msg < b->n_msgs)
                                *bad = orig[b->msg_elem[a.error_msg]];
                        return r;
                }
                /* one message per element: message k is w[k] */
                for (size_t k = 0; k < live; k++)
                        if (errors[k] != 0 && errors[k] != -ENOENT) {
                                *bad = orig[k];
                                return errors[k];
                        }
                for (size_t k = 0; k < live; k++)
                        if (errors[k] == 0) {
                                w[kept] = w[k];
                                orig[kept++] = orig[k];
                        }
                log_debug("nft: %zu of %zu elements to delete were gone, sending the other %zu again",
                          live - kept, live, kept);
                live = kept;
                if (a.overrun) {
                        r = nft_grow_buf(nft, false, live * NFT_ACK_TRUESIZE + 256 * 1024);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int nft_apply(Nft *nft, NftOp op, const NftElem *elems, size_t n, size_t *ret_committed, size_t *reterr_index) {
        NftBatch b = {};
        size_t per, chunk, start = 0;
        int r = 0;

        if (ret_committed)
                *ret_committed = 0;
        if (!nft || op < 0 || op >= _NFT_OP_MAX || (n > 0 && !elems))
                return -EINVAL;

        /* Refuse bad input before anything reaches the kernel, even across transactions. */
        for (size_t i = 0; i < n; i++) {
                NftKey k;
                r = nft_elem_key(&elems[i], &k);
                if (r < 0) {
                        if (reterr_index)
                                *reterr_index = i;
                        return r;
                }
        }
        if (n == 0)
                return 0;

        b.ack_all = nft->ack_all;
        per = op == NFT_OP_REPLACE ? 3 : 1;
        chunk = NFT_TXN_MAX_MSGS / per;

        for (; start < n; start += chunk) {
                size_t m = MIN(chunk, n - start), bad = m;

                if (op != NFT_OP_DESTROY)
                        r = nft_apply_txn(nft, &b, op, elems + start, m, &bad);
                else {
                        r = -EOPNOTSUPP;
                        if (!nft->destroy_fallback) {
                                r = nft_apply_txn(nft, &b, op, elems + start, m, &bad);
                                if ((r == -EINVAL || r == -EOPNOTSUPP) && bad == 0) {
                                        log_debug("nft: the kernel refused NFT_MSG_DESTROYSETELEM, deleting with DELSETELEM");
                                        nft->destroy_fallback = true;
                                }
                        }
                        if (nft->destroy_fallback)
                                r = nft_apply_del_dropping(nft, &b, elems + start, m, &bad);
                }
                if (r < 0) {
                        if (reterr_index)
                                *reterr_index = bad < m ? start + bad : n;
                        break;
                }
        }

        nft_batch_done(&b);
        if (ret_committed)
                *ret_committed = MIN(start, n);
        return r < 0 ? r : 0;
}

/* ---- table ---- */

static int nft_attr_cb(const struct nlattr *attr, void *data);

static int nft_table_cb(const struct nlmsghdr *nlh, void *data) {
        int *found = data;
        if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWTABLE || NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSET)
                *found = 1;
        return MNL_CB_OK;
}

/* Sends one request (its seq and flags set here) on the persistent socket and runs cb on every
 * answer until the ack. Returns 0 or the kernel's error (negative errno). */
static int nft_query(Nft *nft, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        uint32_t seq;
        int r;

        nft_drain(nft, NULL, NULL);

        seq = nft_seq_next(&nft->seq);
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        if (mnl_socket_sendto(nft->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;

        /* The object, then the ack; or only an error. */
        for (;;) {
                ssize_t k = mnl_socket_recvfrom(nft->nl, nft->rbuf, sizeof(nft->rbuf));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                r = mnl_cb_run(nft->rbuf, (size_t) k, seq, nft->portid, cb, data);
                if (r < 0) {
                        r = -errno;
                        nft_drain(nft, NULL, NULL);
                        return r;
                }
                if (r == MNL_CB_STOP)
                        break;
        }
        nft_drain(nft, NULL, NULL);
        return 0;
}

static struct nlmsghdr *nft_query_header(void *buf, uint16_t type, uint8_t family) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *nfg;

        nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
        nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        nfg->nfgen_family = family;
        nfg->version = NFNETLINK_V0;
        return nlh;
}

/* Whether the table (set == NULL) or one of its sets exists: 1, 0, or a negative errno. */
static int nft_exists(Nft *nft, const char *set) {
        uint8_t buf[256] __attribute__((aligned(8)));
        struct nlmsghdr *nlh;
        int found = 0, r;

        if (!nft)
                return -EINVAL;

        nlh = nft_query_header(buf, set ? NFT_MSG_GETSET : NFT_MSG_GETTABLE, NFPROTO_INET);
        if (set) {
                mnl_attr_put_strz(nlh, NFTA_SET_TABLE, NFT_TABLE);
                mnl_attr_put_strz(nlh, NFTA_SET_NAME, set);
        } else
                mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, NFT_TABLE);
        r = nft_query(nft, nlh, nft_table_cb, &found);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : found;
}

static int nft_genid_cb(const struct nlmsghdr *nlh, void *data) {
        const struct nlattr *tb[NFTA_SET_MAX + 1] = {};
        uint32_t *id = data;

        if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWGEN)
                return MNL_CB_OK;
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nft_attr_cb, tb) < 0 || !tb[NFTA_GEN_ID] ||
            mnl_attr_validate(tb[NFTA_GEN_ID], MNL_TYPE_U32) < 0) {
                errno = EBADMSG;
                return MNL_CB_ERROR;
        }
        *id = ntohl(mnl_attr_get_u32(tb[NFTA_GEN_ID]));
        return MNL_CB_OK;
}

int nft_genid(Nft *nft, uint32_t *ret) {
        uint8_t buf[64] __attribute__((aligned(8)));
        NftBatch b = {};
        uint32_t id = 0;
        int r;

        if (!nft)
                return -EINVAL;
        r = nft_query(nft, nft_query_header(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC), nft_genid_cb, &id);
        if (r < 0)
                return r;
        /* GETGEN reads the id without the commit lock: a transaction may have advanced it and
         * not yet sent its notifications. An empty transaction takes the lock (valid_genid()
         * in nfnetlink_rcv_batch()) inside sendmsg(), so once it returns that one is done;
         * it commits nothing and asks for no ack. */
        r = nft_batch_build(&b, &nft->seq, NFT_OP_ADD, NULL, 0);
        if (r >= 0 && mnl_socket_sendto(nft->nl, b.buf, b.len) < 0)
                r = -errno;
        nft_batch_done(&b);
        nft_drain(nft, NULL, NULL);
        if (r < 0)
                return r;
        *ret = id;
        return 0;
}

uint64_t nft_commits(const Nft *nft) {
        return nft ? nft->commits : 0;
}

uint64_t nft_transactions(const Nft *nft) {
        return nft ? nft->transactions : 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* Linux 5.14 */
#endif

int nft_netns_cookie(Nft *nft, uint64_t *ret) {
        uint64_t cookie = 0;
        socklen_t len = sizeof cookie;

        if (!nft)
                return -EINVAL;
        if (getsockopt(mnl_socket_get_fd(nft->nl), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
                return -errno;
        if (len != sizeof cookie)
                return -EIO;
        *ret = cookie;
        return 0;
}

int nft_table_exists(Nft *nft) {
        return nft_exists(nft, NULL);
}

int nft_load_file(const char *path, char *errbuf, size_t errlen) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        const char *msg;
        struct stat st;
        int r;

        if (errbuf && errlen > 0)
                errbuf[0] = 0;
        if (!path)
                return -EINVAL;
        if (stat(path, &st) < 0) {
                r = -errno;
                if (errbuf && errlen > 0)
                        snprintf(errbuf, errlen, "%s: %s", path, strerror(-r));
                return r;
        }

        /* the library aborts when out of memory: NULL means that libnftables-dl.c could not load it */
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                if (errbuf && errlen > 0)
                        snprintf(errbuf, errlen, "libnftables could not be loaded");
                return -ELIBACC;
        }
        if (nft_ctx_buffer_error(ctx) < 0 || nft_ctx_buffer_output(ctx) < 0)
                return -ENOMEM;

        if (nft_run_cmd_from_filename(ctx, path) == 0)
                return 0;

        msg = nft_ctx_get_error_buffer(ctx);
        if (errbuf && errlen > 0)
                snprintf(errbuf, errlen, "%s", msg ? msg : "");
        /* libnftables only gives text; the kernel's refusal for lack of privilege is worth its
         * own errno, anything else is a bad file or ruleset. */
        if (msg && strstr(msg, "Operation not permitted"))
                return -EPERM;
        return -EINVAL;
}

int nft_ensure_table(Nft *nft, const char *path, char *errbuf, size_t errlen) {
        int table, r;

        r = table = nft_table_exists(nft);
        for (size_t i = 0; r > 0 && i < ELEMENTSOF(nft_sets); i++)
                r = nft_exists(nft, nft_sets[i]);
        if (r < 0)
                return r;
        if (r > 0)
                return 0;
        r = nft_load_file(path, errbuf, errlen);
        if (r < 0)
                return r;
        return table > 0 ? 2 : 1;
}

/* ---- listing ---- */

typedef struct NftDumpCtx {
        const char *name;
        NftDumpFn fn;
        void *userdata;
        int r;                  /* first negative return of fn, or -ENOMEM */
} NftDumpCtx;

/* One message of the dump: its elements are parsed and handed over, then freed, so that a dump
 * of a million elements never holds more than one message's worth in libnftnl objects. */
static int nft_list_cb(const struct nlmsghdr *nlh, void *data) {
        NftDumpCtx *d = data;
        struct nftnl_set *s;
        struct nftnl_set_elems_iter *it;
        int r = MNL_CB_OK;

        s = nftnl_set_alloc();
        if (!s) {
                d->r = -ENOMEM;
                return MNL_CB_ERROR;
        }
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
                nftnl_set_free(s);
                return MNL_CB_ERROR;
        }
        it = nftnl_set_elems_iter_create(s);
        if (!it) {
                nftnl_set_free(s);
                d->r = -ENOMEM;
                return MNL_CB_ERROR;
        }
        for (struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
                int k = d->fn(d->name, e, d->userdata);
                if (k < 0) {
                        d->r = k;
                        r = MNL_CB_ERROR;
                        break;
                }
        }
        nftnl_set_elems_iter_destroy(it);
        nftnl_set_free(s);
        return r;
}

typedef struct NftCommentBuf {
        char *buf;
        size_t len;
} NftCommentBuf;

static int nft_comment_cb(const struct nftnl_udata *attr, void *data) {
        NftCommentBuf *c = data;

        if (nftnl_udata_type(attr) == NFTNL_UDATA_SET_ELEM_COMMENT) {
                uint8_t l = nftnl_udata_len(attr);
                if (l == 0 || l > c->len)
                        return -1;
                memcpy(c->buf, nftnl_udata_get(attr), l);
                c->buf[l - 1] = 0;
        }
        return 0;
}

void nft_elem_comment(struct nftnl_set_elem *e, char *buf, size_t len) {
        NftCommentBuf c = { buf, len };
        const void *ud;
        uint32_t ul;

        if (len == 0)
                return;
        buf[0] = 0;
        ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ul);
        if (ud && nftnl_udata_parse(ud, ul, nft_comment_cb, &c) < 0)
                buf[0] = 0;
}

/* Number of leading bits that a (start) and b (inclusive last) share, for a prefix range. */
static uint8_t nft_prefixlen(const uint8_t *start, const uint8_t *last) {
        unsigned n = 0;

        for (unsigned i = 0; i < 16; i++) {
                uint8_t x = start[i] ^ last[i];
                if (x == 0) {
                        n += 8;
                        continue;
                }
                while (!(x & 0x80)) {
                        n++;
                        x <<= 1;
                }
                break;
        }
        return (uint8_t) n;
}

/* Decodes one element of set kind k into *d. Returns 1 when it is a ban, 0 to skip (an interval
 * end element), negative on a malformed key. */
static int nft_list_decode(const char *set, struct nftnl_set_elem *e, NftListed *d) {
        const uint8_t *key, *end;
        uint32_t kl = 0, el = 0, flags = 0;

        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        if (flags & NFT_SET_ELEM_INTERVAL_END)
                return 0;
        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
        end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &el);
        if (!key)
                return -EBADMSG;
        memset(d, 0, sizeof *d);
        if (strcmp(set, NFT_SET_V4) == 0 && kl == 4) {
                d->elem.addr.family = AF_INET;
                memcpy(d->elem.addr.bytes, key, 4);
        } else if (strcmp(set, NFT_SET_V4_PORT) == 0 && kl == 12) {
                d->elem.addr.family = AF_INET;
                memcpy(d->elem.addr.bytes, key, 4);
                d->elem.proto = key[4];
                d->elem.port = (uint16_t) (key[8] << 8 | key[9]);
        } else if (strcmp(set, NFT_SET_V6) == 0 && kl == 16) {
                d->elem.addr.family = AF_INET6;
                memcpy(d->elem.addr.bytes, key, 16);
                /* the end element comes separately; a single address is what we add unless told
                 * otherwise, and a prefix ban keeps its start address */
                d->elem.prefixlen = 128;
                d->elem.interval_set = true;
        } else if ((strcmp(set, NFT_SET_V6_128) == 0 || strcmp(set, NFT_SET_V6_64) == 0) && kl == 16) {
                d->elem.addr.family = AF_INET6;
                memcpy(d->elem.addr.bytes, key, 16);
                d->elem.prefixlen = strcmp(set, NFT_SET_V6_64) == 0 ? 64 : 128;
        } else if (strcmp(set, NFT_SET_V6_PORT) == 0 && kl == 24) {
                d->elem.addr.family = AF_INET6;
                memcpy(d->elem.addr.bytes, key, 16);
                d->elem.prefixlen = end && el == 24 ? nft_prefixlen(key, end) : 128;
                d->elem.proto = key[16];
                d->elem.port = (uint16_t) (key[20] << 8 | key[21]);
                d->elem.interval_set = true;
        } else if ((strcmp(set, NFT_SET_V6_PORT_128) == 0 || strcmp(set, NFT_SET_V6_PORT_64) == 0) && kl == 24) {
                d->elem.addr.family = AF_INET6;
                memcpy(d->elem.addr.bytes, key, 16);
                d->elem.prefixlen = strcmp(set, NFT_SET_V6_PORT_64) == 0 ? 64 : 128;
                d->elem.proto = key[16];
                d->elem.port = (uint16_t) (key[20] << 8 | key[21]);
        } else
                return -EBADMSG;
        for (size_t i = 0; i < ELEMENTSOF(nft_sets); i++)
                if (strcmp(set, nft_sets[i]) == 0)
                        d->set = nft_sets[i];
        if (d->elem.addr.family == AF_INET)
                d->elem.prefixlen = 32;
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
                d->elem.timeout_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
                d->expires_ms = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
        nft_elem_comment(e, d->comment, sizeof d->comment);
        return 1;
}

/* The rbtree set v6 dumps each interval as its end element (flagged, key = the first address
 * after the range) right before its start element, in descending order (seen on 6.1 and 6.18);
 * nft_list_set() pairs them to learn the prefix of a prefix ban. */
static bool nft_list_v6_end(struct nftnl_set_elem *e, uint8_t end[16]) {
        const void *key;
        uint32_t kl = 0;

        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
        if (!key || kl != 16)
                return false;
        memcpy(end, key, 16);
        return true;
}

/* The prefix length of [start, end) when it is one aligned prefix, else 128. */
static uint8_t nft_list_v6_prefix(const uint8_t start[16], const uint8_t end[16]) {
        uint8_t last[16];
        unsigned borrow = 1;
        uint8_t p;

        for (int i = 15; i >= 0; i--) {
                unsigned x = end[i];
                last[i] = (uint8_t) (x - borrow);
                borrow = x < borrow;
        }
        if (borrow || memcmp(last, start, 16) < 0)
                return 128;
        p = nft_prefixlen(start, last);
        /* an aligned prefix: start has only zeros after p bits, last only ones */
        for (unsigned b = p; b < 128; b++) {
                unsigned bit = 7 - (b % 8);
                if ((start[b / 8] >> bit & 1) != 0 || (last[b / 8] >> bit & 1) != 1)
                        return 128;
        }
        return p;
}

int nft_dump_set(const char *name, NftDumpFn fn, void *userdata) {
        struct mnl_socket *nl;
        struct nftnl_set *s;
        struct nlmsghdr *nlh;
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t seq = (uint32_t) time(NULL) | 1, portid;
        NftDumpCtx d = { .name = name, .fn = fn, .userdata = userdata };
        int r;

        buf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
        if (!buf)
                return -ENOMEM;
        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                mnl_socket_close(nl);
                return r;
        }
        portid = mnl_socket_get_portid(nl);
        s = nftnl_set_alloc();
        if (!s) {
                mnl_socket_close(nl);
                return -ENOMEM;
        }
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                r = -errno;
                goto out;
        }
        for (;;) {
                ssize_t k = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE * 4);
                if (k < 0) {
                        r = -errno;
                        goto out;
                }
                r = mnl_cb_run(buf, (size_t) k, seq, portid, nft_list_cb, &d);
                if (r < 0) {
                        /* fn's own error, or the kernel's (errno) */
                        r = d.r < 0 ? d.r : -errno;
                        goto out;
                }
                if (r == MNL_CB_STOP)
                        break;
        }
        r = 0;
out:
        mnl_socket_close(nl);
        return r < 0 ? r : 0;
}

typedef struct NftListAcc {
        NftListed *v;
        size_t n, cap;
        uint8_t end[16];        /* set v6: the end element seen last, for its start */
        bool have_end;
} NftListAcc;

static int nft_list_add(const char *set, struct nftnl_set_elem *e, void *userdata) {
        NftListAcc *a = userdata;
        int r;

        if (a->n == a->cap) {
                size_t nc = MAX(a->cap * 2, 64);
                NftListed *nv = realloc(a->v, nc * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                a->v = nv;
                a->cap = nc;
        }
        r = nft_list_decode(set, e, &a->v[a->n]);
        if (r == 0 && strcmp(set, NFT_SET_V6) == 0)
                a->have_end = nft_list_v6_end(e, a->end);
        else if (r > 0) {
                if (a->have_end && strcmp(set, NFT_SET_V6) == 0)
                        a->v[a->n].elem.prefixlen = nft_list_v6_prefix(a->v[a->n].elem.addr.bytes, a->end);
                a->have_end = false;
                a->n++;
        }
        return 0;
}

int nft_list(Nft *nft, NftListed **ret) {
        NftListAcc a = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(nft_sets); i++) {
                r = nft_dump_set(nft_sets[i], nft_list_add, &a);
                if (r < 0) {
                        free(a.v);
                        return r;
                }
        }
        /* comment pointers last: the array moved while it grew */
        for (size_t i = 0; i < a.n; i++)
                a.v[i].elem.comment = a.v[i].comment[0] ? a.v[i].comment : NULL;
        *ret = a.v;
        return (int) MIN(a.n, (size_t) INT32_MAX);
}

/* ---- monitor ---- */

#define NFT_MONITOR_RCVBUF (16U << 20)

struct NftMonitor {
        struct mnl_socket *nl;
        uint8_t *buf;
};

uint32_t nft_portid(const Nft *nft) {
        return nft ? nft->portid : 0;
}

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

static int nft_attr_cb(const struct nlattr *attr, void *data) {
        const struct nlattr **tb = data;
        uint16_t type = mnl_attr_get_type(attr);

        if (type <= NFTA_SET_MAX) /* largest of the attribute sets read here */
                tb[type] = attr;
        return MNL_CB_OK;
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
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                goto out; /* not ours to judge: skip it */
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
                len = (int) k;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) mon->buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len)) {
                        int r = nft_monitor_msg(nlh, cb, userdata);
                        if (r < 0)
                                return r;
                }
        }
}
