/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

int scope_get_maxlines(Scope *sc, ConfDiags *d, unsigned *ret) {
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
        free(f->datepattern_file);
        free(f->journalmatch);
        free(f->journalmatch_file);
        *f = (FilterConf) {};
}

int filter_regex_list(Scope *sc, ConfDiags *d, const char *key, FilterRegex **ret, size_t *ret_n) {
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

int filter_conf_load_jail(const char *config_dir, const char *spec, const char *from_file, unsigned from_line,
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

        r = conf_spec_parse(spec, &name, &opts, &n_opts, err);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                r = ini_diag(d, from_file, from_line, true, "'filter': %s", err);
                return r < 0 ? r : -EINVAL;
        }
        if (strchr(name, '/'))
                /* a path: as given for "nftjail regex", relative to the config dir in a jail */
                path = from_file ? conf_path_join(config_dir, name) : strdup(name);
        else {
                _cleanup_free_ char *fd = conf_path_join(config_dir, "filter.d");

                if (fd && asprintf(&path, "%s/%s.conf", fd, name) < 0)
                        path = NULL;
        }
        ini = ini_new();
        if (!path || !ini) {
                r = -ENOMEM;
                goto finish;
        }
        r = conf_load_with_local(path, ini, d, &found);
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
        scope_add_file_levels(&sc, ini);

        r = filter_regex_list(&sc, d, "failregex", &f.failregex, &f.n_failregex);
        if (r == -ENOMEM)
                goto finish;
        r = filter_regex_list(&sc, d, "ignoreregex", &f.ignoreregex, &f.n_ignoreregex);
        if (r == -ENOMEM)
                goto finish;
        {
                FilterRegex *pre = NULL;
                size_t n_pre = 0;

                r = filter_regex_list(&sc, d, "prefregex", &pre, &n_pre);
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
        r = scope_get_str_at(&sc, d, "datepattern", &f.datepattern, &f.datepattern_file, &f.datepattern_line);
        if (r == -ENOMEM)
                goto finish;
        r = scope_get_str_at(&sc, d, "journalmatch", &f.journalmatch, &f.journalmatch_file, &f.journalmatch_line);
        if (r == -ENOMEM)
                goto finish;
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
        conf_opts_free(opts, n_opts);
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
        r = filter_conf_load_jail(config_dir, spec, NULL, 0, NULL, ret, diags ?: &local);
        conf_diags_done(&local);
        return r;
}
