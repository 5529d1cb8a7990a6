/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Benchmark helper: prints one line per set element the kernel adds in this network namespace,
 * as nf_tables notifies it (NFNLGRP_NFTABLES, NFT_MSG_NEWSETELEM), whatever the table:
 *
 *     CLOCK_REALTIME_NS TABLE SET ADDRESS
 *
 * and, for an element deleted (NFT_MSG_DELSETELEM), the same line ending in " del".
 * The time is taken when the notification is read, before it is parsed. The address is the
 * first 4 (key of 4 or 12 bytes: IPv4, alone or . proto . port) or 16 bytes (16 or 24: IPv6) of
 * the key. "ready" is printed once subscribed. Lines are flushed after each read. Exits 1 when
 * the kernel dropped notifications (ENOBUFS): a latency run must not lose any. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

static void print_elems(const struct nlmsghdr *nlh, unsigned long long ns, bool del) {
        struct nftnl_set *s = nftnl_set_alloc();
        struct nftnl_set_elems_iter *it;
        const char *table, *set;

        if (!s)
                return;
        if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0)
                goto out;
        table = nftnl_set_get_str(s, NFTNL_SET_TABLE);
        set = nftnl_set_get_str(s, NFTNL_SET_NAME);
        it = nftnl_set_elems_iter_create(s);
        if (!it)
                goto out;
        for (struct nftnl_set_elem *e = nftnl_set_elems_iter_next(it); e; e = nftnl_set_elems_iter_next(it)) {
                char buf[INET6_ADDRSTRLEN];
                const void *key;
                uint32_t len = 0;

                key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
                if (!key)
                        continue;
                if (len == 4 || len == 12)
                        inet_ntop(AF_INET, key, buf, sizeof buf);
                else if (len == 16 || len == 24)
                        inet_ntop(AF_INET6, key, buf, sizeof buf);
                else
                        continue;
                printf("%llu %s %s %s%s\n", ns, table ? table : "-", set ? set : "-", buf, del ? " del" : "");
        }
        nftnl_set_elems_iter_destroy(it);
out:
        nftnl_set_free(s);
}

int main(void) {
        static char buf[1 << 20];
        struct mnl_socket *nl;
        int size = 64 << 20;

        nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl || mnl_socket_bind(nl, 1U << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
                perror("nft-watch: netlink");
                return 2;
        }
        if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                ssize_t k = recv(mnl_socket_get_fd(nl), buf, sizeof buf, 0);
                struct timespec ts;
                unsigned long long ns;
                int len;

                clock_gettime(CLOCK_REALTIME, &ts);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("nft-watch: recv");
                        return 1;
                }
                ns = (unsigned long long) ts.tv_sec * 1000000000ULL + (unsigned long long) ts.tv_nsec;
                len = (int) k;
                for (const struct nlmsghdr *nlh = (const struct nlmsghdr *) buf; mnl_nlmsg_ok(nlh, len);
                     nlh = mnl_nlmsg_next(nlh, &len))
                        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_NFTABLES &&
                            (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM ||
                             NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_DELSETELEM))
                                print_elems(nlh, ns, NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_DELSETELEM);
                if (fflush(stdout) != 0)
                        return 0; /* the reader went away */
        }
}
