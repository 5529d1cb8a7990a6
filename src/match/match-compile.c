/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A Filter built from a FilterConf: each regex compiled and its groups sorted by role, the
 * prefilter's literal chosen, and the gate (all failregexes as one alternation) built when the
 * first line needs it. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"

/* Limits that keep a hostile line from making a regex run away. A sane filter needs a few
 * hundred steps per line; the match limit leaves room for greedy ".*" over MATCH_LINE_MAX bytes. */
#define MATCH_LIMIT 2000000u
#define MATCH_DEPTH_LIMIT 10000u
#define MATCH_HEAP_LIMIT_KIB 20000u
#define MATCH_JIT_STACK_MIN (32u * 1024u)
#define MATCH_JIT_STACK_MAX (1024u * 1024u)
/* Shorter required literals are not worth a memmem() before the regex. */
#define PREFILTER_MIN 4

/* One JIT stack per thread, shared by every filter the thread runs (PCRE2 allows that: a stack
 * serves one match at a time). Made at the thread's first match, freed when it exits. A stack per
 * filter cost 10 mappings and their bookkeeping for 10 jails, all idle but one at a time. When
 * it cannot be made, PCRE2 falls back to its 32 KiB on the machine stack: a deep match then
 * fails with PCRE2_ERROR_JIT_STACKLIMIT, as it would past MATCH_JIT_STACK_MAX. */
static pthread_key_t jit_stack_key;
static pthread_once_t jit_stack_once = PTHREAD_ONCE_INIT;
static bool jit_stack_key_ok;

static void jit_stack_release(void *p) {
        pcre2_jit_stack_free(p);
}

static void jit_stack_key_init(void) {
        jit_stack_key_ok = pthread_key_create(&jit_stack_key, jit_stack_release) == 0;
}

/* The thread's stack, read on every match; the key only frees it when the thread exits. */
static __thread pcre2_jit_stack *jit_stack_of_thread;

static pcre2_jit_stack *thread_jit_stack(void *unused) {
        pcre2_jit_stack *s = jit_stack_of_thread;

        if (s || !jit_stack_key_ok)
                return s;
        s = pcre2_jit_stack_create(MATCH_JIT_STACK_MIN, MATCH_JIT_STACK_MAX, NULL);
        if (s && pthread_setspecific(jit_stack_key, s) != 0) {
                pcre2_jit_stack_free(s);
                s = NULL;
        }
        jit_stack_of_thread = s;
        return s;
}

void match_set_error(FilterError *e, const FilterRegex *fr, size_t offset, const char *fmt, ...) {
        va_list ap;

        if (!e)
                return;
        *e = (FilterError) { .line = fr ? fr->line : 0, .offset = offset };
        snprintf(e->file, sizeof e->file, "%s", fr && fr->file ? fr->file : "<regex>");
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

static bool is_host_group_name(const char *name) {
        return strcmp(name, "ip4") == 0 || strcmp(name, "ip6") == 0 || strcmp(name, "host") == 0 ||
               strcmp(name, "addr") == 0;
}

static void regex_done(Regex *re) {
        pcre2_code_free(re->code);
        free(re->tag_groups);
        for (size_t i = 0; i < re->n_tag_names; i++)
                free(re->tag_names[i]);
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

/* Group name of a value for the action tags (see MatchTag): "alt_user2" gives to "user". Adds
 * it to re's tags; more than MATCH_TAGS_MAX names: the later ones are not kept. */
static int tag_group_add(Regex *re, const char *name, uint32_t g) {
        size_t n = strlen(name), slot;
        bool alt = false;
        TagGroup *v;

        if (strncmp(name, "alt_", 4) == 0 && n > 4) {
                name += 4;
                n -= 4;
                while (n > 1 && name[n - 1] >= '0' && name[n - 1] <= '9')
                        n--;
                alt = true;
        }
        for (slot = 0; slot < re->n_tag_names; slot++)
                if (strlen(re->tag_names[slot]) == n && memcmp(re->tag_names[slot], name, n) == 0)
                        break;
        if (slot == re->n_tag_names) {
                if (slot >= MATCH_TAGS_MAX)
                        return 0;
                re->tag_names[slot] = strndup(name, n);
                if (!re->tag_names[slot])
                        return -ENOMEM;
                re->n_tag_names++;
        }
        v = realloc(re->tag_groups, (re->n_tag_groups + 1) * sizeof *v);
        if (!v)
                return -ENOMEM;
        re->tag_groups = v;
        v[re->n_tag_groups++] = (TagGroup) { .group = g, .slot = (uint8_t) slot, .alt = alt };
        return 0;
}

static bool tag_group_before(const TagGroup *a, const TagGroup *b) {
        return a->alt != b->alt ? !a->alt : a->group < b->group;
}

static int regex_compile(const FilterRegex *fr, bool multiline, bool tags, Regex *ret, uint32_t *max_groups,
                         char **ret_expanded, FilterError *reterr) {
        _cleanup_free_ char *pattern = NULL;
        Regex re = {};
        PCRE2_SPTR table;
        uint32_t count, entry_size, n_captures;
        PCRE2_SIZE erroffset;
        int r, errcode;

        r = match_expand_pattern(fr, multiline, tags, &pattern, reterr);
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
                match_set_error(reterr, fr, erroffset, "%s", (const char *) msg);
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
                else if (strcmp(name, "mlfid") == 0) {
                        r = group_add(&re.mlfid_groups, &re.n_mlfid_groups, g);
                        if (r >= 0 && tags)
                                r = tag_group_add(&re, name, g);
                }
                else if (strcmp(name, "mlfforget") == 0)
                        r = group_add(&re.forget_groups, &re.n_forget_groups, g);
                else if (strcmp(name, "cidr") == 0)
                        r = 0; /* <SUBNET>'s prefix length */
                else
                        r = tags ? tag_group_add(&re, name, g) : 0;
                if (r < 0)
                        goto fail;
        }
        for (size_t a = 1; a < re.n_tag_groups; a++)
                for (size_t z = a; z > 0 && tag_group_before(&re.tag_groups[z], &re.tag_groups[z - 1]); z--) {
                        TagGroup t = re.tag_groups[z];
                        re.tag_groups[z] = re.tag_groups[z - 1];
                        re.tag_groups[z - 1] = t;
                }
        for (size_t a = 1; a < re.n_host_groups; a++)
                for (size_t z = a; z > 0 && re.host_groups[z - 1] > re.host_groups[z]; z--) {
                        uint32_t t = re.host_groups[z];
                        re.host_groups[z] = re.host_groups[z - 1];
                        re.host_groups[z - 1] = t;
                }

        /* The prefilter only pays where PCRE2 cannot skip ahead by itself: an anchored pattern
         * (all of ours start with ^) fails within a few bytes under JIT, and one with a known
         * first code unit is scanned with memchr() by PCRE2 already; for those, a memmem() before
         * each regex costs more than it saves (tests/bench/bench-match compares both ways). */
        {
                uint32_t all, first;
                if (pcre2_pattern_info(re.code, PCRE2_INFO_ALLOPTIONS, &all) < 0 ||
                    pcre2_pattern_info(re.code, PCRE2_INFO_FIRSTCODETYPE, &first) < 0)
                        goto fail_einval;
                if (!(all & PCRE2_ANCHORED) && first == 0) {
                        r = match_required_literal(pattern, &re.literal, &re.literal_len);
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
        match_set_error(reterr, fr, 0, "cannot inspect compiled pattern");
        r = -EINVAL;
fail:
        regex_done(&re);
        return r;
}

/* The expanded patterns: filled in order, NULL-terminated (one spare slot). */
static void expanded_freep(char ***p) {
        if (!*p)
                return;
        for (char **e = *p; *e; e++)
                free(*e);
        free(*p);
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
__attribute__((cold, noinline)) Run match_gate_build(Filter *f) {
        uint32_t sum = 0, n, prefix_captures = 0;
        char **expanded = f->expanded;
        char *pattern = NULL;
        size_t prefix;
        PCRE2_SIZE erroffset;
        int errcode;

        f->expanded = NULL;
        /* Our filters all start with the same ^%(__prefix_line)s: matching it once and then the
         * alternatives is what makes the gate pay. */
        prefix = match_common_prefix(expanded, f->n_fail);
        if (prefix > 0) {
                prefix_captures = capture_count(expanded[0], prefix);
                if (prefix_captures == UINT32_MAX)
                        prefix = 0, prefix_captures = 0;
        }
        f->gate_shift = calloc(f->n_fail, sizeof(uint32_t));
        if (!f->gate_shift)
                goto done;
        for (size_t i = 0; i < f->n_fail; i++) {
                if (pcre2_pattern_info(f->fail[i].code, PCRE2_INFO_CAPTURECOUNT, &n) < 0 || n < prefix_captures)
                        goto done;
                f->gate_shift[i] = sum;
                sum += n - prefix_captures;
        }
        sum += prefix_captures;
        if (match_union_pattern(expanded, f->n_fail, prefix, &pattern) < 0)
                goto done;

        f->gate = pcre2_compile((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
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
        free(pattern);
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
        literal_set_done(&f->lits);
        free(f);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Filter *, filter_free);

/* The literal prefilter of f: the union of the literals each failregex needs, when every one of
 * them needs some of LITERAL_MIN bytes or more. */
static int filter_literals(Filter *f, char *const *expanded) {
        LiteralSet all = {};
        int r = 0;

        for (size_t i = 0; i < f->n_fail; i++) {
                LiteralSet s = {};

                r = match_required_literals(expanded[i], &s);
                if (r >= 0 && (s.n == 0 || s.n > SIZE_MAX / 2)) {
                        literal_set_done(&s);
                        literal_set_done(&all);
                        return 0;
                }
                for (size_t k = 0; k < s.n && r >= 0; k++) {
                        if (s.len[k] < LITERAL_MIN) {
                                literal_set_done(&s);
                                literal_set_done(&all);
                                return 0;
                        }
                        /* moved, not copied: s gives up the string */
                        char **v = realloc(all.v, (all.n + 1) * sizeof *v);
                        size_t *len = v ? realloc(all.len, (all.n + 1) * sizeof *len) : NULL;
                        if (v)
                                all.v = v;
                        if (!len) {
                                r = -ENOMEM;
                                break;
                        }
                        all.len = len;
                        all.v[all.n] = TAKE_PTR(s.v[k]);
                        all.len[all.n++] = s.len[k];
                }
                literal_set_done(&s);
                if (r < 0) {
                        literal_set_done(&all);
                        return r;
                }
        }
        f->lits = all;
        return 0;
}

int filter_new(const FilterConf *fc, Filter **ret, FilterError *reterr) {
        return filter_new_flags(fc, 0, ret, reterr);
}

int filter_new_flags(const FilterConf *fc, unsigned flags, Filter **ret, FilterError *reterr) {
        bool multi = fc && fc->maxlines > 1, tags = !(flags & FILTER_NO_TAGS);
        _cleanup_(filter_freep) Filter *f = NULL;
        _cleanup_(expanded_freep) char **expanded = NULL;
        uint32_t max_groups = 1;
        int r;

        if (!fc || !ret)
                return -EINVAL;
        if (fc->n_failregex == 0) {
                match_set_error(reterr, NULL, 0, "filter '%s' has no failregex", fc->name ? fc->name : "?");
                if (reterr && fc->file)
                        snprintf(reterr->file, sizeof reterr->file, "%s", fc->file);
                return -EINVAL;
        }
        if (multi && fc->prefregex.pattern && fc->prefregex.pattern[0]) {
                match_set_error(reterr, &fc->prefregex, 0, "a prefregex with maxlines = %u is not supported",
                                fc->maxlines);
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
                r = regex_compile(&fc->prefregex, false, tags, &f->pref, &max_groups, NULL, reterr);
                if (r < 0)
                        return r;
                if (f->pref.n_content_groups == 0) {
                        match_set_error(reterr, &fc->prefregex, 0, "prefregex has no <F-CONTENT> group");
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
                r = regex_compile(&fc->failregex[i], multi, tags, &f->fail[i], &max_groups, &expanded[i], reterr);
                if (r < 0)
                        return r;
                f->n_fail++;
                if (f->fail[i].n_host_groups == 0 && f->pref.n_host_groups == 0 && f->pref.n_mlfid_groups == 0) {
                        match_set_error(reterr, &fc->failregex[i], 0,
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
                        r = regex_compile(&fc->ignoreregex[i], multi, tags, &f->ignore[i], &max_groups, NULL, reterr);
                        if (r < 0)
                                return r;
                        f->n_ignore++;
                }
        }

        if (!multi) {
                r = filter_literals(f, expanded);
                if (r < 0)
                        return r;
        }

        /* A gate, built by the first line that runs it (match_gate_build()), when there can be one:
         * two regexes or more, each of which means the same inside a union. */
        if (f->n_fail >= 2 && !multi) {
                bool safe = true;
                for (size_t i = 0; i < f->n_fail && safe; i++)
                        safe = match_union_safe(expanded[i]);
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
        (void) pthread_once(&jit_stack_once, jit_stack_key_init);
        pcre2_jit_stack_assign(f->mctx, thread_jit_stack, NULL);

        *ret = TAKE_PTR(f);
        return 0;
}
