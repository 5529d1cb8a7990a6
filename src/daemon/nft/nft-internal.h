/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "nft.h"

/* Internals of nft.c, exposed for tests/unit/test-nft.c only: building the NEWSETELEM/DELSETELEM
 * batch and routing the kernel's acknowledgements back to elements, without a socket. */

/* Largest key: ipv6_addr . inet_proto . inet_service, each 32-bit aligned: 16 + 4 + 4. */
#define NFT_KEY_MAX 24

/* Most element messages in one transaction (one sendmsg()); a larger nft_apply() call is split
 * into several transactions, each all-or-nothing. */
#define NFT_TXN_MAX_MSGS 131072U

/* NFT_MSG_DESTROYSETELEM (Linux 6.3) by number: the uapi headers of some systems are older
 * (Debian 12's are 6.1). nft.c checks it against the headers that have it. */
#define NFT_DESTROYSETELEM 30

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
 * Returns 0 or a negative errno. Used by nft_list() and by the kernel tests, which check raw keys. */
struct nftnl_set_elem;
typedef int (*NftDumpFn)(const char *set, struct nftnl_set_elem *e, void *userdata);
int nft_dump_set(const char *name, NftDumpFn fn, void *userdata);

/* The comment (userdata) of a dumped element into buf, "" when it has none or it does not fit. */
void nft_elem_comment(struct nftnl_set_elem *e, char *buf, size_t len);
