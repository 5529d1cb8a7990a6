/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

void conf_opts_free(Opt *o, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(o[i].key);
                free(o[i].value);
        }
        free(o);
}

/* Parses a filter or action spec. Several [...] groups merge, later keys winning, so that
 * "%(action_abuseipdb)s[abuseipdb_apikey=...]" works whether action_abuseipdb has options or
 * not. Returns 0, or -EINVAL with err set. */
int conf_spec_parse(const char *s, char **ret_name, Opt **ret_opts, size_t *ret_n, char *err) {
        _cleanup_free_ char *name = NULL;
        Opt *opts = NULL;
        size_t n = 0;
        const char *p = s, *b;
        int r = -EINVAL;

        while (isspace((unsigned char) *p))
                p++;
        b = p;
        while (*p && *p != '[')
                p++;
        name = strndup(b, (size_t) (p - b));
        if (!name)
                return -ENOMEM;
        strstrip(name);
        if (!*name) {
                snprintf(err, ERRBUF, "missing name in '%s'", s);
                return -EINVAL;
        }
        while (*p == '[') {
                p++;
                for (;;) {
                        const char *ks, *ke, *vs, *ve;
                        char q;
                        Opt *nv;

                        while (isspace((unsigned char) *p))
                                p++;
                        if (*p == ']') {
                                p++;
                                break;
                        }
                        ks = p;
                        while (*p && *p != '=' && *p != ',' && *p != ']')
                                p++;
                        if (*p != '=') {
                                snprintf(err, ERRBUF, "expected key=value in '%s'", s);
                                goto fail;
                        }
                        ke = p++;
                        while (ke > ks && isspace((unsigned char) ke[-1]))
                                ke--;
                        if (ke == ks) {
                                snprintf(err, ERRBUF, "option without a name in '%s'", s);
                                goto fail;
                        }
                        while (isspace((unsigned char) *p))
                                p++;
                        if (*p == '"' || *p == '\'') {
                                q = *p++;
                                vs = p;
                                while (*p && *p != q)
                                        p++;
                                if (!*p) {
                                        snprintf(err, ERRBUF, "unterminated quote in '%s'", s);
                                        goto fail;
                                }
                                ve = p++;
                                while (isspace((unsigned char) *p))
                                        p++;
                        } else {
                                vs = p;
                                while (*p && *p != ',' && *p != ']')
                                        p++;
                                ve = p;
                                while (ve > vs && isspace((unsigned char) ve[-1]))
                                        ve--;
                        }
                        if (*p != ',' && *p != ']') {
                                snprintf(err, ERRBUF, "expected ',' or ']' in '%s'", s);
                                goto fail;
                        }
                        nv = reallocarray(opts, n + 1, sizeof(Opt));
                        if (!nv) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        opts = nv;
                        opts[n].key = strndup(ks, (size_t) (ke - ks));
                        opts[n].value = strndup(vs, (size_t) (ve - vs));
                        n++;
                        if (!opts[n - 1].key || !opts[n - 1].value) {
                                r = -ENOMEM;
                                goto fail;
                        }
                        if (*p == ',')
                                p++;
                }
                while (isspace((unsigned char) *p))
                        p++;
        }
        if (*p) {
                snprintf(err, ERRBUF, "unexpected '%.20s' in '%s'", p, s);
                goto fail;
        }
        *ret_name = TAKE_PTR(name);
        *ret_opts = opts;
        *ret_n = n;
        return 0;
fail:
        conf_opts_free(opts, n);
        return r;
}

const char *conf_opts_get(const Opt *o, size_t n, const char *key) {
        for (size_t i = n; i > 0; i--)
                if (strcmp(o[i - 1].key, key) == 0)
                        return o[i - 1].value;
        return NULL;
}
