/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The NEWSETELEM/DELSETELEM batch of nft-batch.c, parsed back with libnftnl, and the routing of
 * synthetic kernel acks to elements. No socket, no root. */

#include <arpa/inet.h>
#include <endian.h>
#include <netinet/in.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h"
#include "nft.h"

static NftElem mk(int family, const char *addr, uint8_t plen, uint8_t proto, uint16_t port,
                  uint64_t timeout_ms, const char *comment) {
        NftElem e = { .addr.family = (uint8_t) family, .prefixlen = plen, .proto = proto, .port = port,
                      .timeout_ms = timeout_ms, .comment = comment };
        assert_int_equal(inet_pton(family, addr, e.addr.bytes), 1);
        return e;
}

/* One parsed element message. */
typedef struct Parsed {
        uint16_t type;
        uint16_t flags;
        uint32_t seq;
        char set[32];
        int n;
        struct {
                uint8_t key[64];
                uint32_t key_len;
                uint8_t key_end[64];
                uint32_t key_end_len;
                uint32_t flags;
                uint64_t timeout;
                bool has_timeout;
                char comment[NFT_COMMENT_MAX + 1];
        } e[2];
} Parsed;

static int comment_cb(const struct nftnl_udata *attr, void *data) {
        char *c = data;
        assert_int_equal(nftnl_udata_type(attr), NFTNL_UDATA_SET_ELEM_COMMENT);
        assert_true(nftnl_udata_len(attr) <= NFT_COMMENT_MAX + 1);
        memcpy(c, nftnl_udata_get(attr), nftnl_udata_len(attr));
        assert_int_equal(c[nftnl_udata_len(attr) - 1], 0);
        return 0;
}

/* Splits the batch: checks BEGIN/END framing and parses every element message with libnftnl. */
static size_t parse_batch(const NftBatch *b, Parsed *out, size_t max) {
        const struct nlmsghdr *nlh = (const void *) b->buf;
        int left = (int) b->len;
        size_t k = 0, i = 0;
        uint32_t prev = 0;

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), i++) {
                const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);

                assert_int_not_equal(nlh->nlmsg_seq, 0);
                if (i > 0)
                        assert_int_equal(nlh->nlmsg_seq, prev + 1);
                prev = nlh->nlmsg_seq;

                if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN || nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
                        assert_int_equal(ntohs(nfg->res_id), NFNL_SUBSYS_NFTABLES);
                        assert_int_equal(nlh->nlmsg_type, i == 0 ? NFNL_MSG_BATCH_BEGIN : NFNL_MSG_BATCH_END);
                        if (i == 0)
                                assert_int_equal(nlh->nlmsg_seq, b->seq_begin);
                        else
                                assert_int_equal(nlh->nlmsg_seq, b->seq_end);
                        continue;
                }

                assert_true(k < max);
                Parsed *p = &out[k];
                memset(p, 0, sizeof(*p));
                assert_int_equal(nlh->nlmsg_seq, b->seq_first + k);
                p->type = NFNL_MSG_TYPE(nlh->nlmsg_type);
                assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_NFTABLES);
                assert_int_equal(nfg->nfgen_family, NFPROTO_INET);
                p->flags = nlh->nlmsg_flags;
                p->seq = nlh->nlmsg_seq;

                struct nftnl_set *s = nftnl_set_alloc();
                assert_non_null(s);
                assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
                assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), NFT_TABLE);
                snprintf(p->set, sizeof(p->set), "%s", nftnl_set_get_str(s, NFTNL_SET_NAME));

                struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
                for (struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
                        const void *d;
                        uint32_t l;
                        assert_true(p->n < 2);
                        d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &l);
                        assert_non_null(d);
                        memcpy(p->e[p->n].key, d, l);
                        p->e[p->n].key_len = l;
                        d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &l);
                        if (d) {
                                memcpy(p->e[p->n].key_end, d, l);
                                p->e[p->n].key_end_len = l;
                        }
                        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                                p->e[p->n].flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
                        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT)) {
                                p->e[p->n].timeout = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
                                p->e[p->n].has_timeout = true;
                        }
                        d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &l);
                        if (d)
                                assert_int_equal(nftnl_udata_parse(d, l, comment_cb, p->e[p->n].comment), 0);
                        p->n++;
                }
                nftnl_set_elems_iter_destroy(it);
                nftnl_set_free(s);
                k++;
        }
        assert_int_equal(left, 0);
        assert_int_equal(k, b->n_msgs);
        return k;
}

static void test_add(void **state) {
        NftElem elems[] = {
                mk(AF_INET, "192.0.2.1", 0, IPPROTO_TCP, 22, 3600000, "sshd"),
                mk(AF_INET6, "2001:db8::1", 128, 0, 0, 86400000, "recidive"),
                mk(AF_INET, "198.51.100.7", 0, 0, 0, 0, NULL),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 64, IPPROTO_UDP, 443, 1000, "nginx"),
        };
        /* the interval sets: what a /64 or /128 of the layout before the hash sets is */
        elems[1].interval_set = true;
        elems[3].interval_set = true;
        static const uint8_t k0[] = { 192, 0, 2, 1, 6, 0, 0, 0, 0, 22, 0, 0 };
        static const uint8_t k1[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
        static const uint8_t k1_end[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };
        static const uint8_t k2[] = { 198, 51, 100, 7 };
        static const uint8_t k3[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
                                      17, 0, 0, 0, 0x01, 0xbb, 0, 0 };
        static const uint8_t k3_end[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          17, 0, 0, 0, 0x01, 0xbb, 0, 0 };
        NftBatch b = {};
        Parsed p[8];
        uint32_t seq = 41;

        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_ADD, elems, ELEMENTSOF(elems)), 0);
        assert_int_equal(b.seq_begin, 41);
        assert_int_equal(b.seq_first, 42);
        assert_int_equal(b.seq_end, 46);
        assert_int_equal(seq, 47);
        assert_int_equal(parse_batch(&b, p, ELEMENTSOF(p)), 4);

        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(p[i].type, NFT_MSG_NEWSETELEM);
                assert_true(p[i].flags & NLM_F_CREATE);
                assert_false(p[i].flags & NLM_F_EXCL);
                assert_int_equal(b.msg_elem[i], i);
        }
        /* ack only on the last message by default */
        assert_false(p[0].flags & NLM_F_ACK);
        assert_true(p[3].flags & NLM_F_ACK);

        assert_string_equal(p[0].set, NFT_SET_V4_PORT);
        assert_int_equal(p[0].n, 1);
        assert_int_equal(p[0].e[0].key_len, sizeof(k0));
        assert_memory_equal(p[0].e[0].key, k0, sizeof(k0));
        assert_int_equal(p[0].e[0].key_end_len, 0);
        assert_true(p[0].e[0].has_timeout);
        assert_int_equal(p[0].e[0].timeout, 3600000);
        assert_string_equal(p[0].e[0].comment, "sshd");

        /* rbtree interval set: start with timeout and comment, exclusive end flagged */
        assert_string_equal(p[1].set, NFT_SET_V6);
        assert_int_equal(p[1].n, 2);
        assert_int_equal(p[1].e[0].key_len, 16);
        assert_memory_equal(p[1].e[0].key, k1, 16);
        assert_int_equal(p[1].e[0].flags, 0);
        assert_int_equal(p[1].e[0].timeout, 86400000);
        assert_string_equal(p[1].e[0].comment, "recidive");
        assert_memory_equal(p[1].e[1].key, k1_end, 16);
        assert_int_equal(p[1].e[1].flags, NFT_SET_ELEM_INTERVAL_END);
        assert_false(p[1].e[1].has_timeout);
        assert_string_equal(p[1].e[1].comment, "");

        assert_string_equal(p[2].set, NFT_SET_V4);
        assert_int_equal(p[2].e[0].key_len, 4);
        assert_memory_equal(p[2].e[0].key, k2, 4);
        assert_false(p[2].e[0].has_timeout);
        assert_string_equal(p[2].e[0].comment, "");

        /* concatenated interval set: KEY and KEY_END, masked to the /64 */
        assert_string_equal(p[3].set, NFT_SET_V6_PORT);
        assert_int_equal(p[3].n, 1);
        assert_int_equal(p[3].e[0].key_len, 24);
        assert_memory_equal(p[3].e[0].key, k3, 24);
        assert_int_equal(p[3].e[0].key_end_len, 24);
        assert_memory_equal(p[3].e[0].key_end, k3_end, 24);
        assert_int_equal(p[3].e[0].timeout, 1000);

        nft_batch_done(&b);
}

static void test_v6_port_single(void **state) {
        NftElem e = mk(AF_INET6, "2001:db8::1", 128, IPPROTO_TCP, 22, 5000, "sshd");
        NftBatch b = {};
        Parsed p[1];
        uint32_t seq = 1;

        e.interval_set = true;
        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_ADD, &e, 1), 0);
        assert_int_equal(parse_batch(&b, p, 1), 1);
        assert_string_equal(p[0].set, NFT_SET_V6_PORT);
        assert_int_equal(p[0].e[0].key_end_len, 24);
        assert_memory_equal(p[0].e[0].key, p[0].e[0].key_end, 24);
        nft_batch_done(&b);
}

/* IPv6 /128 and /64 go to the hash sets: one key, the masked address; other prefixes to the
 * interval sets. */
static void test_v6_hash_sets(void **state) {
        NftElem elems[] = {
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 64, IPPROTO_TCP, 22, 5000, "sshd"),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 128, IPPROTO_TCP, 22, 5000, "sshd"),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 64, 0, 0, 5000, "recidive"),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 0, 0, 0, 5000, "recidive"),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 48, IPPROTO_TCP, 22, 5000, "sshd"),
                mk(AF_INET6, "2001:db8:1:2:3:4:5:6", 56, 0, 0, 5000, "recidive"),
        };
        static const char *const sets[] = { NFT_SET_V6_PORT_64, NFT_SET_V6_PORT_128, NFT_SET_V6_64, NFT_SET_V6_128,
                                            NFT_SET_V6_PORT, NFT_SET_V6 };
        static const uint8_t k0[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0,
                                      6, 0, 0, 0, 0, 22, 0, 0 };
        static const uint8_t k3[] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6 };
        NftBatch b = {};
        Parsed p[ELEMENTSOF(elems)];
        uint32_t seq = 1;

        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_ADD, elems, ELEMENTSOF(elems)), 0);
        assert_int_equal(parse_batch(&b, p, ELEMENTSOF(p)), ELEMENTSOF(elems));
        for (size_t i = 0; i < ELEMENTSOF(elems); i++) {
                assert_string_equal(p[i].set, sets[i]);
                assert_string_equal(nft_elem_set(&elems[i]), sets[i]);
        }
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(p[i].n, 1);
                assert_int_equal(p[i].e[0].key_end_len, 0);
                assert_int_equal(p[i].e[0].flags, 0);
                assert_int_equal(p[i].e[0].timeout, 5000);
        }
        assert_int_equal(p[0].e[0].key_len, 24);
        assert_memory_equal(p[0].e[0].key, k0, 24);
        assert_int_equal(p[3].e[0].key_len, 16);
        assert_memory_equal(p[3].e[0].key, k3, 16);
        assert_int_equal(p[4].e[0].key_end_len, 24);
        assert_int_equal(p[5].n, 2);
        nft_batch_done(&b);
}

static void test_del_replace(void **state) {
        NftElem elems[] = {
                mk(AF_INET, "192.0.2.1", 0, IPPROTO_TCP, 22, 3600000, "sshd"),
                mk(AF_INET6, "2001:db8::1", 0, 0, 0, 60000, "x"),
        };
        NftBatch b = {};
        Parsed p[8];
        uint32_t seq = 100;

        elems[1].interval_set = true;

        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_DEL, elems, 2), 0);
        assert_int_equal(parse_batch(&b, p, ELEMENTSOF(p)), 2);
        assert_int_equal(p[0].type, NFT_MSG_DELSETELEM);
        assert_false(p[0].flags & NLM_F_CREATE);
        assert_false(p[0].e[0].has_timeout);                     /* a delete names the key only */
        assert_string_equal(p[0].e[0].comment, "");
        assert_int_equal(p[1].n, 2);                             /* prefixlen 0 = one address */
        assert_int_equal(p[1].e[1].flags, NFT_SET_ELEM_INTERVAL_END);

        /* DESTROY: the same key-only message as a delete, of its own type */
        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_DESTROY, elems, 2), 0);
        assert_int_equal(parse_batch(&b, p, ELEMENTSOF(p)), 2);
        assert_int_equal(p[0].type, NFT_DESTROYSETELEM);
        assert_int_equal(p[1].type, NFT_DESTROYSETELEM);
        assert_false(p[0].flags & NLM_F_CREATE);
        assert_false(p[0].e[0].has_timeout);
        assert_string_equal(p[0].e[0].comment, "");
        assert_int_equal(p[1].n, 2);
        assert_int_equal(p[1].e[1].flags, NFT_SET_ELEM_INTERVAL_END);
        assert_int_equal(b.msg_elem[1], 1);

        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_REPLACE, elems, 2), 0);
        assert_int_equal(parse_batch(&b, p, ELEMENTSOF(p)), 6);
        static const uint16_t types[] = { NFT_MSG_NEWSETELEM, NFT_MSG_DELSETELEM, NFT_MSG_NEWSETELEM };
        for (size_t i = 0; i < 6; i++) {
                assert_int_equal(p[i].type, types[i % 3]);
                assert_int_equal(b.msg_elem[i], i / 3);
        }
        assert_int_equal(p[5].e[0].timeout, 60000);
        nft_batch_done(&b);
}

static void test_invalid(void **state) {
        NftElem e = mk(AF_INET, "192.0.2.1", 0, IPPROTO_TCP, 22, 0, NULL);
        char longc[NFT_COMMENT_MAX + 2];
        NftKey k;

        assert_int_equal(nft_elem_key(&e, &k), 0);
        memset(longc, 'a', sizeof(longc) - 1);
        longc[sizeof(longc) - 1] = 0;
        e.comment = longc;
        assert_int_equal(nft_elem_key(&e, &k), -EINVAL);
        longc[NFT_COMMENT_MAX] = 0;
        assert_int_equal(nft_elem_key(&e, &k), 0);
        e.proto = 0;
        assert_int_equal(nft_elem_key(&e, &k), -EINVAL);
        e = mk(AF_INET6, "2001:db8::1", 129, 0, 0, 0, NULL);
        assert_int_equal(nft_elem_key(&e, &k), -EINVAL);
        e.addr.family = AF_UNIX;
        e.prefixlen = 128;
        assert_int_equal(nft_elem_key(&e, &k), -EINVAL);

        /* the last address: the interval has no end element */
        e = mk(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, 0, 0, 0, NULL);
        e.interval_set = true;
        assert_int_equal(nft_elem_key(&e, &k), 0);
        assert_int_equal(k.kind, NFT_KEY_INTERVAL_OPEN);
        e = mk(AF_INET6, "2001:db8::1:ffff", 112, 0, 0, 0, NULL);
        assert_int_equal(nft_elem_key(&e, &k), 0);
        assert_int_equal(k.kind, NFT_KEY_INTERVAL);
        assert_memory_equal(k.end + 12, "\x00\x02\x00\x00", 4);
}

static void test_seq_wrap(void **state) {
        NftElem e[3] = {
                mk(AF_INET, "192.0.2.1", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.2", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.3", 0, 0, 0, 0, NULL),
        };
        NftBatch b = {};
        Parsed p[3];
        uint32_t seq = UINT32_MAX - 1;

        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_ADD, e, 3), 0);
        assert_int_equal(b.seq_begin, 1);
        assert_int_equal(parse_batch(&b, p, 3), 3);
        nft_batch_done(&b);
}

/* A kernel answer: NLMSG_ERROR for seq with error (0 = ack). */
static size_t put_err(uint8_t *buf, uint32_t seq, int error) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nlmsgerr *err;
        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_seq = seq;
        err = mnl_nlmsg_put_extra_header(nlh, sizeof(*err));
        err->error = error;
        err->msg.nlmsg_seq = seq;
        /* an extack message attribute, as the kernel adds: must be skipped */
        mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Could not process rule");
        return nlh->nlmsg_len;
}

static void test_acks(void **state) {
        NftElem e[4] = {
                mk(AF_INET, "192.0.2.1", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.2", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.3", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.4", 0, 0, 0, 0, NULL),
        };
        uint8_t buf[4096];
        NftBatch b = {};
        NftAcks a;
        uint32_t seq = 10;
        size_t len;

        /* success: the ack of the last message ends it */
        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_DEL, e, 4), 0);
        nft_acks_init(&a);
        len = put_err(buf, b.seq_first + 3, 0);
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_true(a.done);
        assert_int_equal(a.error, 0);

        /* errors on messages 1 and 2, then the last ack, in one buffer; a stale ack ignored */
        nft_acks_init(&a);
        len = put_err(buf, b.seq_first - 100, -EEXIST);
        len += put_err(buf + len, b.seq_first + 1, -ENOENT);
        len += put_err(buf + len, b.seq_first + 2, -ENOENT);
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_false(a.done);
        len = put_err(buf, b.seq_first + 3, 0);
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_true(a.done);
        assert_int_equal(a.error, -ENOENT);
        assert_int_equal(a.error_msg, 1);
        assert_int_equal(b.msg_elem[a.error_msg], 1);
        assert_int_equal(a.n_acked, 3);

        /* every refused message is recorded when asked, the first one still named */
        {
                int errors[4] = {};
                nft_acks_init(&a);
                a.errors = errors;
                len = put_err(buf, b.seq_first + 0, -ENOENT);
                len += put_err(buf + len, b.seq_first + 2, -EPERM);
                len += put_err(buf + len, b.seq_first + 3, -ENOENT);
                assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
                assert_true(a.done);
                assert_int_equal(a.error, -ENOENT);
                assert_int_equal(a.error_msg, 0);
                assert_int_equal(errors[0], -ENOENT);
                assert_int_equal(errors[1], 0);
                assert_int_equal(errors[2], -EPERM);
                assert_int_equal(errors[3], -ENOENT);
        }

        /* commit failure points at BATCH_BEGIN: no element to blame */
        nft_acks_init(&a);
        len = put_err(buf, b.seq_begin, -ENOMEM);
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_true(a.begin_error);
        assert_int_equal(a.error, -ENOMEM);
        assert_int_equal(a.error_msg, SIZE_MAX);

        /* REPLACE: message 4 is the delete of element 1 */
        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_REPLACE, e, 4), 0);
        nft_acks_init(&a);
        len = put_err(buf, b.seq_first + 4, -ENOENT);
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_int_equal(b.msg_elem[a.error_msg], 1);

        /* truncated */
        assert_int_equal(nft_acks_feed(&b, &a, buf, 10), 0);
        nft_batch_done(&b);
}

/* Appends one dump message: a NEWSETELEM part stamped with generation gen, or (type 0) the
 * NLMSG_DONE that ends the dump. */
static size_t put_dump_msg(uint8_t *buf, size_t off, uint16_t type, uint16_t flags, uint16_t gen) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);

        if (type == 0) {
                nlh->nlmsg_type = NLMSG_DONE;
                *(int *) mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = 0;
        } else {
                struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
                nlh->nlmsg_type = type;
                nfg->nfgen_family = NFPROTO_INET;
                nfg->res_id = htons(gen);
        }
        nlh->nlmsg_flags = NLM_F_MULTI | flags;
        nlh->nlmsg_seq = 5;
        return off + NLMSG_ALIGN(nlh->nlmsg_len);
}

static void test_dump_consistent(void **state) {
        uint8_t buf[1024] __attribute__((aligned(8)));
        const uint16_t elem = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM;
        NftDumpGen g = {};
        size_t len;
        (void) state;

        /* one generation across buffers, then the end */
        len = put_dump_msg(buf, 0, elem, 0, 7);
        len = put_dump_msg(buf, len, elem, 0, 7);
        assert_true(nft_dump_consistent(&g, buf, len));
        assert_true(g.have);
        assert_int_equal(g.gen, 7);
        len = put_dump_msg(buf, 0, elem, 0, 7);
        len = put_dump_msg(buf, len, 0, 0, 0);
        assert_true(nft_dump_consistent(&g, buf, len));

        /* a later part built in the next generation */
        g = (NftDumpGen) {};
        len = put_dump_msg(buf, 0, elem, 0, 65535);
        assert_true(nft_dump_consistent(&g, buf, len));
        len = put_dump_msg(buf, 0, elem, 0, 0);
        assert_false(nft_dump_consistent(&g, buf, len));

        /* the kernel's own mark, on a part or on the end alone */
        g = (NftDumpGen) {};
        len = put_dump_msg(buf, 0, elem, NLM_F_DUMP_INTR, 3);
        assert_false(nft_dump_consistent(&g, buf, len));
        g = (NftDumpGen) {};
        len = put_dump_msg(buf, 0, elem, 0, 3);
        len = put_dump_msg(buf, len, 0, NLM_F_DUMP_INTR, 0);
        assert_false(nft_dump_consistent(&g, buf, len));

        /* an end without parts (an empty set) is consistent */
        g = (NftDumpGen) {};
        len = put_dump_msg(buf, 0, 0, 0, 0);
        assert_true(nft_dump_consistent(&g, buf, len));
        assert_false(g.have);
}

/* A header claiming 2 GiB or more: mnl_nlmsg_ok() takes its length for a negative int and passes
 * it, and the walk stepped 4 GiB past the buffer (found by fuzz-nft-dump). A message that does not
 * fit in what was received is not read, as libmnl leaves a short one. */
static void test_dump_huge_len(void **state) {
        uint8_t buf[1024] __attribute__((aligned(8)));
        const uint16_t elem = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM;
        NftDumpGen g = {};
        NftListed *v = NULL;
        struct nlmsghdr *bad;
        size_t len;
        (void) state;

        len = put_dump_msg(buf, 0, elem, 0, 7);
        bad = (struct nlmsghdr *) (buf + len);
        len = put_dump_msg(buf, len, elem, NLM_F_DUMP_INTR, 8);
        bad->nlmsg_len = 0x80000000U | bad->nlmsg_len;
        assert_true(nft_dump_consistent(&g, buf, len));
        assert_int_equal(g.gen, 7);
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), 0);
        assert_null(v);

        /* what follows it is not read either */
        bad->nlmsg_len = 0xfffffff0U;
        bad->nlmsg_flags = 0;
        g = (NftDumpGen) {};
        assert_true(nft_dump_consistent(&g, buf, len));
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), 0);
}

/* A NEWSETELEM part of set NFT_SET_V4 with one element per address of a (4 bytes each); with
 * counter_len, each element carries a counter expression whose NFTA_COUNTER_BYTES has that
 * many bytes (8 is right). Then the NLMSG_DONE. */
static size_t put_elems_msg(uint8_t *buf, const uint8_t (*a)[4], size_t n, size_t counter_len, const char *expr) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
        struct nlattr *list;
        uint8_t zero[16] = {};

        nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWSETELEM;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nfg->nfgen_family = NFPROTO_INET;
        nfg->res_id = htons(7);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, NFT_SET_V4);
        list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
        for (size_t i = 0; i < n; i++) {
                struct nlattr *e = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM), *k, *x, *d;
                k = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_KEY);
                mnl_attr_put(nlh, NFTA_DATA_VALUE, 4, a[i]);
                mnl_attr_nest_end(nlh, k);
                mnl_attr_put_u64(nlh, NFTA_SET_ELEM_TIMEOUT, htobe64(600000));
                if (counter_len) {
                        x = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_EXPR);
                        mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, expr);
                        d = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
                        mnl_attr_put(nlh, NFTA_COUNTER_BYTES, counter_len, zero);
                        mnl_attr_put(nlh, NFTA_COUNTER_PACKETS, 8, zero);
                        mnl_attr_nest_end(nlh, d);
                        mnl_attr_nest_end(nlh, x);
                }
                mnl_attr_nest_end(nlh, e);
        }
        mnl_attr_nest_end(nlh, list);
        return put_dump_msg(buf, NLMSG_ALIGN(nlh->nlmsg_len), 0, 0, 0);
}

/* libnftnl 1.2.4 exits ("nf_tables kernel ABI is broken") on a counter attribute of the wrong
 * size (found by fuzz-nft-dump): nft-validate.c refuses the message first. Expressions other
 * than counter, which our sets never hold, are refused too. */
static void test_dump_bad_attr(void **state) {
        static const uint8_t a[2][4] = { { 192, 0, 2, 1 }, { 192, 0, 2, 2 } };
        uint8_t buf[2048] __attribute__((aligned(8)));
        NftListed *v = NULL;
        size_t len;
        (void) state;

        len = put_elems_msg(buf, a, 2, 8, "counter");
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), 2);
        assert_non_null(v);
        free(v);
        v = NULL;
        len = put_elems_msg(buf, a, 2, 4, "counter");
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -EBADMSG);
        assert_null(v);
        len = put_elems_msg(buf, a, 2, 8, "quota");
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -EBADMSG);
        len = put_elems_msg(buf, a, 2, 0, NULL);
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), 2);
        free(v);
}

/* A key listed twice in one dump (a kernel rhashtable resized during the walk) makes the dump
 * inconsistent: it is listed again rather than decoded with a ban counted twice. */
static void test_dump_duplicate(void **state) {
        static const uint8_t a[3][4] = { { 192, 0, 2, 1 }, { 192, 0, 2, 2 }, { 192, 0, 2, 1 } };
        uint8_t buf[2048] __attribute__((aligned(8)));
        NftListed *v = NULL;
        size_t len;
        (void) state;

        len = put_elems_msg(buf, a, 3, 8, "counter");
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -EAGAIN);
        assert_null(v);
        len = put_elems_msg(buf, a, 2, 8, "counter");
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), 2);
        free(v);
}

/* The comment TLV of an element's user data: a length past the buffer (a 95-byte comment
 * claimed in 10 bytes, found by fuzz-nft-dump; nftnl_udata_parse() did not check it) gives no
 * comment, and ASan in the sanitizer build sees no read past the 10 bytes. */
static void test_elem_comment_bounds(void **state) {
        static const uint8_t bad[10] = { NFTNL_UDATA_SET_ELEM_COMMENT, 95, 's', 's', 'h', 'd', 0, 0, 0, 0 };
        static const uint8_t good[9] = { 7, 1, 0, NFTNL_UDATA_SET_ELEM_COMMENT, 4, 's', 's', 'h', 0 };
        static const uint8_t nonul[7] = { NFTNL_UDATA_SET_ELEM_COMMENT, 5, 's', 's', 'h', 'd', 'x' };
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        char c[NFT_COMMENT_MAX + 1];
        (void) state;

        assert_non_null(e);
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, bad, sizeof bad);
        nft_elem_comment(e, c, sizeof c);
        assert_string_equal(c, "");
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, good, sizeof good);
        nft_elem_comment(e, c, sizeof c);
        assert_string_equal(c, "ssh");
        nftnl_set_elem_set(e, NFTNL_SET_ELEM_USERDATA, nonul, sizeof nonul);
        nft_elem_comment(e, c, sizeof c);
        assert_string_equal(c, "");
        nftnl_set_elem_free(e);
}

/* An NLMSG_ERROR whose code is no errno (positive 1796262495 or below -4095, found by
 * fuzz-nft-dump) is a malformed answer: -EBADMSG, never a huge negative "errno". */
static void test_dump_error_code(void **state) {
        uint8_t buf[1024] __attribute__((aligned(8)));
        NftListed *v = NULL;
        size_t len;
        (void) state;

        len = put_err(buf, 0, 0x6b0fc85f);
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -EBADMSG);
        len = put_err(buf, 0, -100000);
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -EBADMSG);
        len = put_err(buf, 0, -ENOENT);
        assert_int_equal(nft_list_decode_dump(NFT_SET_V4, buf, len, 0, 0, &v), -ENOENT);
        assert_null(v);
        assert_int_equal(nft_kernel_error(-100000), -EBADMSG);
        assert_int_equal(nft_kernel_error(-EPERM), -EPERM);
}

/* The same 2 GiB header in an ack buffer: nft_acks_feed() stops before it (before
 * nft_nlmsg_span() it took the claimed ack of the last message as the end of the batch and then
 * stepped 2 GiB past the buffer). */
static void test_acks_huge_len(void **state) {
        NftElem e[2] = {
                mk(AF_INET, "192.0.2.1", 0, 0, 0, 0, NULL),
                mk(AF_INET, "192.0.2.2", 0, 0, 0, 0, NULL),
        };
        uint8_t buf[4096];
        NftBatch b = {};
        NftAcks a;
        uint32_t seq = 10;
        struct nlmsghdr *bad;
        size_t len;

        (void) state;
        assert_int_equal(nft_batch_build(&b, &seq, NFT_OP_ADD, e, 2), 0);
        nft_acks_init(&a);
        len = put_err(buf, b.seq_first, -ENOENT);
        bad = (struct nlmsghdr *) (buf + len);
        len += put_err(buf + len, b.seq_first + 1, 0);
        bad->nlmsg_len = 0x80000000U | bad->nlmsg_len;
        assert_int_equal(nft_nlmsg_span(buf, len), (size_t) ((uint8_t *) bad - buf));
        assert_int_equal(nft_acks_feed(&b, &a, buf, len), 0);
        assert_false(a.done);
        nft_batch_done(&b);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add),
                cmocka_unit_test(test_v6_port_single),
                cmocka_unit_test(test_v6_hash_sets),
                cmocka_unit_test(test_del_replace),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_seq_wrap),
                cmocka_unit_test(test_acks),
                cmocka_unit_test(test_dump_consistent),
                cmocka_unit_test(test_dump_huge_len),
                cmocka_unit_test(test_acks_huge_len),
                cmocka_unit_test(test_dump_bad_attr),
                cmocka_unit_test(test_dump_duplicate),
                cmocka_unit_test(test_elem_comment_bounds),
                cmocka_unit_test(test_dump_error_code),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
