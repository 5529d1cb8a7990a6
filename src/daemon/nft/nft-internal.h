/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>

#include "nft.h"

/* Internals of the nft folder: what its files share (the persistent socket, the decoding of a
 * dumped element), and what its tests read (building the element batch and routing the kernel's
 * acknowledgements back to elements without a socket; raw dumps). No other library includes it. */

struct mnl_socket;
struct nlattr;

/* Largest key: ipv6_addr . inet_proto . inet_service, each 32-bit aligned: 16 + 4 + 4. */
#define NFT_KEY_MAX 24

/* Most element messages in one transaction (one sendmsg()); a larger nft_apply() call is split
 * into several transactions, each all-or-nothing. */
#define NFT_TXN_MAX_MSGS 131072U

/* NFT_MSG_DESTROYSETELEM (Linux 6.3) by number: the uapi headers of some systems are older
 * (Debian 12's are 6.1). nft-batch.c checks it against the headers that have it. */
#define NFT_DESTROYSETELEM 30

#define NFT_RECV_BUF_SIZE 16384U
/* Receive buffer charged per queued ack skb (truesize) when sizing SO_RCVBUF. */
#define NFT_ACK_TRUESIZE 1024U

/* Bounds on waiting for the kernel, so that a missing answer fails a call instead of wedging
 * the loop. The kernel answers queries and batches inside sendmsg(), so these only fire when an
 * answer was lost. A dump is bounded per message (the kernel builds the next one when the last
 * is read), not per dump: a million elements take seconds in all. */
#define NFT_QUERY_TIMEOUT_MS 5000
#define NFT_ACK_TIMEOUT_MS 10000
#define NFT_DUMP_MSG_TIMEOUT_MS 5000

/* Tries of one set's dump before an inconsistent listing gives -EAGAIN; pauses between them
 * (nft_dump_backoff() in nft-list.c) let a resize of the kernel's hash table end. */
#define NFT_DUMP_TRIES 8

/* Faults that tests inject on the persistent socket, so that an answer never comes or comes late. */
typedef enum NftFault {
        NFT_FAULT_NONE,
        NFT_FAULT_DROP_QUERY,   /* the next query is not sent; a copy is kept for NFT_FAULT_LATE_QUERY */
        NFT_FAULT_LATE_QUERY,   /* the kept query goes out, with its old seq, just before the next
                                 * one: its answer arrives as a late answer would */
        NFT_FAULT_DROP_BATCH,   /* the next batch is not sent */
        _NFT_FAULT_MAX,
        _NFT_FAULT_INVALID = -EINVAL,
} NftFault;

/* The persistent socket (nft.c). Its seqs are never 0. */
struct Nft {
        struct mnl_socket *nl;
        uint32_t portid;
        uint32_t seq;
        int sndbuf;             /* what we asked for, 0 = kernel default */
        int rcvbuf;
        bool ack_all;
        bool rcvbuf_pinned;     /* tests: nft_grow_buf() leaves the receive buffer as it is */
        bool destroy_fallback;  /* NFT_OP_DESTROY as DELSETELEM: the kernel lacks DESTROYSETELEM */
        uint64_t commits;       /* transactions of nft_apply() the kernel committed */
        uint64_t transactions;  /* transactions of nft_apply() sent */
        uint64_t unknown_committed; /* transactions whose acks were lost but the genid says committed */
        int query_timeout_ms;
        int ack_timeout_ms;
        NftFault fault;
        uint8_t *fault_kept;    /* NFT_FAULT_DROP_QUERY's request */
        size_t fault_kept_len;
        uint8_t rbuf[NFT_RECV_BUF_SIZE] __attribute__((aligned(8)));
};

static inline uint32_t nft_seq_next(uint32_t *seq) {
        if (*seq == 0)
                *seq = 1;
        return (*seq)++;
}

typedef struct NftBatch {
        uint8_t *buf;           /* BATCH_BEGIN, element messages, BATCH_END */
        size_t len;
        size_t cap;
        uint32_t seq_begin;     /* seq of BATCH_BEGIN: a kernel error on it means commit failure */
        uint32_t seq_first;     /* seq of element message 0; message k has seq_first + k */
        uint32_t seq_end;
        size_t n_msgs;
        size_t msg_cap;
        size_t *msg_elem;       /* message k -> index of its element in the caller's array */
        bool ack_all;           /* NLM_F_ACK on every message, else only on the last one */
} NftBatch;

/* Acknowledgement routing state of one batch. */
typedef struct NftAcks {
        size_t n_acked;         /* messages with an ack or an error */
        bool done;              /* the last message was answered: nothing more is expected */
        bool begin_error;       /* an error pointed at BATCH_BEGIN (commit failed / kernel OOM) */
        bool overrun;           /* answers were dropped (ENOBUFS): the errors seen may be incomplete */
        int error;              /* first error (negative errno), 0 if none */
        size_t error_msg;       /* message of the first error, or SIZE_MAX */
        int *errors;            /* NULL, or the batch's n_msgs entries, zeroed by the caller: the
                                 * kernel's error for each message it refused */
} NftAcks;

/* Route of one element: the set, the key and how an interval is expressed. */
typedef enum NftKeyKind {
        NFT_KEY_SINGLE,         /* one key (hash sets v4, v4_port) */
        NFT_KEY_RANGE,          /* key and NFTA_SET_ELEM_KEY_END (concatenated interval set v6_port) */
        NFT_KEY_INTERVAL,       /* start element + NFT_SET_ELEM_INTERVAL_END element (rbtree set v6);
                                 * end is exclusive; no end when the range reaches the last address */
        NFT_KEY_INTERVAL_OPEN,
} NftKeyKind;

typedef struct NftKey {
        const char *set;
        NftKeyKind kind;
        size_t len;
        uint8_t key[NFT_KEY_MAX];
        uint8_t end[NFT_KEY_MAX];
} NftKey;

/* Validates e and computes its set and key bytes. Returns 0 or -EINVAL. */
int nft_elem_key(const NftElem *e, NftKey *ret);

/* Appends BATCH_BEGIN, one message per element and op (REPLACE: add, delete, add; DESTROY: one
 * NFT_MSG_DESTROYSETELEM) and
 * BATCH_END to b, taking seqs from *seq (never 0). Elements must be valid (nft_elem_key()).
 * Returns 0 or -ENOMEM/-EINVAL. */
int nft_batch_build(NftBatch *b, uint32_t *seq, NftOp op, const NftElem *elems, size_t n);
void nft_batch_done(NftBatch *b);

/* Feeds len bytes received from the socket (one or more netlink messages). Messages with
 * foreign seqs are ignored. Returns 0 or -EBADMSG on a malformed buffer. */
int nft_acks_feed(const NftBatch *b, NftAcks *a, const void *buf, size_t len);
void nft_acks_init(NftAcks *a);

/* Transactions that nft_apply() sent, committed or not, since nft_new(): tests bound the cost of
 * a call with it. */
uint64_t nft_transactions(const Nft *nft);

/* Tuning for benchmarks: NLM_F_ACK on every message (default false: only on the last one;
 * errors are always reported by the kernel). */
void nft_set_ack_all(Nft *nft, bool b);

/* Dumps set name of table inet nftjail (GETSETELEM) on a socket of its own and calls fn for each
 * element as libnftnl parsed it; a negative return from fn stops the walk and is returned.
 * A dump that the set's change made inconsistent (nft_dump_consistent()) is started again, up to
 * NFT_DUMP_TRIES times, after restart (may be NULL: no second try) told userdata to forget what
 * fn was given for this set. Returns 0 or a negative errno: -EAGAIN when no try was consistent,
 * -ETIMEDOUT when a message did not come within NFT_DUMP_MSG_TIMEOUT_MS. Used by nft_list() and
 * by the kernel tests, which check raw keys. */
struct nftnl_set_elem;
typedef int (*NftDumpFn)(const char *set, struct nftnl_set_elem *e, void *userdata);
typedef void (*NftDumpRestartFn)(const char *set, void *userdata);
int nft_dump_set(const char *name, NftDumpFn fn, NftDumpRestartFn restart, void *userdata);

/* The comment (userdata) of a dumped element into buf, "" when it has none or it does not fit. */
void nft_elem_comment(struct nftnl_set_elem *e, char *buf, size_t len);

/* Decodes one dumped or notified element of set into *d. Returns 1 when it is a ban, 0 to skip
 * (an interval end element), -EBADMSG on a malformed key. */
int nft_list_decode(const char *set, struct nftnl_set_elem *e, NftListed *d);

/* Grows the send (snd) or receive buffer of the persistent socket to at least want bytes.
 * Returns 0 or a negative errno. */
int nft_grow_buf(Nft *nft, bool snd, size_t want);

/* Sends len bytes on the persistent socket (batch: a batch, else a query), applying the test's
 * fault. Returns the count sent (a dropped message counts as sent) or a negative errno. */
ssize_t nft_send(Nft *nft, const void *buf, size_t len, bool batch);

/* The generation id as GETGEN gives it, without waiting for the transaction that made it to
 * finish its notifications (see nft_genid()). Returns 0 or a negative errno. */
int nft_genid_read(Nft *nft, uint32_t *ret);

/* Tests: inject f on the next request of its kind; timeouts of queries and acks in ms (0 leaves
 * them as they are); pin the receive buffer at bytes (0 unpins it). */
void nft_test_fault(Nft *nft, NftFault f);
void nft_test_timeouts(Nft *nft, int query_ms, int ack_ms);
int nft_test_rcvbuf(Nft *nft, int bytes);
/* Tests: dumps are not sent (drop), and wait timeout_ms per message (0: NFT_DUMP_MSG_TIMEOUT_MS). */
void nft_test_dump_fault(bool drop, int timeout_ms);

/* Transactions of nft_apply() whose acknowledgements were lost (receive buffer overrun or no
 * answer) and that the generation id showed committed: they count in nft_commits(). */
uint64_t nft_unknown_committed(const Nft *nft);

/* Consistency of a dump, message by message: the kernel stamps every message of a set dump with
 * the low 16 bits of the generation id it was built in (nfgenmsg.res_id), and marks a dump that
 * it knows was interrupted with NLM_F_DUMP_INTR (6.18 never does for set dumps: measured). */
typedef struct NftDumpGen {
        bool have;              /* gen holds the first message's generation */
        uint16_t gen;
} NftDumpGen;

/* The bytes of buf, from its start, that hold whole netlink messages each within len: every walk
 * of a received buffer (dumps, acks, queries, monitor events) takes only this span, so a header
 * claiming 2 GiB or more cannot pass mnl_nlmsg_ok()'s (int) comparison and step out of buf. */
size_t nft_nlmsg_span(const void *buf, size_t len);

/* An error code as the kernel's NLMSG_ERROR carries it (or libmnl left in errno, negated), as a
 * negative errno: a value past -4095 is no errno (a malformed message) and becomes -EBADMSG,
 * so that nothing negates INT_MIN or prints an "Unknown error 1796262495". */
static inline int nft_kernel_error(int error) {
        return error < -4095 ? -EBADMSG : error;
}

/* libmnl's errno after mnl_cb_run() failed, as a negative errno (nft_kernel_error()). */
static inline int nft_cb_errno(int e) {
        return e > 0 && e <= 4095 ? -e : -EBADMSG;
}

/* 0 when every attribute of a NEWSETELEM/DELSETELEM message is one our sets hold, with its
 * exact size (nft-validate.c), else -EBADMSG: libnftnl exits on a wrong size. */
struct nlmsghdr;
int nft_setelem_msg_validate(const struct nlmsghdr *nlh);

/* False when a message of buf carries NLM_F_DUMP_INTR or another generation than the dump's
 * first message: the set changed while it was listed. */
bool nft_dump_consistent(NftDumpGen *g, const void *buf, size_t len);

/* Tests and fuzzing (tests/fuzz/fuzz-nft-dump.c): what nft_list() makes of one set's dump, from
 * its received bytes instead of a socket: len bytes of netlink messages (what one or more
 * recvfrom() calls gave, back to back), with the generation checks of nft_dump_consistent(),
 * mnl_cb_run() (seq and portid as it takes them, 0: any), nftnl_set_elems_nlmsg_parse(),
 * nft_list_decode() and the pairing of set v6's interval ends. Decoding stops at NLMSG_DONE.
 * Returns the count of bans with *ret malloc'd (to free(); may be NULL when there are none), -EAGAIN when
 * the dump was inconsistent (nft_list() would list the set again), or the negative errno that
 * nft_list() would return. */
int nft_list_decode_dump(const char *set, const void *buf, size_t len, uint32_t seq, uint32_t portid,
                         NftListed **ret);

/* Reads everything pending on the persistent socket without blocking, feeding it to a for b when
 * both are given: no stale ack survives a call. */
void nft_drain(Nft *nft, const NftBatch *b, NftAcks *a);

/* mnl_attr_parse() callback filling tb[type] for types up to NFTA_SET_MAX, the largest of the
 * attribute sets read in this folder. */
int nft_attr_cb(const struct nlattr *attr, void *data);
