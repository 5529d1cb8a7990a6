/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The attributes of a NEWSETELEM message, checked before libnftnl parses it. libnftnl 1.2.4
 * validates each attribute's type and size and, when one is wrong, calls exit(EXIT_FAILURE)
 * ("nf_tables kernel ABI is broken", its abi_breakage()): a counter expression with a short
 * NFTA_COUNTER_BYTES was enough to end the daemon (found by fuzz-nft-dump). It also strdup()s
 * names that it validated as MNL_TYPE_STRING, which needs no NUL. Only what our sets hold gets
 * through: a key (and key end) of at most NFT_DATA_VALUE_MAXLEN bytes, flags, timeout,
 * expiration, a comment, and counter expressions; anything else is -EBADMSG and the message
 * is not parsed. */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nft-internal.h"

static int valid_type(const struct nlattr *a, enum mnl_attr_data_type t) {
        return mnl_attr_validate(a, t) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int valid_u64(const struct nlattr *a) {
        return mnl_attr_get_payload_len(a) == sizeof(uint64_t) ? MNL_CB_OK : MNL_CB_ERROR;
}

static int counter_cb(const struct nlattr *a, void *data) {
        (void) data;
        switch (mnl_attr_get_type(a)) {
        case NFTA_COUNTER_BYTES:
        case NFTA_COUNTER_PACKETS:
                return valid_u64(a);
        case NFTA_COUNTER_PAD:
                return MNL_CB_OK;
        default:
                return MNL_CB_ERROR;
        }
}

typedef struct ExprSeen {
        bool counter;
        const struct nlattr *data;
} ExprSeen;

static int expr_cb(const struct nlattr *a, void *data) {
        ExprSeen *x = data;

        switch (mnl_attr_get_type(a)) {
        case NFTA_EXPR_NAME:
                if (valid_type(a, MNL_TYPE_NUL_STRING) != MNL_CB_OK)
                        return MNL_CB_ERROR;
                if (strcmp(mnl_attr_get_str(a), "counter") != 0)
                        return MNL_CB_ERROR;
                x->counter = true;
                return MNL_CB_OK;
        case NFTA_EXPR_DATA:
                if (valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK)
                        return MNL_CB_ERROR;
                x->data = a;
                return MNL_CB_OK;
        default:
                return MNL_CB_ERROR;
        }
}

/* One expression: named "counter", its data (if any) only counters of 8 bytes. */
static int valid_expr(const struct nlattr *a) {
        ExprSeen x = {};

        if (valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK || mnl_attr_parse_nested(a, expr_cb, &x) != MNL_CB_OK)
                return MNL_CB_ERROR;
        if (!x.counter)
                return MNL_CB_ERROR;
        if (x.data && mnl_attr_parse_nested(x.data, counter_cb, NULL) != MNL_CB_OK)
                return MNL_CB_ERROR;
        return MNL_CB_OK;
}

static int exprs_cb(const struct nlattr *a, void *data) {
        (void) data;
        if (mnl_attr_get_type(a) != NFTA_LIST_ELEM)
                return MNL_CB_ERROR;
        return valid_expr(a);
}

static int value_cb(const struct nlattr *a, void *data) {
        (void) data;
        if (mnl_attr_get_type(a) != NFTA_DATA_VALUE)
                return MNL_CB_ERROR;
        if (valid_type(a, MNL_TYPE_BINARY) != MNL_CB_OK || mnl_attr_get_payload_len(a) > NFT_DATA_VALUE_MAXLEN)
                return MNL_CB_ERROR;
        return MNL_CB_OK;
}

static int elem_cb(const struct nlattr *a, void *data) {
        (void) data;
        switch (mnl_attr_get_type(a)) {
        case NFTA_SET_ELEM_KEY:
        case NFTA_SET_ELEM_KEY_END:
                if (valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK)
                        return MNL_CB_ERROR;
                return mnl_attr_parse_nested(a, value_cb, NULL);
        case NFTA_SET_ELEM_FLAGS:
                return valid_type(a, MNL_TYPE_U32);
        case NFTA_SET_ELEM_TIMEOUT:
        case NFTA_SET_ELEM_EXPIRATION:
                return valid_u64(a);
        case NFTA_SET_ELEM_USERDATA:
                return valid_type(a, MNL_TYPE_BINARY);
        case NFTA_SET_ELEM_EXPR:
                return valid_expr(a);
        case NFTA_SET_ELEM_EXPRESSIONS:
                if (valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK)
                        return MNL_CB_ERROR;
                return mnl_attr_parse_nested(a, exprs_cb, NULL);
        case NFTA_SET_ELEM_PAD:
                return MNL_CB_OK;
        default:
                /* data (maps), object references, verdicts: not in our sets */
                return MNL_CB_ERROR;
        }
}

static int elems_cb(const struct nlattr *a, void *data) {
        (void) data;
        if (mnl_attr_get_type(a) != NFTA_LIST_ELEM || valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK)
                return MNL_CB_ERROR;
        return mnl_attr_parse_nested(a, elem_cb, NULL);
}

static int list_cb(const struct nlattr *a, void *data) {
        (void) data;
        switch (mnl_attr_get_type(a)) {
        case NFTA_SET_ELEM_LIST_TABLE:
        case NFTA_SET_ELEM_LIST_SET:
                return valid_type(a, MNL_TYPE_NUL_STRING);
        case NFTA_SET_ELEM_LIST_SET_ID:
                return valid_type(a, MNL_TYPE_U32);
        case NFTA_SET_ELEM_LIST_ELEMENTS:
                if (valid_type(a, MNL_TYPE_NESTED) != MNL_CB_OK)
                        return MNL_CB_ERROR;
                return mnl_attr_parse_nested(a, elems_cb, NULL);
        default:
                return MNL_CB_ERROR;
        }
}

int nft_setelem_msg_validate(const struct nlmsghdr *nlh) {
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
                return -EBADMSG;
        return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), list_cb, NULL) == MNL_CB_OK ? 0 : -EBADMSG;
}
