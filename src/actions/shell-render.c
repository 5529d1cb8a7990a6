/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell-render.h"
#include "util/macro.h"
#include "util/string-util.h"

typedef enum Ctx { CTX_NONE, CTX_SQ, CTX_DQ, CTX_BQ } Ctx;

#define DEPTH_MAX 32

bool shell_value_literal_ok(const char *v) {
        size_t n = 0;

        for (; *v; v++, n++)
                if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
                      strchr(".:/_-", *v)) || n > 255)
                        return false;
        return true;
}

static const ShellTag *tag_find(const ShellTag *tags, size_t n, const char *p, size_t len) {
        for (size_t i = 0; i < n; i++)
                if (strlen(tags[i].name) == len && memcmp(tags[i].name, p, len) == 0)
                        return &tags[i];
        return NULL;
}

static int env_add(char ***env, size_t *n_env, const ShellTag *t, size_t *ret_idx) {
        size_t len = MIN(t->len, (size_t) SHELL_VALUE_MAX), o;
        char *s, **v;

        if (*n_env >= SHELL_TAGS_MAX)
                return -EINVAL;
        s = malloc(len + 16);
        if (!s)
                return -ENOMEM;
        o = (size_t) snprintf(s, 16, "NJ_T%zu=", *n_env + 1);
        for (size_t i = 0; i < len; i++)
                if (t->value[i])
                        s[o++] = t->value[i];
        s[o] = 0;
        v = reallocarray(*env, *n_env + 2, sizeof *v);
        if (!v) {
                free(s);
                return -ENOMEM;
        }
        *env = v;
        v[(*n_env)++] = s;
        v[*n_env] = NULL;
        *ret_idx = *n_env;
        return 0;
}

int shell_render(const char *script, const ShellTag *tags, size_t n_tags, char **ret_script, char ***ret_env) {
        Ctx stack[DEPTH_MAX] = { CTX_NONE };
        unsigned depth = 0;
        char **env = NULL, *out = NULL;
        size_t n_env = 0, size = 0;
        FILE *f = open_memstream(&out, &size);
        int r = 0;

        if (!f)
                return -ENOMEM;
        for (const char *p = script; *p;) {
                Ctx c = stack[depth];

                if (*p == '<' && c != CTX_BQ) {
                        size_t len = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
                        const ShellTag *t = len > 0 && p[1 + len] == '>' ? tag_find(tags, n_tags, p + 1, len) : NULL;

                        if (t) {
                                size_t idx;

                                if (t->literal && shell_value_literal_ok(t->value))
                                        fputs(t->value, f);
                                else {
                                        r = env_add(&env, &n_env, t, &idx);
                                        if (r < 0)
                                                goto fail;
                                        if (c == CTX_SQ)
                                                fprintf(f, "'\"${NJ_T%zu}\"'", idx);
                                        else if (c == CTX_DQ)
                                                fprintf(f, "${NJ_T%zu}", idx);
                                        else
                                                fprintf(f, "\"${NJ_T%zu}\"", idx);
                                }
                                p += len + 2;
                                continue;
                        }
                }
                if (*p == '<' && c == CTX_BQ) {
                        /* inside backticks quoting nests differently: no tags there */
                        size_t len = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

                        if (len > 0 && p[1 + len] == '>' && tag_find(tags, n_tags, p + 1, len)) {
                                r = -EINVAL;
                                goto fail;
                        }
                }
                if (c == CTX_SQ) {
                        if (*p == '\'')
                                depth--;
                } else if (*p == '#' && c == CTX_NONE && (p == script || strchr(" \t\n;&|(", p[-1]))) {
                        /* a comment: its quotes are no quotes */
                        size_t len = strcspn(p, "\n");

                        fwrite(p, 1, len, f);
                        p += len;
                        continue;
                } else if (*p == '\\' && p[1]) {
                        fputc(*p++, f);
                } else if (*p == '\'' && c != CTX_DQ) {
                        if (depth + 1 >= DEPTH_MAX) {
                                r = -EINVAL;
                                goto fail;
                        }
                        stack[++depth] = CTX_SQ;
                } else if (*p == '"') {
                        if (c == CTX_DQ)
                                depth--;
                        else {
                                if (depth + 1 >= DEPTH_MAX) {
                                        r = -EINVAL;
                                        goto fail;
                                }
                                stack[++depth] = CTX_DQ;
                        }
                } else if (*p == '`') {
                        if (c == CTX_BQ)
                                depth--;
                        else {
                                if (depth + 1 >= DEPTH_MAX) {
                                        r = -EINVAL;
                                        goto fail;
                                }
                                stack[++depth] = CTX_BQ;
                        }
                } else if (*p == '$' && p[1] == '(') {
                        if (depth + 1 >= DEPTH_MAX) {
                                r = -EINVAL;
                                goto fail;
                        }
                        fputc(*p++, f);
                        stack[++depth] = CTX_NONE;
                } else if (*p == ')' && c == CTX_NONE && depth > 0) {
                        depth--;
                } else if (*p == '$' && p[1] == '{') {
                        /* ${...}: copied as it is; a tag inside is refused */
                        const char *e = strchr(p, '}');

                        if (!e) {
                                r = -EINVAL;
                                goto fail;
                        }
                        for (const char *q = p; q < e; q++)
                                if (*q == '<') {
                                        size_t len = strspn(q + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

                                        if (len > 0 && q[1 + len] == '>' && tag_find(tags, n_tags, q + 1, len)) {
                                                r = -EINVAL;
                                                goto fail;
                                        }
                                }
                        fwrite(p, 1, (size_t) (e - p), f);
                        p = e;
                } else if (*p == '<' && p[1] == '<' && c == CTX_NONE) {
                        /* a here-document: its body is neither quoted nor unquoted for us */
                        const char *q;

                        for (q = p + 2; *q; q++)
                                if (*q == '<') {
                                        size_t len = strspn(q + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");

                                        if (len > 0 && q[1 + len] == '>' && tag_find(tags, n_tags, q + 1, len)) {
                                                r = -EINVAL;
                                                goto fail;
                                        }
                                }
                }
                fputc(*p++, f);
        }
        if (depth != 0) {
                r = -EINVAL;
                goto fail;
        }
        if (fclose(f) != 0) {
                f = NULL;
                r = -ENOMEM;
                goto fail;
        }
        if (!env) {
                env = calloc(1, sizeof *env);
                if (!env) {
                        free(out);
                        return -ENOMEM;
                }
        }
        *ret_script = out;
        *ret_env = env;
        return 0;
fail:
        if (f)
                (void) fclose(f);
        free(out);
        strv_free(env);
        return r;
}
