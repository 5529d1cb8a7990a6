/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The DatePattern object and the search for a line's date: automatic detection (date-auto.c),
 * compiled templates (date-pattern.c), or a pattern of plain text and directives, which the hand
 * matcher below reads without PCRE2. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date-internal.h"

/* Matches the fail2ban-style pattern at s[i]. Returns true with *ret_end. */
static bool pattern_at(const DatePattern *p, const char *s, size_t len, size_t i, int64_t now_sec, int64_t *ret_epoch,
                       size_t *ret_end) {
        Fields f = { .year = -1, .mon = -1, .mday = -1, .yday = -1 };
        const char *q = p->spec;
        int v;

        for (; *q; q++) {
                if (*q == '\\' && q[1]) {
                        q++;
                        if (!at(s, len, i, *q))
                                return false;
                        i++;
                        continue;
                }
                if (*q == '.') { /* regex "any character" */
                        if (i >= len)
                                return false;
                        i++;
                        continue;
                }
                if (*q != '%') {
                        if (!at(s, len, i, *q))
                                return false;
                        i++;
                        continue;
                }
                q++;
                switch (*q) {
                case 'Y':
                        if (!digits(s, len, &i, 4, &f.year))
                                return false;
                        break;
                case 'y':
                        if (!digits(s, len, &i, 2, &v))
                                return false;
                        f.year = 2000 + v;
                        break;
                case 'm':
                        if (!num(s, len, &i, 2, &v) || v < 1 || v > 12)
                                return false;
                        f.mon = v - 1;
                        break;
                case 'e':
                        if (at(s, len, i, ' '))
                                i++;
                        __attribute__((fallthrough));
                case 'd':
                        if (!num(s, len, &i, 2, &f.mday) || f.mday < 1)
                                return false;
                        break;
                case 'j':
                        if (!num(s, len, &i, 3, &f.yday) || f.yday < 1 || f.yday > 366)
                                return false;
                        break;
                case 'H':
                        if (!num(s, len, &i, 2, &f.hour))
                                return false;
                        break;
                case 'M':
                        if (!num(s, len, &i, 2, &f.min))
                                return false;
                        break;
                case 'S':
                        if (!num(s, len, &i, 2, &f.sec))
                                return false;
                        break;
                case 'f':
                        if (!num(s, len, &i, 9, &v))
                                return false;
                        break;
                case 'b':
                case 'B':
                case 'h':
                        if ((f.mon = date_month_from_name(s, len, &i)) < 0)
                                return false;
                        break;
                case 'a':
                case 'A': {
                        size_t k = i;
                        while (k < len && isalpha((unsigned char) s[k]))
                                k++;
                        if (k - i < 3)
                                return false;
                        i = k;
                        break;
                }
                case 'z':
                case 'Z':
                        if (!date_parse_zone(s, len, &i, &f.offset))
                                return false;
                        f.zone = true;
                        break;
                case '%':
                        if (!at(s, len, i, '%'))
                                return false;
                        i++;
                        break;
                default:
                        return false; /* rejected by date_pattern_new() */
                }
        }
        if (!date_fields_to_epoch(p, &f, now_sec, ret_epoch))
                return false;
        *ret_end = i;
        return true;
}

int date_pattern_new(const char *spec, const char *tz, DatePattern **ret) {
        char why[256];

        return date_pattern_new_why(spec, tz, ret, why, sizeof why);
}

int date_pattern_new_why(const char *spec, const char *tz, DatePattern **ret, char *why, size_t whylen) {
        DatePattern *p;
        const char *s = spec;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (date_parse_tz(tz, &p->has_tz, &p->tz_offset) < 0) {
                snprintf(why, whylen, "logtimezone '%.60s' is not a zone (UTC, UTC+0200, +02:00, -0500)", tz);
                goto invalid;
        }
        if (s && *s) {
                if (strncmp(s, "{^LN-BEG}", 9) == 0) {
                        p->anchored = true;
                        s += 9;
                } else if (*s == '^') {
                        p->anchored = true;
                        s++;
                }
                if (date_needs_templates(spec)) {
                        int r = date_templates_new(p, spec, why, whylen);
                        if (r < 0) {
                                p = date_pattern_free(p);
                                return r;
                        }
                } else if (*s == 0)
                        ; /* "{^LN-BEG}" or "^" alone: automatic detection, at the line start only */
                else if (strcmp(s, "{NONE}") == 0)
                        p->none = true;
                else if (keyword(s, "EPOCH")) /* fail2ban's filters write "Epoch" too */
                        p->epoch = true;
                else {
                        /* plain text and the directives the hand matcher reads (date_needs_templates()) */
                        p->spec = strdup(s);
                        if (!p->spec) {
                                free(p);
                                return -ENOMEM;
                        }
                }
        }
        *ret = p;
        return 0;
invalid:
        free(p);
        return -EINVAL;
}

DatePattern *date_pattern_free(DatePattern *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_templates; i++)
                date_template_done(&p->templates[i]);
        pcre2_match_data_free(p->md);
        free(p->spec);
        free(p);
        return NULL;
}

int date_find(const DatePattern *p, const char *line, size_t len, int64_t now_sec, int64_t *ret_epoch,
              size_t *ret_start, size_t *ret_end) {
        size_t lim = MIN(len, DATE_SEARCH_MAX), end = 0, start = 0;
        int64_t epoch = 0;
        bool found = false;

        if (!line)
                return 0;
        if (p && p->none)
                return 0;
        if (p && p->n_templates > 0) {
                for (size_t i = 0; i < p->n_templates && !found; i++)
                        found = date_template_find(p, &p->templates[i], p->md, line, len, now_sec, &epoch, &start,
                                                   &end) > 0;
        } else if (p && (p->spec || p->epoch)) {
                for (size_t i = 0; i < (p->anchored ? MIN(len, 1) : lim) && !found; i++) {
                        if (i > 0 && is_alnum(line[i - 1]) && is_alnum(line[i]))
                                continue;
                        found = p->epoch ? date_parse_epoch(line, len, i, &epoch, &end)
                                         : pattern_at(p, line, len, i, now_sec, &epoch, &end);
                        start = i;
                }
        } else
                found = date_auto_find(p, line, len, now_sec, &epoch, &start, &end);
        if (!found)
                return 0;
        *ret_epoch = epoch;
        *ret_start = start;
        *ret_end = end;
        return 1;
}

size_t date_strip(const DatePattern *p, const char *line, size_t len, int64_t now_sec, char *out, size_t outlen,
                  const char **ret_text, bool *ret_dated, int64_t *ret_epoch) {
        size_t start, end, n;

        *ret_dated = false;
        *ret_text = line;
        if (date_find(p, line, len, now_sec, ret_epoch, &start, &end) <= 0)
                return len;
        *ret_dated = true;
        if (start == 0) {
                *ret_text = line + end;
                return len - end;
        }
        /* cut the date out of the middle: prefix + suffix */
        n = MIN(start, outlen - 1);
        memmove(out, line, n);
        if (len - end > outlen - 1 - n)
                end = len - (outlen - 1 - n);
        memmove(out + n, line + end, len - end);
        n += len - end;
        out[n] = 0;
        *ret_text = out;
        return n;
}
