/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "reporter-settings.h"
#include "reporter.h"
#include "util/macro.h"
#include "util/string-util.h"

#define KEY_MAX 256

/* ---- the key ---- */

int reporter_read_key_file(const char *path, char **ret, bool *ret_loose) {
        _cleanup_close_ int fd = -EBADF;
        char buf[KEY_MAX + 1];
        struct stat st;
        ssize_t n;
        char *k;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        /* loose: others may read it, or a group that is not the daemon's own (root:nftjail 0640
         * is how the unit's user reads a root-owned secret) */
        if (ret_loose)
                *ret_loose = (st.st_mode & 0004) || ((st.st_mode & 0040) && st.st_gid != getegid());
        n = read(fd, buf, sizeof buf);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        k = strstrip(buf);
        /* the key goes into an HTTP header: printable, no blanks, no CR/LF */
        if (!reporter_key_ok(k)) {
                explicit_bzero(buf, sizeof buf);
                return -EINVAL;
        }
        *ret = strdup(k);
        explicit_bzero(buf, sizeof buf);
        return *ret ? 0 : -ENOMEM;
}

int reporter_load_key(const AbuseIPDBConf *c, char **ret_key, char **ret_source, bool *ret_loose) {
        const char *cred = getenv("CREDENTIALS_DIRECTORY");
        _cleanup_free_ char *p = NULL;
        int r;

        *ret_loose = false;
        if (cred && *cred) {
                if (asprintf(&p, "%s/abuseipdb_apikey", cred) < 0)
                        return -ENOMEM;
                r = reporter_read_key_file(p, ret_key, NULL); /* systemd made it ours alone */
                if (r != -ENOENT) {
                        if (r >= 0 && ret_source)
                                *ret_source = TAKE_PTR(p);
                        return r;
                }
        }
        if (!c->apikey_file)
                return -ENOENT;
        r = reporter_read_key_file(c->apikey_file, ret_key, ret_loose);
        if (r >= 0 && ret_source)
                *ret_source = strdup(c->apikey_file);
        return r;
}

bool reporter_key_ok(const char *k) {
        if (!k || !*k || strlen(k) >= KEY_MAX)
                return false;
        for (; *k; k++)
                if (*k <= 0x20 || *k >= 0x7f)
                        return false;
        return true;
}

static int add_jail_keys(ReporterSettings *s, const Config *c) {
        s->keys = calloc(MAX(c->n_jails, 1), sizeof(ReporterJailKey));
        if (!s->keys)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_jails; i++) {
                const JailConf *jc = &c->jails[i];
                ReporterJailKey *k = &s->keys[s->n_keys];

                if (!jc->abuseipdb || !jc->abuseipdb_apikey)
                        continue;
                if (!reporter_key_ok(jc->abuseipdb_apikey)) {
                        log_warning("%s:%u: jail '%s': abuseipdb_apikey is not a plausible key, ignoring it", jc->file,
                                    jc->line, jc->name);
                        continue;
                }
                k->jail = strdup(jc->name);
                k->key = strdup(jc->abuseipdb_apikey);
                if (!k->jail || !k->key) {
                        free(k->jail);
                        free(k->key);
                        return -ENOMEM;
                }
                s->n_keys++;
        }
        return 0;
}

const char *reporter_settings_key_for(const ReporterSettings *s, const char *jail) {
        for (size_t i = 0; i < s->n_keys; i++)
                if (strcmp(s->keys[i].jail, jail) == 0)
                        return s->keys[i].key;
        return s->default_key;
}

ReporterSettings *reporter_settings_ref(ReporterSettings *s) {
        if (s)
                atomic_fetch_add(&s->n_ref, 1);
        return s;
}

ReporterSettings *reporter_settings_unref(ReporterSettings *s) {
        if (!s || atomic_fetch_sub(&s->n_ref, 1) > 1)
                return NULL;
        if (s->default_key)
                explicit_bzero(s->default_key, strlen(s->default_key));
        free(s->default_key);
        for (size_t i = 0; i < s->n_keys; i++) {
                explicit_bzero(s->keys[i].key, strlen(s->keys[i].key));
                free(s->keys[i].key);
                free(s->keys[i].jail);
        }
        free(s->keys);
        free(s->url);
        free(s->comment_tmpl);
        free(s);
        return NULL;
}

int reporter_settings_new(const Config *c, ReporterSettings **ret) {
        _cleanup_free_ char *source = NULL;
        ReporterSettings *s;
        bool loose = false;
        int k;

        s = calloc(1, sizeof *s);
        if (!s)
                return log_oom();
        atomic_init(&s->n_ref, 1);
        s->timeout_sec = c->abuseipdb.timeout_sec;
        s->daily_quota = c->abuseipdb.daily_quota;
        s->url = strdup(c->abuseipdb.url);
        s->comment_tmpl = c->abuseipdb.comment ? strdup(c->abuseipdb.comment) : NULL;
        if (!s->url || (c->abuseipdb.comment && !s->comment_tmpl) || add_jail_keys(s, c) < 0) {
                reporter_settings_unref(s);
                return log_oom();
        }
        k = reporter_load_key(&c->abuseipdb, &s->default_key, &source, &loose);
        if (k == -ENOMEM) {
                reporter_settings_unref(s);
                return log_oom();
        }
        if (k == -EACCES && geteuid() != 0)
                /* the unit runs as nftjail; the key file stays root's, systemd hands it over */
                log_warning_errno(k, "AbuseIPDB: cannot read the key in %s as uid %u (%m): give it as the systemd "
                                     "credential abuseipdb_apikey, LoadCredential=abuseipdb_apikey:%s in a drop-in "
                                     "(systemctl edit nftjaild)",
                                  c->abuseipdb.apikey_file ?: "-", (unsigned) geteuid(), c->abuseipdb.apikey_file ?: "FILE");
        else if (k < 0 && k != -ENOENT)
                log_warning_errno(k, "AbuseIPDB: cannot use the key in %s, ignoring: %m",
                                  c->abuseipdb.apikey_file ?: "$CREDENTIALS_DIRECTORY/abuseipdb_apikey");
        else if (k >= 0 && loose)
                log_warning("AbuseIPDB: %s is readable by other users; chmod 0600 it (or 0640 with the daemon's group)",
                            source);
        else if (k >= 0)
                log_info("AbuseIPDB: using the key in %s", source);
        for (size_t i = 0; i < c->n_jails && !s->default_key; i++)
                if (c->jails[i].abuseipdb && !reporter_settings_key_for(s, c->jails[i].name))
                        log_warning("%s: no AbuseIPDB API key (set [abuseipdb] apikey_file in nftjail.conf): "
                                    "its bans will not be reported", c->jails[i].name);
        *ret = s;
        return 0;
}
