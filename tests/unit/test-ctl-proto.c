/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ctl-proto.h"

static json_t *parse(const char *s, int *ret_r) {
        char err[256];
        json_t *m = NULL;

        *ret_r = ctl_message_parse(s, strlen(s), &m, err, sizeof err);
        return m;
}

static int validate(const char *s, char *err, size_t errlen) {
        CtlCommand c;
        json_t *m;
        int r;

        m = parse(s, &r);
        if (r < 0)
                return r;
        r = ctl_request_validate(m, &c, err, errlen);
        json_decref(m);
        return r;
}

static void test_frame_roundtrip(void **state) {
        json_t *req = ctl_request_new(CTL_STATUS), *back = NULL;
        char *frame = NULL, err[256];
        size_t len, used;
        CtlReader rd;

        assert_non_null(req);
        assert_int_equal(json_object_set_new(req, "jail", json_string("sshd")), 0);
        assert_int_equal(ctl_frame_encode(req, CTL_REQUEST_MAX, &frame, &len), 0);
        assert_int_equal(len, 4 + strlen("{\"version\":1,\"command\":\"status\",\"jail\":\"sshd\"}"));
        /* big-endian length */
        assert_int_equal((unsigned char) frame[0], 0);
        assert_int_equal((unsigned char) frame[3], len - 4);

        /* one byte at a time, as a slow socket would give it */
        ctl_reader_init(&rd, CTL_REQUEST_MAX);
        for (size_t i = 0; i < len; i++) {
                int r = ctl_reader_feed(&rd, frame + i, 1, &used);
                assert_int_equal(used, 1);
                assert_int_equal(r, i + 1 == len ? 1 : 0);
        }
        assert_int_equal(ctl_message_parse(rd.buf, rd.len, &back, err, sizeof err), 0);
        assert_true(json_equal(req, back));
        ctl_reader_done(&rd);

        /* all at once, with trailing bytes that belong to nothing: not consumed */
        frame = realloc(frame, len + 3);
        memcpy(frame + len, "xyz", 3);
        ctl_reader_init(&rd, CTL_REQUEST_MAX);
        assert_int_equal(ctl_reader_feed(&rd, frame, len + 3, &used), 1);
        assert_int_equal(used, len);
        ctl_reader_done(&rd);

        json_decref(back);
        json_decref(req);
        free(frame);
}

static void test_frame_limits(void **state) {
        const uint8_t big[4] = { 0x00, 0x01, 0x00, 0x01 }, huge[4] = { 0xff, 0xff, 0xff, 0xff },
                      zero[4] = { 0, 0, 0, 0 }, max[4] = { 0x00, 0x01, 0x00, 0x00 };
        json_t *o = json_object();
        char *frame = NULL;
        size_t used, len;
        CtlReader rd;
        char *s;

        ctl_reader_init(&rd, CTL_REQUEST_MAX);
        assert_int_equal(ctl_reader_feed(&rd, big, 4, &used), -EMSGSIZE);
        ctl_reader_done(&rd);
        assert_int_equal(ctl_reader_feed(&rd, huge, 4, &used), -EMSGSIZE);
        ctl_reader_done(&rd);
        assert_int_equal(ctl_reader_feed(&rd, zero, 4, &used), -EBADMSG);
        ctl_reader_done(&rd);
        /* exactly the limit is fine; truncated: still waiting */
        assert_int_equal(ctl_reader_feed(&rd, max, 4, &used), 0);
        assert_int_equal(ctl_reader_feed(&rd, "{}", 2, &used), 0);
        assert_int_equal(rd.got, 2);
        ctl_reader_done(&rd);
        /* a truncated header */
        assert_int_equal(ctl_reader_feed(&rd, max, 3, &used), 0);
        assert_int_equal(used, 3);
        ctl_reader_done(&rd);

        /* encode refuses what the other side would refuse */
        s = malloc(CTL_REQUEST_MAX + 1);
        memset(s, 'a', CTL_REQUEST_MAX);
        s[CTL_REQUEST_MAX] = 0;
        json_object_set_new(o, "x", json_string(s));
        assert_int_equal(ctl_frame_encode(o, CTL_REQUEST_MAX, &frame, &len), -EMSGSIZE);
        assert_null(frame);
        json_decref(o);
        o = json_integer(1);
        assert_int_equal(ctl_frame_encode(o, CTL_REQUEST_MAX, &frame, &len), -EINVAL);
        free(s);
        json_decref(o);
}

static void test_parse_bad(void **state) {
        json_t *m;
        int r;

        m = parse("not json", &r);
        assert_int_equal(r, -EBADMSG);
        assert_null(m);
        parse("[1]", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"command\":\"ping\"}", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"version\":\"1\",\"command\":\"ping\"}", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"version\":1.0,\"command\":\"ping\"}", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"version\":2,\"command\":\"ping\"}", &r);
        assert_int_equal(r, -EPROTONOSUPPORT);
        parse("{\"version\":1,\"version\":1}", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"version\":1,\"command\":\"ping\"} trailing", &r);
        assert_int_equal(r, -EBADMSG);
        parse("{\"version\":1,\"a\":\"\\u0000\"}", &r);
        assert_int_equal(r, -EBADMSG);
        m = parse("{\"version\":1,\"command\":\"ping\"}", &r);
        assert_int_equal(r, 0);
        json_decref(m);
}

static void test_validate(void **state) {
        char err[256];

        assert_int_equal(validate("{\"version\":1,\"command\":\"ping\"}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"status\",\"jail\":\"sshd\"}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"sshd\",\"addr\":\"192.0.2.1\","
                                  "\"bantime\":-1,\"report\":false}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\",\"all\":true,\"jail\":\"sshd\"}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\",\"addr\":\"192.0.2.1\",\"fleet\":true}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\",\"addr\":\"192.0.2.1\",\"fleet\":1}", err, sizeof err), -EINVAL);
        assert_int_equal(validate("{\"version\":1,\"command\":\"reload\",\"unban\":true}", err, sizeof err), 0);

        assert_int_equal(validate("{\"version\":1}", err, sizeof err), -EINVAL);
        assert_string_equal(err, "\"command\" is missing or not a string");
        assert_int_equal(validate("{\"version\":1,\"command\":\"nope\"}", err, sizeof err), -EINVAL);
        assert_string_equal(err, "unknown command 'nope'");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ping\",\"x\":1}", err, sizeof err), -EINVAL);
        assert_string_equal(err, "ping: unknown argument 'x'");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"sshd\"}", err, sizeof err), -EINVAL);
        assert_string_equal(err, "ban: \"addr\" is missing");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":1,\"addr\":\"192.0.2.1\"}", err, sizeof err),
                         -EINVAL);
        assert_string_equal(err, "ban: \"jail\" must be a string");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\",\"bantime\":1.5}",
                                  err, sizeof err), -EINVAL);
        assert_string_equal(err, "ban: \"bantime\" must be an integer");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\",\"bantime\":0}",
                                  err, sizeof err), -EINVAL);
        /* the kernel's limit for an element timeout: 18446744073 s is the longest ban */
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\","
                                  "\"bantime\":18446744073}", err, sizeof err), 0);
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\","
                                  "\"bantime\":18446744074}", err, sizeof err), -EINVAL);
        assert_string_equal(err, "ban: \"bantime\" 18446744074 is past the kernel's limit for an element timeout: at "
                                 "most 18446744073 seconds (about 584 years), or -1 for a permanent ban");
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\","
                                  "\"bantime\":9223372036854775807}", err, sizeof err), -EINVAL);
        assert_int_equal(validate("{\"version\":1,\"command\":\"ban\",\"jail\":\"s\",\"addr\":\"192.0.2.1\",\"report\":1}",
                                  err, sizeof err), -EINVAL);
        assert_string_equal(err, "ban: \"report\" must be a boolean");
        assert_int_equal(validate("{\"version\":1,\"command\":\"status\",\"jail\":\"\"}", err, sizeof err), -EINVAL);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\"}", err, sizeof err), -EINVAL);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\",\"all\":true,\"addr\":\"192.0.2.1\"}", err,
                                  sizeof err), -EINVAL);
        assert_int_equal(validate("{\"version\":1,\"command\":\"unban\",\"all\":false}", err, sizeof err), -EINVAL);
}

static void test_reply(void **state) {
        json_t *ok = ctl_reply_new(), *bad = ctl_reply_error("two\nlines \x01here"), *m;
        char err[256];
        int r;

        assert_int_equal(ctl_reply_validate(ok, err, sizeof err), 1);
        assert_int_equal(ctl_reply_validate(bad, err, sizeof err), 0);
        assert_string_equal(json_string_value(json_object_get(bad, "error")), "two");
        m = parse("{\"version\":1,\"ok\":\"yes\"}", &r);
        assert_int_equal(ctl_reply_validate(m, err, sizeof err), -EBADMSG);
        json_decref(m);
        m = parse("{\"version\":1,\"ok\":false}", &r);
        assert_int_equal(ctl_reply_validate(m, err, sizeof err), -EBADMSG);
        json_decref(m);
        json_decref(ok);
        json_decref(bad);
        bad = ctl_reply_error("a \x01 b");
        assert_string_equal(json_string_value(json_object_get(bad, "error")), "a ? b");
        json_decref(bad);
        /* not UTF-8: still a string */
        m = ctl_json_string("caf\xe9");
        assert_string_equal(json_string_value(m), "caf?");
        json_decref(m);
        assert_true(ctl_command_read_only(CTL_STATUS));
        assert_false(ctl_command_read_only(CTL_BAN));
        assert_int_equal(ctl_command_from_string("reload"), CTL_RELOAD);
        assert_int_equal(ctl_command_from_string("x"), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_frame_roundtrip), cmocka_unit_test(test_frame_limits),
                cmocka_unit_test(test_parse_bad),       cmocka_unit_test(test_validate),
                cmocka_unit_test(test_reply),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
