/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writes what the kernel answers to a GETSETELEM dump of set NAME of table inet nftjail, as the
 * input of fuzz-nft-dump: the index of NAME in nft_sets[] (one byte), then every byte received,
 * up to and including NLMSG_DONE or NLMSG_ERROR. For capture-nft-dump.sh, in a network namespace
 * of its own; not built by meson.
 *   capture-nft-dump INDEX NAME OUT */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

int main(int argc, char **argv) {
        static uint8_t buf[65536]; /* MNL_SOCKET_BUFFER_SIZE * 4 on a 4 KiB page, as nft_dump_set() */
        struct mnl_socket *nl;
        struct nftnl_set *s;
        struct nlmsghdr *nlh;
        uint32_t seq = (uint32_t) time(NULL) | 1, portid;
        unsigned char idx;
        FILE *out;
        int r = MNL_CB_OK;

        if (argc != 4)
                return 2;
        idx = (unsigned char) atoi(argv[1]);
        nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return perror("netlink"), 1;
        portid = mnl_socket_get_portid(nl);
        s = nftnl_set_alloc();
        nftnl_set_set_str(s, NFTNL_SET_TABLE, "nftjail");
        nftnl_set_set_str(s, NFTNL_SET_NAME, argv[2]);
        nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
        nlh = nftnl_nlmsg_build_hdr((char *) buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        nftnl_set_free(s);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return perror("send"), 1;
        out = fopen(argv[3], "we");
        if (!out || fwrite(&idx, 1, 1, out) != 1)
                return perror(argv[3]), 1;
        while (r > MNL_CB_STOP) {
                ssize_t k = mnl_socket_recvfrom(nl, buf, sizeof buf);
                if (k <= 0)
                        return perror("recv"), 1;
                if (fwrite(buf, 1, (size_t) k, out) != (size_t) k)
                        return perror(argv[3]), 1;
                r = mnl_cb_run(buf, (size_t) k, seq, portid, NULL, NULL);
        }
        mnl_socket_close(nl);
        return fclose(out) == 0 ? 0 : 1;
}
