/*
 * acn-runtime - a tiny integer expression runtime.
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

#ifndef ACNRT_VERSION
#define ACNRT_VERSION "0.3.0"
#endif

#define MAX_DEPTH 64
#define MAX_LINE 4096

enum { EXIT_EVAL = 1, EXIT_USAGE = 2 };

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
static int evaluate(const char *src, long long *out, const char **err)
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

static int eval_and_print(const char *expr, const char *where)
{
	long long v;
	const char *err;

	if (evaluate(expr, &v, &err) != 0) {
		fprintf(stderr, "acn-runtime: %s%s: %s\n", where, err, expr);
		return EXIT_EVAL;
	}
	printf("%lld\n", v);
	return 0;
}

/* Read expressions from stdin, one per line; '#' starts a comment line. */
static int run_stream(FILE *in)
{
	char line[MAX_LINE], where[32];
	unsigned long lineno = 0;
	int status = 0;

	while (fgets(line, sizeof(line), in) != NULL) {
		const char *s = line;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		snprintf(where, sizeof(where), "line %lu: ", lineno);
		if (eval_and_print(s, where) != 0)
			status = EXIT_EVAL;
	}
	if (ferror(in)) {
		perror("acn-runtime: stdin");
		return EXIT_EVAL;
	}
	return status;
}

static void usage(FILE *out)
{
	fputs("Usage: acn-runtime [COMMAND] [ARG...]\n"
	      "\n"
	      "Commands:\n"
	      "  eval EXPR...   evaluate integer expressions, one result per line\n"
	      "  echo [ARG...]  print the arguments separated by spaces\n"
	      "  run            read expressions from standard input (default)\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     show this help\n"
	      "  -V, --version  show the version\n", out);
}

static int dispatch(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "run";
	int i, status = 0;

	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("acn-runtime %s\n", ACNRT_VERSION);
		return 0;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "echo") == 0) {
		for (i = 2; i < argc; i++)
			printf("%s%s", i > 2 ? " " : "", argv[i]);
		putchar('\n');
		return 0;
	}
	if (strcmp(cmd, "eval") == 0) {
		if (argc < 3) {
			fputs("acn-runtime: eval needs at least one expression\n", stderr);
			return EXIT_USAGE;
		}
		for (i = 2; i < argc; i++)
			if (eval_and_print(argv[i], "") != 0)
				status = EXIT_EVAL;
		return status;
	}
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "-") == 0) {
		if (argc > 2) {
			fputs("acn-runtime: run takes no arguments\n", stderr);
			return EXIT_USAGE;
		}
		return run_stream(stdin);
	}
	fprintf(stderr, "acn-runtime: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int status = dispatch(argc, argv);

	/* Report write errors such as a full disk or a closed pipe. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("acn-runtime: stdout");
		return EXIT_EVAL;
	}
	return status;
}
