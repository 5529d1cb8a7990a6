/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The literal prefilter: the fixed strings a pattern needs (one of a set of them is in every text
 * it matches), and a scanner that finds many such strings in a line in one pass.
 *
 * The scanner keys each literal on two adjacent bytes of it, the pair that is rarest in log text
 * by a rough table of byte frequencies, and keeps a bitmap of the 65,536 pairs. A line is read two
 * bytes at a time: a pair whose bit is clear (most of them) costs a load and a test; one whose
 * bit is set has its few literals compared in place. tests/bench/bench-jails measures it against
 * the regexes alone. */
#include <endian.h>
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

/* Text that most lines of some common log hold: a literal inside one of these would make its
 * filter run on all of those lines (nginx-botsearch's " HTTP/" on every access-log line). */
static bool literal_common(const char *p, size_t n) {
        static const char *const common[] = {
                "\" 200 ", " HTTP/1.1\" ", " HTTP/1.0\" ", " HTTP/2.0\" ", "\"GET /", "\"POST /", "\"HEAD /",
                " - - [", "Mozilla/5.0 (", " from ", " port ", " user ", " for ", "session opened for user ",
                "session closed for user ", "(uid=0)", "pam_unix(", " ssh2", "connect from ", "Accepted ",
        };
        for (size_t k = 0; k < ELEMENTSOF(common); k++)
                if (memmem(common[k], strlen(common[k]), p, n))
                        return true;
        return false;
}

/* How well a set prefilters: its shortest string, up to 12 bytes (a short one is in many lines);
 * a string that common log text holds counts as 1 byte. */
static size_t set_score(const LiteralSet *s) {
        size_t m = MIN(set_min_len(s), (size_t) 12);
        for (size_t k = 0; k < s->n; k++)
                if (literal_common(s->v[k], s->len[k]))
                        return 1;
        return m;
}

/* Better means a higher set_score(), then fewer strings. */
static bool set_better(const LiteralSet *a, const LiteralSet *b) {
        size_t la = set_score(a), lb = set_score(b);

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

/* The scanner. Each literal is keyed on four adjacent bytes of it, the four that are rarest in
 * log text by a rough table of byte frequencies; a bitmap holds a hash of both 3-byte parts of
 * every key. Any occurrence of a key has one of its two parts at an even position of the line,
 * so the scan hashes the 3 bytes at every second position only: each test is a load, a multiply
 * and a bit test, independent of the one before (no skip whose length the next load would wait
 * for), so the CPU runs several at once, and a block of 8 tests costs one branch. A set bit has
 * the literals of its part compared in place. Pairs instead of 3 bytes were cheaper to test but
 * hit far more often (tests/bench/bench-jails). */

#define SLOTS 4096

typedef struct ScanEntry {
        const char *lit;        /* the caller's */
        uint32_t len;
        uint32_t at;            /* where in lit the part is */
        uint32_t part;          /* the three bytes at `at`, little-endian */
        uint32_t id;
} ScanEntry;

struct Scanner {
        uint64_t bits[65536 / 64];
        uint32_t start[SLOTS + 1]; /* entries of slot b: start[b] .. start[b + 1] */
        ScanEntry *e;
        size_t n;
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

static inline uint32_t load3(const unsigned char *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16;
}

/* 16 bits of hash of a 3-byte part */
static inline uint32_t part_hash(uint32_t part) {
        return (part * 2654435761u) >> 16;
}

static inline uint32_t part_slot(uint32_t part) {
        return part_hash(part) >> 4; /* 12 bits: SLOTS */
}

static int entry_cmp(const void *a, const void *b) {
        uint32_t x = part_slot(((const ScanEntry *) a)->part), y = part_slot(((const ScanEntry *) b)->part);
        return x < y ? -1 : x > y;
}

int scanner_new(char *const *lits, const size_t *lens, const uint32_t *ids, size_t n, Scanner **ret) {
        Scanner *s;

        for (size_t k = 0; k < n; k++)
                if (lens[k] < SCAN_LITERAL_MIN || lens[k] > UINT32_MAX)
                        return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->e = calloc(MAX(2 * n, (size_t) 1), sizeof *s->e);
        if (!s->e) {
                free(s);
                return -ENOMEM;
        }
        for (size_t k = 0; k < n; k++) {
                const unsigned char *p = (const unsigned char *) lits[k];
                size_t off = 0;
                unsigned best = UINT32_MAX;

                for (size_t i = 0; i + 4 <= lens[k]; i++) {
                        unsigned x = byte_weight(p[i]) * byte_weight(p[i + 1]) * byte_weight(p[i + 2]) *
                                     byte_weight(p[i + 3]);
                        if (x < best)
                                best = x, off = i;
                }
                for (size_t j = 0; j < 2; j++) {
                        ScanEntry *e = &s->e[s->n++];
                        uint32_t h;

                        *e = (ScanEntry) {
                                .lit = lits[k],
                                .len = (uint32_t) lens[k],
                                .at = (uint32_t) (off + j),
                                .part = load3(p + off + j),
                                .id = ids ? ids[k] : 0,
                        };
                        h = part_hash(e->part);
                        s->bits[h >> 6] |= UINT64_C(1) << (h & 63);
                }
        }
        qsort(s->e, s->n, sizeof *s->e, entry_cmp);
        for (size_t k = 0, b = 0; b <= SLOTS; b++) {
                while (k < s->n && part_slot(s->e[k].part) < b)
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

/* Bit 0: whether the part at p may be a key's. */
static inline uint64_t probe(const Scanner *s, uint32_t part) {
        uint32_t h = part_hash(part);
        return s->bits[h >> 6] >> (h & 63);
}

/* The literals whose part is at position i of the line: compared, and counted in *found.
 * Returns true to stop (first_only and one found). */
static bool verify(const Scanner *s, const unsigned char *p, size_t len, size_t i, uint8_t *hit, bool first_only,
                   size_t *found) {
        uint32_t part = load3(p + i), b = part_slot(part);

        for (uint32_t k = s->start[b]; k < s->start[b + 1]; k++) {
                const ScanEntry *e = &s->e[k];

                if (e->part != part || i < e->at || i - e->at + e->len > len || (hit && hit[e->id]))
                        continue;
                if (memcmp(p + i - e->at, e->lit, e->len) != 0)
                        continue;
                (*found)++;
                if (hit)
                        hit[e->id] = 1;
                if (first_only)
                        return true;
        }
        return false;
}

size_t scanner_run(const Scanner *s, const char *line, size_t len, uint8_t *hit, bool first_only) {
        const unsigned char *p = (const unsigned char *) line;
        size_t found = 0, i = 0;

        if (!s || s->n == 0 || len < SCAN_LITERAL_MIN)
                return 0;
        /* the parts at even positions, 8 to a block, each read as 4 bytes with the 4th masked
         * off (the last read of a block ends at i + 17): the block's bit tests are OR-ed, and only
         * a block with a set bit is looked at again */
        for (; i + 18 <= len; i += 16) {
                const unsigned char *q = p + i;
                uint64_t acc = 0;

#define PROBE(k)                                                \
        do {                                                    \
                uint32_t x;                                     \
                memcpy(&x, q + 2 * (k), sizeof x);              \
                acc |= probe(s, le32toh(x) & 0xffffffu);        \
        } while (0)
                PROBE(0);
                PROBE(1);
                PROBE(2);
                PROBE(3);
                PROBE(4);
                PROBE(5);
                PROBE(6);
                PROBE(7);
#undef PROBE
                if (_likely_(!(acc & 1)))
                        continue;
                for (unsigned j = 0; j < 8; j++)
                        if (probe(s, load3(q + 2 * j)) & 1 && verify(s, p, len, i + 2 * j, hit, first_only, &found))
                                return found;
        }
        for (; i + 3 <= len; i += 2)
                if (probe(s, load3(p + i)) & 1 && verify(s, p, len, i, hit, first_only, &found))
                        return found;
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
