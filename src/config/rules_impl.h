/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Private to the rules parser: the state that the scanner (rules_scan.l),
 * the grammar (rules_parse.y) and rules.c share while one text is parsed.
 * One context per parse and nothing global, so threads may parse at once.
 */
#ifndef ACCEL_CONFIG_RULES_IMPL_H
#define ACCEL_CONFIG_RULES_IMPL_H

#include <setjmp.h>
#include <stddef.h>

#include "config/rules.h"

/* Larger inputs are refused (-EFBIG): flex indexes its buffer with int. */
#define RULES_MAX_SIZE ((size_t)64 << 20)

/* Where a token or a phrase is: its first byte, and its bytes as written. */
struct rules_loc {
	int line, col;    /* 1-based; col counts bytes */
	size_t off, end;  /* [off, end) in ctx->text */
};

/* What the grammar expects next; names the "expected ..." of a syntax error. */
enum rules_expect {
	RULES_X_STATEMENT,
	RULES_X_TRANSPORT,
	RULES_X_ROLE,
	RULES_X_ADDR,
	RULES_X_PREFIX4,
	RULES_X_PREFIX6,
	RULES_X_COLON,
	RULES_X_PORTS,
	RULES_X_PORT_HI,
	RULES_X_PAIR_OR_EOL,
	RULES_X_EOL,
	RULES_X_PROGRAM,
	RULES_X_APPID,
};

/* What the scanner last returned: the parser's lookahead when it reports. */
enum rules_lookahead {
	RULES_LA_TOKEN,
	RULES_LA_EOL,
	RULES_LA_EOF,
	RULES_LA_BAD_CHAR,  /* a byte that starts no token */
	RULES_LA_BRACKET,   /* '[' without its ']' */
};

/* The optional second address:ports pair of a use statement. */
struct rules_pair {
	struct rule_endpoint ep;
	int present;
};

struct rules_ctx {
	const char *text; /* the input as given, never modified */
	size_t len;

	/* scanner */
	int line, col;
	size_t off;
	enum rules_lookahead lookahead;
	int eof_newline;        /* the closing newline was returned */
	jmp_buf oom;            /* flex's fatal errors (out of memory) land here */
	void *flex_mem[8];      /* flex's live allocations, freed after an unwind */
	int flex_nmem;

	/* grammar */
	enum rules_expect expect;
	enum rule_role role;    /* of the use statement being read */

	/* result: explicit blocks go straight into set, the implicit one waits */
	struct rules_set *set;
	struct rule_block implicit;
	size_t current;         /* block receiving rules, or RULES_IMPLICIT */
	size_t *index;          /* open hash of set->blocks by program and id */
	size_t index_size;

	struct rules_error *err;
	int rc;                 /* 0, or the first error's -errno */
};

#define RULES_IMPLICIT ((size_t)-1)

/* rules_scan.l: scan and parse ctx->text. Returns 0 or ctx->rc. */
int rules_scan_parse(struct rules_ctx *ctx);

/*
 * rules.c, for the grammar's actions. Each returns 0, or records the error
 * (the first one only) and returns its -errno; the action then aborts.
 */
int rules_fail(struct rules_ctx *ctx, int rc, const struct rules_loc *loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void rules_syntax_error(struct rules_ctx *ctx, const struct rules_loc *loc);
int rules_unknown_statement(struct rules_ctx *ctx, const struct rules_loc *loc);
int rules_check_transport(struct rules_ctx *ctx, const struct rules_loc *loc, int *transport);
int rules_check_role(struct rules_ctx *ctx, const struct rules_loc *loc, int *role);
int rules_check_ipv4(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a);
int rules_check_ipv6(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a);
int rules_check_prefix(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a);
int rules_check_port(struct rules_ctx *ctx, const struct rules_loc *loc, int *port);
int rules_check_range(struct rules_ctx *ctx, const struct rules_loc *loc, int lo, int hi);
int rules_check_second(struct rules_ctx *ctx, const struct rules_loc *loc);
int rules_add_block(struct rules_ctx *ctx, const struct rules_loc *stmt,
		    const struct rules_loc *program, const struct rules_loc *app_id);
int rules_add_rule(struct rules_ctx *ctx, const struct rules_loc *use, int transport, int role,
		   const struct rule_endpoint *first, const struct rules_pair *second);

/* The endpoint `*:*`. */
void rules_any_endpoint(struct rule_endpoint *e);

#endif
