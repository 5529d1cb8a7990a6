/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The action runner's parts: the shell rendering of fail2ban action commands against a hostile
 * corpus, run by the real /bin/sh through the real child runner; the mail composer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"
#include "mail.h"
#include "match.h"
#include "shell-render.h"
#include "util/macro.h"
#include "util/string-util.h"

static char tmpdir[] = "/tmp/test-actions-XXXXXX";
static char marker[256], outfile[256];

/* Values that run "touch MARKER" under fail2ban's plain substitution in at least one of the
 * contexts below; %M is the marker path. */
static const char *const hostile[] = {
        "$(touch %M)",
        "`touch %M`",
        "x; touch %M",
        "x' ; touch %M ; '",
        "x\" ; touch %M ; \"",
        "x'\"$(touch %M)\"'",
        "a\ntouch %M\n",
        "x && touch %M #",
        "x | touch %M",
        "${IFS}$(touch${IFS}%M)",
        "\\'; touch %M; \\'",
        "\\\"; touch %M; \\\"",
        "') ; touch %M ; ('",
        "*",
        "-n",
        "",
};

static const char *const contexts[] = {
        "printf '%%s' <F-USER> >%O",
        "printf '%%s' \"<F-USER>\" >%O",
        "printf '%%s' '<F-USER>' >%O",
        "printf '%%s' \"pre <F-USER> post\" >%O",
        "printf '%%s' 'pre <F-USER> post' >%O",
        "printf '%%s' x<F-USER>y >%O",
        "v=$(printf '%%s' \"<F-USER>\"); printf '%%s' \"$v\" >%O",
        "# it's a comment\nprintf '%%s' '<F-USER>' >%O",
};

/* expected output of each context for value v */
static char *expect(size_t ctx, const char *v, size_t len) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        assert_non_null(f);
        if (ctx == 3 || ctx == 4)
                fputs("pre ", f);
        if (ctx == 5)
                fputs("x", f);
        for (size_t i = 0; i < len; i++)
                if (v[i])
                        fputc(v[i], f);
        if (ctx == 3 || ctx == 4)
                fputs(" post", f);
        if (ctx == 5)
                fputs("y", f);
        assert_int_equal(fclose(f), 0);
        /* $(...) drops trailing newlines */
        if (ctx == 6)
                while (n > 0 && s[n - 1] == '\n')
                        s[--n] = 0;
        return s;
}

static char *subst(const char *tmpl, const char *m, const char *o) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        assert_non_null(f);
        for (const char *p = tmpl; *p; p++) {
                if (p[0] == '%' && p[1] == 'M') {
                        fputs(m, f);
                        p++;
                } else if (p[0] == '%' && p[1] == 'O') {
                        fputs(o, f);
                        p++;
                } else if (p[0] == '%' && p[1] == '%') {
                        fputc('%', f);
                        p++;
                } else
                        fputc(*p, f);
        }
        assert_int_equal(fclose(f), 0);
        return s;
}

static int run_sh(const char *script, char **env_extra, SpawnResult *res) {
        const char *argv[] = { "/bin/sh", "-c", script, NULL };
        const char *env[SHELL_TAGS_MAX + 4] = { "PATH=/usr/bin:/bin" };
        size_t n = 1;

        for (size_t i = 0; env_extra && env_extra[i]; i++)
                env[n++] = env_extra[i];
        env[n] = NULL;
        return spawn_run(argv, env, NULL, 0, 10 * 1000000ULL, NULL, res);
}

static char *read_all(const char *path, size_t *len) {
        FILE *f = fopen(path, "re");
        char *s = NULL;

        if (!f)
                return NULL;
        s = malloc(SHELL_VALUE_MAX * 2 + 16);
        assert_non_null(s);
        *len = fread(s, 1, SHELL_VALUE_MAX * 2 + 8, f);
        s[*len] = 0;
        fclose(f);
        return s;
}

static void check_value(const char *value, size_t len, unsigned *plain_runs) {
        static SpawnResult res;

        for (size_t c = 0; c < ELEMENTSOF(contexts); c++) {
                _cleanup_free_ char *tmpl = subst(contexts[c], marker, outfile), *script = NULL, *want = NULL, *got = NULL;
                char **env = NULL;
                size_t got_len = 0;
                ShellTag t = { .name = "F-USER", .value = value, .len = len };

                unlink(marker);
                unlink(outfile);
                assert_int_equal(shell_render(tmpl, &t, 1, &script, &env), 0);
                assert_null(strstr(script, "touch"));
                assert_int_equal(run_sh(script, env, &res), 0);
                strv_free(env);
                if (access(marker, F_OK) == 0)
                        fail_msg("context %zu: value '%s' ran a command through '%s'", c, value, script);
                got = read_all(outfile, &got_len);
                assert_non_null(got);
                want = expect(c, value, len);
                if (got_len != strlen(want) || memcmp(got, want, got_len) != 0)
                        fail_msg("context %zu: value '%.60s' arrived as '%.60s'", c, want, got);

                /* fail2ban's plain substitution of the same value, for comparison */
                if (plain_runs && memchr(value, 0, len) == NULL) {
                        _cleanup_free_ char *plain = NULL;
                        const char *at = strstr(tmpl, "<F-USER>");

                        assert_true(asprintf(&plain, "%.*s%s%s", (int) (at - tmpl), tmpl, value, at + 8) > 0);
                        unlink(marker);
                        (void) run_sh(plain, NULL, &res);
                        if (access(marker, F_OK) == 0)
                                (*plain_runs)++;
                }
        }
}

static void test_hostile_corpus(void **state) {
        unsigned plain_runs = 0;

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                _cleanup_free_ char *v = subst(hostile[i], marker, outfile);

                check_value(v, strlen(v), &plain_runs);
        }
        /* the corpus is hostile: plain substitution ran the marker command many times */
        fprintf(stderr, "plain substitution ran the command in %u of %zu cases\n", plain_runs,
                ELEMENTSOF(hostile) * ELEMENTSOF(contexts));
        assert_true(plain_runs >= ELEMENTSOF(hostile));
}

static void test_nul_and_long(void **state) {
        static const char nul[] = "a\0$(touch X)\0b";
        static const char pattern[] = "$(`;'\"\\\n x";
        _cleanup_free_ char *big = malloc(SHELL_VALUE_MAX);

        check_value(nul, sizeof nul - 1, NULL);
        assert_non_null(big);
        for (size_t i = 0; i < SHELL_VALUE_MAX; i++)
                big[i] = pattern[i % (sizeof pattern - 1)];
        check_value(big, SHELL_VALUE_MAX, NULL);
}

/* The corpus as the user name of a log line: through the filter's <F-USER> (any bytes, line
 * breaks too, as a journal message may hold), bounded by match_tag_copy(), into each context. */
static void test_hostile_user_from_line(void **state) {
        FilterRegex fr = { .pattern = (char *) "^Invalid user <F-USER>[\\s\\S]*</F-USER> from <HOST>$",
                           .file = (char *) "t.conf", .line = 1 };
        FilterConf fc = { .name = (char *) "t", .maxlines = 1, .failregex = &fr, .n_failregex = 1 };
        char line[1024], user[MATCH_TAG_VALUE_MAX + 1];
        Filter *f = NULL;

        assert_int_equal(filter_new(&fc, &f, NULL), 0);
        for (size_t i = 0; i <= ELEMENTSOF(hostile); i++) {
                _cleanup_free_ char *v = NULL;
                MatchResult m;
                size_t n, len;

                if (i < ELEMENTSOF(hostile))
                        v = subst(hostile[i], marker, outfile);
                else {
                        /* longer than a tag keeps: the cut must leave no command */
                        v = malloc(400);
                        assert_non_null(v);
                        memset(v, 'A', 399);
                        v[399] = 0;
                        memcpy(v + 250, "$(touch ", 8);
                }
                len = (size_t) snprintf(line, sizeof line, "Invalid user %s from 192.0.2.9", v);
                assert_int_equal(filter_match(f, line, len, &m), MATCH_FAILURE);
                assert_non_null(match_tag_find(&m, "user"));
                n = match_tag_copy(match_tag_find(&m, "user"), user, sizeof user, NULL);
                assert_int_equal(n, MIN(strlen(v), (size_t) MATCH_TAG_VALUE_MAX));
                assert_memory_equal(user, v, n);
                check_value(user, n, NULL);
        }
        filter_free(f);
}

static void test_literal_and_refused(void **state) {
        ShellTag tags[] = {
                { .name = "ip", .value = "192.0.2.7", .len = 9, .literal = true },
                { .name = "name", .value = "drupal-auth", .len = 11, .literal = true },
                { .name = "F-USER", .value = "x", .len = 1 },
                { .name = "bad", .value = "a b", .len = 3, .literal = true },
        };
        _cleanup_free_ char *s = NULL;
        char **env = NULL;

        assert_int_equal(shell_render("ban <ip> in '<name>' <unknown> <bad>", tags, ELEMENTSOF(tags), &s, &env), 0);
        assert_string_equal(s, "ban 192.0.2.7 in 'drupal-auth' <unknown> \"${NJ_T1}\"");
        assert_string_equal(env[0], "NJ_T1=a b");
        strv_free(env);
        env = NULL;
        assert_int_equal(shell_render("echo ${X:-<F-USER>}", tags, ELEMENTSOF(tags), &s, &env), -EINVAL);
        assert_int_equal(shell_render("cat <<EOF\n<F-USER>\nEOF", tags, ELEMENTSOF(tags), &s, &env), -EINVAL);
        assert_int_equal(shell_render("echo `echo <F-USER>`", tags, ELEMENTSOF(tags), &s, &env), -EINVAL);
        assert_int_equal(shell_render("echo '<F-USER>", tags, ELEMENTSOF(tags), &s, &env), -EINVAL);
}

static void test_mail_compose(void **state) {
        MailBan b = { .jail = (char *) "drupal-auth", .dest = (char *) "admin@example.org",
                      .sender = (char *) "root@example.org", .sendername = (char *) "nftjail",
                      .addr = "2001:db8::/64", .failures = 3, .maxretry = 3, .findtime_sec = 600,
                      .bantime_sec = -1, .when = 1764673200, .lines = true,
                      .evidence = (char *) "a\rBcc: x@example.org\n\x01",
                      .tags = (char *[]) { (char *) "F-ID", (char *) "7", (char *) "F-USER",
                                           (char *) "u\nCc: evil@example.org\r\n", NULL } };
        _cleanup_free_ char *m = NULL;
        size_t len;
        const char *body;

        assert_int_equal(mail_compose_ban(&b, "web", "whois\nline\x1b[2J", &m, &len), 0);
        body = strstr(m, "\n\n");
        assert_non_null(body);
        assert_non_null(strstr(m, "\nSubject: [nftjail] drupal-auth: banned 2001:db8::/64 from web\n"));
        assert_null(memmem(m, (size_t) (body - m), "Bcc", 3));
        assert_null(memmem(m, (size_t) (body - m), "evil", 4));
        assert_non_null(strstr(body, "\nUser name given by the client (escaped):\n    u\\x0aCc: evil@example.org\\x0d\\x0a\n"));
        assert_non_null(strstr(body, "\n    a?Bcc: x@example.org\n    ?\n"));
        assert_non_null(strstr(body, "Ban time: permanent\n"));
        assert_non_null(strstr(body, "    line?[2J\n"));
        assert_null(strchr(m, '\r'));
}

static int setup(void **state) {
        assert_non_null(mkdtemp(tmpdir));
        snprintf(marker, sizeof marker, "%s/MARKER", tmpdir);
        snprintf(outfile, sizeof outfile, "%s/out", tmpdir);
        return 0;
}

static int teardown(void **state) {
        unlink(marker);
        unlink(outfile);
        rmdir(tmpdir);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_hostile_corpus),
                cmocka_unit_test(test_nul_and_long),
                cmocka_unit_test(test_hostile_user_from_line),
                cmocka_unit_test(test_literal_and_refused),
                cmocka_unit_test(test_mail_compose),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
