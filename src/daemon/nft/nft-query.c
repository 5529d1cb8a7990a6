/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Questions to the kernel on the persistent socket (does the table or a set exist, the
 * generation id, the namespace's cookie) and loading the nft file through libnftables. */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#include "nft-internal.h"
#include "nft.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct nft_ctx *, nft_ctx_free);

static int nft_table_cb(const struct nlmsghdr *nlh, void *data) {
        int *found = data;
        if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWTABLE || NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSET)
                *found = 1;
        return MNL_CB_OK;
}

/* Runs cb on the messages of buf that answer seq. Answers to earlier requests (one that timed
 * out and was answered late) carry older seqs and are skipped: libmnl would fail the whole
 * buffer with ESRCH. Returns MNL_CB_OK, MNL_CB_STOP once the answer is complete, or -errno. */
static int nft_query_feed(Nft *nft, size_t len, uint32_t seq, mnl_cb_t cb, void *data) {
        const struct nlmsghdr *nlh = (const void *) nft->rbuf;
        int left = (int) nft_nlmsg_span(nft->rbuf, len);

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                int r;

                if (nlh->nlmsg_seq != seq)
                        continue;
                r = mnl_cb_run(nlh, nlh->nlmsg_len, seq, nft->portid, cb, data);
                if (r < 0)
                        return nft_cb_errno(errno);
                if (r == MNL_CB_STOP)
                        return MNL_CB_STOP;
        }
        return MNL_CB_OK;
}

/* Sends one request (its seq and flags set here) on the persistent socket and runs cb on every
 * answer until the ack. Returns 0, the kernel's error (negative errno), or -ETIMEDOUT when the
 * answer did not come within query_timeout_ms; a late one is skipped by the next query. */
static int nft_query(Nft *nft, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        int fd = mnl_socket_get_fd(nft->nl);
        usec_t deadline;
        uint32_t seq;
        ssize_t k;
        int r;

        nft_drain(nft, NULL, NULL);

        seq = nft_seq_next(&nft->seq);
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        k = nft_send(nft, nlh, nlh->nlmsg_len, false);
        if (k < 0)
                return (int) k;
        deadline = now_usec(CLOCK_MONOTONIC) + (usec_t) nft->query_timeout_ms * USEC_PER_MSEC;

        /* The object, then the ack; or only an error. */
        for (;;) {
                k = recv(fd, nft->rbuf, sizeof(nft->rbuf), MSG_DONTWAIT);
                if (k < 0) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        usec_t now;

                        /* ENOBUFS: an answer was dropped; ours may still be queued, and if
                         * not the deadline ends the wait */
                        if (errno == EINTR || errno == ENOBUFS)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        now = now_usec(CLOCK_MONOTONIC);
                        if (now >= deadline)
                                return -ETIMEDOUT;
                        r = poll(&p, 1, (int) ((deadline - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC));
                        if (r < 0 && errno != EINTR)
                                return -errno;
                        continue;
                }
                r = nft_query_feed(nft, (size_t) k, seq, cb, data);
                if (r < 0) {
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

int nft_genid_read(Nft *nft, uint32_t *ret) {
        uint8_t buf[64] __attribute__((aligned(8)));
        uint32_t id = 0;
        int r;

        r = nft_query(nft, nft_query_header(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC), nft_genid_cb, &id);
        if (r < 0)
                return r;
        *ret = id;
        return 0;
}

int nft_genid(Nft *nft, uint32_t *ret) {
        NftBatch b = {};
        uint32_t id = 0;
        int r;

        if (!nft)
                return -EINVAL;
        r = nft_genid_read(nft, &id);
        if (r < 0)
                return r;
        /* GETGEN reads the id without the commit lock: a transaction may have advanced it and
         * not yet sent its notifications. An empty transaction takes the lock (valid_genid()
         * in nfnetlink_rcv_batch()) inside sendmsg(), so once it returns that one is done;
         * it commits nothing and asks for no ack. */
        r = nft_batch_build(&b, &nft->seq, NFT_OP_ADD, NULL, 0);
        if (r >= 0) {
                ssize_t k = nft_send(nft, b.buf, b.len, true);
                if (k < 0)
                        r = (int) k;
        }
        nft_batch_done(&b);
        nft_drain(nft, NULL, NULL);
        if (r < 0)
                return r;
        *ret = id;
        return 0;
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
