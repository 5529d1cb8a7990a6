/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conf-internal.h"

char *conf_path_join(const char *dir, const char *name) {
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
                full = conf_path_join(dir, name);
                if (!full)
                        return -ENOMEM;
                line = e->n_lines > 0 ? e->lines[MIN(idx, e->n_lines - 1)] : e->line;
                r = conf_load_tree(full, into, st, d, e->file, line);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}

static bool endswith_local(const char *path) {
        size_t n = strlen(path);

        return n >= 6 && strcmp(path + n - 6, ".local") == 0;
}

int conf_load_tree(const char *path, Ini *into, IncStack *st, ConfDiags *d, const char *from_file, unsigned from_line) {
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

int conf_load_with_local(const char *conf_path, Ini *into, ConfDiags *d, bool *ret_found) {
        _cleanup_free_ char *local = NULL;
        IncStack st = {};
        size_t l = strlen(conf_path);
        bool found = false;
        int r;

        r = conf_load_tree(conf_path, into, &st, d, NULL, 0);
        if (r == -ENOMEM)
                return r;
        found = r >= 0;
        if (l > 5 && strcmp(conf_path + l - 5, ".conf") == 0) {
                if (asprintf(&local, "%.*s.local", (int) (l - 5), conf_path) < 0)
                        return -ENOMEM;
                r = conf_load_tree(local, into, &st, d, NULL, 0);
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
int conf_dirent_conf(const struct dirent *de) {
        return filter_suffix(de, ".conf");
}
int conf_dirent_local(const struct dirent *de) {
        return filter_suffix(de, ".local");
}

int conf_load_dir(const char *dir, int (*filter)(const struct dirent *), Ini *into, ConfDiags *d, bool *found) {
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
                        p = conf_path_join(dir, list[i]->d_name);
                        if (!p)
                                r = -ENOMEM;
                        else {
                                r = conf_load_tree(p, into, &st, d, NULL, 0);
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
