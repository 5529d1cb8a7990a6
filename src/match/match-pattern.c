/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pattern text: a fail2ban (Python re) pattern turned into PCRE2's, and what its text shows
 * before PCRE2 sees it. No PCRE2 calls here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"

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

/* p[i] is the '[' of a character class: returns the index of its closing ']' (or of the NUL that
 * ends an unterminated class). A ']' first in the class, escapes and [:name:] are inside it. */
size_t match_class_end(const char *p, size_t i) {
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

/* Turns a fail2ban (Python re) pattern into a PCRE2 pattern: tags become named groups, "\Z"
 * becomes "$" (compiled with DOLLAR_ENDONLY, so both mean the end of the subject), "{,n}" becomes
 * "{0,n}" (PCRE2 before 10.43 reads it as literal text). */
/* The <F-NAME> groups the matcher itself reads: always captured. */
static bool is_control_tag(const char *name) {
        return strcmp(name, "content") == 0 || strcmp(name, "nofail") == 0 || strcmp(name, "mlfgained") == 0 ||
               strcmp(name, "mlfid") == 0 || strcmp(name, "mlfforget") == 0;
}

/* p + i is right after the open tag of a <F-NAME> group that is not kept: whether its text means
 * the same without any group (no | at its top level, no quantifier or digit after its close
 * tag). A group that captures nothing still costs: PCRE2 optimizes less inside brackets. */
static bool tag_group_droppable(const char *p, size_t i, const char *name) {
        unsigned depth = 0;

        for (; p[i]; i++) {
                char other[33];
                bool close;
                size_t k;

                if (p[i] == '\\' && p[i + 1])
                        i++;
                else if (p[i] == '[') {
                        i = match_class_end(p, i);
                        if (!p[i])
                                return false;
                } else if (p[i] == '(')
                        depth++;
                else if (p[i] == ')') {
                        if (depth == 0)
                                return false;
                        depth--;
                } else if (p[i] == '|' && depth == 0)
                        return false;
                else if (p[i] == '<' && (k = parse_f_tag(p + i, &close, other)) > 0) {
                        if (!close)
                                return false; /* another group inside: kept as it is */
                        if (strcmp(other, name) != 0)
                                return false;
                        /* a digit after it could extend a \1 or \x1 before it */
                        return depth == 0 && !strchr("?*+{", p[i + k]) && !isdigit((unsigned char) p[i + k]);
                }
        }
        return false;
}

#define TAG_NESTING_MAX 16

int match_expand_pattern(const FilterRegex *fr, bool multiline, bool keep_groups, char **ret, FilterError *reterr) {
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
        bool dropped[TAG_NESTING_MAX];
        unsigned n_open = 0;
        Buf b = {};
        int r = 0;

        if (!p) {
                match_set_error(reterr, fr, 0, "empty regex");
                return -EINVAL;
        }
        /* a reference to a group by name ((?P=name), \k<name>, \g{name}, (?&name), (?P>name)) or
         * \Q...\E, inside which tag_group_droppable() cannot tell text from syntax */
        if (strstr(p, "(?P=") || strstr(p, "\\Q") || strstr(p, "\\k") || strstr(p, "\\g") || strstr(p, "(?&") ||
            strstr(p, "(?P>"))
                keep_groups = true;
        for (size_t i = 0; p[i];) {
                if (p[i] == '\\' && p[i + 1]) {
                        if (p[i + 1] == 'Z')
                                r = buf_puts(&b, "$");
                        else
                                r = buf_put(&b, p + i, 2);
                        i += 2;
                } else if (p[i] == '[') {
                        /* copy a character class verbatim: no tags or quantifiers inside */
                        size_t j = match_class_end(p, i);
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
                                        match_set_error(reterr, fr, b.n, "<SKIPLINES> needs maxlines > 1");
                                        r = -EINVAL;
                                }
                        } else if (strncmp(p + i, "<DNS>", 5) == 0) {
                                match_set_error(reterr, fr, b.n,
                                                "<DNS> is not supported: nftjail does no DNS lookups, use <ADDR>");
                                r = -EINVAL;
                        } else if ((n = parse_f_tag(p + i, &close, name)) > 0) {
                                bool drop = false;

                                if (close) {
                                        /* the close of a dropped group: nothing */
                                        drop = n_open > 0 && n_open <= TAG_NESTING_MAX && dropped[n_open - 1];
                                        n_open -= n_open > 0;
                                } else {
                                        drop = !keep_groups && !is_control_tag(name) && n_open < TAG_NESTING_MAX &&
                                               tag_group_droppable(p, i + n, name);
                                        if (n_open < TAG_NESTING_MAX)
                                                dropped[n_open] = drop;
                                        n_open++;
                                }
                                if (drop)
                                        r = 0;
                                else if (close)
                                        r = buf_puts(&b, ")");
                                else if (!keep_groups && !is_control_tag(name))
                                        r = buf_puts(&b, "(?:");
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
int match_required_literal(const char *p, char **ret, size_t *ret_len) {
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
                        size_t j = match_class_end(p, i);
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

/* Can the pattern be put inside "(?:...)|" next to others and mean the same? Not with
 * references to group numbers or names (they would point into other alternatives), \Q (it
 * could swallow what follows), extended mode (a # comment could), or (* verbs. */
bool match_union_safe(const char *p) {
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

/* The length of the longest text all patterns start with that ends between two complete
 * top-level items (outside groups and classes, not inside an escape, not before a quantifier),
 * so that "P(?:A|B)" means "(?:PA)|(?:PB)". Conservative: stops at escapes it does not know and
 * gives 0 for a top-level alternation. */
size_t match_common_prefix(char *const *p, size_t n) {
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

int match_union_pattern(char *const *p, size_t n, size_t prefix, char **ret) {
        Buf b = {};
        int r;

        r = buf_put(&b, p[0], prefix);
        if (r >= 0)
                r = buf_puts(&b, "(?:");
        for (size_t i = 0; i < n && r >= 0; i++) {
                char mark[48];

                snprintf(mark, sizeof mark, "%s(?:(*MARK:%zu)", i == 0 ? "" : "|", i);
                r = buf_puts(&b, mark);
                if (r >= 0)
                        r = buf_puts(&b, p[i] + prefix);
                if (r >= 0)
                        r = buf_puts(&b, ")");
        }
        if (r >= 0)
                r = buf_puts(&b, ")");
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}
