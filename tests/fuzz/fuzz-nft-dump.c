/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The decoding of a set dump as nft_list() does it (GETSETELEM answers: NEWSETELEM messages with
 * nested element lists, NLMSG_DONE, NLMSG_ERROR), without a socket: nft_list_decode_dump().
 * Input: one byte whose low 3 bits pick the set of nft_sets[] the dump is of, then the received
 * bytes, copied to a buffer of their exact size so that ASan sees a read past the end. Every ban
 * decoded must be one that set can hold: its family, prefix length, port, and a comment
 * NUL-terminated within NFT_COMMENT_MAX. The generation check must give the same answer whether
 * the messages came in one buffer or one per recvfrom(). seq and portid are 0 (any), so that every
 * message is decoded; the seeds are real dumps (tests/fuzz/corpus/nft-dump/README.md). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>

#include "fuzz-util.h"
#include "nft-internal.h"
#include "nft.h"

static void check_ban(const char *set, const NftListed *l) {
        bool v4 = strcmp(set, NFT_SET_V4) == 0 || strcmp(set, NFT_SET_V4_PORT) == 0;
        bool port = strstr(set, "_port") != NULL;

        if (l->set != set)
                abort();
        if (l->elem.addr.family != (v4 ? AF_INET : AF_INET6))
                abort();
        if (v4 ? l->elem.prefixlen != 32 : l->elem.prefixlen > 128)
                abort();
        if (strstr(set, "_64") && l->elem.prefixlen != 64)
                abort();
        if (strstr(set, "_128") && l->elem.prefixlen != 128)
                abort();
        if (!port && (l->elem.port != 0 || l->elem.proto != 0))
                abort();
        if (!memchr(l->comment, 0, NFT_COMMENT_MAX + 1))
                abort();
        if (l->elem.comment != (l->comment[0] ? l->comment : NULL))
                abort();
}

/* nft_dump_consistent() over the whole buffer and over its messages one at a time. */
static void check_consistent(const uint8_t *buf, size_t len) {
        NftDumpGen whole = {}, parts = {};
        bool w = nft_dump_consistent(&whole, buf, len), p = true;
        size_t off = 0;

        /* not mnl_nlmsg_ok(): it takes a length of 2 GiB or more for a negative int, and passes it */
        while (p && len - off >= sizeof(struct nlmsghdr)) {
                const struct nlmsghdr *nlh = (const struct nlmsghdr *) (buf + off);
                size_t l = nlh->nlmsg_len;

                if (l < sizeof(struct nlmsghdr) || l > len - off)
                        break;
                l = MIN((size_t) NLMSG_ALIGN(l), len - off);
                p = nft_dump_consistent(&parts, nlh, l);
                off += l;
        }
        if (w != p || whole.have != parts.have || (whole.have && whole.gen != parts.gen))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NftListed *v = (NftListed *) &size, *sentinel = v;
        const char *set;
        uint8_t *buf;
        int r;

        if (size < 1)
                return 0;
        set = nft_sets[data[0] % NFT_SETS_MAX];
        buf = malloc(MAX(size - 1, (size_t) 1));
        if (!buf)
                abort();
        memcpy(buf, data + 1, size - 1);

        check_consistent(buf, size - 1);

        /* errno as a dump after a successful recvfrom() may find it: a failure must not hide in it */
        errno = 0;
        r = nft_list_decode_dump(set, buf, size - 1, 0, 0, &v);
        if (r < 0) {
                if (r < -4095 || v != sentinel)
                        abort();
        } else {
                if (v == sentinel || (r > 0 && !v))
                        abort();
                for (int i = 0; i < r; i++)
                        check_ban(set, &v[i]);
                free(v);
        }
        free(buf);
        return 0;
}
