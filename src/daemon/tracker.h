/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "prelude.h"

/* Per-jail failure counters: an open-addressing hash table of addresses, each with a ring of its
 * last maxretry failure times (seconds, 32 bits relative to the tracker's epoch). Bounded: at most
 * max_entries addresses; when full, the entry whose newest failure is oldest in its probe window is
 * evicted. Time is passed in (now_sec, CLOCK_BOOTTIME or a test clock). Pure, single-threaded. */

typedef struct Tracker Tracker;

/* maxretry >= 1, findtime_sec >= 1, max_entries >= 16. */
int tracker_new(unsigned maxretry, int64_t findtime_sec, size_t max_entries, Tracker **ret);
Tracker *tracker_free(Tracker *t);

/* Records one failure of addr at time t_sec. Returns the number of failures of addr within
 * findtime (>= 1). When it reaches maxretry the entry is removed (the counter resets) and
 * maxretry is returned: the caller bans. Returns -ENOMEM never (the table is preallocated in
 * steps); negative errno only on bad arguments. */
int tracker_record(Tracker *t, const Addr *addr, int64_t t_sec);

/* Forgets addr (after a manual ban or unban). */
void tracker_forget(Tracker *t, const Addr *addr);

size_t tracker_size(const Tracker *t);
/* Bytes allocated by the table (for the benchmark and status). */
size_t tracker_memory(const Tracker *t);

/* Removes entries with no failure inside the window ending at now_sec. Returns how many. */
size_t tracker_gc(Tracker *t, int64_t now_sec);
