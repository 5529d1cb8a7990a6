/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>

#include "conf.h"
#include "prelude.h"

/* An INI reader with the semantics of Python's configparser as fail2ban configures it
 * (inline_comment_prefixes=';', '=' or ':' delimiters, indented continuation lines), keeping the
 * file and line of every value line. Internal to the loader (conf*.c); never logs, reports through ConfDiags.
 *
 * Why not inih: as packaged it caps lines at 200 bytes (fail2ban regexes are longer) and does not
 * give a line number per continuation line. */

#define INI_MAX_FILE_SIZE (1024U * 1024U)
#define INI_MAX_LINES 100000U

typedef struct IniEntry {
        char *key;
        char *value;            /* continuation lines joined with '\n', blank lines dropped */
        char *file;
        unsigned line;          /* line of "key = ..." */
        unsigned *lines;        /* lines[i]: file line of the i-th '\n'-separated part of value */
        size_t n_lines;
        struct IniEntry *prev;  /* the value this one overrode, for %(known/key)s; owned */
        bool used;              /* read by someone (for "unknown option" warnings) */
} IniEntry;

typedef struct IniSection {
        char *name;
        char *file;             /* where the section was first opened */
        unsigned line;
        IniEntry **entries;
        size_t n_entries;
} IniSection;

typedef struct Ini {
        IniSection **sections;  /* in order of first appearance */
        size_t n_sections;
} Ini;

/* Appends a diagnostic. Returns 0 or -ENOMEM. */
int ini_diag(ConfDiags *d, const char *file, unsigned line, bool error, const char *fmt, ...) _printf_(5, 6);
int ini_diagv(ConfDiags *d, const char *file, unsigned line, bool error, const char *fmt, va_list ap) _printf_(5, 0);

/* Parses len bytes named file. Syntax problems become diags (errors) and the rest of the input is
 * still read. Returns 0 with *ret set, -EFBIG (diag added) or -ENOMEM. */
int ini_parse_buffer(const char *file, const char *buf, size_t len, Ini **ret, ConfDiags *d);
/* Reads and parses a file. Returns 0, -ENOENT (no diag: the caller knows whether that is fine),
 * another negative errno with a diag added, or -ENOMEM. */
int ini_parse_file(const char *path, Ini **ret, ConfDiags *d);
/* The same for a file the caller opened (path names it in diags); fd stays open. */
int ini_parse_fd(int fd, const char *path, Ini **ret, ConfDiags *d);

Ini *ini_new(void);
Ini *ini_free(Ini *ini);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ini *, ini_free);

/* Moves every section and entry of src into dst (src is emptied). A key already in dst is
 * overridden; the old entry is kept as the new one's prev. Returns 0 or -ENOMEM. */
int ini_merge(Ini *dst, Ini *src);

IniSection *ini_find_section(const Ini *ini, const char *name);
IniEntry *ini_section_get(const IniSection *s, const char *key);
