/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "nft.h"
#include "prelude.h"

/* Ban policy, pure: who may be banned, which kernel elements a ban is, and which bans are in
 * force (so that a second ban of the same address keeps the longer remaining time). */

typedef enum BanSkip {
        BAN_OK = 0,
        BAN_SKIP_LOOPBACK,
        BAN_SKIP_IGNOREIP,
        BAN_SKIP_SELF,
        _BAN_SKIP_MAX,
} BanSkip;

const char *ban_skip_to_string(BanSkip s);

/* Whether jail may ban a. self: the host's own addresses (used when ignoreself is set). */
BanSkip ban_allowed(const JailConf *j, const Addr *a, const Addr *self, size_t n_self);

/* Fills out[] with the kernel elements of one ban: one per port (protocol of the jail), or one
 * address-only element for all-ports jails. timeout_ms 0 = permanent. Returns the count, at most
 * max (a jail has at most BAN_ELEMS_MAX ports). comment points into j (the jail name). */
#define BAN_ELEMS_MAX 256
size_t ban_elems(const JailConf *j, const Addr *a, uint64_t timeout_ms, NftElem *out, size_t max);
/* The same, for IPv6 prefix bans: with ignoreself, a prefix that would take in one of the host's
 * addresses (self) shrinks to the one address, as it does for an ignoreip network. */
size_t ban_elems_self(const JailConf *j, const Addr *a, const Addr *self, size_t n_self, uint64_t timeout_ms,
                      NftElem *out, size_t max);

/* Ban time arithmetic, saturating: a ban time past the kernel's limit (NFTJAIL_BANTIME_MAX_SEC,
 * which the configuration and the control protocol refuse, but a state row or a computed
 * increment may still carry one) becomes the longest ban the kernel takes, never a wrapped short
 * one. bantime_sec < 0 is permanent, 0 none.
 * ban_time_clamp: bantime_sec held to the limit.
 * ban_timeout_ms: the element timeout (0 for permanent), at most NFTJAIL_BANTIME_MAX_SEC * 1000.
 * ban_expiry: the CLOCK_BOOTTIME end of a ban starting at now (USEC_INFINITY for permanent, else
 * below it).
 * ban_end_sec: the realtime end in seconds (INT64_MAX for permanent, else below it). */
int64_t ban_time_clamp(int64_t bantime_sec);
uint64_t ban_timeout_ms(int64_t bantime_sec);
usec_t ban_expiry(usec_t now, int64_t bantime_sec);
int64_t ban_end_sec(int64_t now, int64_t bantime_sec);

/* Whether kernel element e belongs to jail jc: its protocol and one of its ports, or the
 * all-ports set for an all-ports jail. */
bool ban_jail_owns_elem(const JailConf *jc, const NftElem *e);

/* Bans in force, per kernel element: (address, protocol, port) -> expiry (CLOCK_BOOTTIME usec,
 * USEC_INFINITY = permanent). Keyed like the element itself, because jails that share a port share
 * the element: a ban must never shorten another jail's longer ban of the same element. Port 0 is
 * the all-ports element. */
typedef struct BanMap BanMap;

int ban_map_new(BanMap **ret);
BanMap *ban_map_free(BanMap *m);
/* Returns the expiry of the live ban of e's element (expiry > now), or 0 when none. */
usec_t ban_map_get(const BanMap *m, const NftElem *e, usec_t now);
/* Sets e's element to expire at expiry, keeping e's timeout_ms, interval_set and comment (the
 * kernel element's comment is the jail of its last add) for listings. */
int ban_map_set(BanMap *m, const NftElem *e, usec_t expiry);
void ban_map_remove(BanMap *m, const NftElem *e);
/* Live elements (expiry > now). O(1) until the earliest live ban expires (or a time before the
 * last count is asked for); then one walk of the map, as each ban_map_gc() does. */
size_t ban_map_count(BanMap *m, usec_t now);
/* Entries, the expired ones that no gc dropped yet included: O(1), unlike ban_map_count(). */
size_t ban_map_size(const BanMap *m);
/* A number that changes whenever an entry is set or removed (a cached listing is stale). */
uint64_t ban_map_generation(const BanMap *m);
/* Drops expired bans; returns how many. */
size_t ban_map_gc(BanMap *m, usec_t now);
/* Iteration: *iter starts at 0; returns false at the end. ret gets the element as it was last
 * set: addr, prefixlen, proto, port, timeout_ms, interval_set, and comment (owned by the map,
 * valid until ban_map_free(); NULL when none). Expired entries are included until a gc. */
bool ban_map_next(const BanMap *m, size_t *iter, NftElem *ret, usec_t *ret_expiry);

/* Makes room for n more entries in one step, so that filling it (a restore of a million bans) does
 * not hold the old table and the new one at once at each doubling. 0 or -ENOMEM. */
int ban_map_reserve(BanMap *m, size_t n);

/* Whether the element (address and prefix) covers a. */
bool ban_elem_contains(const NftElem *e, const Addr *a);

/* Whether the IPv6 element e (prefix and port) would overlap a live element of another prefix
 * length: a wider one that covers it, or a narrower one inside it. The interval sets refuse such
 * an element with -EEXIST and the whole transaction with it, so it must not be sent. */
bool ban_map_v6_conflict(const BanMap *m, const NftElem *e, usec_t now);
