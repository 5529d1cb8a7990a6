/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The Manager's insides, shared by the manager's own files only (manager.c, manager-jail.c,
 * manager-pending.c, manager-bans.c); every other module reaches it through manager.h or
 * through the objects the manager hands it. Main thread. */

#include <time.h>

#include <systemd/sd-event.h>

#include "actions.h"
#include "mail.h"
#include "addr.h"
#include "addr-watch.h"
#include "ban.h"
#include "conf.h"
#include "control.h"
#include "fleet.h"
#include "manager.h"
#include "metrics.h"
#include "match.h"
#include "nft.h"
#include "persist.h"
#include "reporter.h"
#include "webhook.h"
#include "source-file.h"
#include "source-journal.h"
#include "tracker.h"

#define TRACKER_MAX_ENTRIES 1000000 /* per jail: bounded memory whatever the attack */
#define EVIDENCE_RING 64
#define EVIDENCE_LINE 320
#define FAILURE_LOGS_PER_SEC 50
#define BAN_RETRIES 16

typedef struct Evidence {
        Addr addr;
        usec_t realtime;        /* when the line was logged (journal time), for reports */
        uint16_t len;
        char line[EVIDENCE_LINE];
} Evidence;

#define JAIL_BATCH_MAX (1U << 20) /* failures held for one commit, whatever the source does */

typedef struct Jail {
        Manager *manager;
        const JailConf *conf;
        Filter *filter;
        Tracker *tracker;
        SourceJournal *journal;
        SourceFile *files;      /* instead of journal when the jail reads logpath */
        DatePattern *dates;     /* the filter's datepattern + logtimezone; non-NULL for a file jail */
        Evidence *evidence;     /* ring of the last matched lines, for the ban event; NULL until the first */
        SourcePosition position;        /* the sources save their position through the Persist */
        PersistFailure *batch;  /* failures counted since the last commit of the position */
        size_t n_batch, cap_batch;
        unsigned evidence_next;
        uint64_t lines, failures, ignored, lines_cut, bans_total;
        uint64_t would_ban_total; /* dry run, since the start */
        time_t log_window;
        unsigned log_count, log_suppressed;
        uint64_t lines_limit;   /* lines on which a regex gave up at a PCRE2 limit */
        uint64_t unbans_total;  /* addresses unbanned (by nftjail unban, by hand in the ruleset) since start */
        bool limit_reported;    /* said so once (jail_limit_hit()) */
        bool totals_loaded;     /* bans_total and failures taken over (a reload) or read from the state */
} Jail;

typedef struct PendingBan {
        Jail *jail;
        Addr addr;
        unsigned failures;
        int64_t bantime_sec;    /* the jail's, or a manual ban's own */
        usec_t expiry;
        const char *comment;    /* NULL: the jail's name; a fleet ban's "jail@origin" (m->fleet_comments) */
        size_t n_elems;         /* elements that need a change (0: banned already, for longer) */
        AddrPrefix prefix;      /* what its elements cover, from the flush's plan: an IPv6 ban's /64
                                 * (ipv6_prefix), or one address when the prefix would take in
                                 * ignoreip or this host (ban_elems_self()); IPv4: the address/32 */
        int error;
        usec_t queued;          /* CLOCK_MONOTONIC of pending_add(): the ban latency starts */
        char **tags;            /* the <F-*> groups of the failure that reached maxretry, "F-USER=VALUE"
                                 * (ban_tags_from_match()), for the actions; NULL: none. Freed when
                                 * the ban is applied. */
        bool quiet;             /* a fleet ban of a catch-up: counted in one line per flush, not logged alone */
} PendingBan;

/* The pending queue's index by (jail, address): open addressing, index + 1 of the entry in
 * Manager.pending. A slot counts only when its gen is the queue's: emptying the queue is a gen++. */
typedef struct PendingSlot {
        uint32_t gen;
        uint32_t idx;
} PendingSlot;

/* One kernel element of a pending ban, with the operation it needs. */
typedef struct PendingElem {
        NftElem elem;
        size_t owner;           /* index in Manager.pending */
        NftOp op;
        usec_t old;             /* expiry before this flush planned it (0: none) */
} PendingElem;

struct Manager {
        ManagerOptions options;
        Config *config;
        Jail *jails;
        size_t n_jails;
        sd_event *event;
        sd_event_source *flush;
        sd_event_source *gc;    /* drops expired failure counters and bans once a minute */
        bool gc_ran;            /* the first gc (at start) told the ends of the bans the state missed */
        Nft *nft;
        BanMap *bans;           /* every element we put in the kernel, with its expiry */
        Addr *self;
        size_t n_self;
        PendingBan *pending;
        size_t n_pending, cap_pending;
        size_t pending_done;    /* m->pending[0 .. pending_done) are applied (the flush is chunked) */
        ManagerLatency ban_latency; /* automatic bans: pending_add() to the kernel's ack */
        usec_t status_at;       /* CLOCK_MONOTONIC of the last STATUS= */
        sd_event_source *status_timer; /* a STATUS= put off by the once-a-second limit */
        PendingSlot *pending_index;     /* cap_index slots, a power of two, at most half full */
        size_t cap_index;
        uint32_t pending_gen;   /* the gen of the entries of the current queue */
        uint64_t pending_seed;
        usec_t started;
        Persist *persist;       /* the durable side (persist.c); NULL until manager_start() gets to it */
        AddrWatch *addr_watch;  /* keeps self up to date */
        Reporter *reporter;     /* NULL: no jail reports to AbuseIPDB */
        Actions *actions;       /* mail workers; NULL until a jail has a mail action */
        Webhooks *webhooks;     /* the webhook sender; NULL until a jail has a webhook */
        Reporter *reporter_off; /* turned off by a reload: kept until exit or a reload that turns it
                                 * on again, so that its thread is joined before another starts */
        Control *control;       /* the control socket (control.c) */
        Metrics *metrics;       /* metrics_textfile (metrics.c) */
        Fleet *fleet;           /* NULL: no [fleet], or not enabled */
        char **fleet_comments;  /* "jail@origin" of the fleet bans applied, for their elements */
        size_t n_fleet_comments;
        ManagerFleetUnban *fleet_unban; /* during manager_unban_fleet(): what it did for the fleet */
};


/* STATUS= to systemd (manager.c): at most once a second unless force. */
void manager_notify_status(Manager *m, bool force);

/* The jail called name, or NULL. */
Jail *manager_find_jail(const Manager *m, const char *name);
/* The bans of the map that ended by now (CLOCK_BOOTTIME), before ban_map_gc() forgets them: per
 * jail and address (at most 1,000 a call) an expiry event to the jail's webhooks and its action.d
 * actionunban, as fail2ban runs it when a ban ends. Up to a minute late (the gc's interval). */
void manager_bans_expired(Manager *m, usec_t now);
/* Once, at the first gc after the start: the bans of the state that ended while the daemon was
 * down (gone from the kernel, never in the map), each told the same way, once: the state records
 * them as told before they are handed over (persist_expired_take()). */
void manager_bans_expired_offline(Manager *m);

/* The newest matched lines of a in j, escaped, newline-separated; at most max. malloc'd or NULL. */
char *evidence_collect(const Jail *j, const Addr *a, unsigned max);

/* manager-jail.c: builds the runtime of every jail of c (filters compiled, trackers made); logs
 * every problem; returns 0 or -EINVAL when any jail is unusable, -ENOMEM. */
int jails_build(Manager *m, const Config *c, Jail **ret, size_t *ret_n);
void jails_free(Jail *jails, size_t n);
/* Opens the sources of the jails that have none yet. Returns 0 or a negative errno (logged). */
int jails_start(Manager *m, Jail *jails, size_t n);
/* At start, before the sources resume: the stored failures back into the trackers. */
void jails_replay(Manager *m);

/* manager-pending.c: queues a ban of a in j (one per jail and address; bantime_sec 0: the jail's,
 * with bantime.increment). tags (may be NULL) is taken over, and freed when an earlier ban of
 * a is queued already. Returns 0 or a negative errno. */
int pending_add(Manager *m, Jail *j, const Addr *a, unsigned failures, int64_t bantime_sec, char **tags);
/* The index in m->pending of j's pending ban of a, or SIZE_MAX. */
size_t pending_find(const Manager *m, const Jail *j, const Addr *a);
/* The flush (an sd-event defer source): applies FLUSH_CHUNK bans of the queue per dispatch and
 * empties it after the last; the entries and their results stay in m->pending until the next
 * pending_add(). */
int pending_on_flush(sd_event_source *s, void *userdata);
/* Applies the whole queue now (reload, stop, a control command that needs the kernel's answer). */
void pending_flush_all(Manager *m);

/* manager-bans.c, PersistOptions.elem_deleted: someone else deleted l, a live element of ours;
 * that is an unban of its address in its jail (the other ports of the ban go too, so that the
 * state and the kernel agree). */
void manager_on_elem_deleted(void *userdata, const NftListed *l);

/* manager-fleet.c: starts the fleet when [fleet] is enabled (logged; a failure leaves the daemon
 * banning locally). */
void manager_fleet_start(Manager *m);
void manager_fleet_free(Manager *m);
/* After a reload put m->config in place of old: starts or stops the fleet as [fleet] enabled
 * says; other changes of [fleet] wait for a restart (warned). */
void manager_fleet_reload(Manager *m, const Config *old);
/* Around the publishing of a flush's bans: one commit of the outbox. */
void manager_fleet_batch(Manager *m, bool begin);
/* Hands an automatic ban the kernel took to the fleet's outbox, when its jail is shared. */
void manager_fleet_publish(Manager *m, const PendingBan *p);
/* Hands the lifting of this node's ban element e of jail jc to the outbox: a tombstone. */
void manager_fleet_unbanned(Manager *m, const JailConf *jc, const NftElem *e);
/* During manager_unban_fleet(): an element whose comment is "jail@origin" went (a remote ban). */
void manager_fleet_unbanned_remote(Manager *m, const char *comment);
/* A flush applied n fleet bans of a catch-up (PendingBan.quiet): one line for them. */
void manager_fleet_log_catchup(Manager *m, size_t n);
