/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdatomic.h>
#include <stddef.h>

#include <curl/curl.h>

#include "prelude.h"

/* libcurl for the reporter and the webhook sender (internal to reporter/): loaded on first use,
 * so that a daemon that sends nothing never maps it nor its TLS, LDAP and Kerberos dependencies;
 * one way to set a handle up (TLS verified, no redirects, protocols limited, no proxy from the
 * environment, connect and total timeouts, a bounded body); CURLcode mapped to an errno once. */

#define HTTP_RESPONSE_MAX (64U * 1024U)

extern typeof(curl_global_init) *sym_curl_global_init;
extern typeof(curl_global_cleanup) *sym_curl_global_cleanup;
extern typeof(curl_easy_init) *sym_curl_easy_init;
extern typeof(curl_easy_cleanup) *sym_curl_easy_cleanup;
extern typeof(curl_easy_reset) *sym_curl_easy_reset;
extern typeof(curl_easy_setopt) *sym_curl_easy_setopt;
extern typeof(curl_easy_perform) *sym_curl_easy_perform;
extern typeof(curl_easy_getinfo) *sym_curl_easy_getinfo;
extern typeof(curl_easy_escape) *sym_curl_easy_escape;
extern typeof(curl_free) *sym_curl_free;
extern typeof(curl_slist_append) *sym_curl_slist_append;
extern typeof(curl_slist_free_all) *sym_curl_slist_free_all;

/* Returns 0 when libcurl is loaded, -EOPNOTSUPP (logged once, naming the library) when not. Any
 * thread. */
int http_dl(void);

/* A response body, at most HTTP_RESPONSE_MAX bytes (NUL-terminated); more fails the transfer
 * (-EFBIG). data NULL: the body is read and thrown away, whatever its size (the total timeout
 * bounds it). */
typedef struct HttpBuf {
        char *data;
        size_t len;
        bool keep;
        bool overflow;
} HttpBuf;

/* Resets h for one request to url: the options above, the body into body, *stop (may be NULL)
 * aborting the transfer (-ECANCELED). The caller adds headers, method and payload. */
void http_setup(CURL *h, const char *url, unsigned timeout_sec, HttpBuf *body, atomic_bool *stop);
/* Whether url is plain http:// to a loopback host (the only plain http allowed). */
bool http_url_is_loopback(const char *url);

/* CURLE_OK 0, timeouts -ETIMEDOUT, refused -ECONNREFUSED, abort -ECANCELED, body too long -EFBIG,
 * else -EIO. */
int http_map_curl(CURLcode c);
/* What failed, in words an admin can act on ("name resolution failed", "connection failed",
 * "TLS failed", "timed out", "the connection broke", ...), then libcurl's message from errbuf
 * (CURLOPT_ERRORBUFFER; may be NULL), printable ASCII only, into out. */
void http_failure(CURLcode c, const char *errbuf, char *out, size_t len);
