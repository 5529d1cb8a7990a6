/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the pieces of the configuration loader share (conf*.c in this folder only). The public
 * API is conf.h. The pieces, bottom up:
 *   conf-interp.c  lines with their origin, scopes, %(name)s, <tags>, cross-section references
 *   conf-spec.c    "name[key=value, ...]" filter and action specs
 *   conf-files.c   a file with its [INCLUDES] and .local sibling, jail.d-style directories
 *   conf-filter.c  filter.d/NAME.conf -> FilterConf
 *   conf-action.c  port lists, protocols, action lines -> what a jail bans and reports
 *   conf-jail.c    jail sections -> JailConf, every check of a jail's values
 *   conf-daemon.c  nftjail.conf: [Definition], [abuseipdb], socket_group
 *   conf-fleet.c   nftjail.conf: [fleet]
 *   conf-dump.c    config_dump()
 *   conf.c         config_load(), diagnostics, backend names */

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "conf.h"
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

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline bool str_in_list(const char *s, bool icase, const char *const *l) {
        for (; *l; l++)
                if (icase ? strcasecmp(s, *l) == 0 : strcmp(s, *l) == 0)
                        return true;
        return false;
}
#define STR_IN_SET(s, ...) str_in_list((s), false, (const char *const[]) { __VA_ARGS__, NULL })
#define STR_IN_SET_CASE(s, ...) str_in_list((s), true, (const char *const[]) { __VA_ARGS__, NULL })

/* Replaces the owned string *field with a copy of v. Returns 0 or -ENOMEM. */
static inline int conf_set_str(char **field, const char *v) {
        char *c = strdup(v);

        if (!c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* ---- small parsers ---- */

static inline int parse_bool(const char *s) {
        static const char *const yes[] = { "true", "yes", "1", "on" }, *const no[] = { "false", "no", "0", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* Decimal digits only, at most max. Returns 0, -EINVAL, or -ERANGE above max. */
static inline int parse_uint(const char *s, unsigned long max, unsigned long *ret) {
        unsigned long v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if ((unsigned long) (*s - '0') > max || v > (max - (unsigned long) (*s - '0')) / 10)
                        return -ERANGE; /* the first test keeps max - digit from wrapping (max < 9) */
                v = v * 10 + (unsigned long) (*s - '0');
        }
        *ret = v;
        return 0;
}

/* A time span of the configuration: parse_duration_sec(), and no longer than the kernel takes
 * for an element timeout (NFTJAIL_BANTIME_MAX_SEC), whatever the option, so that every consumer
 * may multiply it into ms or usec. Returns 0 (negative values as written), -EINVAL (not a time
 * span) or -ERANGE (too long, with CONF_SPAN_TOO_LONG as the message). */
static inline int conf_parse_span(const char *s, int64_t *ret) {
        int64_t v;
        int r = parse_duration_sec(s, &v);

        if (r < 0)
                return r == -ERANGE ? r : -EINVAL;
        if (v > NFTJAIL_BANTIME_MAX_SEC)
                return -ERANGE;
        *ret = v;
        return 0;
}
/* with the option's name and value */
#define CONF_SPAN_TOO_LONG "'%s': '%s' is too long: at most %" PRId64 " seconds (about 584 years), as nf_tables " \
                           "refuses a timeout of %" PRIu64 " ms or more"

/* Values can hold any bytes an admin typed: quote them shortened for messages. */
static inline const char *q(const char *s, char *buf, size_t len) {
        return escape_bytes(s, strlen(s), buf, len);
}

/* ---- lines with their origin (conf-interp.c) ---- */

typedef struct VLine {
        char *text;
        const char *file;       /* borrowed from an IniEntry, or the scope */
        unsigned line;
} VLine;

typedef struct VLines {
        VLine *v;
        size_t n;
} VLines;

void vlines_done(VLines *l);
/* Appends alen bytes of a to the string *s (NULL: empty). Returns 0 or -ENOMEM. */
int str_append(char **s, const char *a, size_t alen);

/* ---- scopes (conf-interp.c) ---- */

typedef struct Opt {
        char *key;
        char *value;
} Opt;

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

/* The lookup order of fail2ban's filter and action files: [Init], [Definition], [DEFAULT]. */
static inline void scope_add_file_levels(Scope *sc, const Ini *ini) {
        static const char *const names[] = { "Init", "Definition", "DEFAULT" };

        for (size_t i = 0; i < 3; i++)
                if (ini_find_section(ini, names[i]))
                        sc->levels[sc->n_levels++] = ini_find_section(ini, names[i]);
}

/* An option's value as written, and where. */
typedef struct Found {
        const char *value;
        const char *file;
        unsigned line;
        const unsigned *lines;
        size_t n_lines;
        bool literal;           /* an option value: already interpolated */
} Found;

/* Looks key up and expands it. Returns 1 with *ret filled (and *where the option's origin), 0 if
 * the key is unset, or a negative errno with a diag naming the option. */
int scope_get(Scope *sc, ConfDiags *d, const char *key, VLines *ret, Found *where);
/* Same, as one stripped string with lines joined by '\n'. */
int scope_get_str(Scope *sc, ConfDiags *d, const char *key, char **ret, Found *where);
/* Same, for a value that keeps its origin: when set and not empty, replaces *ret and *ret_file
 * (both owned) and *ret_line, and returns 1; else leaves them and returns 0; or a negative errno. */
int scope_get_str_at(Scope *sc, ConfDiags *d, const char *key, char **ret, char **ret_file, unsigned *ret_line);

/* ---- specs (conf-spec.c) ---- */

/* Parses "name[key=value, key2="v, w"]". Several [...] groups merge, later keys winning.
 * Returns 0, -ENOMEM, or -EINVAL with err (ERRBUF bytes) set. */
int conf_spec_parse(const char *s, char **ret_name, Opt **ret_opts, size_t *ret_n, char *err);
void conf_opts_free(Opt *o, size_t n);
/* The last value given for key, or NULL. */
const char *conf_opts_get(const Opt *o, size_t n, const char *key);

/* ---- files (conf-files.c) ---- */

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

/* dir/name, or name when it is absolute or dir is empty; NULL on ENOMEM. */
char *conf_path_join(const char *dir, const char *name);
/* Reads path with its [INCLUDES] before/after into `into`, in fail2ban's order. Returns 0
 * (errors in d), -ENOENT when a top-level file (from_file NULL) does not exist, or -ENOMEM. */
int conf_load_tree(const char *path, Ini *into, IncStack *st, ConfDiags *d, const char *from_file, unsigned from_line);
/* Loads path, then its .local sibling if any (base.conf -> base.local). Returns 0 or -ENOMEM. */
int conf_load_with_local(const char *conf_path, Ini *into, ConfDiags *d, bool *ret_found);
/* Loads the files of dir that filter accepts (conf_dirent_conf, conf_dirent_local) in
 * alphabetical order; *found is set when one was read. Returns 0 or -ENOMEM. */
int conf_load_dir(const char *dir, int (*filter)(const struct dirent *), Ini *into, ConfDiags *d, bool *found);
int conf_dirent_conf(const struct dirent *de);
int conf_dirent_local(const struct dirent *de);

/* ---- filters (conf-filter.c) ---- */

/* maxlines, for a filter or a jail's override: *ret keeps its value when unset; a bad value is
 * an error with its file and line. Returns 0 or -ENOMEM. */
int scope_get_maxlines(Scope *sc, ConfDiags *d, unsigned *ret);
/* Appends the regexes of option key, one per non-empty line, each with its file and line.
 * Returns 0 (errors in d) or -ENOMEM. */
int filter_regex_list(Scope *sc, ConfDiags *d, const char *key, FilterRegex **ret, size_t *ret_n);
/* Loads filter spec for a jail (from_file:from_line is where it was named; NULL for "nftjail
 * regex"). total: the budget of the whole load, or NULL. Returns 0, -ENOENT, -EINVAL (diags
 * added) or -ENOMEM. */
int filter_conf_load_jail(const char *config_dir, const char *spec, const char *from_file, unsigned from_line,
                          size_t *total, FilterConf *ret, ConfDiags *d);

/* ---- ports and actions (conf-action.c) ---- */

const char *conf_proto_name(uint8_t p);
/* "tcp", "udp", "sctp" (any case). Returns 0 or -EINVAL. */
int conf_parse_protocol(const char *s, uint8_t *ret);
/* "ssh,http", "8000:8010", "0:65535", "all". Adds to j; returns 0, -EINVAL (diag added), -ENOMEM. */
int jail_parse_ports(JailConf *j, const char *value, const char *opt, const char *file, unsigned line, ConfDiags *d);
/* The jail's action lines: ban or log only, ports and protocol of the ban action, AbuseIPDB.
 * jail_port and jail_proto are the jail's own values (already parsed), *ret_port_set whether an
 * action's port list replaced the jail's. Returns 0 (errors in d) or -ENOMEM. */
/* A mail action (sendmail-*, mail-*): its options into j->mail, checked; jail options mailrate
 * and mailrate_period read from sc. Returns 0, -ENOMEM, or another negative errno once the
 * diagnostics are full. */
bool action_is_mail(const char *name);
int jail_mail_action(JailConf *j, Scope *sc, ConfDiags *d, const char *name, const Opt *opts, size_t n_opts,
                     const char *file, unsigned line);

/* Loads action.d/NAME.conf (+ .local) of config_dir with opts. Returns 1 and *ret, 0 when there
 * is no such file, or a negative errno (diagnosed). */
int action_file_load(const char *config_dir, const char *name, const Opt *opts, size_t n_opts, const char *from_file,
                     unsigned from_line, ActionFile *ret, ConfDiags *d);

/* [webhook NAME] sections of nftjail.conf(.local) into c->webhooks. Returns 0 (errors in d) or
 * -ENOMEM. */
int webhook_sections_load(const Ini *ini, Config *c, ConfDiags *d);
/* A webhook[...] action of jail j: url/format/header/token_file/timeout, or name=NAME of one of
 * c's sections. Returns 0 (errors in d) or -ENOMEM. */
int jail_webhook_action(JailConf *j, const Config *c, const Opt *opts, size_t n_opts, const char *file,
                        unsigned line, ConfDiags *d);

int jail_actions(JailConf *j, const Config *c, Scope *sc, ConfDiags *d, const char *jail_port, const char *jail_proto,
                 bool *ret_port_set);

/* ---- jails and the daemon (conf-jail.c, conf-daemon.c) ---- */

void jail_conf_done(JailConf *j);
/* jail.conf, jail.d/\*.conf, jail.local, jail.d/\*.local: the enabled jails into c->jails.
 * Returns 0 (errors in d) or -ENOMEM. */
int config_load_jails(Config *c, ConfDiags *d);
/* nftjail.conf and nftjail.local into c. Returns 0 (errors in d) or -ENOMEM. */
int daemon_conf_load(Config *c, ConfDiags *d);

/* [fleet] of ini into c->fleet (conf-fleet.c). Returns 0 (errors in d) or -ENOMEM. */
int fleet_conf_load(const Ini *ini, Config *c, ConfDiags *d);
/* Warns about share naming a jail that is not enabled (after the jails are loaded). */
int fleet_conf_check_jails(const Config *c, ConfDiags *d);
void fleet_conf_init(FleetConf *f);
void fleet_conf_dump(const FleetConf *f, FILE *out);
