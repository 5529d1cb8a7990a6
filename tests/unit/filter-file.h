/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A small reader of fail2ban filter files for the match tests and the benchmark, so that they
 * run on the real conf/filter.d files before (and independently of) conf.c's filter_conf_load().
 * It knows [INCLUDES] before/after, [DEFAULT]/[Init]/[Definition], continuation lines,
 * %(name)s interpolation and <key> substitution of the filter's own options (innermost first,
 * so "<mdre-<mode>>" works), and options given as "key=value". Test code: it aborts on
 * allocation failure and does little checking. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

typedef struct FFOpt {
        char *section, *key, *value, *file;
        unsigned line;
} FFOpt;

typedef struct FFile {
        FFOpt *v;
        size_t n;
} FFile;

static void *ff_xrealloc(void *p, size_t n) {
        p = realloc(p, n);
        if (!p)
                abort();
        return p;
}

static char *ff_strdup(const char *s) {
        char *p = strdup(s);
        if (!p)
                abort();
        return p;
}

static char *ff_strip(char *s) {
        size_t n;

        while (*s == ' ' || *s == '\t')
                s++;
        n = strlen(s);
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
                s[--n] = 0;
        return s;
}

static FFOpt *ff_find(FFile *ff, const char *section, const char *key) {
        /* later definitions win */
        for (size_t i = ff->n; i > 0; i--)
                if (strcmp(ff->v[i - 1].section, section) == 0 && strcmp(ff->v[i - 1].key, key) == 0)
                        return &ff->v[i - 1];
        return NULL;
}

static void ff_set(FFile *ff, const char *section, const char *key, const char *value, const char *file,
                   unsigned line) {
        ff->v = ff_xrealloc(ff->v, (ff->n + 1) * sizeof(FFOpt));
        ff->v[ff->n++] = (FFOpt) {
                .section = ff_strdup(section),
                .key = ff_strdup(key),
                .value = ff_strdup(value),
                .file = ff_strdup(file),
                .line = line,
        };
}

static int ff_read(FFile *ff, const char *path, unsigned depth);

static void ff_include(FFile *ff, const char *path, const char *names, unsigned depth, bool required) {
        char dir[4096], *list = ff_strdup(names), *save = NULL;
        const char *slash = strrchr(path, '/');

        snprintf(dir, sizeof dir, "%.*s", slash ? (int) (slash - path) : 1, slash ? path : ".");
        for (char *t = strtok_r(list, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
                char p[8192];
                snprintf(p, sizeof p, "%s/%s", dir, t);
                if (ff_read(ff, p, depth + 1) < 0 && required)
                        fprintf(stderr, "filter-file: cannot read %s\n", p);
        }
        free(list);
}

static int ff_read(FFile *ff, const char *path, unsigned depth) {
        FILE *f;
        char *line = NULL, section[256] = "", *before = NULL, *after = NULL;
        size_t cap = 0, last = SIZE_MAX;
        unsigned lineno = 0;
        FFile own = {};

        if (depth > 8)
                return -ELOOP;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (getline(&line, &cap, f) >= 0) {
                char *s, *eq;

                lineno++;
                if ((line[0] == ' ' || line[0] == '\t') && last != SIZE_MAX) {
                        s = ff_strip(line);
                        if (*s && *s != '#' && *s != ';') {
                                FFOpt *o = &own.v[last];
                                size_t n = strlen(o->value);
                                o->value = ff_xrealloc(o->value, n + strlen(s) + 2);
                                sprintf(o->value + n, "\n%s", s);
                        }
                        continue;
                }
                s = ff_strip(line);
                if (*s == 0 || *s == '#' || *s == ';') {
                        if (*s == 0)
                                last = SIZE_MAX;
                        continue;
                }
                if (*s == '[') {
                        char *e = strchr(s, ']');
                        if (e)
                                *e = 0;
                        snprintf(section, sizeof section, "%s", s + 1);
                        last = SIZE_MAX;
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq)
                        continue;
                *eq = 0;
                ff_set(&own, section, ff_strip(s), ff_strip(eq + 1), path, lineno);
                last = own.n - 1;
        }
        free(line);
        fclose(f);

        for (size_t i = 0; i < own.n; i++)
                if (strcmp(own.v[i].section, "INCLUDES") == 0) {
                        if (strcmp(own.v[i].key, "before") == 0)
                                before = own.v[i].value;
                        else if (strcmp(own.v[i].key, "after") == 0)
                                after = own.v[i].value;
                }
        if (before)
                ff_include(ff, path, before, depth, true);
        for (size_t i = 0; i < own.n; i++)
                ff_set(ff, own.v[i].section, own.v[i].key, own.v[i].value, own.v[i].file, own.v[i].line);
        if (after)
                ff_include(ff, path, after, depth, false);
        for (size_t i = 0; i < own.n; i++) {
                free(own.v[i].section);
                free(own.v[i].key);
                free(own.v[i].value);
                free(own.v[i].file);
        }
        free(own.v);
        return 0;
}

static FFOpt *ff_lookup(FFile *ff, const char *section, const char *key) {
        FFOpt *o = ff_find(ff, section, key);
        if (!o)
                o = ff_find(ff, "Init", key);
        if (!o)
                o = ff_find(ff, "DEFAULT", key);
        return o;
}

/* %(name)s, recursively. */
static char *ff_interpolate(FFile *ff, const char *section, const char *value, unsigned depth) {
        size_t cap = strlen(value) + 1, n = 0;
        char *out = ff_xrealloc(NULL, cap);

        for (const char *p = value; *p;) {
                const char *add = p;
                size_t addn = 1;
                char *tmp = NULL;

                if (p[0] == '%' && p[1] == '(' && depth < 16) {
                        const char *e = strstr(p, ")s");
                        if (e) {
                                char key[256];
                                FFOpt *o;
                                snprintf(key, sizeof key, "%.*s", (int) (e - p - 2), p + 2);
                                o = ff_lookup(ff, section, key);
                                if (o) {
                                        tmp = ff_interpolate(ff, section, o->value, depth + 1);
                                        add = tmp;
                                        addn = strlen(tmp);
                                        p = e + 2;
                                } else
                                        p++;
                        } else
                                p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        p += 2;
                } else
                        p++;
                if (n + addn + 1 > cap) {
                        cap = (n + addn + 1) * 2;
                        out = ff_xrealloc(out, cap);
                }
                memcpy(out + n, add, addn);
                n += addn;
                free(tmp);
        }
        out[n] = 0;
        return out;
}

/* <key> for the filter's own options, innermost first. */
static char *ff_substitute(FFile *ff, char *s) {
        for (unsigned round = 0; round < 16; round++) {
                bool changed = false;
                for (char *p = s; (p = strchr(p, '<'));) {
                        size_t k = 1;
                        char key[256];
                        FFOpt *o;

                        while (isalnum((unsigned char) p[k]) || p[k] == '-' || p[k] == '_')
                                k++;
                        if (p[k] != '>' || k == 1 || k > 200) {
                                p++;
                                continue;
                        }
                        snprintf(key, sizeof key, "%.*s", (int) k - 1, p + 1);
                        o = ff_find(ff, "Init", key);
                        if (!o)
                                o = ff_find(ff, "Definition", key);
                        if (!o) {
                                p++;
                                continue;
                        }
                        {
                                char *v = ff_interpolate(ff, "Definition", o->value, 0);
                                size_t off = (size_t) (p - s);
                                char *ns = ff_xrealloc(NULL, strlen(s) + strlen(v) + 1);
                                sprintf(ns, "%.*s%s%s", (int) off, s, v, p + k + 1);
                                free(v);
                                free(s);
                                s = ns;
                                p = s + off;
                                changed = true;
                        }
                }
                if (!changed)
                        break;
        }
        return s;
}

static void ff_regexes(FFile *ff, const char *key, FilterRegex **ret, size_t *ret_n) {
        FFOpt *o = ff_find(ff, "Definition", key);
        char *v, *save = NULL;
        unsigned line;

        *ret = NULL;
        *ret_n = 0;
        if (!o)
                return;
        v = ff_substitute(ff, ff_interpolate(ff, "Definition", o->value, 0));
        line = o->line;
        for (char *t = strtok_r(v, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                char *r = ff_strip(t);
                if (!*r)
                        continue;
                *ret = ff_xrealloc(*ret, (*ret_n + 1) * sizeof(FilterRegex));
                (*ret)[(*ret_n)++] = (FilterRegex) { .pattern = ff_strdup(r), .file = ff_strdup(o->file), .line = line };
                line++;
        }
        free(v);
}

static void ff_free(FFile *ff) {
        for (size_t i = 0; i < ff->n; i++) {
                free(ff->v[i].section);
                free(ff->v[i].key);
                free(ff->v[i].value);
                free(ff->v[i].file);
        }
        free(ff->v);
        *ff = (FFile) {};
}

/* Loads path with options "key=value" (e.g. "mode=ddos", or NULL). Returns 0 or -errno. */
static int ff_load_filter(const char *path, const char *options, FilterConf *ret) {
        FFile ff = {};
        FilterRegex *pref;
        size_t n_pref;
        int r;

        r = ff_read(&ff, path, 0);
        if (r < 0)
                return r;
        if (options) {
                char *o = ff_strdup(options), *eq = strchr(o, '=');
                if (eq) {
                        *eq = 0;
                        ff_set(&ff, "Init", o, eq + 1, "<options>", 0);
                }
                free(o);
        }
        *ret = (FilterConf) { .name = ff_strdup(path), .file = ff_strdup(path), .maxlines = 1 };
        ff_regexes(&ff, "failregex", &ret->failregex, &ret->n_failregex);
        ff_regexes(&ff, "ignoreregex", &ret->ignoreregex, &ret->n_ignoreregex);
        ff_regexes(&ff, "prefregex", &pref, &n_pref);
        if (n_pref > 0) {
                ret->prefregex = pref[0];
                for (size_t i = 1; i < n_pref; i++) {
                        free(pref[i].pattern);
                        free(pref[i].file);
                }
                free(pref);
        }
        {
                FFOpt *j = ff_find(&ff, "Definition", "journalmatch");
                if (j)
                        ret->journalmatch = ff_strdup(j->value);
        }
        ff_free(&ff);
        return 0;
}

static void ff_filter_conf_done(FilterConf *fc) {
        for (size_t i = 0; i < fc->n_failregex; i++) {
                free(fc->failregex[i].pattern);
                free(fc->failregex[i].file);
        }
        for (size_t i = 0; i < fc->n_ignoreregex; i++) {
                free(fc->ignoreregex[i].pattern);
                free(fc->ignoreregex[i].file);
        }
        free(fc->failregex);
        free(fc->ignoreregex);
        free(fc->prefregex.pattern);
        free(fc->prefregex.file);
        free(fc->name);
        free(fc->file);
        free(fc->datepattern);
        free(fc->journalmatch);
        *fc = (FilterConf) {};
}
