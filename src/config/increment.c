/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "increment.h"

#define DEPTH_MAX 32

typedef struct Parser {
        const char *s;
        size_t pos;
        unsigned depth;
        double time, count, factor;
        int error;              /* first error */
        size_t err_pos;
        const char *err_msg;
} Parser;

static double fail(Parser *p, int error, const char *msg) {
        if (!p->error) {
                p->error = error;
                p->err_pos = p->pos;
                p->err_msg = msg;
        }
        return 0;
}

static void skip_ws(Parser *p) {
        while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t')
                p->pos++;
}

/* Consumes tok when it comes next (a word must not run on into an identifier). */
static bool eat(Parser *p, const char *tok) {
        size_t n = strlen(tok);

        skip_ws(p);
        if (strncmp(p->s + p->pos, tok, n) != 0)
                return false;
        if (isalpha((unsigned char) tok[0]) && (isalnum((unsigned char) p->s[p->pos + n]) || p->s[p->pos + n] == '_'))
                return false;
        /* "<" must not take the first half of "<<" or "<=", "*" of "**", "/" of "//" */
        if (n == 1 && strchr("<>*/", tok[0]) && (p->s[p->pos + 1] == tok[0] || (strchr("<>", tok[0]) && p->s[p->pos + 1] == '=')))
                return false;
        p->pos += n;
        return true;
}

static double parse_cond(Parser *p);

static double check(Parser *p, double v) {
        if (!isfinite(v) || fabs(v) > 1e18)
                return fail(p, -EDOM, "value out of range");
        return v;
}

static double parse_call(Parser *p, const char *name) {
        double a[2] = {};
        unsigned n = 0;

        if (!eat(p, "("))
                return fail(p, -EINVAL, "expected '('");
        if (!eat(p, ")")) {
                do {
                        if (n == 2)
                                return fail(p, -EINVAL, "too many arguments");
                        a[n++] = parse_cond(p);
                } while (eat(p, ","));
                if (!eat(p, ")"))
                        return fail(p, -EINVAL, "expected ')'");
        }
        if (strcmp(name, "min") == 0 || strcmp(name, "max") == 0 || strcmp(name, "math.pow") == 0) {
                if (n != 2)
                        return fail(p, -EINVAL, "two arguments expected");
                if (name[0] == 'm' && name[1] == 'a' && name[2] == 't')
                        return check(p, pow(a[0], a[1]));
                return strcmp(name, "min") == 0 ? fmin(a[0], a[1]) : fmax(a[0], a[1]);
        }
        if (n != 1)
                return fail(p, -EINVAL, "one argument expected");
        if (strcmp(name, "math.exp") == 0)
                return check(p, exp(a[0]));
        if (strcmp(name, "math.log") == 0)
                return a[0] > 0 ? log(a[0]) : fail(p, -EDOM, "math.log of a number <= 0");
        if (strcmp(name, "math.sqrt") == 0)
                return a[0] >= 0 ? sqrt(a[0]) : fail(p, -EDOM, "math.sqrt of a negative number");
        if (strcmp(name, "float") == 0)
                return a[0];
        if (strcmp(name, "int") == 0)
                return trunc(a[0]);
        if (strcmp(name, "abs") == 0)
                return fabs(a[0]);
        if (strcmp(name, "round") == 0)
                return nearbyint(a[0]);
        return fail(p, -EINVAL, "unknown function (math.exp, math.log, math.sqrt, math.pow, float, int, abs, min, max, round)");
}

static double parse_atom(Parser *p) {
        char name[32];
        size_t n = 0;
        double v;

        skip_ws(p);
        if (++p->depth > DEPTH_MAX)
                return fail(p, -EINVAL, "nested too deeply");
        if (eat(p, "(")) {
                v = parse_cond(p);
                if (!eat(p, ")"))
                        v = fail(p, -EINVAL, "expected ')'");
                p->depth--;
                return v;
        }
        if (isdigit((unsigned char) p->s[p->pos]) || p->s[p->pos] == '.') {
                char *end;
                v = strtod(p->s + p->pos, &end);
                if (end == p->s + p->pos)
                        return fail(p, -EINVAL, "bad number");
                p->pos = (size_t) (end - p->s);
                p->depth--;
                return check(p, v);
        }
        while (isalnum((unsigned char) p->s[p->pos]) || p->s[p->pos] == '_' || p->s[p->pos] == '.') {
                if (n + 1 >= sizeof name)
                        return fail(p, -EINVAL, "name too long");
                name[n++] = p->s[p->pos++];
        }
        name[n] = 0;
        if (n == 0)
                return fail(p, -EINVAL, "expected a number, a name or '('");
        if (strcmp(name, "ban.Time") == 0)
                v = p->time;
        else if (strcmp(name, "ban.Count") == 0)
                v = p->count;
        else if (strcmp(name, "banFactor") == 0)
                v = p->factor;
        else {
                static const char *const functions[] = { "math.exp", "math.log", "math.sqrt", "math.pow", "float",
                                                         "int",      "abs",      "min",       "max",      "round" };
                bool known = false;
                size_t start = p->pos - n;

                for (size_t i = 0; i < ELEMENTSOF(functions); i++)
                        known = known || strcmp(name, functions[i]) == 0;
                skip_ws(p);
                if (p->s[p->pos] != '(' || !known) {
                        bool call = p->s[p->pos] == '(';
                        p->pos = start;
                        return fail(p, -EINVAL, call || known ?
                                    "unknown function (math.exp, math.log, math.sqrt, math.pow, float, int, abs, min, max, round)" :
                                    "unknown name (ban.Time, ban.Count, banFactor)");
                }
                v = parse_call(p, name);
        }
        p->depth--;
        return v;
}

static double parse_unary(Parser *p);

static double parse_power(Parser *p) {
        double b = parse_atom(p);

        if (eat(p, "**"))
                return check(p, pow(b, parse_unary(p)));
        return b;
}

static double parse_unary(Parser *p) {
        if (eat(p, "-"))
                return -parse_unary(p);
        if (eat(p, "+"))
                return parse_unary(p);
        return parse_power(p);
}

static double parse_term(Parser *p) {
        double v = parse_unary(p);

        for (;;) {
                /* the operator is the one eat() took, never the text before pos: in "/2" the
                 * operand before "/" failed to parse, pos is 1, and pos - 2 is before the formula */
                char op = eat(p, "*") ? '*' : eat(p, "//") ? 'f' : eat(p, "/") ? '/' : eat(p, "%") ? '%' : 0;
                double d;

                if (!op)
                        return v;
                d = parse_unary(p);
                if (op == '*') {
                        v = check(p, v * d);
                        continue;
                }
                if (d == 0)
                        return fail(p, -EDOM, "division by zero");
                if (op == '%')
                        v = v - d * floor(v / d);
                else if (op == 'f')
                        v = floor(v / d);
                else
                        v = v / d;
        }
}

static double parse_sum(Parser *p) {
        double v = parse_term(p);

        for (;;) {
                if (eat(p, "+"))
                        v = check(p, v + parse_term(p));
                else if (eat(p, "-"))
                        v = check(p, v - parse_term(p));
                else
                        return v;
        }
}

static double parse_shift(Parser *p) {
        double v = parse_sum(p);

        for (;;) {
                bool left = eat(p, "<<");
                if (!left && !eat(p, ">>"))
                        return v;
                double k = trunc(parse_sum(p));
                if (k < 0 || k > 62)
                        return fail(p, -EDOM, "shift count out of range (0..62)");
                v = left ? check(p, trunc(v) * (double) (1ULL << (unsigned) k)) : floor(trunc(v) / (double) (1ULL << (unsigned) k));
        }
}

static double parse_cmp(Parser *p) {
        double a = parse_shift(p);

        if (eat(p, "<="))
                return a <= parse_shift(p);
        if (eat(p, ">="))
                return a >= parse_shift(p);
        if (eat(p, "=="))
                return a == parse_shift(p);
        if (eat(p, "!="))
                return a != parse_shift(p);
        if (eat(p, "<"))
                return a < parse_shift(p);
        if (eat(p, ">"))
                return a > parse_shift(p);
        return a;
}

static double parse_not(Parser *p) {
        if (eat(p, "not"))
                return !parse_not(p);
        return parse_cmp(p);
}

static double parse_and(Parser *p) {
        double v = parse_not(p);

        while (eat(p, "and")) {
                double w = parse_not(p);
                v = v != 0 ? w : v;
        }
        return v;
}

static double parse_or(Parser *p) {
        double v = parse_and(p);

        while (eat(p, "or")) {
                double w = parse_and(p);
                v = v != 0 ? v : w;
        }
        return v;
}

/* X if C else Y (both sides evaluated: they have no side effects) */
static double parse_cond(Parser *p) {
        double x = parse_or(p), c, y;

        if (!eat(p, "if"))
                return x;
        c = parse_or(p);
        if (!eat(p, "else"))
                return fail(p, -EINVAL, "expected 'else'");
        y = parse_cond(p);
        return c != 0 ? x : y;
}

int increment_formula_eval(const char *formula, double time, double count, double factor, double *ret,
                           size_t *reterr_offset, const char **reterr_msg) {
        Parser p = { .s = formula, .time = time, .count = count, .factor = factor };
        double v;

        if (strlen(formula) > INCREMENT_FORMULA_MAX) {
                p.error = -EINVAL;
                p.err_msg = "formula too long";
        } else {
                v = parse_cond(&p);
                skip_ws(&p);
                if (!p.error && p.s[p.pos] != 0)
                        fail(&p, -EINVAL, "unexpected text");
        }
        if (p.error) {
                if (reterr_offset)
                        *reterr_offset = p.err_pos;
                if (reterr_msg)
                        *reterr_msg = p.err_msg;
                return p.error;
        }
        *ret = v;
        return 0;
}

int increment_formula_check(const char *formula, size_t *reterr_offset, const char **reterr_msg) {
        for (unsigned c = 0; c < 4; c++) {
                double v;
                int r = increment_formula_eval(formula, 600, c, 1, &v, reterr_offset, reterr_msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

int64_t increment_bantime(const BanIncrement *inc, int64_t bantime, unsigned count, double rnd) {
        double t;

        if (!inc->enabled || bantime < 0)
                return bantime;
        if (inc->n_multipliers > 0)
                /* not max'ed with the bantime: a multiplier below 1 shortens on purpose */
                t = (double) bantime * inc->factor * (double) inc->multipliers[MIN((size_t) count, inc->n_multipliers - 1)];
        else {
                if (increment_formula_eval(inc->formula ?: INCREMENT_DEFAULT_FORMULA, (double) bantime, count, inc->factor,
                                           &t, NULL, NULL) < 0)
                        t = (double) bantime; /* checked at load: only a value out of range gets here */
                t = fmax(t, (double) bantime);
        }
        if (inc->maxtime_sec > 0)
                t = fmin(t, (double) inc->maxtime_sec);
        if (inc->rndtime_sec > 0)
                t += rnd * (double) inc->rndtime_sec;
        if (!(t >= 1))
                t = 1;
        if (t > (double) NFTJAIL_BANTIME_MAX_SEC) /* the kernel refuses a longer element timeout */
                t = (double) NFTJAIL_BANTIME_MAX_SEC;
        return (int64_t) t;
}
