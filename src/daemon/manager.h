/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>

#include "addr.h"
#include "conf.h"
#include "prelude.h"
#include "reporter.h"

/* The Manager owns the event loop, the configuration and every module instance: journal sources,
 * compiled filters, trackers, the nft socket. Main thread only. */

typedef struct Manager Manager;

typedef struct ManagerOptions {
        const char *config_dir;
        const char *state_dir;
        const char *socket_path;
        bool dry_run;           /* every jail as with dryrun = true */
} ManagerOptions;

/* Loads and checks the whole configuration (config files, filters compiled, journal matches).
 * Logs every problem with file and line. Returns 0 or a negative errno. */
int manager_new(const ManagerOptions *o, Manager **ret);
Manager *manager_free(Manager *m);

/* Prints what would run (for --test-config). */
void manager_dump(const Manager *m, FILE *f);
/* --test-config: what the configuration needs beyond itself and can be checked without starting
 * (today: nats.c, when [fleet] is enabled). Returns 0 or a negative errno, after logging. */
int manager_fleet_check(const Manager *m);

/* Ensures the nft table, opens the sources, installs signal handlers. */
int manager_start(Manager *m);
/* Runs the loop until SIGTERM/SIGINT. Returns 0 or a negative errno. */
int manager_run(Manager *m);

/* ---- what the control server may see and do ----
 * Every call below is synchronous, on the main thread, and sees the running configuration: a
 * reload replaces it, so no JailConf or Config pointer is kept across one. */

const Config *manager_config(const Manager *m);
const char *manager_config_dir(const Manager *m);

typedef struct ManagerStatus {
        usec_t uptime;          /* since the start */
        uint64_t bans_total;    /* bans applied, over every run the state remembers (persist_totals_*) */
        size_t elements_live;   /* kernel elements of the bans in force that the daemon knows */
} ManagerStatus;
void manager_status(const Manager *m, ManagerStatus *ret);

typedef struct ManagerJailStatus {
        const JailConf *conf;
        uint64_t lines, lines_cut, lines_limit, ignored, unbans_total;
        uint64_t failures_total;        /* failures counted, over every run the state remembers */
        size_t failures_current;        /* addresses with failures within findtime */
        uint64_t bans_total;
        uint64_t would_ban_total;       /* dry run: bans not made since the start */
        bool dryrun;
        bool journal;                   /* reads the journal (conf->journalmatch) */
        uint64_t journal_entries;
        bool files;                     /* reads conf->logpath */
        uint64_t file_lines;
} ManagerJailStatus;
/* The figures of the jail called name. Returns 0 or -ENOENT. */
int manager_jail_status(const Manager *m, const char *name, ManagerJailStatus *ret);

/* How long automatic bans took, from reading the failure that reached maxretry (the ban queued)
 * to the kernel's ack of its elements: a histogram of MANAGER_LATENCY_BUCKETS upper bounds
 * (seconds), counts cumulative as Prometheus wants them, plus the sum and the count. */
#define MANAGER_LATENCY_BUCKETS 10
extern const double manager_latency_bounds[MANAGER_LATENCY_BUCKETS];
typedef struct ManagerLatency {
        uint64_t le[MANAGER_LATENCY_BUCKETS]; /* bans within manager_latency_bounds[i], cumulative */
        uint64_t count;
        double sum_sec;
} ManagerLatency;
void manager_ban_latency(const Manager *m, ManagerLatency *ret);

/* The AbuseIPDB spool's counts; -ENODEV when nothing is reported. */
int manager_report_stats(const Manager *m, ReporterStats *ret);

/* Calls cb with the name of each running jail, in configuration order. */
void manager_foreach_jail(const Manager *m, void (*cb)(const char *name, void *userdata), void *userdata);
/* The fleet (docs/FLEET.md), when it runs: its connection, outbox and counters of this run, and
 * per origin the remote bans applied and refused (the first MANAGER_FLEET_ORIGINS_MAX origins). */
#define MANAGER_FLEET_ORIGINS_MAX 64
typedef struct ManagerFleetStatus {
        char name[FLEET_NAME_MAX + 1]; /* this node */
        bool connected;
        int64_t outbox;         /* bans waiting for the stream's ack (negative: unknown) */
        uint64_t published, received, refused, stream_seq, lag;
        struct {
                char name[FLEET_NAME_MAX + 1];
                uint64_t in, refused;
        } origins[MANAGER_FLEET_ORIGINS_MAX];
        size_t n_origins;
} ManagerFleetStatus;
/* Returns false when the fleet does not run (not enabled, or built without it). */
bool manager_fleet_status(const Manager *m, ManagerFleetStatus *ret);

/* An unban fleet-wide (`nftjail unban --fleet`): the tombstones this node published for its own
 * bans that went, and the bans that came from other nodes, which only their origin may lift
 * fleet-wide (a node publishes under its own name only): those went here only. */
#define MANAGER_FLEET_UNBAN_REMOTE_MAX 16
typedef struct ManagerFleetUnban {
        size_t tombstones;
        size_t n_remote;        /* remote (jail, origin) pairs unbanned here; the first ones below */
        struct {
                char jail[JAIL_NAME_MAX + 1];
                char origin[FLEET_NAME_MAX + 1];
        } remote[MANAGER_FLEET_UNBAN_REMOTE_MAX];
} ManagerFleetUnban;
/* manager_unban(), and what it meant for the fleet into *ret. -EOPNOTSUPP when the fleet does not
 * run (nothing unbanned). */
int manager_unban_fleet(Manager *m, const char *jail, const Addr *a, size_t *ret_n, ManagerFleetUnban *ret);

/* NULL when jail may ban a, else why not ("loopback", "ignoreip", "self"); jail must exist. */
const char *manager_ban_refusal(const Manager *m, const char *jail, const Addr *a);
/* Whether a ban of jail can be reported to AbuseIPDB (the jail reports, and the reporter runs). */
bool manager_can_report(const Manager *m, const char *jail);

/* Bans a in jail now (bantime_sec 0: the jail's; < 0: permanent), through the same path as an
 * automatic ban, and forgets its failures. Returns 0, -ENOENT (no such jail), -EPERM (see
 * manager_ban_refusal()), or the kernel's error (logged as a failed ban). */
int manager_ban(Manager *m, const char *jail, const Addr *a, int64_t bantime_sec);
/* Applies the bans waiting in the queue now, when there are any (the queue's flush otherwise runs
 * at normal priority, below the control socket's, which a stream of control requests could put
 * off for ever). The control server calls one of them before each command: manager_flush() the
 * whole queue, manager_flush_step() one chunk of it (FLUSH_CHUNK bans: read-only commands). */
void manager_flush(Manager *m);
void manager_flush_step(Manager *m);
/* Changes whenever the daemon's record of its bans changes: a listing made at the same
 * generation lists the same bans (their remaining times aside). */
uint64_t manager_bans_generation(const Manager *m);
/* Queues a report of a manual ban of a in jail with note as its comment. Returns 0 or -errno. */
int manager_report_ban(Manager *m, const char *jail, const Addr *a, const char *note);

/* Removes from the kernel every ban of a (NULL: every address) in jail (NULL: every jail): the
 * daemon's own and whatever else the kernel holds for it (comment == jail: an element from
 * before a restart, one added by hand, one of a jail no longer configured), logs the unbans,
 * ends them in the history and forgets the failure counts. *ret_n = elements removed. Returns 0
 * or a negative errno (logged). */
int manager_unban(Manager *m, const char *jail, const Addr *a, size_t *ret_n);

/* One ban element, as manager_list_bans() hands it out. */
typedef struct ManagerBan {
        Addr addr;
        uint8_t prefixlen;      /* IPv6: 128 for one address, 64 for a /64; IPv4: 32 */
        uint8_t proto;          /* IPPROTO_TCP, ...; meaningless when port is 0 */
        uint16_t port;          /* 0: every port */
        const char *set;        /* the set that holds it */
        const char *jail;       /* its comment: the jail that banned it ("" for none) */
        uint64_t timeout_ms;    /* 0: permanent */
        uint64_t expires_ms;    /* time left; 0 for a permanent one */
} ManagerBan;

/* Calls cb for every ban element whose comment is jail (NULL: any) and that covers a (NULL:
 * any), ordered by address and prefix length when by_address (else in no particular order). b is
 * valid during the call only. cb returns 0 to go on, negative to stop (returned).
 *
 * kernel false: from the daemon's own record of its elements (the ban map: every element it
 * added or adopted, less those deleted, by it or by hand as the monitor tells), with no netlink
 * at all, so that read-only clients cannot keep the loop in kernel dumps; its cost is one pass
 * over the map. Elements someone else added since the last listing are not in it.
 * kernel true: the kernel's sets as they are, listed whole (about 2 s per 100,000 elements,
 * during which the loop does nothing else): for root only, not for a hot path.
 * Returns 0 or a negative errno (logged; -ENOENT with kernel: the table is missing). */
typedef int (*ManagerBanCb)(const ManagerBan *b, void *userdata);
int manager_list_bans(Manager *m, const char *jail, const Addr *a, bool by_address, bool kernel, ManagerBanCb cb,
                      void *userdata);

/* Re-reads the configuration; on any error the running one stays (diagnostics in ret_diags when
 * given: the caller frees them). Jails that keep their name and thresholds keep their counters. */
int manager_reload(Manager *m, ConfDiags *ret_diags);
