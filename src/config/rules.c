/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The rules language as data: reading a file, building the rules_set from
 * the grammar's actions, and printing and matching addresses. A file is
 * returned whole or not at all; nothing here prints, logs or keeps state
 * between calls.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules_impl.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_TCP_SERVER] = "tcp_server",     [ROLE_TCP_CLIENT] = "tcp_client",
	[ROLE_UDP_RECEIVER] = "udp_receiver", [ROLE_UDP_SENDER] = "udp_sender",
	[ROLE_UDP_CONNECT] = "udp_connect",
};

const char *rules_role_name(enum rule_role role)
{
	return (unsigned)role < ROLE_COUNT ? role_names[role] : "?";
}

const char *rules_transport_name(enum rule_transport t)
{
	return t == RULE_ACCEL ? "accel" : t == RULE_OS ? "os" : "?";
}

void rules_any_endpoint(struct rule_endpoint *e)
{
	memset(e, 0, sizeof(*e));
	e->ports.hi = 65535;
}

/* ---- printing and matching ---- */

static void format_addr(const struct rule_addr *a, char *buf, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	if (a->is_v4 && a->prefix >= 96) {
		inet_ntop(AF_INET, a->addr + 12, text, sizeof(text));
		if (a->prefix == 128)
			snprintf(buf, size, "%s", text);
		else
			snprintf(buf, size, "%s/%d", text, a->prefix - 96);
	} else if (a->prefix == 0) {
		snprintf(buf, size, "*");
	} else {
		inet_ntop(AF_INET6, a->addr, text, sizeof(text));
		if (a->prefix >= 128)
			snprintf(buf, size, "[%s]", text);
		else
			snprintf(buf, size, "[%s]/%d", text, a->prefix);
	}
}

void rules_format_endpoint(const struct rule_endpoint *e, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN + 8];
	const struct rule_ports *p = &e->ports;

	if (!size)
		return;
	format_addr(&e->addr, addr, sizeof(addr));
	if (p->lo == 0 && p->hi == 65535)
		snprintf(buf, size, "%s:*", addr);
	else if (p->lo == p->hi)
		snprintf(buf, size, "%s:%u", addr, p->lo);
	else
		snprintf(buf, size, "%s:%u-%u", addr, p->lo, p->hi);
}

int rules_addr_match(const struct rule_addr *pattern, const uint8_t addr[16])
{
	unsigned bits = pattern->prefix > 128 ? 128 : pattern->prefix;
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(pattern->addr, addr, bytes) != 0)
		return 0;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((pattern->addr[bytes] ^ addr[bytes]) & mask)
			return 0;
	}
	return 1;
}

/* ---- building the set ---- */

/* The array with room for element n: grown by doubling from 8, or NULL. */
static void *grown(void *array, size_t n, size_t elem)
{
	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return array;
	if (n > SIZE_MAX / 2 / elem)
		return NULL;
	return realloc(array, (n ? 2 * n : 8) * elem);
}

static int out_of_memory(struct rules_ctx *ctx)
{
	return rules_fail(ctx, -ENOMEM, NULL, "out of memory reading the rules");
}

static char *dup_span(const struct rules_ctx *ctx, const struct rules_loc *loc)
{
	return strndup(ctx->text + loc->off, loc->end - loc->off);
}

/* FNV-1a over both names, the terminating NUL of the first included. */
static size_t block_hash(const char *program, const char *app_id)
{
	uint64_t h = 14695981039346656037ull;
	const char *s = program;

	do
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	while (*s++);
	for (s = app_id; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The slot of (program, app_id) in ctx->index: where it is, or would go. */
static size_t *index_slot(struct rules_ctx *ctx, const char *program, const char *app_id)
{
	size_t mask = ctx->index_size - 1;
	size_t i = block_hash(program, app_id) & mask;

	for (;; i = (i + 1) & mask) {
		size_t *slot = &ctx->index[i];
		const struct rule_block *b;
		if (*slot == 0)
			return slot;
		b = &ctx->set->blocks[*slot - 1];
		if (strcmp(b->program, program) == 0 && strcmp(b->app_id, app_id) == 0)
			return slot;
	}
}

/* Keep the index at most half full, so that probing stays short. */
static int index_reserve(struct rules_ctx *ctx, size_t nblocks)
{
	size_t size = ctx->index_size ? ctx->index_size : 16;
	size_t *old = ctx->index, old_size = ctx->index_size;

	if (nblocks * 2 < ctx->index_size)
		return 0;
	while (nblocks * 2 >= size)
		size *= 2;
	ctx->index = calloc(size, sizeof(*ctx->index));
	if (!ctx->index) {
		ctx->index = old;
		return -ENOMEM;
	}
	ctx->index_size = size;
	for (size_t i = 0; i < old_size; i++) {
		if (old[i]) {
			const struct rule_block *b = &ctx->set->blocks[old[i] - 1];
			*index_slot(ctx, b->program, b->app_id) = old[i];
		}
	}
	free(old);
	return 0;
}

/*
 * An application-id line. A second line naming the same program and id
 * continues the first block, as in XLIO, so that no block is dead.
 */
int rules_add_block(struct rules_ctx *ctx, const struct rules_loc *stmt,
		    const struct rules_loc *program, const struct rules_loc *app_id)
{
	struct rules_set *set = ctx->set;
	char *prog = dup_span(ctx, program), *id = dup_span(ctx, app_id);
	size_t *slot;

	void *blocks = grown(set->blocks, set->nblocks, sizeof(*set->blocks));

	if (blocks)
		set->blocks = blocks;
	if (!prog || !id || !blocks || index_reserve(ctx, set->nblocks + 1)) {
		free(prog);
		free(id);
		return out_of_memory(ctx);
	}
	slot = index_slot(ctx, prog, id);
	if (*slot) {
		free(prog);
		free(id);
		ctx->current = *slot - 1;
		return 0;
	}
	set->blocks[set->nblocks] = (struct rule_block){
		.program = prog, .app_id = id, .line = stmt->line,
	};
	ctx->current = set->nblocks++;
	*slot = ctx->current + 1;
	return 0;
}

/* A use line, normalised: the first pair is the remote end of a connecting
 * role and of udp_sender (the destination, as in libvma), the local end of
 * the others. */
int rules_add_rule(struct rules_ctx *ctx, const struct rules_loc *use, int transport, int role,
		   const struct rule_endpoint *first, const struct rules_pair *second)
{
	struct rule_block *b = ctx->current == RULES_IMPLICIT ? &ctx->implicit
							       : &ctx->set->blocks[ctx->current];
	struct rule *r = grown(b->rules, b->nrules, sizeof(*b->rules));

	if (!r)
		return out_of_memory(ctx);
	b->rules = r;
	r = &b->rules[b->nrules++];
	memset(r, 0, sizeof(*r));
	r->transport = (enum rule_transport)transport;
	r->role = (enum rule_role)role;
	if (role == ROLE_TCP_CLIENT || role == ROLE_UDP_CONNECT) {
		r->remote = *first;
		r->local = second->ep;
	} else if (role == ROLE_UDP_SENDER) {
		r->remote = *first;
		rules_any_endpoint(&r->local);
	} else {
		r->local = *first;
		rules_any_endpoint(&r->remote);
	}
	r->file = ctx->set->file;
	r->line = use->line;
	r->col = use->col;
	return 0;
}

/* The implicit block goes last: the fallback when no explicit one matches. */
static int finish(struct rules_ctx *ctx)
{
	struct rules_set *set = ctx->set;
	struct rule_block *b = &ctx->implicit;
	void *blocks;

	if (!b->nrules)
		return 0;
	blocks = grown(set->blocks, set->nblocks, sizeof(*set->blocks));
	if (!blocks)
		return out_of_memory(ctx);
	set->blocks = blocks;
	b->program = strdup("*");
	b->app_id = strdup("*");
	set->blocks[set->nblocks++] = *b;
	memset(b, 0, sizeof(*b));
	if (!set->blocks[set->nblocks - 1].program || !set->blocks[set->nblocks - 1].app_id)
		return out_of_memory(ctx);
	return 0;
}

void rules_free(struct rules_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->nblocks; i++) {
		free(set->blocks[i].program);
		free(set->blocks[i].app_id);
		free(set->blocks[i].rules);
	}
	free(set->blocks);
	free(set->file);
	free(set);
}

/* ---- entry points ---- */

static int parse(const char *text, size_t len, const char *name, struct rules_set **out,
		 struct rules_error *err)
{
	struct rules_error scratch;
	struct rules_ctx ctx = {
		.text = text, .len = len, .line = 1, .col = 1,
		.expect = RULES_X_STATEMENT, .current = RULES_IMPLICIT,
		.err = err ? err : &scratch,
	};

	memset(ctx.err, 0, sizeof(*ctx.err));
	snprintf(ctx.err->file, sizeof(ctx.err->file), "%s", name);
	ctx.set = calloc(1, sizeof(*ctx.set));
	if (ctx.set)
		ctx.set->file = strdup(name);
	if (!ctx.set || !ctx.set->file)
		out_of_memory(&ctx);
	else if (rules_scan_parse(&ctx) == 0)
		finish(&ctx);
	free(ctx.index);
	free(ctx.implicit.rules);
	if (ctx.rc) {
		rules_free(ctx.set);
		return ctx.rc;
	}
	*out = ctx.set;
	return 0;
}

int rules_parse_string(const char *text, size_t len, const char *name, struct rules_set **out,
		       struct rules_error *err)
{
	*out = NULL;
	return parse(text ? text : "", text ? len : 0, name ? name : "(string)", out, err);
}

/* The whole file in memory; -errno on failure. */
static int read_file(int fd, char **textp, size_t *lenp)
{
	size_t len = 0, size = 4096;
	char *text = malloc(size);

	if (!text)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == size) {
			char *bigger = size > RULES_MAX_SIZE ? NULL : realloc(text, size * 2);
			if (!bigger) {
				free(text);
				return size > RULES_MAX_SIZE ? -EFBIG : -ENOMEM;
			}
			text = bigger;
			size *= 2;
		}
		n = read(fd, text + len, size - len);
		if (n == 0)
			break;
		if (n < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			free(text);
			return -e;
		}
		len += (size_t)n;
	}
	*textp = text;
	*lenp = len;
	return 0;
}

int rules_parse_file(const char *path, struct rules_set **out, struct rules_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rc = fd < 0 ? -errno : read_file(fd, &text, &len);
	if (fd >= 0)
		close(fd);
	if (rc) {
		if (err) {
			char buf[128];
			memset(err, 0, sizeof(*err));
			snprintf(err->file, sizeof(err->file), "%s", path);
			snprintf(err->msg, sizeof(err->msg), "cannot read rules file: %s",
				 rc == -EFBIG ? "larger than 64 MiB"
					      : strerror_r(-rc, buf, sizeof(buf)));
		}
		return rc;
	}
	rc = parse(text, len, path, out, err);
	free(text);
	return rc;
}
