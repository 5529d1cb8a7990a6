/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Webhooks: webhook[url=..., format=...] in a jail's action lines, and [webhook NAME] sections of
 * nftjail.conf(.local) that such a line names with webhook[name=NAME]. Every value is checked here
 * so that the sender (src/reporter/webhook.c) may put it on the wire as it is. The URL and the
 * headers may carry secrets (Slack's URL is one): messages quote neither. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-internal.h"

static const char *const format_table[_WEBHOOK_FORMAT_MAX] = {
        [WEBHOOK_FORMAT_JSON] = "json",
        [WEBHOOK_FORMAT_NTFY] = "ntfy",
        [WEBHOOK_FORMAT_SLACK] = "slack",
};

const char *webhook_format_to_string(WebhookFormat f) {
        return f >= 0 && f < _WEBHOOK_FORMAT_MAX ? format_table[f] : NULL;
}

WebhookFormat webhook_format_from_string(const char *s) {
        for (int i = 0; s && i < _WEBHOOK_FORMAT_MAX; i++)
                if (strcasecmp(format_table[i], s) == 0)
                        return (WebhookFormat) i;
        return _WEBHOOK_FORMAT_INVALID;
}

void webhook_conf_done(WebhookConf *w) {
        free(w->id);
        free(w->url);
        strv_free(w->headers);
        free(w->token_file);
        free(w->file);
        *w = (WebhookConf) {};
}

int webhook_conf_copy(const WebhookConf *w, WebhookConf *ret) {
        WebhookConf c = {
                .format = w->format, .timeout_sec = w->timeout_sec, .line = w->line,
                .id = strdup(w->id), .url = strdup(w->url), .file = w->file ? strdup(w->file) : NULL,
                .token_file = w->token_file ? strdup(w->token_file) : NULL,
        };
        bool oom = !c.id || !c.url || (w->file && !c.file) || (w->token_file && !c.token_file);

        for (char **h = w->headers; h && *h && !oom; h++)
                oom = strv_extend(&c.headers, *h) < 0;
        if (oom) {
                webhook_conf_done(&c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static bool host_is_loopback(const char *h, size_t n) {
        char buf[64];
        struct in_addr a4;

        if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
                return true;
        if (n == 5 && strncmp(h, "[::1]", 5) == 0)
                return true;
        if (n >= sizeof buf)
                return false;
        memcpy(buf, h, n);
        buf[n] = 0;
        return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

static bool host_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

const char *webhook_url_check(const char *url) {
        const char *auth, *host, *port;
        size_t len = strlen(url), n, hn;
        bool tls;

        if (len > WEBHOOK_URL_MAX)
                return "is longer than 2048 bytes";
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
                        return "holds a blank, a control character or a non-ASCII byte (percent-encode them)";
        if (strncasecmp(url, "https://", 8) == 0)
                tls = true, auth = url + 8;
        else if (strncasecmp(url, "http://", 7) == 0)
                tls = false, auth = url + 7;
        else
                return "is not an https:// URL";
        if (strchr(url, '#'))
                return "has a fragment ('#')";
        n = strcspn(auth, "/?");
        if (memchr(auth, '@', n))
                return "has a user name or password before the host ('user@'): use header or token_file";
        host = auth;
        if (n > 0 && host[0] == '[') {
                const char *e = memchr(host, ']', n);
                if (!e)
                        return "has an unterminated [IPv6] host";
                hn = (size_t) (e - host) + 1;
                for (const char *p = host + 1; p < e; p++)
                        if (!strchr("0123456789abcdefABCDEF:.", *p))
                                return "has an invalid [IPv6] host";
        } else {
                hn = strcspn(host, ":/?");
                if (hn > n)
                        hn = n;
                for (size_t i = 0; i < hn; i++)
                        if (!host_char(host[i]))
                                return "has an invalid host name";
        }
        if (hn == 0 || (hn == 2 && host[0] == '['))
                return "has no host";
        port = host + hn;
        if (port < auth + n) {
                unsigned long v = 0;
                size_t digits = 0;

                if (*port != ':')
                        return "has an invalid host name";
                for (port++; port < auth + n; port++, digits++) {
                        if (*port < '0' || *port > '9' || digits >= 5)
                                return "has an invalid port";
                        v = v * 10 + (unsigned long) (*port - '0');
                }
                if (digits == 0 || v == 0 || v > 65535)
                        return "has an invalid port";
        }
        if (!tls && !host_is_loopback(host, hn))
                return "is plain http:// to a host other than localhost, 127.0.0.0/8 or [::1] (use https://)";
        return NULL;
}

char *webhook_url_redact(const char *url, char *buf, size_t len) {
        const char *auth = strstr(url, "://"), *at;
        size_t n, scheme;

        scheme = auth ? (size_t) (auth - url) : 0;
        for (size_t i = 0; i < scheme; i++)
                if (!((url[i] >= 'a' && url[i] <= 'z') || (url[i] >= 'A' && url[i] <= 'Z')))
                        scheme = 0;
        if (scheme == 0 || scheme > 8) {
                snprintf(buf, len, "(not a URL)");
                return buf;
        }
        scheme += 3;
        auth += 3;
        n = strcspn(auth, "/?#");
        /* never the user:password of a refused URL */
        at = memrchr(auth, '@', n);
        if (at) {
                n -= (size_t) (at + 1 - auth);
                auth = at + 1;
        }
        snprintf(buf, len, "%.*s%s%.*s%s", (int) scheme, url, at ? "...@" : "", (int) MIN(n, (size_t) 200),
                 auth, auth[n] ? "/..." : "");
        return buf;
}

/* "Name: value": an HTTP token, then printable ASCII; never one of the headers we set ourselves. */
static const char *header_check(const char *h) {
        size_t n = strcspn(h, ":");

        if (strlen(h) > WEBHOOK_HEADER_MAX)
                return "is longer than 1024 bytes";
        if (n == 0 || h[n] != ':')
                return "is not 'Name: value'";
        for (size_t i = 0; i < n; i++)
                if (!host_char(h[i]) && h[i] != '_')
                        return "has a name of other characters than letters, digits, '-' and '_'";
        for (const char *p = h + n + 1; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                        return "has a control character or a non-ASCII byte in its value";
        for (const char *const *l = (const char *const[]) { "Content-Type", "Content-Length", "Host", "Transfer-Encoding",
                                                             "Idempotency-Key", "X-Nftjail-Event", NULL };
             *l; l++)
                if (strlen(*l) == n && strncasecmp(h, *l, n) == 0)
                        return "sets a header the sender sets itself";
        return NULL;
}

/* One option of a webhook (section entry or action option) into w. Returns 0, -EINVAL (diag
 * added; whatever the admin wrote is never quoted for url and header: they may be secrets), or
 * -ENOMEM. */
static int webhook_opt(WebhookConf *w, const char *what, const char *key, const char *value, const char *file,
                       unsigned line, ConfDiags *d) {
        char qb[128];
        const char *why;
        int r;

        if (strcmp(key, "url") == 0) {
                why = webhook_url_check(value);
                if (why) {
                        char rb[256];
                        r = ini_diag(d, file, line, true, "%s: 'url': '%s' %s", what,
                                     q(webhook_url_redact(value, rb, sizeof rb), qb, sizeof qb), why);
                        return r < 0 ? r : -EINVAL;
                }
                free(w->url);
                w->url = strdup(value);
                return w->url ? 0 : -ENOMEM;
        }
        if (strcmp(key, "format") == 0) {
                WebhookFormat f = webhook_format_from_string(value);
                if (f < 0) {
                        r = ini_diag(d, file, line, true, "%s: 'format': '%s' is not json, ntfy or slack", what,
                                     q(value, qb, sizeof qb));
                        return r < 0 ? r : -EINVAL;
                }
                w->format = f;
                return 0;
        }
        if (strcmp(key, "header") == 0) {
                /* one header a line (a section's continuation lines), or one inline */
                for (const char *p = value; *p;) {
                        size_t l = strcspn(p, "\n");
                        _cleanup_free_ char *h = strndup(p, l);

                        if (!h)
                                return -ENOMEM;
                        strstrip(h);
                        p += l + (p[l] == '\n');
                        if (!*h)
                                continue;
                        why = header_check(h);
                        if (!why && strv_length(w->headers) >= WEBHOOK_HEADERS_MAX)
                                why = "is one more than 8 headers";
                        if (why) {
                                r = ini_diag(d, file, line, true, "%s: 'header': the header %s", what, why);
                                return r < 0 ? r : -EINVAL;
                        }
                        if (strv_extend(&w->headers, h) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        if (strcmp(key, "token_file") == 0) {
                if (value[0] != '/' || strlen(value) > 4096) {
                        r = ini_diag(d, file, line, true, "%s: 'token_file': '%s' is not an absolute path", what,
                                     q(value, qb, sizeof qb));
                        return r < 0 ? r : -EINVAL;
                }
                /* read by the sender at start and reload; a warning here, as test-config may run
                 * as a user who cannot read it */
                if (access(value, R_OK) < 0) {
                        char eb[64];
                        r = ini_diag(d, file, line, false, "%s: 'token_file': cannot read '%s' (%s): this webhook's events "
                                     "will be dropped unless the daemon can", what, q(value, qb, sizeof qb),
                                     strerror_r(errno, eb, sizeof eb));
                        if (r < 0)
                                return r;
                }
                free(w->token_file);
                w->token_file = strdup(value);
                return w->token_file ? 0 : -ENOMEM;
        }
        if (strcmp(key, "timeout") == 0) {
                unsigned long v;
                if (parse_uint(value, WEBHOOK_TIMEOUT_MAX, &v) < 0 || v == 0) {
                        r = ini_diag(d, file, line, true, "%s: 'timeout': '%s' is not a number of seconds in 1..%u", what,
                                     q(value, qb, sizeof qb), WEBHOOK_TIMEOUT_MAX);
                        return r < 0 ? r : -EINVAL;
                }
                w->timeout_sec = (unsigned) v;
                return 0;
        }
        if (strcmp(key, "token") == 0) {
                r = ini_diag(d, file, line, true, "%s: 'token': put the token in a file readable by root only and name it with token_file", what);
                return r < 0 ? r : -EINVAL;
        }
        r = ini_diag(d, file, line, false, "%s: unknown option '%s', ignoring", what, q(key, qb, sizeof qb));
        return r < 0 ? r : 0;
}

static int webhook_start(WebhookConf *w, const char *id, const char *file, unsigned line) {
        *w = (WebhookConf) { .format = WEBHOOK_FORMAT_JSON, .timeout_sec = WEBHOOK_TIMEOUT_DEFAULT, .line = line };
        w->id = strdup(id);
        w->file = strdup(file ?: "");
        return w->id && w->file ? 0 : -ENOMEM;
}

static bool webhook_name_ok(const char *s) {
        if (!*s || strlen(s) > WEBHOOK_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!host_char(*s) && *s != '_')
                        return false;
        return true;
}

int webhook_sections_load(const Ini *ini, Config *c, ConfDiags *d) {
        for (size_t i = 0; i < ini->n_sections; i++) {
                IniSection *sec = ini->sections[i];
                const char *name;
                char what[128], qb[128];
                WebhookConf w;
                bool bad = false;
                int r;

                if (strncmp(sec->name, "webhook", 7) != 0 || (sec->name[7] != ' ' && sec->name[7] != 0))
                        continue;
                name = sec->name + 7;
                while (*name == ' ')
                        name++;
                if (!webhook_name_ok(name)) {
                        r = ini_diag(d, sec->file, sec->line, true,
                                     "[%s]: a webhook's name is 1..64 letters, digits, '-', '_' or '.' ([webhook NAME])",
                                     q(sec->name, qb, sizeof qb));
                        if (r < 0)
                                return r;
                        continue;
                }
                snprintf(what, sizeof what, "[webhook %s]", name);
                r = webhook_start(&w, name, sec->file, sec->line);
                for (size_t k = 0; k < sec->n_entries && r >= 0; k++) {
                        IniEntry *e = sec->entries[k];

                        e->used = true;
                        r = webhook_opt(&w, what, e->key, e->value, e->file, e->line, d);
                        if (r == -EINVAL) {
                                bad = true;
                                r = 0;
                        }
                }
                if (r >= 0 && !bad && !w.url) {
                        r = ini_diag(d, sec->file, sec->line, true, "%s: 'url' is missing", what);
                        bad = true;
                }
                for (size_t k = 0; r >= 0 && !bad && k < c->n_webhooks; k++)
                        if (strcmp(c->webhooks[k].id, name) == 0) {
                                /* the .local's section of the same name merged already: this is a real duplicate */
                                r = ini_diag(d, sec->file, sec->line, true, "%s is defined twice", what);
                                bad = true;
                        }
                if (r >= 0 && !bad) {
                        WebhookConf *v = reallocarray(c->webhooks, c->n_webhooks + 1, sizeof *v);
                        if (!v)
                                r = -ENOMEM;
                        else {
                                c->webhooks = v;
                                c->webhooks[c->n_webhooks++] = w;
                                continue;
                        }
                }
                webhook_conf_done(&w);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int jail_add_webhook(JailConf *j, WebhookConf *w) {
        WebhookConf *v = reallocarray(j->webhooks, j->n_webhooks + 1, sizeof *v);

        if (!v) {
                webhook_conf_done(w);
                return -ENOMEM;
        }
        j->webhooks = v;
        j->webhooks[j->n_webhooks++] = *w;
        return 0;
}

int jail_webhook_action(JailConf *j, const Config *c, const Opt *opts, size_t n_opts, const char *file,
                        unsigned line, ConfDiags *d) {
        const char *name = conf_opts_get(opts, n_opts, "name");
        char what[JAIL_NAME_MAX + 32], id[JAIL_NAME_MAX + 16], qb[128];
        WebhookConf w;
        bool bad = false;
        int r;

        snprintf(what, sizeof what, "jail '%s': 'action': webhook", j->name);
        if (name) {
                for (size_t i = 0; i < n_opts; i++)
                        if (strcmp(opts[i].key, "name") != 0) {
                                r = ini_diag(d, file, line, true, "%s: name= takes no other options (set them in [webhook %s])",
                                             what, q(name, qb, sizeof qb));
                                return r < 0 ? r : 0;
                        }
                for (size_t i = 0; i < c->n_webhooks; i++)
                        if (strcmp(c->webhooks[i].id, name) == 0) {
                                r = webhook_conf_copy(&c->webhooks[i], &w);
                                return r < 0 ? r : jail_add_webhook(j, &w);
                        }
                r = ini_diag(d, file, line, true, "%s: no [webhook %s] section in nftjail.conf or nftjail.local", what,
                             q(name, qb, sizeof qb));
                return r < 0 ? r : 0;
        }
        snprintf(id, sizeof id, "%s/%zu", j->name, j->n_webhooks + 1);
        r = webhook_start(&w, id, file, line);
        for (size_t i = 0; i < n_opts && r >= 0; i++) {
                r = webhook_opt(&w, what, opts[i].key, opts[i].value, file, line, d);
                if (r == -EINVAL) {
                        bad = true;
                        r = 0;
                }
        }
        if (r >= 0 && !bad && !w.url) {
                r = ini_diag(d, file, line, true, "%s needs url=\"https://...\" or name=NAME of a [webhook NAME] section", what);
                bad = true;
        }
        if (r < 0 || bad) {
                webhook_conf_done(&w);
                return r < 0 ? r : 0;
        }
        return jail_add_webhook(j, &w);
}
