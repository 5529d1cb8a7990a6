/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>

#include "conf.h"
#include "increment.h"
#include "ini.h"
#include "util/string-util.h"

#define INCLUDE_DEPTH_MAX 10U
#define INTERP_DEPTH_MAX 10U
#define TAG_SUBST_MAX 1000U
#define EXPAND_BUDGET (1024U * 1024U) /* bytes one option may grow to: no billion laughs */
#define PORT_RANGE_MAX 256U
#define REF_COST 16U          /* budget charged per %(name)s or <tag> expanded */
#define TOTAL_BUDGET (64U * 1024U * 1024U) /* all options of one config_load() together */
#define JAILS_MAX 1000U
#define ERRBUF 512

static void *mfree(void *p) {
        free(p);
        return NULL;
}

static bool str_in_list(const char *s, bool icase, const char *const *l) {
        for (; *l; l++)
                if (icase ? strcasecmp(s, *l) == 0 : strcmp(s, *l) == 0)
                        return true;
        return false;
}
#define STR_IN_SET(s, ...) str_in_list((s), false, (const char *const[]) { __VA_ARGS__, NULL })
#define STR_IN_SET_CASE(s, ...) str_in_list((s), true, (const char *const[]) { __VA_ARGS__, NULL })

static const char *const backend_table[_BACKEND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_SYSTEMD] = "systemd",
        [BACKEND_POLLING] = "polling",
        [BACKEND_PYINOTIFY] = "pyinotify",
};

const char *backend_to_string(Backend b) {
        if (b < 0 || b >= _BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

Backend backend_from_string(const char *s) {
        if (!s)
                return _BACKEND_INVALID;
        for (int i = 0; i < _BACKEND_MAX; i++)
                if (strcmp(backend_table[i], s) == 0)
                        return (Backend) i;
        return _BACKEND_INVALID;
}

void conf_diags_done(ConfDiags *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        *d = (ConfDiags) {};
}

char *conf_diag_format(const ConfDiag *d, char *buf, size_t len) {
        const char *kind = d->error ? "error" : "warning";

        if (len == 0)
                return buf;
        if (d->file && d->line > 0)
                snprintf(buf, len, "%s:%u: %s: %s", d->file, d->line, kind, d->message);
        else if (d->file)
                snprintf(buf, len, "%s: %s: %s", d->file, kind, d->message);
        else
                snprintf(buf, len, "%s: %s", kind, d->message);
        return buf;
}

/* ---- lines with their origin ---- */

typedef struct VLine {
        char *text;
        const char *file;       /* borrowed from an IniEntry, or the scope */
        unsigned line;
} VLine;

typedef struct VLines {
        VLine *v;
        size_t n;
} VLines;

static void vlines_done(VLines *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].text);
        free(l->v);
        *l = (VLines) {};
}

static int vlines_push(VLines *l, char *text, const char *file, unsigned line) {
        VLine *v = reallocarray(l->v, l->n + 1, sizeof(VLine));

        if (!v)
                return -ENOMEM;
        l->v = v;
        l->v[l->n++] = (VLine) { .text = text, .file = file, .line = line };
        return 0;
}

static int str_append(char **s, const char *a, size_t alen) {
        size_t old = *s ? strlen(*s) : 0;
        char *n = realloc(*s, old + alen + 1);

        if (!n)
                return -ENOMEM;
        memcpy(n + old, a, alen);
        n[old + alen] = 0;
        *s = n;
        return 0;
}

static bool only_blanks(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!isspace((unsigned char) s[i]))
                        return false;
        return true;
}

/* ---- scopes and interpolation ---- */

typedef struct Opt {
        char *key;
        char *value;
} Opt;

static void opts_free(Opt *o, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(o[i].key);
                free(o[i].value);
        }
        free(o);
}

/* Where names are looked up. Jails: the jail's section, then [DEFAULT]. Filters, as fail2ban:
 * the name[key=value] options, then [Init], then [Definition], then [DEFAULT]. */
typedef struct Scope {
        IniSection *levels[3];
        size_t n_levels;
        const Opt *opts;
        size_t n_opts;
        const char *opts_file;  /* where the options were written */
        unsigned opts_line;
        const char *name;       /* %(__name__)s */
        bool tags;              /* filters: substitute <key> tags */
        const Ini *ini;         /* filters: the file and its includes, for <SECTION/key> tags */
        size_t budget;          /* bytes left for the expansion in progress */
        size_t *total;          /* bytes left for the whole load, or NULL */
} Scope;

typedef struct Found {
        const char *value;
        const char *file;
        unsigned line;
        const unsigned *lines;
        size_t n_lines;
        bool literal;           /* an option value: already interpolated */
} Found;

static void found_entry(Found *f, IniEntry *e) {
        e->used = true;
        *f = (Found) { .value = e->value, .file = e->file, .line = e->line, .lines = e->lines, .n_lines = e->n_lines };
}

/* Returns true if key names a value. known/key gives the value key had before its last
 * override (or the next level's value); default/key the value of [DEFAULT]. */
static bool scope_find(const Scope *sc, const char *key, Found *ret) {
        bool known = false;

        /* default/key: [DEFAULT]'s value, whatever the section sets (fail2ban's paths-common.conf:
         * default_backend = %(default/backend)s) */
        if (strncmp(key, "default/", 8) == 0) {
                for (size_t i = 0; i < sc->n_levels; i++) {
                        IniEntry *e;

                        if (strcmp(sc->levels[i]->name, "DEFAULT") != 0 || !(e = ini_section_get(sc->levels[i], key + 8)))
                                continue;
                        found_entry(ret, e);
                        return true;
                }
                return false;
        }

        if (strncmp(key, "known/", 6) == 0) {
                known = true;
                key += 6;
        }
        if (!known)
                for (size_t i = sc->n_opts; i > 0; i--)
                        if (strcmp(sc->opts[i - 1].key, key) == 0) {
                                *ret = (Found) { .value = sc->opts[i - 1].value, .file = sc->opts_file,
                                                 .line = sc->opts_line, .literal = true };
                                return true;
                        }
        if (sc->name && strcmp(key, "__name__") == 0) {
                *ret = (Found) { .value = sc->name, .file = sc->opts_file, .line = sc->opts_line, .literal = true };
                return true;
        }
        for (size_t i = 0; i < sc->n_levels; i++) {
                IniEntry *e = ini_section_get(sc->levels[i], key);

                if (!e)
                        continue;
                if (known) {
                        if (!e->prev) {
                                known = false; /* the next level holds what came before */
                                continue;
                        }
                        e->used = true;
                        found_entry(ret, e->prev);
                        return true;
                }
                found_entry(ret, e);
                return true;
        }
        return false;
}

static int expand_value(Scope *sc, const Found *f, unsigned depth, VLines *out, char *err);

/* fail2ban's cross-section tag <SECTION/key> (common.conf's <lt_<logtype>/__prefix_line>): key of
 * another section of the filter's files. Its value is expanded where the tag is, so the tags and
 * references it holds are the filter's. "known/key" is not one of these. */
static bool scope_find_section_key(const Scope *sc, const char *tag, Found *ret) {
        const char *slash = strchr(tag, '/');
        _cleanup_free_ char *section = NULL;
        IniSection *s;
        IniEntry *e;

        if (!sc->ini || !slash || slash == tag || !slash[1] || strchr(slash + 1, '/') ||
            strncmp(tag, "known/", 6) == 0)
                return false;
        section = strndup(tag, (size_t) (slash - tag));
        if (!section)
                return false;
        s = ini_find_section(sc->ini, section);
        if (!s || !(e = ini_section_get(s, slash + 1)))
                return false;
        found_entry(ret, e);
        return true;
}

/* Appends `add` to the last line of out, and the rest of add's lines after it (which keep their
 * origin). When the reference was all of its line (whole_line, and nothing before it on out's
 * last line), that line takes the origin of add's first line: a regex pulled in by
 * "%(cmnfailre)s" alone on a line is reported where it is written. Takes add's texts. */
static int vlines_splice(VLines *out, VLines *add, bool whole_line) {
        VLine *last = &out->v[out->n - 1];
        int r;

        if (add->n == 0)
                return 0;
        if (whole_line && (!last->text || only_blanks(last->text, strlen(last->text)))) {
                last->file = add->v[0].file;
                last->line = add->v[0].line;
        }
        r = str_append(&last->text, add->v[0].text, strlen(add->v[0].text));
        if (r < 0)
                return r;
        for (size_t i = 1; i < add->n; i++) {
                r = vlines_push(out, add->v[i].text, add->v[i].file, add->v[i].line);
                if (r < 0)
                        return r;
                add->v[i].text = NULL;
        }
        return 0;
}

static int budget_take(Scope *sc, size_t n, char *err) {
        if (n > sc->budget) {
                snprintf(err, ERRBUF, "value grows beyond %u bytes after interpolation", EXPAND_BUDGET);
                return -EINVAL;
        }
        if (sc->total && n > *sc->total) {
                snprintf(err, ERRBUF, "the configuration grows beyond %u bytes after interpolation", TOTAL_BUDGET);
                return -EINVAL;
        }
        sc->budget -= n;
        if (sc->total)
                *sc->total -= n;
        return 0;
}

/* Expands one physical line (s, n bytes) with %(name)s and %% into out, whose last line it
 * extends. */
static int expand_text(Scope *sc, const char *s, size_t n, unsigned depth, VLines *out, char *err) {
        size_t i = 0, lit = 0;
        int r;

        while (i < n) {
                if (s[i] != '%') {
                        i++;
                        continue;
                }
                r = str_append(&out->v[out->n - 1].text, s + lit, i - lit);
                if (r < 0)
                        return r;
                r = budget_take(sc, i - lit, err);
                if (r < 0)
                        return r;
                if (i + 1 < n && s[i + 1] == '%') {
                        r = str_append(&out->v[out->n - 1].text, "%", 1);
                        if (r < 0)
                                return r;
                        i += 2;
                        lit = i;
                        continue;
                }
                if (i + 1 < n && s[i + 1] == '(') {
                        const char *close = memchr(s + i + 2, ')', n - i - 2);
                        _cleanup_free_ char *key = NULL;
                        VLines add = {};
                        Found f;

                        if (!close || (size_t) (close - s) + 1 >= n || close[1] != 's') {
                                snprintf(err, ERRBUF, "bad interpolation syntax at '%.*s' (expected %%(name)s)",
                                         (int) MIN(n - i, 40), s + i);
                                return -EINVAL;
                        }
                        key = strndup(s + i + 2, (size_t) (close - (s + i + 2)));
                        if (!key)
                                return -ENOMEM;
                        if (!scope_find(sc, key, &f) && !scope_find_section_key(sc, key, &f)) {
                                if (strncmp(key, "known/", 6) == 0)
                                        snprintf(err, ERRBUF, "'%%(%s)s': '%s' has no earlier value", key, key + 6);
                                else if (strncmp(key, "default/", 8) == 0)
                                        snprintf(err, ERRBUF, "'%%(%s)s': [DEFAULT] has no option '%s'", key, key + 8);
                                else if (strchr(key, '/') && sc->ini)
                                        snprintf(err, ERRBUF, "'%%(%s)s': no such section or option", key);
                                else if (strchr(key, '/'))
                                        snprintf(err, ERRBUF, "'%%(%s)s': outside filters only the known/ and default/ prefixes are read", key);
                                else
                                        snprintf(err, ERRBUF, "'%%(%s)s' refers to an undefined option '%s'", key, key);
                                return -EINVAL;
                        }
                        /* references to empty values cost no bytes but still cost time */
                        r = budget_take(sc, REF_COST, err);
                        if (r < 0)
                                return r;
                        if (depth + 1 > INTERP_DEPTH_MAX) {
                                snprintf(err, ERRBUF, "interpolation loop (deeper than %u) at '%%(%s)s'",
                                         INTERP_DEPTH_MAX, key);
                                return -ELOOP;
                        }
                        r = expand_value(sc, &f, depth + 1, &add, err);
                        if (r >= 0)
                                r = vlines_splice(out, &add, only_blanks(close + 2, (size_t) (s + n - (close + 2))));
                        vlines_done(&add);
                        if (r < 0)
                                return r;
                        i = (size_t) (close - s) + 2;
                        lit = i;
                        continue;
                }
                snprintf(err, ERRBUF, "'%%' must be followed by '%%' or '(' (write %%%% for a literal %%)");
                return -EINVAL;
        }
        r = budget_take(sc, n - lit, err);
        if (r < 0)
                return r;
        return str_append(&out->v[out->n - 1].text, s + lit, n - lit);
}

/* Expands a whole (possibly multi-line) value into out (fresh lines). */
static int expand_value(Scope *sc, const Found *f, unsigned depth, VLines *out, char *err) {
        const char *p = f->value;
        size_t idx = 0;
        int r;

        for (;;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                unsigned line = f->lines && f->n_lines > 0 ? f->lines[MIN(idx, f->n_lines - 1)] : f->line;
                char *empty = strdup("");

                if (!empty)
                        return -ENOMEM;
                r = vlines_push(out, empty, f->file, line);
                if (r < 0) {
                        free(empty);
                        return r;
                }
                if (f->literal) {
                        r = budget_take(sc, len, err);
                        if (r >= 0)
                                r = str_append(&out->v[out->n - 1].text, p, len);
                } else
                        r = expand_text(sc, p, len, depth, out, err);
                if (r < 0)
                        return r;
                if (!nl)
                        break;
                p = nl + 1;
                idx++;
        }
        return 0;
}

static bool tag_reserved(const char *name, size_t n) {
        static const char *const reserved[] = {
                "HOST", "ADDR", "IP4", "IP6", "DNS", "CIDR", "SUBNET", "SKIPLINES", "fid", "mlfid",
        };

        if (n >= 2 && (strncmp(name, "F-", 2) == 0 || strncmp(name, "/F-", 3) == 0))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (strlen(reserved[i]) == n && strncmp(reserved[i], name, n) == 0)
                        return true;
        return false;
}

/* fail2ban's <key> substitution in filters: a tag naming a filter option is replaced by that
 * option's value; the innermost tags go first, so <mdre-<mode>> works. Tags that name nothing
 * (<HOST>, <F-USER>, ...) stay for the matcher. */
static int substitute_tags(Scope *sc, VLines *out, char *err) {
        unsigned count = 0;
        int r;

        for (size_t i = 0; i < out->n;) {
                const char *t = out->v[i].text, *a = NULL, *b = NULL;
                _cleanup_free_ char *key = NULL;
                VLines add = {}, rebuilt = {};
                Found f;

                for (const char *p = t; *p; p++) {
                        const char *q;

                        if (*p != '<')
                                continue;
                        for (q = p + 1; *q && *q != '<' && *q != '>' && !isspace((unsigned char) *q); q++)
                                ;
                        if (*q != '>' || q == p + 1 || tag_reserved(p + 1, (size_t) (q - p - 1)))
                                continue;
                        free(key);
                        key = strndup(p + 1, (size_t) (q - p - 1));
                        if (!key)
                                return -ENOMEM;
                        if (strncmp(key, "known/", 6) != 0 &&
                            (scope_find(sc, key, &f) || scope_find_section_key(sc, key, &f))) {
                                a = p;
                                b = q + 1;
                                break;
                        }
                }
                if (!a) {
                        i++;
                        continue;
                }
                r = budget_take(sc, REF_COST, err);
                if (r < 0)
                        return r;
                if (++count > TAG_SUBST_MAX) {
                        snprintf(err, ERRBUF, "tag substitution loop at '<%s>'", key);
                        return -ELOOP;
                }
                r = expand_value(sc, &f, 1, &add, err);
                if (r < 0) {
                        vlines_done(&add);
                        return r;
                }
                /* rebuild line i as prefix + add + suffix */
                {
                        char *prefix = strndup(t, (size_t) (a - t));

                        if (!prefix || vlines_push(&rebuilt, prefix, out->v[i].file, out->v[i].line) < 0) {
                                free(prefix);
                                vlines_done(&add);
                                return -ENOMEM;
                        }
                }
                r = vlines_splice(&rebuilt, &add, only_blanks(b, strlen(b)));
                if (r >= 0)
                        r = str_append(&rebuilt.v[rebuilt.n - 1].text, b, strlen(b));
                if (r >= 0)
                        r = budget_take(sc, strlen(b) + (size_t) (a - t), err);
                vlines_done(&add);
                if (r < 0) {
                        vlines_done(&rebuilt);
                        return r;
                }
                if (rebuilt.n > 1) {
                        VLine *v = reallocarray(out->v, out->n + rebuilt.n - 1, sizeof(VLine));

                        if (!v) {
                                vlines_done(&rebuilt);
                                return -ENOMEM;
                        }
                        out->v = v;
                        memmove(out->v + i + rebuilt.n, out->v + i + 1, (out->n - i - 1) * sizeof(VLine));
                        out->n += rebuilt.n - 1;
                }
                free(out->v[i].text);
                memcpy(out->v + i, rebuilt.v, rebuilt.n * sizeof(VLine));
                free(rebuilt.v);
                /* stay on line i: it may hold more tags, or a tag made of the new text */
        }
        return 0;
}

/* Looks key up and expands it. Returns 1 with *ret filled (and *where the option's origin), 0 if
 * the key is unset, or a negative errno with a diag naming the option. */
static int scope_get(Scope *sc, ConfDiags *d, const char *key, VLines *ret, Found *where) {
        char err[ERRBUF] = "";
        VLines out = {};
        Found f;
        int r;

        if (!scope_find(sc, key, &f))
                return 0;
        sc->budget = EXPAND_BUDGET;
        r = expand_value(sc, &f, 0, &out, err);
        if (r >= 0 && sc->tags)
                r = substitute_tags(sc, &out, err);
        if (r < 0) {
                vlines_done(&out);
                if (r == -ENOMEM)
                        return r;
                if (sc->name)
                        r = ini_diag(d, f.file, f.line, true, "jail '%s': '%s': %s", sc->name, key, err);
                else
                        r = ini_diag(d, f.file, f.line, true, "'%s': %s", key, err);
                return r < 0 ? r : -EINVAL;
        }
        *ret = out;
        if (where)
                *where = f;
        return 1;
}

/* Same, as one stripped string with lines joined by '\n'. */
static int scope_get_str(Scope *sc, ConfDiags *d, const char *key, char **ret, Found *where) {
        VLines l = {};
        char *s = NULL;
        int r;

        r = scope_get(sc, d, key, &l, where);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                strstrip(l.v[i].text);
                if (!*l.v[i].text)
                        continue;
                if ((s && str_append(&s, "\n", 1) < 0) || str_append(&s, l.v[i].text, strlen(l.v[i].text)) < 0) {
                        free(s);
                        vlines_done(&l);
                        return -ENOMEM;
                }
        }
        vlines_done(&l);
        if (!s) {
                s = strdup("");
                if (!s)
                        return -ENOMEM;
        }
        *ret = s;
        return 1;
}

/* ---- "name[key=value, key2="v, w"]" ---- */

/* Parses a filter or action spec. Several [...] groups merge, later keys winning, so that
 * "%(action_abuseipdb)s[abuseipdb_apikey=...]" works whether action_abuseipdb has options or
 * not. Returns 0, or -EINVAL with err set. */
static int parse_spec(const char *s, char **ret_name, Opt **ret_opts, size_t *ret_n, char *err) {
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
        opts_free(opts, n);
        return r;
}

static const char *opts_get(const Opt *o, size_t n, const char *key) {
        for (size_t i = n; i > 0; i--)
                if (strcmp(o[i - 1].key, key) == 0)
                        return o[i - 1].value;
        return NULL;
}

/* ---- files and [INCLUDES] ---- */

static char *path_join(const char *dir, const char *name) {
        char *p;

        if (name[0] == '/' || !dir || !*dir)
                return strdup(name);
        if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name) < 0)
                return NULL;
        return p;
}

static char *dir_of(const char *path) {
        const char *s = strrchr(path, '/');

        if (!s)
                return strdup(".");
        if (s == path)
                return strdup("/");
        return strndup(path, (size_t) (s - path));
}

/* The files being read, by identity: a file that includes one of them is a cycle. (dev, inode),
 * not realpath(): that was a readlink() per path component of every file read, 300 of a start's
 * 1,300 syscalls, and it also sees a cycle through a hard link or a bind mount. */
typedef struct IncStack {
        struct {
                dev_t dev;
                ino_t ino;
        } v[INCLUDE_DEPTH_MAX + 2];
        size_t n;
} IncStack;

static int load_tree(const char *path, Ini *into, IncStack *st, ConfDiags *d, const char *from_file, unsigned from_line);

static int load_includes(const IniEntry *e, const char *path, Ini *into, IncStack *st, ConfDiags *d) {
        _cleanup_free_ char *dir = dir_of(path);
        const char *p;
        size_t idx = 0;

        if (!dir)
                return -ENOMEM;
        p = e->value;
        while (*p) {
                const char *b;
                _cleanup_free_ char *name = NULL, *full = NULL;
                unsigned line;
                int r;

                while (*p && isspace((unsigned char) *p)) {
                        if (*p == '\n')
                                idx++;
                        p++;
                }
                if (!*p)
                        break;
                b = p;
                while (*p && !isspace((unsigned char) *p))
                        p++;
                name = strndup(b, (size_t) (p - b));
                if (!name)
                        return -ENOMEM;
                full = path_join(dir, name);
                if (!full)
                        return -ENOMEM;
                line = e->n_lines > 0 ? e->lines[MIN(idx, e->n_lines - 1)] : e->line;
                r = load_tree(full, into, st, d, e->file, line);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

static bool endswith_local(const char *path) {
        size_t n = strlen(path);

        return n >= 6 && strcmp(path + n - 6, ".local") == 0;
}

/* Reads path with its [INCLUDES] before/after into `into`, in fail2ban's order. Returns 0
 * (errors in d), -ENOENT when a top-level file (from_file NULL) does not exist, or -ENOMEM. */
static int load_tree(const char *path, Ini *into, IncStack *st, ConfDiags *d, const char *from_file, unsigned from_line) {
        _cleanup_(ini_freep) Ini *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        IniSection *inc;
        IniEntry *before = NULL, *after = NULL;
        struct stat sb;
        int r;

        if (st->n > INCLUDE_DEPTH_MAX) {
                r = ini_diag(d, from_file, from_line, true, "includes nested deeper than %u levels at '%s'",
                             INCLUDE_DEPTH_MAX, path);
                return r < 0 ? r : 0;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOMEM)
                        return -ENOMEM;
                if (!from_file && errno == ENOENT)
                        return -ENOENT;
                /* "after = common.local" is fail2ban's hook for optional local overrides: a missing
                 * .local is normal, a missing .conf is a mistake */
                if (errno == ENOENT && endswith_local(path))
                        return 0;
                r = ini_diag(d, from_file ?: path, from_file ? from_line : 0, true, "%s '%s': %s",
                             from_file ? "cannot include" : "cannot read", path, strerror(errno));
                return r < 0 ? r : 0;
        }
        if (fstat(fd, &sb) < 0) {
                r = ini_diag(d, from_file ?: path, from_file ? from_line : 0, true, "%s '%s': %s",
                             from_file ? "cannot include" : "cannot read", path, strerror(errno));
                return r < 0 ? r : 0;
        }
        for (size_t i = 0; i < st->n; i++)
                if (st->v[i].dev == sb.st_dev && st->v[i].ino == sb.st_ino) {
                        r = ini_diag(d, from_file, from_line, true, "include cycle: '%s' includes itself", path);
                        return r < 0 ? r : 0;
                }
        r = ini_parse_fd(fd, path, &f, d);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* diag already there */

        inc = ini_find_section(f, "INCLUDES");
        if (inc) {
                before = ini_section_get(inc, "before");
                after = ini_section_get(inc, "after");
                for (size_t i = 0; i < inc->n_entries; i++)
                        if (inc->entries[i] != before && inc->entries[i] != after) {
                                r = ini_diag(d, inc->entries[i]->file, inc->entries[i]->line, false,
                                             "unknown option '%s' in [INCLUDES], ignoring", inc->entries[i]->key);
                                if (r < 0)
                                        return r;
                        }
        }
        st->v[st->n].dev = sb.st_dev;
        st->v[st->n].ino = sb.st_ino;
        st->n++;
        if (before)
                r = load_includes(before, path, into, st, d);
        if (r >= 0 && after) {
                /* after-includes are read after this file: keep f's own values first */
                r = ini_merge(into, f);
                if (r >= 0)
                        r = load_includes(after, path, into, st, d);
        } else if (r >= 0)
                r = ini_merge(into, f);
        st->n--;
        return r < 0 ? r : 0;
}

/* Loads path, then its .local sibling if any (base.conf -> base.local). */
static int load_conf_local(const char *conf_path, Ini *into, ConfDiags *d, bool *ret_found) {
        _cleanup_free_ char *local = NULL;
        IncStack st = {};
        size_t l = strlen(conf_path);
        bool found = false;
        int r;

        r = load_tree(conf_path, into, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = r >= 0;
        if (l > 5 && strcmp(conf_path + l - 5, ".conf") == 0) {
                if (asprintf(&local, "%.*s.local", (int) (l - 5), conf_path) < 0)
                        return -ENOMEM;
                r = load_tree(local, into, &st, d, NULL, 0);
                if (r == -ENOMEM)
                        return r;
                found = found || r >= 0;
        }
        if (ret_found)
                *ret_found = found;
        return 0;
}

static int filter_suffix(const struct dirent *de, const char *suffix) {
        size_t l = strlen(de->d_name), s = strlen(suffix);

        return de->d_name[0] != '.' && l > s && strcmp(de->d_name + l - s, suffix) == 0;
}
static int filter_conf(const struct dirent *de) {
        return filter_suffix(de, ".conf");
}
static int filter_local(const struct dirent *de) {
        return filter_suffix(de, ".local");
}

static int load_dir(const char *dir, int (*filter)(const struct dirent *), Ini *into, ConfDiags *d, bool *found) {
        struct dirent **list = NULL;
        int n, r = 0;

        n = scandir(dir, &list, filter, alphasort);
        if (n < 0)
                return errno == ENOMEM ? -ENOMEM : 0;
        if (n > 1000) {
                r = ini_diag(d, dir, 0, true, "more than 1000 files, reading none of them");
                if (r >= 0)
                        r = 1;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;
                IncStack st = {};

                if (r == 0) {
                        p = path_join(dir, list[i]->d_name);
                        if (!p)
                                r = -ENOMEM;
                        else {
                                r = load_tree(p, into, &st, d, NULL, 0);
                                if (r >= 0)
                                        *found = true;
                                else if (r == -ENOENT)
                                        r = 0;
                        }
                }
                free(list[i]);
        }
        free(list);
        return r < 0 ? r : 0;
}

/* ---- small parsers ---- */

static int parse_bool(const char *s) {
        static const char *const yes[] = { "true", "yes", "1", "on" }, *const no[] = { "false", "no", "0", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (max - (unsigned long) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (unsigned long) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* Values can hold any bytes an admin typed: quote them shortened for messages. */
static const char *q(const char *s, char *buf, size_t len) {
        return escape_bytes(s, strlen(s), buf, len);
}

/* maxlines, for a filter or a jail's override: *ret keeps its value when unset; a bad value is
 * an error with its file and line. Returns 0 or -ENOMEM. */
static int scope_get_maxlines(Scope *sc, ConfDiags *d, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        unsigned long v;
        char qb[128];
        Found w;
        int r;

        r = scope_get_str(sc, d, "maxlines", &s, &w);
        if (r <= 0)
                return r;
        if (parse_uint(s, 1000, &v) < 0 || v < 1)
                return MIN(ini_diag(d, w.file, w.line, true, "'maxlines': '%s' is not a number in 1..1000",
                                    q(s, qb, sizeof qb)), 0);
        *ret = (unsigned) v;
        return 0;
}

/* ---- filters ---- */

void filter_conf_done(FilterConf *f) {
        if (!f)
                return;
        free(f->name);
        free(f->file);
        for (size_t i = 0; i < f->n_failregex; i++) {
                free(f->failregex[i].pattern);
                free(f->failregex[i].file);
        }
        free(f->failregex);
        for (size_t i = 0; i < f->n_ignoreregex; i++) {
                free(f->ignoreregex[i].pattern);
                free(f->ignoreregex[i].file);
        }
        free(f->ignoreregex);
        free(f->prefregex.pattern);
        free(f->prefregex.file);
        free(f->datepattern);
        free(f->journalmatch);
        *f = (FilterConf) {};
}

static int regex_list(Scope *sc, ConfDiags *d, const char *key, FilterRegex **ret, size_t *ret_n) {
        VLines l = {};
        int r;

        r = scope_get(sc, d, key, &l, NULL);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                FilterRegex *v;

                strstrip(l.v[i].text);
                if (!*l.v[i].text)
                        continue;
                v = reallocarray(*ret, *ret_n + 1, sizeof(FilterRegex));
                if (!v) {
                        r = -ENOMEM;
                        break;
                }
                *ret = v;
                v[*ret_n] = (FilterRegex) { .pattern = TAKE_PTR(l.v[i].text), .line = l.v[i].line };
                v[*ret_n].file = l.v[i].file ? strdup(l.v[i].file) : NULL;
                (*ret_n)++;
                if (l.v[i].file && !v[*ret_n - 1].file) {
                        r = -ENOMEM;
                        break;
                }
        }
        vlines_done(&l);
        return r < 0 ? r : 0;
}

/* Loads filter spec for a jail (from_file:from_line is where it was named). */
static int filter_load(const char *config_dir, const char *spec, const char *from_file, unsigned from_line,
                       size_t *total, FilterConf *ret, ConfDiags *d) {
        _cleanup_(ini_freep) Ini *ini = NULL;
        _cleanup_free_ char *name = NULL, *path = NULL, *s = NULL;
        char err[ERRBUF], qb[128];
        FilterConf f = { .maxlines = 1 };
        Opt *opts = NULL;
        size_t n_opts = 0, errors = d->n_errors;
        bool found = false;
        Scope sc = {};
        int r;

        r = parse_spec(spec, &name, &opts, &n_opts, err);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                r = ini_diag(d, from_file, from_line, true, "'filter': %s", err);
                return r < 0 ? r : -EINVAL;
        }
        if (strchr(name, '/'))
                /* a path: as given for "nftjail regex", relative to the config dir in a jail */
                path = from_file ? path_join(config_dir, name) : strdup(name);
        else {
                _cleanup_free_ char *fd = path_join(config_dir, "filter.d");

                if (fd && asprintf(&path, "%s/%s.conf", fd, name) < 0)
                        path = NULL;
        }
        ini = ini_new();
        if (!path || !ini) {
                r = -ENOMEM;
                goto finish;
        }
        r = load_conf_local(path, ini, d, &found);
        if (r < 0)
                goto finish;
        if (!found) {
                r = ini_diag(d, from_file, from_line, true, "filter '%s' not found (no %s)", q(name, qb, sizeof qb), path);
                r = r < 0 ? r : -ENOENT;
                goto finish;
        }

        f.name = strdup(name);
        f.file = strdup(path);
        if (!f.name || !f.file) {
                r = -ENOMEM;
                goto finish;
        }
        sc = (Scope) { .opts = opts, .n_opts = n_opts, .opts_file = from_file, .opts_line = from_line, .tags = true,
                       .ini = ini, .total = total };
        if (ini_find_section(ini, "Init"))
                sc.levels[sc.n_levels++] = ini_find_section(ini, "Init");
        if (ini_find_section(ini, "Definition"))
                sc.levels[sc.n_levels++] = ini_find_section(ini, "Definition");
        if (ini_find_section(ini, "DEFAULT"))
                sc.levels[sc.n_levels++] = ini_find_section(ini, "DEFAULT");

        r = regex_list(&sc, d, "failregex", &f.failregex, &f.n_failregex);
        if (r == -ENOMEM)
                goto finish;
        r = regex_list(&sc, d, "ignoreregex", &f.ignoreregex, &f.n_ignoreregex);
        if (r == -ENOMEM)
                goto finish;
        {
                FilterRegex *pre = NULL;
                size_t n_pre = 0;

                r = regex_list(&sc, d, "prefregex", &pre, &n_pre);
                if (r == -ENOMEM)
                        goto finish;
                if (n_pre > 0) {
                        f.prefregex = pre[0];
                        for (size_t i = 1; i < n_pre; i++) {
                                if (i == 1) {
                                        r = ini_diag(d, pre[i].file, pre[i].line, true, "'prefregex' must be a single regex");
                                        if (r < 0)
                                                goto finish;
                                }
                                free(pre[i].pattern);
                                free(pre[i].file);
                        }
                }
                free(pre);
        }
        r = scope_get_str(&sc, d, "datepattern", &f.datepattern, NULL);
        if (r == -ENOMEM)
                goto finish;
        r = scope_get_str(&sc, d, "journalmatch", &f.journalmatch, NULL);
        if (r == -ENOMEM)
                goto finish;
        if (f.journalmatch && !*f.journalmatch)
                f.journalmatch = mfree(f.journalmatch);
        if (f.datepattern && !*f.datepattern)
                f.datepattern = mfree(f.datepattern);
        r = scope_get_maxlines(&sc, d, &f.maxlines);
        if (r < 0)
                goto finish;
        if (f.n_failregex == 0 && d->n_errors == errors) {
                r = ini_diag(d, f.file, 0, true, "filter '%s' has no failregex", q(name, qb, sizeof qb));
                if (r < 0)
                        goto finish;
        }
        r = d->n_errors > errors ? -EINVAL : 0;
finish:
        opts_free(opts, n_opts);
        if (r < 0)
                filter_conf_done(&f);
        else
                *ret = f;
        return r;
}

int filter_conf_load(const char *config_dir, const char *spec, FilterConf *ret, ConfDiags *diags) {
        ConfDiags local = {};
        int r;

        if (!config_dir || !spec || !ret)
                return -EINVAL;
        r = filter_load(config_dir, spec, NULL, 0, NULL, ret, diags ?: &local);
        conf_diags_done(&local);
        return r;
}

/* ---- jails ---- */

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

static const char *proto_name(uint8_t p) {
        return p == IPPROTO_UDP ? "udp" : p == IPPROTO_SCTP ? "sctp" : "tcp";
}

/* "ssh,http", "8000:8010", "0:65535", "all". Adds to j; returns 0, -EINVAL (diag added), -ENOMEM. */
static int parse_ports(JailConf *j, const char *value, const char *opt, const char *file, unsigned line, ConfDiags *d) {
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
                        if (port_from_string(a, proto_name(j->protocol), &lo) < 0 ||
                            port_from_string(colon + 1, proto_name(j->protocol), &hi) < 0 || hi < lo) {
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
                if (port_from_string(tok, proto_name(j->protocol), &lo) < 0) {
                        r = ini_diag(d, file, line, true, "'%s': unknown port '%s'", opt, q(tok, qb, sizeof qb));
                        return r < 0 ? r : -EINVAL;
                }
                r = jail_add_port(j, lo);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_protocol(const char *s, uint8_t *ret) {
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

static bool action_is_mail(const char *n) {
        static const char *const prefixes[] = {
                "mail", "sendmail", "complain", "xarf", "blocklist_de", "mynetwatchman", "dshield",
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

static int jail_actions(JailConf *j, Scope *sc, ConfDiags *d, const char *jail_port, const char *jail_proto,
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
                const char *file = l.v[i].file;
                unsigned line = l.v[i].line;
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

                r = parse_spec(text, &name, &opts, &n_opts, err);
                if (r == -ENOMEM)
                        goto fail;
                if (r < 0) {
                        r = ini_diag(d, file, line, true, "jail '%s': 'action': %s", j->name, err);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                any = true;
                if (action_is_ban(name)) {
                        const char *port = opts_get(opts, n_opts, "port"), *proto = opts_get(opts, n_opts, "protocol");

                        j->action_ban = true;
                        if (strstr(name, "allports") || strncmp(name, "route", 5) == 0 || strncmp(name, "hostsdeny", 9) == 0)
                                j->allports = true;
                        if (proto && *proto && !(jail_proto && same_but_blanks(proto, jail_proto)) &&
                            parse_protocol(proto, &j->protocol) < 0) {
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
                                r = parse_ports(j, port, "action port", file, line, d);
                                if (r == -ENOMEM)
                                        goto fail_opts;
                        }
                } else if (strcmp(name, "abuseipdb") == 0) {
                        const char *key = opts_get(opts, n_opts, "abuseipdb_apikey");
                        const char *cat = opts_get(opts, n_opts, "abuseipdb_category");

                        j->abuseipdb = true;
                        if (key && *key) {
                                free(j->abuseipdb_apikey);
                                j->abuseipdb_apikey = strdup(key);
                                if (!j->abuseipdb_apikey) {
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
                } else if (action_is_mail(name) || strstr(name, "-whois")) {
                        r = ini_diag(d, file, line, false, "jail '%s': 'action': mail actions are not supported, ignoring '%s'", j->name, q(name, qb, sizeof qb));
                        if (r < 0)
                                goto fail_opts;
                } else {
                        r = ini_diag(d, file, line, true, "jail '%s': 'action': unsupported action '%s'", j->name, q(name, qb, sizeof qb));
                        if (r < 0)
                                goto fail_opts;
                }
                opts_free(opts, n_opts);
                continue;
        fail_opts:
                opts_free(opts, n_opts);
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

static void jail_conf_done(JailConf *j) {
        free(j->name);
        free(j->file);
        filter_conf_done(&j->filter);
        free(j->journalmatch);
        strv_free(j->logpath);
        free(j->logtimezone);
        free(j->ports);
        free(j->ignoreip);
        free(j->abuseipdb_categories);
        free(j->abuseipdb_apikey);
        free(j->increment.formula);
        free(j->increment.multipliers);
        *j = (JailConf) {};
}

/* Options of fail2ban jails we do not use: accepted silently (helper values for actions) or with
 * a warning that says the feature is missing. */
static const struct {
        const char *name;
        bool warn;
} jail_ignored[] = {
        { "banaction", false }, { "banaction_allports", false }, { "chain", false }, { "mta", false },
        { "destemail", false }, { "sender", false }, { "sendername", false }, { "mode", false },
        { "abuseipdb_apikey", false }, { "abuseipdb_category", false }, { "logencoding", false },
        { "usedns", false }, { "maxmatches", false }, { "ignorecache", true }, { "ignorecommand", true },
        { "logtimezone", false }, { "action_", false },
        { "action_mw", false }, { "action_mwl", false }, { "action_xarf", false },
        { "action_cf_mwl", false }, { "action_blocklist_de", false }, { "action_abuseipdb", false },
};

static int jail_time(Scope *sc, ConfDiags *d, const char *key, int64_t def, bool allow_neg, int64_t *ret) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int64_t v;
        int r;

        *ret = def;
        r = scope_get_str(sc, d, key, &s, &w);
        if (r <= 0)
                return r;
        r = parse_duration_sec(s, &v);
        if (r < 0 || v == 0 || (!allow_neg && v < 0)) {
                r = ini_diag(d, w.file, w.line, true, "'%s': '%s' is not a %stime span (e.g. 600, 10m, 1h30m, 1d%s)", key,
                             q(s, qb, sizeof qb), allow_neg ? "" : "positive ", allow_neg ? ", -1 = permanent" : "");
                return r < 0 ? r : -EINVAL;
        }
        *ret = v;
        return 0;
}

/* fail2ban's bantime.* options (increment.c computes the ban time). */
/* records an error and goes on with the next option */
/* A boolean option: *ret keeps its value when the option is unset; a bad value is an error with
 * its file and line. Returns 0, or a negative errno (-ENOMEM) only when loading must stop. */
static int scope_get_bool(Scope *sc, ConfDiags *d, const char *key, bool *ret) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r, b;

        r = scope_get_str(sc, d, key, &s, &w);
        if (r <= 0)
                return r;
        b = parse_bool(s);
        if (b < 0)
                return MIN(ini_diag(d, w.file, w.line, true, "'%s': '%s' is not a boolean", key, q(s, qb, sizeof qb)), 0);
        *ret = b;
        return 0;
}

#define INC_DIAG(w, ...)                                                          \
        do {                                                                      \
                int _r = ini_diag(d, (w).file, (w).line, true, __VA_ARGS__);      \
                if (_r < 0)                                                       \
                        return _r;                                                \
        } while (0)

static int jail_increment(JailConf *j, Scope *sc, ConfDiags *d) {
        BanIncrement *inc = &j->increment;
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r;

        inc->factor = 1;
        r = scope_get_bool(sc, d, "bantime.increment", &inc->enabled);
        if (r < 0)
                return r;
        r = scope_get_bool(sc, d, "bantime.overalljails", &inc->overalljails);
        if (r < 0)
                return r;
        r = scope_get_str(sc, d, "bantime.factor", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                char *end;
                double f = strtod(s, &end);

                if (end == s || *end || !(f > 0) || f > 1e6)
                        INC_DIAG(w, "'bantime.factor': '%s' is not a number in (0, 1000000]", q(s, qb, sizeof qb));
                else
                        inc->factor = f;
        }
        s = mfree(s);
        r = scope_get_str(sc, d, "bantime.formula", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                const char *msg = NULL;
                size_t off = 0;

                if (increment_formula_check(s, &off, &msg) < 0)
                        INC_DIAG(w,
                                 "'bantime.formula': %s at offset %zu of '%s' (a Python-like expression of ban.Time, "
                                 "ban.Count and banFactor; nftjail never runs Python)",
                                 msg ?: "invalid", off, q(s, qb, sizeof qb));
                else
                        inc->formula = TAKE_PTR(s);
        }
        s = mfree(s);
        r = scope_get_str(sc, d, "bantime.multipliers", &s, &w);
        if (r < 0)
                return r;
        if (r > 0 && *s) {
                char *save = NULL;

                for (char *t = strtok_r(s, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save)) {
                        unsigned long v;
                        int64_t *nv;

                        if (parse_uint(t, 1000000, &v) < 0 || v < 1) {
                                INC_DIAG(w, "'bantime.multipliers': '%s' is not a number in 1..1000000", q(t, qb, sizeof qb));
                                break;
                        }
                        if (inc->n_multipliers >= 64) {
                                INC_DIAG(w, "'bantime.multipliers': more than %d values", 64);
                                break;
                        }
                        nv = reallocarray(inc->multipliers, inc->n_multipliers + 1, sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        inc->multipliers = nv;
                        inc->multipliers[inc->n_multipliers++] = (int64_t) v;
                }
        }
        r = jail_time(sc, d, "bantime.maxtime", 0, false, &inc->maxtime_sec);
        if (r == -ENOMEM)
                return r;
        r = jail_time(sc, d, "bantime.rndtime", 0, false, &inc->rndtime_sec);
        return r == -ENOMEM ? r : 0;
}
#undef INC_DIAG

static int jail_ipv6_prefix(JailConf *j, Scope *sc, ConfDiags *d) {
        _cleanup_free_ char *s = NULL;
        unsigned long v;
        char qb[128];
        Found w;
        int r;

        j->ipv6_prefix = 64;
        r = scope_get_str(sc, d, "ipv6_prefix", &s, &w);
        if (r <= 0)
                return r;
        if (parse_uint(s[0] == '/' ? s + 1 : s, 128, &v) < 0 || v < 16)
                return ini_diag(d, w.file, w.line, true, "'ipv6_prefix': '%s' is not a prefix length in 16..128", q(s, qb, sizeof qb));
        j->ipv6_prefix = (uint8_t) v;
        return 0;
}

static bool looks_like_hostname(const char *s) {
        if (strchr(s, ':'))
                return false;
        for (; *s && *s != '/'; s++)
                if (isalpha((unsigned char) *s) || *s == '-' || *s == '_')
                        return true;
        return false;
}

static int jail_ignoreip(JailConf *j, Scope *sc, ConfDiags *d) {
        VLines l = {};
        char qb[128];
        int r;

        r = scope_get(sc, d, "ignoreip", &l, NULL);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l.n; i++) {
                const char *p = l.v[i].text;

                while (*p) {
                        _cleanup_free_ char *tok = NULL;
                        const char *b;
                        AddrPrefix ap;
                        AddrPrefix *v;

                        while (*p && (*p == ',' || isspace((unsigned char) *p)))
                                p++;
                        if (!*p)
                                break;
                        b = p;
                        while (*p && *p != ',' && !isspace((unsigned char) *p))
                                p++;
                        tok = strndup(b, (size_t) (p - b));
                        if (!tok) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        if (addr_prefix_from_string(tok, &ap) < 0) {
                                if (looks_like_hostname(tok))
                                        r = ini_diag(d, l.v[i].file, l.v[i].line, true,
                                                     "'ignoreip': '%s': hostnames are not supported (no DNS)", q(tok, qb, sizeof qb));
                                else
                                        r = ini_diag(d, l.v[i].file, l.v[i].line, true,
                                                     "'ignoreip': '%s' is not an address or address/prefix", q(tok, qb, sizeof qb));
                                if (r < 0)
                                        goto finish;
                                continue;
                        }
                        v = reallocarray(j->ignoreip, j->n_ignoreip + 1, sizeof(AddrPrefix));
                        if (!v) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        j->ignoreip = v;
                        j->ignoreip[j->n_ignoreip++] = ap;
                }
        }
        r = 0;
finish:
        vlines_done(&l);
        return r;
}

static int jail_logpath(JailConf *j, Scope *sc, ConfDiags *d) {
        VLines l = {};
        int r;

        j->logpath = calloc(1, sizeof(char *));
        if (!j->logpath)
                return -ENOMEM;
        r = scope_get(sc, d, "logpath", &l, NULL);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < l.n && r >= 0; i++) {
                /* whitespace separated; fail2ban's trailing " head"/" tail" markers are dropped */
                char *save = NULL;

                for (char *t = strtok_r(l.v[i].text, " \t\r", &save); t && r >= 0; t = strtok_r(NULL, " \t\r", &save)) {
                        if (STR_IN_SET(t, "head", "tail"))
                                continue;
                        r = strv_extend(&j->logpath, t);
                }
        }
        vlines_done(&l);
        return r < 0 ? r : 0;
}

/* logencoding: UTF-8 lines pass as they are; latin-1 is converted. logtimezone is kept. */
static int jail_logencoding(JailConf *j, Scope *sc, ConfDiags *d) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        Found w;
        int r;

        r = scope_get_str(sc, d, "logtimezone", &j->logtimezone, NULL);
        if (r < 0)
                return r;
        if (r > 0 && !*j->logtimezone)
                j->logtimezone = mfree(j->logtimezone);
        r = scope_get_str(sc, d, "logencoding", &s, &w);
        if (r <= 0)
                return r;
        strstrip(s);
        if (STR_IN_SET_CASE(s, "latin-1", "latin1", "iso-8859-1", "iso8859-1"))
                j->latin1 = true;
        else if (!STR_IN_SET_CASE(s, "", "auto", "utf-8", "utf8", "ascii", "us-ascii"))
                return ini_diag(d, w.file, w.line, true, "'logencoding': '%s' is not supported (auto, utf-8, latin-1)",
                                q(s, qb, sizeof qb));
        return 0;
}

static int jail_load(Config *c, Ini *ini, IniSection *s, size_t *total, ConfDiags *d, bool *ret_enabled) {
        _cleanup_free_ char *enabled = NULL, *filter = NULL, *backend = NULL, *port = NULL,
                            *protocol = NULL, *maxretry = NULL, *str = NULL;
        IniSection *def = ini_find_section(ini, "DEFAULT");
        Scope sc = { .name = s->name, .opts_file = s->file, .opts_line = s->line, .total = total };
        JailConf j = { .protocol = IPPROTO_TCP, .maxretry = 5, .findtime_sec = 600, .bantime_sec = 600, .ignoreself = true };
        size_t errors = d->n_errors;
        bool port_set = false;
        char qb[128];
        Found w;
        int r, b;

        sc.levels[sc.n_levels++] = s;
        if (def)
                sc.levels[sc.n_levels++] = def;
        *ret_enabled = false;

        r = scope_get_str(&sc, d, "enabled", &enabled, &w);
        if (r < 0)
                return r == -ENOMEM ? r : 0;
        if (r == 0)
                return 0;
        b = parse_bool(enabled);
        if (b < 0) {
                r = ini_diag(d, w.file, w.line, true, "'enabled': '%s' is not a boolean (true/false, yes/no, 1/0, on/off)",
                             q(enabled, qb, sizeof qb));
                return r;
        }
        if (!b)
                return 0;
        *ret_enabled = true;

        j.name = strdup(s->name);
        j.file = strdup(s->file);
        if (!j.name || !j.file) {
                r = -ENOMEM;
                goto fail;
        }
        j.line = s->line;

        /* filter: default is the jail's own name */
        r = scope_get_str(&sc, d, "filter", &filter, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r == 0) {
                filter = strdup(s->name);
                w = (Found) { .file = s->file, .line = s->line };
                if (!filter) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        if (r >= 0) {
                if (!*filter)
                        r = ini_diag(d, w.file, w.line, true, "'filter': empty, a jail needs a filter");
                else
                        r = filter_load(c->dir, filter, w.file, w.line, total, &j.filter, d);
                if (r == -ENOMEM)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "backend", &backend, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                char *br = strchr(backend, '[');

                if (br) {
                        *br = 0;
                        strstrip(backend);
                        r = ini_diag(d, w.file, w.line, false, "'backend': options of backend '%s' are not supported, ignoring them",
                                     q(backend, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                }
                j.backend = backend_from_string(backend);
                if (j.backend < 0) {
                        r = ini_diag(d, w.file, w.line, true, "'backend': '%s' is not supported (auto, systemd, polling, pyinotify)",
                                     q(backend, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                        j.backend = BACKEND_AUTO;
                }
        }

        r = scope_get_str(&sc, d, "journalmatch", &j.journalmatch, NULL);
        if (r == -ENOMEM)
                goto fail;
        if (j.journalmatch && !*j.journalmatch)
                j.journalmatch = mfree(j.journalmatch);
        if (!j.journalmatch && j.filter.journalmatch) {
                j.journalmatch = strdup(j.filter.journalmatch);
                if (!j.journalmatch) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        /* as in fail2ban, a jail may add regexes of its own to its filter's */
        if (j.filter.file) {
                r = regex_list(&sc, d, "failregex", &j.filter.failregex, &j.filter.n_failregex);
                if (r == -ENOMEM)
                        goto fail;
                r = regex_list(&sc, d, "ignoreregex", &j.filter.ignoreregex, &j.filter.n_ignoreregex);
                if (r == -ENOMEM)
                        goto fail;
        }

        /* the jail may override filter settings, as in fail2ban */
        r = scope_get_str(&sc, d, "datepattern", &str, NULL);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0 && *str) {
                free(j.filter.datepattern);
                j.filter.datepattern = TAKE_PTR(str);
        }
        str = mfree(str);
        r = scope_get_maxlines(&sc, d, &j.filter.maxlines);
        if (r < 0)
                goto fail;

        r = jail_logpath(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_logencoding(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        if ((j.backend == BACKEND_POLLING || j.backend == BACKEND_PYINOTIFY) && j.logpath && !j.logpath[0]) {
                r = ini_diag(d, j.file, j.line, true, "jail '%s': backend %s needs a logpath", j.name, backend_to_string(j.backend));
                if (r < 0)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "protocol", &protocol, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0 && parse_protocol(protocol, &j.protocol) < 0) {
                if (strcasecmp(protocol, "all") == 0) {
                        j.allports = true; /* an all-ports ban covers every protocol */
                } else {
                        r = ini_diag(d, w.file, w.line, true, "'protocol': '%s' is not supported (tcp, udp, sctp)",
                                     q(protocol, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                }
        }

        r = scope_get_str(&sc, d, "port", &port, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                VLines pl = {};

                /* again line by line, so that an error names the continuation line */
                r = scope_get(&sc, d, "port", &pl, NULL);
                for (size_t i = 0; r >= 0 && i < pl.n; i++)
                        r = parse_ports(&j, pl.v[i].text, "port", pl.v[i].file, pl.v[i].line, d);
                vlines_done(&pl);
                if (r == -ENOMEM)
                        goto fail;
        }

        r = scope_get_str(&sc, d, "maxretry", &maxretry, &w);
        if (r == -ENOMEM)
                goto fail;
        if (r > 0) {
                unsigned long v;

                if (parse_uint(maxretry, UINT_MAX, &v) < 0 || v < 1) {
                        r = ini_diag(d, w.file, w.line, true, "'maxretry': '%s' is not a number ≥ 1", q(maxretry, qb, sizeof qb));
                        if (r < 0)
                                goto fail;
                } else
                        j.maxretry = (unsigned) v;
        }

        r = jail_time(&sc, d, "findtime", 600, false, &j.findtime_sec);
        if (r == -ENOMEM)
                goto fail;
        r = jail_time(&sc, d, "bantime", 600, true, &j.bantime_sec);
        if (r == -ENOMEM)
                goto fail;

        r = jail_increment(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_ipv6_prefix(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = jail_ignoreip(&j, &sc, d);
        if (r == -ENOMEM)
                goto fail;
        r = scope_get_bool(&sc, d, "ignoreself", &j.ignoreself);
        if (r == -ENOMEM)
                goto fail;

        r = jail_actions(&j, &sc, d, port, protocol, &port_set);
        if (r == -ENOMEM)
                goto fail;
        if (j.n_ports == 0)
                j.allports = true;
        if (j.allports) {
                j.ports = mfree(j.ports);
                j.n_ports = 0;
        }

        /* options of this very section that nothing read */
        for (size_t i = 0; i < s->n_entries; i++) {
                IniEntry *e = s->entries[i];
                bool ignored = false, warn = false;

                if (e->used)
                        continue;
                for (size_t k = 0; k < ELEMENTSOF(jail_ignored); k++)
                        if (strcmp(jail_ignored[k].name, e->key) == 0) {
                                ignored = true;
                                warn = jail_ignored[k].warn;
                        }
                if (ignored && !warn)
                        continue;
                r = ini_diag(d, e->file, e->line, false, ignored ? "option '%s' is not supported, ignoring" : "unknown option '%s', ignoring",
                             e->key);
                if (r < 0)
                        goto fail;
        }

        if (d->n_errors > errors) {
                jail_conf_done(&j);
                return 0;
        }
        {
                JailConf *v = reallocarray(c->jails, c->n_jails + 1, sizeof(JailConf));

                if (!v) {
                        r = -ENOMEM;
                        goto fail;
                }
                c->jails = v;
                c->jails[c->n_jails++] = j;
        }
        return 0;
fail:
        jail_conf_done(&j);
        return r;
}

/* ---- nftjail.conf ---- */

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

static int daemon_conf_load(Config *c, ConfDiags *d) {
        static const char *const silent[] = {
                "logtarget", "socket", "pidfile", "dbfile", "dbmaxmatches", "syslogsocket", "allowipv6",
        };
        _cleanup_(ini_freep) Ini *ini = ini_new();
        _cleanup_free_ char *path = path_join(c->dir, "nftjail.conf"), *s = NULL;
        IniSection *def;
        char qb[128];
        Scope sc = {};
        Found w;
        int r;

        if (!ini || !path)
                return -ENOMEM;
        r = load_conf_local(path, ini, d, NULL);
        if (r < 0)
                return r;
        r = abuseipdb_conf_load(ini, c, d);
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
                char *p = path_join(c->dir, s);

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

                if (parse_duration_sec(s, &v) < 0 || v <= 0) {
                        r = ini_diag(d, w.file, w.line, true, "'dbpurgeage': '%s' is not a positive time span (e.g. 1d, 1w)",
                                     q(s, qb, sizeof qb));
                        if (r < 0)
                                return r;
                } else
                        c->dbpurgeage_sec = v;
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

/* ---- Config ---- */

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_jails; i++)
                jail_conf_done(&c->jails[i]);
        free(c->jails);
        free(c->dir);
        free(c->nft_file);
        free(c->abuseipdb.url);
        free(c->abuseipdb.apikey_file);
        free(c->abuseipdb.comment);
        free(c->socket_group);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

static bool section_is_special(const char *n) {
        return STR_IN_SET(n, "DEFAULT", "INCLUDES", "Definition", "Init");
}

/* [DEFAULT] holds helper values and is not checked for unknown options, but fail2ban features
 * that nftjail lacks are worth a warning there too. */
static int warn_unsupported_defaults(const Ini *ini, ConfDiags *d) {
        IniSection *def = ini_find_section(ini, "DEFAULT");

        for (size_t i = 0; def && i < def->n_entries; i++)
                for (size_t k = 0; k < ELEMENTSOF(jail_ignored); k++)
                        if (jail_ignored[k].warn && strcmp(jail_ignored[k].name, def->entries[i]->key) == 0) {
                                int r = ini_diag(d, def->entries[i]->file, def->entries[i]->line, false,
                                                 "option '%s' is not supported, ignoring", def->entries[i]->key);
                                if (r < 0)
                                        return r;
                        }
        return 0;
}

static int config_load_jails(Config *c, ConfDiags *d) {
        _cleanup_(ini_freep) Ini *ini = ini_new();
        _cleanup_free_ char *conf = path_join(c->dir, "jail.conf"), *local = path_join(c->dir, "jail.local"),
                            *jd = path_join(c->dir, "jail.d");
        size_t total = TOTAL_BUDGET;
        unsigned n_enabled = 0;
        IncStack st = {};
        bool found = false;
        int r;

        if (!ini || !conf || !local || !jd)
                return -ENOMEM;
        r = load_tree(conf, ini, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = r >= 0;
        r = load_dir(jd, filter_conf, ini, d, &found);
        if (r < 0)
                return r;
        r = load_tree(local, ini, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = found || r >= 0;
        r = load_dir(jd, filter_local, ini, d, &found);
        if (r < 0)
                return r;
        if (!found)
                return ini_diag(d, c->dir, 0, true, "no jail.conf, jail.local or jail.d/*.conf found");

        r = warn_unsupported_defaults(ini, d);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ini->n_sections; i++) {
                bool enabled;

                if (section_is_special(ini->sections[i]->name))
                        continue;
                r = jail_load(c, ini, ini->sections[i], &total, d, &enabled);
                if (r < 0)
                        return r;
                if (enabled && ++n_enabled > JAILS_MAX)
                        return ini_diag(d, ini->sections[i]->file, ini->sections[i]->line, true,
                                        "more than %u enabled jails, ignoring the rest", JAILS_MAX);
        }
        if (c->n_jails == 0 && d->n_errors == 0)
                return ini_diag(d, c->dir, 0, false, "no jail is enabled");
        return 0;
}

int config_load(const char *dir, Config **ret, ConfDiags *diags) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfDiags local = {}, *d = diags ?: &local;
        size_t errors = d->n_errors;
        int r;

        if (!dir || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->dir = strdup(dir);
        c->nft_file = strdup(NFTJAIL_NFT_FILE);
        c->loglevel = LOG_INFO;
        c->dbpurgeage_sec = 86400;
        c->abuseipdb = (AbuseIPDBConf) {
                .enabled = true, .url = strdup("https://api.abuseipdb.com/api/v2"), .timeout_sec = 30, .daily_quota = 1000,
        };
        if (!c->dir || !c->nft_file || !c->abuseipdb.url)
                return -ENOMEM;

        r = daemon_conf_load(c, d);
        if (r >= 0)
                r = config_load_jails(c, d);
        if (r >= 0 && d->n_errors > errors)
                r = -EINVAL;
        conf_diags_done(&local);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- dump ---- */

static void dump_regexes(FILE *f, const char *what, const FilterRegex *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, "    %s %s:%u: %s\n", what, v[i].file ?: "-", v[i].line, v[i].pattern);
}

void config_dump(const Config *c, FILE *f) {
        fprintf(f, "config: %s\n", c->dir);
        fprintf(f, "nft_file: %s\n", c->nft_file);
        fprintf(f, "loglevel: %d\n", c->loglevel);
        fprintf(f, "abuseipdb: %s, url %s, apikey_file %s, timeout %us, daily_quota %u\n",
                c->abuseipdb.enabled ? "enabled" : "disabled", c->abuseipdb.url, c->abuseipdb.apikey_file ?: "-",
                c->abuseipdb.timeout_sec, c->abuseipdb.daily_quota);
        if (c->socket_group)
                fprintf(f, "socket_group: %s (gid %u)\n", c->socket_group, (unsigned) c->socket_gid);
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *j = &c->jails[i];
                char b1[32], b2[32];

                fprintf(f, "\n[%s] %s:%u\n", j->name, j->file, j->line);
                fprintf(f, "  filter: %s (%s)\n", j->filter.name, j->filter.file ?: "-");
                dump_regexes(f, "failregex", j->filter.failregex, j->filter.n_failregex);
                dump_regexes(f, "ignoreregex", j->filter.ignoreregex, j->filter.n_ignoreregex);
                if (j->filter.prefregex.pattern)
                        dump_regexes(f, "prefregex", &j->filter.prefregex, 1);
                if (j->filter.datepattern)
                        fprintf(f, "    datepattern: %s\n", j->filter.datepattern);
                fprintf(f, "    maxlines: %u\n", j->filter.maxlines);
                fprintf(f, "  backend: %s\n", backend_to_string(j->backend));
                fprintf(f, "  journalmatch: %s\n", j->journalmatch ?: "(none)");
                fprintf(f, "  logpath:");
                for (char **p = j->logpath; p && *p; p++)
                        fprintf(f, " %s", *p);
                fprintf(f, "%s\n", j->logpath && j->logpath[0] ? "" : " (none)");
                if (j->allports)
                        fprintf(f, "  ports: all\n");
                else {
                        fprintf(f, "  ports: %s", proto_name(j->protocol));
                        for (size_t k = 0; k < j->n_ports; k++)
                                fprintf(f, "%c%u", k ? ',' : ' ', j->ports[k]);
                        fprintf(f, "\n");
                }
                fprintf(f, "  maxretry: %u\n", j->maxretry);
                fprintf(f, "  findtime: %s\n", format_duration_sec(j->findtime_sec, b1, sizeof b1));
                fprintf(f, "  bantime: %s\n", format_duration_sec(j->bantime_sec, b2, sizeof b2));
                fprintf(f, "  ignoreip:");
                for (size_t k = 0; k < j->n_ignoreip; k++) {
                        char ab[ADDR_PREFIX_STRLEN];
                        fprintf(f, " %s", addr_prefix_to_string(&j->ignoreip[k], ab, sizeof ab));
                }
                fprintf(f, "%s\n", j->n_ignoreip ? "" : " (none)");
                fprintf(f, "  ignoreself: %s\n", j->ignoreself ? "yes" : "no");
                fprintf(f, "  actions:%s", j->action_ban ? " ban" : "");
                if (j->abuseipdb)
                        fprintf(f, " abuseipdb(categories %s, apikey %s)", j->abuseipdb_categories ?: "-",
                                j->abuseipdb_apikey ? "set" : "missing");
                fprintf(f, "%s\n", j->action_ban || j->abuseipdb ? "" : " (log only)");
                if (j->action_ban)
                        fprintf(f, "  nft sets: %s\n", j->allports ? "v4 v6_128 v6_64 v6" : "v4_port v6_port_128 v6_port_64 v6_port");
                else
                        fprintf(f, "  nft sets: (none)\n");
        }
}
