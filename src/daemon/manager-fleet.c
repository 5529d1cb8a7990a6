/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The manager's side of the fleet: this node's automatic bans into the outbox, the other nodes'
 * bans into the pending queue (so that a burst is one netlink batch), each element commented
 * "jail@origin", never reported, never sent to actions, never published again. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "util/string-util.h"

#define FLEET_COMMENTS_MAX 4096U /* distinct "jail@origin" kept for the elements' comments */
/* A remote ban with more than this many messages of the stream behind it is part of a catch-up:
 * not logged one by one (100,000 journal entries would cost more than applying them, and
 * journald's rate limit would drop most), but counted in a line per flush; each is in the state
 * (fleet_remote). The last ones, and every live one, are logged as bans. */
#define FLEET_QUIET_BEHIND 1000U

#if HAVE_FLEET

/* The comment of a fleet ban, interned: the elements of the flush point at it. NULL when the
 * table is full or the comment would not fit the kernel's. */
static const char *fleet_comment(Manager *m, const char *jail, const char *origin) {
        _cleanup_free_ char *c = NULL;
        char **v;

        if (asprintf(&c, "%s@%s", jail, origin) < 0 || strlen(c) > NFT_COMMENT_MAX)
                return NULL;
        for (size_t i = 0; i < m->n_fleet_comments; i++)
                if (strcmp(m->fleet_comments[i], c) == 0)
                        return m->fleet_comments[i];
        if (m->n_fleet_comments == FLEET_COMMENTS_MAX)
                return NULL;
        v = reallocarray(m->fleet_comments, m->n_fleet_comments + 1, sizeof *v);
        if (!v)
                return NULL;
        m->fleet_comments = v;
        m->fleet_comments[m->n_fleet_comments] = TAKE_PTR(c);
        return m->fleet_comments[m->n_fleet_comments++];
}

/* A remote ban, checked by the fleet thread against the policy that needs no jail: here the
 * jail's own (it must exist, ignoreip, ignoreself, loopback). */
static FleetRefusal fleet_apply(const FleetMsg *msg, void *userdata) {
        Manager *m = userdata;
        int64_t now = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC), bantime;
        const char *comment;
        Jail *j = manager_find_jail(m, msg->jail);
        size_t before;

        if (!j)
                return FLEET_REFUSE_JAIL;
        if (ban_allowed(j->conf, &msg->addr, m->self, m->n_self) != BAN_OK)
                return FLEET_REFUSE_LOCAL;
        /* this host's own addresses, whatever the jail's ignoreself says */
        for (size_t i = 0; i < m->n_self; i++) {
                AddrPrefix p = { .addr = msg->addr, .prefixlen = msg->prefixlen };
                if (addr_prefix_contains(&p, &m->self[i]))
                        return FLEET_REFUSE_LOCAL;
        }
        comment = fleet_comment(m, msg->jail, msg->origin);
        if (!comment)
                return FLEET_REFUSE_MALFORMED;
        if (msg->unban) {
                /* lifting is the origin's: only the elements its ban put here go, those whose
                 * comment is still "jail@origin" (the kernel's word: after a restart the map
                 * does not know them; a listing per tombstone, which the origin's rate bounds) */
                size_t n = 0;

                (void) manager_unban(m, comment, &msg->addr, &n);
                fleet_record_remote(m->fleet, msg);
                return FLEET_OK;
        }
        if (msg->expires != 0 && msg->expires <= now)
                return FLEET_REFUSE_EXPIRED;
        bantime = msg->expires == 0 ? -1 : msg->expires - now;
        before = m->n_pending;
        if (pending_add(m, j, &msg->addr, 0, bantime, NULL) < 0)
                return FLEET_REFUSE_RATE;
        if (m->n_pending > before) {
                m->pending[m->n_pending - 1].comment = comment;
                m->pending[m->n_pending - 1].quiet = msg->behind > FLEET_QUIET_BEHIND;
        }
        fleet_record_remote(m->fleet, msg);
        return FLEET_OK;
}

void manager_fleet_start(Manager *m) {
        const FleetConf *f = &m->config->fleet;
        int r;

        if (!f->enabled || m->fleet)
                return;
        r = fleet_new(m->event, m->config, m->options.state_dir, fleet_apply, m, &m->fleet);
        if (r < 0)
                log_warning_errno(r, "fleet: not started, banning locally only: %m");
}

int manager_fleet_check(const Manager *m) {
        if (!m->config->fleet.enabled)
                return 0;
        return fleet_check_library();
}

static bool strv_equal(char *const *a, char *const *b) {
        for (; a && *a && b && *b; a++, b++)
                if (strcmp(*a, *b) != 0)
                        return false;
        return !(a && *a) && !(b && *b);
}

static bool streq_null(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

void manager_fleet_reload(Manager *m, const Config *old) {
        const FleetConf *n = &m->config->fleet, *o = &old->fleet;

        if (m->fleet && !n->enabled) {
                log_info("fleet: disabled by the reload; unsent bans stay in the outbox");
                m->fleet = fleet_free(m->fleet);
                return;
        }
        if (!m->fleet) {
                manager_fleet_start(m);
                return;
        }
        if (!strv_equal(n->urls, o->urls) || !streq_null(n->name, o->name) || !streq_null(n->user, o->user) ||
            !streq_null(n->password_file, o->password_file) || !streq_null(n->creds_file, o->creds_file) ||
            !streq_null(n->tls_ca, o->tls_ca) || !streq_null(n->tls_cert, o->tls_cert) || !streq_null(n->tls_key, o->tls_key) ||
            n->accept != o->accept || n->n_ignoreip != o->n_ignoreip ||
            (n->n_ignoreip && memcmp(n->ignoreip, o->ignoreip, n->n_ignoreip * sizeof *n->ignoreip) != 0) ||
            n->max_prefix4 != o->max_prefix4 || n->max_prefix6 != o->max_prefix6 || n->max_bantime_sec != o->max_bantime_sec ||
            n->rate != o->rate || n->rate_period_sec != o->rate_period_sec || n->stream_replicas != o->stream_replicas)
                log_warning("fleet: [fleet] changed; the running connection keeps its settings until nftjaild restarts (share applies now)");
}

void manager_fleet_free(Manager *m) {
        m->fleet = fleet_free(m->fleet);
        for (size_t i = 0; i < m->n_fleet_comments; i++)
                free(m->fleet_comments[i]);
        free(m->fleet_comments);
        m->fleet_comments = NULL;
        m->n_fleet_comments = 0;
}

/* The message of jail jc's ban of a/prefixlen, created now (unix seconds). */
static void fleet_msg_init(FleetMsg *msg, const JailConf *jc, const Addr *a, uint8_t prefixlen, int64_t now) {
        *msg = (FleetMsg) { .addr = *a, .prefixlen = a->family == AF_INET ? 32 : prefixlen, .created = now };
        addr_mask(&msg->addr, msg->prefixlen);
        snprintf(msg->jail, sizeof msg->jail, "%s", jc->name);
        msg->proto = jc->protocol ? jc->protocol : IPPROTO_TCP;
        for (size_t i = 0; !jc->allports && i < jc->n_ports && i < FLEET_PORTS_MAX; i++)
                msg->ports[msg->n_ports++] = jc->ports[i];
}

static int fleet_queue(Manager *m, FleetMsg *msg) {
        char as[ADDR_STRLEN];
        int r = fleet_submit(m->fleet, msg);

        if (r < 0)
                log_warning_errno(r, "fleet: cannot queue the %s of %s in %s, not shared: %m", msg->unban ? "unban" : "ban",
                                  addr_to_string(&msg->addr, as, sizeof as), msg->jail);
        return r;
}

void manager_fleet_batch(Manager *m, bool begin) {
        if (m->fleet)
                fleet_batch(m->fleet, begin);
}

void manager_fleet_publish(Manager *m, const PendingBan *p) {
        const JailConf *jc = p->jail->conf;
        int64_t now = (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC);
        NftElem e = { .prefixlen = 128 };
        FleetMsg msg;

        if (!fleet_shares_jail(&m->config->fleet, jc->name))
                return;
        (void) ban_elems_self(jc, &p->addr, m->self, m->n_self, 0, &e, 1);
        fleet_msg_init(&msg, jc, &p->addr, e.prefixlen, now);
        msg.expires = p->bantime_sec < 0 ? 0 : ban_end_sec(now, p->bantime_sec);
        msg.failures = p->failures;
        fleet_queue(m, &msg);
}

void manager_fleet_unbanned(Manager *m, const JailConf *jc, const NftElem *e) {
        FleetMsg msg;

        if (!fleet_shares_jail(&m->config->fleet, jc->name))
                return;
        fleet_msg_init(&msg, jc, &e->addr, e->prefixlen, (int64_t) (now_usec(CLOCK_REALTIME) / USEC_PER_SEC));
        msg.unban = true;
        if (fleet_queue(m, &msg) >= 0 && m->fleet_unban)
                m->fleet_unban->tombstones++;
}

void manager_fleet_unbanned_remote(Manager *m, const char *comment) {
        ManagerFleetUnban *u = m->fleet_unban;
        const char *at = strrchr(comment, '@');
        size_t jl = at ? (size_t) (at - comment) : 0;

        /* "jail@origin" as fleet_comment() writes it, of another node (ours never come back) */
        if (!at || jl == 0 || jl > JAIL_NAME_MAX || !fleet_name_ok(at + 1) ||
            (m->config->fleet.name && strcmp(at + 1, m->config->fleet.name) == 0))
                return;
        for (size_t i = 0; i < MIN(u->n_remote, (size_t) MANAGER_FLEET_UNBAN_REMOTE_MAX); i++)
                if (strcmp(u->remote[i].origin, at + 1) == 0 && strncmp(u->remote[i].jail, comment, jl) == 0 &&
                    u->remote[i].jail[jl] == 0)
                        return;
        if (u->n_remote < MANAGER_FLEET_UNBAN_REMOTE_MAX) {
                memcpy(u->remote[u->n_remote].jail, comment, jl);
                u->remote[u->n_remote].jail[jl] = 0;
                snprintf(u->remote[u->n_remote].origin, sizeof u->remote[0].origin, "%s", at + 1);
        }
        u->n_remote++;
}

void manager_fleet_log_catchup(Manager *m, size_t n) {
        char fa[48];
        const char *fields[] = { fa, NULL };

        snprintf(fa, sizeof fa, "NFTJAIL_FLEET_APPLIED=%zu", n);
        log_event(LOG_INFO, 0, NFTJAIL_MID_FLEET_CATCHUP, fields,
                  "fleet: catching up, %zu bans from the fleet applied (not logged one by one; each is in table fleet_remote)", n);
}

int manager_unban_fleet(Manager *m, const char *jail, const Addr *a, size_t *ret_n, ManagerFleetUnban *ret) {
        int r;

        *ret = (ManagerFleetUnban) {};
        if (!m->fleet)
                return -EOPNOTSUPP;
        m->fleet_unban = ret;
        r = manager_unban(m, jail, a, ret_n);
        m->fleet_unban = NULL;
        return r;
}

bool manager_fleet_status(const Manager *m, ManagerFleetStatus *ret) {
        FleetOriginStatus o[MANAGER_FLEET_ORIGINS_MAX];
        size_t n = MANAGER_FLEET_ORIGINS_MAX;
        FleetStatus st;

        if (!m->fleet)
                return false;
        fleet_status(m->fleet, &st);
        fleet_origins(m->fleet, o, &n);
        *ret = (ManagerFleetStatus) {
                .connected = st.connected, .outbox = st.outbox, .published = st.published,
                .received = st.received, .refused = st.refused, .stream_seq = st.stream_seq, .lag = st.lag, .n_origins = n,
        };
        memcpy(ret->name, st.name, sizeof ret->name);
        for (size_t i = 0; i < n; i++) {
                memcpy(ret->origins[i].name, o[i].name, sizeof ret->origins[i].name);
                ret->origins[i].in = o[i].in;
                ret->origins[i].refused = o[i].refused;
        }
        return true;
}

#else

bool manager_fleet_status(const Manager *m, ManagerFleetStatus *ret) {
        return false;
}

void manager_fleet_start(Manager *m) {
        if (m->config->fleet.enabled)
                log_warning("fleet: [fleet] is enabled but nftjaild was built without NATS (-Dfleet=disabled); banning locally only");
}

int manager_fleet_check(const Manager *m) {
        if (!m->config->fleet.enabled)
                return 0;
        log_error("fleet: [fleet] is enabled but nftjaild was built without NATS (-Dfleet=disabled)");
        return -EOPNOTSUPP;
}

void manager_fleet_free(Manager *m) {
}

void manager_fleet_reload(Manager *m, const Config *old) {
        manager_fleet_start(m);
}

void manager_fleet_publish(Manager *m, const PendingBan *p) {
}

void manager_fleet_batch(Manager *m, bool begin) {
}

void manager_fleet_unbanned(Manager *m, const JailConf *jc, const NftElem *e) {
}

void manager_fleet_unbanned_remote(Manager *m, const char *comment) {
}

void manager_fleet_log_catchup(Manager *m, size_t n) {
}

int manager_unban_fleet(Manager *m, const char *jail, const Addr *a, size_t *ret_n, ManagerFleetUnban *ret) {
        *ret = (ManagerFleetUnban) {};
        return -EOPNOTSUPP;
}

#endif
