/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "ini.h"
#include "journal-match.h"

/* ---- helpers: a config dir per test, files written by the test ---- */

static char tmpdir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static int setup(void **state) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/test-conf-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static int teardown(void **state) {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

static char *path(const char *rel) {
        static char p[4][PATH_MAX];
        static unsigned i;

        i = (i + 1) % 4;
        snprintf(p[i], sizeof p[i], "%s/%s", tmpdir, rel);
        return p[i];
}

static void write_bytes(const char *rel, const char *data, size_t len) {
        char dir[PATH_MAX];
        FILE *f;
        char *s;

        snprintf(dir, sizeof dir, "%s", path(rel));
        s = strrchr(dir, '/');
        *s = 0;
        mkdir(dir, 0755);
        f = fopen(path(rel), "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static void write_file(const char *rel, const char *data) {
        write_bytes(rel, data, strlen(data));
}

static void copy_shipped(const char *name) {
        char src[PATH_MAX], *buf;
        FILE *f;
        long n;

        snprintf(src, sizeof src, "%s/conf/%s", NFTJAIL_TEST_SRCDIR, name);
        f = fopen(src, "re");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t) n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        write_bytes(name, buf, (size_t) n);
        free(buf);
}

/* Line number of the first line of the shipped jail.conf that contains needle. */
static unsigned shipped_line(const char *needle) {
        char src[PATH_MAX], buf[4096];
        unsigned n = 0;
        FILE *f;

        snprintf(src, sizeof src, "%s/conf/jail.conf", NFTJAIL_TEST_SRCDIR);
        f = fopen(src, "re");
        assert_non_null(f);
        while (fgets(buf, sizeof buf, f)) {
                n++;
                if (strstr(buf, needle)) {
                        fclose(f);
                        return n;
                }
        }
        fclose(f);
        fail_msg("'%s' not in jail.conf", needle);
        return 0;
}

/* A small filter in the shape of fail2ban's sshd.conf: includes, [DEFAULT] helpers, [Init],
 * %(...)s and <mdre-<mode>> tags. Line numbers below are asserted. */
static const char sshd_filter[] =
        "[INCLUDES]\n"                                                  /* 1 */
        "before = common.conf\n"                                        /* 2 */
        "\n"                                                            /* 3 */
        "[DEFAULT]\n"                                                   /* 4 */
        "_daemon = sshd\n"                                              /* 5 */
        "\n"                                                            /* 6 */
        "[Init]\n"                                                      /* 7 */
        "mode = normal\n"                                               /* 8 */
        "\n"                                                            /* 9 */
        "[Definition]\n"                                                /* 10 */
        "prefregex = ^%(__prefix_line)s<F-CONTENT>.+</F-CONTENT>$\n"    /* 11 */
        "cmnfailre = ^Failed password for .* from <HOST>\n"             /* 12 */
        "            ^Invalid user <F-USER>\\S+</F-USER> from <HOST>\n" /* 13 */
        "mdre-normal =\n"                                               /* 14 */
        "mdre-aggressive = ^Connection closed by <HOST> \\[preauth\\]$\n" /* 15 */
        "                  ^Timeout before auth for <HOST>$\n"          /* 16 */
        "failregex = %(cmnfailre)s\n"                                   /* 17 */
        "            <mdre-<mode>>\n"                                   /* 18 */
        "            ^100%% sure <HOST>$\n"                             /* 19 */
        "ignoreregex =\n"                                               /* 20 */
        "journalmatch = _SYSTEMD_UNIT=sshd.service _UID=0 + _COMM=sshd _UID=0\n"; /* 21 */

static const char common_filter[] =
        "[DEFAULT]\n"
        "__prefix_line = \\s*%(_daemon)s(?:\\[\\d+\\])?:\\s+\n";

static void write_filters(void) {
        write_file("filter.d/sshd.conf", sshd_filter);
        write_file("filter.d/common.conf", common_filter);
        write_file("filter.d/proxmox.conf",
                   "[Definition]\n"
                   "failregex = pvedaemon\\[\\d+\\]: authentication failure; rhost=<HOST>\n"
                   "journalmatch = _SYSTEMD_UNIT=pvedaemon.service _UID=0\n");
        write_file("filter.d/f1.conf", "[Definition]\nfailregex = ^fail from <HOST>$\n");
}

/* The shipped jail.conf plus our filters. */
static void shipped_setup(void) {
        copy_shipped("jail.conf");
        copy_shipped("nftjail.conf");
        write_filters();
}

static const ConfDiag *find_diag(const ConfDiags *d, const char *needle) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->v[i].message, needle))
                        return &d->v[i];
        return NULL;
}

static void print_diags(const ConfDiags *d) {
        char b[1024];

        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag: %s\n", conf_diag_format(&d->v[i], b, sizeof b));
}

/* Asserts a diag whose message contains needle, at rel:line. */
static void assert_diag(const ConfDiags *d, const char *needle, const char *rel, unsigned line, bool error) {
        const ConfDiag *x = find_diag(d, needle);

        if (!x)
                print_diags(d);
        assert_non_null(x);
        if (rel)
                assert_string_equal(x->file, path(rel));
        else
                assert_null(x->file);
        assert_int_equal(x->line, line);
        assert_int_equal(x->error, error);
}

static Config *load_ok(ConfDiags *d) {
        Config *c = NULL;
        int r = config_load(tmpdir, &c, d);

        if (r < 0)
                print_diags(d);
        assert_int_equal(r, 0);
        assert_non_null(c);
        return c;
}

static void load_fail(ConfDiags *d) {
        Config *c = NULL;

        assert_int_equal(config_load(tmpdir, &c, d), -EINVAL);
        assert_null(c);
        assert_true(d->n_errors > 0);
}

static const JailConf *jail(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_jails; i++)
                if (strcmp(c->jails[i].name, name) == 0)
                        return &c->jails[i];
        return NULL;
}

/* ---- INI reader ---- */

static void test_ini_continuation(void **state) {
        static const char in[] =
                "# comment\n"                   /* 1 */
                "[s]\n"                         /* 2 */
                "a = one\n"                     /* 3 */
                "    two ; inline comment\n"    /* 4 */
                "\n"                            /* 5 */
                "  # comment inside\n"          /* 6 */
                "\tthree;not a comment\n"       /* 7 */
                "b: x = y\n"                    /* 8 */
                "  c = d ;\n"                   /* 9: indented after b: continuation of b */
                "e =\n"                         /* 10 */
                "; another comment\n"           /* 11 */
                "[t]\n"                         /* 12 */
                "a=1\n";                        /* 13 */
        ConfDiags d = {};
        Ini *ini = NULL;
        IniSection *s;
        IniEntry *e;

        assert_int_equal(ini_parse_buffer("x.conf", in, sizeof in - 1, &ini, &d), 0);
        assert_int_equal(d.n, 0);
        s = ini_find_section(ini, "s");
        assert_non_null(s);
        assert_int_equal(s->line, 2);
        e = ini_section_get(s, "a");
        assert_string_equal(e->value, "one\ntwo\nthree;not a comment");
        assert_int_equal(e->n_lines, 3);
        assert_int_equal(e->line, 3);
        assert_int_equal(e->lines[0], 3);
        assert_int_equal(e->lines[1], 4);
        assert_int_equal(e->lines[2], 7);
        e = ini_section_get(s, "b");
        assert_string_equal(e->value, "x = y\nc = d");
        assert_int_equal(e->lines[1], 9);
        e = ini_section_get(s, "e");
        assert_string_equal(e->value, "");
        assert_null(ini_section_get(s, "c"));
        e = ini_section_get(ini_find_section(ini, "t"), "a");
        assert_string_equal(e->value, "1");
        assert_int_equal(e->line, 13);
        ini_free(ini);
        conf_diags_done(&d);
}

static void test_ini_errors(void **state) {
        static const char in[] =
                "k = v\n"               /* 1: before any section */
                "[s\n"                  /* 2 */
                "[s]\n"                 /* 3 */
                "no delimiter\n"        /* 4 */
                "x = 1\n"               /* 5 */
                "x = 2\n";              /* 6: duplicate, warning */
        ConfDiags d = {};
        Ini *ini = NULL;

        assert_int_equal(ini_parse_buffer("x.conf", in, sizeof in - 1, &ini, &d), 0);
        assert_int_equal(d.n_errors, 3);
        assert_int_equal(d.n, 4);
        assert_int_equal(d.v[0].line, 1);
        assert_int_equal(d.v[1].line, 2);
        assert_int_equal(d.v[2].line, 4);
        assert_int_equal(d.v[3].line, 6);
        assert_false(d.v[3].error);
        assert_string_equal(ini_section_get(ini_find_section(ini, "s"), "x")->value, "2");
        ini_free(ini);
        conf_diags_done(&d);
}

static void test_ini_hostile(void **state) {
        static const char nul[] = "\xef\xbb\xbf[s]\na = 1\nb = x\0y\n  cont\nc = \xff\xfe\nd = caf\xc3\xa9\n";
        size_t big = INI_MAX_FILE_SIZE + 10;
        char *buf = malloc(big);
        ConfDiags d = {};
        Ini *ini = NULL;
        IniSection *s;

        assert_int_equal(ini_parse_buffer("x.conf", nul, sizeof nul - 1, &ini, &d), 0);
        assert_int_equal(d.n_errors, 2);
        assert_int_equal(d.v[0].line, 3);
        assert_non_null(strstr(d.v[0].message, "NUL"));
        assert_int_equal(d.v[1].line, 5);
        assert_non_null(strstr(d.v[1].message, "UTF-8"));
        s = ini_find_section(ini, "s");
        assert_null(ini_section_get(s, "b"));
        assert_null(ini_section_get(s, "c"));
        assert_string_equal(ini_section_get(s, "a")->value, "1"); /* "cont" did not glue onto a */
        assert_string_equal(ini_section_get(s, "d")->value, "caf\xc3\xa9");
        ini = ini_free(ini);
        conf_diags_done(&d);

        /* one line just under the cap: parsed; over the cap: refused with a diag */
        assert_non_null(buf);
        memcpy(buf, "[s]\nk = ", 8);
        memset(buf + 8, 'a', big - 8);
        assert_int_equal(ini_parse_buffer("x.conf", buf, INI_MAX_FILE_SIZE, &ini, &d), 0);
        assert_int_equal(d.n, 0);
        assert_int_equal(strlen(ini_section_get(ini_find_section(ini, "s"), "k")->value), INI_MAX_FILE_SIZE - 8);
        ini = ini_free(ini);
        assert_int_equal(ini_parse_buffer("x.conf", buf, big, &ini, &d), -EFBIG);
        assert_null(ini);
        assert_int_equal(d.n_errors, 1);
        conf_diags_done(&d);

        /* too many lines */
        memset(buf, '\n', INI_MAX_LINES + 5);
        assert_int_equal(ini_parse_buffer("x.conf", buf, INI_MAX_LINES + 5, &ini, &d), 0);
        assert_int_equal(d.n_errors, 1);
        assert_int_equal(d.v[0].line, INI_MAX_LINES + 1);
        ini_free(ini);
        conf_diags_done(&d);
        free(buf);
}

static void test_hostile_files(void **state) {
        static const char nul[] = "[DEFAULT]\nx = 1\n[j]\nenabled = true\x00\nfilter = f1\n";
        size_t big = INI_MAX_FILE_SIZE + 1;
        char *buf = malloc(big);
        ConfDiags d = {};

        write_filters();
        write_bytes("jail.conf", nul, sizeof nul - 1);
        load_fail(&d);
        assert_diag(&d, "NUL byte", "jail.conf", 4, true);
        conf_diags_done(&d);

        assert_non_null(buf);
        memset(buf, 'x', big);
        buf[0] = '#';
        write_bytes("jail.conf", buf, big);
        load_fail(&d);
        assert_diag(&d, "larger than", "jail.conf", 0, true);
        conf_diags_done(&d);
        free(buf);
}

/* ---- includes ---- */

static void test_includes(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        write_filters();
        write_file("jail.conf",
                   "[INCLUDES]\n"
                   "before = paths.conf\n"
                   "after = sub/late.conf\n"
                   "[DEFAULT]\n"
                   "maxretry = 3\n"
                   "[myjail]\n"
                   "enabled = true\n"
                   "filter = f1\n"
                   "backend = polling\n"
                   "logpath = %(my_log)s\n"
                   "          /var/log/other.log tail\n");
        write_file("paths.conf", "[DEFAULT]\nmy_log = /var/log/x.log\nmaxretry = 9\nbantime = 5m\n");
        /* relative to the including file's directory */
        write_file("sub/late.conf", "[INCLUDES]\nbefore = later.conf\n[myjail]\nbantime = 1h\n");
        write_file("sub/later.conf", "[myjail]\nfindtime = 2h\nbantime = 2d\n");
        c = load_ok(&d);
        assert_int_equal(d.n, 0);
        j = jail(c, "myjail");
        assert_non_null(j);
        assert_int_equal(j->maxretry, 3);
        assert_int_equal(j->bantime_sec, 3600);
        assert_int_equal(j->findtime_sec, 7200);
        assert_int_equal(j->backend, BACKEND_POLLING);
        assert_string_equal(j->logpath[0], "/var/log/x.log");
        assert_string_equal(j->logpath[1], "/var/log/other.log");
        assert_null(j->logpath[2]);
        config_free(c);
        conf_diags_done(&d);
}

static void test_include_errors(void **state) {
        ConfDiags d = {};
        char name[32], body[128];

        write_filters();
        write_file("jail.conf",
                   "[INCLUDES]\n"
                   "before = a.conf\n"
                   "         nope.conf\n"
                   "[j]\n"
                   "enabled = true\n"
                   "filter = f1\n");
        write_file("a.conf", "[INCLUDES]\nafter = b.conf\n");
        write_file("b.conf", "[INCLUDES]\n\nbefore = a.conf\n");
        load_fail(&d);
        assert_diag(&d, "cannot include", "jail.conf", 3, true);
        assert_non_null(strstr(find_diag(&d, "cannot include")->message, "nope.conf"));
        assert_diag(&d, "include cycle", "b.conf", 3, true);
        conf_diags_done(&d);

        /* depth: d0 -> d1 -> ... -> d14 */
        write_file("jail.conf", "[INCLUDES]\nbefore = d0.conf\n[j]\nenabled = true\nfilter = f1\n");
        for (int i = 0; i < 15; i++) {
                snprintf(name, sizeof name, "d%d.conf", i);
                snprintf(body, sizeof body, "[INCLUDES]\nbefore = d%d.conf\n", i + 1);
                write_file(name, body);
        }
        load_fail(&d);
        assert_diag(&d, "deeper than 10", "d9.conf", 2, true);
        conf_diags_done(&d);

        /* a cycle through a symbolic link, and one through a hard link: the same file either way */
        write_file("jail.conf", "[INCLUDES]\nbefore = c.conf\n          h.conf\n[j]\nenabled = true\nfilter = f1\n");
        write_file("c.conf", "[INCLUDES]\nbefore = link.conf\n");
        (void) unlink(path("link.conf"));
        assert_int_equal(symlink("c.conf", path("link.conf")), 0);
        write_file("h.conf", "# a hard link\n\n[INCLUDES]\nafter = hard.conf\n");
        (void) unlink(path("hard.conf"));
        assert_int_equal(link(path("h.conf"), path("hard.conf")), 0);
        load_fail(&d);
        assert_diag(&d, "link.conf' includes itself", "c.conf", 2, true);
        assert_diag(&d, "hard.conf' includes itself", "h.conf", 4, true);
        assert_null(find_diag(&d, "deeper than"));
        conf_diags_done(&d);
        assert_int_equal(unlink(path("hard.conf")), 0);

        /* a file over the size cap is refused, however it is read */
        {
                size_t n = INI_MAX_FILE_SIZE + 1;
                char *big = malloc(n);

                assert_non_null(big);
                memset(big, '#', n);
                big[n - 1] = '\n';
                write_file("jail.conf", "[INCLUDES]\nbefore = big.conf\n[j]\nenabled = true\nfilter = f1\n");
                write_bytes("big.conf", big, n);
                free(big);
                load_fail(&d);
                assert_diag(&d, "larger than", "big.conf", 0, true);
                conf_diags_done(&d);
        }
}

/* ---- interpolation ---- */

static void test_interpolation(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        write_filters();
        write_file("jail.conf",
                   "[DEFAULT]\n"                        /* 1 */
                   "base = 4\n"                         /* 2 */
                   "retry = %(base)s\n"                 /* 3 */
                   "[j]\n"                              /* 4 */
                   "enabled = true\n"                   /* 5 */
                   "filter = f1\n"                      /* 6 */
                   "base = 7\n"                         /* 7: the jail's own wins */
                   "maxretry = %(retry)s\n"             /* 8 */
                   "logpath = /var/log/100%%.log\n"     /* 9 */
                   "[k]\n"                              /* 10 */
                   "enabled = true\n"                   /* 11 */
                   "filter = f1\n"                      /* 12 */
                   "maxretry = %(retry)s\n");           /* 13 */
        c = load_ok(&d);
        j = jail(c, "j");
        assert_int_equal(j->maxretry, 7);
        assert_string_equal(j->logpath[0], "/var/log/100%.log");
        assert_int_equal(jail(c, "k")->maxretry, 4);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.conf",
                   "[DEFAULT]\n"                        /* 1 */
                   "x = %(y)s\n"                        /* 2 */
                   "y = a%(x)s\n"                       /* 3 */
                   "[j]\n"                              /* 4 */
                   "enabled = true\n"                   /* 5 */
                   "filter = f1\n"                      /* 6 */
                   "bantime = %(x)s\n"                  /* 7 */
                   "findtime = %(nothere)s\n"           /* 8 */
                   "maxretry = 50%\n");                 /* 9 */
        load_fail(&d);
        assert_diag(&d, "interpolation loop", "jail.conf", 7, true);
        assert_non_null(strstr(find_diag(&d, "interpolation loop")->message, "'bantime'"));
        assert_diag(&d, "undefined option 'nothere'", "jail.conf", 8, true);
        assert_diag(&d, "'%' must be followed", "jail.conf", 9, true);
        conf_diags_done(&d);
}

static void test_known(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nport = %(known/port)s,2222\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(j->n_ports, 2);
        assert_int_equal(j->ports[0], 22);
        assert_int_equal(j->ports[1], 2222);
        config_free(c);
        conf_diags_done(&d);

        /* default/key: [DEFAULT]'s value even where the jail sets its own (fail2ban's
         * paths-common.conf: default_backend = %(default/backend)s) */
        write_file("jail.local", "[DEFAULT]\nbackend = polling\nmy_backend = %(default/backend)s\n"
                                 "[sshd]\nbackend = %(my_backend)s\nlogpath = /var/log/x.log\n"
                                 "[proxmox]\nenabled = true\nbackend = systemd\nmaxretry = %(default/maxretry)s\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(j->backend, BACKEND_POLLING);
        config_free(c);
        conf_diags_done(&d);
        write_file("jail.local", "[sshd]\nport = %(default/nosuch)s\n");
        assert_int_equal(config_load(tmpdir, &c, &d), -EINVAL);
        assert_diag(&d, "[DEFAULT] has no option 'nosuch'", "jail.local", 2, true);
        conf_diags_done(&d);
        write_file("jail.local", "[sshd]\nport = %(other/port)s\n");
        assert_int_equal(config_load(tmpdir, &c, &d), -EINVAL);
        assert_diag(&d, "outside filters only the known/ and default/ prefixes are read", "jail.local", 2, true);
        conf_diags_done(&d);
}

/* ---- filters ---- */

static void test_filter_default_mode(void **state) {
        ConfDiags d = {};
        FilterConf f = {};

        write_filters();
        assert_int_equal(filter_conf_load(tmpdir, "sshd", &f, &d), 0);
        assert_int_equal(d.n, 0);
        assert_string_equal(f.name, "sshd");
        assert_string_equal(f.file, path("filter.d/sshd.conf"));
        assert_int_equal(f.n_failregex, 3);
        assert_string_equal(f.failregex[0].pattern, "^Failed password for .* from <HOST>");
        assert_string_equal(f.failregex[0].file, path("filter.d/sshd.conf"));
        assert_int_equal(f.failregex[0].line, 12);
        assert_string_equal(f.failregex[1].pattern, "^Invalid user <F-USER>\\S+</F-USER> from <HOST>");
        assert_int_equal(f.failregex[1].line, 13);
        assert_string_equal(f.failregex[2].pattern, "^100% sure <HOST>$");
        assert_int_equal(f.failregex[2].line, 19);
        assert_int_equal(f.n_ignoreregex, 0);
        assert_string_equal(f.prefregex.pattern, "^\\s*sshd(?:\\[\\d+\\])?:\\s+<F-CONTENT>.+</F-CONTENT>$");
        assert_int_equal(f.prefregex.line, 11);
        assert_string_equal(f.journalmatch, "_SYSTEMD_UNIT=sshd.service _UID=0 + _COMM=sshd _UID=0");
        assert_null(f.datepattern);
        assert_int_equal(f.maxlines, 1);
        filter_conf_done(&f);
        conf_diags_done(&d);
}

static void test_filter_options(void **state) {
        ConfDiags d = {};
        FilterConf f = {};

        write_filters();
        /* options override [Init]; <mdre-<mode>> expands to the aggressive lines, each with its line */
        assert_int_equal(filter_conf_load(tmpdir, "sshd[mode=aggressive, maxlines=\"2\"]", &f, &d), 0);
        assert_int_equal(f.n_failregex, 5);
        assert_string_equal(f.failregex[2].pattern, "^Connection closed by <HOST> \\[preauth\\]$");
        assert_int_equal(f.failregex[2].line, 15);
        assert_string_equal(f.failregex[3].pattern, "^Timeout before auth for <HOST>$");
        assert_int_equal(f.failregex[3].line, 16);
        assert_int_equal(f.failregex[4].line, 19);
        assert_int_equal(f.maxlines, 2);
        filter_conf_done(&f);

        /* .local overrides .conf */
        write_file("filter.d/sshd.local", "[Definition]\nignoreregex = ^ignore <HOST>$\n  ^and <HOST>$\n");
        assert_int_equal(filter_conf_load(tmpdir, "sshd", &f, &d), 0);
        assert_int_equal(f.n_ignoreregex, 2);
        assert_string_equal(f.ignoreregex[1].pattern, "^and <HOST>$");
        assert_string_equal(f.ignoreregex[1].file, path("filter.d/sshd.local"));
        assert_int_equal(f.ignoreregex[1].line, 3);
        filter_conf_done(&f);

        /* %(known/x)s: the value before the .local override */
        write_file("filter.d/sshd.local", "[Definition]\nfailregex = %(known/failregex)s\n  ^also <HOST>$\n");
        assert_int_equal(filter_conf_load(tmpdir, "sshd", &f, &d), 0);
        assert_int_equal(f.n_failregex, 4);
        assert_int_equal(f.failregex[0].line, 12);
        assert_string_equal(f.failregex[3].pattern, "^also <HOST>$");
        assert_string_equal(f.failregex[3].file, path("filter.d/sshd.local"));
        assert_int_equal(f.failregex[3].line, 3);
        filter_conf_done(&f);

        /* by path */
        assert_int_equal(filter_conf_load(tmpdir, path("filter.d/f1.conf"), &f, &d), 0);
        assert_int_equal(f.n_failregex, 1);
        filter_conf_done(&f);

        assert_int_equal(filter_conf_load(tmpdir, "nosuch", &f, &d), -ENOENT);
        assert_int_equal(filter_conf_load(tmpdir, "sshd[mode", &f, &d), -EINVAL);
        assert_int_equal(d.n, 2);
        conf_diags_done(&d);
}

static void test_filter_tags(void **state) {
        ConfDiags d = {};
        FilterConf f = {};

        write_file("filter.d/t.conf",
                   "[Init]\n"
                   "user = root\n"
                   "[Definition]\n"
                   "_pre = ^auth:\n"
                   "loop = <loop>x\n"
                   "failregex = <_pre> bad <user> from <HOST> port <F-PORT>\\d+</F-PORT><SKIPLINES>\n"
                   "ignoreregex = <undefined-tag> (?P<name>x)\n");
        assert_int_equal(filter_conf_load(tmpdir, "t", &f, &d), 0);
        assert_string_equal(f.failregex[0].pattern, "^auth: bad root from <HOST> port <F-PORT>\\d+</F-PORT><SKIPLINES>");
        assert_string_equal(f.ignoreregex[0].pattern, "<undefined-tag> (?P<name>x)");
        filter_conf_done(&f);

        write_file("filter.d/t.conf", "[Definition]\nloop = <loop>x\nfailregex = a <loop>\n");
        assert_int_equal(filter_conf_load(tmpdir, "t", &f, &d), -EINVAL);
        assert_diag(&d, "tag substitution loop", "filter.d/t.conf", 3, true);
        conf_diags_done(&d);
}

/* fail2ban's cross-section references (common.conf: __prefix_line = <lt_<logtype>/__prefix_line>,
 * datepattern = %(lt_<logtype>/datepattern)s) and its multi-line ids */
static void test_filter_sections(void **state) {
        ConfDiags d = {};
        FilterConf f = {};

        write_file("filter.d/xs.conf",
                   "[lt_file]\n"
                   "pre = <ambit>?\\s*\n"
                   "dp = {^LN-BEG}\n"
                   "[lt_journal]\n"
                   "pre = j:\n"
                   "[DEFAULT]\n"
                   "logtype = file\n"
                   "ambit = \\[\\]\n"
                   "[Definition]\n"
                   "failregex = ^<lt_<logtype>/pre>fail from <HOST>$\n"
                   "datepattern = %(lt_file/dp)s\n");
        assert_int_equal(filter_conf_load(tmpdir, "xs", &f, &d), 0);
        assert_string_equal(f.failregex[0].pattern, "^\\[\\]?\\s*fail from <HOST>$");
        assert_string_equal(f.datepattern, "{^LN-BEG}");
        filter_conf_done(&f);
        assert_int_equal(filter_conf_load(tmpdir, "xs[logtype=journal]", &f, &d), 0);
        assert_string_equal(f.failregex[0].pattern, "^j:fail from <HOST>$");
        filter_conf_done(&f);
        write_file("filter.d/xs.conf", "[Definition]\nfailregex = ^x <HOST>\ndatepattern = %(nosuch/dp)s\n");
        assert_int_equal(filter_conf_load(tmpdir, "xs", &f, &d), -EINVAL);
        assert_diag(&d, "no such section or option", "filter.d/xs.conf", 3, true);
        conf_diags_done(&d);

}

static void test_unknown_filter(void **state) {
        ConfDiags d = {};

        shipped_setup();
        write_file("jail.local", "[web]\nenabled = true\nfilter = nosuch[mode=x]\n");
        load_fail(&d);
        assert_diag(&d, "filter 'nosuch' not found", "jail.local", 3, true);
        conf_diags_done(&d);
}

/* ---- jails ---- */

static void test_shipped(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        c = load_ok(&d);
        if (d.n)
                print_diags(&d);
        assert_int_equal(d.n, 0);
        assert_string_equal(c->nft_file, NFTJAIL_NFT_FILE);
        assert_int_equal(c->loglevel, LOG_INFO);
        assert_int_equal(c->n_jails, 1);
        j = jail(c, "sshd");
        assert_non_null(j);
        assert_string_equal(j->file, path("jail.conf"));
        assert_int_equal(j->backend, BACKEND_SYSTEMD);
        assert_int_equal(j->n_ports, 1);
        assert_int_equal(j->ports[0], 22);
        assert_false(j->allports);
        assert_int_equal(j->protocol, IPPROTO_TCP);
        assert_int_equal(j->maxretry, 5);
        assert_int_equal(j->findtime_sec, 600);
        assert_int_equal(j->bantime_sec, 600);
        assert_int_equal(j->n_ignoreip, 2);
        assert_true(j->ignoreself);
        assert_true(j->action_ban);
        assert_false(j->abuseipdb);
        assert_string_equal(j->journalmatch, "_SYSTEMD_UNIT=sshd.service _UID=0 + _COMM=sshd _UID=0");
        assert_string_equal(j->logpath[0], "/var/log/auth.log");
        assert_int_equal(j->filter.n_failregex, 3);
        config_free(c);
        conf_diags_done(&d);
}

static void test_local_overrides(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.d/b.conf", "[sshd]\nmaxretry = 8\nbantime = 2h\n");
        write_file("jail.d/a.conf", "[sshd]\nmaxretry = 7\nfindtime = 1h\n");
        write_file("jail.local", "[DEFAULT]\nbantime = 1d\n[sshd]\nmaxretry = 2\nmode = aggressive\n"
                                 "failregex =\n  ^jail own <HOST>$\n"
                                 "[proxmox]\nenabled = yes\n");
        write_file("jail.d/z.local", "[sshd]\nbantime = -1\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(j->maxretry, 2);
        assert_int_equal(j->findtime_sec, 3600);
        assert_int_equal(j->bantime_sec, -1);
        assert_int_equal(j->filter.n_failregex, 6); /* mode reached the filter, plus the jail's own */
        assert_string_equal(j->filter.failregex[5].pattern, "^jail own <HOST>$");
        assert_string_equal(j->filter.failregex[5].file, path("jail.local"));
        assert_int_equal(j->filter.failregex[5].line, 7);
        j = jail(c, "proxmox");
        assert_non_null(j);
        assert_int_equal(j->bantime_sec, 86400);
        assert_int_equal(j->n_ports, 3);
        assert_int_equal(j->ports[0], 443);
        assert_int_equal(j->ports[1], 80);
        assert_int_equal(j->ports[2], 8006);
        assert_string_equal(j->journalmatch, "_SYSTEMD_UNIT=pvedaemon.service _UID=0");
        assert_int_equal(c->n_jails, 2);
        assert_string_equal(c->jails[0].name, "sshd"); /* file order */
        config_free(c);
        conf_diags_done(&d);
}

static void test_enabled(void **state) {
        static const char *const yes[] = { "true", "Yes", "1", "ON" }, *const no[] = { "false", "NO", "0", "off" };
        char buf[256];
        ConfDiags d = {};
        Config *c;

        shipped_setup();
        for (size_t i = 0; i < 4; i++) {
                snprintf(buf, sizeof buf, "[sshd]\nenabled = %s\n[proxmox]\nenabled = %s\n", no[i], yes[i]);
                write_file("jail.local", buf);
                c = load_ok(&d);
                assert_int_equal(c->n_jails, 1);
                assert_string_equal(c->jails[0].name, "proxmox");
                config_free(c);
                conf_diags_done(&d);
        }
        write_file("jail.local", "[sshd]\n\nenabled = maybe\n");
        load_fail(&d);
        assert_diag(&d, "'enabled': 'maybe' is not a boolean", "jail.local", 3, true);
        conf_diags_done(&d);
}

static void test_ports(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nport = ssh, http,8000:8002\n  https\nprotocol = udp\n"
                                 "[proxmox]\nenabled = true\nport = 0:65535\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(j->n_ports, 6);
        assert_int_equal(j->ports[0], 22);
        assert_int_equal(j->ports[1], 80);
        assert_int_equal(j->ports[2], 8000);
        assert_int_equal(j->ports[4], 8002);
        assert_int_equal(j->ports[5], 443);
        assert_int_equal(j->protocol, IPPROTO_UDP);
        assert_false(j->allports);
        j = jail(c, "proxmox");
        assert_true(j->allports);
        assert_int_equal(j->n_ports, 0);
        config_free(c);
        conf_diags_done(&d);

        /* an allports ban action and "all" */
        write_file("jail.local", "[sshd]\nbanaction = %(banaction_allports)s\n[proxmox]\nenabled = true\nport = all\n");
        c = load_ok(&d);
        assert_true(jail(c, "sshd")->allports);
        assert_int_equal(jail(c, "sshd")->n_ports, 0);
        assert_true(jail(c, "proxmox")->allports);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local", "[sshd]\nport = 1:1000\n[proxmox]\nenabled = true\nport = http,\n   nosuchport\nprotocol = icmp\n");
        load_fail(&d);
        assert_diag(&d, "range '1:1000' has more than 256 ports", "jail.local", 2, true);
        assert_diag(&d, "unknown port 'nosuchport'", "jail.local", 6, true);
        assert_diag(&d, "'protocol': 'icmp'", "jail.local", 7, true);
        assert_int_equal(d.n_errors, 3);
        conf_diags_done(&d);
}

static void test_bad_values(void **state) {
        ConfDiags d = {};

        shipped_setup();
        write_file("jail.local",
                   "[sshd]\n"                                   /* 1 */
                   "maxretry = abc\n"                           /* 2 */
                   "bantime = 0\n"                              /* 3 */
                   "findtime = -5m\n"                           /* 4 */
                   "ignoreip = 192.0.2.0/24, 2001:db8::/32\n"   /* 5 */
                   "           ban.example.org\n"               /* 6 */
                   "           198.51.100.300\n"                /* 7 */
                   "ignoreself = sometimes\n"                   /* 8 */
                   "backend = gamin\n"                          /* 9 */
                   "bogus = 1\n"                                /* 10 */
                   "[DEFAULT]\n"                                /* 11 */
                   "my_helper = 1\n"                            /* 12: no warning */
                   "ignorecommand = /bin/true\n");              /* 13: a missing feature */
        load_fail(&d);
        assert_diag(&d, "'maxretry': 'abc' is not a number in 1..255", "jail.local", 2, true);
        assert_diag(&d, "'bantime': '0'", "jail.local", 3, true);
        assert_diag(&d, "'findtime': '-5m'", "jail.local", 4, true);
        assert_diag(&d, "'ban.example.org': hostnames are not supported (no DNS)", "jail.local", 6, true);
        assert_diag(&d, "'198.51.100.300' is not an address", "jail.local", 7, true);
        assert_diag(&d, "'ignoreself': 'sometimes'", "jail.local", 8, true);
        assert_diag(&d, "'backend': 'gamin' is not supported", "jail.local", 9, true);
        assert_diag(&d, "unknown option 'bogus', ignoring", "jail.local", 10, false);
        assert_null(find_diag(&d, "my_helper"));
        assert_diag(&d, "option 'ignorecommand' is not supported, ignoring", "jail.local", 13, false);
        assert_int_equal(d.n_errors, 7);
        assert_int_equal(d.n, 9);
        conf_diags_done(&d);
}

/* Asserts a diag with exactly this message, at rel:line. */
static void assert_diag_is(const ConfDiags *d, const char *message, const char *rel, unsigned line, bool error) {
        for (size_t i = 0; i < d->n; i++)
                if (strcmp(d->v[i].message, message) == 0) {
                        assert_diag(d, message, rel, line, error);
                        return;
                }
        print_diags(d);
        fail_msg("no diag '%s'", message);
}

/* The daemon's limits are the configuration's: refused at load, at the value's own line (here in
 * jail.local, while the jail's header is in jail.conf). */
static void test_jail_limits(void **state) {
        char name[131], file[256], msg[512];
        ConfDiags d = {};
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nenabled = true\nmaxretry = 300\n");
        load_fail(&d);
        assert_diag_is(&d, "'maxretry': '300' is not a number in 1..255", "jail.local", 3, true);
        assert_int_equal(d.n_errors, 1);
        conf_diags_done(&d);

        write_file("jail.local", "[sshd]\nenabled = true\nmaxretry = 255\n");
        c = load_ok(&d);
        assert_int_equal(jail(c, "sshd")->maxretry, 255);
        config_free(c);
        conf_diags_done(&d);

        /* the name is the comment of the jail's nft elements */
        memset(name, 'a', 130);
        name[130] = 0;
        snprintf(file, sizeof file, "[%s]\nenabled = true\nfilter = sshd\n", name);
        write_file("jail.d/long.local", file);
        load_fail(&d);
        snprintf(msg, sizeof msg, "jail '%.124s...': the name is longer than 127 bytes (it is the comment of the "
                 "jail's nft elements)", name);
        assert_diag_is(&d, msg, "jail.d/long.local", 1, true);
        assert_int_equal(d.n_errors, 1);
        conf_diags_done(&d);

        name[127] = 0;
        snprintf(file, sizeof file, "[%s]\nenabled = true\nfilter = sshd\n", name);
        write_file("jail.d/long.local", file);
        c = load_ok(&d);
        assert_non_null(jail(c, name));
        config_free(c);
        conf_diags_done(&d);
}

/* journalmatch is checked at load for a jail that reads the journal, at the line of the value
 * it uses: its own, or its filter's. */
static void test_journalmatch_checked(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nenabled = true\nbackend = systemd\n\n"
                                 "journalmatch = _SYSTEMD_UNIT=ssh.service + lowercase=bad\n");
        load_fail(&d);
        assert_diag_is(&d, "jail 'sshd': 'journalmatch': bad journal match 'lowercase=bad' (want FIELD=value)",
                       "jail.local", 5, true);
        assert_int_equal(d.n_errors, 1);
        conf_diags_done(&d);

        write_file("filter.d/jm.conf", "[Definition]\nfailregex = ^x <HOST>$\n\njournalmatch = _COMM=app +\n");
        write_file("jail.local", "[jm]\nenabled = true\nbackend = systemd\n");
        load_fail(&d);
        assert_diag_is(&d, "jail 'jm': 'journalmatch': empty journal match", "filter.d/jm.conf", 4, true);
        assert_int_equal(d.n_errors, 1);
        conf_diags_done(&d);

        /* the same filter in a jail that reads a file: its journalmatch is not used */
        write_file("jail.local", "[jm]\nenabled = true\nlogpath = /var/log/app.log\n");
        c = load_ok(&d);
        j = jail(c, "jm");
        assert_true(jail_reads_files(j));
        assert_string_equal(j->filter.journalmatch_file, path("filter.d/jm.conf"));
        assert_int_equal(j->filter.journalmatch_line, 4);
        config_free(c);
        conf_diags_done(&d);
}

/* Every time span stops at the longest element timeout the kernel takes (18446744073709 ms is
 * refused with ERANGE): refused at load with the value and its line, whatever the option. */
static void test_time_kernel_limit(void **state) {
        ConfDiags d = {};
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nenabled = true\nbantime = 600y\nfindtime = 18446744073709552\n"
                                 "bantime.maxtime = 18446744074\nbantime.rndtime = 99999999999999999999\n");
        write_file("nftjail.local", "[Definition]\ndbpurgeage = 585y\n");
        load_fail(&d);
#define TOO_LONG " is too long: at most 18446744073 seconds (about 584 years), as nf_tables refuses a timeout of " \
                 "18446744073709 ms or more"
        assert_diag_is(&d, "'bantime': '600y'" TOO_LONG, "jail.local", 3, true);
        assert_diag_is(&d, "'findtime': '18446744073709552'" TOO_LONG, "jail.local", 4, true);
        assert_diag_is(&d, "'bantime.maxtime': '18446744074'" TOO_LONG, "jail.local", 5, true);
        assert_diag_is(&d, "'bantime.rndtime': '99999999999999999999'" TOO_LONG, "jail.local", 6, true);
        assert_diag_is(&d, "'dbpurgeage': '585y'" TOO_LONG, "nftjail.local", 2, true);
#undef TOO_LONG
        assert_int_equal(d.n_errors, 5);
        conf_diags_done(&d);

        /* the limit itself is a ban time; permanent stays permanent */
        write_file("jail.local", "[sshd]\nenabled = true\nbantime = 18446744073\nfindtime = 584y\n"
                                 "[perm]\nenabled = true\nfilter = f1\nlogpath = /var/log/x.log\nbantime = -600y\n");
        write_file("nftjail.local", "[Definition]\ndbpurgeage = 18446744073s\n");
        c = load_ok(&d);
        assert_int_equal(jail(c, "sshd")->bantime_sec, 18446744073);
        assert_int_equal(jail(c, "sshd")->findtime_sec, 584LL * 31536000);
        assert_true(jail(c, "perm")->bantime_sec < 0);
        assert_int_equal(c->dbpurgeage_sec, 18446744073);
        config_free(c);
        conf_diags_done(&d);
}

static int collect_forgeable(const char *alt, const char *why, void *u) {
        char *out = u;

        snprintf(out + strlen(out), 1024 - strlen(out), "[%s|%s]", alt, why);
        return 0;
}

/* A journal jail's match must name the sender's uid in every alternative: what a local user
 * controls (_COMM, SYSLOG_IDENTIFIER, the unit's cgroup) is not enough alone. */
static void test_journalmatch_forgeable(void **state) {
        char out[1024] = "";
        ConfDiags d = {};
        Config *c;

        assert_int_equal(journal_match_forgeable("_SYSTEMD_UNIT=a.service _UID=0 + SYSLOG_IDENTIFIER=a _UID=107",
                                                 collect_forgeable, out), 0);
        assert_string_equal(out, "");
        assert_int_equal(journal_match_forgeable("_UID=0 + SYSLOG_IDENTIFIER=x MESSAGE_ID=1 SYSLOG_IDENTIFIER=y + _EXE=/x",
                                                 collect_forgeable, out), 0);
        assert_string_equal(out, "[SYSLOG_IDENTIFIER=x MESSAGE_ID=1 SYSLOG_IDENTIFIER=y|SYSLOG_IDENTIFIER is written by the "
                                 "sender itself; MESSAGE_ID is written by the sender itself][_EXE=/x|_EXE is the process "
                                 "name, path or command line, chosen by whoever starts a program (a copy of logger named "
                                 "sshd is enough)]");
        assert_null(journal_field_forgeable("_UID", 4));
        assert_string_equal(journal_field_forgeable("_HOSTNAME", 9), "not the sender's user");
        assert_int_equal(journal_match_forgeable("lowercase=x", collect_forgeable, out), -EINVAL);

        /* fail2ban's sshd journalmatch, copied over: one error per alternative, at its line */
        shipped_setup();
        write_file("filter.d/f2b.conf", "[Definition]\nfailregex = ^x <HOST>$\n"
                                        "journalmatch = _SYSTEMD_UNIT=sshd.service + _COMM=sshd\n");
        write_file("jail.local", "[f2b]\nenabled = true\nbackend = systemd\n");
        load_fail(&d);
        assert_diag_is(&d, "jail 'f2b': 'journalmatch': '_COMM=sshd' is forgeable by any local user: it has no _UID= "
                           "term, and _COMM is the process name, path or command line, chosen by whoever starts a "
                           "program (a copy of logger named sshd is enough); pair it with the uid of the service's "
                           "sender ('_COMM=sshd _UID=0' for a root daemon), or set journalmatch_forgeable = true in the "
                           "jail to accept it", "filter.d/f2b.conf", 3, true);
        assert_non_null(find_diag(&d, "jail 'f2b': 'journalmatch': '_SYSTEMD_UNIT=sshd.service' is forgeable by any "
                                      "local user: it has no _UID= term, and _SYSTEMD_UNIT is the sender's cgroup"));
        assert_int_equal(d.n_errors, 2);
        conf_diags_done(&d);

        /* accepted knowingly: warnings, and the jail loads */
        write_file("jail.local", "[f2b]\nenabled = true\nbackend = systemd\njournalmatch_forgeable = yes\n");
        c = load_ok(&d);
        assert_true(jail(c, "f2b")->journalmatch_forgeable);
        assert_diag(&d, "'_COMM=sshd' is forgeable by any local user, accepted as journalmatch_forgeable = true: it "
                        "has no _UID= term, and _COMM is", "filter.d/f2b.conf", 3, false);
        assert_int_equal(d.n, 2);
        config_free(c);
        conf_diags_done(&d);

        /* a jail that reads files does not use the journal's match */
        write_file("jail.local", "[f2b]\nenabled = true\nlogpath = /var/log/auth.log\n");
        c = load_ok(&d);
        assert_int_equal(d.n, 0);
        config_free(c);
        conf_diags_done(&d);
}

/* datepattern and logtimezone keep where they were written, for the messages of jail_compile() */
static void test_value_origins(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("filter.d/dp.conf", "[Definition]\nfailregex = ^x <HOST>$\ndatepattern = ^%%Y-%%m-%%d\n");
        write_file("jail.local", "[dp]\nenabled = true\nlogpath = /var/log/app.log\n"
                                 "[dp2]\nenabled = true\nfilter = dp\nlogpath = /var/log/app.log\n\n"
                                 "datepattern = {^LN-BEG}\nlogtimezone = UTC\n");
        c = load_ok(&d);
        j = jail(c, "dp");
        assert_string_equal(j->filter.datepattern, "^%Y-%m-%d");
        assert_string_equal(j->filter.datepattern_file, path("filter.d/dp.conf"));
        assert_int_equal(j->filter.datepattern_line, 3);
        assert_null(j->logtimezone);
        assert_null(j->logtimezone_file);
        j = jail(c, "dp2");
        assert_string_equal(j->filter.datepattern, "{^LN-BEG}");
        assert_string_equal(j->filter.datepattern_file, path("jail.local"));
        assert_int_equal(j->filter.datepattern_line, 9);
        assert_string_equal(j->logtimezone, "UTC");
        assert_string_equal(j->logtimezone_file, path("jail.local"));
        assert_int_equal(j->logtimezone_line, 10);
        config_free(c);
        conf_diags_done(&d);
}

/* What the daemon and the reporter warned about at start is warned about at load, so that
 * nftjail test-config shows it too. */
static void test_load_warnings(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("filter.d/nojm.conf", "[Definition]\nfailregex = ^x <HOST>$\n");
        write_file("jail.local", "[nojm]\nenabled = true\nbackend = systemd\n"
                                 "[sshd]\naction = %(action_abuseipdb)s[abuseipdb_apikey=\"no blanks\", abuseipdb_category=18]\n");
        c = load_ok(&d);
        assert_diag_is(&d, "jail 'nojm' has no journalmatch: it reads every journal entry, and any local user can "
                           "write lines that it matches", "jail.local", 1, false);
        assert_diag_is(&d, "jail 'sshd': 'abuseipdb_apikey' is not a plausible key (printable ASCII without blanks, "
                           "under 256 bytes), ignoring it", "jail.local", 5, false);
        assert_int_equal(d.n, 2);
        j = jail(c, "sshd");
        assert_true(j->abuseipdb);
        assert_null(j->abuseipdb_apikey);
        config_free(c);
        conf_diags_done(&d);

        /* a file jail needs no journalmatch */
        write_file("jail.local", "[nojm]\nenabled = true\nlogpath = /var/log/app.log\n");
        c = load_ok(&d);
        assert_int_equal(d.n, 0);
        config_free(c);
        conf_diags_done(&d);
}

static void test_ignoreip(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        char b[ADDR_PREFIX_STRLEN];
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nignoreip = 192.0.2.1,198.51.100.0/24 2001:db8::/32\n  203.0.113.7\nignoreself = false\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(j->n_ignoreip, 4);
        assert_string_equal(addr_prefix_to_string(&j->ignoreip[0], b, sizeof b), "192.0.2.1/32");
        assert_string_equal(addr_prefix_to_string(&j->ignoreip[1], b, sizeof b), "198.51.100.0/24");
        assert_string_equal(addr_prefix_to_string(&j->ignoreip[2], b, sizeof b), "2001:db8::/32");
        assert_string_equal(addr_prefix_to_string(&j->ignoreip[3], b, sizeof b), "203.0.113.7/32");
        assert_false(j->ignoreself);
        config_free(c);
        conf_diags_done(&d);
}

/* ---- actions ---- */

static void test_actions(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\naction = %(action_)s\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_true(j->action_ban);
        assert_false(j->abuseipdb);
        assert_int_equal(d.n, 0);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local", "[sshd]\naction = %(action_mw)s\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_true(j->action_ban);
        assert_false(j->abuseipdb);
        assert_diag(&d, "mail actions are not supported", "jail.conf", shipped_line("%(mta)s-whois["), false);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local",
                   "[sshd]\n"
                   "action = %(action_)s\n"
                   "         %(action_abuseipdb)s[abuseipdb_apikey=\"KEY\", abuseipdb_category=\"18,21\"]\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(d.n, 0);
        assert_true(j->action_ban);
        assert_true(j->abuseipdb);
        assert_string_equal(j->abuseipdb_apikey, "KEY");
        assert_string_equal(j->abuseipdb_categories, "18,21");
        assert_int_equal(j->n_ports, 1);
        config_free(c);
        conf_diags_done(&d);

        /* keys in [DEFAULT], plain fail2ban names, a list continued inside brackets */
        write_file("jail.local",
                   "[DEFAULT]\n"
                   "abuseipdb_apikey = K2\n"
                   "abuseipdb_category = 18, 22\n"
                   "[sshd]\n"
                   "action = iptables-multiport[name=SSH, port=\"ssh,2222\",\n"
                   "            protocol=tcp]\n"
                   "         %(action_abuseipdb)s\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_string_equal(j->abuseipdb_apikey, "K2");
        assert_string_equal(j->abuseipdb_categories, "18,22");
        assert_int_equal(j->n_ports, 2);
        assert_int_equal(j->ports[1], 2222);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local",
                   "[sshd]\n"                                                                     /* 1 */
                   "action = %(action_)s\n"                                                       /* 2 */
                   "         %(action_abuseipdb)s[abuseipdb_apikey=\"KEY\", abuseipdb_category=\"18,99\"]\n" /* 3 */
                   "         cloudflare\n"                                                        /* 4 */
                   "         pf[port=1]\n"                                                        /* 5 */
                   "         mail-whois[dest=x]\n");                                              /* 6 */
        load_fail(&d);
        assert_diag(&d, "'abuseipdb_category': '18,99'", "jail.local", 3, true);
        assert_diag(&d, "unsupported action 'cloudflare'", "jail.local", 4, true);
        assert_diag(&d, "unsupported action 'pf'", "jail.local", 5, true);
        assert_diag(&d, "mail actions are not supported", "jail.local", 6, false);
        assert_int_equal(d.n_errors, 3);
        conf_diags_done(&d);

        /* no action at all: ban */
        write_file("jail.local", "[sshd]\naction =\n");
        c = load_ok(&d);
        assert_true(jail(c, "sshd")->action_ban);
        config_free(c);
        conf_diags_done(&d);
}

/* ---- nftjail.conf, dump, formatting ---- */

static void test_daemon_conf(void **state) {
        ConfDiags d = {};
        Config *c;

        shipped_setup();
        write_file("nftjail.local", "[Definition]\nloglevel = DEBUG\nnft_file = my.nft\nlogtarget = SYSLOG\nfoo = 1\n");
        c = load_ok(&d);
        assert_int_equal(c->loglevel, LOG_DEBUG);
        assert_string_equal(c->nft_file, path("my.nft"));
        assert_diag(&d, "unknown option 'foo'", "nftjail.local", 5, false);
        assert_int_equal(d.n, 1);
        config_free(c);
        conf_diags_done(&d);

        write_file("nftjail.local", "[Definition]\nloglevel = LOUD\n");
        load_fail(&d);
        assert_diag(&d, "'loglevel': 'LOUD'", "nftjail.local", 2, true);
        conf_diags_done(&d);
}

static void test_dump(void **state) {
        ConfDiags d = {};
        char *out = NULL, line[PATH_MAX + 128];
        size_t len = 0;
        Config *c;
        FILE *f;

        shipped_setup();
        write_file("jail.local", "[proxmox]\nenabled = true\n[recidive]\n");
        c = load_ok(&d);
        f = open_memstream(&out, &len);
        assert_non_null(f);
        config_dump(c, f);
        fclose(f);
        snprintf(line, sizeof line, "    failregex %s:12: ^Failed password for .* from <HOST>\n", path("filter.d/sshd.conf"));
        assert_non_null(strstr(out, line));
        assert_non_null(strstr(out, "  ports: tcp 22\n"));
        assert_non_null(strstr(out, "  ports: tcp 443,80,8006\n"));
        assert_non_null(strstr(out, "  backend: systemd\n"));
        assert_non_null(strstr(out, "  bantime: 10m\n"));
        assert_non_null(strstr(out, "  ignoreip: 127.0.0.0/8 ::1/128\n"));
        assert_non_null(strstr(out, "  nft sets: v4_port v6_port_128 v6_port_64 v6_port\n"));
        assert_non_null(strstr(out, "  journalmatch: _SYSTEMD_UNIT=sshd.service _UID=0 + _COMM=sshd _UID=0\n"));
        free(out);
        config_free(c);
        conf_diags_done(&d);
}

static void test_diag_format(void **state) {
        ConfDiag a = { .file = (char *) "/etc/nftjail/jail.local", .line = 7, .error = true, .message = (char *) "bad" };
        ConfDiag b = { .file = (char *) "/etc/nftjail", .message = (char *) "hmm" };
        ConfDiag e = { .error = true, .message = (char *) "oops" };
        char buf[128];

        assert_string_equal(conf_diag_format(&a, buf, sizeof buf), "/etc/nftjail/jail.local:7: error: bad");
        assert_string_equal(conf_diag_format(&b, buf, sizeof buf), "/etc/nftjail: warning: hmm");
        assert_string_equal(conf_diag_format(&e, buf, sizeof buf), "error: oops");
        assert_int_equal(backend_from_string("systemd"), BACKEND_SYSTEMD);
        assert_int_equal(backend_from_string("gamin"), -EINVAL);
        assert_string_equal(backend_to_string(BACKEND_PYINOTIFY), "pyinotify");
}

static void test_empty_dir(void **state) {
        ConfDiags d = {};

        load_fail(&d);
        assert_non_null(find_diag(&d, "no jail.conf"));
        assert_string_equal(find_diag(&d, "no jail.conf")->file, tmpdir);
        conf_diags_done(&d);
}

/* Deterministic mutations of a jail.local and a filter: whatever the bytes, config_load returns 0
 * or -EINVAL with diags, and never crashes (run under ASan/UBSan in CI). */
static void test_mutations(void **state) {
        static const char base[] =
                "[DEFAULT]\nbantime = 1h\nx = %(y)s\ny = v\n[sshd]\nenabled = true\nport = ssh,8000:8002\n"
                "action = %(action_)s\n  %(action_abuseipdb)s[abuseipdb_apikey=\"K\", abuseipdb_category=\"18,21\"]\n"
                "ignoreip = 192.0.2.0/24 2001:db8::1\nfilter = sshd[mode=aggressive]\n[INCLUDES]\nbefore = x.conf\n";
        static const char *const pieces[] = { "%(", ")s", "%%", "[", "]", "<", ">", "\n", "\n  ", "=", ":", ";", "#",
                                              "\"", ",", "\0", "\xff", "<mode>", "%(x)s", "known/" };
        uint64_t seed = 0x9e3779b97f4a7c15ULL;
        char buf[2048];

        shipped_setup();
        for (unsigned it = 0; it < 400; it++) {
                size_t len = sizeof base - 1;
                ConfDiags d = {};
                Config *c = NULL;
                int r;

                memcpy(buf, base, len);
                for (unsigned m = 0; m < 1 + it % 8; m++) {
                        const char *pc;
                        size_t pos, pl;

                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        pos = (size_t) (seed >> 33) % (len + 1);
                        pc = pieces[(seed >> 20) % ELEMENTSOF(pieces)];
                        pl = pc[0] ? strlen(pc) : 1;
                        if (len + pl >= sizeof buf)
                                break;
                        memmove(buf + pos + pl, buf + pos, len - pos);
                        memcpy(buf + pos, pc, pl);
                        len += pl;
                        if ((seed >> 10) % 3 == 0 && len > 1) { /* and delete a byte */
                                pos = (size_t) (seed >> 40) % len;
                                memmove(buf + pos, buf + pos + 1, len - pos - 1);
                                len--;
                        }
                }
                write_bytes("jail.local", buf, len);
                write_bytes(it % 2 ? "filter.d/sshd.local" : "x.conf", buf, len);
                r = config_load(tmpdir, &c, &d);
                assert_true(r == 0 || r == -EINVAL);
                assert_true(r == 0 ? c != NULL : (c == NULL && d.n_errors > 0));
                config_free(c);
                conf_diags_done(&d);
        }
}

#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)

static void test_bantime_increment(void **state) {
        ConfDiags d = {};
        const JailConf *j;
        Config *c;

        shipped_setup();
        write_file("jail.local", "[DEFAULT]\nbantime.increment = true\nbantime.factor = 2\n"
                                 "bantime.formula = ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor\n"
                                 "bantime.maxtime = 1w\nbantime.rndtime = 5m\nbantime.overalljails = true\n"
                                 "[sshd]\nbantime.multipliers = 1 5 30 60\n");
        c = load_ok(&d);
        assert_null(find_diag(&d, "bantime"));
        j = jail(c, "sshd");
        assert_true(j->increment.enabled);
        assert_true(j->increment.factor == 2);
        assert_string_equal(j->increment.formula, "ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor");
        assert_int_equal(j->increment.maxtime_sec, 604800);
        assert_int_equal(j->increment.rndtime_sec, 300);
        assert_true(j->increment.overalljails);
        assert_int_equal(j->increment.n_multipliers, 4);
        assert_int_equal(j->increment.multipliers[3], 60);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local", "[sshd]\n"                                  /* 1 */
                                 "bantime.increment = maybe\n"               /* 2 */
                                 "bantime.formula = __import__('os').system('id')\n" /* 3 */
                                 "bantime.factor = -1\n"                     /* 4 */
                                 "bantime.multipliers = 1 x\n");             /* 5 */
        load_fail(&d);
        assert_diag(&d, "'bantime.increment': 'maybe' is not a boolean", "jail.local", 2, true);
        assert_diag(&d, "'bantime.formula': unknown function", "jail.local", 3, true);
        assert_diag(&d, "'bantime.factor': '-1'", "jail.local", 4, true);
        assert_diag(&d, "'bantime.multipliers': 'x'", "jail.local", 5, true);
        conf_diags_done(&d);

        /* the other boolean and the maxlines override, through the same helpers */
        write_file("jail.local", "[sshd]\n"                                  /* 1 */
                                 "ignoreself = perhaps\n"                    /* 2 */
                                 "maxlines = 0\n"                            /* 3 */
                                 "bantime.overalljails = 2\n");              /* 4 */
        load_fail(&d);
        assert_diag(&d, "'ignoreself': 'perhaps' is not a boolean", "jail.local", 2, true);
        assert_diag(&d, "'maxlines': '0' is not a number in 1..1000", "jail.local", 3, true);
        assert_diag(&d, "'bantime.overalljails': '2' is not a boolean", "jail.local", 4, true);
        conf_diags_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ini_continuation),
                cmocka_unit_test(test_ini_errors),
                cmocka_unit_test(test_ini_hostile),
                T(test_hostile_files),
                T(test_includes),
                T(test_include_errors),
                T(test_interpolation),
                T(test_known),
                T(test_filter_default_mode),
                T(test_filter_options),
                T(test_filter_tags),
                T(test_filter_sections),
                T(test_unknown_filter),
                T(test_shipped),
                T(test_local_overrides),
                T(test_enabled),
                T(test_ports),
                T(test_bad_values),
                T(test_jail_limits),
                T(test_journalmatch_checked),
                T(test_time_kernel_limit),
                T(test_journalmatch_forgeable),
                T(test_value_origins),
                T(test_load_warnings),
                T(test_ignoreip),
                T(test_actions),
                T(test_daemon_conf),
                T(test_dump),
                cmocka_unit_test(test_diag_format),
                cmocka_unit_test(test_bantime_increment),
                T(test_empty_dir),
                T(test_mutations),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
