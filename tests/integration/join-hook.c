/* SPDX-License-Identifier: GPL-2.0-or-later */

/* LD_PRELOAD shim for test-restore-unobserved.sh: the first time the process joins a netlink
 * group by setsockopt(NETLINK_ADD_MEMBERSHIP), which nftjaild does only when its monitor
 * subscribes again after a restore, it first runs $NFTJAIL_TEST_BEFORE_JOIN (a shell command):
 * a change of the ruleset that the monitor cannot see, at a point the test controls. */

#include <dlfcn.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
        static int (*real)(int, int, int, const void *, socklen_t);
        const char *cmd;

        if (!real)
                real = (int (*)(int, int, int, const void *, socklen_t)) dlsym(RTLD_NEXT, "setsockopt");
        if (level == SOL_NETLINK && name == NETLINK_ADD_MEMBERSHIP && (cmd = getenv("NFTJAIL_TEST_BEFORE_JOIN"))) {
                char *c = NULL;
                /* once, and not in the command's own processes */
                if ((c = strdup(cmd))) {
                        unsetenv("NFTJAIL_TEST_BEFORE_JOIN");
                        unsetenv("LD_PRELOAD");
                        (void) system(c);
                        free(c);
                }
        }
        return real(fd, level, name, val, len);
}
