/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "conf-internal.h"

static const char *const backend_table[_BACKEND_MAX] = {
        [BACKEND_AUTO] = "auto",
        [BACKEND_SYSTEMD] = "systemd",
        [BACKEND_POLLING] = "polling",
        [BACKEND_PYINOTIFY] = "pyinotify",
};

const char *backend_to_string(Backend b) {
        if (b < 0 || b >= _BACKEND_MAX)
                return NULL;
        return backend_table[b];
}

Backend backend_from_string(const char *s) {
        if (!s)
                return _BACKEND_INVALID;
        for (int i = 0; i < _BACKEND_MAX; i++)
                if (strcmp(backend_table[i], s) == 0)
                        return (Backend) i;
        return _BACKEND_INVALID;
}

void conf_diags_done(ConfDiags *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n; i++) {
                free(d->v[i].file);
                free(d->v[i].message);
        }
        free(d->v);
        *d = (ConfDiags) {};
}

char *conf_diag_format(const ConfDiag *d, char *buf, size_t len) {
        const char *kind = d->error ? "error" : "warning";

        if (len == 0)
                return buf;
        if (d->file && d->line > 0)
                snprintf(buf, len, "%s:%u: %s: %s", d->file, d->line, kind, d->message);
        else if (d->file)
                snprintf(buf, len, "%s: %s: %s", d->file, kind, d->message);
        else
                snprintf(buf, len, "%s: %s", kind, d->message);
        return buf;
}

/* ---- Config ---- */

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_jails; i++)
                jail_conf_done(&c->jails[i]);
        free(c->jails);
        free(c->dir);
        free(c->nft_file);
        free(c->abuseipdb.url);
        free(c->abuseipdb.apikey_file);
        free(c->abuseipdb.comment);
        for (size_t i = 0; i < c->n_webhooks; i++)
                webhook_conf_done(&c->webhooks[i]);
        free(c->webhooks);
        free(c->socket_group);
        free(c->metrics_textfile);
        fleet_conf_done(&c->fleet);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

int config_load(const char *dir, Config **ret, ConfDiags *diags) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfDiags local = {}, *d = diags ?: &local;
        size_t errors = d->n_errors;
        int r;

        if (!dir || !ret)
                return -EINVAL;
        c = calloc(1, sizeof(Config));
        if (!c)
                return -ENOMEM;
        c->dir = strdup(dir);
        c->nft_file = strdup(NFTJAIL_NFT_FILE);
        c->loglevel = LOG_INFO;
        c->dbpurgeage_sec = 86400;
        c->abuseipdb = (AbuseIPDBConf) {
                .enabled = true, .url = strdup("https://api.abuseipdb.com/api/v2"), .timeout_sec = 30, .daily_quota = 1000,
        };
        fleet_conf_init(&c->fleet);
        if (!c->dir || !c->nft_file || !c->abuseipdb.url)
                return -ENOMEM;

        r = daemon_conf_load(c, d);
        if (r >= 0)
                r = config_load_jails(c, d);
        if (r >= 0)
                r = fleet_conf_check_jails(c, d);
        if (r >= 0 && d->n_errors > errors)
                r = -EINVAL;
        conf_diags_done(&local);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}
