/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

void vlines_done(VLines *l) {
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

int str_append(char **s, const char *a, size_t alen) {
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

int scope_get(Scope *sc, ConfDiags *d, const char *key, VLines *ret, Found *where) {
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

int scope_get_str(Scope *sc, ConfDiags *d, const char *key, char **ret, Found *where) {
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

int scope_get_str_at(Scope *sc, ConfDiags *d, const char *key, char **ret, char **ret_file, unsigned *ret_line) {
        _cleanup_free_ char *s = NULL, *file = NULL;
        Found w;
        int r;

        r = scope_get_str(sc, d, key, &s, &w);
        if (r <= 0 || !*s)
                return MIN(r, 0);
        if (w.file && !(file = strdup(w.file)))
                return -ENOMEM;
        free(*ret);
        free(*ret_file);
        *ret = TAKE_PTR(s);
        *ret_file = TAKE_PTR(file);
        *ret_line = w.line;
        return 1;
}
