/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The path of a log file's bytes to a failure: the source-file line splitter (UTF-8 as is, and
 * latin-1 converted; lines over SOURCE_LINE_MAX cut), the date cut out (automatic detection, as
 * for the shipped filters), then filter_match() or filter_match_cut() of the shipped sshd filter
 * (modes normal and aggressive) and proxmox filter. The splitter must give the same lines whether
 * the input comes at once or a few bytes at a time. */
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "date.h"
#include "fuzz-util.h"
#include "match.h"
#include "source-file.h"

static const char *const specs[] = { "sshd", "sshd[mode=aggressive]", "proxmox" };
static Filter *filters[3];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        for (size_t i = 0; i < 3; i++) {
                FilterConf fc = {};
                ConfDiags d = {};
                FilterError e = {};

                if (filter_conf_load(FUZZ_SRCDIR "/conf", specs[i], &fc, &d) < 0 || filter_new(&fc, &filters[i], &e) < 0) {
                        fprintf(stderr, "fuzz-match: cannot load the shipped filter %s\n", specs[i]);
                        abort();
                }
                filter_conf_done(&fc);
                conf_diags_done(&d);
        }
        return 0;
}

typedef struct Seen {
        uint64_t hash;
        size_t lines;
        bool match;
} Seen;

static char strip[SOURCE_LINE_MAX + 1];

static void on_line(const char *line, size_t len, bool cut, void *userdata) {
        Seen *seen = userdata;
        const char *text;
        bool dated;
        int64_t epoch;
        size_t n;

        if (len > SOURCE_LINE_MAX || line[len] != 0 || memchr(line, '\n', len))
                abort();
        seen->lines++;
        seen->hash = (seen->hash ^ len ^ (uint64_t) cut) * 1099511628211ULL;
        for (size_t i = 0; i < len; i++)
                seen->hash = (seen->hash ^ (unsigned char) line[i]) * 1099511628211ULL;
        if (!seen->match)
                return;

        n = date_strip(NULL, line, len, 1764000000, strip, sizeof strip, &text, &dated, &epoch);
        if (n > len)
                abort();
        for (size_t i = 0; i < 3; i++) {
                MatchResult m = { .regex_index = -1 };
                int r = cut ? filter_match_cut(filters[i], text, n, &m) : filter_match(filters[i], text, n, &m);

                if (r < 0)
                        continue; /* an error (out of memory); MATCH_LIMIT falls through: neither is a fault */
                if (r == MATCH_FAILURE || r == MATCH_IGNORED) {
                        char a[ADDR_STRLEN];
                        Addr back;

                        if (m.regex_index < 0 || (size_t) m.regex_index >= filter_n_failregex(filters[i]) ||
                            addr_from_string(addr_to_string(&m.addr, a, sizeof a), &back) < 0 || !addr_equal(&m.addr, &back))
                                abort();
                        /* the <F-*> groups: bounded, and a copy is a string of at most MATCH_TAG_VALUE_MAX */
                        if (m.n_tags > MATCH_TAGS_MAX)
                                abort();
                        for (unsigned k = 0; k < m.n_tags; k++) {
                                char v[MATCH_TAG_VALUE_MAX + 1];
                                size_t vn = match_tag_copy(&m.tags[k], v, sizeof v, NULL);

                                if (!m.tags[k].name || vn > MATCH_TAG_VALUE_MAX || strlen(v) != vn ||
                                    match_tag_find(&m, m.tags[k].name) == NULL)
                                        abort();
                        }
                }
        }
}

static LineSplitter whole, chunked;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *s = (const char *) data;

        for (int latin1 = 0; latin1 <= 1; latin1++) {
                Seen a = { .hash = 14695981039346656037ULL, .match = true };
                Seen b = { .hash = 14695981039346656037ULL };
                size_t held = 0, step = 1;

                whole.latin1 = chunked.latin1 = latin1;
                line_splitter_reset(&whole);
                line_splitter_reset(&chunked);
                line_splitter_feed(&whole, s, size, on_line, &a);
                line_splitter_flush(&whole, on_line, &a);
                for (size_t i = 0; i < size; i += step, step = step % 7 + 1)
                        held = line_splitter_feed(&chunked, s + i, MIN(step, size - i), on_line, &b);
                if (held > size)
                        abort();
                line_splitter_flush(&chunked, on_line, &b);
                if (a.lines != b.lines || a.hash != b.hash)
                        abort();
        }
        return 0;
}
