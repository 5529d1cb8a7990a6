/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http.h"
#include "util/dlopen-util.h"

#define CURL_SONAME "libcurl.so.4"

typeof(curl_global_init) *sym_curl_global_init;
typeof(curl_global_cleanup) *sym_curl_global_cleanup;
typeof(curl_easy_init) *sym_curl_easy_init;
typeof(curl_easy_cleanup) *sym_curl_easy_cleanup;
typeof(curl_easy_reset) *sym_curl_easy_reset;
typeof(curl_easy_setopt) *sym_curl_easy_setopt;
typeof(curl_easy_perform) *sym_curl_easy_perform;
typeof(curl_easy_getinfo) *sym_curl_easy_getinfo;
typeof(curl_easy_escape) *sym_curl_easy_escape;
typeof(curl_free) *sym_curl_free;
typeof(curl_slist_append) *sym_curl_slist_append;
typeof(curl_slist_free_all) *sym_curl_slist_free_all;
static void *curl_dl_handle;
static int curl_dl_result;
static pthread_once_t curl_dl_once = PTHREAD_ONCE_INIT;

static void curl_dl_load(void) {
        curl_dl_result = dlopen_many(CURL_SONAME, "for AbuseIPDB reports and webhooks", &curl_dl_handle,
                                     DLSYM_ARG(curl_global_init),
                                     DLSYM_ARG(curl_global_cleanup),
                                     DLSYM_ARG(curl_easy_init),
                                     DLSYM_ARG(curl_easy_cleanup),
                                     DLSYM_ARG(curl_easy_reset),
                                     DLSYM_ARG(curl_easy_setopt),
                                     DLSYM_ARG(curl_easy_perform),
                                     DLSYM_ARG(curl_easy_getinfo),
                                     DLSYM_ARG(curl_easy_escape),
                                     DLSYM_ARG(curl_free),
                                     DLSYM_ARG(curl_slist_append),
                                     DLSYM_ARG(curl_slist_free_all),
                                     NULL);
}

int http_dl(void) {
        (void) pthread_once(&curl_dl_once, curl_dl_load);
        return curl_dl_result;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata) {
        HttpBuf *b = userdata;
        size_t len = size * n;
        char *d;

        if (!b->keep)
                return len;
        if (b->len + len > HTTP_RESPONSE_MAX) {
                b->overflow = true;
                return 0; /* curl fails the transfer: CURLE_WRITE_ERROR */
        }
        d = realloc(b->data, b->len + len + 1);
        if (!d)
                return 0;
        memcpy(d + b->len, p, len);
        b->len += len;
        d[b->len] = 0;
        b->data = d;
        return len;
}

static int on_progress(void *userdata, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
        atomic_bool *stop = userdata;
        return stop && atomic_load(stop) ? 1 : 0;
}

bool http_url_is_loopback(const char *url) {
        return strncmp(url, "http://", 7) == 0 && (abuseipdb_url_ok(url) || !webhook_url_check(url));
}

void http_setup(CURL *h, const char *url, unsigned timeout_sec, HttpBuf *body, atomic_bool *stop) {
        sym_curl_easy_reset(h);
        sym_curl_easy_setopt(h, CURLOPT_URL, url);
        sym_curl_easy_setopt(h, CURLOPT_USERAGENT, "nftjail/" NFTJAIL_VERSION);
        sym_curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, http_url_is_loopback(url) ? "http,https" : "https");
        sym_curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
        sym_curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        sym_curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        sym_curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        sym_curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long) MIN(timeout_sec, 10U));
        sym_curl_easy_setopt(h, CURLOPT_TIMEOUT, (long) timeout_sec);
        sym_curl_easy_setopt(h, CURLOPT_PROXY, ""); /* not from the environment */
        sym_curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (body->keep)
                sym_curl_easy_setopt(h, CURLOPT_MAXFILESIZE, (long) HTTP_RESPONSE_MAX);
        sym_curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
        sym_curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
        sym_curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        sym_curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        sym_curl_easy_setopt(h, CURLOPT_XFERINFODATA, stop);
}

int http_map_curl(CURLcode c) {
        switch (c) {
        case CURLE_OK:
                return 0;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_ABORTED_BY_CALLBACK:
                return -ECANCELED;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        default:
                return -EIO;
        }
}

/* What failed, in words an admin can act on (name resolution, the connection, TLS, a timeout),
 * then libcurl's own message (printable ASCII only: it may quote the server). */
void http_failure(CURLcode c, const char *errbuf, char *out, size_t len) {
        const char *what;
        size_t n;

        switch (c) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                what = "name resolution failed";
                break;
        case CURLE_COULDNT_CONNECT:
                what = "connection failed";
                break;
        case CURLE_OPERATION_TIMEDOUT:
                what = "timed out";
                break;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_USE_SSL_FAILED:
                what = "TLS failed";
                break;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
                what = "the connection broke";
                break;
        case CURLE_UNSUPPORTED_PROTOCOL:
                what = "protocol refused";
                break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                what = "reply too large";
                break;
        default:
                what = "transfer failed";
        }
        snprintf(out, len, "%s%s%s", what, errbuf && *errbuf ? ": " : "", errbuf ? errbuf : "");
        for (n = 0; out[n]; n++)
                if ((unsigned char) out[n] < 0x20 || (unsigned char) out[n] >= 0x7f)
                        out[n] = '?';
        while (n > 0 && out[n - 1] == '?') /* libcurl's message ends with a newline at times */
                out[--n] = 0;
}
