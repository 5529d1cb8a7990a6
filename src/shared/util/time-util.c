/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "prelude.h"

usec_t now_usec(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return 0;
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000;
}

static const struct {
        const char *name;
        int64_t sec;
} units[] = {
        /* longest first, so that "mo" wins over "m" and "min" over "m" */
        { "months", 2592000 }, { "month", 2592000 }, { "mo", 2592000 },
        { "weeks", 604800 }, { "week", 604800 }, { "w", 604800 },
        { "days", 86400 }, { "day", 86400 }, { "d", 86400 },
        { "hours", 3600 }, { "hour", 3600 }, { "h", 3600 },
        { "minutes", 60 }, { "minute", 60 }, { "mins", 60 }, { "min", 60 }, { "m", 60 },
        { "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 }, { "s", 1 },
        { "years", 31536000 }, { "year", 31536000 }, { "y", 31536000 },
};

int parse_duration_sec(const char *s, int64_t *ret_sec) {
        int64_t total = 0;
        bool neg = false, any = false;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        if (*s == '-') {
                neg = true;
                s++;
        }
        while (*s) {
                int64_t v = 0, mult = 1;
                bool digits = false;

                while (isspace((unsigned char) *s))
                        s++;
                if (!*s)
                        break;
                while (isdigit((unsigned char) *s)) {
                        if (v > (INT64_MAX - 9) / 10)
                                return -ERANGE;
                        v = v * 10 + (*s - '0');
                        s++;
                        digits = true;
                }
                if (!digits)
                        return -EINVAL;
                while (isspace((unsigned char) *s))
                        s++;
                if (isalpha((unsigned char) *s)) {
                        size_t i;
                        for (i = 0; i < ELEMENTSOF(units); i++) {
                                size_t l = strlen(units[i].name);
                                if (strncasecmp(s, units[i].name, l) == 0 && !isalpha((unsigned char) s[l]))
                                        break;
                        }
                        if (i >= ELEMENTSOF(units))
                                return -EINVAL;
                        mult = units[i].sec;
                        s += strlen(units[i].name);
                }
                if (v > (INT64_MAX - total) / mult)
                        return -ERANGE;
                total += v * mult;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret_sec = neg ? -total : total;
        return 0;
}

char *format_duration_sec(int64_t sec, char *buf, size_t len) {
        static const struct { char c; int64_t n; } f[] = {
                { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
        };
        size_t o = 0;

        if (sec < 0) {
                snprintf(buf, len, "permanent");
                return buf;
        }
        if (sec == 0) {
                snprintf(buf, len, "0s");
                return buf;
        }
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(f) && o < len; i++)
                if (sec >= f[i].n) {
                        int n = snprintf(buf + o, len - o, "%lld%c", (long long) (sec / f[i].n), f[i].c);
                        if (n < 0)
                                break;
                        o += (size_t) n;
                        sec %= f[i].n;
                }
        return buf;
}
