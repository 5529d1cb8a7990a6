/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libnftables, loaded on first use. nft-query.c needs it only to load the nft file when the table is
 * missing at start or vanished (nft_load_file()); when the admin's ruleset includes the file, the
 * daemon never maps libnftables nor what it pulls in (libxtables, libgmp, ...). The daemon links
 * these definitions instead of the library: each loads libnftables once (and keeps it: libgmp's
 * memory functions point into it once a context was made) and calls through. A library that
 * cannot be loaded is logged once, naming it; nft_ctx_new() then returns NULL. Only the functions
 * nft-query.c calls are here: the link fails for any other, which is the reminder to add it. */
#include <pthread.h>

#include <nftables/libnftables.h>

#include "util/dlopen-util.h"

#define NFTABLES_SONAME "libnftables.so.1"

DLSYM_POINTER(nft_ctx_new);
DLSYM_POINTER(nft_ctx_free);
DLSYM_POINTER(nft_ctx_buffer_output);
DLSYM_POINTER(nft_ctx_buffer_error);
DLSYM_POINTER(nft_ctx_get_error_buffer);
DLSYM_POINTER(nft_run_cmd_from_filename);
static void *nftables_handle;
static int nftables_result;
static pthread_once_t nftables_once = PTHREAD_ONCE_INIT;

static void nftables_load(void) {
        nftables_result = dlopen_many(NFTABLES_SONAME, "to load the nft file", &nftables_handle,
                                      DLSYM_ARG(nft_ctx_new),
                                      DLSYM_ARG(nft_ctx_free),
                                      DLSYM_ARG(nft_ctx_buffer_output),
                                      DLSYM_ARG(nft_ctx_buffer_error),
                                      DLSYM_ARG(nft_ctx_get_error_buffer),
                                      DLSYM_ARG(nft_run_cmd_from_filename),
                                      NULL);
}

struct nft_ctx *nft_ctx_new(uint32_t flags) {
        (void) pthread_once(&nftables_once, nftables_load);
        if (nftables_result < 0)
                return NULL;
        return sym_nft_ctx_new(flags);
}

/* the others take a context, which only exists once the library is loaded */
void nft_ctx_free(struct nft_ctx *ctx) {
        if (ctx)
                sym_nft_ctx_free(ctx);
}

int nft_ctx_buffer_output(struct nft_ctx *ctx) {
        return sym_nft_ctx_buffer_output(ctx);
}

int nft_ctx_buffer_error(struct nft_ctx *ctx) {
        return sym_nft_ctx_buffer_error(ctx);
}

const char *nft_ctx_get_error_buffer(struct nft_ctx *ctx) {
        return sym_nft_ctx_get_error_buffer(ctx);
}

int nft_run_cmd_from_filename(struct nft_ctx *nft, const char *filename) {
        return sym_nft_run_cmd_from_filename(nft, filename);
}
