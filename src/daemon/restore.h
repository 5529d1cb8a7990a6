/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "ban.h"
#include "conf.h"
#include "nft.h"
#include "store.h"

/* Brings the kernel, the state and the map of live bans into agreement, at start and whenever
 * the ruleset changed under us (table deleted, netlink overrun):
 *  - every ban of the state still due and missing from the kernel is added again with its
 *    remaining time (after a reboot: all of them), in one nft_apply() call;
 *  - every element of the kernel that the state does not know (a crash between the kernel's ack
 *    and the commit, or an element added by hand) is adopted: into the map and the state, with the
 *    time it has left; its comment names the jail;
 *  - the map gets the kernel's expiry of every element found there;
 *  - IPv6 /64 and /128 elements found in the interval sets, where an nftjail.nft without the
 *    hash sets put them, are moved to their hash set (nft_elem_set()) with the time they have left, so that
 *    an unban finds them where it looks; when the move fails they stay (the rules match them,
 *    and an unban through the listing, as "nftjail unban" does, still finds them).
 * Bans of jails no longer configured are not added back (they are counted as dropped). Nothing is
 * logged as a ban. Main thread. Returns 0 or a negative errno (nft_list/nft_apply/store).
 *
 * as_left: the caller knows that the kernel holds exactly the elements of the state's live bans
 * (persist.c: nothing changed since a clean stop). Then the sets are not listed (for a large table
 * that is seconds: the kernel walks a set from its start for each 32 KiB message of the dump),
 * nothing is added, adopted or moved, and the map gets the state's expiries. */

typedef struct RestoreStats {
        size_t restored;        /* bans of the state added back to the kernel */
        size_t adopted;         /* bans found in the kernel only */
        size_t present;         /* bans of the state that the kernel still held */
        size_t dropped;         /* bans of the state whose jail is gone, or that the kernel refused */
        size_t refused;         /* of those, the ones the kernel refused */
        size_t elements;        /* elements added */
        size_t migrated;        /* elements moved from an interval set to their hash set */
        bool not_listed;        /* as_left: the kernel's sets were not listed */
} RestoreStats;

int restore_run(Nft *nft, Store *store, BanMap *bans, const JailConf *jails, size_t n_jails, bool as_left,
                RestoreStats *ret);
