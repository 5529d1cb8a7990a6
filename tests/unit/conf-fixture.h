/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The fixture of the configuration tests (test-conf.c, test-conf-jail.c): a config dir per
 * test, files written by the test, loads that must pass or fail, diagnostics looked up. */
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

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p);
}

static inline int setup(void **state) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/test-conf-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        return 0;
}

static inline int teardown(void **state) {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

static inline char *path(const char *rel) {
        static char p[4][PATH_MAX];
        static unsigned i;

        i = (i + 1) % 4;
        snprintf(p[i], sizeof p[i], "%s/%s", tmpdir, rel);
        return p[i];
}

static inline void write_bytes(const char *rel, const char *data, size_t len) {
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

static inline void write_file(const char *rel, const char *data) {
        write_bytes(rel, data, strlen(data));
}

static inline void copy_shipped(const char *name) {
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
static inline unsigned shipped_line(const char *needle) {
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

static inline void write_filters(void) {
        write_file("filter.d/sshd.conf", sshd_filter);
        write_file("filter.d/common.conf", common_filter);
        write_file("filter.d/proxmox.conf",
                   "[Definition]\n"
                   "failregex = pvedaemon\\[\\d+\\]: authentication failure; rhost=<HOST>\n"
                   "journalmatch = _SYSTEMD_UNIT=pvedaemon.service _UID=0\n");
        write_file("filter.d/f1.conf", "[Definition]\nfailregex = ^fail from <HOST>$\n");
}

/* The shipped jail.conf plus our filters. */
static inline void shipped_setup(void) {
        copy_shipped("jail.conf");
        copy_shipped("nftjail.conf");
        write_filters();
}

static inline const ConfDiag *find_diag(const ConfDiags *d, const char *needle) {
        for (size_t i = 0; i < d->n; i++)
                if (strstr(d->v[i].message, needle))
                        return &d->v[i];
        return NULL;
}

static inline void print_diags(const ConfDiags *d) {
        char b[1024];

        for (size_t i = 0; i < d->n; i++)
                fprintf(stderr, "  diag: %s\n", conf_diag_format(&d->v[i], b, sizeof b));
}

/* Asserts a diag whose message contains needle, at rel:line. */
static inline void assert_diag(const ConfDiags *d, const char *needle, const char *rel, unsigned line, bool error) {
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

static inline Config *load_ok(ConfDiags *d) {
        Config *c = NULL;
        int r = config_load(tmpdir, &c, d);

        if (r < 0)
                print_diags(d);
        assert_int_equal(r, 0);
        assert_non_null(c);
        return c;
}

static inline void load_fail(ConfDiags *d) {
        Config *c = NULL;

        assert_int_equal(config_load(tmpdir, &c, d), -EINVAL);
        assert_null(c);
        assert_true(d->n_errors > 0);
}

static inline const JailConf *jail(const Config *c, const char *name) {
        for (size_t i = 0; i < c->n_jails; i++)
                if (strcmp(c->jails[i].name, name) == 0)
                        return &c->jails[i];
        return NULL;
}

/* ---- INI reader ---- */


#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
