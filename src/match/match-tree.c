/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A reader of expanded patterns (PCRE2 syntax, as match_expand_pattern() writes them) into a
 * tree: anchors, literal characters, classes, wildcards, assertions and groups with their
 * alternatives, each with its quantifier; an address tag is one node. For what the text of a
 * pattern shows (match-lint.c's rules, match-literal.c's required literals), never for matching:
 * what it does not follow becomes a node that means "some text" (N_CLASS, unknown). */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"

typedef struct Parser {
        const char *p;
        size_t i;
        TNode *pool;
        bool nomem, inline_flags;
} Parser;

static TNode *node_new(Parser *ps, TNodeKind kind) {
        TNode *x = calloc(1, sizeof *x);
        if (!x) {
                ps->nomem = true;
                return NULL;
        }
        x->kind = kind;
        x->min = x->max = 1;
        x->pool_next = ps->pool;
        ps->pool = x;
        return x;
}

static void pool_free(Parser *ps) {
        while (ps->pool) {
                TNode *x = ps->pool;
                ps->pool = x->pool_next;
                for (size_t k = 0; k < x->n_alts; k++)
                        free(x->alts[k].v);
                free(x->alts);
                free(x);
        }
}

static bool seq_add(Parser *ps, TSeq *s, TNode *x) {
        TNode **v = realloc(s->v, (s->n + 1) * sizeof *v);
        if (!v) {
                ps->nomem = true;
                return false;
        }
        v[s->n++] = x;
        s->v = v;
        return true;
}

/* A class of whitespace only: [ \t], [\s]. */
static bool class_is_space(const char *p, size_t a, size_t b) {
        if (p[a + 1] == '^')
                return false;
        for (size_t j = a + 1; j < b; j++) {
                if (p[j] == '\\' && j + 1 < b && strchr("sth", p[j + 1]))
                        j++;
                else if (p[j] != ' ' && p[j] != '\t')
                        return false;
        }
        return b > a + 1;
}

/* A quantifier at ps->i, applied to x. */
static void parse_quantifier(Parser *ps, TNode *x) {
        const char *p = ps->p;
        size_t i = ps->i;
        uint32_t lo = 1, hi = 1;

        if (p[i] == '*')
                lo = 0, hi = TREE_UNBOUNDED, i++;
        else if (p[i] == '+')
                lo = 1, hi = TREE_UNBOUNDED, i++;
        else if (p[i] == '?')
                lo = 0, hi = 1, i++;
        else if (p[i] == '{' && (isdigit((unsigned char) p[i + 1]) || p[i + 1] == ',')) {
                char *e;
                unsigned long a = 0, b;
                size_t j = i + 1;

                if (isdigit((unsigned char) p[j])) {
                        a = strtoul(p + j, &e, 10);
                        j = (size_t) (e - p);
                }
                b = a;
                if (p[j] == ',') {
                        j++;
                        b = ULONG_MAX;
                        if (isdigit((unsigned char) p[j])) {
                                b = strtoul(p + j, &e, 10);
                                j = (size_t) (e - p);
                        }
                }
                if (p[j] != '}')
                        return; /* a literal '{' */
                lo = (uint32_t) MIN(a, (unsigned long) TREE_UNBOUNDED - 1);
                hi = b == ULONG_MAX ? TREE_UNBOUNDED : (uint32_t) MIN(b, (unsigned long) TREE_UNBOUNDED - 1);
                i = j + 1;
        } else
                return;
        if (!x)
                return;
        x->min = (uint32_t) ((uint64_t) x->min * lo > TREE_UNBOUNDED - 1 ? TREE_UNBOUNDED - 1 : x->min * lo);
        x->max = hi == TREE_UNBOUNDED || x->max == TREE_UNBOUNDED ? TREE_UNBOUNDED : x->max * hi;
        if (p[i] == '?')
                x->lazy = true, i++;
        else if (p[i] == '+')
                i++;
        ps->i = i;
}

static bool parse_alts(Parser *ps, TNode *g, unsigned depth);

static bool is_host_name(const char *s, size_t n) {
        static const char *const names[] = { "host", "ip4", "ip6", "addr" };
        for (size_t k = 0; k < ELEMENTSOF(names); k++)
                if (strlen(names[k]) == n && strncmp(s, names[k], n) == 0)
                        return true;
        return false;
}

/* The group opening at ps->i: its node, or NULL for one that matches nothing (a comment, inline
 * flags, a verb). Address tags, as match_expand_pattern() writes them, become one N_HOST. */
static TNode *parse_group(Parser *ps, unsigned depth, bool *ret_ok) {
        const char *p = ps->p + ps->i;
        TNodeKind kind = N_GROUP;
        bool host = false;
        size_t skip = 1;
        TNode *g;

        *ret_ok = true;
        if (strncmp(p, RE_TAG_ADDR, strlen(RE_TAG_ADDR)) == 0 || strncmp(p, RE_TAG_IP6, strlen(RE_TAG_IP6)) == 0) {
                g = node_new(ps, N_HOST);
                ps->i += strncmp(p, RE_TAG_ADDR, strlen(RE_TAG_ADDR)) == 0 ? strlen(RE_TAG_ADDR) : strlen(RE_TAG_IP6);
                return g;
        }
        if (p[1] == '*') {
                const char *e = strchr(p, ')');
                ps->i = e ? (size_t) (e - ps->p) + 1 : strlen(ps->p);
                return NULL;
        }
        if (p[1] == '?') {
                if (p[2] == '#') {
                        const char *e = strchr(p, ')');
                        ps->i = e ? (size_t) (e - ps->p) + 1 : strlen(ps->p);
                        return NULL;
                }
                if (p[2] == '=' || p[2] == '!')
                        kind = N_ASSERT, skip = 3;
                else if (p[2] == '<' && (p[3] == '=' || p[3] == '!'))
                        kind = N_ASSERT, skip = 4;
                else if (p[2] == ':' || p[2] == '|' || p[2] == '>')
                        skip = 3;
                else if (p[2] == '<' || p[2] == '\'' || (p[2] == 'P' && p[3] == '<')) {
                        size_t a = p[2] == 'P' ? 4 : 3, b = a;
                        while (isalnum((unsigned char) p[b]) || p[b] == '_')
                                b++;
                        host = is_host_name(p + a, b - a);
                        skip = p[b] ? b + 1 : b; /* an unterminated name: stop at the end */
                } else {
                        /* inline flags (?i) (?i:...), or recursion and conditionals we do not read */
                        size_t b = 2;
                        while (isalpha((unsigned char) p[b]) || p[b] == '-' || p[b] == '^')
                                b++;
                        if (b > 2 && (p[b] == ')' || p[b] == ':'))
                                ps->inline_flags = true;
                        if (p[b] == ')' && b > 2) {
                                ps->i += b + 1;
                                return NULL;
                        }
                        if (p[b] == ':' && b > 2)
                                skip = b + 1;
                        else
                                kind = N_CLASS, skip = 2; /* (?R) (?1) (?(...)...): unknown text */
                }
        }
        g = node_new(ps, kind);
        if (!g)
                return NULL;
        ps->i += skip;
        if (!parse_alts(ps, g, depth + 1)) {
                *ret_ok = false;
                return NULL;
        }
        if (host)
                g->kind = N_HOST;
        if (kind == N_CLASS) {
                g->unknown = true; /* nothing of what we cannot read counts */
                g->has_host = false;
        }
        return g;
}

/* One sequence, up to '|', ')' or the end. */
static bool parse_seq(Parser *ps, TSeq *s, unsigned depth) {
        const char *p = ps->p;

        while (p[ps->i] && p[ps->i] != '|' && p[ps->i] != ')') {
                char c = p[ps->i];
                TNode *x = NULL;

                if (c == '\\') {
                        char e = p[ps->i + 1];
                        ps->i += e ? 2 : 1;
                        if (e == 'A' || e == 'G')
                                x = node_new(ps, N_START);
                        else if (e == 'z' || e == 'Z')
                                x = node_new(ps, N_END);
                        else if (e == 'b' || e == 'B' || e == 'K')
                                x = node_new(ps, N_ASSERT);
                        else if (e == 'Q') {
                                /* literal text up to \E */
                                while (p[ps->i] && !(p[ps->i] == '\\' && p[ps->i + 1] == 'E')) {
                                        x = node_new(ps, N_LIT);
                                        if (!x || !seq_add(ps, s, x))
                                                return false;
                                        x->ch = p[ps->i++];
                                }
                                if (p[ps->i])
                                        ps->i += 2;
                                continue;
                        } else if (e == 'E')
                                continue;
                        else if (e == 'n' || e == 't' || e == 'r' || e == 'f') {
                                x = node_new(ps, N_LIT);
                                if (x)
                                        x->ch = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : '\f';
                        } else if (e && !isalnum((unsigned char) e)) {
                                x = node_new(ps, N_LIT);
                                if (x)
                                        x->ch = e;
                        } else {
                                x = node_new(ps, N_CLASS);
                                if (x)
                                        x->space = e == 's' || e == 'h';
                                /* \x{..} \p{..} \g{..} \k<..>: skip their argument */
                                if (p[ps->i] == '{' && strchr("xpPgkoN", e)) {
                                        const char *q = strchr(p + ps->i, '}');
                                        ps->i = q ? (size_t) (q - p) + 1 : strlen(p);
                                } else if (e == 'x')
                                        while (isxdigit((unsigned char) p[ps->i]) && p[ps->i])
                                                ps->i++;
                        }
                } else if (c == '[') {
                        size_t j = match_class_end(p, ps->i);
                        x = node_new(ps, N_CLASS);
                        if (x)
                                x->space = class_is_space(p, ps->i, j);
                        ps->i = p[j] ? j + 1 : j;
                } else if (c == '(') {
                        bool ok;
                        x = parse_group(ps, depth, &ok);
                        if (!ok)
                                return false;
                        if (!x) {
                                if (ps->nomem)
                                        return false;
                                continue;
                        }
                } else if (c == '.') {
                        x = node_new(ps, N_WILD);
                        ps->i++;
                } else if (c == '^') {
                        x = node_new(ps, N_START);
                        ps->i++;
                } else if (c == '$') {
                        x = node_new(ps, N_END);
                        ps->i++;
                } else if (c == '*' || c == '+' || c == '?') {
                        ps->i++; /* a quantifier with nothing before it: PCRE2 refuses it anyway */
                        continue;
                } else {
                        x = node_new(ps, N_LIT);
                        if (x)
                                x->ch = c;
                        ps->i++;
                }
                if (!x)
                        return false;
                parse_quantifier(ps, x);
                if (!seq_add(ps, s, x))
                        return false;
        }
        return true;
}

static bool node_has_host(const TNode *x) {
        if (x->kind == N_HOST)
                return true;
        return x->kind == N_GROUP && x->has_host;
}

/* Alternatives up to the ')' that closes g (consumed), or the end of the pattern when g is the
 * top. */
static bool parse_alts(Parser *ps, TNode *g, unsigned depth) {
        if (depth > TREE_DEPTH_MAX)
                return false;
        for (;;) {
                TSeq *v = realloc(g->alts, (g->n_alts + 1) * sizeof *v);
                if (!v) {
                        ps->nomem = true;
                        return false;
                }
                g->alts = v;
                v[g->n_alts] = (TSeq) {};
                if (!parse_seq(ps, &v[g->n_alts], depth)) {
                        free(v[g->n_alts].v); /* not counted in n_alts: pool_free() would miss it */
                        return false;
                }
                for (size_t k = 0; k < v[g->n_alts].n; k++)
                        g->has_host = g->has_host || node_has_host(v[g->n_alts].v[k]);
                g->n_alts++;
                if (ps->p[ps->i] == '|') {
                        ps->i++;
                        continue;
                }
                if (ps->p[ps->i] == ')')
                        ps->i++;
                return true;
        }
}

int match_tree_parse(const char *pattern, MatchTree *ret) {
        Parser ps = { .p = pattern };
        TNode *top;
        bool ok;

        *ret = (MatchTree) {};
        top = node_new(&ps, N_GROUP);
        ok = top && parse_alts(&ps, top, 0) && !ps.p[ps.i];
        ret->pool = ps.pool;
        ret->inline_flags = ps.inline_flags;
        if (!ok) {
                int r = ps.nomem ? -ENOMEM : -EINVAL;
                match_tree_done(ret);
                return r;
        }
        ret->top = top;
        return 0;
}

void match_tree_done(MatchTree *t) {
        Parser ps = { .pool = t->pool };
        pool_free(&ps);
        *t = (MatchTree) {};
}
