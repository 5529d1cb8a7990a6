/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-event.h>

#include "addr.h"
#include "ban.h"
#include "conf.h"
#include "control.h"
#include "ctl-proto.h"
#include "log-ids.h"
#include "log.h"
#include "manager-internal.h"
#include "nft.h"
#include "reporter.h"
#include "source-file.h"
#include "source-journal.h"
#include "tracker.h"
#include "util/string-util.h"

#define PEER_GROUPS_MAX 256
#define ACCEPT_BURST 64
#define LIST_MAX 100000 /* entries in one "banned" reply; the rest is counted, not sent */
#define UNBAN_EVENTS_MAX 1000 /* unban events logged by one "unban --all"; then one summary */

typedef struct Conn Conn;

struct Control {
        sd_event *event;
        Manager *manager;
        char *path;
        int fd;
        bool bound;             /* the file at path is ours: unlink it at exit */
        sd_event_source *listen, *throttle;
        Conn *conns;
        size_t n_conns;
};

struct Conn {
        Control *control;
        Conn *prev, *next;
        int fd;
        sd_event_source *io, *timer;
        struct ucred cred;
        gid_t *groups;          /* supplementary groups at connect time (SO_PEERGROUPS) */
        size_t n_groups;
        CtlReader reader;
        char *out;
        size_t out_len, out_done;
};

static Conn *conn_free(Conn *k) {
        Control *c;

        if (!k)
                return NULL;
        c = k->control;
        if (k->prev)
                k->prev->next = k->next;
        else if (c->conns == k)
                c->conns = k->next;
        if (k->next)
                k->next->prev = k->prev;
        c->n_conns--;
        sd_event_source_disable_unref(k->io);
        sd_event_source_disable_unref(k->timer);
        if (k->fd >= 0)
                close(k->fd);
        ctl_reader_done(&k->reader);
        free(k->groups);
        free(k->out);
        free(k);
        return NULL;
}

/* ---- permissions ---- */

static gid_t *mfree_gids(gid_t *p) {
        free(p);
        return NULL;
}

static bool conn_in_group(const Conn *k, gid_t gid) {
        if (k->cred.gid == gid)
                return true;
        for (size_t i = 0; i < k->n_groups; i++)
                if (k->groups[i] == gid)
                        return true;
        return false;
}

/* NULL when k may run cmd, else why not. */
static const char *conn_refusal(const Conn *k, CtlCommand cmd, char *buf, size_t len) {
        const Config *cf = k->control->manager->config;

        if (k->cred.uid == 0)
                return NULL;
        if (!cf->socket_group) {
                snprintf(buf, len, "permission denied: only root may use the control socket (uid %u); "
                                   "set socket_group in nftjail.conf to allow a group the read-only commands",
                         (unsigned) k->cred.uid);
                return buf;
        }
        if (!conn_in_group(k, cf->socket_gid)) {
                snprintf(buf, len, "permission denied: uid %u is neither root nor in group '%s'",
                         (unsigned) k->cred.uid, cf->socket_group);
                return buf;
        }
        if (!ctl_command_read_only(cmd)) {
                snprintf(buf, len, "permission denied: '%s' needs root (group '%s' may run status, banned and ping)",
                         ctl_command_to_string(cmd), cf->socket_group);
                return buf;
        }
        return NULL;
}

/* ---- replies ---- */

static int set_str(json_t *o, const char *key, const char *s) {
        json_t *v = ctl_json_string(s);
        return v ? json_object_set_new(o, key, v) : -1;
}

static char *elem_addr_string(const NftElem *e, char *buf, size_t len) {
        char as[ADDR_STRLEN];

        addr_to_string(&e->addr, as, sizeof as);
        if (e->addr.family == AF_INET6 && e->prefixlen && e->prefixlen < 128)
                snprintf(buf, len, "%s/%u", as, e->prefixlen);
        else
                snprintf(buf, len, "%s", as);
        return buf;
}

static const char *proto_string(uint8_t p) {
        switch (p) {
        case IPPROTO_TCP:
                return "tcp";
        case IPPROTO_UDP:
                return "udp";
        case IPPROTO_SCTP:
                return "sctp";
        default:
                return "other";
        }
}

static json_t *jail_source_json(const Jail *j) {
        json_t *a = json_array(), *s;

        if (!a)
                return NULL;
        if (j->files) {
                json_t *paths = json_array();
                s = json_pack("{s:s, s:I}", "type", "file", "lines", (json_int_t) source_file_lines(j->files));
                for (size_t i = 0; paths && j->conf->logpath && j->conf->logpath[i]; i++)
                        if (json_array_append_new(paths, json_string(j->conf->logpath[i])) < 0)
                                paths = (json_decref(paths), NULL);
                if (!s || !paths || json_object_set_new(s, "paths", paths) < 0 || json_array_append_new(a, s) < 0) {
                        json_decref(s);
                        json_decref(a);
                        return NULL;
                }
        }
        if (j->journal) {
                s = json_pack("{s:s, s:I}", "type", "journal", "entries", (json_int_t) source_journal_entries(j->journal));
                if (!s || set_str(s, "match", j->conf->journalmatch ? j->conf->journalmatch : "") < 0 ||
                    json_array_append_new(a, s) < 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static json_t *jail_summary_json(const Jail *j) {
        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "lines", (json_int_t) j->lines, "failures_current",
                              (json_int_t) tracker_size(j->tracker), "failures_total", (json_int_t) j->failures,
                              "ignored", (json_int_t) j->ignored, "lines_cut", (json_int_t) j->lines_cut,
                              "bans_total", (json_int_t) j->bans_total);

        if (!o || set_str(o, "name", j->conf->name) < 0 || json_object_set_new(o, "sources", jail_source_json(j)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

static json_t *cmd_ping(Control *c) {
        json_t *r = ctl_reply_new();

        if (r && json_object_set_new(r, "pong", json_true()) < 0)
                r = (json_decref(r), NULL);
        return r;
}

static json_t *cmd_status_all(Control *c) {
        Manager *m = c->manager;
        json_t *r = ctl_reply_new(), *jails = json_array();
        uint64_t total = 0;
        usec_t now = now_usec(CLOCK_MONOTONIC);

        if (!r || !jails)
                goto oom;
        for (size_t i = 0; i < m->n_jails; i++) {
                json_t *o = jail_summary_json(&m->jails[i]);
                if (!o || json_array_append_new(jails, o) < 0)
                        goto oom;
                total += m->jails[i].bans_total;
        }
        if (set_str(r, "daemon_version", NFTJAIL_VERSION) < 0 ||
            json_object_set_new(r, "pid", json_integer(getpid())) < 0 ||
            json_object_set_new(r, "uptime_sec", json_integer((json_int_t) ((now - m->started) / USEC_PER_SEC))) < 0 ||
            json_object_set_new(r, "bans_total", json_integer((json_int_t) total)) < 0 ||
            json_object_set_new(r, "elements_live",
                                json_integer((json_int_t) ban_map_count(m->bans, now_usec(CLOCK_BOOTTIME)))) < 0 ||
            json_object_set_new(r, "jails", TAKE_PTR(jails)) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(jails);
        return NULL;
}

static int list_kernel(Control *c, NftListed **ret, json_t **ret_err) {
        int n = nft_list(c->manager->nft, ret);

        if (n < 0) {
                log_error_errno(n, "control: failed to list the sets of table inet %s: %m", NFT_TABLE);
                *ret_err = ctl_reply_error("cannot list table inet %s: %s", NFT_TABLE, strerror(-n));
        }
        return n;
}

/* Orders listed elements by address and prefix length (for grouping). */
static int listed_compare_addr(const void *x, const void *y) {
        const NftListed *a = x, *b = y;
        int r;

        if (a->elem.addr.family != b->elem.addr.family)
                return a->elem.addr.family < b->elem.addr.family ? -1 : 1;
        r = memcmp(a->elem.addr.bytes, b->elem.addr.bytes, sizeof a->elem.addr.bytes);
        if (r != 0)
                return r;
        return (int) a->elem.prefixlen - (int) b->elem.prefixlen;
}

static json_t *cmd_status_jail(Control *c, const char *name) {
        _cleanup_free_ NftListed *l = NULL;
        json_t *r = NULL, *o = NULL, *banned = NULL, *err = NULL;
        Jail *j = manager_find_jail(c->manager, name);
        size_t n_mine = 0, n_addrs = 0;
        const JailConf *jc;
        int n;

        if (!j)
                return ctl_reply_error("no jail '%s'", name);
        jc = j->conf;
        n = list_kernel(c, &l, &err);
        if (n < 0)
                return err;
        r = ctl_reply_new();
        o = jail_summary_json(j);
        banned = json_array();
        if (!r || !o || !banned)
                goto oom;
        /* one entry per address (an address has one element per port), with the longest time
         * left: the jail's elements sorted by address, then grouped (linear after the sort, so
         * that a million bans do not take quadratic time) */
        for (int i = 0; i < n; i++)
                if (strcmp(l[i].comment, jc->name) == 0) {
                        if ((size_t) i != n_mine)
                                l[n_mine] = l[i];
                        n_mine++;
                }
        if (n_mine > 1)
                qsort(l, n_mine, sizeof *l, listed_compare_addr);
        for (size_t i = 0; i < n_mine;) {
                char as[ADDR_PREFIX_STRLEN];
                bool permanent = false;
                uint64_t exp = 0;
                size_t g = i;
                json_t *b;

                for (; g < n_mine && listed_compare_addr(&l[i], &l[g]) == 0; g++) {
                        permanent = permanent || l[g].elem.timeout_ms == 0;
                        exp = MAX(exp, l[g].expires_ms);
                }
                n_addrs++;
                if (json_array_size(banned) < LIST_MAX) {
                        b = json_pack("{s:s, s:I, s:b}", "addr", elem_addr_string(&l[i].elem, as, sizeof as),
                                      "expires_ms", (json_int_t) (permanent ? 0 : exp), "permanent", permanent);
                        if (!b || json_array_append_new(banned, b) < 0)
                                goto oom;
                }
                i = g;
        }
        {
                json_t *ports = json_array();
                if (!ports || json_object_set_new(o, "ports", ports) < 0)
                        goto oom;
                for (size_t i = 0; !jc->allports && i < jc->n_ports; i++)
                        if (json_array_append_new(ports, json_integer(jc->ports[i])) < 0)
                                goto oom;
        }
        if (json_object_set_new(o, "bans_current", json_integer((json_int_t) n_addrs)) < 0 ||
            json_object_set_new(o, "banned", TAKE_PTR(banned)) < 0 ||
            json_object_set_new(o, "maxretry", json_integer(jc->maxretry)) < 0 ||
            json_object_set_new(o, "findtime_sec", json_integer(jc->findtime_sec)) < 0 ||
            json_object_set_new(o, "bantime_sec", json_integer(jc->bantime_sec)) < 0 ||
            json_object_set_new(o, "allports", json_boolean(jc->allports)) < 0 ||
            set_str(o, "protocol", proto_string(jc->protocol)) < 0 ||
            json_object_set_new(r, "jail", TAKE_PTR(o)) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(o);
        json_decref(banned);
        return NULL;
}

static bool elem_matches_addr(const NftElem *e, const Addr *a) {
        AddrPrefix p;

        if (addr_equal(&e->addr, a))
                return true;
        if (e->addr.family != AF_INET6 || a->family != AF_INET6 || !e->prefixlen || e->prefixlen >= 128)
                return false;
        p = (AddrPrefix) { .addr = e->addr, .prefixlen = e->prefixlen };
        return addr_prefix_contains(&p, a);
}

static json_t *cmd_banned(Control *c, const char *addr) {
        _cleanup_free_ NftListed *l = NULL;
        json_t *r = NULL, *bans = NULL, *err = NULL;
        size_t total = 0;
        Addr a;
        int n;

        if (addr && addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        n = list_kernel(c, &l, &err);
        if (n < 0)
                return err;
        r = ctl_reply_new();
        bans = json_array();
        if (!r || !bans)
                goto oom;
        for (int i = 0; i < n; i++) {
                const NftElem *e = &l[i].elem;
                char as[ADDR_PREFIX_STRLEN];
                json_t *b;

                if (addr && !elem_matches_addr(e, &a))
                        continue;
                if (total++ >= LIST_MAX)
                        continue;
                b = json_pack("{s:s, s:s, s:I, s:I, s:b}", "addr", elem_addr_string(e, as, sizeof as), "set",
                              l[i].set ? l[i].set : "", "timeout_ms", (json_int_t) e->timeout_ms, "expires_ms",
                              (json_int_t) l[i].expires_ms, "permanent", e->timeout_ms == 0);
                if (!b || set_str(b, "jail", l[i].comment) < 0 ||
                    json_object_set_new(b, "proto", e->port ? ctl_json_string(proto_string(e->proto)) : json_null()) < 0 ||
                    json_object_set_new(b, "port", e->port ? json_integer(e->port) : json_null()) < 0 ||
                    json_array_append_new(bans, b) < 0) {
                        json_decref(b);
                        goto oom;
                }
        }
        if (json_object_set_new(r, "total", json_integer((json_int_t) total)) < 0 ||
            json_object_set_new(r, "truncated", json_boolean(total > LIST_MAX)) < 0 ||
            json_object_set_new(r, "bans", TAKE_PTR(bans)) < 0)
                goto oom;
        return r;
oom:
        json_decref(r);
        json_decref(bans);
        return NULL;
}

static void log_control(const Conn *k, const char *what) {
        log_info("control: uid %u (pid %d): %s", (unsigned) k->cred.uid, (int) k->cred.pid, what);
}

static json_t *cmd_ban(Control *c, const Conn *k, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail")),
                   *addr = json_string_value(json_object_get(req, "addr"));
        json_t *bt = json_object_get(req, "bantime"), *r;
        Manager *m = c->manager;
        int64_t bantime;
        BanSkip skip;
        char what[256];
        bool report;
        Jail *j;
        Addr a;
        int e;

        j = manager_find_jail(m, name);
        if (!j)
                return ctl_reply_error("no jail '%s'", name);
        if (addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        report = json_is_true(json_object_get(req, "report"));
        /* refused before anything is banned, so the caller knows nothing was reported */
        if (report && (!m->reporter || !j->conf->abuseipdb))
                return ctl_reply_error("%s: reporting not available (the jail has no AbuseIPDB action, or no API key)",
                                       name);
        bantime = bt ? (int64_t) json_integer_value(bt) : j->conf->bantime_sec;
        skip = ban_allowed(j->conf, &a, m->self, m->n_self);
        if (skip != BAN_OK)
                return ctl_reply_error("%s: %s is never banned (%s)", name, addr, ban_skip_to_string(skip));
        snprintf(what, sizeof what, "ban %s %s for %llds", name, addr, (long long) bantime);
        log_control(k, what);
        e = manager_ban(m, j, &a, bantime);
        if (e < 0)
                return ctl_reply_error("%s: failed to ban %s: %s", name, addr, strerror(-e));
        if (report && reporter_submit_ban(m->reporter, j->conf, &a, 0, 0, "manual ban by the administrator") < 0)
                return ctl_reply_error("%s: banned %s, but queueing its report failed", name, addr);
        r = ctl_reply_new();
        if (r && (set_str(r, "jail", name) < 0 || set_str(r, "addr", addr) < 0 ||
                  json_object_set_new(r, "bantime_sec", json_integer(bantime)) < 0))
                r = (json_decref(r), NULL);
        return r;
}

static void log_unban_event(const char *jail, const Addr *a) {
        char as[ADDR_STRLEN], fj[160], fa[80];
        const char *fields[] = { fj, fa, NULL };

        addr_to_string(a, as, sizeof as);
        snprintf(fj, sizeof fj, "NFTJAIL_JAIL=%s", jail);
        snprintf(fa, sizeof fa, "NFTJAIL_ADDR=%s", as);
        log_event(LOG_INFO, 0, NFTJAIL_MID_UNBAN, fields, "%s: unbanned %s", jail, as);
}

/* Deletes the kernel elements that match (comment == jail unless NULL, address a unless NULL),
 * whether the daemon put them there or not (a ban from before a restart, one added by hand).
 * *ret_n = elements deleted. Returns 0 or a negative errno. */
static int kernel_unban(Control *c, const char *jail, const Addr *a, size_t *ret_n) {
        _cleanup_free_ NftListed *l = NULL;
        _cleanup_free_ NftElem *elems = NULL;
        _cleanup_free_ char (*names)[NFT_COMMENT_MAX + 1] = NULL;
        Manager *m = c->manager;
        size_t n = 0, events = 0;
        int k, r = 0;

        *ret_n = 0;
        k = nft_list(m->nft, &l);
        if (k == -ENOENT)
                return 0;
        if (k < 0)
                return k;
        elems = calloc(MAX(k, 1), sizeof *elems);
        names = calloc(MAX(k, 1), sizeof *names);
        if (!elems || !names)
                return -ENOMEM;
        for (int i = 0; i < k; i++) {
                if ((jail && strcmp(l[i].comment, jail) != 0) || (a && !elem_matches_addr(&l[i].elem, a)))
                        continue;
                elems[n] = l[i].elem;
                elems[n].comment = NULL;
                memcpy(names[n], l[i].comment, sizeof names[n]);
                n++;
        }
        /* an element may expire between the dump and the delete: the kernel then refuses the
         * whole transaction with ENOENT; drop that one and try again */
        for (size_t left = n, tries = 0; left > 0 && tries <= n; tries++) {
                size_t bad = SIZE_MAX;

                r = nft_apply(m->nft, NFT_OP_DEL, elems, left, NULL, &bad);
                if (r >= 0 || r != -ENOENT || bad >= left)
                        break;
                elems[bad] = elems[left - 1];
                memcpy(names[bad], names[left - 1], sizeof names[bad]);
                left--;
                n--;
                r = 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool first = true;

                ban_map_remove(m->bans, &elems[i]);
                /* elements come from the dump grouped by set, and an address has one per port:
                 * one event per (jail, address) among neighbours, at most UNBAN_EVENTS_MAX */
                if (i > 0 && addr_equal(&elems[i - 1].addr, &elems[i].addr) && strcmp(names[i - 1], names[i]) == 0)
                        first = false;
                if (first && events++ < UNBAN_EVENTS_MAX)
                        log_unban_event(names[i], &elems[i].addr);
        }
        if (events > UNBAN_EVENTS_MAX)
                log_info("control: %zu more addresses unbanned (events are logged for the first %u)",
                         events - UNBAN_EVENTS_MAX, UNBAN_EVENTS_MAX);
        *ret_n = n;
        return 0;
}

static json_t *cmd_unban(Control *c, const Conn *k, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail")),
                   *addr = json_string_value(json_object_get(req, "addr"));
        Manager *m = c->manager;
        size_t n1 = 0, n2 = 0;
        char what[256];
        Jail *j = NULL;
        json_t *r;
        Addr a;
        int e;

        if (addr && addr_from_string(addr, &a) < 0)
                return ctl_reply_error("'%s' is not an IP address", addr);
        if (name)
                j = manager_find_jail(m, name);
        snprintf(what, sizeof what, "unban %s%s%s", addr ? addr : "--all", name ? " " : "", name ? name : "");
        log_control(k, what);
        /* the daemon's own bans first (they also reset the failure counts), then whatever else
         * the kernel holds for that address or jail */
        if (!name || j) {
                e = manager_unban(m, j, addr ? &a : NULL, &n1);
                if (e < 0)
                        return ctl_reply_error("failed to unban: %s", strerror(-e));
        }
        e = kernel_unban(c, name, addr ? &a : NULL, &n2);
        if (e < 0) {
                log_error_errno(e, "control: failed to delete elements: %m");
                return ctl_reply_error("failed to unban: %s", strerror(-e));
        }
        if (name && !j && n2 == 0)
                return ctl_reply_error("no jail '%s' (and no element with that comment)", name);
        r = ctl_reply_new();
        if (r && json_object_set_new(r, "unbanned", json_integer((json_int_t) (n1 + n2))) < 0)
                r = (json_decref(r), NULL);
        return r;
}

typedef struct Capture {
        json_t *lines;
} Capture;

static void capture_error(int level, const char *message_id, const char *msg, void *userdata) {
        Capture *cap = userdata;

        /* configuration diagnostics come from ConfDiags, with their file and line */
        if (message_id && strcmp(message_id, NFTJAIL_MID_CONFIG_ERR) == 0)
                return;
        if (json_array_size(cap->lines) < 100)
                (void) json_array_append_new(cap->lines, ctl_json_string(msg));
}

static void strv_freep(char ***l) {
        strv_free(*l);
}

static json_t *cmd_reload(Control *c, const Conn *k, const json_t *req) {
        const char *name = json_string_value(json_object_get(req, "jail"));
        bool unban = json_is_true(json_object_get(req, "unban"));
        _cleanup_(conf_diags_done) ConfDiags diags = {};
        _cleanup_(json_decrefp) json_t *r = NULL, *lines = json_array(), *captured = json_array();
        _cleanup_(strv_freep) char **old = NULL;
        Manager *m = c->manager;
        Capture cap = { .lines = captured };
        size_t unbanned = 0;
        int e;

        if (!lines || !captured)
                return NULL;
        for (size_t i = 0; i < m->n_jails; i++)
                if (strv_extend(&old, m->jails[i].conf->name) < 0)
                        return NULL;
        if (name) {
                /* refuse before changing anything when JAIL is not in the new configuration
                 * (one that does not load is left to manager_reload(), which reports why) */
                Config *nc = NULL;
                bool found = false;

                if (config_load(m->options.config_dir, &nc, NULL) >= 0) {
                        for (size_t i = 0; i < nc->n_jails && !found; i++)
                                found = strcmp(nc->jails[i].name, name) == 0;
                        config_free(nc);
                        if (!found)
                                return ctl_reply_error("the new configuration has no jail '%s'; nothing was reloaded",
                                                       name);
                }
        }
        log_control(k, unban ? "reload --unban" : "reload");
        log_set_capture(capture_error, &cap);
        e = manager_reload(m, &diags);
        log_set_capture(NULL, NULL);

        for (size_t i = 0; i < diags.n; i++) {
                char buf[4096];
                if (json_array_append_new(lines, ctl_json_string(conf_diag_format(&diags.v[i], buf, sizeof buf))) < 0)
                        return NULL;
        }
        if (json_array_extend(lines, captured) < 0)
                return NULL;
        if (e < 0)
                r = ctl_reply_error("the configuration has errors; the running one is kept");
        else if (name && !manager_find_jail(m, name))
                r = ctl_reply_error("the configuration was reloaded, but it has no jail '%s' any more", name);
        else {
                for (char **o = old; unban && o && *o; o++) {
                        size_t n = 0;

                        if (manager_find_jail(m, *o))
                                continue;
                        e = kernel_unban(c, *o, NULL, &n);
                        if (e < 0)
                                log_warning_errno(e, "control: failed to remove the bans of removed jail %s, ignoring: %m",
                                                  *o);
                        unbanned += n;
                }
                r = ctl_reply_new();
                if (r && (json_object_set_new(r, "jails", json_integer((json_int_t) m->n_jails)) < 0 ||
                          json_object_set_new(r, "unbanned", json_integer((json_int_t) unbanned)) < 0))
                        return NULL;
        }
        if (!r || json_object_set_new(r, "diagnostics", TAKE_PTR(lines)) < 0)
                return NULL;
        return TAKE_PTR(r);
}

/* ---- connections ---- */

static json_t *conn_dispatch(Conn *k, const char *buf, size_t len) {
        Control *c = k->control;
        _cleanup_(json_decrefp) json_t *req = NULL;
        char err[512];
        CtlCommand cmd;
        const char *why;

        if (ctl_message_parse(buf, len, &req, err, sizeof err) < 0 ||
            ctl_request_validate(req, &cmd, err, sizeof err) < 0)
                return ctl_reply_error("bad request: %s", err);
        why = conn_refusal(k, cmd, err, sizeof err);
        if (why)
                return ctl_reply_error("%s", why);
        switch (cmd) {
        case CTL_PING:
                return cmd_ping(c);
        case CTL_STATUS: {
                json_t *jail = json_object_get(req, "jail");
                return jail ? cmd_status_jail(c, json_string_value(jail)) : cmd_status_all(c);
        }
        case CTL_BANNED:
                return cmd_banned(c, json_string_value(json_object_get(req, "addr")));
        case CTL_BAN:
                return cmd_ban(c, k, req);
        case CTL_UNBAN:
                return cmd_unban(c, k, req);
        case CTL_RELOAD:
                return cmd_reload(c, k, req);
        default:
                return ctl_reply_error("unknown command");
        }
}

/* Writes what it can; frees the connection when the reply is out or the client is gone. */
static void conn_write(Conn *k) {
        while (k->out_done < k->out_len) {
                ssize_t n = send(k->fd, k->out + k->out_done, k->out_len - k->out_done, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return;
                        conn_free(k);
                        return;
                }
                k->out_done += (size_t) n;
        }
        conn_free(k);
}

static void conn_reply(Conn *k, json_t *reply) {
        int r;

        if (!reply) {
                log_oom();
                reply = ctl_reply_error("out of memory");
                if (!reply) {
                        conn_free(k);
                        return;
                }
        }
        r = ctl_frame_encode(reply, CTL_REPLY_MAX, &k->out, &k->out_len);
        if (r == -EMSGSIZE) {
                json_t *e = ctl_reply_error("the reply would exceed %u bytes", CTL_REPLY_MAX);
                r = e ? ctl_frame_encode(e, CTL_REPLY_MAX, &k->out, &k->out_len) : -ENOMEM;
                json_decref(e);
        }
        json_decref(reply);
        if (r < 0) {
                conn_free(k);
                return;
        }
        ctl_reader_done(&k->reader);
        (void) sd_event_source_set_io_events(k->io, EPOLLOUT);
        (void) sd_event_source_set_time(k->timer, now_usec(CLOCK_MONOTONIC) + CONTROL_WRITE_TIMEOUT_USEC);
        conn_write(k);
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Conn *k = userdata;
        char buf[8192];

        if (k->out) {
                conn_write(k);
                return 0;
        }
        /* bounded per wakeup: one client cannot hold the loop */
        for (unsigned round = 0; round < 16; round++) {
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                size_t off = 0;

                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        conn_free(k);
                        return 0;
                }
                if (n == 0) {
                        /* gone before sending a whole request: nobody to answer */
                        conn_free(k);
                        return 0;
                }
                while (off < (size_t) n) {
                        size_t used = 0;
                        int r = ctl_reader_feed(&k->reader, buf + off, (size_t) n - off, &used);

                        off += used;
                        if (r == -EMSGSIZE) {
                                conn_reply(k, ctl_reply_error("bad request: longer than %u bytes", CTL_REQUEST_MAX));
                                return 0;
                        }
                        if (r == -EBADMSG) {
                                conn_reply(k, ctl_reply_error("bad request: empty frame"));
                                return 0;
                        }
                        if (r < 0) {
                                conn_reply(k, NULL);
                                return 0;
                        }
                        if (r > 0) {
                                /* one request per connection: anything after it is ignored */
                                conn_reply(k, conn_dispatch(k, k->reader.buf, k->reader.len));
                                return 0;
                        }
                }
        }
        return 0;
}

static int conn_on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Conn *k = userdata;

        log_debug("control: dropping a connection of uid %u (pid %d) that was too slow", (unsigned) k->cred.uid,
                  (int) k->cred.pid);
        conn_free(k);
        return 0;
}

/* Best effort, for a client refused before it gets a connection slot. */
static void send_refusal(int fd, const char *msg) {
        _cleanup_free_ char *out = NULL;
        json_t *e = ctl_reply_error("%s", msg);
        size_t len;

        if (e && ctl_frame_encode(e, CTL_REPLY_MAX, &out, &len) >= 0)
                (void) !send(fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        json_decref(e);
}

static void peer_groups(Conn *k) {
        gid_t g[PEER_GROUPS_MAX];
        socklen_t len = sizeof g;

        /* The groups the peer process holds, read by the kernel at connect(): no NSS lookup
         * that could block the loop, and the same groups the kernel checked against the
         * socket's mode. More than PEER_GROUPS_MAX: ERANGE tells the size; ask again. */
        if (getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
                if (errno != ERANGE || len == 0)
                        return;
                k->groups = malloc(len);
                if (!k->groups || getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, k->groups, &len) < 0) {
                        k->groups = mfree_gids(k->groups);
                        return;
                }
        } else if (len > 0) {
                k->groups = malloc(len);
                if (!k->groups)
                        return;
                memcpy(k->groups, g, len);
        }
        k->n_groups = len / sizeof(gid_t);
}

static int control_on_throttle(sd_event_source *s, uint64_t usec, void *userdata) {
        Control *c = userdata;

        (void) sd_event_source_set_enabled(c->listen, SD_EVENT_ON);
        return 0;
}

static int control_on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Control *c = userdata;

        for (unsigned i = 0; i < ACCEPT_BURST; i++) {
                _cleanup_close_ int cfd = -EBADF;
                struct ucred cred;
                socklen_t len = sizeof cred;
                size_t same = 0;
                Conn *k;
                int r;

                cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return 0;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* out of fds: pause accepting a moment instead of spinning */
                                log_warning_errno(errno, "control: cannot accept a connection, pausing: %m");
                                (void) sd_event_source_set_enabled(c->listen, SD_EVENT_OFF);
                                (void) sd_event_source_set_time(c->throttle,
                                                                now_usec(CLOCK_MONOTONIC) + 100 * USEC_PER_MSEC);
                                (void) sd_event_source_set_enabled(c->throttle, SD_EVENT_ONESHOT);
                                return 0;
                        }
                        log_warning_errno(errno, "control: accept failed, ignoring: %m");
                        return 0;
                }
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
                        log_warning_errno(errno, "control: SO_PEERCRED failed, dropping the connection: %m");
                        continue;
                }
                for (Conn *o = c->conns; o; o = o->next)
                        if (o->cred.uid == cred.uid)
                                same++;
                /* root keeps CONTROL_CONN_PER_UID slots that other users cannot take */
                if (c->n_conns >= CONTROL_CONN_MAX ||
                    (cred.uid != 0 && (same >= CONTROL_CONN_PER_UID ||
                                       c->n_conns >= CONTROL_CONN_MAX - CONTROL_CONN_PER_UID))) {
                        send_refusal(cfd, "too many connections, try again");
                        continue;
                }
                k = calloc(1, sizeof *k);
                if (!k) {
                        log_oom();
                        continue;
                }
                k->control = c;
                k->cred = cred;
                k->fd = TAKE_FD(cfd);
                ctl_reader_init(&k->reader, CTL_REQUEST_MAX);
                k->next = c->conns;
                if (c->conns)
                        c->conns->prev = k;
                c->conns = k;
                c->n_conns++;
                peer_groups(k);
                r = sd_event_add_io(c->event, &k->io, k->fd, EPOLLIN, conn_on_io, k);
                if (r >= 0)
                        r = sd_event_add_time(c->event, &k->timer, CLOCK_MONOTONIC,
                                              now_usec(CLOCK_MONOTONIC) + CONTROL_READ_TIMEOUT_USEC, 0, conn_on_timeout, k);
                if (r < 0) {
                        log_warning_errno(r, "control: cannot watch a connection, dropping it: %m");
                        conn_free(k);
                }
        }
        return 0;
}

/* ---- the socket ---- */

static int socket_apply_mode(const char *path, const Config *cf) {
        gid_t gid = cf->socket_group ? cf->socket_gid : 0;
        mode_t mode = cf->socket_group ? 0660 : 0600;

        if (chown(path, 0, gid) < 0 && geteuid() == 0)
                return -errno;
        if (chmod(path, mode) < 0)
                return -errno;
        return 0;
}

void control_config_changed(Control *c) {
        int r;

        if (!c)
                return;
        r = socket_apply_mode(c->path, c->manager->config);
        if (r < 0)
                log_warning_errno(r, "control: cannot set the owner and mode of %s, ignoring: %m", c->path);
}

/* 1 when a daemon answers on path, 0 when the file is stale or missing, negative on error
 * (-EEXIST: something that is not a socket is in the way). */
static int socket_in_use(const char *path, const struct sockaddr_un *sa, socklen_t salen) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *) sa, salen) >= 0 || errno == EAGAIN)
                return 1;
        return 0;
}

int control_new(sd_event *event, const char *path, Manager *m, Control **ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *dir = NULL;
        socklen_t salen;
        Control *c;
        mode_t old_umask;
        int r;

        if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(EINVAL, "control socket path '%s' is empty or too long", path ? path : "");
        memcpy(sa.sun_path, path, strlen(path));
        salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);

        dir = strdup(path);
        if (!dir)
                return log_oom();
        if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "failed to create the directory of %s: %m", path);

        r = socket_in_use(path, &sa, salen);
        if (r < 0)
                return log_error_errno(r, "%s exists and is not a socket, refusing to remove it: %m", path);
        if (r > 0)
                return log_error_errno(EADDRINUSE, "another daemon answers on %s: %m", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "failed to remove the stale socket %s: %m", path);

        c = calloc(1, sizeof *c);
        if (!c)
                return log_oom();
        c->event = sd_event_ref(event);
        c->manager = m;
        c->fd = -EBADF;
        c->path = strdup(path);
        if (!c->path) {
                control_free(c);
                return log_oom();
        }
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
                r = log_error_errno(errno, "failed to create the control socket: %m");
                goto fail;
        }
        /* born 0600: nobody else may connect before the mode below is set */
        old_umask = umask(0177);
        r = bind(c->fd, (struct sockaddr *) &sa, salen);
        umask(old_umask);
        if (r < 0) {
                r = log_error_errno(errno, "failed to bind the control socket %s: %m", path);
                goto fail;
        }
        c->bound = true;
        r = socket_apply_mode(path, m->config);
        if (r < 0) {
                log_error_errno(r, "failed to set the owner and mode of %s: %m", path);
                goto fail;
        }
        if (listen(c->fd, SOMAXCONN) < 0) {
                r = log_error_errno(errno, "failed to listen on %s: %m", path);
                goto fail;
        }
        r = sd_event_add_io(event, &c->listen, c->fd, EPOLLIN, control_on_accept, c);
        if (r >= 0)
                r = sd_event_add_time(event, &c->throttle, CLOCK_MONOTONIC, 0, 0, control_on_throttle, c);
        if (r < 0) {
                log_error_errno(r, "failed to watch the control socket: %m");
                goto fail;
        }
        (void) sd_event_source_set_enabled(c->throttle, SD_EVENT_OFF);
        log_info("control socket %s (%s)", path, m->config->socket_group ? "0660, group may read" : "0600, root only");
        *ret = c;
        return 0;
fail:
        control_free(c);
        return r;
}

Control *control_free(Control *c) {
        if (!c)
                return NULL;
        while (c->conns)
                conn_free(c->conns);
        sd_event_source_disable_unref(c->listen);
        sd_event_source_disable_unref(c->throttle);
        if (c->fd >= 0)
                close(c->fd);
        if (c->bound)
                (void) unlink(c->path);
        sd_event_unref(c->event);
        free(c->path);
        free(c);
        return NULL;
}
