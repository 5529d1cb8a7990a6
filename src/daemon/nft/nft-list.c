/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Listing the sets: a GETSETELEM dump per set, on a socket of its own, decoded back to
 * NftElem. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "log.h"
#include "nft-internal.h"
#include "nft.h"

typedef struct NftDumpCtx {
        const char *name;
        NftDumpFn fn;
        void *userdata;
        int r;                  /* first negative return of fn, or -ENOMEM */
        /* The keys seen in this try, as 64-bit hashes (0: empty slot). A kernel dump of a hash
         * set restarts its walk at every message and skips what it sent before: when the
         * rhashtable is resized meanwhile (a deferred worker, after a large add or delete), the
         * order changes and an element comes twice, with no NLM_F_DUMP_INTR (the generation did
         * not change). Seen on 6.18 as 20002 elements listed of 20001. A key seen twice makes
         * the try inconsistent, so it is listed again. */
        uint64_t *seen;
        size_t nseen, capseen;
        bool dup;
} NftDumpCtx;

static uint64_t nft_elem_hash(struct nftnl_set_elem *e) {
        const uint8_t *key, *end;
        uint32_t kl = 0, el = 0, flags = 0;
        uint64_t h = 14695981039346656037ULL;

        key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
        end = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &el);
        if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
                flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
        /* an interval's end element may carry the key of the next interval's start */
        h = (h ^ (flags & NFT_SET_ELEM_INTERVAL_END ? 1 : 2)) * 1099511628211ULL;
        for (uint32_t i = 0; key && i < kl; i++)
                h = (h ^ key[i]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
        for (uint32_t i = 0; end && i < el; i++)
                h = (h ^ end[i]) * 1099511628211ULL;
        h ^= h >> 29;
        return h ? h : 1;
}

/* 1 when h was new (now recorded), 0 when it was seen before, -ENOMEM. */
static int nft_dump_seen_add(NftDumpCtx *d, uint64_t h) {
        size_t mask;

        if ((d->nseen + 1) * 2 > d->capseen) {
                size_t nc = MAX(d->capseen * 2, (size_t) 1024);
                uint64_t *nv = calloc(nc, sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                for (size_t i = 0; i < d->capseen; i++)
                        if (d->seen[i]) {
                                size_t j = d->seen[i] & (nc - 1);
                                while (nv[j])
                                        j = (j + 1) & (nc - 1);
                                nv[j] = d->seen[i];
                        }
                free(d->seen);
                d->seen = nv;
                d->capseen = nc;
        }
        mask = d->capseen - 1;
        for (size_t j = h & mask;; j = (j + 1) & mask) {
                if (d->seen[j] == h)
                        return 0;
                if (!d->seen[j]) {
                        d->seen[j] = h;
                        d->nseen++;
                        return 1;
                }
        }
}

static void nft_dump_seen_reset(NftDumpCtx *d) {
        if (d->seen)
                memset(d->seen, 0, d->capseen * sizeof *d->seen);
        d->nseen = 0;
        d->dup = false;
}

/* One message of the dump: its elements are parsed and handed over, then freed, so that a dump
 * of a million elements never holds more than one message's worth in libnftnl objects. */
static int nft_list_cb(const struct nlmsghdr *nlh, void *data) {
        NftDumpCtx *d = data;
        struct nftnl_set *s;
        struct nftnl_set_elems_iter *it;
        int r = MNL_CB_OK;

        r = nft_setelem_msg_validate(nlh);
        if (r < 0) {
                d->r = r;
                return MNL_CB_ERROR;
        }
        r = MNL_CB_OK;
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
                int k = nft_dump_seen_add(d, nft_elem_hash(e));
                if (k == 0) {
                        d->dup = true;
                        r = MNL_CB_STOP;
                        break;
                }
                if (k > 0)
                        k = d->fn(d->name, e, d->userdata);
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

/* The comment in an element's user data: TLVs of a type byte, a length byte and the value.
 * Walked here, not with nftnl_udata_parse(): libnftnl 1.2.4 does not check that a TLV's length
 * fits in the buffer, and a 10-byte user data claiming a 95-byte comment was read past its end
 * (found by fuzz-nft-dump). A comment that does not fit, is empty or has no NUL is no comment. */
void nft_elem_comment(struct nftnl_set_elem *e, char *buf, size_t len) {
        const uint8_t *ud;
        uint32_t ul = 0;

        if (len == 0)
                return;
        buf[0] = 0;
        ud = nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &ul);
        for (uint32_t off = 0; ud && ul - off >= 2 && off < ul;) {
                uint8_t type = ud[off], l = ud[off + 1];

                if (l > ul - off - 2)
                        return;
                if (type == NFTNL_UDATA_SET_ELEM_COMMENT) {
                        if (l == 0 || l > len || ud[off + 2 + l - 1] != 0)
                                return;
                        memcpy(buf, ud + off + 2, l);
                        return;
                }
                off += 2u + l;
        }
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

int nft_list_decode(const char *set, struct nftnl_set_elem *e, NftListed *d) {
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

/* The bytes of buf's leading messages that lie wholly inside it. mnl_nlmsg_ok() compares
 * (int) nlmsg_len with what is left, so a header claiming 2 GiB or more passes it, and
 * mnl_nlmsg_next() steps 4 GiB away (found by fuzz-nft-dump): the walks of this file and
 * mnl_cb_run() get only this span. A message cut short is left out, as libmnl leaves it. */
size_t nft_nlmsg_span(const void *buf, size_t len) {
        size_t off = 0;

        len = MIN(len, (size_t) INT32_MAX);
        while (len - off >= sizeof(struct nlmsghdr)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) ((const uint8_t *) buf + off);

                if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
                        break;
                off += MIN((size_t) NLMSG_ALIGN(nlh->nlmsg_len), len - off);
        }
        return off;
}

bool nft_dump_consistent(NftDumpGen *g, const void *buf, size_t len) {
        const struct nlmsghdr *nlh = buf;
        int left = (int) nft_nlmsg_span(buf, len);

        for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
                const struct nfgenmsg *nfg;
                uint16_t gen;

                if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
                        return false;
                /* NLMSG_DONE and NLMSG_ERROR carry no nfgenmsg */
                if (nlh->nlmsg_type < NLMSG_MIN_TYPE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*nfg)))
                        continue;
                nfg = mnl_nlmsg_get_payload(nlh);
                gen = ntohs(nfg->res_id);
                if (!g->have) {
                        g->have = true;
                        g->gen = gen;
                } else if (gen != g->gen)
                        return false;
        }
        return true;
}

/* What nft_dump_feed() made of one received buffer. */
enum {
        NFT_DUMP_MORE,          /* the dump goes on in the next buffer */
        NFT_DUMP_END,           /* NLMSG_DONE (or an ack) ended it */
        NFT_DUMP_INTERRUPTED,   /* inconsistent (nft_dump_consistent(), or a key seen twice): fn
                                 * saw nothing of buf, or some of it before the key came again */
};

/* One buffer of a dump as recvfrom() gave it: checked for consistency before fn sees any element
 * of it, then each message run through nft_list_cb(). Returns NFT_DUMP_* or a negative errno:
 * fn's own, or the kernel's (NLMSG_ERROR, a foreign seq or portid). */
static int nft_dump_feed(NftDumpCtx *d, NftDumpGen *g, const void *buf, size_t len, uint32_t seq, uint32_t portid) {
        int r;

        len = nft_nlmsg_span(buf, len);
        if (!nft_dump_consistent(g, buf, len))
                return NFT_DUMP_INTERRUPTED;
        r = mnl_cb_run(buf, len, seq, portid, nft_list_cb, d);
        if (r < 0)
                return d->r < 0 ? d->r : nft_cb_errno(errno);
        if (d->dup)
                return NFT_DUMP_INTERRUPTED;
        return r == MNL_CB_STOP ? NFT_DUMP_END : NFT_DUMP_MORE;
}

/* Tests only (nft_test_dump_fault()): the process's dumps, not one socket's. */
static bool dump_test_drop;
static int dump_test_timeout_ms;

void nft_test_dump_fault(bool drop, int timeout_ms) {
        dump_test_drop = drop;
        dump_test_timeout_ms = timeout_ms;
}

/* One try of nft_dump_set(): 1 when the dump was consistent to its end, 0 when it was not (the
 * rest of it is not read: the socket is closed), or a negative errno. */
static int nft_dump_set_once(const char *name, NftDumpCtx *d, uint8_t *buf, size_t bufsize) {
        struct mnl_socket *nl;
        struct nftnl_set *s;
        struct nlmsghdr *nlh;
        uint32_t seq = (uint32_t) time(NULL) | 1, portid;
        int ms = dump_test_timeout_ms > 0 ? dump_test_timeout_ms : NFT_DUMP_MSG_TIMEOUT_MS;
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        NftDumpGen g = {};
        int r;

        nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl)
                return -errno;
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
            setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
                r = -errno;
                goto out;
        }
        portid = mnl_socket_get_portid(nl);
        s = nftnl_set_alloc();
        if (!s) {
                r = -ENOMEM;
                goto out;
        }
        nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE);
        nftnl_set_set_str(s, NFTNL_SET_NAME, name);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        if (!dump_test_drop && mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
                r = -errno;
                goto out;
        }
        for (;;) {
                ssize_t k = mnl_socket_recvfrom(nl, buf, bufsize);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
                        goto out;
                }
                r = nft_dump_feed(d, &g, buf, (size_t) k, seq, portid);
                if (r == NFT_DUMP_INTERRUPTED) {
                        r = 0;
                        goto out;
                }
                if (r < 0)
                        goto out;
                if (r == NFT_DUMP_END)
                        break;
        }
        r = 1;
out:
        mnl_socket_close(nl);
        return r;
}

/* Before try i (1 ..): 5 ms, doubling, at most 200 ms; 515 ms in all over NFT_DUMP_TRIES 8. A
 * kernel hash set that starts small doubles its table in a deferred worker, one step per run:
 * after a large add it is resized several times over a few milliseconds, and a try listed
 * meanwhile sees keys twice (seen on 6.18: four tries in a row without a pause, 3 runs of 6
 * after adding 20000 elements; with these pauses the third try was consistent in each of 14). */
static void nft_dump_backoff(unsigned i) {
        long ms = MIN(5L << MIN(i - 1, 6u), 200L);
        struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

int nft_dump_set(const char *name, NftDumpFn fn, NftDumpRestartFn restart, void *userdata) {
        _cleanup_free_ uint8_t *buf = NULL;
        NftDumpCtx d = { .name = name, .fn = fn, .userdata = userdata };
        int r;

        buf = malloc(MNL_SOCKET_BUFFER_SIZE * 4);
        if (!buf)
                return -ENOMEM;
        for (unsigned i = 0; i < NFT_DUMP_TRIES; i++) {
                if (i > 0) {
                        if (!restart)
                                break;
                        restart(name, userdata);
                        log_debug("nft: set %s %s while it was listed, listing it again", name,
                                  d.dup ? "was resized" : "changed");
                        nft_dump_backoff(i);
                }
                nft_dump_seen_reset(&d);
                r = nft_dump_set_once(name, &d, buf, MNL_SOCKET_BUFFER_SIZE * 4);
                if (r != 0) {
                        free(d.seen);
                        return r < 0 ? r : 0;
                }
        }
        free(d.seen);
        return -EAGAIN;
}

typedef struct NftListAcc {
        NftListed *v;
        size_t n, cap;
        uint8_t end[16];        /* set v6: the end element seen last, for its start */
        bool have_end;
        size_t set_start;       /* v[set_start ..] came from the set being dumped */
} NftListAcc;

static void nft_list_restart(const char *set, void *userdata) {
        NftListAcc *a = userdata;

        a->n = a->set_start;
        a->have_end = false;
}

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

/* Comment pointers last: the array moved while it grew. */
static void nft_list_acc_finish(NftListAcc *a) {
        for (size_t i = 0; i < a->n; i++)
                a->v[i].elem.comment = a->v[i].comment[0] ? a->v[i].comment : NULL;
}

int nft_list_decode_dump(const char *set, const void *buf, size_t len, uint32_t seq, uint32_t portid,
                         NftListed **ret) {
        NftListAcc a = {};
        NftDumpCtx d = { .name = set, .fn = nft_list_add, .userdata = &a };
        NftDumpGen g = {};
        int r;

        r = nft_dump_feed(&d, &g, buf, len, seq, portid);
        free(d.seen);
        if (r < 0 || r == NFT_DUMP_INTERRUPTED) {
                free(a.v);
                return r < 0 ? r : -EAGAIN;
        }
        nft_list_acc_finish(&a);
        *ret = a.v;
        return (int) MIN(a.n, (size_t) INT32_MAX);
}

int nft_list(Nft *nft, NftListed **ret) {
        NftListAcc a = {};
        int r;

        for (size_t i = 0; i < ELEMENTSOF(nft_sets); i++) {
                a.set_start = a.n;
                a.have_end = false;
                r = nft_dump_set(nft_sets[i], nft_list_add, nft_list_restart, &a);
                if (r < 0) {
                        free(a.v);
                        return r;
                }
        }
        nft_list_acc_finish(&a);
        *ret = a.v;
        return (int) MIN(a.n, (size_t) INT32_MAX);
}
