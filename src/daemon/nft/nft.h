/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "prelude.h"

/* The only module that speaks netlink (libmnl + libnftnl) and libnftables. It adds and deletes
 * elements of the sets of "table inet nftjail" (nft/nftjail.nft); it never adds rules. */

#define NFT_TABLE "nftjail"
#define NFT_SET_V4_PORT "v4_port"   /* ipv4_addr . inet_proto . inet_service */
#define NFT_SET_V6_PORT "v6_port"   /* ipv6_addr . inet_proto . inet_service, interval: other prefixes */
#define NFT_SET_V6_PORT_128 "v6_port_128" /* the same, hash: one address */
#define NFT_SET_V6_PORT_64 "v6_port_64"   /* the same, hash: a /64, keyed by its first address */
#define NFT_SET_V4 "v4"             /* ipv4_addr: all ports */
#define NFT_SET_V6 "v6"             /* ipv6_addr: all ports, interval: other prefixes */
#define NFT_SET_V6_128 "v6_128"     /* ipv6_addr: all ports, hash: one address */
#define NFT_SET_V6_64 "v6_64"       /* ipv6_addr: all ports, hash: a /64 by its first address */
#define NFT_SETS_MAX 8
#define NFT_COMMENT_MAX 127

typedef struct Nft Nft;

typedef struct NftElem {
        Addr addr;
        uint8_t prefixlen;      /* IPv6 only: 128 for one address, 64 for its /64; IPv4 ignores it */
        uint8_t proto;          /* IPPROTO_TCP, IPPROTO_UDP, ...; ignored when port == 0 */
        uint16_t port;          /* host order; 0 = the address-only (all ports) set */
        uint64_t timeout_ms;    /* 0 = no timeout: stays until deleted */
        const char *comment;    /* the jail name, at most NFT_COMMENT_MAX bytes; may be NULL */
        bool interval_set;      /* IPv6 /64 or /128: the element is in the interval set (v6, v6_port),
                                 * where the layout before the hash sets put it; see nft_elem_set() */
} NftElem;

/* The names of the sets of the table, NFT_SETS_MAX of them. */
extern const char *const nft_sets[NFT_SETS_MAX];

/* The set that holds e: IPv4 by port or not; IPv6 /128 and /64 in a hash set (an insert costs
 * O(1): the interval set's pipapo insert grows with the set, 2 s for 100,000 /64 bans), any other
 * prefix in the interval set. NULL when e is invalid. */
const char *nft_elem_set(const NftElem *e);

typedef enum NftOp {
        NFT_OP_ADD,             /* add; an existing element is left as it is */
        NFT_OP_DEL,             /* delete; -ENOENT if missing */
        NFT_OP_REPLACE,         /* delete then add in the same transaction (extends a ban on any kernel) */
        NFT_OP_DESTROY,         /* delete; an element that is not there is not an error */
        _NFT_OP_MAX,
        _NFT_OP_INVALID = -EINVAL,
} NftOp;

/* Opens the persistent netlink socket. Returns 0 or a negative errno. */
int nft_new(Nft **ret);
Nft *nft_free(Nft *nft);

/* 1 when table inet nftjail exists, 0 when not, negative errno on failure. */
int nft_table_exists(Nft *nft);

/* Loads an nft file through libnftables (as "nft -f FILE" would). On failure, the messages of
 * libnftables are copied into errbuf (may be NULL). Returns 0 or a negative errno. */
int nft_load_file(const char *path, char *errbuf, size_t errlen);

/* Ensures the table and each of its sets exist, loading path when they do not (a table made by
 * an older nftjail.nft lacks the newer sets; loading the file again keeps every set and its bans).
 * Returns 1 when it loaded the file because the table was missing, 2 when the table was there but
 * a set was missing, 0 when all was there, negative errno on failure (errbuf as above). */
int nft_ensure_table(Nft *nft, const char *path, char *errbuf, size_t errlen);

/* Applies op to n elements and reads every acknowledgement. A call holds at most
 * NFT_TXN_MAX_MSGS element messages per netlink transaction (a REPLACE costs three per element),
 * so a large call is sent as several transactions in order, each all or nothing: when one fails,
 * those before it stay applied and the rest is not sent. *ret_committed (may be NULL) is set,
 * on success and on failure, to the count of leading elements, elems[0 .. committed), that the
 * kernel committed; on success that is n. On a kernel error returns it (negative errno) and stores
 * in *reterr_index (may be NULL) the index of the element the kernel refused (when known, else n).
 * Bad input (-EINVAL, *reterr_index naming it) is refused before anything is sent.
 *
 * NFT_OP_DESTROY uses NFT_MSG_DESTROYSETELEM (Linux >= 6.3). On an older kernel, learnt once from
 * its refusal and remembered on nft, each transaction is sent as DELSETELEM; the elements that the
 * kernel refuses with ENOENT are dropped and only the rest of that transaction is sent again. */
int nft_apply(Nft *nft, NftOp op, const NftElem *elems, size_t n, size_t *ret_committed, size_t *reterr_index);

/* For tests: NFT_OP_DESTROY takes the path of kernels without NFT_MSG_DESTROYSETELEM (true) or
 * the kernel's own (false, the default). */
void nft_set_destroy_fallback(Nft *nft, bool b);

/* The ruleset's generation id (NFT_MSG_GETGEN): every committed transaction, ours or anyone's,
 * advances it by one; a transaction that changes nothing does not. It returns once the
 * transaction that made that id has sent its notifications. Returns 0 or a negative errno. */
int nft_genid(Nft *nft, uint32_t *ret);

/* How many transactions of nft_apply() the kernel committed (acknowledged without error) since
 * nft_new(). With nft_genid() before and after some nft_apply() calls, it tells whether anyone
 * else committed in between. */
uint64_t nft_commits(const Nft *nft);
/* The network namespace's cookie (SO_NETNS_COOKIE): unique to it until reboot, never reused,
 * unlike its inode number. -ENOPROTOOPT before Linux 5.14. */
int nft_netns_cookie(Nft *nft, uint64_t *ret);

/* One element as the kernel holds it. */
typedef struct NftListed {
        const char *set;        /* the set it is in: one of nft_sets[] */
        NftElem elem;           /* addr, prefixlen (IPv6: from the interval), proto, port, timeout_ms;
                                 * comment points into the entry's own buffer */
        uint64_t expires_ms;    /* time left, 0 for a permanent element */
        char comment[NFT_COMMENT_MAX + 1];
} NftListed;

/* Lists every element of the sets (a GETSETELEM dump per set, on a socket of its own so
 * that the persistent one is never left with a half-read dump). Not for the hot path: a dump of
 * a million elements takes a while. Returns the count with *ret malloc'd, or a negative errno;
 * -ENOENT when the table is missing. */
int nft_list(Nft *nft, NftListed **ret);

/* The portid of the persistent socket: nf_tables notifications caused by our own transactions
 * carry it in nlmsg_pid. */
uint32_t nft_portid(const Nft *nft);

/* ---- monitor: nf_tables notifications (NFNLGRP_NFTABLES) about table inet nftjail ---- */

typedef enum NftEventType {
        NFT_EVENT_TABLE_DEL,    /* table inet nftjail was deleted */
        NFT_EVENT_SET_DEL,      /* one of its sets was deleted */
        NFT_EVENT_ELEM_DEL,     /* an element of one of its sets was deleted */
        NFT_EVENT_ELEM_NEW,     /* elements were added to one of its sets (not decoded: elem NULL) */
        NFT_EVENT_GEN_END,      /* a transaction's notifications are complete (NEWGEN) */
        _NFT_EVENT_MAX,
        _NFT_EVENT_INVALID = -EINVAL,
} NftEventType;

typedef struct NftEvent {
        NftEventType type;
        uint32_t portid;        /* of the socket that made the change (0: the kernel or unknown) */
        const NftListed *elem;  /* NFT_EVENT_ELEM_DEL only */
} NftEvent;

typedef struct NftMonitor NftMonitor;
typedef int (*NftEventCb)(const NftEvent *ev, void *userdata);

/* A non-blocking netlink socket subscribed to NFNLGRP_NFTABLES, with a large receive buffer. */
int nft_monitor_new(NftMonitor **ret);
NftMonitor *nft_monitor_free(NftMonitor *mon);
int nft_monitor_fd(const NftMonitor *mon);
/* Joins (on) or leaves the group. While no socket is subscribed the kernel does not even build
 * the notifications (nfnetlink_has_listeners()); what was queued before leaving stays queued.
 * Returns 0 or a negative errno. */
int nft_monitor_subscribe(NftMonitor *mon, bool on);
/* Reads every queued notification (until EAGAIN) and calls cb for those about our table. Returns
 * 0; -ENOBUFS when the kernel dropped notifications (the caller must resynchronise by listing);
 * another negative errno on failure. A negative return of cb stops and is returned. */
int nft_monitor_read(NftMonitor *mon, NftEventCb cb, void *userdata);
