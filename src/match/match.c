/* SPDX-License-Identifier: GPL-2.0-or-later */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "match.h"
#include "util/string-util.h"
#include "util/time-util.h"

/* Limits that keep a hostile line from making a regex run away. A sane filter needs a few
 * hundred steps per line; the match limit leaves room for greedy ".*" over MATCH_LINE_MAX bytes. */
#define MATCH_LIMIT 2000000u
#define MATCH_DEPTH_LIMIT 10000u
#define MATCH_HEAP_LIMIT_KIB 20000u
#define MATCH_JIT_STACK_MIN (32u * 1024u)
#define MATCH_JIT_STACK_MAX (1024u * 1024u)
/* Shorter required literals are not worth a memmem() before the regex. */
#define PREFILTER_MIN 4


/* How a pattern runs. JIT code is built on first use (see regex_run()). */
typedef enum Run {
        RUN_NONE = 0,           /* gate only: there is none */
        RUN_JIT,                /* JIT code */
        RUN_INTERP,             /* the interpreter: JIT failed or is not there */
        RUN_LATER,              /* not used yet: JIT-compile (the gate: build) on first use */
} Run;

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
        char *literal;          /* a substring every match contains, or NULL */
        size_t literal_len;
} Regex;

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
        char **expanded;        /* the failregexes expanded, until gate_build() takes them */
        /* Each alternative of the gate starts with (*MARK:i), so a gate match names the regex it
         * went through and gives that regex's captures, moved up by gate_shift[i] past the
         * groups of the alternatives before it (the common prefix's gate_prefix_groups first). */
        uint32_t *gate_shift;
        uint32_t gate_prefix_groups;
        pcre2_match_data *gate_md;
        pcre2_match_data *md;
        pcre2_match_context *mctx;
        pcre2_jit_stack *jit_stack;
        bool prefilter;
};

/* A growable string for pattern expansion. */
typedef struct Buf {
        char *s;
        size_t n, size;
} Buf;

static int buf_put(Buf *b, const char *s, size_t n) {
        if (b->n + n + 1 > b->size) {
                size_t size = MAX(b->size * 2, b->n + n + 64);
                char *p = realloc(b->s, size);
                if (!p)
                        return -ENOMEM;
                b->s = p;
                b->size = size;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = 0;
        return 0;
}

static int buf_puts(Buf *b, const char *s) {
        return buf_put(b, s, strlen(s));
}

static void set_error(FilterError *e, const FilterRegex *fr, size_t offset, const char *fmt, ...)
        _printf_(4, 5);

static void set_error(FilterError *e, const FilterRegex *fr, size_t offset, const char *fmt, ...) {
        va_list ap;

        if (!e)
                return;
        *e = (FilterError) { .line = fr ? fr->line : 0, .offset = offset };
        snprintf(e->file, sizeof e->file, "%s", fr && fr->file ? fr->file : "<regex>");
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

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

static bool is_host_group_name(const char *name) {
        return strcmp(name, "ip4") == 0 || strcmp(name, "ip6") == 0 || strcmp(name, "host") == 0 ||
               strcmp(name, "addr") == 0;
}

/* "<F-NAME>" / "</F-NAME>" at p (p[0] == '<'). Stores the group name, lowercased (fail2ban's
 * convention: <F-USER> is the group "user", <F-ID> is "fid"). Returns the tag length or 0. */
static size_t parse_f_tag(const char *p, bool *ret_close, char name[static 33]) {
        size_t i = 1, n = 0;
        bool close = false;

        if (p[i] == '/') {
                close = true;
                i++;
        }
        if (p[i] != 'F' || p[i + 1] != '-')
                return 0;
        i += 2;
        while (isalnum((unsigned char) p[i]) || p[i] == '_') {
                if (n >= 32)
                        return 0;
                name[n++] = (char) tolower((unsigned char) p[i]);
                i++;
        }
        if (n == 0 || p[i] != '>')
                return 0;
        name[n] = 0;
        if (strcmp(name, "id") == 0)
                strcpy(name, "fid");
        if (isdigit((unsigned char) name[0]))
                return 0;
        *ret_close = close;
        return i + 1;
}

/* Turns a fail2ban (Python re) pattern into a PCRE2 pattern: tags become named groups, "\Z"
 * becomes "$" (compiled with DOLLAR_ENDONLY, so both mean the end of the subject), "{,n}" becomes
 * "{0,n}" (PCRE2 before 10.43 reads it as literal text). */
/* p[i] is the '[' of a character class: returns the index of its closing ']' (or of the NUL that
 * ends an unterminated class). A ']' first in the class, escapes and [:name:] are inside it. */
static size_t class_end(const char *p, size_t i) {
        size_t j = i + 1;

        if (p[j] == '^')
                j++;
        if (p[j] == ']')
                j++;
        while (p[j] && p[j] != ']') {
                if (p[j] == '\\' && p[j + 1])
                        j++;
                else if (p[j] == '[' && p[j + 1] == ':') {
                        const char *e = strstr(p + j + 2, ":]");
                        if (e)
                                j = (size_t) (e - p) + 1;
                }
                j++;
        }
        return j;
}

static int expand_pattern(const FilterRegex *fr, bool multiline, char **ret, FilterError *reterr) {
        static const struct {
                const char *tag;
                const char *re;
        } tags[] = {
                { "<HOST>", RE_TAG_ADDR },
                { "<ADDR>", RE_TAG_ADDR },
                { "<IP4>", RE_TAG_IP4 },
                { "<IP6>", RE_TAG_IP6 },
                { "<CIDR>", RE_TAG_CIDR },
                { "<SUBNET>", RE_TAG_ADDR "(?:/" RE_TAG_CIDR ")?" },
        };
        const char *p = fr->pattern;
        Buf b = {};
        int r = 0;

        if (!p) {
                set_error(reterr, fr, 0, "empty regex");
                return -EINVAL;
        }
        for (size_t i = 0; p[i];) {
                if (p[i] == '\\' && p[i + 1]) {
                        if (p[i + 1] == 'Z')
                                r = buf_puts(&b, "$");
                        else
                                r = buf_put(&b, p + i, 2);
                        i += 2;
                } else if (p[i] == '[') {
                        /* copy a character class verbatim: no tags or quantifiers inside */
                        size_t j = class_end(p, i);
                        if (p[j] == ']')
                                j++;
                        r = buf_put(&b, p + i, j - i);
                        i = j;
                } else if (p[i] == '{' && p[i + 1] == ',' && isdigit((unsigned char) p[i + 2])) {
                        size_t j = i + 2;
                        while (isdigit((unsigned char) p[j]))
                                j++;
                        if (p[j] == '}')
                                r = buf_puts(&b, "{0");
                        else
                                r = buf_puts(&b, "{");
                        i++;
                } else if (p[i] == '<' && !(b.n >= 2 && b.s[b.n - 1] == '?' && b.s[b.n - 2] == '(') &&
                           !(b.n >= 3 && memcmp(b.s + b.n - 3, "(?P", 3) == 0)) {
                        char name[33];
                        bool close;
                        size_t n;
                        bool done = false;

                        for (size_t t = 0; t < ELEMENTSOF(tags); t++)
                                if (strncmp(p + i, tags[t].tag, strlen(tags[t].tag)) == 0) {
                                        r = buf_puts(&b, tags[t].re);
                                        i += strlen(tags[t].tag);
                                        done = true;
                                        break;
                                }
                        if (done) {
                        } else if (strncmp(p + i, "<SKIPLINES>", 11) == 0) {
                                /* any lines in between, as few as will do */
                                if (multiline) {
                                        r = buf_puts(&b, "\\n(?:.*\\n)*?");
                                        i += 11;
                                } else {
                                        set_error(reterr, fr, b.n, "<SKIPLINES> needs maxlines > 1");
                                        r = -EINVAL;
                                }
                        } else if (strncmp(p + i, "<DNS>", 5) == 0) {
                                set_error(reterr, fr, b.n,
                                          "<DNS> is not supported: nftjail does no DNS lookups, use <ADDR>");
                                r = -EINVAL;
                        } else if ((n = parse_f_tag(p + i, &close, name)) > 0) {
                                if (close)
                                        r = buf_puts(&b, ")");
                                else {
                                        r = buf_puts(&b, "(?<");
                                        if (r >= 0)
                                                r = buf_puts(&b, name);
                                        if (r >= 0)
                                                r = buf_puts(&b, ">");
                                }
                                i += n;
                        } else {
                                /* not a tag we know: a literal '<' as Python would read it */
                                r = buf_put(&b, "<", 1);
                                i++;
                        }
                } else {
                        r = buf_put(&b, p + i, 1);
                        i++;
                }
                if (r < 0) {
                        free(b.s);
                        return r;
                }
        }
        if (!b.s) {
                b.s = strdup("");
                if (!b.s)
                        return -ENOMEM;
        }
        *ret = b.s;
        return 0;
}

static bool is_quantifier_brace(const char *p) {
        /* {n} {n,} {n,m} {,m} */
        size_t i = 1;
        bool digits = false;

        while (isdigit((unsigned char) p[i])) {
                i++;
                digits = true;
        }
        if (p[i] == '}')
                return digits;
        if (p[i] != ',')
                return false;
        i++;
        while (isdigit((unsigned char) p[i])) {
                i++;
                digits = true;
        }
        return p[i] == '}' && digits;
}

/* Finds the longest run of literal characters at the top level of an expanded pattern: text that
 * every match must contain. Conservative: gives up (returns NULL) on a top-level alternation,
 * inline flags such as (?i), and escapes it does not know. Returns -ENOMEM or 0. */
static int required_literal(const char *p, char **ret, size_t *ret_len) {
        char *cur = NULL, *best = NULL;
        size_t n_cur = 0, n_best = 0, len = strlen(p);
        unsigned depth = 0;
        bool give_up = false;

        cur = malloc(len + 1);
        best = malloc(len + 1);
        if (!cur || !best) {
                free(cur);
                free(best);
                return -ENOMEM;
        }

#define END_RUN()                                              \
        do {                                                   \
                if (n_cur > n_best) {                          \
                        memcpy(best, cur, n_cur);              \
                        n_best = n_cur;                        \
                }                                              \
                n_cur = 0;                                     \
        } while (0)

        for (size_t i = 0; p[i] && !give_up;) {
                char c = p[i];

                if (c == '\\') {
                        char e = p[i + 1];
                        if (!e) {
                                give_up = true;
                                break;
                        }
                        if (isalnum((unsigned char) e)) {
                                if (!strchr("dDsSwWbBhHvVAzZGntrfe", e))
                                        give_up = true;
                                END_RUN();
                        } else if (depth == 0)
                                cur[n_cur++] = e;
                        i += 2;
                } else if (c == '(') {
                        if (p[i + 1] == '?' && !strchr(":=!><|P'", p[i + 2]))
                                give_up = true; /* inline flags, conditionals, comments */
                        END_RUN();
                        depth++;
                        i++;
                } else if (c == ')') {
                        END_RUN();
                        if (depth > 0)
                                depth--;
                        i++;
                } else if (c == '|') {
                        if (depth == 0)
                                give_up = true;
                        i++;
                } else if (c == '[') {
                        size_t j = class_end(p, i);
                        END_RUN();
                        i = p[j] ? j + 1 : j;
                } else if (c == '*' || c == '+' || c == '?' || (c == '{' && is_quantifier_brace(p + i))) {
                        /* the previous atom may be absent or repeated: drop it from the run */
                        if (n_cur > 0)
                                n_cur--;
                        END_RUN();
                        if (c == '{')
                                while (p[i] && p[i] != '}')
                                        i++;
                        i++;
                } else if (c == '.' || c == '^' || c == '$') {
                        END_RUN();
                        i++;
                } else {
                        if (depth == 0)
                                cur[n_cur++] = c;
                        else
                                END_RUN();
                        i++;
                }
        }
        END_RUN();
#undef END_RUN

        free(cur);
        if (give_up || n_best == 0) {
                free(best);
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        best[n_best] = 0;
        *ret = best;
        *ret_len = n_best;
        return 0;
}

static void regex_done(Regex *re) {
        pcre2_code_free(re->code);
        free(re->host_groups);
        free(re->content_groups);
        free(re->mlfid_groups);
        free(re->forget_groups);
        free(re->nofail_groups);
        free(re->literal);
        *re = (Regex) {};
}

static int group_add(uint32_t **v, size_t *n, uint32_t g) {
        uint32_t *p = realloc(*v, (*n + 1) * sizeof(uint32_t));
        if (!p)
                return -ENOMEM;
        p[(*n)++] = g;
        *v = p;
        return 0;
}

static int regex_compile(const FilterRegex *fr, bool multiline, Regex *ret, uint32_t *max_groups, char **ret_expanded,
                         FilterError *reterr) {
        _cleanup_free_ char *pattern = NULL;
        Regex re = {};
        PCRE2_SPTR table;
        uint32_t count, entry_size, n_captures;
        PCRE2_SIZE erroffset;
        int r, errcode;

        r = expand_pattern(fr, multiline, &pattern, reterr);
        if (r < 0)
                return r;

        /* No PCRE2_UTF: lines are bytes (NUL, invalid UTF-8) and must never make a match error.
         * A (*LIMIT_MATCH=n) in a pattern can only lower the limits of our match context. A
         * multi-line filter's regexes see several lines: ^ and $ are each line's, as in fail2ban. */
        re.code = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
                                PCRE2_DUPNAMES | (multiline ? PCRE2_MULTILINE : PCRE2_DOLLAR_ENDONLY) |
                                        PCRE2_NEVER_UTF | PCRE2_NEVER_UCP,
                                &errcode, &erroffset, NULL);
        if (!re.code) {
                PCRE2_UCHAR msg[200];
                pcre2_get_error_message(errcode, msg, sizeof msg);
                set_error(reterr, fr, erroffset, "%s", (const char *) msg);
                return -EINVAL;
        }
        re.run = RUN_LATER;

        r = pcre2_pattern_info(re.code, PCRE2_INFO_CAPTURECOUNT, &n_captures);
        if (r < 0)
                goto fail_einval;
        *max_groups = MAX(*max_groups, n_captures + 1);
        if (pcre2_pattern_info(re.code, PCRE2_INFO_NAMECOUNT, &count) < 0 ||
            pcre2_pattern_info(re.code, PCRE2_INFO_NAMEENTRYSIZE, &entry_size) < 0 ||
            pcre2_pattern_info(re.code, PCRE2_INFO_NAMETABLE, &table) < 0)
                goto fail_einval;
        /* The table is sorted by name; each entry is a 16-bit big-endian group number and the name.
         * Group numbers are sorted below, so the leftmost group in the pattern is tried first. */
        for (uint32_t k = 0; k < count; k++) {
                const uint8_t *e = table + (size_t) k * entry_size;
                uint32_t g = ((uint32_t) e[0] << 8) | e[1];
                const char *name = (const char *) e + 2;

                if (is_host_group_name(name))
                        r = group_add(&re.host_groups, &re.n_host_groups, g);
                else if (strcmp(name, "content") == 0)
                        r = group_add(&re.content_groups, &re.n_content_groups, g);
                else if (strcmp(name, "nofail") == 0 || strcmp(name, "mlfgained") == 0)
                        r = group_add(&re.nofail_groups, &re.n_nofail_groups, g);
                else if (strcmp(name, "mlfid") == 0)
                        r = group_add(&re.mlfid_groups, &re.n_mlfid_groups, g);
                else if (strcmp(name, "mlfforget") == 0)
                        r = group_add(&re.forget_groups, &re.n_forget_groups, g);
                else
                        r = 0;
                if (r < 0)
                        goto fail;
        }
        for (size_t a = 1; a < re.n_host_groups; a++)
                for (size_t z = a; z > 0 && re.host_groups[z - 1] > re.host_groups[z]; z--) {
                        uint32_t t = re.host_groups[z];
                        re.host_groups[z] = re.host_groups[z - 1];
                        re.host_groups[z - 1] = t;
                }

        /* The prefilter only pays where PCRE2 cannot skip ahead by itself: an anchored pattern
         * (all of ours start with ^) fails within a few bytes under JIT, and one with a known
         * first code unit is scanned with memchr() by PCRE2 already. Measured with
         * tests/bench/bench-match (1M lines): sshd normal 4.2M lines/s with a memmem() before
         * each regex, 5.5M without; "Failed password for .* from <HOST>" 23M with, 38M without;
         * "\S+ user \S+ from <HOST> port \d+$" 14M with, 12M without. */
        {
                uint32_t all, first;
                if (pcre2_pattern_info(re.code, PCRE2_INFO_ALLOPTIONS, &all) < 0 ||
                    pcre2_pattern_info(re.code, PCRE2_INFO_FIRSTCODETYPE, &first) < 0)
                        goto fail_einval;
                if (!(all & PCRE2_ANCHORED) && first == 0) {
                        r = required_literal(pattern, &re.literal, &re.literal_len);
                        if (r < 0)
                                goto fail;
                }
        }
        if (re.literal && re.literal_len < PREFILTER_MIN) {
                free(re.literal);
                re.literal = NULL;
                re.literal_len = 0;
        }

        if (ret_expanded)
                *ret_expanded = TAKE_PTR(pattern);
        *ret = re;
        return 0;

fail_einval:
        set_error(reterr, fr, 0, "cannot inspect compiled pattern");
        r = -EINVAL;
fail:
        regex_done(&re);
        return r;
}

/* Can the pattern be put inside "(?:...)|" next to others and mean the same? Not with
 * references to group numbers or names (they would point into other alternatives), \Q (it
 * could swallow what follows), extended mode (a # comment could), or (* verbs. */
static bool union_safe(const char *p) {
        for (size_t i = 0; p[i]; i++) {
                if (p[i] == '\\') {
                        char e = p[i + 1];
                        if (e == 'Q' || e == 'g' || e == 'k' || (e >= '1' && e <= '9'))
                                return false;
                        if (e)
                                i++;
                } else if (p[i] == '(' && p[i + 1] == '*')
                        return false;
                else if (p[i] == '(' && p[i + 1] == '?') {
                        const char *q = p + i + 2;
                        if (strchr("&R(+0123456789", *q) || strncmp(q, "P=", 2) == 0 || strncmp(q, "P>", 2) == 0)
                                return false;
                        /* inline flags: (?i) (?-i) (?ix:...) */
                        while (isalpha((unsigned char) *q) || *q == '-' || *q == '^') {
                                if (*q == 'x')
                                        return false;
                                q++;
                        }
                        if (*q == '-' && isdigit((unsigned char) q[1]))
                                return false;
                }
        }
        return true;
}

/* The expanded patterns: filled in order, NULL-terminated (one spare slot). */
static void expanded_freep(char ***p) {
        if (!*p)
                return;
        for (char **e = *p; *e; e++)
                free(*e);
        free(*p);
}

/* The length of the longest text all patterns start with that ends between two complete
 * top-level items (outside groups and classes, not inside an escape, not before a quantifier),
 * so that "P(?:A|B)" means "(?:PA)|(?:PB)". Conservative: stops at escapes it does not know and
 * gives 0 for a top-level alternation. */
static size_t common_prefix(char *const *p, size_t n) {
        size_t best = 0, depth = 0;
        bool cls = false;

        for (size_t i = 0;; i++) {
                char c = p[0][i];

                if (i > 0 && depth == 0 && !cls) {
                        bool ok = true;
                        for (size_t k = 0; k < n && ok; k++)
                                ok = !strchr("*+?{", p[k][i]) || p[k][i] == 0;
                        if (ok)
                                best = i;
                }
                if (!c)
                        return best;
                for (size_t k = 1; k < n; k++)
                        if (p[k][i] != c)
                                return best;

                if (c == '\\') {
                        char e = p[0][i + 1];
                        if (!e || (isalnum((unsigned char) e) && !strchr("dDsSwWhHvVbBnrtf", e)))
                                return best;
                        for (size_t k = 1; k < n; k++)
                                if (p[k][i + 1] != e)
                                        return best;
                        i++;
                        /* the boundary check at the top of the loop runs after the whole escape */
                } else if (cls) {
                        if (c == '[' && p[0][i + 1] == ':')
                                return best;
                        if (c == ']')
                                cls = false;
                } else if (c == '[') {
                        cls = true;
                        /* "[]" and "[^]" start with a literal ']' */
                        if (p[0][i + 1] == '^' || p[0][i + 1] == ']')
                                return best;
                } else if (c == '(')
                        depth++;
                else if (c == ')') {
                        if (depth == 0)
                                return 0;
                        depth--;
                } else if (c == '|' && depth == 0)
                        return 0;
        }
}

static uint32_t capture_count(const char *pattern, size_t len) {
        pcre2_code *c;
        PCRE2_SIZE erroffset;
        int errcode;
        uint32_t n = UINT32_MAX;

        c = pcre2_compile((PCRE2_SPTR) pattern, len, PCRE2_DUPNAMES | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &errcode,
                          &erroffset, NULL);
        if (c && pcre2_pattern_info(c, PCRE2_INFO_CAPTURECOUNT, &n) < 0)
                n = UINT32_MAX;
        pcre2_code_free(c);
        return n;
}

/* Builds the gate from f->expanded (then frees it) and JIT-compiles it; returns how it runs now.
 * Called by the first line that would run it, not by filter_new(): compiling the union costs
 * about half as much again as compiling its parts, and a filter may never see a line. Without a
 * gate (RUN_NONE: patterns that cannot be put together, or no memory) every regex runs on its
 * own, with the same results. */
static __attribute__((cold, noinline)) Run gate_build(Filter *f) {
        uint32_t sum = 0, n, prefix_captures = 0;
        char **expanded = f->expanded;
        size_t prefix;
        Buf b = {};
        PCRE2_SIZE erroffset;
        int errcode, r = 0;

        f->expanded = NULL;
        /* Our filters all start with the same ^%(__prefix_line)s: matching it once and then the
         * alternatives is what makes the gate pay. */
        prefix = common_prefix(expanded, f->n_fail);
        if (prefix > 0) {
                prefix_captures = capture_count(expanded[0], prefix);
                if (prefix_captures == UINT32_MAX)
                        prefix = 0, prefix_captures = 0;
        }
        f->gate_shift = calloc(f->n_fail, sizeof(uint32_t));
        if (!f->gate_shift)
                goto done;
        r = buf_put(&b, expanded[0], prefix);
        if (r >= 0)
                r = buf_puts(&b, "(?:");
        for (size_t i = 0; i < f->n_fail && r >= 0; i++) {
                char mark[48];

                if (pcre2_pattern_info(f->fail[i].code, PCRE2_INFO_CAPTURECOUNT, &n) < 0 || n < prefix_captures)
                        goto done;
                f->gate_shift[i] = sum;
                sum += n - prefix_captures;
                snprintf(mark, sizeof mark, "%s(?:(*MARK:%zu)", i == 0 ? "" : "|", i);
                r = buf_puts(&b, mark);
                if (r >= 0)
                        r = buf_puts(&b, expanded[i] + prefix);
                if (r >= 0)
                        r = buf_puts(&b, ")");
        }
        if (r >= 0)
                r = buf_puts(&b, ")");
        if (r < 0)
                goto done;
        sum += prefix_captures;

        f->gate = pcre2_compile((PCRE2_SPTR) b.s, PCRE2_ZERO_TERMINATED,
                                PCRE2_DUPNAMES | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP, &errcode,
                                &erroffset, NULL);
        /* the same captures as the parts, or something was swallowed: then no gate */
        if (!f->gate || pcre2_pattern_info(f->gate, PCRE2_INFO_CAPTURECOUNT, &n) < 0 || n != sum)
                goto done;
        f->gate_md = pcre2_match_data_create(n + 1, NULL);
        if (!f->gate_md)
                goto done;
        f->gate_run = pcre2_jit_compile(f->gate, PCRE2_JIT_COMPLETE) == 0 ? RUN_JIT : RUN_INTERP;
        f->gate_prefix_groups = prefix_captures;
done:
        if (f->gate_run == RUN_LATER) {
                f->gate_run = RUN_NONE;
                pcre2_code_free(f->gate);
                f->gate = NULL;
                free(f->gate_shift);
                f->gate_shift = NULL;
        }
        free(b.s);
        expanded_freep(&expanded);
        return f->gate_run;
}

Filter *filter_free(Filter *f) {
        if (!f)
                return NULL;
        for (size_t i = 0; i < f->n_fail; i++)
                regex_done(&f->fail[i]);
        free(f->fail);
        for (size_t i = 0; i < f->n_ignore; i++)
                regex_done(&f->ignore[i]);
        free(f->ignore);
        regex_done(&f->pref);
        free(f->sessions);
        free(f->mbuf);
        expanded_freep(&f->expanded);
        pcre2_code_free(f->gate);
        free(f->gate_shift);
        pcre2_match_data_free(f->gate_md);
        pcre2_match_data_free(f->md);
        pcre2_match_context_free(f->mctx);
        pcre2_jit_stack_free(f->jit_stack);
        free(f);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Filter *, filter_free);

int filter_new(const FilterConf *fc, Filter **ret, FilterError *reterr) {
        bool multi = fc && fc->maxlines > 1;
        _cleanup_(filter_freep) Filter *f = NULL;
        _cleanup_(expanded_freep) char **expanded = NULL;
        uint32_t max_groups = 1;
        int r;

        if (!fc || !ret)
                return -EINVAL;
        if (fc->n_failregex == 0) {
                set_error(reterr, NULL, 0, "filter '%s' has no failregex", fc->name ? fc->name : "?");
                if (reterr && fc->file)
                        snprintf(reterr->file, sizeof reterr->file, "%s", fc->file);
                return -EINVAL;
        }
        if (multi && fc->prefregex.pattern && fc->prefregex.pattern[0]) {
                set_error(reterr, &fc->prefregex, 0, "a prefregex with maxlines = %u is not supported", fc->maxlines);
                return -EINVAL;
        }

        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->prefilter = true;
        if (multi) {
                f->maxlines = fc->maxlines;
                f->mbuf = malloc(MULTI_BUF_MAX + 1);
                if (!f->mbuf)
                        return -ENOMEM;
        }

        if (fc->prefregex.pattern && fc->prefregex.pattern[0]) {
                r = regex_compile(&fc->prefregex, false, &f->pref, &max_groups, NULL, reterr);
                if (r < 0)
                        return r;
                if (f->pref.n_content_groups == 0) {
                        set_error(reterr, &fc->prefregex, 0, "prefregex has no <F-CONTENT> group");
                        return -EINVAL;
                }
        }

        if (f->pref.n_mlfid_groups > 0 && !(f->sessions = calloc(SESSION_SLOTS, sizeof(Session))))
                return -ENOMEM;

        f->fail = calloc(fc->n_failregex, sizeof(Regex));
        if (!f->fail)
                return -ENOMEM;
        expanded = calloc(fc->n_failregex + 1, sizeof(char *));
        if (!expanded)
                return -ENOMEM;
        for (size_t i = 0; i < fc->n_failregex; i++) {
                r = regex_compile(&fc->failregex[i], multi, &f->fail[i], &max_groups, &expanded[i], reterr);
                if (r < 0)
                        return r;
                f->n_fail++;
                if (f->fail[i].n_host_groups == 0 && f->pref.n_host_groups == 0 && f->pref.n_mlfid_groups == 0) {
                        set_error(reterr, &fc->failregex[i], 0,
                                  "failregex has no <HOST>, <ADDR>, <IP4> or <IP6> (and the prefregex neither, "
                                  "nor an <F-MLFID> to take it from an earlier line)");
                        return -EINVAL;
                }
        }

        if (fc->n_ignoreregex > 0) {
                f->ignore = calloc(fc->n_ignoreregex, sizeof(Regex));
                if (!f->ignore)
                        return -ENOMEM;
                for (size_t i = 0; i < fc->n_ignoreregex; i++) {
                        r = regex_compile(&fc->ignoreregex[i], multi, &f->ignore[i], &max_groups, NULL, reterr);
                        if (r < 0)
                                return r;
                        f->n_ignore++;
                }
        }

        /* The gate is built before the first line (gate_build()), when there can be one: two
         * regexes or more, each of which means the same inside a union. */
        if (f->n_fail >= 2 && !multi) {
                bool safe = true;
                for (size_t i = 0; i < f->n_fail && safe; i++)
                        safe = union_safe(expanded[i]);
                if (safe) {
                        f->expanded = TAKE_PTR(expanded);
                        f->gate_run = RUN_LATER;
                }
        }

        f->md = pcre2_match_data_create(max_groups, NULL);
        f->mctx = pcre2_match_context_create(NULL);
        if (!f->md || !f->mctx)
                return -ENOMEM;
        pcre2_set_match_limit(f->mctx, MATCH_LIMIT);
        pcre2_set_depth_limit(f->mctx, MATCH_DEPTH_LIMIT);
        pcre2_set_heap_limit(f->mctx, MATCH_HEAP_LIMIT_KIB);
        f->jit_stack = pcre2_jit_stack_create(MATCH_JIT_STACK_MIN, MATCH_JIT_STACK_MAX, NULL);
        if (f->jit_stack)
                pcre2_jit_stack_assign(f->mctx, NULL, f->jit_stack);

        *ret = TAKE_PTR(f);
        return 0;
}

size_t filter_n_failregex(const Filter *f) {
        return f ? f->n_fail : 0;
}

void filter_set_prefilter(Filter *f, bool enable) {
        if (f)
                f->prefilter = enable;
}

/* JIT compilation was most of the cost of filter_new() (with 10 jails of stock filters, 22M of
 * the daemon's 36M instructions to start, and 528 KiB of JIT code), and a filter's gate and
 * prefregex make most of its regexes run only on the few lines that match, or never. So each
 * pattern is JIT-compiled when it first runs (the gate in gate_build()): its first line pays for
 * it once, and the lines after run the same JIT code as before. Only PCRE2_JIT_COMPLETE: we never
 * match partially. When JIT fails (no JIT support, no memory for executable pages), the
 * interpreter runs the pattern, as it did when JIT failed in filter_new(). regex_jit() and
 * gate_build() are cold and out of line: inlined, they cost match_line() one more instruction per
 * line (callgrind, 10 filters on gen-authlog.py lines). */
static __attribute__((cold, noinline)) Run regex_jit(Regex *re) {
        re->run = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0 ? RUN_JIT : RUN_INTERP;
        return re->run;
}

static int regex_run(Filter *f, Regex *re, const char *s, size_t len, uint32_t options) {
        if (f->prefilter && re->literal && !memmem(s, len, re->literal, re->literal_len))
                return PCRE2_ERROR_NOMATCH;
        /* as many tests as before JIT was lazy, once it is done */
        if (_likely_(re->run == RUN_JIT) || (re->run == RUN_LATER && regex_jit(re) == RUN_JIT))
                return pcre2_jit_match(re->code, (PCRE2_SPTR) s, len, 0, options, f->md, f->mctx);
        return pcre2_match(re->code, (PCRE2_SPTR) s, len, 0, options, f->md, f->mctx);
}

/* The first of groups that took part in the match in md; false when none did. Group numbers above
 * `above` are moved up by `shift` (a regex's groups inside the gate). */
static bool first_group(pcre2_match_data *md, const uint32_t *groups, size_t n, uint32_t above, uint32_t shift,
                        size_t *ret_start, size_t *ret_end) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

        for (size_t i = 0; i < n; i++) {
                uint32_t g = groups[i] > above ? groups[i] + shift : groups[i];
                PCRE2_SIZE a = ov[2 * g], b = ov[2 * g + 1];
                if (a != PCRE2_UNSET && b != PCRE2_UNSET && b >= a) {
                        *ret_start = a;
                        *ret_end = b;
                        return true;
                }
        }
        return false;
}

/* The failregex a gate match went through (its (*MARK)), or n_fail when there is none. */
static size_t gate_regex(const Filter *f) {
        PCRE2_SPTR m = pcre2_get_mark(f->gate_md);
        size_t i = 0;

        if (!m || !*m)
                return f->n_fail;
        for (; *m; m++) {
                if (*m < '0' || *m > '9' || i > f->n_fail)
                        return f->n_fail;
                i = i * 10 + (size_t) (*m - '0');
        }
        return MIN(i, f->n_fail);
}

/* The slot of session id, or NULL when the id is too long to keep. The ids are the log's prefix
 * (host, program, pid): their writer does not choose them freely. */
static Session *session_slot(Filter *f, const char *id, size_t n) {
        if (!f->sessions || n == 0 || n > SESSION_ID_MAX)
                return NULL;
        return &f->sessions[fnv1a64(id, n) % SESSION_SLOTS];
}

static bool session_is(const Session *x, const char *id, size_t n) {
        return x && x->id_len == n && memcmp(x->id, id, n) == 0;
}

/* Drops the n oldest lines of a multi-line filter's buffer. */
static void mbuf_drop(Filter *f, unsigned n) {
        size_t off = 0;

        for (unsigned i = 0; i < n && off < f->mbuf_len; i++) {
                const char *nl = memchr(f->mbuf + off, '\n', f->mbuf_len - off);
                off = nl ? (size_t) (nl - f->mbuf) + 1 : f->mbuf_len;
        }
        if (off >= f->mbuf_len || n >= f->mbuf_lines) {
                f->mbuf_len = 0;
                f->mbuf_lines = 0;
        } else {
                memmove(f->mbuf, f->mbuf + off, f->mbuf_len - off);
                f->mbuf_len -= off;
                f->mbuf_lines -= n;
        }
        f->mbuf[f->mbuf_len] = 0;
}

/* maxlines > 1, as fail2ban: the line joins the last maxlines - 1 in the buffer, the regexes run
 * on them all (^ and $ match at each line), and the lines up to the end of a match leave the
 * buffer, so that they count once. A newline inside a line (a journal message) becomes a blank
 * here, so that the buffer's lines are the log's. */
static int match_multi(Filter *f, const char *line, size_t len, bool cut, MatchResult *ret) {
        uint32_t opts = cut ? PCRE2_NOTEOL : 0;
        const PCRE2_SIZE *ov;
        const Regex *re;
        unsigned through = 1;
        size_t a, b, end, i;
        bool nofail;
        Addr addr;
        int r = MATCH_FAILURE;

        while (f->mbuf_lines > 0 && (f->mbuf_lines >= f->maxlines || f->mbuf_len + 1 + len > MULTI_BUF_MAX))
                mbuf_drop(f, 1);
        len = MIN(len, (size_t) MULTI_BUF_MAX);
        if (f->mbuf_lines > 0)
                f->mbuf[f->mbuf_len++] = '\n';
        for (size_t k = 0; k < len; k++)
                f->mbuf[f->mbuf_len + k] = line[k] == '\n' ? ' ' : line[k];
        f->mbuf_len += len;
        f->mbuf_lines++;
        f->mbuf[f->mbuf_len] = 0;

        for (i = 0; i < f->n_fail; i++)
                if (regex_run(f, &f->fail[i], f->mbuf, f->mbuf_len, opts) >= 0)
                        break;
        if (i == f->n_fail)
                return MATCH_NONE;
        re = &f->fail[i];
        ov = pcre2_get_ovector_pointer(f->md);
        end = ov[1];
        for (size_t k = 0; k < end && k < f->mbuf_len; k++)
                through += f->mbuf[k] == '\n';
        nofail = re->n_nofail_groups > 0 &&
                 first_group(f->md, re->nofail_groups, re->n_nofail_groups, UINT32_MAX, 0, &a, &b);
        if (!first_group(f->md, re->host_groups, re->n_host_groups, UINT32_MAX, 0, &a, &b) ||
            addr_parse(f->mbuf + a, b - a, &addr) < 0)
                r = MATCH_NONE;
        else if (nofail)
                r = MATCH_NONE;
        else {
                if (ret)
                        *ret = (MatchResult) { .addr = addr, .regex_index = (int) i };
                for (size_t k = 0; k < f->n_ignore; k++)
                        if (regex_run(f, &f->ignore[k], f->mbuf, f->mbuf_len, opts) >= 0) {
                                r = MATCH_IGNORED;
                                break;
                        }
        }
        mbuf_drop(f, through);
        return r;
}

static int match_line(Filter *f, const char *line, size_t len, bool cut, MatchResult *ret) {
        const char *s = line;
        size_t slen, a, b, n_try, i;
        uint32_t opts = 0, sopts, above = UINT32_MAX, shift = 0;
        bool have_pref_addr = false, gated = false, nofail, from_line = true;
        const char *sid = NULL;
        size_t sid_len = 0;
        pcre2_match_data *md = f ? f->md : NULL;
        Addr pref_addr = {}, addr;
        const Regex *re;
        int rc;

        if (!f || (!line && len > 0))
                return -EINVAL;
        if (len > MATCH_LINE_MAX) {
                len = MATCH_LINE_MAX;
                cut = true;
        }
        if (f->maxlines > 1)
                return match_multi(f, line, len, cut, ret);
        /* "$" must not match where a line was cut: a client could place a complete-looking
         * message right before the cut and have the real ending ignored. */
        if (cut)
                opts = PCRE2_NOTEOL;
        slen = len;
        sopts = opts;

        if (f->pref.code) {
                rc = regex_run(f, &f->pref, line, len, opts);
                if (rc < 0)
                        return MATCH_NONE;
                if (!first_group(md, f->pref.content_groups, f->pref.n_content_groups, above, 0, &a, &b))
                        return MATCH_NONE;
                if (f->pref.n_host_groups > 0 &&
                    first_group(md, f->pref.host_groups, f->pref.n_host_groups, above, 0, &a, &b)) {
                        /* a prefregex address that does not parse is a non-match, as below */
                        if (addr_parse(line + a, b - a, &pref_addr) < 0)
                                return MATCH_NONE;
                        have_pref_addr = true;
                }
                if (f->sessions && first_group(md, f->pref.mlfid_groups, f->pref.n_mlfid_groups, above, 0, &a, &b)) {
                        sid = line + a;
                        sid_len = b - a;
                }
                first_group(md, f->pref.content_groups, f->pref.n_content_groups, above, 0, &a, &b);
                s = line + a;
                slen = b - a;
                sopts = cut && b == len ? PCRE2_NOTEOL : 0;
        }

        /* The gate tries the regexes at each way of matching their common prefix in turn, so the
         * regex i it went through matched at the first such way where any did, exactly as regex
         * i alone would: its captures are the gate's. A regex before i can still match at a later
         * way, and comes first, so those are run alone. */
        n_try = f->n_fail;
        if (f->gate_run != RUN_NONE && f->prefilter) {
                if (_likely_(f->gate_run == RUN_JIT) || (f->gate_run == RUN_LATER && gate_build(f) == RUN_JIT))
                        rc = pcre2_jit_match(f->gate, (PCRE2_SPTR) s, slen, 0, sopts, f->gate_md, f->mctx);
                else if (f->gate_run == RUN_INTERP)
                        rc = pcre2_match(f->gate, (PCRE2_SPTR) s, slen, 0, sopts, f->gate_md, f->mctx);
                else
                        rc = PCRE2_ERROR_NULL; /* no gate after all: the regexes one by one */
                /* only a clean "no match" skips the regexes; a limit hit runs them one by one */
                if (rc == PCRE2_ERROR_NOMATCH)
                        return MATCH_NONE;
                if (rc >= 0 && (n_try = gate_regex(f)) < f->n_fail)
                        gated = true;
                else
                        n_try = f->n_fail;
        }

        for (i = 0; i < n_try; i++)
                if (regex_run(f, &f->fail[i], s, slen, sopts) >= 0)
                        break; /* else no match, or a match or depth limit hit: not a failure */
        if (i == n_try) {
                if (!gated)
                        return MATCH_NONE;
                md = f->gate_md;
                above = f->gate_prefix_groups;
                shift = f->gate_shift[i];
        }
        re = &f->fail[i];

        nofail = re->n_nofail_groups > 0 &&
                 first_group(md, re->nofail_groups, re->n_nofail_groups, above, shift, &a, &b);
        if (first_group(md, re->host_groups, re->n_host_groups, above, shift, &a, &b)) {
                if (addr_parse(s + a, b - a, &addr) < 0)
                        return MATCH_NONE;
        } else if (have_pref_addr)
                addr = pref_addr;
        else {
                /* no address of its own: the one its session gave, if any, and recent */
                Session *x = session_slot(f, sid, sid_len);

                if (!session_is(x, sid, sid_len) || now_usec(CLOCK_MONOTONIC) - x->at > SESSION_MAX_AGE)
                        return MATCH_NONE;
                addr = x->addr;
                from_line = false;
        }
        if (sid) {
                Session *x = session_slot(f, sid, sid_len);

                if (re->n_forget_groups > 0 && first_group(md, re->forget_groups, re->n_forget_groups, above, shift, &a, &b)) {
                        if (session_is(x, sid, sid_len))
                                x->id_len = 0; /* the session is over */
                } else if (x && from_line) {
                        x->id_len = (uint8_t) sid_len;
                        memcpy(x->id, sid, sid_len);
                        x->addr = addr;
                        x->at = now_usec(CLOCK_MONOTONIC);
                }
        }
        if (nofail)
                return MATCH_NONE;

        if (ret)
                *ret = (MatchResult) { .addr = addr, .regex_index = (int) i };
        for (size_t k = 0; k < f->n_ignore; k++)
                if (regex_run(f, &f->ignore[k], line, len, opts) >= 0)
                        return MATCH_IGNORED;
        return MATCH_FAILURE;
}

int filter_match(Filter *f, const char *line, size_t len, MatchResult *ret) {
        return match_line(f, line, len, false, ret);
}

int filter_match_cut(Filter *f, const char *line, size_t len, MatchResult *ret) {
        return match_line(f, line, len, true, ret);
}
