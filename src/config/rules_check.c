/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The checks of the rules language and their messages: what a token must
 * be where it stands, and for the first one that is wrong, where it is,
 * what was written and what was expected. Called from grammar actions.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rules_impl.h"

/* Indexed by enum rules_expect. */
static const char *const expected[] = {
	[RULES_X_STATEMENT] = "a statement (use or application-id)",
	[RULES_X_TRANSPORT] = "a transport (accel, os, xlio or vma)",
	[RULES_X_ROLE] = "a role (tcp_server, tcp_client, udp_receiver, udp_sender or udp_connect)",
	[RULES_X_ADDR] = "an address (*, IPv4[/len] or [IPv6][/len])",
	[RULES_X_PREFIX4] = "a prefix length 0-32",
	[RULES_X_PREFIX6] = "a prefix length 0-128",
	[RULES_X_COLON] = "':' and ports after the address",
	[RULES_X_PORTS] = "ports (*, N or N-M)",
	[RULES_X_PORT_HI] = "the last port of the range",
	[RULES_X_PAIR_OR_EOL] = "end of line, or ':' and the local address:ports",
	[RULES_X_EOL] = "end of line",
	[RULES_X_PROGRAM] = "a program name (a glob, or *)",
	[RULES_X_APPID] = "an application id (or *)",
};

/* Bytes as written: printable ASCII kept, others as \xHH; "..." if cut. */
static void quote(char *buf, size_t size, const char *s, size_t n)
{
	size_t o = 0, i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t need = c >= 0x20 && c < 0x7f ? 1 : 4;
		if (o + need + 4 > size)
			break;
		if (need == 1)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	if (i < n && o + 4 <= size)
		o += (size_t)snprintf(buf + o, size - o, "...");
	buf[o] = '\0';
}

/* A token for a message: short enough to leave room for the rest. */
static const char *word(const struct rules_ctx *ctx, const struct rules_loc *loc, char *buf,
			size_t size)
{
	quote(buf, size, ctx->text + loc->off, loc->end - loc->off);
	return buf;
}

static int is(const struct rules_ctx *ctx, const struct rules_loc *loc, const char *keyword)
{
	size_t n = strlen(keyword);
	return loc->end - loc->off == n && memcmp(ctx->text + loc->off, keyword, n) == 0;
}

static int is_nocase(const struct rules_ctx *ctx, const struct rules_loc *loc, const char *keyword)
{
	size_t n = strlen(keyword);
	return loc->end - loc->off == n && strncasecmp(ctx->text + loc->off, keyword, n) == 0;
}

/* A decimal number as written, saturated well above any valid value. */
static unsigned long number(const struct rules_ctx *ctx, const struct rules_loc *loc)
{
	unsigned long v = 0;

	for (size_t i = loc->off; i < loc->end; i++) {
		v = v * 10 + (unsigned long)(ctx->text[i] - '0');
		if (v > 1000000)
			return 1000000;
	}
	return v;
}

int rules_fail(struct rules_ctx *ctx, int rc, const struct rules_loc *loc, const char *fmt, ...)
{
	struct rules_error *err = ctx->err;
	va_list ap;

	if (ctx->rc)
		return ctx->rc;
	ctx->rc = rc;
	if (loc) {
		err->line = loc->line;
		err->col = loc->col;
		quote(err->text, sizeof(err->text), ctx->text + loc->off, loc->end - loc->off);
	}
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

void rules_syntax_error(struct rules_ctx *ctx, const struct rules_loc *loc)
{
	const char *what = expected[ctx->expect];
	struct rules_loc at = *loc;
	char w[72];

	switch (ctx->lookahead) {
	case RULES_LA_EOL:
		at.end = at.off;
		rules_fail(ctx, -EINVAL, &at, "missing %s", what);
		break;
	case RULES_LA_EOF:
		at.end = at.off;
		rules_fail(ctx, -EINVAL, &at, "unexpected end of file: expected %s", what);
		break;
	case RULES_LA_BRACKET:
		rules_fail(ctx, -EINVAL, &at,
			   "unterminated '[' in '%s': expected ']' after the IPv6 address",
			   word(ctx, &at, w, sizeof(w)));
		break;
	case RULES_LA_BAD_CHAR:
		rules_fail(ctx, -EINVAL, &at, "unexpected character '%s': expected %s",
			   word(ctx, &at, w, sizeof(w)), what);
		break;
	default:
		rules_fail(ctx, -EINVAL, &at, "unexpected '%s': expected %s",
			   word(ctx, &at, w, sizeof(w)), what);
		break;
	}
}

/* Keywords are lower case, as in XLIO; say so when only the case is wrong. */
static const char *case_hint(const struct rules_ctx *ctx, const struct rules_loc *loc,
			     const char *const *keywords, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_nocase(ctx, loc, keywords[i]))
			return " (keywords are lower case)";
	return "";
}

int rules_unknown_statement(struct rules_ctx *ctx, const struct rules_loc *loc)
{
	static const char *const statements[] = { "use", "application-id" };
	char w[72];

	if (is(ctx, loc, "log"))
		return rules_fail(ctx, -EINVAL, loc,
				  "'log' statements of libxlio.conf are not supported: "
				  "set ACCEL_TRACELEVEL and ACCEL_LOG_FILE instead");
	return rules_fail(ctx, -EINVAL, loc,
			  "unknown statement '%s': expected use or application-id%s",
			  word(ctx, loc, w, sizeof(w)), case_hint(ctx, loc, statements, 2));
}

int rules_check_transport(struct rules_ctx *ctx, const struct rules_loc *loc, int *transport)
{
	/* xlio and vma: an existing libxlio.conf or libvma.conf works as is */
	static const char *const names[] = { "accel", "os", "xlio", "vma" };
	static const int values[] = { RULE_ACCEL, RULE_OS, RULE_ACCEL, RULE_ACCEL };
	char w[72];

	for (size_t i = 0; i < 4; i++) {
		if (is(ctx, loc, names[i])) {
			*transport = values[i];
			return 0;
		}
	}
	if (is(ctx, loc, "sdp") || is(ctx, loc, "sa"))
		return rules_fail(ctx, -EINVAL, loc,
				  "transport '%s' is a libvma transport that libaccel does not "
				  "have: use accel or os",
				  word(ctx, loc, w, sizeof(w)));
	return rules_fail(ctx, -EINVAL, loc,
			  "unknown transport '%s': expected accel, os, xlio or vma%s",
			  word(ctx, loc, w, sizeof(w)), case_hint(ctx, loc, names, 4));
}

int rules_check_role(struct rules_ctx *ctx, const struct rules_loc *loc, int *role)
{
	const char *names[ROLE_COUNT];
	char w[72];

	for (int r = 0; r < ROLE_COUNT; r++) {
		names[r] = rules_role_name((enum rule_role)r);
		if (is(ctx, loc, names[r])) {
			*role = r;
			return 0;
		}
	}
	return rules_fail(ctx, -EINVAL, loc,
			  "unknown role '%s': expected tcp_server, tcp_client, udp_receiver, "
			  "udp_sender or udp_connect%s",
			  word(ctx, loc, w, sizeof(w)), case_hint(ctx, loc, names, ROLE_COUNT));
}

/* Dotted quad, stored IPv4-mapped (::ffff:a.b.c.d) as a /128 until a prefix. */
int rules_check_ipv4(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a)
{
	unsigned long part = 0;
	int parts = 0, ok = 1;
	char w[72];

	memset(a, 0, sizeof(*a));
	for (size_t i = loc->off; i <= loc->end && ok; i++) {
		if (i == loc->end || ctx->text[i] == '.') {
			ok = parts < 4 && part <= 255;
			if (ok)
				a->addr[12 + parts++] = (uint8_t)part;
			part = 0;
		} else if (part <= 255) {
			part = part * 10 + (unsigned long)(ctx->text[i] - '0');
		}
	}
	if (!ok || parts != 4)
		return rules_fail(ctx, -EINVAL, loc,
				  "bad IPv4 address '%s': "
				  "expected four numbers 0-255 separated by dots",
				  word(ctx, loc, w, sizeof(w)));
	a->addr[10] = a->addr[11] = 0xff;
	a->prefix = 128;
	a->is_v4 = 1;
	return 0;
}

int rules_check_ipv6(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a)
{
	char text[INET6_ADDRSTRLEN], w[72];
	size_t n = loc->end - loc->off - 2; /* without the brackets */
	struct in_addr v4;

	memset(a, 0, sizeof(*a));
	if (n < sizeof(text)) {
		memcpy(text, ctx->text + loc->off + 1, n);
		text[n] = '\0';
		if (inet_pton(AF_INET6, text, a->addr) == 1) {
			a->prefix = 128;
			return 0;
		}
		if (inet_pton(AF_INET, text, &v4) == 1)
			return rules_fail(ctx, -EINVAL, loc,
					  "IPv4 address in brackets '%s': "
					  "write IPv4 addresses without [ ]",
					  word(ctx, loc, w, sizeof(w)));
	}
	return rules_fail(ctx, -EINVAL, loc, "bad IPv6 address '%s'", word(ctx, loc, w, sizeof(w)));
}

/* Bits beyond the prefix are cleared, as XLIO ignores them. */
int rules_check_prefix(struct rules_ctx *ctx, const struct rules_loc *loc, struct rule_addr *a)
{
	unsigned long len = number(ctx, loc), max = a->is_v4 ? 32 : 128;
	char w[72];

	if (len > max)
		return rules_fail(ctx, -EINVAL, loc,
				  "prefix length %s out of range 0-%lu for an %s address",
				  word(ctx, loc, w, sizeof(w)), max, a->is_v4 ? "IPv4" : "IPv6");
	a->prefix = (uint8_t)(a->is_v4 ? 96 + len : len);
	for (int i = 0; i < 16; i++) {
		int keep = a->prefix - 8 * i;
		if (keep < 8)
			a->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	return 0;
}

int rules_check_port(struct rules_ctx *ctx, const struct rules_loc *loc, int *port)
{
	unsigned long n = number(ctx, loc);
	char w[72];

	if (n < 1 || n > 65535)
		return rules_fail(ctx, -EINVAL, loc, "port %s out of range 1-65535",
				  word(ctx, loc, w, sizeof(w)));
	*port = (int)n;
	return 0;
}

int rules_check_range(struct rules_ctx *ctx, const struct rules_loc *loc, int lo, int hi)
{
	char w[72];

	if (lo > hi)
		return rules_fail(ctx, -EINVAL, loc,
				  "port range %s is reversed: expected N-M with N <= M",
				  word(ctx, loc, w, sizeof(w)));
	return 0;
}

int rules_check_second(struct rules_ctx *ctx, const struct rules_loc *loc)
{
	if (ctx->role == ROLE_TCP_CLIENT || ctx->role == ROLE_UDP_CONNECT)
		return 0;
	return rules_fail(ctx, -EINVAL, loc,
			  "role '%s' takes one address:ports pair (its %s): a second pair "
			  "is only for tcp_client and udp_connect",
			  rules_role_name(ctx->role),
			  ctx->role == ROLE_UDP_SENDER ? "destination" : "local end");
}
