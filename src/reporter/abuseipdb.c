/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "abuseipdb.h"
#include "util/macro.h"

static const char *const outcome_table[_REPORT_OUTCOME_MAX] = {
        [REPORT_ACCEPTED] = "accepted",       [REPORT_DUPLICATE] = "duplicate",
        [REPORT_RATE_LIMITED] = "rate-limited", [REPORT_RETRY] = "retry",
        [REPORT_REJECTED] = "rejected",
};

const char *report_outcome_to_string(ReportOutcome o) {
        return o >= 0 && o < _REPORT_OUTCOME_MAX ? outcome_table[o] : NULL;
}

usec_t abuseipdb_backoff(unsigned attempt, double rnd) {
        usec_t d = ABUSEIPDB_BACKOFF_BASE_USEC;

        for (unsigned i = 0; i < attempt && d < ABUSEIPDB_BACKOFF_MAX_USEC; i++)
                d *= 2;
        d = MIN(d, ABUSEIPDB_BACKOFF_MAX_USEC);
        if (rnd < 0 || rnd >= 1)
                rnd = 0;
        return d / 2 + (usec_t) ((double) (d / 2) * rnd);
}

/* printable ASCII only: the detail is written to the journal */
static void copy_detail(char *dst, size_t size, const char *src) {
        size_t n = 0;

        for (; src && *src && n + 1 < size; src++)
                dst[n++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
        dst[n] = 0;
}

/* Retry-After: seconds (or an HTTP date, which we treat as absent); X-RateLimit-Reset: epoch. */
static usec_t header_time(const char *retry_after, const char *reset, usec_t now) {
        char *end;
        unsigned long long v;

        if (retry_after && *retry_after) {
                errno = 0;
                v = strtoull(retry_after, &end, 10);
                if (errno == 0 && end != retry_after && *end == 0 && v <= 7 * 86400)
                        return now + v * USEC_PER_SEC;
        }
        if (reset && *reset) {
                errno = 0;
                v = strtoull(reset, &end, 10);
                if (errno == 0 && end != reset && *end == 0 && v * USEC_PER_SEC > now &&
                    v * USEC_PER_SEC - now <= 7 * 86400 * USEC_PER_SEC)
                        return v * USEC_PER_SEC;
        }
        return 0;
}

void abuseipdb_classify(long http_status, const char *body, size_t len, const char *retry_after,
                        const char *ratelimit_reset, usec_t now, unsigned attempt, double rnd, ReportReply *ret) {
        json_t *root = NULL, *err0 = NULL;
        const char *detail = NULL, *param = NULL;
        usec_t hdr;

        *ret = (ReportReply) { .score = -1 };
        if (body && len > 0) {
                root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
                if (json_is_object(root)) {
                        json_t *data = json_object_get(root, "data");
                        json_t *errors = json_object_get(root, "errors");
                        json_t *s = json_object_get(data, "abuseConfidenceScore");

                        if (json_is_integer(s))
                                ret->score = (int) json_integer_value(s);
                        if (json_is_array(errors) && json_array_size(errors) > 0)
                                err0 = json_array_get(errors, 0);
                        detail = json_string_value(json_object_get(err0, "detail"));
                        param = json_string_value(json_object_get(json_object_get(err0, "source"), "parameter"));
                }
        }
        hdr = header_time(retry_after, ratelimit_reset, now);

        if (http_status >= 200 && http_status < 300) {
                if (ret->score >= 0 || !err0) {
                        ret->outcome = REPORT_ACCEPTED;
                        copy_detail(ret->detail, sizeof ret->detail, "accepted");
                } else {
                        ret->outcome = REPORT_REJECTED;
                        copy_detail(ret->detail, sizeof ret->detail, detail ?: "error in a 2xx reply");
                }
        } else if (http_status == 429) {
                copy_detail(ret->detail, sizeof ret->detail, detail ?: "429 Too Many Requests");
                if ((detail && strstr(detail, "once in 15 minutes")) || (param && strcmp(param, "ip") == 0))
                        ret->outcome = REPORT_DUPLICATE;
                else if (detail && strcasestr(detail, "daily rate limit")) {
                        ret->outcome = REPORT_RATE_LIMITED;
                        /* no usable header: wait for the next UTC day */
                        ret->retry_at = hdr ?: (now / (86400 * USEC_PER_SEC) + 1) * 86400 * USEC_PER_SEC;
                } else {
                        ret->outcome = REPORT_RETRY;
                        ret->retry_at = hdr ?: now + abuseipdb_backoff(attempt, rnd);
                }
        } else if (http_status >= 400 && http_status < 500) {
                ret->outcome = REPORT_REJECTED;
                if (detail)
                        copy_detail(ret->detail, sizeof ret->detail, detail);
                else
                        snprintf(ret->detail, sizeof ret->detail, "HTTP %ld", http_status);
        } else {
                ret->outcome = REPORT_RETRY;
                ret->retry_at = now + abuseipdb_backoff(attempt, rnd);
                if (http_status == 0)
                        copy_detail(ret->detail, sizeof ret->detail, "no reply");
                else
                        snprintf(ret->detail, sizeof ret->detail, "HTTP %ld", http_status);
                if (hdr > ret->retry_at)
                        ret->retry_at = hdr;
        }
        json_decref(root);
}

static bool is_word_end(char c) {
        return c == 0 || isspace((unsigned char) c) || c == ',' || c == ';' || c == ')' || c == '\'' || c == '"';
}

/* Replaces line[at, at+n) by rep; keeps it NUL-terminated within size. Returns the new length. */
static size_t splice(char *line, size_t len, size_t size, size_t at, size_t n, const char *rep) {
        size_t r = strlen(rep);

        if (len - n + r + 1 > size)
                r = 0; /* no room: just cut the word out */
        memmove(line + at + r, line + at + n, len - at - n + 1);
        memcpy(line + at, rep, r);
        return len - n + r;
}

size_t abuseipdb_sanitize(char *line, size_t len, size_t size, const char *const *names, const char *const *addrs) {
        static const char *const keys[] = { "user=", "user ", "for ", "account ", "login=" };

        line[len] = 0;
        /* user names first: a user may be called like the host */
        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t kl = strlen(keys[k]), w;
                        char *p, q;

                        if (i + kl > len || strncasecmp(line + i, keys[k], kl) != 0)
                                continue;
                        /* "ruser=" and "user=" alike; but "for" must start a word */
                        if (keys[k][0] == 'f' && i > 0 && !isspace((unsigned char) line[i - 1]))
                                continue;
                        p = line + i + kl;
                        if (keys[k][0] == 'f' && (strncasecmp(p, "invalid user ", 13) == 0 ||
                                                  strncasecmp(p, "illegal user ", 13) == 0 ||
                                                  strncasecmp(p, "user ", 5) == 0))
                                continue;
                        /* a quoted name ("for \"erin\"", user='x y') up to its closing quote */
                        q = (*p == '"' || *p == '\'') ? *p : 0;
                        if (q)
                                p++;
                        w = 0;
                        while (p[w] && (q ? p[w] != q : !is_word_end(p[w])))
                                w++;
                        if (w == 0 || (w == 6 && strncmp(p, "[user]", 6) == 0))
                                continue;
                        len = splice(line, len, size, (size_t) (p - line), w, "[user]");
                        i += kl;
                        break;
                }
        for (int pass = 0; pass < 2; pass++) {
                const char *const *l = pass == 0 ? addrs : names;
                const char *rep = pass == 0 ? "[self]" : "[host]";

                for (; l && *l; l++) {
                        size_t n = strlen(*l);
                        char *p;

                        if (n == 0)
                                continue;
                        for (size_t from = 0; (p = strcasestr(line + from, *l));) {
                                size_t at = (size_t) (p - line);
                                bool edge_l = at == 0 || !(isalnum((unsigned char) line[at - 1]) || line[at - 1] == '.' ||
                                                          line[at - 1] == ':'),
                                     edge_r = !(isalnum((unsigned char) p[n]) || p[n] == ':' ||
                                                (p[n] == '.' && isalnum((unsigned char) p[n + 1])));
                                if (edge_l && edge_r) {
                                        len = splice(line, len, size, at, n, rep);
                                        from = at + strlen(rep);
                                } else
                                        from = at + 1;
                                if (from >= len)
                                        break;
                        }
                }
        }
        return len;
}

static int fput_cut(FILE *f, const char *s) {
        return fputs(s, f) < 0 ? -EIO : 0;
}

char *abuseipdb_comment(const char *tmpl, const char *jail, unsigned failures, int64_t findtime_sec,
                        const char *ip, const char *lines) {
        const char *t = tmpl ?: "%(jail)s: %(failures)s failures in %(findtime)s\\n%(lines)s";
        char *out = NULL, num[32];
        size_t size = 0, n;
        FILE *f;

        f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        while (*t) {
                if (t[0] == '\\' && t[1] == 'n') {
                        fputc('\n', f);
                        t += 2;
                } else if (strncmp(t, "%(jail)s", 8) == 0) {
                        fput_cut(f, jail ?: "");
                        t += 8;
                } else if (strncmp(t, "%(failures)s", 12) == 0) {
                        fprintf(f, "%u", failures);
                        t += 12;
                } else if (strncmp(t, "%(findtime)s", 12) == 0) {
                        if (findtime_sec % 86400 == 0)
                                snprintf(num, sizeof num, "%lldd", (long long) findtime_sec / 86400);
                        else if (findtime_sec % 3600 == 0)
                                snprintf(num, sizeof num, "%lldh", (long long) findtime_sec / 3600);
                        else if (findtime_sec % 60 == 0)
                                snprintf(num, sizeof num, "%lldm", (long long) findtime_sec / 60);
                        else
                                snprintf(num, sizeof num, "%llds", (long long) findtime_sec);
                        fput_cut(f, num);
                        t += 12;
                } else if (strncmp(t, "%(ip)s", 6) == 0) {
                        fput_cut(f, ip ?: "");
                        t += 6;
                } else if (strncmp(t, "%(lines)s", 9) == 0) {
                        fput_cut(f, lines ?: "");
                        t += 9;
                } else
                        fputc(*t++, f);
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        /* trailing blank lines (no evidence) help nobody */
        n = strlen(out);
        while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
                out[--n] = 0;
        if (n > ABUSEIPDB_COMMENT_MAX) {
                n = ABUSEIPDB_COMMENT_MAX;
                while (n > 0 && ((unsigned char) out[n] & 0xc0) == 0x80)
                        n--;
                out[n] = 0;
        }
        return out;
}

char *abuseipdb_timestamp(usec_t t, char *buf, size_t len) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&s, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%S+00:00", &tm) == 0)
                snprintf(buf, len, "1970-01-01T00:00:00+00:00");
        return buf;
}

int abuseipdb_parse_check(const char *body, size_t len, CheckInfo *ret) {
        json_t *root, *data, *v;

        *ret = (CheckInfo) { .score = -1, .total_reports = -1 };
        root = json_loadb(body, len, 0, NULL);
        data = json_object_get(root, "data");
        if (!json_is_object(data)) {
                json_t *e = json_array_get(json_object_get(root, "errors"), 0);
                copy_detail(ret->detail, sizeof ret->detail,
                            json_string_value(json_object_get(e, "detail")) ?: "reply without data");
                json_decref(root);
                return -EINVAL;
        }
        if (json_is_integer(v = json_object_get(data, "abuseConfidenceScore")))
                ret->score = (int) json_integer_value(v);
        if (json_is_integer(v = json_object_get(data, "totalReports")))
                ret->total_reports = (long) json_integer_value(v);
        copy_detail(ret->country, sizeof ret->country, json_string_value(json_object_get(data, "countryCode")) ?: "-");
        copy_detail(ret->usage, sizeof ret->usage, json_string_value(json_object_get(data, "usageType")) ?: "-");
        copy_detail(ret->last_reported, sizeof ret->last_reported,
                    json_string_value(json_object_get(data, "lastReportedAt")) ?: "never");
        json_decref(root);
        return 0;
}
