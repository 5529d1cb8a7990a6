/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The per-line path. The helpers filter_match() calls for a line are static here, so that the
 * compiler can inline them; only the cold first-use steps (JIT, the gate) are out of line. */
#include <stdlib.h>
#include <string.h>

#include "match-internal.h"
#include "util/string-util.h"
#include "util/time-util.h"

size_t filter_n_failregex(const Filter *f) {
        return f ? f->n_fail : 0;
}

void filter_set_prefilter(Filter *f, bool enable) {
        if (f)
                f->prefilter = enable;
}

/* Each pattern is JIT-compiled when it first runs (the gate in match_gate_build()), not by
 * filter_new(): JIT compilation is most of what building a filter costs, and a filter's gate and
 * prefregex make most of its regexes run only on the few lines that match, or never. The first
 * line to run a pattern pays for it once; the lines after run the same JIT code. Only
 * PCRE2_JIT_COMPLETE: we never match partially. When JIT fails (no JIT support, no memory for
 * executable pages), the interpreter runs the pattern. regex_jit() and match_gate_build() are cold
 * and out of line: inlined into match_line(), they would lengthen its per-line path. */
static __attribute__((cold, noinline)) Run regex_jit(Regex *re) {
        re->run = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0 ? RUN_JIT : RUN_INTERP;
        return re->run;
}

static int regex_run(Filter *f, Regex *re, const char *s, size_t len, uint32_t options) {
        if (f->prefilter && re->literal && !memmem(s, len, re->literal, re->literal_len))
                return PCRE2_ERROR_NOMATCH;
        /* once compiled, the first test decides */
        if (_likely_(re->run == RUN_JIT) || (re->run == RUN_LATER && regex_jit(re) == RUN_JIT))
                return pcre2_jit_match(re->code, (PCRE2_SPTR) s, len, 0, options, f->md, f->mctx);
        return pcre2_match(re->code, (PCRE2_SPTR) s, len, 0, options, f->md, f->mctx);
}

/* A regex gave up on the line (rc: a PCRE2 error other than "no match"): MATCH_LIMIT, with
 * which regex (-1: the prefregex) and which limit. Cold: only hostile lines come here. */
static __attribute__((cold, noinline)) int match_limit(MatchResult *ret, int index, int rc) {
        static const char *const names[] = {
                [-PCRE2_ERROR_MATCHLIMIT] = "match limit",
                [-PCRE2_ERROR_DEPTHLIMIT] = "depth limit",
                [-PCRE2_ERROR_HEAPLIMIT] = "heap limit",
                [-PCRE2_ERROR_JIT_STACKLIMIT] = "JIT stack limit",
                [-PCRE2_ERROR_NOMEMORY] = "memory limit",
        };
        const char *name = rc < 0 && (size_t) -rc < ELEMENTSOF(names) ? names[-rc] : NULL;

        if (ret)
                *ret = (MatchResult) { .regex_index = index, .limit = name ?: "match error" };
        return MATCH_LIMIT;
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

/* The tags of re that took part in the match in md (offsets into base), after the *n in v. */
static void tags_fill(const Regex *re, pcre2_match_data *md, const char *base, uint32_t above, uint32_t shift,
                      MatchTag *v, unsigned *n) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        uint32_t have = 0;

        for (size_t i = 0; i < re->n_tag_groups && *n < MATCH_TAGS_MAX; i++) {
                const TagGroup *t = &re->tag_groups[i];
                uint32_t g = t->group > above ? t->group + shift : t->group;
                PCRE2_SIZE a = ov[2 * g], b = ov[2 * g + 1];

                if ((have & (1u << t->slot)) || a == PCRE2_UNSET || b == PCRE2_UNSET || b < a)
                        continue;
                have |= 1u << t->slot;
                v[(*n)++] = (MatchTag) { .name = re->tag_names[t->slot], .value = base + a, .len = b - a };
        }
}

/* The prefregex's tags after the failregex's, those whose names it has not. */
static void tags_merge(MatchResult *ret, const MatchTag *p, unsigned n) {
        for (unsigned i = 0; i < n && ret->n_tags < MATCH_TAGS_MAX; i++) {
                unsigned k = 0;

                while (k < ret->n_tags && strcmp(ret->tags[k].name, p[i].name) != 0)
                        k++;
                if (k == ret->n_tags)
                        ret->tags[ret->n_tags++] = p[i];
        }
}

const MatchTag *match_tag_find(const MatchResult *r, const char *name) {
        for (unsigned i = 0; r && name && i < r->n_tags && i < MATCH_TAGS_MAX; i++)
                if (strcmp(r->tags[i].name, name) == 0)
                        return &r->tags[i];
        return NULL;
}

size_t match_tag_copy(const MatchTag *t, char *buf, size_t size, bool *ret_cut) {
        size_t n = 0, max = MIN(size > 0 ? size - 1 : 0, (size_t) MATCH_TAG_VALUE_MAX), i = 0;
        bool cut = false;

        if (size == 0)
                return 0;
        for (; t && i < t->len; i++) {
                if (t->value[i] == 0)
                        continue;
                if (n == max) {
                        cut = true;
                        break;
                }
                buf[n++] = t->value[i];
        }
        /* a cut inside a UTF-8 sequence: the sequence goes */
        if (cut) {
                size_t k = n;

                while (k > 0 && ((unsigned char) buf[k - 1] & 0xc0) == 0x80 && n - k < 3)
                        k--;
                if (k > 0 && (unsigned char) buf[k - 1] >= 0xc0) {
                        unsigned char lead = (unsigned char) buf[k - 1];
                        size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

                        if (n - (k - 1) < want)
                                n = k - 1;
                }
        }
        buf[n] = 0;
        if (ret_cut)
                *ret_cut = cut;
        return n;
}

const char *match_tag_action_name(const char *name, char *buf, size_t size) {
        size_t n = 2;

        if (size < 3)
                return "";
        if (strcmp(name, "fid") == 0)
                name = "id";
        buf[0] = 'F';
        buf[1] = '-';
        for (; *name && n + 1 < size; name++)
                buf[n++] = *name >= 'a' && *name <= 'z' ? (char) (*name - 'a' + 'A') : *name;
        buf[n] = 0;
        return buf;
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
        size_t a, b, end, i, limit_i = 0;
        bool nofail;
        Addr addr;
        int r = MATCH_FAILURE, rc, limit_rc = 0;

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

        for (i = 0; i < f->n_fail; i++) {
                rc = regex_run(f, &f->fail[i], f->mbuf, f->mbuf_len, opts);
                if (rc >= 0)
                        break;
                if (rc != PCRE2_ERROR_NOMATCH && limit_rc == 0) {
                        limit_rc = rc;
                        limit_i = i;
                }
        }
        if (i == f->n_fail)
                return limit_rc ? match_limit(ret, (int) limit_i, limit_rc) : MATCH_NONE;
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
                if (ret) {
                        *ret = (MatchResult) { .addr = addr, .regex_index = (int) i };
                        if (re->n_tag_groups > 0)
                                tags_fill(re, f->md, f->mbuf, UINT32_MAX, 0, ret->tags, &ret->n_tags);
                }
                for (size_t k = 0; k < f->n_ignore; k++)
                        if (regex_run(f, &f->ignore[k], f->mbuf, f->mbuf_len, opts) >= 0) {
                                r = MATCH_IGNORED;
                                break;
                        }
        }
        mbuf_drop(f, through);
        return r;
}

int match_line(Filter *f, const char *line, size_t len, bool cut, MatchResult *ret) {
        const char *s = line;
        size_t slen, a, b, n_try, i, limit_i = 0;
        uint32_t opts = 0, sopts, above = UINT32_MAX, shift = 0;
        bool have_pref_addr = false, gated = false, nofail, from_line = true;
        const char *sid = NULL;
        size_t sid_len = 0;
        pcre2_match_data *md = f ? f->md : NULL;
        MatchTag ptags[MATCH_TAGS_MAX];
        unsigned n_ptags = 0;
        Addr pref_addr = {}, addr;
        const Regex *re;
        int rc, limit_rc = 0;

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
                        return rc == PCRE2_ERROR_NOMATCH ? MATCH_NONE : match_limit(ret, -1, rc);
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
                /* before a failregex overwrites md */
                if (_unlikely_(f->pref.n_tag_groups > 0))
                        tags_fill(&f->pref, md, line, above, 0, ptags, &n_ptags);
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
                if (_likely_(f->gate_run == RUN_JIT) || (f->gate_run == RUN_LATER && match_gate_build(f) == RUN_JIT))
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

        for (i = 0; i < n_try; i++) {
                rc = regex_run(f, &f->fail[i], s, slen, sopts);
                if (rc >= 0)
                        break;
                /* a limit hit is not a failure either; the first one is reported */
                if (_unlikely_(rc != PCRE2_ERROR_NOMATCH) && limit_rc == 0) {
                        limit_rc = rc;
                        limit_i = i;
                }
        }
        if (i == n_try) {
                if (!gated)
                        return limit_rc ? match_limit(ret, (int) limit_i, limit_rc) : MATCH_NONE;
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

                if (re->n_forget_groups > 0 &&
                    first_group(md, re->forget_groups, re->n_forget_groups, above, shift, &a, &b)) {
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

        if (ret) {
                *ret = (MatchResult) { .addr = addr, .regex_index = (int) i };
                if (re->n_tag_groups > 0)
                        tags_fill(re, md, s, above, shift, ret->tags, &ret->n_tags);
                if (n_ptags > 0)
                        tags_merge(ret, ptags, n_ptags);
        }
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
