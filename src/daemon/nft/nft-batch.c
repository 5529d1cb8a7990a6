/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Set elements over netlink, on the persistent NETLINK_NETFILTER socket: a batch (transaction)
 * per NFT_TXN_MAX_MSGS element messages of an nft_apply() call, one element message per element
 * so that a kernel error, which names the seq of the message it refused, maps back to the caller's
 * element index.
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
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "log.h"
#include "nft-internal.h"
#include "nft.h"

#if HAVE_NFT_MSG_DESTROYSETELEM
_Static_assert(NFT_DESTROYSETELEM == NFT_MSG_DESTROYSETELEM, "NFT_DESTROYSETELEM");
#endif

/* Upper bound of one element message: headers, table and set names, two element nests with
 * keys, timeout, flags and a comment of NFT_COMMENT_MAX bytes. */
#define NFT_MSG_MAX_SIZE 640U

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
        int left = (int) nft_nlmsg_span(buf, len);

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                const struct nlmsgerr *err;
                int error;
                uint32_t k;

                if (nlh->nlmsg_type != NLMSG_ERROR)
                        continue;       /* no echo requested: nothing else is expected */
                if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
                        return -EBADMSG;
                err = mnl_nlmsg_get_payload(nlh);
                error = nft_kernel_error(err->error);

                if (nlh->nlmsg_seq == b->seq_begin) {
                        /* Commit failed, or the kernel could not queue the errors. */
                        a->begin_error = true;
                        if (a->error == 0 && error < 0) {
                                a->error = error;
                                a->error_msg = SIZE_MAX;
                        }
                        continue;
                }

                k = nlh->nlmsg_seq - b->seq_first;
                if (k >= b->n_msgs)
                        continue;       /* not ours (stale): ignore */

                a->n_acked++;
                if (error < 0 && a->errors)
                        a->errors[k] = error;
                if (error < 0 && a->error_msg == SIZE_MAX) {
                        /* the first refused element; a commit error seen first is kept */
                        if (a->error == 0)
                                a->error = error;
                        a->error_msg = k;
                }
                if (k == b->n_msgs - 1)
                        a->done = true;
        }
        return 0;
}

/* Whether a batch whose acks were lost (r: -ENOBUFS or -ETIMEDOUT) was committed, from the
 * generation id read before it was sent: a committed transaction advances it by exactly one, a
 * refused one leaves it. Another process committing in between makes the count ambiguous: then,
 * as when the id cannot be read, r stands, so the caller sends again (add, replace and destroy
 * are idempotent) rather than count a ban that may not be there. Returns 0 (committed) or r. */
static int nft_batch_outcome(Nft *nft, uint32_t before, int r) {
        uint32_t after;

        if (nft_genid_read(nft, &after) < 0)
                return r;
        if (after - before == 1) {
                log_debug("nft: the acks of a transaction were lost (%s), the generation id says it was committed",
                          strerror(-r));
                nft->unknown_committed++;
                return 0;
        }
        log_debug("nft: the acks of a transaction were lost (%s), generation id %" PRIu32 " -> %" PRIu32 ": %s",
                  strerror(-r), before, after, after == before ? "not committed" : "unknown");
        return r;
}

/* Sends b and reads its answers into a, which the caller initialised. */
static int nft_batch_talk(Nft *nft, NftBatch *b, NftAcks *a) {
        int fd = mnl_socket_get_fd(nft->nl);
        size_t expected;
        uint32_t before = 0;
        bool have_before;
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

        /* Only an ack per message can lose a committed batch's last ack: otherwise a success
         * sends one ack, into a queue the drain emptied, and netlink queues an skb whenever the
         * queue is not over its limit; a failure's first error finds room the same way. So the id
         * (a round trip, costing about what a 1-element batch does) is read for
         * ack_all only. Read without the commit lock: a transaction in flight may or may not
         * count in it, which can only make nft_batch_outcome() say "unknown", never "committed"
         * wrongly. */
        have_before = b->ack_all && nft_genid_read(nft, &before) >= 0;

        k = nft_send(nft, b->buf, b->len, true);
        if (k < 0)
                return (int) k;
        nft->transactions++;
        if ((size_t) k != b->len)
                return -EIO;

        r = 0;
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
                                r = poll(&p, 1, nft->ack_timeout_ms);
                                if (r < 0 && errno != EINTR)
                                        return -errno;
                                if (r == 0) {
                                        r = -ETIMEDOUT;
                                        break;
                                }
                                r = 0;
                                continue;
                        }
                        return -errno;
                }
                r = nft_acks_feed(b, a, nft->rbuf, (size_t) k);
                if (r < 0)
                        return r;
        }

        nft_drain(nft, b, a);
        if (a->error != 0)
                return a->error;
        if (a->overrun || r == -ETIMEDOUT) {
                /* outcome unknown: no error was seen, but the ack that ends the batch was not
                 * either */
                r = r < 0 ? r : -ENOBUFS;
                return have_before ? nft_batch_outcome(nft, before, r) : r;
        }
        return 0;
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
