/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "util/string-util.h"

int ini_diagv(ConfDiags *d, const char *file, unsigned line, bool error, const char *fmt, va_list ap) {
        ConfDiag *v;
        char *msg = NULL, *f = NULL;

        if (!d)
                return 0;
        if (vasprintf(&msg, fmt, ap) < 0)
                return -ENOMEM;
        if (file) {
                f = strdup(file);
                if (!f) {
                        free(msg);
                        return -ENOMEM;
                }
        }
        v = reallocarray(d->v, d->n + 1, sizeof(ConfDiag));
        if (!v) {
                free(msg);
                free(f);
                return -ENOMEM;
        }
        d->v = v;
        d->v[d->n++] = (ConfDiag) { .file = f, .line = line, .error = error, .message = msg };
        if (error)
                d->n_errors++;
        return 0;
}

int ini_diag(ConfDiags *d, const char *file, unsigned line, bool error, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = ini_diagv(d, file, line, error, fmt, ap);
        va_end(ap);
        return r;
}

static IniEntry *entry_free(IniEntry *e) {
        while (e) {
                IniEntry *p = e->prev;

                free(e->key);
                free(e->value);
                free(e->file);
                free(e->lines);
                free(e);
                e = p;
        }
        return NULL;
}

static IniSection *section_free(IniSection *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                entry_free(s->entries[i]);
        free(s->entries);
        free(s->name);
        free(s->file);
        free(s);
        return NULL;
}

Ini *ini_new(void) {
        return calloc(1, sizeof(Ini));
}

Ini *ini_free(Ini *ini) {
        if (!ini)
                return NULL;
        for (size_t i = 0; i < ini->n_sections; i++)
                section_free(ini->sections[i]);
        free(ini->sections);
        free(ini);
        return NULL;
}

IniSection *ini_find_section(const Ini *ini, const char *name) {
        if (!ini)
                return NULL;
        for (size_t i = 0; i < ini->n_sections; i++)
                if (strcmp(ini->sections[i]->name, name) == 0)
                        return ini->sections[i];
        return NULL;
}

static size_t section_index(const IniSection *s, const char *key) {
        for (size_t i = 0; i < s->n_entries; i++)
                if (strcmp(s->entries[i]->key, key) == 0)
                        return i;
        return SIZE_MAX;
}

IniEntry *ini_section_get(const IniSection *s, const char *key) {
        size_t i;

        if (!s)
                return NULL;
        i = section_index(s, key);
        return i == SIZE_MAX ? NULL : s->entries[i];
}

static IniSection *ini_add_section(Ini *ini, const char *name, const char *file, unsigned line) {
        IniSection **v, *s;

        s = calloc(1, sizeof(IniSection));
        if (!s)
                return NULL;
        s->name = strdup(name);
        s->file = strdup(file);
        s->line = line;
        v = reallocarray(ini->sections, ini->n_sections + 1, sizeof(IniSection *));
        if (!s->name || !s->file || !v) {
                if (v)
                        ini->sections = v;
                return section_free(s);
        }
        ini->sections = v;
        ini->sections[ini->n_sections++] = s;
        return s;
}

/* Puts e into s: a key already there is overridden and chained as e->prev. Takes e. */
static int section_put(IniSection *s, IniEntry *e) {
        size_t i = section_index(s, e->key);
        IniEntry **v;

        if (i != SIZE_MAX) {
                entry_free(e->prev);
                e->prev = s->entries[i];
                s->entries[i] = e;
                return 0;
        }
        v = reallocarray(s->entries, s->n_entries + 1, sizeof(IniEntry *));
        if (!v) {
                entry_free(e);
                return -ENOMEM;
        }
        s->entries = v;
        s->entries[s->n_entries++] = e;
        return 0;
}

int ini_merge(Ini *dst, Ini *src) {
        for (size_t i = 0; i < src->n_sections; i++) {
                IniSection *ss = src->sections[i], *ds;

                ds = ini_find_section(dst, ss->name);
                if (!ds) {
                        ds = ini_add_section(dst, ss->name, ss->file, ss->line);
                        if (!ds)
                                return -ENOMEM;
                }
                for (size_t j = 0; j < ss->n_entries; j++) {
                        IniEntry *e = ss->entries[j];

                        ss->entries[j] = NULL;
                        /* a duplicate key inside src was already chained: keep only the winner's
                         * own chain from this file, then link it to what dst had */
                        if (section_put(ds, e) < 0)
                                return -ENOMEM;
                }
                ss->n_entries = 0;
        }
        return 0;
}

/* Returns the length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
        size_t l;
        uint32_t c;

        if (s[0] < 0x80)
                return 1;
        if ((s[0] & 0xe0) == 0xc0) {
                l = 2;
                c = s[0] & 0x1f;
        } else if ((s[0] & 0xf0) == 0xe0) {
                l = 3;
                c = s[0] & 0x0f;
        } else if ((s[0] & 0xf8) == 0xf0) {
                l = 4;
                c = s[0] & 0x07;
        } else
                return 0;
        if (l > n)
                return 0;
        for (size_t i = 1; i < l; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((l == 2 && c < 0x80) || (l == 3 && c < 0x800) || (l == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                return 0;
        return l;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

typedef struct Parser {
        const char *file;
        Ini *ini;
        ConfDiags *d;
        IniSection *sect;
        IniEntry *cur;          /* option receiving continuation lines */
        size_t cur_indent;
        bool dropping;          /* after a damaged line: its continuation lines go too */
        size_t drop_indent;
} Parser;

static int entry_append_line(IniEntry *e, const char *s, size_t len, unsigned line) {
        size_t old = e->value ? strlen(e->value) : 0;
        unsigned *lines;
        char *v;

        lines = reallocarray(e->lines, e->n_lines + 1, sizeof(unsigned));
        if (!lines)
                return -ENOMEM;
        e->lines = lines;
        v = realloc(e->value, old + len + 2);
        if (!v)
                return -ENOMEM;
        e->value = v;
        if (e->n_lines > 0)
                v[old++] = '\n';
        memcpy(v + old, s, len);
        v[old + len] = 0;
        e->lines[e->n_lines++] = line;
        return 0;
}

/* One physical line, without its '\n', already checked for NUL and UTF-8. */
static int parse_line(Parser *p, const char *l, size_t len, unsigned lineno) {
        size_t indent = 0, end = len, start;
        const char *eq;
        int r;

        /* inline comment: ';' at the start or after a blank */
        for (size_t i = 0; i < len; i++)
                if (l[i] == ';' && (i == 0 || is_blank(l[i - 1]))) {
                        end = i;
                        break;
                }
        while (indent < end && is_blank(l[indent]))
                indent++;
        /* full-line comments, indented or not, are skipped and do not end a value */
        if (indent < len && (l[indent] == '#' || l[indent] == ';'))
                return 0;
        while (end > indent && is_blank(l[end - 1]))
                end--;
        if (end == indent)
                return 0; /* blank: dropped, even inside a multi-line value */
        start = indent;

        if (p->dropping && indent > p->drop_indent)
                return 0;
        p->dropping = false;
        if (p->cur && indent > p->cur_indent)
                return entry_append_line(p->cur, l + start, end - start, lineno);

        p->cur = NULL;
        p->cur_indent = indent;

        if (l[start] == '[') {
                _cleanup_free_ char *name = NULL;

                if (l[end - 1] != ']' || end - start < 3)
                        return ini_diag(p->d, p->file, lineno, true, "bad section header '%.*s'",
                                        (int) MIN(end - start, 200), l + start);
                name = memdup_str(l + start + 1, end - start - 2);
                if (!name)
                        return -ENOMEM;
                strstrip(name);
                p->sect = ini_find_section(p->ini, name);
                if (!p->sect) {
                        p->sect = ini_add_section(p->ini, name, p->file, lineno);
                        if (!p->sect)
                                return -ENOMEM;
                }
                return 0;
        }

        eq = NULL;
        for (size_t i = start; i < end; i++)
                if (l[i] == '=' || l[i] == ':') {
                        eq = l + i;
                        break;
                }
        if (!eq)
                return ini_diag(p->d, p->file, lineno, true, "expected 'key = value', got '%.*s'",
                                (int) MIN(end - start, 200), l + start);
        if (!p->sect)
                return ini_diag(p->d, p->file, lineno, true, "option outside of a section: '%.*s'",
                                (int) MIN(end - start, 200), l + start);
        {
                size_t kend = (size_t) (eq - l), vstart = kend + 1;
                IniEntry *e, *old;

                while (kend > start && is_blank(l[kend - 1]))
                        kend--;
                while (vstart < end && is_blank(l[vstart]))
                        vstart++;
                if (kend == start)
                        return ini_diag(p->d, p->file, lineno, true, "option without a name");
                e = calloc(1, sizeof(IniEntry));
                if (!e)
                        return -ENOMEM;
                e->key = memdup_str(l + start, kend - start);
                e->file = strdup(p->file);
                e->line = lineno;
                if (!e->key || !e->file) {
                        entry_free(e);
                        return -ENOMEM;
                }
                if (vstart < end)
                        r = entry_append_line(e, l + vstart, end - vstart, lineno);
                else {
                        e->value = strdup("");
                        r = e->value ? 0 : -ENOMEM;
                }
                if (r < 0) {
                        entry_free(e);
                        return r;
                }
                old = ini_section_get(p->sect, e->key);
                if (old && strcmp(old->file, p->file) == 0) {
                        r = ini_diag(p->d, p->file, lineno, false,
                                     "option '%s' already set in [%s] on line %u, the later one wins",
                                     e->key, p->sect->name, old->line);
                        if (r < 0) {
                                entry_free(e);
                                return r;
                        }
                }
                r = section_put(p->sect, e);
                if (r < 0)
                        return r;
                p->cur = e;
        }
        return 0;
}

int ini_parse_buffer(const char *file, const char *buf, size_t len, Ini **ret, ConfDiags *d) {
        _cleanup_(ini_freep) Ini *ini = NULL;
        Parser p = { .file = file, .d = d };
        unsigned lineno = 0;
        size_t pos = 0;
        int r;

        if (len > INI_MAX_FILE_SIZE) {
                r = ini_diag(d, file, 0, true, "file is larger than %u bytes, refusing it", INI_MAX_FILE_SIZE);
                return r < 0 ? r : -EFBIG;
        }
        ini = p.ini = ini_new();
        if (!ini)
                return -ENOMEM;
        /* editors on other systems like to start files with a UTF-8 byte order mark */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                pos = 3;

        while (pos < len) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t l = nl ? (size_t) (nl - (buf + pos)) : len - pos;
                const char *line = buf + pos;
                bool bad = false;

                pos += l + (nl ? 1 : 0);
                if (++lineno > INI_MAX_LINES) {
                        r = ini_diag(d, file, lineno, true, "more than %u lines, ignoring the rest", INI_MAX_LINES);
                        if (r < 0)
                                return r;
                        break;
                }
                for (size_t i = 0; i < l;) {
                        size_t n;

                        if (line[i] == 0) {
                                r = ini_diag(d, file, lineno, true, "NUL byte in line (column %zu), ignoring the line", i + 1);
                                if (r < 0)
                                        return r;
                                bad = true;
                                break;
                        }
                        n = utf8_seq_len((const unsigned char *) line + i, l - i);
                        if (n == 0) {
                                r = ini_diag(d, file, lineno, true, "invalid UTF-8 (column %zu), ignoring the line", i + 1);
                                if (r < 0)
                                        return r;
                                bad = true;
                                break;
                        }
                        i += n;
                }
                if (bad) {
                        /* a damaged line must not glue its continuation lines onto another
                         * value, nor have them reported as errors of their own */
                        size_t ind = 0;

                        while (ind < l && is_blank(line[ind]))
                                ind++;
                        p.cur = NULL;
                        p.dropping = true;
                        p.drop_indent = ind;
                        continue;
                }
                r = parse_line(&p, line, l, lineno);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(ini);
        return 0;
}

int ini_parse_fd(int fd, const char *path, Ini **ret, ConfDiags *d) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0, cap;
        int r;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                r = ini_diag(d, path, 0, true, "not a regular file");
                return r < 0 ? r : -EINVAL;
        }
        if ((uint64_t) st.st_size > INI_MAX_FILE_SIZE) {
                r = ini_diag(d, path, 0, true, "file is larger than %u bytes, refusing it", INI_MAX_FILE_SIZE);
                return r < 0 ? r : -EFBIG;
        }
        /* The file's size and one byte more, which tells that it grew since fstat(): then the
         * buffer doubles, up to the cap. Not the cap at once: a start reads some 30 files, and a
         * buffer of 1 MiB is an mmap() and munmap() each (M_MMAP_THRESHOLD). */
        cap = (size_t) st.st_size + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        size_t ncap = MIN(cap * 2, (size_t) INI_MAX_FILE_SIZE + 1);
                        char *nbuf;

                        if (ncap == cap)
                                break; /* more than the cap: ini_parse_buffer() refuses it */
                        nbuf = realloc(buf, ncap);
                        if (!nbuf)
                                return -ENOMEM;
                        buf = nbuf;
                        cap = ncap;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        return ini_diag(d, path, 0, true, "read failed: %s", strerror(-r)) < 0 ? -ENOMEM : r;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        return ini_parse_buffer(path, buf, len, ret, d);
}

int ini_parse_file(const char *path, Ini **ret, ConfDiags *d) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                r = -errno;
                return ini_diag(d, path, 0, true, "cannot open: %s", strerror(-r)) < 0 ? -ENOMEM : r;
        }
        return ini_parse_fd(fd, path, ret, d);
}
