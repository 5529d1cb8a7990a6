/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "journal-match.h"

/* One journalmatch term is FIELD=value; the field must be a valid journal field name. */
static bool field_valid(const char *s, size_t len) {
        if (len == 0 || len > 64 || isdigit((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < len; i++)
                if (!(isupper((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '_'))
                        return false;
        return true;
}

int journal_match_foreach(const char *match, int (*fn)(const char *t, size_t len, void *u), void *u,
                                 char *errbuf, size_t errlen) {
        const char *p = match;
        bool want_term = true;

        while (*p) {
                const char *start, *eq;
                size_t len;
                int r;

                while (isspace((unsigned char) *p))
                        p++;
                if (!*p)
                        break;
                start = p;
                while (*p && !isspace((unsigned char) *p))
                        p++;
                len = (size_t) (p - start);
                if (len == 1 && *start == '+') {
                        if (want_term) {
                                snprintf(errbuf, errlen, "'+' without a match before it");
                                return -EINVAL;
                        }
                        want_term = true;
                        r = fn ? fn(NULL, 0, u) : 0;
                        if (r < 0)
                                return r;
                        continue;
                }
                eq = memchr(start, '=', len);
                if (!eq || !field_valid(start, (size_t) (eq - start))) {
                        snprintf(errbuf, errlen, "bad journal match '%.*s' (want FIELD=value)", (int) MIN(len, 64), start);
                        return -EINVAL;
                }
                want_term = false;
                r = fn ? fn(start, len, u) : 0;
                if (r < 0)
                        return r;
        }
        if (want_term) {
                snprintf(errbuf, errlen, "empty journal match");
                return -EINVAL;
        }
        return 0;
}

int journal_match_validate(const char *match, char *errbuf, size_t errlen) {
        if (!match)
                return 0;
        return journal_match_foreach(match, NULL, NULL, errbuf, errlen);
}
