/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
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

/* What a non-root local user controls in a journal entry. journald strips the fields with a
 * leading '_' that a client sends, so those come from the kernel or /proc; all others are
 * written by the sender. Of the trusted ones only the uid says who sent the entry: the process
 * fields and the unit are read from /proc (and missing when the sender exited first), and a
 * unit's cgroup holds every process it starts. */
const char *journal_field_forgeable(const char *field, size_t len) {
#define IS(s) (len == strlen(s) && memcmp(field, s, len) == 0)
        if (IS("_UID"))
                return NULL;
        if (IS("_COMM") || IS("_EXE") || IS("_CMDLINE"))
                return "the process name, path or command line, chosen by whoever starts a program (a copy of logger "
                       "named sshd is enough)";
        if (len >= 9 && memcmp(field, "_SYSTEMD_", 9) == 0)
                return "the sender's cgroup, shared by every process the unit starts (users' sessions too where "
                       "pam_systemd does not move them out) and lost when the sender exits first";
        if (len > 0 && field[0] == '_')
                return "not the sender's user";
#undef IS
        return "written by the sender itself";
}

typedef struct ForgeWalk {
        char *alt;      /* terms of the alternative so far, joined by ' ' */
        size_t alt_len;
        char *why;      /* "FIELD is REASON; ..." of its terms */
        size_t why_len;
        bool uid;       /* it has a _UID= term */
        int (*fn)(const char *alt, const char *why, void *u);
        void *u;
} ForgeWalk;

static int buf_add(char **b, size_t *n, const char *sep, const char *s, size_t len) {
        size_t sl = *n > 0 ? strlen(sep) : 0;
        char *nb = realloc(*b, *n + sl + len + 1);

        if (!nb)
                return -ENOMEM;
        memcpy(nb + *n, sep, sl);
        memcpy(nb + *n + sl, s, len);
        *n += sl + len;
        nb[*n] = 0;
        *b = nb;
        return 0;
}

static int forge_flush(ForgeWalk *w) {
        int r = 0;

        if (w->alt_len > 0 && !w->uid)
                r = w->fn(w->alt, w->why ?: "", w->u);
        w->alt_len = w->why_len = 0;
        w->uid = false;
        return r;
}

static int forge_term(const char *t, size_t len, void *u) {
        ForgeWalk *w = u;
        const char *eq, *why;
        size_t flen;
        int r;

        if (!t)
                return forge_flush(w);
        eq = memchr(t, '=', len);
        flen = (size_t) (eq - t); /* journal_match_foreach() checked that there is one */
        why = journal_field_forgeable(t, flen);
        if (!why)
                w->uid = true;
        r = buf_add(&w->alt, &w->alt_len, " ", t, len);
        if (r < 0 || !why)
                return r;
        /* one reason per field name, however often the alternative repeats it */
        for (const char *p = w->why_len > 0 ? w->why : NULL; p; p = strstr(p, "; "), p = p ? p + 2 : NULL)
                if (strncmp(p, t, flen) == 0 && strncmp(p + flen, " is ", 4) == 0)
                        return 0;
        r = buf_add(&w->why, &w->why_len, "; ", t, flen);
        if (r < 0)
                return r;
        r = buf_add(&w->why, &w->why_len, "", " is ", 4);
        return r < 0 ? r : buf_add(&w->why, &w->why_len, "", why, strlen(why));
}

int journal_match_forgeable(const char *match, int (*fn)(const char *alt, const char *why, void *u), void *u) {
        ForgeWalk w = { .fn = fn, .u = u };
        char err[128];
        int r;

        r = journal_match_foreach(match, forge_term, &w, err, sizeof err);
        if (r >= 0)
                r = forge_flush(&w);
        free(w.alt);
        free(w.why);
        return r;
}
