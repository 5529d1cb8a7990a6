/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The checks of jail values at load (limits, journal matches, where each value came from,
 * warnings), actions, daemon settings, the dump, bantime.increment and hostile mutations. */
#include "conf-fixture.h"

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

        /* a jail that reads files does not use the journal's match (but is told that its syslog file is
         * forgeable too) */
        write_file("jail.local", "[f2b]\nenabled = true\nlogpath = /var/log/auth.log\n");
        c = load_ok(&d);
        assert_diag(&d, "jail 'f2b': logpath '/var/log/auth.log' reads the syslog file", "jail.local", 3, false);
        assert_int_equal(d.n, 1);
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

/* A file jail that reads a syslog file (path or glob) while it has a journal match for the same
 * service gets a warning at the logpath's line: any local user writes into those files. Not for
 * other files, a jail without a journalmatch, or a journal jail. */
static void test_logpath_syslog_warning(void **state) {
        ConfDiags d = {};
        Config *c;

        shipped_setup();
        write_file("jail.local", "[sshd]\nbackend = polling\nlogpath = /var/log/auth.log\n"
                                 "[proxmox]\nenabled = true\nlogpath = /var/log/app.log\n  /var/log/daemon.lo?\n"
                                 "[plain]\nenabled = true\nfilter = f1\nlogpath = /var/log/messages\n"
                                 "[both]\nenabled = true\nfilter = proxmox\nbackend = systemd\nlogpath = /var/log/syslog\n");
        c = load_ok(&d);
        assert_diag_is(&d, "jail 'sshd': logpath '/var/log/auth.log' reads the syslog file /var/log/auth.log, where any "
                           "local user can write lines (logger -p auth.info -t 'sshd[1]' ...) that ban any address; the "
                           "journal records who sent each line: use backend = systemd (the jail's journalmatch), and "
                           "keep management networks in ignoreip", "jail.local", 3, false);
        assert_diag_is(&d, "jail 'proxmox': logpath '/var/log/daemon.lo?' reads the syslog file /var/log/daemon.log, "
                           "where any local user can write lines (logger -p auth.info -t 'sshd[1]' ...) that ban any "
                           "address; the journal records who sent each line: use backend = systemd (the jail's "
                           "journalmatch), and keep management networks in ignoreip", "jail.local", 7, false);
        assert_int_equal(d.n, 2);
        assert_int_equal(d.n_errors, 0);
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
        assert_int_equal(d.n, 0);
        assert_true(j->mail.enabled);
        assert_false(j->mail.lines);
        assert_true(j->mail.whois);
        assert_string_equal(j->mail.dest, "root@localhost");
        assert_string_equal(j->mail.sender, "root@localhost");
        assert_string_equal(j->mail.sendername, "nftjail");
        assert_int_equal(j->mail.rate, 10);
        assert_int_equal(j->mail.rate_period_sec, 3600);
        config_free(c);
        conf_diags_done(&d);

        /* the guide's Drupal case: destemail in the jail, mailrate in [DEFAULT] */
        write_file("jail.local", "[DEFAULT]\nmailrate = 3\nsendername = Web Guard\n"
                                 "[sshd]\naction = %(action_mwl)s\ndestemail = admin@example.org, ops@example.org\n"
                                 "mailrate_period = 600\n");
        c = load_ok(&d);
        j = jail(c, "sshd");
        assert_int_equal(d.n, 0);
        assert_true(j->action_ban);
        assert_true(j->mail.lines);
        assert_string_equal(j->mail.dest, "admin@example.org, ops@example.org");
        assert_string_equal(j->mail.sendername, "Web Guard");
        assert_int_equal(j->mail.rate, 3);
        assert_int_equal(j->mail.rate_period_sec, 600);
        config_free(c);
        conf_diags_done(&d);

        /* a fail2ban action.d file of the admin's: includes, [Init], the action line's options;
         * runtime tags stay for the action runner */
        {
                char p[PATH_MAX];
                const JailConf *jj;

                snprintf(p, sizeof p, "%s/action.d", tmpdir);
                (void) mkdir(p, 0755);
                write_file("action.d/notify-common.conf", "[Definition]\nactionstop = echo stop <name>\n");
                write_file("action.d/notify.conf",
                           "[INCLUDES]\nbefore = notify-common.conf\n"
                           "[Definition]\nnorestored = 1\n"
                           "actionban = printf '%%s %%s\\n' <ip> '<F-USER>' >> <logfile>\n"
                           "            echo <port> \"<matches>\"\n"
                           "[Init]\nlogfile = /var/log/notify.log\nport = 80\n");
                write_file("jail.local", "[sshd]\naction = %(action_)s\n         notify[logfile=/var/tmp/n.log]\n");
                c = load_ok(&d);
                jj = jail(c, "sshd");
                assert_int_equal(d.n, 0);
                assert_true(jj->action_ban);
                assert_int_equal(jj->n_action_files, 1);
                assert_string_equal(jj->action_files[0].name, "notify");
                assert_true(jj->action_files[0].norestored);
                assert_string_equal(jj->action_files[0].cmd[ACTION_CMD_BAN],
                                    "printf '%s %s\\n' <ip> '<F-USER>' >> /var/tmp/n.log\necho 80 \"<matches>\"");
                assert_string_equal(jj->action_files[0].cmd[ACTION_CMD_STOP], "echo stop <name>");
                assert_null(jj->action_files[0].cmd[ACTION_CMD_UNBAN]);
                config_free(c);
                conf_diags_done(&d);
        }

        /* what could end or add a header is refused, with the jail's action line */
        {
                static const char *const bad[] = {
                        "destemail = admin@example.org>\n",
                        "destemail = admin@example.org Bcc: x@example.org\n",
                        "destemail = <admin@example.org>\n",
                        "destemail = -oQ/tmp@example.org\n",
                        "sender = a@b@example.org\n",
                        "sender = \"x\"@example.org\n",
                        "sendername = Evil\" <x@example.org>\n",
                        "sendername = back\\slash\n",
                        "mailrate = 0\n",
                };
                for (size_t k = 0; k < ELEMENTSOF(bad); k++) {
                        _cleanup_free_ char *text = NULL;

                        assert_true(asprintf(&text, "[sshd]\naction = %%(action_mw)s\n%s", bad[k]) > 0);
                        write_file("jail.local", text);
                        load_fail(&d);
                        conf_diags_done(&d);
                }
        }

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
        /* the key is where it is written, [DEFAULT]'s line 2, not the action line (whose
         * definition, action_abuseipdb, is in jail.conf) */
        assert_non_null(strstr(j->abuseipdb_apikey_file, "jail.local"));
        assert_int_equal(j->abuseipdb_apikey_line, 2);
        /* and the host check names that line once, the file being world-readable */
        chmod(path("jail.local"), 0644);
        assert_int_equal(config_check_host(c, &d), 0);
        assert_diag(&d, "the AbuseIPDB key is written here, in a file anyone on this host can read (mode 0644)",
                    "jail.local", 2, false);
        assert_int_equal(d.n, 1);
        config_free(c);
        conf_diags_done(&d);
        chmod(path("jail.local"), 0600);
        c = load_ok(&d);
        assert_int_equal(config_check_host(c, &d), 0);
        assert_int_equal(d.n, 0);
        config_free(c);
        conf_diags_done(&d);

        write_file("jail.local",
                   "[sshd]\n"                                                                     /* 1 */
                   "action = %(action_)s\n"                                                       /* 2 */
                   "         %(action_abuseipdb)s[abuseipdb_apikey=\"KEY\", abuseipdb_category=\"18,99\"]\n" /* 3 */
                   "         cloudflare\n"                                                        /* 4 */
                   "         pf[port=1]\n"                                                        /* 5 */
                   "         xarf-login-attack[dest=x]\n");                                       /* 6 */
        load_fail(&d);
        assert_diag(&d, "'abuseipdb_category': '18,99'", "jail.local", 3, true);
        assert_diag(&d, "unsupported action 'cloudflare'", "jail.local", 4, true);
        assert_diag(&d, "unsupported action 'pf'", "jail.local", 5, true);
        assert_diag(&d, "reports to third parties are not supported", "jail.local", 6, false);
        assert_int_equal(d.n_errors, 3);
        conf_diags_done(&d);

        /* no action at all: ban */
        write_file("jail.local", "[sshd]\naction =\n");
        c = load_ok(&d);
        assert_true(jail(c, "sshd")->action_ban);
        config_free(c);
        conf_diags_done(&d);
}

/* Every shipped jail enabled with the shipped filters: the configuration loads, and
 * %(action_abuseipdb)s without abuseipdb_category takes the jail's own default categories. */
static void test_shipped_categories(void **state) {
        static const struct {
                const char *jail, *categories;
        } want[] = {
                { "sshd", "18,22" },          { "proxmox", "18,21" },      { "recidive", "18" },
                { "wordpress", "18,21" },     { "nginx-http-auth", "18,21" }, { "nginx-limit-req", "21" },
                { "nginx-botsearch", "21" },  { "apache-auth", "18,21" },  { "apache-badbots", "19" },
                { "postfix", "18" },          { "dovecot", "18" },         { "proftpd", "5,18" },
                { "vsftpd", "5,18" },         { "pure-ftpd", "5,18" },     { "mysqld-auth", "18" },
                { "pam-generic", "18" },
        };
        static const char *filters[] = { "common", "sshd", "proxmox", "recidive", "wordpress", "nginx-http-auth",
                                         "nginx-limit-req", "nginx-botsearch", "apache-auth", "apache-badbots",
                                         "postfix", "dovecot", "proftpd", "vsftpd", "pure-ftpd", "mysqld-auth",
                                         "pam-generic" };
        char local[8192], name[128];
        size_t n = 0;
        ConfDiags d = {};
        Config *c;

        copy_shipped("jail.conf");
        copy_shipped("nftjail.conf");
        for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++) {
                snprintf(name, sizeof name, "filter.d/%s.conf", filters[i]);
                copy_shipped(name);
        }
        n += (size_t) snprintf(local + n, sizeof local - n,
                               "[DEFAULT]\nabuseipdb_apikey = K\naction = %%(action_)s\n         %%(action_abuseipdb)s\n");
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
                n += (size_t) snprintf(local + n, sizeof local - n, "[%s]\nenabled = true\n", want[i].jail);
        assert_true(n < sizeof local);
        write_file("jail.local", local);
        c = load_ok(&d);
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
                const JailConf *j = jail(c, want[i].jail);
                assert_non_null(j);
                assert_true(j->abuseipdb);
                assert_string_equal(j->abuseipdb_categories, want[i].categories);
        }
        config_free(c);
        conf_diags_done(&d);

        /* a jail's own choice wins over its default */
        write_file("jail.local", "[wordpress]\nenabled = true\naction = %(action_)s\n"
                                 "         %(action_abuseipdb)s[abuseipdb_apikey=\"K\", abuseipdb_category=\"21\"]\n");
        c = load_ok(&d);
        assert_string_equal(jail(c, "wordpress")->abuseipdb_categories, "21");
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
        /* a number is a syslog level, 0..7: a single digit above 7 is refused too */
        write_file("nftjail.local", "[Definition]\nloglevel = 7\n");
        c = load_ok(&d);
        assert_int_equal(c->loglevel, LOG_DEBUG);
        config_free(c);
        conf_diags_done(&d);
        write_file("nftjail.local", "[Definition]\nloglevel = 9\n");
        load_fail(&d);
        assert_diag(&d, "'loglevel': '9'", "nftjail.local", 2, true);
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
                T(test_jail_limits),
                T(test_journalmatch_checked),
                T(test_time_kernel_limit),
                T(test_journalmatch_forgeable),
                T(test_value_origins),
                T(test_load_warnings),
                T(test_logpath_syslog_warning),
                T(test_ignoreip),
                T(test_actions),
                T(test_shipped_categories),
                T(test_daemon_conf),
                T(test_dump),
                cmocka_unit_test(test_diag_format),
                cmocka_unit_test(test_bantime_increment),
                T(test_empty_dir),
                T(test_mutations),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
