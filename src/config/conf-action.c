/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

static const struct {
        const char *name;
        uint16_t port;
} port_names[] = {
        { "ftp-data", 20 }, { "ftp", 21 }, { "ssh", 22 }, { "telnet", 23 }, { "smtp", 25 }, { "domain", 53 },
        { "dns", 53 }, { "http", 80 }, { "www", 80 }, { "kerberos", 88 }, { "pop3", 110 }, { "ntp", 123 },
        { "imap", 143 }, { "imap2", 143 }, { "snmp", 161 }, { "ldap", 389 }, { "https", 443 },
        { "smtps", 465 }, { "ssmtp", 465 }, { "submissions", 465 }, { "submission", 587 },
        { "ldaps", 636 }, { "ftps", 990 }, { "imaps", 993 }, { "pop3s", 995 }, { "openvpn", 1194 },
        { "mysql", 3306 }, { "ms-wbt-server", 3389 }, { "rdp", 3389 }, { "sieve", 4190 }, { "sip", 5060 },
        { "postgresql", 5432 }, { "http-alt", 8080 },
};

static int port_from_string(const char *s, const char *proto, uint16_t *ret) {
        unsigned long v;
        struct servent *se;

        if (parse_uint(s, 65535, &v) >= 0) {
                *ret = (uint16_t) v;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(port_names); i++)
                if (strcasecmp(port_names[i].name, s) == 0) {
                        *ret = port_names[i].port;
                        return 0;
                }
        se = getservbyname(s, proto);
        if (!se)
                return -EINVAL;
        *ret = ntohs((uint16_t) se->s_port);
        return 0;
}

static int jail_add_port(JailConf *j, uint16_t p) {
        uint16_t *v;

        for (size_t i = 0; i < j->n_ports; i++)
                if (j->ports[i] == p)
                        return 0;
        v = reallocarray(j->ports, j->n_ports + 1, sizeof(uint16_t));
        if (!v)
                return -ENOMEM;
        j->ports = v;
        j->ports[j->n_ports++] = p;
        return 0;
}

const char *conf_proto_name(uint8_t p) {
        return p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "tcp";
}

int jail_parse_ports(JailConf *j, const char *value, const char *opt, const char *file, unsigned line, ConfDiags *d) {
        const char *p = value;
        char qb[128];
        int r;

        while (*p) {
                _cleanup_free_ char *tok = NULL;
                const char *b, *colon;
                uint16_t lo, hi;

                while (*p && (*p == ',' || isspace((unsigned char) *p)))
                        p++;
                if (!*p)
                        break;
                b = p;
                while (*p && *p != ',' && !isspace((unsigned char) *p))
                        p++;
                tok = strndup(b, (size_t) (p - b));
                if (!tok)
                        return -ENOMEM;
                if (STR_IN_SET_CASE(tok, "all", "any", "0:65535", "1:65535", "0-65535", "1-65535")) {
                        j->allports = true;
                        continue;
                }
                colon = strchr(tok, ':');
                if (!colon && strchr(tok, '-') && isdigit((unsigned char) tok[0]))
                        colon = strchr(tok, '-');
                if (colon) {
                        _cleanup_free_ char *a = strndup(tok, (size_t) (colon - tok));

                        if (!a)
                                return -ENOMEM;
                        if (port_from_string(a, conf_proto_name(j->protocol), &lo) < 0 ||
                            port_from_string(colon + 1, conf_proto_name(j->protocol), &hi) < 0 || hi < lo) {
                                r = ini_diag(d, file, line, true, "'%s': '%s' is not a port range", opt, q(tok, qb, sizeof qb));
                                return r < 0 ? r : -EINVAL;
                        }
                        if ((unsigned) (hi - lo) + 1 > PORT_RANGE_MAX) {
                                r = ini_diag(d, file, line, true,
                                             "'%s': range '%s' has more than %u ports (use 0:65535 for all ports)",
                                             opt, q(tok, qb, sizeof qb), PORT_RANGE_MAX);
                                return r < 0 ? r : -EINVAL;
                        }
                        for (unsigned x = lo; x <= hi; x++) {
                                r = jail_add_port(j, (uint16_t) x);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (port_from_string(tok, conf_proto_name(j->protocol), &lo) < 0) {
                        r = ini_diag(d, file, line, true, "'%s': unknown port '%s'", opt, q(tok, qb, sizeof qb));
                        return r < 0 ? r : -EINVAL;
                }
                r = jail_add_port(j, lo);
                if (r < 0)
                        return r;
        }
        return 0;
}

int conf_parse_protocol(const char *s, uint8_t *ret) {
        if (strcasecmp(s, "tcp") == 0)
                *ret = IPPROTO_TCP;
        else if (strcasecmp(s, "udp") == 0)
                *ret = IPPROTO_UDP;
        else if (strcasecmp(s, "sctp") == 0)
                *ret = IPPROTO_SCTP;
        else
                return -EINVAL;
        return 0;
}

static bool action_is_ban(const char *n) {
        static const char *const prefixes[] = {
                "nftables", "iptables", "ip6tables", "firewallcmd", "shorewall", "ufw", "route", "hostsdeny",
        };

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static bool action_is_third_party(const char *n) {
        static const char *const prefixes[] = {
                "complain", "xarf", "blocklist_de", "mynetwatchman", "dshield",
        };

        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

/* AbuseIPDB categories: 1..23 as of API v2. Returns a copy without blanks, or NULL. */
static char *abuseipdb_categories_normalize(const char *s) {
        _cleanup_free_ char *out = malloc(strlen(s) + 1);
        size_t o = 0;
        const char *p = s;

        if (!out)
                return NULL;
        for (;;) {
                unsigned long v = 0;
                size_t digits = 0;

                while (*p == ' ' || *p == '\t')
                        p++;
                while (*p >= '0' && *p <= '9' && digits < 3) {
                        v = v * 10 + (unsigned long) (*p - '0');
                        out[o++] = *p++;
                        digits++;
                }
                while (*p == ' ' || *p == '\t')
                        p++;
                if (digits == 0 || v < 1 || v > 23)
                        return NULL;
                if (!*p)
                        break;
                if (*p != ',')
                        return NULL;
                out[o++] = *p++;
        }
        out[o] = 0;
        return TAKE_PTR(out);
}

/* What the reporter can send as a "Key:" header: printable ASCII, no blanks, bounded. */
static bool abuseipdb_key_plausible(const char *k) {
        if (strlen(k) >= ABUSEIPDB_KEY_MAX)
                return false;
        for (; *k; k++)
                if (*k <= 0x20 || *k >= 0x7f)
                        return false;
        return true;
}

static bool same_but_blanks(const char *a, const char *b) {
        for (;;) {
                while (isspace((unsigned char) *a))
                        a++;
                while (isspace((unsigned char) *b))
                        b++;
                if (*a != *b)
                        return false;
                if (!*a)
                        return true;
                a++;
                b++;
        }
}

int jail_actions(JailConf *j, const Config *cfg, Scope *sc, ConfDiags *d, const char *jail_port, const char *jail_proto,
                        bool *ret_port_set) {
        VLines l = {};
        Found where;
        char qb[128], err[ERRBUF];
        bool any = false;
        int r;

        r = scope_get(sc, d, "action", &l, &where);
        if (r < 0)
                return r;
        for (size_t i = 0; i < l.n;) {
                _cleanup_free_ char *text = NULL, *name = NULL;
                const char *file = l.v[i].file, *dfile;
                unsigned line = l.v[i].line, dline;
                Opt *opts = NULL;
                size_t n_opts = 0;
                int depth = 0;
                char quote = 0;

                /* one action per line, except that [...] may continue on the next lines */
                do {
                        strstrip(l.v[i].text);
                        if (*l.v[i].text) {
                                if ((text && str_append(&text, " ", 1) < 0) ||
                                    str_append(&text, l.v[i].text, strlen(l.v[i].text)) < 0) {
                                        r = -ENOMEM;
                                        goto fail;
                                }
                                for (const char *c = l.v[i].text; *c; c++) {
                                        if (quote) {
                                                if (*c == quote)
                                                        quote = 0;
                                        } else if (*c == '"' || *c == '\'')
                                                quote = *c;
                                        else if (*c == '[')
                                                depth++;
                                        else if (*c == ']')
                                                depth--;
                                }
                        }
                        i++;
                } while (i < l.n && (depth > 0 || quote));
                if (!text)
                        continue;

                r = conf_spec_parse(text, &name, &opts, &n_opts, err);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        r = ini_diag(d, file, line, true, "jail '%s': 'action': %s", j->name, err);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                any = true;
                /* an action that comes from an interpolated helper (%(action_mw)s in jail.conf)
                 * is named by the jail's own 'action' line, which the admin wrote */
                dfile = where.file && strcmp(where.file, file) != 0 ? where.file : file;
                dline = where.file && strcmp(where.file, file) != 0 ? where.line : line;
                if (action_is_ban(name)) {
                        const char *port = conf_opts_get(opts, n_opts, "port"), *proto = conf_opts_get(opts, n_opts, "protocol");

                        j->action_ban = true;
                        if (strstr(name, "allports") || strncmp(name, "route", 5) == 0 || strncmp(name, "hostsdeny", 9) == 0)
                                j->allports = true;
                        if (proto && *proto && !(jail_proto && same_but_blanks(proto, jail_proto)) &&
                            conf_parse_protocol(proto, &j->protocol) < 0) {
                                r = ini_diag(d, file, line, true, "jail '%s': 'action': %s: unsupported protocol '%s'", j->name, name, q(proto, qb, sizeof qb));
                                if (r < 0)
                                        goto fail_opts;
                        }
                        /* the jail's own port list was parsed already: do not report its errors twice */
                        if (port && *port && !(jail_port && same_but_blanks(port, jail_port))) {
                                /* the ban action's own port list is what gets banned */
                                if (!*ret_port_set) {
                                        j->n_ports = 0;
                                        j->allports = strstr(name, "allports") != NULL;
                                        *ret_port_set = true;
                                }
                                r = jail_parse_ports(j, port, "action port", file, line, d);
                                if (r == -ENOMEM)
                                        goto fail_opts;
                        }
                } else if (strcmp(name, "abuseipdb") == 0) {
                        const char *key = conf_opts_get(opts, n_opts, "abuseipdb_apikey");
                        const char *cat = conf_opts_get(opts, n_opts, "abuseipdb_category");

                        j->abuseipdb = true;
                        if (key && *key && !abuseipdb_key_plausible(key)) {
                                /* never quoted: it is a secret, however mistyped */
                                r = ini_diag(d, file, line, false,
                                             "jail '%s': 'abuseipdb_apikey' is not a plausible key (printable ASCII "
                                             "without blanks, under %u bytes), ignoring it", j->name, ABUSEIPDB_KEY_MAX);
                                if (r < 0)
                                        goto fail_opts;
                        } else if (key && *key) {
                                _cleanup_free_ char *own = NULL, *own_file = NULL;
                                unsigned own_line = 0;

                                free(j->abuseipdb_apikey);
                                j->abuseipdb_apikey = strdup(key);
                                if (!j->abuseipdb_apikey) {
                                        r = -ENOMEM;
                                        goto fail_opts;
                                }
                                /* where the key is written: its own option when the action line
                                 * takes it from there (%(abuseipdb_apikey)s), else the action line */
                                r = scope_get_str_at(sc, d, "abuseipdb_apikey", &own, &own_file, &own_line);
                                if (r < 0)
                                        goto fail_opts;
                                bool at_own = r > 0 && own && own_file && strcmp(own, key) == 0;

                                free(j->abuseipdb_apikey_file);
                                j->abuseipdb_apikey_line = at_own ? own_line : line;
                                j->abuseipdb_apikey_file = strdup(at_own ? own_file : file);
                                if (!j->abuseipdb_apikey_file) {
                                        r = -ENOMEM;
                                        goto fail_opts;
                                }
                        }
                        if (!cat || !*cat) {
                                r = ini_diag(d, file, line, true, "jail '%s': 'action': abuseipdb needs abuseipdb_category (e.g. \"18,22\")", j->name);
                                if (r < 0)
                                        goto fail_opts;
                        } else {
                                char *c = abuseipdb_categories_normalize(cat);

                                if (!c) {
                                        r = ini_diag(d, file, line, true,
                                                     "jail '%s': 'abuseipdb_category': '%s' is not a comma-separated list of AbuseIPDB categories (1..23)",
                                                     j->name, q(cat, qb, sizeof qb));
                                        if (r < 0)
                                                goto fail_opts;
                                } else {
                                        free(j->abuseipdb_categories);
                                        j->abuseipdb_categories = c;
                                }
                        }
                        /* no key here: [abuseipdb] apikey_file or a credential may give one; the
                         * reporter warns at start when there is none at all */
                } else if (strcmp(name, "webhook") == 0) {
                        r = jail_webhook_action(j, cfg, opts, n_opts, file, line, d);
                        if (r < 0)
                                goto fail_opts;
                } else if (action_is_mail(name)) {
                        r = jail_mail_action(j, sc, d, name, opts, n_opts, dfile, dline);
                        if (r < 0)
                                goto fail_opts;
                } else if (action_is_third_party(name) || strstr(name, "-whois")) {
                        r = ini_diag(d, dfile, dline, false, "jail '%s': 'action': reports to third parties are not supported, ignoring '%s'", j->name, q(name, qb, sizeof qb));
                        if (r < 0)
                                goto fail_opts;
                } else {
                        ActionFile af = {};
                        ActionFile *v;

                        r = action_file_load(cfg->dir, name, opts, n_opts, file, line, &af, d);
                        if (r == -ENOMEM)
                                goto fail_opts;
                        if (r == 0) {
                                r = ini_diag(d, file, line, true, "jail '%s': 'action': unsupported action '%s' (no action.d/%s.conf)",
                                             j->name, q(name, qb, sizeof qb), q(name, qb, sizeof qb));
                                if (r < 0)
                                        goto fail_opts;
                        } else if (r > 0) {
                                v = reallocarray(j->action_files, j->n_action_files + 1, sizeof *v);
                                if (!v) {
                                        action_file_done(&af);
                                        r = -ENOMEM;
                                        goto fail_opts;
                                }
                                j->action_files = v;
                                j->action_files[j->n_action_files++] = af;
                        }
                }
                conf_opts_free(opts, n_opts);
                continue;
        fail_opts:
                conf_opts_free(opts, n_opts);
                goto fail;
        }
        if (!any)
                j->action_ban = true; /* no action at all: the ban is the point of a jail */
        vlines_done(&l);
        return 0;
fail:
        vlines_done(&l);
        return r;
}
