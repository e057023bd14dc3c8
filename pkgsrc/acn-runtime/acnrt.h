/*
 * acnrt.h - the interface of libacnrt, acn-runtime's expression evaluator.
 *
 * Copyright (c) 2026 ACN.  MIT License.
 */
#ifndef ACNRT_H
#define ACNRT_H

/*
 * acnrt_eval evaluates one 64-bit integer expression (+ - * / %, unary
 * minus, parentheses).  It returns 0 and stores the value in *out, or -1
 * and points *err at a static message (overflow, division by zero, syntax).
 * It keeps no state between calls and is safe to call from several threads.
 */
int acnrt_eval(const char *expr, long long *out, const char **err);

/* acnrt_version is the library's version, such as "0.3.1". */
const char *acnrt_version(void);

#endif
