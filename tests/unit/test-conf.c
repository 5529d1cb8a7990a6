/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The INI reader, includes, interpolation, filters, and the jail options read as written. */
#include "conf-fixture.h"

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
        /* the unknown backend falls back to auto, which reads the sshd jail's logpath */
        assert_non_null(find_diag(&d, "jail 'sshd': logpath '/var/log/auth.log' reads the syslog file"));
        assert_int_equal(d.n_errors, 7);
        assert_int_equal(d.n, 10);
        conf_diags_done(&d);
}

/* Asserts a diag with exactly this message, at rel:line. */
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
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
