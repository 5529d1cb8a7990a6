/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr-watch.h"

struct AddrWatch {
        int fd;
        sd_event_source *source;
        AddrWatchCb cb;
        void *userdata;
};

static int addr_watch_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AddrWatch *w = userdata;
        uint8_t buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
        bool changed = false;

        for (;;) {
                ssize_t k = recv(fd, buf, sizeof buf, 0);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == ENOBUFS) {
                                changed = true; /* lost some: read the addresses again anyway */
                                continue;
                        }
                        break;
                }
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) k); h = NLMSG_NEXT(h, k))
                        if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR)
                                changed = true;
        }
        if (changed)
                w->cb(w->userdata);
        return 0;
}

int addr_watch_new(sd_event *e, AddrWatchCb cb, void *userdata, AddrWatch **ret) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
        AddrWatch *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->cb = cb;
        w->userdata = userdata;
        w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (w->fd < 0 || bind(w->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                r = -errno;
                addr_watch_free(w);
                return r;
        }
        r = sd_event_add_io(e, &w->source, w->fd, EPOLLIN, addr_watch_on_io, w);
        if (r < 0) {
                addr_watch_free(w);
                return r;
        }
        (void) sd_event_source_set_priority(w->source, SD_EVENT_PRIORITY_IMPORTANT);
        *ret = w;
        return 0;
}

AddrWatch *addr_watch_free(AddrWatch *w) {
        if (!w)
                return NULL;
        sd_event_source_disable_unref(w->source);
        if (w->fd >= 0)
                close(w->fd);
        free(w);
        return NULL;
}
