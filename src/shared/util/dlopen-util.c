/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>

#include "log.h"
#include "util/dlopen-util.h"

int dlopen_many(const char *soname, const char *why, void **ret_handle, ...) {
        void *h;
        va_list ap;
        int r = 0;

        h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
        if (!h)
                return log_error_errno(EOPNOTSUPP, "failed to load %s (needed %s): %s", soname, why, dlerror());

        /* resolve all first, assign none unless all resolve: callers test one pointer to know */
        va_start(ap, ret_handle);
        for (;;) {
                void **sym = va_arg(ap, void **);
                const char *name;

                if (!sym)
                        break;
                name = va_arg(ap, const char *);
                *sym = dlsym(h, name);
                if (!*sym) {
                        r = log_error_errno(EOPNOTSUPP, "failed to load %s (needed %s): symbol %s is missing: %s",
                                            soname, why, name, dlerror());
                        break;
                }
        }
        va_end(ap);
        if (r < 0) {
                va_start(ap, ret_handle);
                for (void **sym; (sym = va_arg(ap, void **));) {
                        *sym = NULL;
                        (void) va_arg(ap, const char *);
                }
                va_end(ap);
                dlclose(h);
                return r;
        }
        *ret_handle = h;
        return 0;
}
