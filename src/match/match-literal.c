/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The literal prefilter: the fixed strings a pattern needs (one of a set of them is in every text
 * it matches), and a scanner that finds many such strings in a line in one pass.
 *
 * The scanner keys each literal on two adjacent bytes of it, the pair that is rarest in log text
 * by a rough table of byte frequencies, and keeps a bitmap of the 65,536 pairs. A line is read two
 * bytes at a time: a pair whose bit is clear (most of them) costs a load and a test; one whose
 * bit is set has its few literals compared in place. tests/bench/bench-jails measures it against
 * the regexes alone. */
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"

#define SET_MAX 64              /* strings in one required set: more is not worth scanning for */
#define BUCKETS 4096

void literal_set_done(LiteralSet *s) {
        for (size_t k = 0; k < s->n; k++)
                free(s->v[k]);
        free(s->v);
        free(s->len);
        *s = (LiteralSet) {};
}

static size_t set_min_len(const LiteralSet *s) {
        size_t m = SIZE_MAX;
        for (size_t k = 0; k < s->n; k++)
                m = MIN(m, s->len[k]);
        return s->n ? m : 0;
}

/* Better means longer strings first (a short one is in many lines), then fewer of them. */
static bool set_better(const LiteralSet *a, const LiteralSet *b) {
        size_t la = MIN(set_min_len(a), (size_t) 12), lb = MIN(set_min_len(b), (size_t) 12);

        if (a->n == 0)
                return false;
        if (b->n == 0)
                return true;
        return la != lb ? la > lb : a->n < b->n;
}

static int set_add(LiteralSet *s, const char *p, size_t n) {
        char **v;
        size_t *len;
        char *c;

        for (size_t k = 0; k < s->n; k++)
                if (s->len[k] == n && memcmp(s->v[k], p, n) == 0)
                        return 0;
        c = malloc(n + 1);
        v = realloc(s->v, (s->n + 1) * sizeof *v);
        if (v)
                s->v = v;
        len = realloc(s->len, (s->n + 1) * sizeof *len);
        if (len)
                s->len = len;
        if (!c || !v || !len) {
                free(c);
                return -ENOMEM;
        }
        memcpy(c, p, n);
        c[n] = 0;
        s->v[s->n] = c;
        s->len[s->n++] = n;
        return 0;
}

/* Takes b into *best when it is better; frees the one that is not kept. */
static void set_keep(LiteralSet *best, LiteralSet *b) {
        if (set_better(b, best)) {
                literal_set_done(best);
                *best = *b;
        } else
                literal_set_done(b);
        *b = (LiteralSet) {};
}

static int seq_literals(const TSeq *s, unsigned depth, LiteralSet *ret);

/* A group's set: one string of each alternative's set, all of them; none when an alternative has
 * none. */
static int group_literals(const TNode *g, unsigned depth, LiteralSet *ret) {
        LiteralSet all = {};
        int r;

        *ret = (LiteralSet) {};
        if (depth > TREE_DEPTH_MAX)
                return 0;
        for (size_t k = 0; k < g->n_alts; k++) {
                LiteralSet a = {};
                r = seq_literals(&g->alts[k], depth + 1, &a);
                if (r < 0 || a.n == 0 || all.n + a.n > SET_MAX) {
                        literal_set_done(&a);
                        literal_set_done(&all);
                        return r < 0 ? r : 0;
                }
                for (size_t m = 0; m < a.n && r >= 0; m++)
                        r = set_add(&all, a.v[m], a.len[m]);
                literal_set_done(&a);
                if (r < 0) {
                        literal_set_done(&all);
                        return r;
                }
        }
        *ret = all;
        return 0;
}

/* The best set a sequence needs: a run of plain literal characters (each exactly once), or the
 * set of a group that must match. */
static int seq_literals(const TSeq *s, unsigned depth, LiteralSet *ret) {
        LiteralSet best = {}, c = {};
        char run[256];
        size_t n = 0;
        int r = 0;

        for (size_t k = 0; k <= s->n && r >= 0; k++) {
                const TNode *x = k < s->n ? s->v[k] : NULL;

                if (x && x->kind == N_LIT && x->min == 1 && x->max == 1 && n < sizeof run) {
                        run[n++] = x->ch;
                        continue;
                }
                if (n > 0) {
                        r = set_add(&c, run, n);
                        if (r >= 0)
                                set_keep(&best, &c);
                        n = 0;
                }
                if (r >= 0 && x && x->kind == N_GROUP && x->min >= 1) {
                        r = group_literals(x, depth, &c);
                        if (r >= 0)
                                set_keep(&best, &c);
                }
        }
        literal_set_done(&c);
        if (r < 0) {
                literal_set_done(&best);
                return r;
        }
        *ret = best;
        return 0;
}

int match_required_literals(const char *pattern, LiteralSet *ret) {
        MatchTree t = {};
        int r;

        *ret = (LiteralSet) {};
        r = match_tree_parse(pattern, &t);
        if (r == -EINVAL)
                return 0; /* not read: no literals, the regex runs on every line */
        if (r < 0)
                return r;
        if (!t.inline_flags)
                r = group_literals(t.top, 0, ret);
        match_tree_done(&t);
        return r;
}

/* The scanner. */

typedef struct ScanEntry {
        const char *lit;        /* the caller's */
        uint32_t len;
        uint16_t key;           /* the two bytes at off, little-endian */
        uint16_t off;
        uint32_t id;
} ScanEntry;

struct Scanner {
        uint64_t bits[65536 / 64];
        uint32_t start[BUCKETS + 1]; /* entries of bucket b: start[b] .. start[b + 1] */
        ScanEntry *e;
        size_t n;
        size_t min_len;
};

/* How often a byte is in log text, roughly: letters, digits and blanks often, punctuation less,
 * upper case and the rest rarely. */
static unsigned byte_weight(unsigned char c) {
        if (c == ' ')
                return 12;
        if (c >= 'a' && c <= 'z')
                return strchr("etaoinsrhl", c) ? 10 : 6;
        if (c >= '0' && c <= '9')
                return 8;
        if (strchr(".:-/[]", c))
                return 6;
        if (c >= 'A' && c <= 'Z')
                return 3;
        return 2;
}

static uint32_t bucket_of(uint16_t key) {
        return ((uint32_t) key * 40503u >> 4) % BUCKETS;
}

static int entry_cmp(const void *a, const void *b) {
        uint32_t x = bucket_of(((const ScanEntry *) a)->key), y = bucket_of(((const ScanEntry *) b)->key);
        return x < y ? -1 : x > y;
}

int scanner_new(char *const *lits, const size_t *lens, const uint32_t *ids, size_t n, Scanner **ret) {
        Scanner *s;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->e = calloc(MAX(n, (size_t) 1), sizeof *s->e);
        if (!s->e) {
                free(s);
                return -ENOMEM;
        }
        s->min_len = SIZE_MAX;
        for (size_t k = 0; k < n; k++) {
                const unsigned char *p = (const unsigned char *) lits[k];
                size_t off = 0;
                unsigned w = UINT32_MAX;

                if (lens[k] < 2 || lens[k] > UINT32_MAX) {
                        free(s->e);
                        free(s);
                        return -EINVAL;
                }
                for (size_t i = 0; i + 1 < lens[k] && i <= UINT16_MAX; i++) {
                        unsigned x = byte_weight(p[i]) * byte_weight(p[i + 1]);
                        if (x < w)
                                w = x, off = i;
                }
                s->e[k] = (ScanEntry) {
                        .lit = lits[k],
                        .len = (uint32_t) lens[k],
                        .key = (uint16_t) (p[off] | p[off + 1] << 8),
                        .off = (uint16_t) off,
                        .id = ids ? ids[k] : 0,
                };
                s->bits[s->e[k].key >> 6] |= UINT64_C(1) << (s->e[k].key & 63);
                s->min_len = MIN(s->min_len, lens[k]);
        }
        s->n = n;
        qsort(s->e, n, sizeof *s->e, entry_cmp);
        for (size_t k = 0, b = 0; b <= BUCKETS; b++) {
                while (k < n && bucket_of(s->e[k].key) < b)
                        k++;
                s->start[b] = (uint32_t) k;
        }
        *ret = s;
        return 0;
}

Scanner *scanner_free(Scanner *s) {
        if (s) {
                free(s->e);
                free(s);
        }
        return NULL;
}

size_t scanner_run(const Scanner *s, const char *line, size_t len, uint8_t *hit, bool first_only) {
        const unsigned char *p = (const unsigned char *) line;
        size_t found = 0;

        if (!s || s->n == 0 || len < s->min_len)
                return 0;
        for (size_t i = 0; i + 1 < len; i++) {
                uint16_t key = (uint16_t) (p[i] | p[i + 1] << 8);
                uint32_t b;

                if (_likely_(!(s->bits[key >> 6] >> (key & 63) & 1)))
                        continue;
                b = bucket_of(key);
                for (uint32_t k = s->start[b]; k < s->start[b + 1]; k++) {
                        const ScanEntry *e = &s->e[k];

                        if (e->key != key || i < e->off || i - e->off + e->len > len || (hit && hit[e->id]))
                                continue;
                        if (memcmp(p + i - e->off, e->lit, e->len) != 0)
                                continue;
                        found++;
                        if (hit)
                                hit[e->id] = 1;
                        if (first_only)
                                return found;
                }
        }
        return found;
}

const char *filter_literal(const Filter *f, size_t i, size_t *ret_len) {
        if (!f || i >= f->lits.n)
                return NULL;
        *ret_len = f->lits.len[i];
        return f->lits.v[i];
}

/* The set of filters. */

struct MatchSet {
        Filter **f;
        size_t n;
        uint8_t *always;        /* 1: a filter without literals, run on every line */
        Scanner *scan;
        bool prefilter;
};

int match_set_new(Filter *const *filters, size_t n, MatchSet **ret) {
        _cleanup_free_ char **lits = NULL;
        _cleanup_free_ size_t *lens = NULL;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n_lits = 0, m = 0;
        MatchSet *s;
        int r;

        if (n == 0 || n > MATCH_SET_MAX || !filters)
                return -EINVAL;
        for (size_t k = 0; k < n; k++)
                n_lits += filters[k]->lits.n;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->f = calloc(n, sizeof *s->f);
        s->always = calloc(n, 1);
        lits = calloc(MAX(n_lits, (size_t) 1), sizeof *lits);
        lens = calloc(MAX(n_lits, (size_t) 1), sizeof *lens);
        ids = calloc(MAX(n_lits, (size_t) 1), sizeof *ids);
        if (!s->f || !s->always || !lits || !lens || !ids) {
                match_set_free(s);
                return -ENOMEM;
        }
        for (size_t k = 0; k < n; k++) {
                const Filter *f = filters[k];

                s->f[k] = filters[k];
                if (f->lits.n == 0) {
                        s->always[k] = 1;
                        continue;
                }
                for (size_t i = 0; i < f->lits.n; i++, m++) {
                        lits[m] = f->lits.v[i];
                        lens[m] = f->lits.len[i];
                        ids[m] = (uint32_t) k;
                }
        }
        s->n = n;
        r = scanner_new(lits, lens, ids, m, &s->scan);
        if (r < 0) {
                match_set_free(s);
                return r;
        }
        s->prefilter = true;
        *ret = s;
        return 0;
}

MatchSet *match_set_free(MatchSet *s) {
        if (!s)
                return NULL;
        scanner_free(s->scan);
        free(s->always);
        free(s->f);
        free(s);
        return NULL;
}

void match_set_set_prefilter(MatchSet *s, bool enable) {
        if (s)
                s->prefilter = enable;
}

size_t match_set_scan(const MatchSet *s, const char *line, size_t len, uint8_t *want) {
        size_t n = 0;

        if (!s->prefilter) {
                memset(want, 1, s->n);
                return s->n;
        }
        memcpy(want, s->always, s->n);
        scanner_run(s->scan, line, MIN(len, (size_t) MATCH_LINE_MAX), want, false);
        for (size_t k = 0; k < s->n; k++)
                n += want[k];
        return n;
}

int match_set_match(MatchSet *s, size_t k, const char *line, size_t len, bool cut, MatchResult *ret) {
        if (k >= s->n)
                return -EINVAL;
        return match_line(s->f[k], line, len, cut, ret);
}
