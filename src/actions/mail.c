/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "mail.h"
#include "util/macro.h"
#include "util/string-util.h"

void mail_hostname(char *buf, size_t len) {
        if (gethostname(buf, len) < 0 || !buf[0]) {
                snprintf(buf, len, "localhost");
                return;
        }
        buf[len - 1] = 0;
        for (const char *p = buf; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '.')) {
                        snprintf(buf, len, "localhost");
                        return;
                }
}

/* A jail name in a header: printable ASCII, anything else '?' (names come from the admin's
 * section headers, which hold no line breaks, but a header is no place to trust that). */
static void put_header_text(FILE *f, const char *s) {
        for (; *s; s++)
                fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

static void put_duration(FILE *f, int64_t sec) {
        if (sec < 0) {
                fputs("permanent", f);
                return;
        }
        if (sec >= 86400 && sec % 86400 == 0)
                fprintf(f, "%" PRId64 "d", sec / 86400);
        else if (sec >= 3600 && sec % 3600 == 0)
                fprintf(f, "%" PRId64 "h", sec / 3600);
        else if (sec >= 60 && sec % 60 == 0)
                fprintf(f, "%" PRId64 "m", sec / 60);
        else
                fprintf(f, "%" PRId64 "s", sec);
}

static void put_headers(FILE *f, const MailBan *b, const char *host, time_t when) {
        char date[64];
        struct tm tm;
        uint64_t rnd = 0;

        (void) getrandom(&rnd, sizeof rnd, GRND_NONBLOCK);
        if (!localtime_r(&when, &tm) || strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
                snprintf(date, sizeof date, "Thu, 01 Jan 1970 00:00:00 +0000");
        fprintf(f, "Date: %s\n", date);
        fprintf(f, "Message-ID: <nftjail.%lld.%016llx@%s>\n", (long long) when, (unsigned long long) rnd, host);
        fprintf(f, "From: \"%s\" <%s>\n", b->sendername, b->sender);
        fprintf(f, "To: %s\n", b->dest);
}

static void put_mime(FILE *f) {
        fputs("MIME-Version: 1.0\n"
              "Content-Type: text/plain; charset=UTF-8\n"
              "Content-Transfer-Encoding: 8bit\n"
              "Auto-Submitted: auto-generated\n"
              "\n", f);
}

/* Body text from outside (evidence, whois): printable ASCII and tabs and line breaks only,
 * each line indented and cut at MAIL_LINE_MAX, at most max_lines lines. */
static void put_indented(FILE *f, const char *s, unsigned max_lines) {
        unsigned n = 0;

        while (*s && n < max_lines) {
                size_t len = strcspn(s, "\n"), k = 0;

                fputs("    ", f);
                for (; k < len && k < MAIL_LINE_MAX; k++)
                        fputc((s[k] >= 0x20 && s[k] < 0x7f) || s[k] == '\t' ? s[k] : '?', f);
                if (len > MAIL_LINE_MAX)
                        fputs(" [cut]", f);
                fputc('\n', f);
                n++;
                s += len;
                if (*s == '\n')
                        s++;
        }
        if (*s)
                fputs("    [more lines left out]\n", f);
}

static int finish(FILE *f, char **buf, size_t *size, char **ret, size_t *ret_len) {
        if (fclose(f) != 0) {
                free(*buf);
                return -ENOMEM;
        }
        *ret = *buf;
        *ret_len = *size;
        return 0;
}

const char *mail_ban_tag(const MailBan *b, const char *name) {
        for (char *const *t = b->tags; t && t[0] && t[1]; t += 2)
                if (strcmp(t[0], name) == 0)
                        return t[1];
        return NULL;
}

int mail_compose_ban(const MailBan *b, const char *host, const char *whois, char **ret, size_t *ret_len) {
        char *buf = NULL, when[64];
        size_t size = 0;
        struct tm tm;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        put_headers(f, b, host, b->when);
        fputs("Subject: [nftjail] ", f);
        put_header_text(f, b->jail);
        fprintf(f, ": banned %s from %s\n", b->addr, host);
        put_mime(f);

        if (!localtime_r(&b->when, &tm) || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
                snprintf(when, sizeof when, "%lld", (long long) b->when);
        fprintf(f, "nftjail on %s banned %s in jail '", host, b->addr);
        put_header_text(f, b->jail);
        fprintf(f, "' at %s.\n\n", when);
        fprintf(f, "Failures: %u (maxretry %u) within ", b->failures, b->maxretry);
        put_duration(f, b->findtime_sec);
        fputs(" (findtime)\nBan time: ", f);
        put_duration(f, b->bantime_sec);
        fputc('\n', f);
        if (mail_ban_tag(b, "F-USER") && *mail_ban_tag(b, "F-USER")) {
                /* the client's text: escaped and bounded, one line, never in a header */
                const char *u = mail_ban_tag(b, "F-USER");
                char esc[MAIL_LINE_MAX * 4 + 8];

                fprintf(f, "User name given by the client (escaped):\n    %s\n",
                        escape_bytes(u, strnlen(u, MAIL_LINE_MAX), esc, sizeof esc));
        }
        if (b->lines) {
                fputs("\nMatched lines (escaped, the newest first):\n", f);
                if (b->evidence && *b->evidence)
                        put_indented(f, b->evidence, MAIL_LINES_MAX);
                else
                        fputs("    (none kept)\n", f);
        }
        if (whois && *whois) {
                fputs("\nwhois output:\n", f);
                put_indented(f, whois, 200);
        }
        fputs("\n-- \nnftjail\n", f);
        return finish(f, &buf, &size, ret, ret_len);
}

int mail_digest_line(const MailBan *b, char **ret) {
        char when[32];
        struct tm tm;

        if (!localtime_r(&b->when, &tm) || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(when, sizeof when, "%lld", (long long) b->when);
        return asprintf(ret, "    %s  %s  %u failures\n", when, b->addr, b->failures) < 0 ? -ENOMEM : 0;
}

int mail_compose_digest(const MailBan *tmpl, const char *lines, unsigned n, unsigned dropped, const char *host,
                        char **ret, size_t *ret_len) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        put_headers(f, tmpl, host, time(NULL));
        fputs("Subject: [nftjail] ", f);
        put_header_text(f, tmpl->jail);
        fprintf(f, ": %u more bans from %s\n", n + dropped, host);
        put_mime(f);
        fprintf(f, "nftjail on %s banned %u more addresses in jail '", host, n + dropped);
        put_header_text(f, tmpl->jail);
        fputs("' after its mail rate was reached:\n\n", f);
        fputs(lines ? lines : "", f);
        if (dropped)
                fprintf(f, "    ... and %u more not listed\n", dropped);
        fputs("\n-- \nnftjail\n", f);
        return finish(f, &buf, &size, ret, ret_len);
}
