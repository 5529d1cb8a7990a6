/* SPDX-License-Identifier: GPL-2.0-or-later */
/* filter_lint(): what a filter's patterns let a client steer, read from the pattern text alone.
 * A small tokenizer turns an expanded pattern into a tree (anchors, literal characters, classes,
 * wildcards, assertions, groups with their alternatives, each with its quantifier); an address tag
 * is one node. Each way through the groups that hold an address becomes a path, and the rules
 * look at what stands before and after the address on it. Conservative: what the tokenizer cannot
 * read (backreferences, recursion, unknown escapes) never makes a warning. docs/FILTERS.md has
 * each rule and why. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"

#define LINT_PATHS_MAX 256      /* ways through the groups that hold an address */

/* The paths: each way through the groups that hold an address, as a flat list of nodes (groups
 * without an address stay whole). */
typedef struct Paths {
        TSeq v[LINT_PATHS_MAX];
        size_t n;
        bool full, nomem;
        TNode **buf;            /* the path being walked: as many slots as the pattern has nodes */
        size_t cap;
} Paths;

static void paths_done(Paths *ps) {
        for (size_t k = 0; k < ps->n; k++)
                free(ps->v[k].v);
        free(ps->buf);
}

/* Appends every way through the rest of seq (from i), then through the continuations in up, after
 * the n nodes already in ps->buf. */
typedef struct Cont {
        const TSeq *seq;
        size_t i;
        const struct Cont *up;
} Cont;

static void paths_walk(Paths *ps, const Cont *c, size_t n, unsigned depth) {
        Cont cur = *c;

        /* along the sequence without recursing; only a group that holds an address branches */
        for (;;) {
                while (cur.i >= cur.seq->n && cur.up)
                        cur = *cur.up;
                if (ps->full || ps->nomem)
                        return;
                if (cur.i >= cur.seq->n) {
                        TSeq *s = &ps->v[ps->n];
                        if (ps->n >= LINT_PATHS_MAX) {
                                ps->full = true;
                                return;
                        }
                        s->v = malloc(MAX(n, (size_t) 1) * sizeof(TNode *));
                        if (!s->v) {
                                ps->nomem = true;
                                return;
                        }
                        memcpy(s->v, ps->buf, n * sizeof(TNode *));
                        s->n = n;
                        ps->n++;
                        return;
                }

                TNode *x = cur.seq->v[cur.i];
                Cont next = { cur.seq, cur.i + 1, cur.up };

                if (x->kind == N_GROUP && x->has_host && depth < TREE_DEPTH_MAX) {
                        /* an optional group: also the way without it; a repeated one is taken once */
                        if (x->min == 0)
                                paths_walk(ps, &next, n, depth + 1);
                        for (size_t k = 0; k < x->n_alts; k++) {
                                Cont in = { &x->alts[k], 0, &next };
                                paths_walk(ps, &in, n, depth + 1);
                        }
                        return;
                }
                if (n >= ps->cap) {
                        ps->full = true;
                        return;
                }
                ps->buf[n++] = x;
                cur.i++;
        }
}

/* A "." repeated without bound, here or in a group inside; *ret_lazy when one such is lazy. */
static bool has_unbounded_wild(const TNode *x, bool *ret_lazy, unsigned depth) {
        bool found = false;

        if (x->kind == N_WILD && x->max == TREE_UNBOUNDED) {
                *ret_lazy = *ret_lazy || x->lazy;
                return true;
        }
        if (x->kind != N_GROUP || depth > TREE_DEPTH_MAX)
                return false;
        for (size_t k = 0; k < x->n_alts; k++)
                for (size_t m = 0; m < x->alts[k].n; m++)
                        if (has_unbounded_wild(x->alts[k].v[m], ret_lazy, depth + 1))
                                found = true;
        return found;
}

static bool starts_anchored(const TNode *x) {
        if (x->kind == N_START)
                return true;
        if (x->kind != N_GROUP || x->min == 0 || x->n_alts == 0)
                return false;
        for (size_t k = 0; k < x->n_alts; k++)
                if (x->alts[k].n == 0 || !starts_anchored(x->alts[k].v[0]))
                        return false;
        return true;
}

static bool is_delimiter(char c) {
        return c && strchr(" \t\n]),(;:#\"'>|/}", c);
}

/* Whether what follows an address (the rest of the path from i, or what the continuation
 * holds) starts with a delimiter or the end; unknown text counts as a delimiter. */
static bool follows_delimiter(const Cont *c, unsigned depth, unsigned *budget) {
        while (c && c->i >= c->seq->n)
                c = c->up;
        if (!c)
                return false; /* the pattern ends right after the address, without $ */
        /* nested optional alternatives could take exponential time: past a budget, trust it */
        if (depth > TREE_DEPTH_MAX || *budget == 0)
                return true;
        (*budget)--;

        const TNode *x = c->seq->v[c->i];
        Cont next = { c->seq, c->i + 1, c->up };
        bool present;

        switch (x->kind) {
        case N_END:
        case N_START:
        case N_HOST:
                return true;
        case N_ASSERT:
                return follows_delimiter(&next, depth + 1, budget);
        case N_LIT:
                present = is_delimiter(x->ch);
                break;
        case N_CLASS:
                /* text we could not read ((?R), a conditional) is trusted */
                if (x->unknown)
                        return true;
                present = x->space;
                break;
        case N_WILD:
                present = false;
                break;
        case N_GROUP:
                present = true;
                for (size_t k = 0; k < x->n_alts && present; k++) {
                        Cont in = { &x->alts[k], 0, &next };
                        present = follows_delimiter(&in, depth + 1, budget);
                }
                break;
        default:
                return true;
        }
        if (!present)
                return false;
        return x->min > 0 || follows_delimiter(&next, depth + 1, budget);
}

static bool lit1(const TNode *x) {
        return x->kind == N_LIT && x->min == 1 && x->max == 1;
}

/* The literal text that ends seq's nodes v[0..end), lowercased, after prefix (the text before
 * it, at most size - 1 bytes in all). */
static void text_of(TNode *const *v, size_t end, const char *tail, char *buf, size_t size) {
        size_t a = end, n = 0, tl = strlen(tail);

        while (a > 0 && lit1(v[a - 1]) && end - a + 1 + tl < size)
                a--;
        for (size_t k = a; k < end; k++)
                buf[n++] = (char) tolower((unsigned char) v[k]->ch);
        memcpy(buf + n, tail, tl + 1);
}

/* Words after which servers write what the client sent as a user name; "for" only after
 * "password", "failure", "error" or "attempt" ("Failed password for USER", "authentication failure
 * for USER"): after other words it is often the server's own ("Timeout before authentication for
 * ADDR", "failed for 'ADDR'"). */
static bool word_before_is(const char *text, size_t w, const char *word) {
        size_t n = strlen(word);
        return w >= n + 1 && text[w - 1] == ' ' && strncmp(text + w - 1 - n, word, n) == 0 &&
               (w == n + 1 || !isalnum((unsigned char) text[w - 2 - n]));
}

static bool client_word(const char *text) {
        static const char *const words[] = { "user", "username", "login", "logname", "ruser", "for", "account" };
        size_t n = strlen(text), w;

        while (n > 0 && strchr(" \t=:\"'[(<@", text[n - 1]))
                n--;
        w = n;
        while (w > 0 && isalnum((unsigned char) text[w - 1]))
                w--;
        if (w == n)
                return false;
        for (size_t k = 0; k < ELEMENTSOF(words); k++)
                if (strlen(words[k]) == n - w && strncmp(text + w, words[k], n - w) == 0) {
                        if (k == 5)
                                return word_before_is(text, w, "password") || word_before_is(text, w, "failure") ||
                                       word_before_is(text, w, "error") || word_before_is(text, w, "attempt");
                        return true;
                }
        return false;
}

/* Whether the text right before path[h] ends with a client_word(), also through a group of
 * alternatives written before it ("(?:for|user) <HOST>"). */
static bool client_word_before(const TSeq *path, size_t h) {
        char text[96], alt[192];
        size_t a = h;

        text_of(path->v, h, "", text, sizeof text);
        if (client_word(text))
                return true;
        while (a > 0 && lit1(path->v[a - 1]))
                a--;
        if (a == 0 || path->v[a - 1]->kind != N_GROUP || path->v[a - 1]->min == 0)
                return false;
        for (size_t k = 0; k < path->v[a - 1]->n_alts; k++) {
                const TSeq *s = &path->v[a - 1]->alts[k];
                text_of(s->v, s->n, text, alt, sizeof alt);
                if (client_word(alt))
                        return true;
        }
        return false;
}

enum {
        BIT_UNANCHORED = 1 << LINT_UNANCHORED,
        BIT_WILDCARD = 1 << LINT_WILDCARD,
        BIT_LAZY = 1 << LINT_LAZY,
        BIT_CLIENT_WORD = 1 << LINT_CLIENT_WORD,
        BIT_QUOTED = 1 << LINT_QUOTED,
        BIT_DELIMITER = 1 << LINT_DELIMITER,
};

/* The rules' findings on one path, as BIT_*. */
static unsigned lint_path(const TSeq *path) {
        unsigned bits = 0, quotes = 0;
        bool http = false, anchored = path->n > 0 && starts_anchored(path->v[0]);
        bool wild = false, lazy = false;

        /* an access log: the pattern names HTTP or a request method */
        for (size_t k = 0; k + 3 < path->n && !http; k++) {
                char w[5] = {};
                for (size_t m = 0; m < 4; m++)
                        w[m] = lit1(path->v[k + m]) ? path->v[k + m]->ch : 0;
                http = strcmp(w, "HTTP") == 0 || strcmp(w, "GET ") == 0 || strcmp(w, "POST") == 0 ||
                       strcmp(w, "HEAD") == 0;
        }

        for (size_t h = 0; h < path->n; h++) {
                const TNode *x = path->v[h];
                if (x->kind != N_HOST) {
                        if (x->kind == N_LIT && x->ch == '"' && x->min >= 1)
                                quotes++;
                        wild = has_unbounded_wild(x, &lazy, 0) || wild;
                        continue;
                }
                if (!anchored)
                        bits |= BIT_UNANCHORED;

                /* a "." without bound before the address: what pins the address after it? */
                if (wild) {
                        bool fixed = false, end = false, tail_wild = false, tail_lazy = false;

                        for (size_t k = h + 1; k < path->n && !end; k++) {
                                const TNode *y = path->v[k];
                                if (y->kind == N_END)
                                        end = true;
                                else if (has_unbounded_wild(y, &tail_lazy, 0)) {
                                        tail_wild = true;
                                        if (y->min > 0)
                                                break;
                                } else if ((y->kind == N_LIT || y->kind == N_GROUP) && y->min > 0)
                                        fixed = true;
                        }
                        if (lazy && !(end && !tail_wild))
                                bits |= BIT_LAZY;
                        else if (!lazy && !fixed && !end)
                                bits |= BIT_WILDCARD;
                }

                if (client_word_before(path, h))
                        bits |= BIT_CLIENT_WORD;
                if (quotes % 2 == 1 && http)
                        bits |= BIT_QUOTED;

                {
                        Cont c = { path, h + 1, NULL };
                        unsigned budget = 10000;
                        if (!follows_delimiter(&c, 0, &budget))
                                bits |= BIT_DELIMITER;
                }
        }
        return bits;
}

static const char *const rule_names[_LINT_RULE_MAX] = {
        [LINT_UNANCHORED] = "unanchored",
        [LINT_WILDCARD] = "wildcard-before-host",
        [LINT_LAZY] = "lazy-wildcard-before-host",
        [LINT_CLIENT_WORD] = "host-in-user-field",
        [LINT_QUOTED] = "host-in-quoted-field",
        [LINT_DELIMITER] = "host-without-delimiter",
};

static const char *const rule_reasons[_LINT_RULE_MAX] = {
        [LINT_UNANCHORED] = "not anchored with ^: <HOST> can match an address anywhere, also in text the client wrote",
        [LINT_WILDCARD] = "a greedy .* or .+ before <HOST> and no fixed text or $ after it: the last address on "
                          "the line wins, also one the client wrote after the server's",
        [LINT_LAZY] = "a lazy .*? or .+? before <HOST> and no $ after it through fixed text: the first address "
                      "wins, also one in a user name such as \"x from 203.0.113.9\"",
        [LINT_CLIENT_WORD] = "<HOST> right after a user/for/login word: that field holds what the client sent",
        [LINT_QUOTED] = "<HOST> inside a quoted field of an access log (request line, referrer, user agent): "
                        "the client writes those",
        [LINT_DELIMITER] = "<HOST> not followed by a delimiter (space, ] ) , : ; # quote, or $): a host name such as "
                           "192.0.2.1.example.com gives an address",
};

const char *lint_rule_to_string(LintRule r) {
        return r >= 0 && r < _LINT_RULE_MAX ? rule_names[r] : NULL;
}

/* Lints one regex; calls fn per rule it breaks. Returns the count or a negative errno. */
static int lint_regex(const FilterRegex *fr, const char *what, size_t index, bool multiline, LintFn fn,
                      void *userdata, FilterError *reterr) {
        _cleanup_free_ char *pattern = NULL;
        MatchTree t = {};
        TNode *top;
        Paths *paths = NULL;
        unsigned bits = 0;
        int r, n = 0;

        r = match_expand_pattern(fr, multiline, true, &pattern, reterr);
        if (r < 0)
                return r;
        r = match_tree_parse(pattern, &t);
        if (r < 0) {
                /* a pattern we cannot read (nesting, stray ')'): PCRE2 has the last word */
                if (r == -EINVAL)
                        r = 0;
                goto finish;
        }
        top = t.top;
        if (!top->has_host) {
                r = 0;
                goto finish;
        }
        paths = calloc(1, sizeof *paths);
        if (!paths) {
                r = -ENOMEM;
                goto finish;
        }
        {
                Cont c = { &(TSeq) { &top, 1 }, 0, NULL };
                for (TNode *x = t.pool; x; x = x->pool_next)
                        paths->cap++;
                paths->buf = calloc(paths->cap, sizeof(TNode *));
                if (!paths->buf) {
                        r = -ENOMEM;
                        goto finish;
                }
                top->min = top->max = 1;
                paths_walk(paths, &c, 0, 0);
        }
        if (paths->nomem) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t k = 0; k < paths->n; k++)
                bits |= lint_path(&paths->v[k]);
        for (LintRule rule = 0; rule < _LINT_RULE_MAX; rule++) {
                if (!(bits & (1u << rule)))
                        continue;
                if (fn) {
                        LintWarning w = {
                                .regex = fr,
                                .what = what,
                                .index = index,
                                .rule = rule,
                                .reason = rule_reasons[rule],
                        };
                        r = fn(&w, userdata);
                        if (r < 0)
                                goto finish;
                }
                n++;
        }
        r = n;
finish:
        if (paths)
                paths_done(paths);
        free(paths);
        match_tree_done(&t);
        return r;
}

int filter_lint(const FilterConf *fc, LintFn fn, void *userdata, FilterError *reterr) {
        bool multi = fc && fc->maxlines > 1;
        int r, n = 0;

        if (!fc)
                return -EINVAL;
        if (fc->prefregex.pattern && fc->prefregex.pattern[0]) {
                r = lint_regex(&fc->prefregex, "prefregex", 0, false, fn, userdata, reterr);
                if (r < 0)
                        return r;
                n += r;
        }
        for (size_t i = 0; i < fc->n_failregex; i++) {
                r = lint_regex(&fc->failregex[i], "failregex", i, multi, fn, userdata, reterr);
                if (r < 0)
                        return r;
                n += r;
        }
        return n;
}
