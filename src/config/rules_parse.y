/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Grammar of the rules language (libxlio.conf style). Pure and reentrant:
 * all state is in struct rules_ctx. No error recovery: the first error
 * aborts the parse. Prints nothing; errors go to ctx->err.
 *
 * Every token that is not last in its rule is followed by a mid-rule action
 * setting ctx->expect, which is what a syntax error at the next token says
 * was expected. Checks run in actions that bison reduces before it reads
 * the next token, so errors are reported in text order.
 */

%code top {
#include "config.h"
}

%code requires {
#include "config/rules_impl.h"
}

%code {
#include <string.h>

int rules_yylex(RULES_YYSTYPE *lval, RULES_YYLTYPE *lloc, void *scanner);

static void rules_yyerror(const RULES_YYLTYPE *loc, void *scanner, struct rules_ctx *ctx,
			  const char *msg)
{
	(void)scanner;
	(void)msg; /* ours says more than "syntax error" */
	rules_syntax_error(ctx, loc);
}

#define YYLLOC_DEFAULT(cur, rhs, n)                                    \
	do {                                                           \
		if (n) {                                               \
			(cur).line = YYRHSLOC(rhs, 1).line;            \
			(cur).col = YYRHSLOC(rhs, 1).col;              \
			(cur).off = YYRHSLOC(rhs, 1).off;              \
			(cur).end = YYRHSLOC(rhs, n).end;              \
		} else {                                               \
			(cur).line = YYRHSLOC(rhs, 0).line;            \
			(cur).col = YYRHSLOC(rhs, 0).col;              \
			(cur).off = (cur).end = YYRHSLOC(rhs, 0).end;  \
		}                                                      \
	} while (0)

/* The grammar is flat (left recursion, one line at a time): a small stack. */
#define YYINITDEPTH 32
#define EXPECT(x) (ctx->expect = (x))
}

%require "3.0"
%define api.pure full
%define api.prefix {rules_yy}
%define api.token.prefix {RULES_T_}
%define api.location.type {struct rules_loc}
%locations
%param {void *scanner}
%parse-param {struct rules_ctx *ctx}
%expect 0

%union {
	int num;
	struct rule_addr addr;
	struct rule_ports ports;
	struct rule_endpoint ep;
	struct rules_pair pair;
}

%token END 0 "end of file"
%token NL USE APPLICATION_ID WORD GLOB NUMBER IPV4 IPV6 LEXERR

%type <num> transport role port
%type <addr> addr ipv4 ipv6
%type <ports> ports
%type <ep> endpoint
%type <pair> second

%%

file	: %empty
	| file line
	;

line	: NL
	| use NL				{ EXPECT(RULES_X_STATEMENT); }
	| application_id NL			{ EXPECT(RULES_X_STATEMENT); }
	| WORD					{ rules_unknown_statement(ctx, &@1); YYABORT; }
	;

application_id
	: APPLICATION_ID			{ EXPECT(RULES_X_PROGRAM); }
	  GLOB					{ EXPECT(RULES_X_APPID); }
	  GLOB
		{
			if (rules_add_block(ctx, &@1, &@3, &@5))
				YYABORT;
			EXPECT(RULES_X_EOL);
		}
	;

use	: USE					{ EXPECT(RULES_X_TRANSPORT); }
	  transport				{ EXPECT(RULES_X_ROLE); }
	  role					{ ctx->role = $5; EXPECT(RULES_X_ADDR); }
	  endpoint
		{
			int two = $5 == ROLE_TCP_CLIENT || $5 == ROLE_UDP_CONNECT;
			EXPECT(two ? RULES_X_PAIR_OR_EOL : RULES_X_EOL);
		}
	  second
		{
			if (rules_add_rule(ctx, &@1, $3, $5, &$7, &$9))
				YYABORT;
		}
	;

transport
	: WORD			{ if (rules_check_transport(ctx, &@1, &$$)) YYABORT; }
	;

role	: WORD			{ if (rules_check_role(ctx, &@1, &$$)) YYABORT; }
	;

second	: %empty		{ rules_any_endpoint(&$$.ep); $$.present = 0; }
	| ':'			{ EXPECT(RULES_X_ADDR); }
	  endpoint
		{
			if (rules_check_second(ctx, &@3))
				YYABORT;
			$$.ep = $3;
			$$.present = 1;
			EXPECT(RULES_X_EOL);
		}
	;

endpoint
	: addr			{ EXPECT(RULES_X_COLON); }
	  ':'			{ EXPECT(RULES_X_PORTS); }
	  ports			{ $$.addr = $1; $$.ports = $5; }
	;

addr	: '*'			{ memset(&$$, 0, sizeof($$)); }
	| ipv4
	| ipv4 '/'		{ EXPECT(RULES_X_PREFIX4); }
	  NUMBER
		{
			$$ = $1;
			if (rules_check_prefix(ctx, &@4, &$$))
				YYABORT;
		}
	| ipv6
	| ipv6 '/'		{ EXPECT(RULES_X_PREFIX6); }
	  NUMBER
		{
			$$ = $1;
			if (rules_check_prefix(ctx, &@4, &$$))
				YYABORT;
		}
	;

ipv4	: IPV4			{ if (rules_check_ipv4(ctx, &@1, &$$)) YYABORT; }
	;

ipv6	: IPV6			{ if (rules_check_ipv6(ctx, &@1, &$$)) YYABORT; }
	;

ports	: '*'			{ $$.lo = 0; $$.hi = 65535; }
	| port			{ $$.lo = $$.hi = (uint16_t)$1; }
	| port '-'		{ EXPECT(RULES_X_PORT_HI); }
	  port
		{
			if (rules_check_range(ctx, &@$, $1, $4))
				YYABORT;
			$$.lo = (uint16_t)$1;
			$$.hi = (uint16_t)$4;
		}
	;

port	: NUMBER		{ if (rules_check_port(ctx, &@1, &$$)) YYABORT; }
	;
