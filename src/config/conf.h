/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>
#include <sys/types.h>

#include "addr.h"
#include "prelude.h"

/* Reads /etc/nftjail the fail2ban way (nftjail.conf, jail.conf, jail.d/NAME.conf, jail.local,
 * jail.d/NAME.local, filter.d/NAME.conf + NAME.local, [INCLUDES], %(name)s interpolation, [Init],
 * filter options name[key=value]) into an immutable Config. Never logs: every problem becomes a
 * ConfDiag naming file, line and value. */

typedef enum Backend {
        BACKEND_AUTO,
        BACKEND_SYSTEMD,
        BACKEND_POLLING,
        BACKEND_PYINOTIFY,
        _BACKEND_MAX,
        _BACKEND_INVALID = -EINVAL,
} Backend;

const char *backend_to_string(Backend b);
Backend backend_from_string(const char *s);

/* One regex as written, after interpolation, before <HOST> expansion. */
typedef struct FilterRegex {
        char *pattern;
        char *file;     /* where it was written */
        unsigned line;  /* 1-based line of the option (or its continuation line) */
} FilterRegex;

typedef struct FilterConf {
        char *name;             /* "sshd", or the path/literal given */
        char *file;             /* main filter file, NULL for a literal regex */
        FilterRegex *failregex;
        size_t n_failregex;
        FilterRegex *ignoreregex;
        size_t n_ignoreregex;
        FilterRegex prefregex;  /* pattern NULL when unset */
        char *datepattern;      /* NULL when unset; only match/ can compile it (date_pattern_new()) */
        char *datepattern_file; /* where datepattern was written (the filter's or the jail's); NULL when unset */
        unsigned datepattern_line;
        char *journalmatch;     /* raw fail2ban syntax ("F=v F2=v + F=v"), NULL when unset */
        char *journalmatch_file; /* where journalmatch was written; NULL when unset */
        unsigned journalmatch_line;
        unsigned maxlines;      /* 1 unless set */
} FilterConf;

/* fail2ban's bantime.* options: longer bans for repeat offenders (increment.c computes them). */
typedef struct BanIncrement {
        bool enabled;           /* bantime.increment */
        double factor;          /* bantime.factor, default 1 */
        char *formula;          /* bantime.formula as written; NULL = the default formula */
        int64_t *multipliers;   /* bantime.multipliers; when set, used instead of the formula */
        size_t n_multipliers;
        int64_t maxtime_sec;    /* bantime.maxtime, 0 = no limit */
        int64_t rndtime_sec;    /* bantime.rndtime, 0 = none */
        bool overalljails;      /* bantime.overalljails: count the bans of every jail */
} BanIncrement;

/* A jail's limits, checked at load so that every consumer may rely on them: the daemon's
 * tracker keeps at most JAIL_MAXRETRY_MAX failures per address (in a uint8_t ring), and the
 * jail's name is the comment of each of its nft elements, which nft/ refuses beyond 127 bytes
 * (NFT_COMMENT_MAX). */
#define JAIL_MAXRETRY_MAX 255U
#define JAIL_NAME_MAX 127U

/* A jail's mail action: every string validated at load (no CR/LF, no blanks in addresses, a
 * sender name of printable ASCII without quotes), so each may go into a header as it is. */
typedef struct JailMail {
        bool enabled;
        bool lines;             /* *-lines: the matched lines in the body */
        bool whois;             /* *-whois*: whois output in the body, when /usr/bin/whois exists */
        char *dest;             /* destemail: one or more addresses, comma-separated */
        char *sender;           /* an address */
        char *sendername;       /* a display name */
        unsigned rate;          /* mails per jail per rate_period_sec before the rest go to a digest */
        unsigned rate_period_sec;
} JailMail;

#define MAIL_RATE_DEFAULT 10U
#define MAIL_RATE_PERIOD_DEFAULT 3600U

/* A fail2ban action.d file the jail runs: its commands with [Init] and the action line's options
 * interpolated, runtime tags (<ip>, <matches>, <F-USER>, ...) left for src/actions. */
typedef enum ActionCmd {
        ACTION_CMD_START,
        ACTION_CMD_STOP,
        ACTION_CMD_CHECK,
        ACTION_CMD_BAN,
        ACTION_CMD_UNBAN,
        ACTION_CMD_FLUSH,
        _ACTION_CMD_MAX,
        _ACTION_CMD_INVALID = -EINVAL,
} ActionCmd;

typedef struct ActionFile {
        char *name;             /* "my-notify" */
        char *file;             /* action.d/my-notify.conf */
        char *cmd[_ACTION_CMD_MAX]; /* NULL: not set */
        bool norestored;
} ActionFile;

void action_file_done(ActionFile *a);

/* A webhook: where and how ban and unban events are POSTed (src/reporter/webhook.c). Checked at
 * load: the URL (webhook_url_check()), the headers (a token name and printable ASCII). */
typedef enum WebhookFormat {
        WEBHOOK_FORMAT_JSON,
        WEBHOOK_FORMAT_NTFY,
        WEBHOOK_FORMAT_SLACK,
        _WEBHOOK_FORMAT_MAX,
        _WEBHOOK_FORMAT_INVALID = -EINVAL,
} WebhookFormat;

const char *webhook_format_to_string(WebhookFormat f);
WebhookFormat webhook_format_from_string(const char *s);

#define WEBHOOK_URL_MAX 2048U
#define WEBHOOK_NAME_MAX 64U
#define WEBHOOK_HEADERS_MAX 8U
#define WEBHOOK_HEADER_MAX 1024U
#define WEBHOOK_TIMEOUT_DEFAULT 10U
#define WEBHOOK_TIMEOUT_MAX 120U

typedef struct WebhookConf {
        char *id;               /* NAME of a [webhook NAME] section; "JAIL/N" for the Nth inline one */
        char *url;              /* may hold a secret (Slack's): never logged whole */
        WebhookFormat format;
        char **headers;         /* "Name: value", NULL-terminated; may hold secrets: never logged */
        char *token_file;       /* absolute path; its content is sent as "Authorization: Bearer ..." */
        unsigned timeout_sec;
        char *file;             /* where it was defined */
        unsigned line;
} WebhookConf;

void webhook_conf_done(WebhookConf *w);
/* Deep copy. Returns 0 or -ENOMEM. */
int webhook_conf_copy(const WebhookConf *w, WebhookConf *ret);
/* NULL when url is acceptable as a webhook (https://HOST[:PORT][/PATH][?QUERY], or http:// to
 * localhost, 127.0.0.0/8 or [::1]; printable ASCII, at most WEBHOOK_URL_MAX bytes, no userinfo,
 * no fragment), else a static description of what is wrong. */
const char *webhook_url_check(const char *url);
/* "scheme://host[:port]/..." of url into buf: what may be logged (Slack puts its secret in the path). */
char *webhook_url_redact(const char *url, char *buf, size_t len);

typedef struct JailConf {
        char *name;             /* at most JAIL_NAME_MAX bytes */
        char *file;             /* file and line of the [name] section header */
        unsigned line;
        FilterConf filter;
        Backend backend;
        char *journalmatch;     /* effective: jail's own, else the filter's; NULL = none. For a journal
                                 * jail every alternative has a _UID= term, unless journalmatch_forgeable */
        bool journalmatch_forgeable; /* the admin accepts alternatives without _UID= (warned at load) */
        char **logpath;         /* NULL-terminated, may be empty */
        char *logpath_file;     /* where logpath was written (its first line); NULL when unset */
        unsigned logpath_line;
        bool latin1;            /* logencoding = latin-1 (else UTF-8/ASCII: lines as they are) */
        char *logtimezone;      /* as written, NULL when unset; checked by date_pattern_new() */
        char *logtimezone_file; /* where logtimezone was written; NULL when unset */
        unsigned logtimezone_line;
        uint16_t *ports;        /* host order, deduplicated, in the order written */
        size_t n_ports;
        bool allports;          /* no port list, or an *-allports / recidive-style action */
        uint8_t protocol;       /* IPPROTO_TCP (default), IPPROTO_UDP, IPPROTO_SCTP */
        unsigned maxretry;      /* 1..JAIL_MAXRETRY_MAX */
        int64_t findtime_sec;   /* > 0 */
        int64_t bantime_sec;    /* > 0, or < 0 = permanent */
        AddrPrefix *ignoreip;
        size_t n_ignoreip;
        bool ignoreself;
        bool action_ban;        /* an nft/iptables ban action is configured (false: log only) */
        bool abuseipdb;         /* %(action_abuseipdb)s or abuseipdb[...] present */
        char *abuseipdb_categories; /* "18,22" as written, validated digits and commas; NULL if none */
        char *abuseipdb_apikey;     /* as written in the jail, a plausible key; NULL if none */
        char *abuseipdb_apikey_file; /* where it is written: its own option line, else the action line */
        unsigned abuseipdb_apikey_line;
        ActionFile *action_files; /* action.d files the jail runs, in the order written */
        size_t n_action_files;
        JailMail mail;          /* %(action_mw)s, %(action_mwl)s, sendmail-*, mail-* */
        WebhookConf *webhooks;  /* webhook[url=...] and webhook[name=NAME] actions, copies */
        size_t n_webhooks;
        BanIncrement increment;
        bool dryrun;            /* dryrun = true (or nftjaild --dry-run): "would ban" logged and counted, no
                                 * element, report, mail, action or webhook */
        uint8_t ipv6_prefix;    /* IPv6 bans cover the attacker's /ipv6_prefix (default 64; 128 = one address) */
} JailConf;

/* A jail's abuseipdb_apikey is shorter than this (the reporter's key buffer) or ignored. */
#define ABUSEIPDB_KEY_MAX 256U

/* The daemon-wide [abuseipdb] section of nftjail.conf. */
typedef struct AbuseIPDBConf {
        bool enabled;           /* default true: jails with the action report */
        char *url;              /* API base, no trailing '/'; https, or http to a loopback host */
        char *apikey_file;      /* NULL: $CREDENTIALS_DIRECTORY/abuseipdb_apikey, else the jail's key */
        unsigned timeout_sec;   /* total per request, default 30 */
        unsigned daily_quota;   /* default 1000 (the free tier) */
        char *comment;          /* template, NULL: the built-in one */
} AbuseIPDBConf;

/* fail2ban's backend = auto reads the files of logpath when there are any, else the journal. */
bool jail_reads_files(const JailConf *jc);

/* Whether url is acceptable: https://..., or http:// to localhost/127.x/[::1]. */
bool abuseipdb_url_ok(const char *url);

/* [fleet] of nftjail.conf(.local): bans shared with other hosts through NATS JetStream
 * (docs/FLEET.md). Every value checked here; the fleet thread only connects. */
#define FLEET_NAME_MAX 64U
#define FLEET_URLS_MAX 16U
#define FLEET_URL_MAX 256U
#define FLEET_RATE_DEFAULT 6000U
#define FLEET_RATE_PERIOD_DEFAULT 60U
#define FLEET_MAX_BANTIME_DEFAULT (7 * 86400)

typedef struct FleetConf {
        bool enabled;
        char **urls;            /* NULL-terminated, nats://host:port or tls://host:port, at least one when enabled */
        char *name;             /* this node, [A-Za-z0-9_-]{1,64}: a token of its subjects; default the host name */
        char *user;             /* with password_file; NULL = none */
        char *password_file;
        char *creds_file;       /* NATS JWT/NKEY credentials; excludes user */
        char *tls_ca, *tls_cert, *tls_key; /* NULL: none (tls_cert and tls_key go together) */
        char **share;           /* jails whose bans are published; NULL = all */
        char *share_file;       /* where share was written, for a warning naming an unknown jail */
        unsigned share_line;
        bool accept;            /* apply the other nodes' bans; default true */
        AddrPrefix *ignoreip;   /* fleet_ignoreip, plus the literal addresses of the servers in urls */
        size_t n_ignoreip;
        uint8_t max_prefix4;    /* fleet_max_prefix: no remote IPv4 prefix shorter (wider); default 24 */
        uint8_t max_prefix6;    /* default 48 */
        int64_t max_bantime_sec; /* fleet_max_bantime: remote bans are clamped to it; default 1w */
        unsigned rate;          /* fleet_rate: remote bans taken per origin per rate_period_sec */
        unsigned rate_period_sec;
        unsigned stream_replicas; /* stream_replicas: Replicas of the stream the daemon creates, 1..5; default 1 */
} FleetConf;

/* Whether s may name a fleet node ([A-Za-z0-9_-]{1,64}: it becomes a subject token). */
bool fleet_name_ok(const char *s);
/* A deep copy of src (but share, which only the main thread needs) for the fleet thread, and its
 * destructor. Returns 0 or -ENOMEM (dst then half-built: fleet_conf_done() it). */
int fleet_conf_copy(FleetConf *dst, const FleetConf *src);
void fleet_conf_done(FleetConf *f);
/* Whether jail j's bans are published (share). */
bool fleet_shares_jail(const FleetConf *f, const char *jail);

typedef struct Config {
        char *dir;              /* config directory as given */
        char *nft_file;         /* [Definition] nft_file in nftjail.conf; default NFTJAIL_NFT_FILE */
        int loglevel;           /* syslog level, default LOG_INFO */
        int64_t dbpurgeage_sec; /* [Definition] dbpurgeage: ban history older is deleted; default 1d */
        AbuseIPDBConf abuseipdb;
        WebhookConf *webhooks;  /* [webhook NAME] sections of nftjail.conf/.local */
        size_t n_webhooks;
        FleetConf fleet;
        char *socket_group;     /* [Definition] socket_group: may use read-only control commands; NULL = root only */
        char *metrics_textfile; /* [Definition] metrics_textfile: an absolute path ending in .prom; NULL = none */
        gid_t socket_gid;       /* resolved at load; valid when socket_group is set */
        JailConf *jails;        /* enabled jails only, in file order */
        size_t n_jails;
} Config;

typedef struct ConfDiag {
        char *file;             /* may be NULL */
        unsigned line;          /* 0 when not about one line */
        bool error;             /* false: warning */
        char *message;          /* "bad value for maxretry: 'abc'", no trailing newline */
} ConfDiag;

typedef struct ConfDiags {
        ConfDiag *v;
        size_t n;
        size_t n_errors;
} ConfDiags;

void conf_diags_done(ConfDiags *d);
/* "FILE:LINE: error: MESSAGE" into buf; returns buf. */
char *conf_diag_format(const ConfDiag *d, char *buf, size_t len);

/* Loads the whole configuration. Returns 0 with *ret set (warnings may be in diags), or a negative
 * errno (-EINVAL for configuration errors, all of them in diags; -ENOMEM). */
int config_load(const char *dir, Config **ret, ConfDiags *diags);

/* Looks at the host (conf-paths.c), not only at the files: a warning per file jail whose logpath
 * matches no file now (the jail waits for one to appear), naming the jail, the patterns and the
 * logpath's file:line, and suggesting the journal when the jail has a journalmatch; and one per
 * file:line that holds an inline AbuseIPDB key in a file anyone may read. Separate from
 * config_load() so that loading stays a function of the configuration alone. 0 or -ENOMEM. */
int config_check_host(const Config *c, ConfDiags *diags);
Config *config_free(Config *c);

/* Prints what would run (jails, filters with their regexes' files and lines, sources,
 * journal matches, ports, sets, thresholds) in a stable human-readable form. */
void config_dump(const Config *c, FILE *f);

/* For "nftjail regex": spec is "name", "name[key=value, ...]", or a path to a filter file.
 * Returns 0, -ENOENT (no such filter), -EINVAL (errors in diags), -ENOMEM. */
int filter_conf_load(const char *config_dir, const char *spec, FilterConf *ret, ConfDiags *diags);
void filter_conf_done(FilterConf *f);
