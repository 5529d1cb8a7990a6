/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-internal.h"

static int parse_loglevel(const char *s) {
        static const struct {
                const char *name;
                int level;
        } t[] = {
                { "CRITICAL", LOG_CRIT }, { "ERROR", LOG_ERR }, { "WARNING", LOG_WARNING }, { "WARN", LOG_WARNING },
                { "NOTICE", LOG_NOTICE }, { "INFO", LOG_INFO }, { "DEBUG", LOG_DEBUG }, { "TRACEDEBUG", LOG_DEBUG },
                { "HEAVYDEBUG", LOG_DEBUG },
        };
        unsigned long v;

        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (strcasecmp(t[i].name, s) == 0)
                        return t[i].level;
        if (parse_uint(s, 7, &v) >= 0)
                return (int) v;
        return -EINVAL;
}

bool abuseipdb_url_ok(const char *url) {
        const char *h;
        size_t n;

        if (strncmp(url, "https://", 8) == 0)
                return url[8] != 0;
        if (strncmp(url, "http://", 7) != 0)
                return false;
        h = url + 7;
        n = strcspn(h, "/?#");
        for (const char *const *l = (const char *const[]) { "localhost", "127.0.0.1", "[::1]", NULL }; *l; l++) {
                size_t k = strlen(*l);
                if (n >= k && strncmp(h, *l, k) == 0 && (n == k || h[k] == ':'))
                        return true;
        }
        return false;
}

/* [abuseipdb] in nftjail.conf(.local). Raw values: the comment template uses %(name)s itself. */
static int abuseipdb_conf_load(const Ini *ini, Config *c, ConfDiags *d) {
        const IniSection *sec = ini_find_section(ini, "abuseipdb");
        AbuseIPDBConf *a = &c->abuseipdb;
        int r;

        if (!sec)
                return 0;
        for (size_t i = 0; i < sec->n_entries; i++) {
                IniEntry *e = sec->entries[i];
                unsigned long v;
                char qb[128];

                e->used = true;
                if (strcmp(e->key, "enabled") == 0) {
                        int b = parse_bool(e->value);
                        if (b < 0)
                                r = ini_diag(d, e->file, e->line, true, "[abuseipdb] 'enabled': '%s' is not a boolean", q(e->value, qb, sizeof qb));
                        else
                                a->enabled = b, r = 0;
                } else if (strcmp(e->key, "url") == 0) {
                        if (!abuseipdb_url_ok(e->value))
                                r = ini_diag(d, e->file, e->line, true,
                                             "[abuseipdb] 'url': '%s' is not https:// (plain http only to a loopback host)", q(e->value, qb, sizeof qb));
                        else {
                                char *u = strdup(e->value);
                                if (!u)
                                        return -ENOMEM;
                                while (strlen(u) > 8 && u[strlen(u) - 1] == '/')
                                        u[strlen(u) - 1] = 0;
                                free(a->url);
                                a->url = u;
                                r = 0;
                        }
                } else if (strcmp(e->key, "apikey_file") == 0 || strcmp(e->key, "comment") == 0) {
                        char **p = e->key[0] == 'a' ? &a->apikey_file : &a->comment, *t = strdup(e->value);
                        if (!t)
                                return -ENOMEM;
                        free(*p);
                        *p = t;
                        r = 0;
                } else if (strcmp(e->key, "timeout") == 0 || strcmp(e->key, "daily_quota") == 0) {
                        bool to = e->key[0] == 't';
                        if (parse_uint(e->value, to ? 600 : 1000000, &v) < 0 || v == 0)
                                r = ini_diag(d, e->file, e->line, true, "[abuseipdb] '%s': '%s' is not a number in 1..%u", e->key,
                                             q(e->value, qb, sizeof qb), to ? 600 : 1000000);
                        else {
                                *(to ? &a->timeout_sec : &a->daily_quota) = (unsigned) v;
                                r = 0;
                        }
                } else if (strcmp(e->key, "apikey") == 0)
                        r = ini_diag(d, e->file, e->line, true,
                                     "[abuseipdb] 'apikey': put the key in a file readable by root only and name it with apikey_file");
                else
                        r = ini_diag(d, e->file, e->line, false, "[abuseipdb] unknown option '%s', ignoring", e->key);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* socket_group: a group name or a number; resolved at load, so that an unknown group is a
 * configuration error with its file and line. */
static int socket_group_resolve(Config *c, const char *s, ConfDiags *d, const Found *w) {
        struct group grp, *g = NULL;
        char buf[4096], qb[128];
        unsigned long v;

        if (parse_uint(s, UINT32_MAX - 1, &v) >= 0) {
                c->socket_gid = (gid_t) v;
        } else if (getgrnam_r(s, &grp, buf, sizeof buf, &g) == 0 && g) {
                c->socket_gid = g->gr_gid;
        } else
                return ini_diag(d, w->file, w->line, true, "'socket_group': no such group '%s'", q(s, qb, sizeof qb));
        free(c->socket_group);
        c->socket_group = strdup(s);
        return c->socket_group ? 0 : -ENOMEM;
}

int daemon_conf_load(Config *c, ConfDiags *d) {
        static const char *const silent[] = {
                "logtarget", "socket", "pidfile", "dbfile", "dbmaxmatches", "syslogsocket", "allowipv6",
        };
        _cleanup_(ini_freep) Ini *ini = ini_new();
        _cleanup_free_ char *path = conf_path_join(c->dir, "nftjail.conf"), *s = NULL;
        IniSection *def;
        char qb[128];
        Scope sc = {};
        Found w;
        int r;

        if (!ini || !path)
                return -ENOMEM;
        r = conf_load_with_local(path, ini, d, NULL);
        if (r < 0)
                return r;
        r = abuseipdb_conf_load(ini, c, d);
        if (r < 0)
                return r;
        r = webhook_sections_load(ini, c, d);
        if (r < 0)
                return r;
        r = fleet_conf_load(ini, c, d);
        if (r < 0)
                return r;
        def = ini_find_section(ini, "Definition");
        if (!def)
                return 0;
        sc.levels[sc.n_levels++] = def;
        if (ini_find_section(ini, "DEFAULT"))
                sc.levels[sc.n_levels++] = ini_find_section(ini, "DEFAULT");

        r = scope_get_str(&sc, d, "loglevel", &s, &w);
        if (r == -ENOMEM)
                return r;
        if (r > 0) {
                int l = parse_loglevel(s);

                if (l < 0) {
                        r = ini_diag(d, w.file, w.line, true,
                                     "'loglevel': '%s' is not a level (DEBUG, INFO, NOTICE, WARNING, ERROR, or 0..7)", q(s, qb, sizeof qb));
                        if (r < 0)
                                return r;
                } else
                        c->loglevel = l;
        }
        s = mfree(s);
        r = scope_get_str(&sc, d, "nft_file", &s, &w);
        if (r == -ENOMEM)
                return r;
        if (r > 0 && *s) {
                char *p = conf_path_join(c->dir, s);

                if (!p)
                        return -ENOMEM;
                free(c->nft_file);
                c->nft_file = p;
        }
        s = mfree(s);
        r = scope_get_str(&sc, d, "dbpurgeage", &s, &w);
        if (r == -ENOMEM)
                return r;
        if (r > 0) {
                int64_t v;

                r = conf_parse_span(s, &v);
                if (r < 0 || v <= 0) {
                        if (r == -ERANGE)
                                r = ini_diag(d, w.file, w.line, true, CONF_SPAN_TOO_LONG, "dbpurgeage", q(s, qb, sizeof qb),
                                             NFTJAIL_BANTIME_MAX_SEC, NFT_TIMEOUT_MSEC_LIMIT);
                        else
                                r = ini_diag(d, w.file, w.line, true, "'dbpurgeage': '%s' is not a positive time span (e.g. 1d, 1w)",
                                             q(s, qb, sizeof qb));
                        if (r < 0)
                                return r;
                } else
                        c->dbpurgeage_sec = v;
        }
        s = mfree(s);
        r = scope_get_str(&sc, d, "metrics_textfile", &s, &w);
        if (r == -ENOMEM)
                return r;
        if (r > 0 && *s) {
                size_t n = strlen(s);

                /* node_exporter's textfile collector reads the .prom files of DIR; the file is written as
                 * DIR/.NAME.tmp and renamed over it */
                if (s[0] != '/' || n < 6 || n > 1024 || strcmp(s + n - 5, ".prom") != 0 || strstr(s, "/../") ||
                    strchr(s, '\n') || s[n - 6] == '/') {
                        r = ini_diag(d, w.file, w.line, true,
                                     "'metrics_textfile': '%s' is not an absolute path of a file ending in .prom "
                                     "(e.g. /var/lib/prometheus/node-exporter/nftjail.prom)", q(s, qb, sizeof qb));
                        if (r < 0)
                                return r;
                } else {
                        free(c->metrics_textfile);
                        c->metrics_textfile = TAKE_PTR(s);
                }
        }
        s = mfree(s);
        r = scope_get_str(&sc, d, "socket_group", &s, &w);
        if (r == -ENOMEM)
                return r;
        if (r > 0 && *s) {
                r = socket_group_resolve(c, s, d, &w);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < def->n_entries; i++) {
                IniEntry *e = def->entries[i];
                bool known = e->used;

                for (size_t k = 0; k < ELEMENTSOF(silent) && !known; k++)
                        known = strcmp(silent[k], e->key) == 0;
                if (!known) {
                        r = ini_diag(d, e->file, e->line, false, "unknown option '%s', ignoring", e->key);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}
