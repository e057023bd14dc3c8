/*
 * acn-runtime - a tiny integer expression runtime: the command.  The
 * evaluator is in libacnrt.so.0 (libacnrt.c, acnrt.h).
 *
 * Copyright (c) 2026 ACN.  MIT License.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acnrt.h"

#define MAX_LINE 4096

enum { EXIT_EVAL = 1, EXIT_USAGE = 2 };

static int eval_and_print(const char *expr, const char *where)
{
	long long v;
	const char *err;

	if (acnrt_eval(expr, &v, &err) != 0) {
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
		printf("acn-runtime %s\n", acnrt_version());
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
