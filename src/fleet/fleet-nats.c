/* SPDX-License-Identifier: GPL-2.0-or-later */
/* nats.c loaded on demand (fleet-nats.h). NFTJAIL_NATS_SONAME is the soname of the libnats the
 * build compiled against (meson: -Dnats_soname, else read from the library), so that the table's
 * types, taken from that version's nats.h, match the code loaded. */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "fleet-nats.h"
#include "util/dlopen-util.h"

static FleetNats nats_table;
static void *nats_handle;

int fleet_nats_load(const FleetNats **ret) {
        const char *path = secure_getenv("NFTJAIL_LIBNATS");
        int r;

        if (!nats_handle) {
#define FLEET_NATS_ARG(fn) (void **) &nats_table.fn, #fn,
                r = dlopen_many(path && *path ? path : NFTJAIL_NATS_SONAME,
                                "by [fleet]; it is in the package " NFTJAIL_NATS_PACKAGE, &nats_handle,
                                FLEET_NATS_FUNCTIONS(FLEET_NATS_ARG) NULL);
#undef FLEET_NATS_ARG
                if (r < 0)
                        return r;
        }
        *ret = &nats_table;
        return 0;
}

const char *fleet_nats_error(const FleetNats *n, natsStatus s) {
        const char *t = n->nats_GetLastError(NULL);

        return t && *t ? t : n->natsStatus_GetText(s);
}
