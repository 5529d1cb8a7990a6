/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dates: the automatic detection and fail2ban datepatterns. The input is "SPEC\0TZ\0LINES" (the
 * datepattern, one pattern per line, and the logtimezone); without a NUL it is all lines, with
 * automatic detection. Each line goes through date_parse_prefix(), date_find() and date_strip()
 * with the automatic detection and with the pattern, whose results must stay inside the line. */
#include <stdint.h>

#include "date.h"
#include "fuzz-util.h"

static char out[65536 + 1];

static void one_line(const DatePattern *p, const char *line, size_t len) {
        int64_t epoch;
        size_t start, end, n;
        const char *text;
        bool dated;

        if (date_parse_prefix(line, len, 1764000000, &epoch, &end) == 1 && end > len)
                abort();
        if (date_find(p, line, len, 1764000000, &epoch, &start, &end) == 1 && (start > end || end > len))
                abort();
        n = date_strip(p, line, len, 1764000000, out, len + 1, &text, &dated, &epoch);
        if (n > len)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        const char *spec = NULL, *tz = NULL, *lines, *end;
        DatePattern *p = NULL;
        char why[256];

        if (size > sizeof out - 1)
                return -1;
        s = fuzz_strndup(data, size);
        end = s + size;
        lines = s;
        if (memchr(s, 0, size)) {
                spec = s;
                lines = s + strlen(s) + 1;
                if (lines < end && memchr(lines, 0, (size_t) (end - lines))) {
                        tz = lines;
                        lines += strlen(lines) + 1;
                }
                if (date_pattern_new_why(spec, tz, &p, why, sizeof why) < 0)
                        p = NULL;
        }

        while (lines < end) {
                const char *nl = memchr(lines, '\n', (size_t) (end - lines));
                size_t len = nl ? (size_t) (nl - lines) : (size_t) (end - lines);
                /* each line in a buffer of its own, so that a read past its end is seen */
                _cleanup_free_ char *line = fuzz_strndup((const uint8_t *) lines, len);

                one_line(NULL, line, len);
                if (p)
                        one_line(p, line, len);
                lines += len + 1;
        }
        date_pattern_free(p);
        return 0;
}
