/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mail actions of fail2ban jails (sendmail-*, mail-*) as settings of the built-in mailer.
 * Every value here ends up in a header of a mail, so each is checked to a strict alphabet. */
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"

#define MAIL_ADDR_MAX 254U
#define MAIL_DEST_MAX 1024U
#define MAIL_NAME_MAX 64U
#define MAIL_RATE_MAX 1000UL
#define MAIL_PERIOD_MAX (7UL * 86400UL)

bool action_is_mail(const char *n) {
        return strncmp(n, "sendmail", 8) == 0 || strcmp(n, "mail") == 0 || strncmp(n, "mail-", 5) == 0;
}

static bool addr_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr(".-_+=%", c);
}

/* local@domain or a bare local name (sendmail delivers those locally), from a small alphabet:
 * no blanks, quotes, angle brackets, commas, CR or LF. */
static bool mail_addr_ok(const char *s, size_t n) {
        const char *at = memchr(s, '@', n);

        if (n == 0 || n > MAIL_ADDR_MAX || s[0] == '-' || s[0] == '.')
                return false;
        if (at && (at == s || (size_t) (at - s) == n - 1 || memchr(at + 1, '@', n - (size_t) (at - s) - 1)))
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] != '@' && !addr_char(s[i]))
                        return false;
        return true;
}

static bool mail_dest_ok(const char *s) {
        size_t len = strlen(s);

        if (len == 0 || len > MAIL_DEST_MAX)
                return false;
        for (const char *p = s;;) {
                const char *e;

                while (*p == ' ')
                        p++;
                e = p + strcspn(p, ", ");
                if (!mail_addr_ok(p, (size_t) (e - p)))
                        return false;
                p = e;
                while (*p == ' ')
                        p++;
                if (!*p)
                        return true;
                if (*p != ',')
                        return false;
                p++;
        }
}

/* Printable ASCII without the characters that would end or escape a quoted display name. */
static bool mail_name_ok(const char *s) {
        size_t len = strlen(s);

        if (len == 0 || len > MAIL_NAME_MAX)
                return false;
        for (; *s; s++)
                if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
                        return false;
        return true;
}

static int jail_uint_opt(Scope *sc, ConfDiags *d, const char *jail, const char *key, unsigned long max, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        char qb[128];
        unsigned long v;
        Found w;
        int r;

        r = scope_get_str(sc, d, key, &s, &w);
        if (r < 0)
                return r;
        if (!s)
                return 0;
        if (parse_uint(s, max, &v) < 0 || v == 0) {
                r = ini_diag(d, w.file, w.line, true, "jail '%s': '%s': '%s' is not a number in 1..%lu", jail, key,
                             q(s, qb, sizeof qb), max);
                return r < 0 ? r : 0;
        }
        *ret = (unsigned) v;
        return 0;
}

int jail_mail_action(JailConf *j, Scope *sc, ConfDiags *d, const char *name, const Opt *opts, size_t n_opts,
                     const char *file, unsigned line) {
        const char *dest = conf_opts_get(opts, n_opts, "dest"), *sender = conf_opts_get(opts, n_opts, "sender");
        const char *sendername = conf_opts_get(opts, n_opts, "sendername");
        char qb[128];
        int r;

        j->mail.enabled = true;
        /* -lines, -matches, -ipmatches, -ipjailmatches: fail2ban's variants with log lines */
        if (strstr(name, "lines") || strstr(name, "matches"))
                j->mail.lines = true;
        if (strstr(name, "whois"))
                j->mail.whois = true;
        if (!j->mail.rate) {
                j->mail.rate = MAIL_RATE_DEFAULT;
                j->mail.rate_period_sec = MAIL_RATE_PERIOD_DEFAULT;
                r = jail_uint_opt(sc, d, j->name, "mailrate", MAIL_RATE_MAX, &j->mail.rate);
                if (r < 0)
                        return r;
                r = jail_uint_opt(sc, d, j->name, "mailrate_period", MAIL_PERIOD_MAX, &j->mail.rate_period_sec);
                if (r < 0)
                        return r;
        }

        if (!dest || !*dest)
                dest = "root";
        if (!mail_dest_ok(dest)) {
                r = ini_diag(d, file, line, true, "jail '%s': 'action': %s: dest/destemail '%s' is not a list of mail addresses",
                             j->name, name, q(dest, qb, sizeof qb));
                return r < 0 ? r : 0;
        }
        if (!sender || !*sender)
                sender = "root";
        if (!mail_addr_ok(sender, strlen(sender))) {
                r = ini_diag(d, file, line, true, "jail '%s': 'action': %s: sender '%s' is not a mail address",
                             j->name, name, q(sender, qb, sizeof qb));
                return r < 0 ? r : 0;
        }
        if (!sendername || !*sendername)
                sendername = "nftjail";
        if (!mail_name_ok(sendername)) {
                r = ini_diag(d, file, line, true,
                             "jail '%s': 'action': %s: sendername '%s' must be printable ASCII without quotes or backslashes, up to %u bytes",
                             j->name, name, q(sendername, qb, sizeof qb), MAIL_NAME_MAX);
                return r < 0 ? r : 0;
        }
        if (conf_set_str(&j->mail.dest, dest) < 0 || conf_set_str(&j->mail.sender, sender) < 0 ||
            conf_set_str(&j->mail.sendername, sendername) < 0)
                return -ENOMEM;
        return 0;
}
