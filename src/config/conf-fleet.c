/* SPDX-License-Identifier: GPL-2.0-or-later */
/* [fleet] in nftjail.conf(.local): the NATS servers, this node's name and credentials, which jails
 * are shared, and the receiver's policy. The name becomes a token of NATS subjects and the URLs go
 * to the NATS client, so both are checked to strict alphabets here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-internal.h"

#define FLEET_RATE_MAX 1000000UL
#define FLEET_RATE_PERIOD_MAX 86400UL
#define FLEET_LIST_MAX 1024U
#define FLEET_REPLICAS_MAX 5UL /* JetStream's limit */

bool fleet_name_ok(const char *s) {
        size_t n = 0;

        for (; s[n]; n++)
                if (!isalnum((unsigned char) s[n]) && s[n] != '-' && s[n] != '_')
                        return false;
        return n >= 1 && n <= FLEET_NAME_MAX;
}

bool fleet_shares_jail(const FleetConf *f, const char *jail) {
        if (!f->share)
                return true;
        for (char **p = f->share; *p; p++)
                if (strcmp(*p, jail) == 0)
                        return true;
        return false;
}

void fleet_conf_init(FleetConf *f) {
        *f = (FleetConf) {
                .accept = true, .max_prefix4 = 24, .max_prefix6 = 48, .max_bantime_sec = FLEET_MAX_BANTIME_DEFAULT,
                .rate = FLEET_RATE_DEFAULT, .rate_period_sec = FLEET_RATE_PERIOD_DEFAULT, .stream_replicas = 1,
        };
}

void fleet_conf_done(FleetConf *f) {
        strv_free(f->urls);
        free(f->name);
        free(f->user);
        free(f->password_file);
        free(f->creds_file);
        free(f->tls_ca);
        free(f->tls_cert);
        free(f->tls_key);
        strv_free(f->share);
        free(f->share_file);
        free(f->ignoreip);
        *f = (FleetConf) {};
}

int fleet_conf_copy(FleetConf *dst, const FleetConf *src) {
        *dst = *src;
        dst->urls = NULL;
        dst->share = NULL;
        dst->share_file = NULL;
        dst->ignoreip = NULL;
        dst->name = dst->user = dst->password_file = dst->creds_file = NULL;
        dst->tls_ca = dst->tls_cert = dst->tls_key = NULL;
        for (char **p = src->urls; p && *p; p++)
                if (strv_extend(&dst->urls, *p) < 0)
                        return -ENOMEM;
        if (src->n_ignoreip) {
                dst->ignoreip = calloc(src->n_ignoreip, sizeof(AddrPrefix));
                if (!dst->ignoreip)
                        return -ENOMEM;
                memcpy(dst->ignoreip, src->ignoreip, src->n_ignoreip * sizeof(AddrPrefix));
        }
        char *const *s[] = { &src->name, &src->user, &src->password_file, &src->creds_file, &src->tls_ca, &src->tls_cert, &src->tls_key };
        char **d[] = { &dst->name, &dst->user, &dst->password_file, &dst->creds_file, &dst->tls_ca, &dst->tls_cert, &dst->tls_key };
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                if (*s[i] && !(*d[i] = strdup(*s[i])))
                        return -ENOMEM;
        return 0;
}

/* The default name: the host name up to its first dot, when it is a valid name. */
static int fleet_default_name(FleetConf *f) {
        char host[256] = {};

        if (gethostname(host, sizeof host - 1) < 0)
                return 0;
        host[strcspn(host, ".")] = 0;
        if (!fleet_name_ok(host))
                return 0;
        f->name = strdup(host);
        return f->name ? 0 : -ENOMEM;
}

static int add_ignoreip(FleetConf *f, const AddrPrefix *ap) {
        AddrPrefix *v;

        for (size_t i = 0; i < f->n_ignoreip; i++)
                if (f->ignoreip[i].prefixlen == ap->prefixlen && addr_equal(&f->ignoreip[i].addr, &ap->addr))
                        return 0;
        v = reallocarray(f->ignoreip, f->n_ignoreip + 1, sizeof(AddrPrefix));
        if (!v)
                return -ENOMEM;
        f->ignoreip = v;
        f->ignoreip[f->n_ignoreip++] = *ap;
        return 0;
}

/* nats://host[:port] or tls://host[:port], host a name, an IPv4 literal or [IPv6]; user:password@
 * is refused (credentials belong in files). A literal server address joins fleet_ignoreip, so that
 * no peer can cut this node off its servers. Returns 1 (ok), 0 (bad) or -ENOMEM. */
static int fleet_url_check(FleetConf *f, const char *u) {
        const char *h, *e;
        char host[FLEET_URL_MAX];
        size_t n;

        if (strlen(u) > FLEET_URL_MAX)
                return 0;
        if (strncmp(u, "nats://", 7) == 0)
                h = u + 7;
        else if (strncmp(u, "tls://", 6) == 0)
                h = u + 6;
        else
                return 0;
        if (*h == '[') {
                e = strchr(h, ']');
                if (!e)
                        return 0;
                n = (size_t) (e - h - 1);
                memcpy(host, h + 1, n);
                host[n] = 0;
                e++;
        } else {
                e = h + strcspn(h, ":");
                n = (size_t) (e - h);
                memcpy(host, h, n);
                host[n] = 0;
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char) host[i]) && host[i] != '-' && host[i] != '.' && host[i] != '_')
                                return 0;
        }
        if (n == 0)
                return 0;
        if (*e == ':') {
                unsigned long port;

                if (parse_uint(e + 1, 65535, &port) < 0 || port == 0)
                        return 0;
        } else if (*e)
                return 0;
        if (h[0] == '[' || strspn(host, "0123456789.") == n) {
                AddrPrefix ap = {};

                if (addr_from_string(host, &ap.addr) < 0)
                        return 0;
                ap.prefixlen = ap.addr.family == AF_INET ? 32 : 128;
                if (add_ignoreip(f, &ap) < 0)
                        return -ENOMEM;
        }
        return 1;
}

/* Splits v at commas and blanks into tokens; calls fn on each. Returns 0, a negative errno, or the
 * first positive value fn returned (a diag added). */
static int for_each_token(const char *v, int (*fn)(void *ud, const char *tok), void *ud) {
        size_t count = 0;

        for (const char *p = v;;) {
                _cleanup_free_ char *tok = NULL;
                const char *b;
                int r;

                while (*p && (*p == ',' || isspace((unsigned char) *p)))
                        p++;
                if (!*p)
                        return 0;
                b = p;
                while (*p && *p != ',' && !isspace((unsigned char) *p))
                        p++;
                if (++count > FLEET_LIST_MAX)
                        return -E2BIG;
                tok = strndup(b, (size_t) (p - b));
                if (!tok)
                        return -ENOMEM;
                r = fn(ud, tok);
                if (r != 0)
                        return r;
        }
}

typedef struct TokCtx {
        FleetConf *f;
        ConfDiags *d;
        const IniEntry *e;
        char ***list;
} TokCtx;

static int tok_diag(TokCtx *t, const char *what, const char *tok) {
        char qb[128];
        int r = ini_diag(t->d, t->e->file, t->e->line, true, "[fleet] '%s': '%s' %s", t->e->key, q(tok, qb, sizeof qb), what);

        return r < 0 ? r : 1;
}

static int tok_url(void *ud, const char *tok) {
        TokCtx *t = ud;
        int r = fleet_url_check(t->f, tok);

        if (r < 0)
                return r;
        if (r == 0)
                return tok_diag(t, "is not nats://HOST[:PORT] or tls://HOST[:PORT] (credentials go in password_file or creds_file)", tok);
        if (strv_length(*t->list) >= FLEET_URLS_MAX)
                return tok_diag(t, "is one URL too many (at most 16)", tok);
        return strv_extend(t->list, tok);
}

static int tok_jail(void *ud, const char *tok) {
        TokCtx *t = ud;

        if (strlen(tok) > JAIL_NAME_MAX)
                return tok_diag(t, "is not a jail name", tok);
        return strv_extend(t->list, tok);
}

static int tok_prefix(void *ud, const char *tok) {
        TokCtx *t = ud;
        AddrPrefix ap;

        if (addr_prefix_from_string(tok, &ap) < 0)
                return tok_diag(t, "is not an address or address/prefix", tok);
        return add_ignoreip(t->f, &ap);
}

/* A list option: tokens into *list (replacing what an earlier file set). */
static int fleet_list(FleetConf *f, ConfDiags *d, const IniEntry *e, char ***list, int (*fn)(void *, const char *)) {
        TokCtx t = { .f = f, .d = d, .e = e, .list = list };
        int r;

        if (list)
                *list = strv_free(*list);
        r = for_each_token(e->value, fn, &t);
        if (r == -E2BIG)
                r = tok_diag(&t, "has too many items", "...");
        return r < 0 ? r : 0;
}

/* fleet_max_prefix = V4 [V6] */
static int fleet_max_prefix(FleetConf *f, const char *v) {
        char a[16] = {}, b[16] = {}, extra;
        unsigned long x, y = f->max_prefix6;
        int n = sscanf(v, "%15s %15s %c", a, b, &extra);

        if (n < 1 || n > 2 || parse_uint(a, 32, &x) < 0 || x < 8)
                return -EINVAL;
        if (n == 2 && (parse_uint(b, 128, &y) < 0 || y < 16))
                return -EINVAL;
        f->max_prefix4 = (uint8_t) x;
        f->max_prefix6 = (uint8_t) y;
        return 0;
}

static int fleet_entry(FleetConf *f, ConfDiags *d, IniEntry *e) {
        const char *k = e->key, *v = e->value;
        unsigned long n;
        char qb[128];
        int64_t span;

        if (strcmp(k, "enabled") == 0 || strcmp(k, "accept") == 0) {
                int b = parse_bool(v);
                if (b < 0)
                        return ini_diag(d, e->file, e->line, true, "[fleet] '%s': '%s' is not a boolean", k, q(v, qb, sizeof qb));
                *(k[0] == 'e' ? &f->enabled : &f->accept) = b;
                return 0;
        }
        if (strcmp(k, "url") == 0)
                return fleet_list(f, d, e, &f->urls, tok_url);
        if (strcmp(k, "share") == 0) {
                int r = fleet_list(f, d, e, &f->share, tok_jail);
                if (r < 0)
                        return r;
                if (!f->share && strv_extend(&f->share, "") < 0) /* share = (empty): nothing is shared */
                        return -ENOMEM;
                if (conf_set_str(&f->share_file, e->file) < 0)
                        return -ENOMEM;
                f->share_line = e->line;
                return 0;
        }
        if (strcmp(k, "fleet_ignoreip") == 0)
                return fleet_list(f, d, e, NULL, tok_prefix);
        if (strcmp(k, "name") == 0) {
                if (!fleet_name_ok(v))
                        return ini_diag(d, e->file, e->line, true, "[fleet] 'name': '%s' is not 1 to 64 of A-Z a-z 0-9 _ -",
                                        q(v, qb, sizeof qb));
                return conf_set_str(&f->name, v);
        }
        if (strcmp(k, "user") == 0) {
                for (const char *p = v; *p; p++)
                        if (*p <= 0x20 || *p > 0x7e)
                                return ini_diag(d, e->file, e->line, true, "[fleet] 'user': '%s' is not printable ASCII without blanks",
                                                q(v, qb, sizeof qb));
                if (!*v || strlen(v) > 128)
                        return ini_diag(d, e->file, e->line, true, "[fleet] 'user': '%s' must be 1 to 128 bytes", q(v, qb, sizeof qb));
                return conf_set_str(&f->user, v);
        }
        if (STR_IN_SET(k, "password_file", "creds_file", "tls_ca", "tls_cert", "tls_key")) {
                char **field = strcmp(k, "password_file") == 0 ? &f->password_file
                             : strcmp(k, "creds_file") == 0    ? &f->creds_file
                             : strcmp(k, "tls_ca") == 0        ? &f->tls_ca
                             : strcmp(k, "tls_cert") == 0      ? &f->tls_cert
                                                               : &f->tls_key;
                if (v[0] != '/' || strlen(v) > 4096)
                        return ini_diag(d, e->file, e->line, true, "[fleet] '%s': '%s' is not an absolute path", k, q(v, qb, sizeof qb));
                return conf_set_str(field, v);
        }
        if (strcmp(k, "fleet_max_prefix") == 0) {
                if (fleet_max_prefix(f, v) < 0)
                        return ini_diag(d, e->file, e->line, true,
                                        "[fleet] 'fleet_max_prefix': '%s' is not an IPv4 prefix length in 8..32, optionally followed by an IPv6 one in 16..128",
                                        q(v, qb, sizeof qb));
                return 0;
        }
        if (strcmp(k, "fleet_max_bantime") == 0) {
                int r = conf_parse_span(v, &span);
                if (r == -ERANGE)
                        return ini_diag(d, e->file, e->line, true, CONF_SPAN_TOO_LONG, k, q(v, qb, sizeof qb), NFTJAIL_BANTIME_MAX_SEC,
                                        NFT_TIMEOUT_MSEC_LIMIT);
                if (r < 0 || span <= 0)
                        return ini_diag(d, e->file, e->line, true, "[fleet] '%s': '%s' is not a positive time span (e.g. 1h, 1d, 1w)", k,
                                        q(v, qb, sizeof qb));
                f->max_bantime_sec = span;
                return 0;
        }
        if (strcmp(k, "fleet_rate") == 0 || strcmp(k, "fleet_rate_period") == 0) {
                bool rate = strcmp(k, "fleet_rate") == 0;
                if (rate ? parse_uint(v, FLEET_RATE_MAX, &n) < 0
                         : (conf_parse_span(v, &span) < 0 || span <= 0 || span > (int64_t) FLEET_RATE_PERIOD_MAX))
                        return ini_diag(d, e->file, e->line, true, "[fleet] '%s': '%s' is not %s", k, q(v, qb, sizeof qb),
                                        rate ? "a number in 0..1000000" : "a time span of 1s..1d");
                if (rate)
                        f->rate = (unsigned) n;
                else
                        f->rate_period_sec = (unsigned) span;
                return 0;
        }
        if (strcmp(k, "stream_replicas") == 0) {
                if (parse_uint(v, FLEET_REPLICAS_MAX, &n) < 0 || n < 1)
                        return ini_diag(d, e->file, e->line, true, "[fleet] 'stream_replicas': '%s' is not a number in 1..5",
                                        q(v, qb, sizeof qb));
                f->stream_replicas = (unsigned) n;
                return 0;
        }
        if (strcmp(k, "password") == 0)
                return ini_diag(d, e->file, e->line, true,
                                "[fleet] 'password': put the password in a file readable by root only and name it with password_file");
        return ini_diag(d, e->file, e->line, false, "[fleet] unknown option '%s', ignoring", k);
}

int fleet_conf_load(const Ini *ini, Config *c, ConfDiags *d) {
        const IniSection *sec = ini_find_section(ini, "fleet");
        FleetConf *f = &c->fleet;
        size_t errors = d->n_errors;
        int r;

        if (!sec)
                return 0;
        for (size_t i = 0; i < sec->n_entries; i++) {
                sec->entries[i]->used = true;
                r = fleet_entry(f, d, sec->entries[i]);
                if (r < 0)
                        return r;
        }
        if (!f->name) {
                r = fleet_default_name(f);
                if (r < 0)
                        return r;
        }
        if (!f->enabled || d->n_errors > errors)
                return 0;
        /* what only makes sense together, told at the section's header */
        if (!f->urls || !f->urls[0])
                return ini_diag(d, sec->file, sec->line, true, "[fleet] is enabled but has no 'url'");
        if (!f->name)
                return ini_diag(d, sec->file, sec->line, true,
                                "[fleet] the host name is not a valid node name (A-Z a-z 0-9 _ -, up to 64): set 'name'");
        if (!!f->user != !!f->password_file)
                return ini_diag(d, sec->file, sec->line, true, "[fleet] 'user' and 'password_file' go together");
        if (f->user && f->creds_file)
                return ini_diag(d, sec->file, sec->line, true, "[fleet] 'creds_file' and 'user' exclude each other");
        if (!!f->tls_cert != !!f->tls_key)
                return ini_diag(d, sec->file, sec->line, true, "[fleet] 'tls_cert' and 'tls_key' go together");
        return 0;
}

int fleet_conf_check_jails(const Config *c, ConfDiags *d) {
        const FleetConf *f = &c->fleet;

        if (!f->enabled || !f->share)
                return 0;
        for (char **p = f->share; *p; p++) {
                bool found = !**p;
                char qb[128];
                int r;

                for (size_t i = 0; i < c->n_jails && !found; i++)
                        found = strcmp(c->jails[i].name, *p) == 0;
                if (!found) {
                        r = ini_diag(d, f->share_file, f->share_line, false, "[fleet] 'share': no enabled jail '%s', ignoring",
                                     q(*p, qb, sizeof qb));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

void fleet_conf_dump(const FleetConf *f, FILE *out) {
        char b[32];

        if (!f->enabled) {
                fprintf(out, "fleet: disabled\n");
                return;
        }
        fprintf(out, "fleet: enabled, name %s, url", f->name);
        for (char **p = f->urls; p && *p; p++)
                fprintf(out, "%c%s", p == f->urls ? ' ' : ',', *p);
        fprintf(out, "\n  fleet auth: %s%s%s%s\n", f->creds_file ? "creds_file " : f->user ? "user " : "none",
                f->creds_file ?: f->user ?: "", f->tls_ca ? ", tls_ca " : "", f->tls_ca ?: "");
        if (f->tls_cert)
                fprintf(out, "  fleet tls client: %s %s\n", f->tls_cert, f->tls_key);
        fprintf(out, "  fleet share:");
        if (!f->share)
                fprintf(out, " (all jails)");
        for (char **p = f->share; p && *p; p++)
                fprintf(out, " %s", **p ? *p : "(none)");
        fprintf(out, "\n  fleet accept: %s, max_prefix /%u /%u, max_bantime %s, rate %u per %us\n", f->accept ? "yes" : "no",
                f->max_prefix4, f->max_prefix6, format_duration_sec(f->max_bantime_sec, b, sizeof b), f->rate, f->rate_period_sec);
        fprintf(out, "  fleet stream_replicas: %u (when the daemon creates the stream)\n", f->stream_replicas);
        fprintf(out, "  fleet_ignoreip:");
        for (size_t i = 0; i < f->n_ignoreip; i++) {
                char ab[ADDR_PREFIX_STRLEN];
                fprintf(out, " %s", addr_prefix_to_string(&f->ignoreip[i], ab, sizeof ab));
        }
        fprintf(out, "%s\n", f->n_ignoreip ? "" : " (none)");
}
