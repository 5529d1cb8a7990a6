/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prelude.h"
#include "util/string-util.h"

char *escape_bytes(const char *in, size_t len, char *out, size_t outlen) {
        size_t o = 0;

        if (outlen == 0)
                return out;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) in[i];
                char tmp[5];
                size_t n;

                if (c == '\\' || c == '\'' || c == '"') {
                        tmp[0] = '\\';
                        tmp[1] = (char) c;
                        n = 2;
                } else if (c >= 0x20 && c < 0x7f) {
                        tmp[0] = (char) c;
                        n = 1;
                } else {
                        snprintf(tmp, sizeof tmp, "\\x%02x", c);
                        n = 4;
                }
                if (o + n + 4 > outlen) {
                        if (outlen >= 4) {
                                o = MIN(o, outlen - 4);
                                memcpy(out + o, "...", 3);
                                o += 3;
                        }
                        break;
                }
                memcpy(out + o, tmp, n);
                o += n;
        }
        out[MIN(o, outlen - 1)] = 0;
        return out;
}

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **p = l; *p; p++)
                free(*p);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;

        while (l && l[n])
                n++;
        return n;
}

int strv_extend(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl;
        char *c;

        c = strdup(s);
        if (!c)
                return -ENOMEM;
        nl = realloc(*l, (n + 2) * sizeof(char *));
        if (!nl) {
                free(c);
                return -ENOMEM;
        }
        nl[n] = c;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

char **strv_copy(char *const *l) {
        char **v = NULL;

        for (; l && *l; l++)
                if (strv_extend(&v, *l) < 0)
                        return strv_free(v);
        return v;
}

char *strstrip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                memmove(s, s + 1, strlen(s));
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

char *memdup_str(const char *p, size_t n) {
        char *s = malloc(n + 1);

        if (!s)
                return NULL;
        memcpy(s, p, n);
        s[n] = 0;
        return s;
}

uint64_t fnv1a64(const void *p, size_t n) {
        const unsigned char *b = p;
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * UINT64_C(1099511628211);
        return h;
}
