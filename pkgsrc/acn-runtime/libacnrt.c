/*
 * libacnrt - the expression evaluator of acn-runtime, as a shared library
 * (libacnrt.so.0); acnrt.h is its interface.
 *
 * Shared-nothing design: there is no mutable global state.  Every
 * evaluation owns a private struct evalctx (input cursor, nesting depth,
 * error slot) that is passed explicitly, so evaluations are independent of
 * each other and of the order in which they run.
 *
 * Copyright (c) 2026 ACN.  MIT License.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acnrt.h"

#ifndef ACNRT_VERSION
#define ACNRT_VERSION "0.3.1"
#endif

#define MAX_DEPTH 64

struct evalctx {
	const char *p;          /* current position in the expression */
	int depth;              /* parenthesis / unary nesting */
	const char *err;        /* first error, or NULL */
};

static long long parse_expr(struct evalctx *c);

static void fail(struct evalctx *c, const char *msg)
{
	if (c->err == NULL)
		c->err = msg;
}

static void skip_space(struct evalctx *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

static long long parse_number(struct evalctx *c)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(c->p, &end, 10);
	if (end == c->p) {
		fail(c, *c->p ? "unexpected character" : "unexpected end of expression");
		return 0;
	}
	if (errno == ERANGE)
		fail(c, "integer overflow");
	c->p = end;
	return v;
}

/* factor := NUMBER | '(' expr ')' | ('-' | '+') factor */
static long long parse_factor(struct evalctx *c)
{
	long long v = 0;

	skip_space(c);
	if (++c->depth > MAX_DEPTH) {
		fail(c, "expression nested too deeply");
		return 0;
	}
	if (*c->p == '(') {
		c->p++;
		v = parse_expr(c);
		skip_space(c);
		if (*c->p == ')')
			c->p++;
		else
			fail(c, "missing ')'");
	} else if (*c->p == '-' || *c->p == '+') {
		char sign = *c->p++;
		v = parse_factor(c);
		if (sign == '-') {
			if (v == LLONG_MIN)
				fail(c, "integer overflow");
			else
				v = -v;
		}
	} else if (*c->p >= '0' && *c->p <= '9') {
		v = parse_number(c);
	} else {
		fail(c, *c->p ? "unexpected character" : "unexpected end of expression");
	}
	c->depth--;
	return v;
}

/* term := factor (('*' | '/' | '%') factor)* */
static long long parse_term(struct evalctx *c)
{
	long long v = parse_factor(c), r;

	for (;;) {
		char op;

		skip_space(c);
		op = *c->p;
		if (c->err || (op != '*' && op != '/' && op != '%'))
			return v;
		c->p++;
		r = parse_factor(c);
		if (c->err)
			return 0;
		if (op == '*') {
			if (__builtin_mul_overflow(v, r, &v))
				fail(c, "integer overflow");
		} else if (r == 0) {
			fail(c, "division by zero");
		} else if (v == LLONG_MIN && r == -1) {
			fail(c, "integer overflow");
		} else {
			v = (op == '/') ? v / r : v % r;
		}
	}
}

/* expr := term (('+' | '-') term)* */
static long long parse_expr(struct evalctx *c)
{
	long long v = parse_term(c), r;

	for (;;) {
		char op;

		skip_space(c);
		op = *c->p;
		if (c->err || (op != '+' && op != '-'))
			return v;
		c->p++;
		r = parse_term(c);
		if (c->err)
			return 0;
		if (op == '+' ? __builtin_add_overflow(v, r, &v)
			      : __builtin_sub_overflow(v, r, &v))
			fail(c, "integer overflow");
	}
}

/* Evaluate one expression; returns 0 and stores *out, or -1 and sets *err. */
int acnrt_eval(const char *src, long long *out, const char **err)
{
	struct evalctx c = { src, 0, NULL };
	long long v = parse_expr(&c);

	skip_space(&c);
	if (c.err == NULL && *c.p != '\0')
		fail(&c, *c.p == ')' ? "unbalanced ')'" : "unexpected character");
	if (c.err) {
		*err = c.err;
		return -1;
	}
	*out = v;
	return 0;
}
const char *acnrt_version(void)
{
	return ACNRT_VERSION;
}
