/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdatomic.h>

#include "conf.h"
#include "prelude.h"

/* The reporter's settings from one configuration: where and how to report, with which keys. Built
 * on the main thread (at start and at each reload), immutable once built, and shared by
 * reference: the main thread keeps one (the comment template), the reporter thread takes one
 * between two requests (reporter.c). The last unref wipes the keys. Internal to reporter/. */

typedef struct ReporterJailKey {
        char *jail;
        char *key;
} ReporterJailKey;

typedef struct ReporterSettings {
        atomic_uint n_ref;
        char *url;
        char *comment_tmpl;     /* NULL: the default */
        unsigned timeout_sec, daily_quota;
        char *default_key;      /* NULL: none configured (or unusable) */
        ReporterJailKey *keys;  /* the jails' own abuseipdb_apikey */
        size_t n_keys;
} ReporterSettings;

/* Builds the settings of c, reading the key files; logs what the admin must know (a key file
 * others can read, an inline key in a world-readable jail file, a reporting jail without a key).
 * Returns 0 or -ENOMEM (logged). */
int reporter_settings_new(const Config *c, ReporterSettings **ret);
ReporterSettings *reporter_settings_ref(ReporterSettings *s);
/* Accepts NULL; returns NULL. Any thread. */
ReporterSettings *reporter_settings_unref(ReporterSettings *s);

/* The key for jail's reports: its own, else the default; NULL when there is none. */
const char *reporter_settings_key_for(const ReporterSettings *s, const char *jail);

/* Whether k is a plausible API key (it goes into an HTTP header). */
bool reporter_key_ok(const char *k);

/* Reads a secret (an API key, a webhook token) from path: a regular file, stripped, that
 * reporter_key_ok() accepts. *ret_loose (may be NULL): world-readable, or readable by a group
 * other than the daemon's own. Returns 0,
 * -EINVAL (not a plausible secret) or the open/read errno. Never logs. */
int reporter_read_key_file(const char *path, char **ret, bool *ret_loose);
