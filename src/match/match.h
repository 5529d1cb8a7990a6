/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include "addr.h"
#include "conf.h"
#include "prelude.h"

/* Compiled fail2ban filter: PCRE2 with JIT, <HOST>/<ADDR>/<IP4>/<IP6>/<F-*> tags expanded,
 * prefregex and ignoreregex applied. filter_new() compiles and checks every pattern; the JIT code
 * and the combined gate are built by the first filter_match() that needs them. A Filter is used
 * by one thread at a time (it owns its match data and builds its JIT code while matching). Pure:
 * no logging, no I/O. */

#define MATCH_LINE_MAX 8192 /* bytes of a line that are matched; the rest is cut and counted */

typedef struct Filter Filter;

typedef struct FilterError {
        char file[256];
        unsigned line;
        size_t offset;          /* PCRE2 error offset in the expanded pattern */
        char message[256];
} FilterError;

enum {
        MATCH_NONE = 0,         /* no failregex matched */
        MATCH_FAILURE = 1,      /* a failregex matched and gave an address */
        MATCH_IGNORED = 2,      /* a failregex matched but an ignoreregex too */
        MATCH_LIMIT = 3,        /* no failregex matched, and one of them (or the prefregex) gave up at
                                 * a PCRE2 limit of the match context (match limit, JIT stack, heap):
                                 * a hostile line or a regex that backtracks catastrophically. The
                                 * line is not a failure; *ret names the regex and the limit. */
};

/* fail2ban's <F-NAME> groups of a failure other than the address and the filter's own controls
 * (<F-CONTENT>, <F-NOFAIL>, <F-MLFGAINED>, <F-MLFFORGET>): <F-USER> is "user", <F-ID> "fid",
 * <F-MLFID> "mlfid", any other <F-NAME> (and a Python (?P<name>...)) its lowercase name.
 * <F-ALT_NAME> and <F-ALT_NAMEn> stand in for <F-NAME> when that took no part. At most
 * MATCH_TAGS_MAX names per regex (those after are not kept); the failregex's first, then the
 * prefregex's it does not have. Values point into the matched text, never copied by the match. */
#define MATCH_TAGS_MAX 8
#define MATCH_TAG_VALUE_MAX 256 /* match_tag_copy() keeps at most this many bytes */

typedef struct MatchTag {
        const char *name;       /* the Filter's: lives as long as it */
        const char *value;      /* into the line given to filter_match() (a multi-line filter: into
                                 * its buffer): valid while the line is and until the next
                                 * filter_match() of the filter. Any bytes, not NUL-terminated. */
        size_t len;
} MatchTag;

typedef struct MatchResult {
        Addr addr;              /* MATCH_FAILURE, MATCH_IGNORED */
        int regex_index;        /* index into FilterConf.failregex; MATCH_LIMIT: -1 is the prefregex */
        const char *limit;      /* MATCH_LIMIT: which limit ("match limit", ...), static */
        unsigned n_tags;        /* MATCH_FAILURE, MATCH_IGNORED: the <F-*> groups that took part */
        MatchTag tags[MATCH_TAGS_MAX];
} MatchResult;

/* The value of tag name in r (NULL when it took no part), and its length. */
const MatchTag *match_tag_find(const MatchResult *r, const char *name);
/* A tag value made safe to keep: NUL bytes dropped, cut at MATCH_TAG_VALUE_MAX bytes (and then
 * back to the start of a UTF-8 sequence, so that none is split), NUL-terminated in buf (size
 * MATCH_TAG_VALUE_MAX + 1 or more). Returns the length; *ret_cut (may be NULL) says whether
 * bytes were left out. */
size_t match_tag_copy(const MatchTag *t, char *buf, size_t size, bool *ret_cut);
/* fail2ban's action tag of a group name: "user" is "F-USER", "fid" is "F-ID". buf: 40 bytes. */
const char *match_tag_action_name(const char *name, char *buf, size_t size);

/* Returns 0 or -EINVAL (reterr filled), -ENOMEM. */
int filter_new(const FilterConf *fc, Filter **ret, FilterError *reterr);
/* FILTER_NO_TAGS: the <F-NAME> groups of MatchTag are not captured (n_tags is always 0), so that
 * a filter whose failures feed no action does not pay for them (a capture costs a little on
 * every line the regex runs on); the controls (<F-CONTENT>, <F-MLFID>, <F-NOFAIL>, ...) work
 * the same. Matches are the same either way. */
#define FILTER_NO_TAGS 1u
int filter_new_flags(const FilterConf *fc, unsigned flags, Filter **ret, FilterError *reterr);
Filter *filter_free(Filter *f);
size_t filter_n_failregex(const Filter *f);
/* The shortcuts (one alternation of all failregexes run first, whose match stands for the regex
 * it went through, and a memmem() for text a regex requires where PCRE2 cannot skip ahead
 * itself) are on by default; tests and the benchmark turn
 * them off to compare. Results never depend on them. */
void filter_set_prefilter(Filter *f, bool enable);

/* Matches one line (no trailing newline; may hold any bytes, including NUL and invalid UTF-8;
 * only the first MATCH_LINE_MAX bytes are looked at). Returns MATCH_* or a negative errno.
 * A line longer than MATCH_LINE_MAX is treated as cut: "$" does not match at the cut, where a
 * client could have placed a complete-looking message. On MATCH_IGNORED and MATCH_LIMIT, *ret is
 * filled too. An ignoreregex that gives up does not ignore: the failure counts. */
int filter_match(Filter *f, const char *line, size_t len, MatchResult *ret);
/* The same for a line that its source has already cut (SourceLineFn's cut = true): use it for
 * those, else "$" could match at the source's cut. */
int filter_match_cut(Filter *f, const char *line, size_t len, MatchResult *ret);

/* filter_lint(): the patterns of a filter that a client can steer, decided on the pattern text
 * (docs/FILTERS.md explains each rule). */
typedef enum LintRule {
        LINT_UNANCHORED,        /* no ^ before <HOST> */
        LINT_WILDCARD,          /* greedy .* before <HOST>, nothing fixed after it */
        LINT_LAZY,              /* lazy .*? before <HOST>, no $ after it through fixed text */
        LINT_CLIENT_WORD,       /* <HOST> right after "user", "for", "login", ... */
        LINT_QUOTED,            /* <HOST> inside a quoted access-log field */
        LINT_DELIMITER,         /* <HOST> not followed by a delimiter or $ */
        _LINT_RULE_MAX,
        _LINT_RULE_INVALID = -EINVAL,
} LintRule;

typedef struct LintWarning {
        const FilterRegex *regex; /* the regex: file, line, pattern (the FilterConf's) */
        const char *what;         /* "failregex" or "prefregex" */
        size_t index;             /* failregex: index into FilterConf.failregex */
        LintRule rule;
        const char *reason;       /* one line, static */
} LintWarning;

/* Called per warning; a negative return stops filter_lint() with it. */
typedef int (*LintFn)(const LintWarning *w, void *userdata);

const char *lint_rule_to_string(LintRule r);
/* Lints the prefregex and every failregex of fc, calling fn (may be NULL) for each rule a regex
 * breaks (once per regex and rule). Returns the number of warnings, -EINVAL (reterr: a regex
 * whose tags do not expand) or -ENOMEM. Pure, like the rest of match.h. */
int filter_lint(const FilterConf *fc, LintFn fn, void *userdata, FilterError *reterr);

/* Many filters on one log (every jail that reads it): one scan of the line for the literals of
 * all of them (MatchSet), and only the filters whose literals it finds run their regexes. The
 * set borrows the filters (they must outlive it) and, like them, is used by one thread at a
 * time. Results are those of filter_match() on each filter, except that a line in which a filter's
 * literals do not occur never reaches its prefregex, so a prefregex that would give up on it
 * reports no MATCH_LIMIT. */
typedef struct MatchSet MatchSet;

/* 0, -ENOMEM, or -EINVAL (n is 0 or above MATCH_SET_MAX). */
#define MATCH_SET_MAX 4096
int match_set_new(Filter *const *filters, size_t n, MatchSet **ret);
MatchSet *match_set_free(MatchSet *s);
/* Off (for tests and the benchmark): every filter runs its regexes (and its gate) on every line,
 * without any literal scan. */
void match_set_set_prefilter(MatchSet *s, bool enable);
/* The i-th literal of f's prefilter (not NUL-terminated: *ret_len bytes), or NULL past the last;
 * none at all: f runs on every line of a set. */
const char *filter_literal(const Filter *f, size_t i, size_t *ret_len);
/* want[k] (n bytes): 1 when filter k must run on the line; returns how many. */
size_t match_set_scan(const MatchSet *s, const char *line, size_t len, uint8_t *want);
/* filter_match()/filter_match_cut() of filter k of the set, on a line that match_set_scan() wants
 * it for. */
int match_set_match(MatchSet *s, size_t k, const char *line, size_t len, bool cut, MatchResult *ret);
