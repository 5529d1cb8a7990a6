/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the pieces of match.h share, and nothing outside src/match includes:
 *   match-pattern.c  pattern text: fail2ban's tags expanded, and what the text shows (a literal
 *                    every match holds, whether it can join a union, the prefix all share)
 *   match-compile.c  filter_new() and filter_free(): the regexes compiled, the gate built
 *   match.c          the per-line path: prefregex, gate, failregexes, sessions, multi-line */

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "match.h"

/* How a pattern runs. JIT code is built on first use (see regex_run()). */
typedef enum Run {
        RUN_NONE = 0,           /* gate only: there is none */
        RUN_JIT,                /* JIT code */
        RUN_INTERP,             /* the interpreter: JIT failed or is not there */
        RUN_LATER,              /* not used yet: JIT-compile (the gate: build) on first use */
} Run;

/* A <F-NAME> group of a regex (see MatchTag): its number and the name it gives a value to. */
typedef struct TagGroup {
        uint32_t group;
        uint8_t slot;           /* index into Regex.tag_names */
        bool alt;               /* <F-ALT_NAME>: only when no group of the name itself took part */
} TagGroup;

typedef struct Regex {
        pcre2_code *code;
        Run run;
        uint32_t *host_groups;  /* capture numbers of ip4/ip6/host/addr groups, in pattern order */
        size_t n_host_groups;
        uint32_t *content_groups; /* prefregex only: <F-CONTENT> */
        size_t n_content_groups;
        uint32_t *nofail_groups; /* <F-NOFAIL>, <F-MLFGAINED> (a login that succeeded): when it
                                  * took part, the line is not a failure */
        size_t n_nofail_groups;
        uint32_t *mlfid_groups; /* prefregex: <F-MLFID>, the session a line belongs to */
        size_t n_mlfid_groups;
        uint32_t *forget_groups; /* <F-MLFFORGET>: when it took part, the session is over */
        size_t n_forget_groups;
        TagGroup *tag_groups;   /* the direct ones in pattern order, then the <F-ALT_*> ones */
        size_t n_tag_groups;
        char *tag_names[MATCH_TAGS_MAX];
        size_t n_tag_names;
        char *literal;          /* a substring every match contains, or NULL */
        size_t literal_len;
} Regex;

/* Strings one of which every match of a pattern holds; n = 0: none known. */
typedef struct LiteralSet {
        char **v;
        size_t *len;
        size_t n;
} LiteralSet;

/* Many literals found in one pass over a line (match-literal.c). */
typedef struct Scanner Scanner;

/* fail2ban's <F-MLFID>: the prefregex names the session a line belongs to (sshd's
 * "host sshd[1234]: "), and a failregex without an address counts against the address an earlier
 * line of the same session gave ("Disconnecting: Too many authentication failures for root").
 * A direct-mapped cache, a slot per hash of the id: the newest session takes a slot, an entry is
 * trusted for SESSION_MAX_AGE, and <F-MLFFORGET> ends a session. */
#define SESSION_SLOTS 256
#define SESSION_ID_MAX 96
#define SESSION_MAX_AGE (10 * 60 * USEC_PER_SEC)

typedef struct Session {
        uint8_t id_len;         /* 0: empty */
        char id[SESSION_ID_MAX];
        Addr addr;
        usec_t at;              /* CLOCK_MONOTONIC */
} Session;

/* maxlines > 1: the last maxlines lines, joined by "\n", at most MULTI_BUF_MAX bytes (the oldest
 * lines go first when a new one does not fit). */
#define MULTI_BUF_MAX (64u * 1024u)

struct Filter {
        Session *sessions;      /* SESSION_SLOTS, when the prefregex has <F-MLFID>; else NULL */
        unsigned maxlines;      /* > 1: a multi-line filter, matched on mbuf */
        char *mbuf;
        size_t mbuf_len;
        unsigned mbuf_lines;
        Regex *fail;
        size_t n_fail;
        Regex *ignore;
        size_t n_ignore;
        Regex pref;             /* code NULL when there is no prefregex */
        /* All failregexes as one alternation, run first: most lines match none, and one JIT call
         * costs less than one per regex. NULL when a pattern could mean something else inside
         * the union (backreferences, \Q, extended mode) or when there is one regex. */
        pcre2_code *gate;
        Run gate_run;
        char **expanded;        /* the failregexes expanded, until match_gate_build() takes them */
        /* Each alternative of the gate starts with (*MARK:i), so a gate match names the regex it
         * went through and gives that regex's captures, moved up by gate_shift[i] past the
         * groups of the alternatives before it (the common prefix's gate_prefix_groups first). */
        uint32_t *gate_shift;
        uint32_t gate_prefix_groups;
        pcre2_match_data *gate_md;
        pcre2_match_data *md;
        pcre2_match_context *mctx;
        bool prefilter;
        /* The literal prefilter of a MatchSet: every failregex needs one of lits, so a line
         * without any runs no regex (n = 0: some regex needs none we can tell, or a multi-line
         * filter). Not scanned for by filter_match(): alone, a filter's anchored regexes under JIT
         * fail sooner than a scan of the line takes (tests/bench/bench-match). */
        LiteralSet lits;
};

/* match-pattern.c */

/* The address patterns. They are loose on purpose (addr_parse() has the last word) but only take
 * characters that can be in an address, so that what follows in the regex still anchors. IPv4
 * must not be followed by a digit, so "192.0.2.15" never yields "192.0.2.1". */
#define RE_IP4 "(?:\\d{1,3}\\.){3}\\d{1,3}(?!\\d)"
#define RE_IP6 "(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\\d{1,3}(?:\\.\\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![0-9A-Fa-f])"
#define RE_TAG_IP4 "(?<ip4>" RE_IP4 ")"
#define RE_TAG_IP6 "(?:\\[(?<ip6>" RE_IP6 ")\\]|(?<ip6>" RE_IP6 "))"
/* An address, maybe in brackets, as fail2ban's <ADDR>. Its "\\[?...\\]?" lets a regex end right
 * before the "]" ("- <ADDR>\\b" on "- [192.0.2.1] x"): so may ours, but a "[" must have its "]". */
#define RE_TAG_ADDR                                                                                   \
        "(?:(?<ip4>" RE_IP4 ")|(?<ip6>" RE_IP6 ")|\\[(?<ip6>" RE_IP6 ")(?=\\])\\]?|\\[(?<ip4>" RE_IP4 ")(?=\\])\\]?)"
#define RE_TAG_CIDR "(?<cidr>\\d{1,3})"


/* p[i] is the '[' of a character class: the index of its closing ']' (or of the NUL that ends
 * an unterminated class). A ']' first in the class, escapes and [:name:] are inside it. */
size_t match_class_end(const char *p, size_t i);
/* fr's pattern in PCRE2's syntax, tags expanded (*ret: the caller's). tags false: the <F-NAME>
 * groups that are no control of ours (<F-USER>, ...) become groups that capture nothing, unless
 * the pattern may refer back to a group by name. 0, -EINVAL (reterr) or -ENOMEM. */
int match_expand_pattern(const FilterRegex *fr, bool multiline, bool tags, char **ret, FilterError *reterr);
/* The longest literal text at the top level of an expanded pattern, or *ret NULL. 0 or -ENOMEM. */
int match_required_literal(const char *p, char **ret, size_t *ret_len);
/* Whether the expanded pattern means the same as one alternative of a union. */
bool match_union_safe(const char *p);
/* The length of the prefix the n expanded patterns share, cut between whole items. */
size_t match_common_prefix(char *const *p, size_t n);
/* The gate's pattern: the first prefix bytes the n expanded patterns share, then the rest of each
 * as an alternative that starts with (*MARK:i). *ret: the caller's. 0 or -ENOMEM. */
int match_union_pattern(char *const *p, size_t n, size_t prefix, char **ret);

/* match-tree.c: an expanded pattern read into a tree (for what its text shows, never to match) */

#define TREE_UNBOUNDED UINT32_MAX  /* TNode.max of * + {n,} */
#define TREE_DEPTH_MAX 64          /* group nesting */

typedef enum TNodeKind {
        N_START,                /* ^ \A */
        N_END,                  /* $ \z \Z */
        N_LIT,                  /* one known character */
        N_WILD,                 /* . */
        N_CLASS,                /* one character of a set: \d \S [..], or what we do not read */
        N_ASSERT,               /* zero width: \b, lookaround */
        N_GROUP,
        N_HOST,                 /* an address tag */
} TNodeKind;

typedef struct TNode TNode;

typedef struct TSeq {
        TNode **v;
        size_t n;
} TSeq;

struct TNode {
        TNodeKind kind;
        char ch;                /* N_LIT */
        bool space;             /* N_CLASS: whitespace only */
        uint32_t min, max;
        bool lazy;
        bool has_host;          /* N_GROUP: an N_HOST somewhere inside */
        bool unknown;           /* N_CLASS: text we do not read, (?R) (?(cond)..) */
        TSeq *alts;              /* N_GROUP */
        size_t n_alts;
        TNode *pool_next;
};


typedef struct MatchTree {
        TNode *top;             /* an N_GROUP: the pattern's alternatives */
        TNode *pool;            /* every node, for match_tree_done() */
        bool inline_flags;      /* (?i) (?x) ... somewhere: literals may not mean themselves */
} MatchTree;

/* 0; -EINVAL for a pattern it does not follow (nesting beyond TREE_DEPTH_MAX, a stray ')');
 * -ENOMEM. */
int match_tree_parse(const char *pattern, MatchTree *ret);
void match_tree_done(MatchTree *t);

/* match-literal.c: the literal prefilter */


/* Shorter literals are in too many lines to be worth a scan; the scanner needs 4 bytes. */
#define LITERAL_MIN 4
#define SCAN_LITERAL_MIN 4

/* The best set the expanded pattern needs (fewest, longest strings), or an empty one when it
 * has none we can tell: (?i) and other inline flags, or text match_tree_parse() does not follow.
 * 0 or -ENOMEM. */
int match_required_literals(const char *pattern, LiteralSet *ret);
void literal_set_done(LiteralSet *s);

/* Many literals found in one pass over a line. It keeps pointers to the literals (the caller's,
 * which must outlive it). */
/* n literals, each SCAN_LITERAL_MIN bytes or longer (-EINVAL otherwise), with an id each (ids NULL: all 0). */
int scanner_new(char *const *lits, const size_t *lens, const uint32_t *ids, size_t n, Scanner **ret);
Scanner *scanner_free(Scanner *s);
/* Sets hit[id] for each literal in the line (hit may be NULL; an id already set is not searched
 * again) and returns how many it found; first_only: stops at the first. */
size_t scanner_run(const Scanner *s, const char *line, size_t len, uint8_t *hit, bool first_only);

/* match.c */

/* filter_match() (cut: filter_match_cut()), for the MatchSet. */
int match_line(Filter *f, const char *line, size_t len, bool cut, MatchResult *ret);

/* match-compile.c */

/* Fills *e (when not NULL) with fr's file and line, offset and the message. */
void match_set_error(FilterError *e, const FilterRegex *fr, size_t offset, const char *fmt, ...) _printf_(4, 5);

/* Builds f's gate on first use; returns how it runs from now on (never RUN_LATER). */
__attribute__((cold, noinline)) Run match_gate_build(Filter *f);
