/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * accel --check and accel --explain: what the rules file says, as libaccel
 * compiles it, and which rule decides a given socket. Shares the parser and
 * the match table with the library, so the answer is the library's own.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config/files.h"
#include "../config/params.h"
#include "../config/rules.h"
#include "../policy/policy.h"
#include "accel_tools.h"

/* The file the library would read, parsed; the built-in rules if it is absent. */
static int load(const char *path, struct rules_set **set, const char **source)
{
	struct rules_error err;
	int builtin;
	int rc = config_read_rules(path, set, &err, &builtin);
	*source = builtin ? "built-in default (no file)" : path;
	if (rc < 0) {
		fprintf(stderr, "%s:%d:%d: error: %s (at '%s')\n", err.file, err.line, err.col,
			err.msg, err.text);
		fprintf(stderr, "accel: %s is rejected: libaccel would use none of its rules "
				"and keep every socket on the kernel\n", path);
		return -1;
	}
	return 0;
}

static void print_rule(const struct rule *r)
{
	char local[160], remote[160];
	rules_format_endpoint(&r->local, local, sizeof(local));
	rules_format_endpoint(&r->remote, remote, sizeof(remote));
	int any_local = r->local.addr.prefix == 0 && r->local.ports.lo == 0 &&
			r->local.ports.hi == 65535;
	if (r->role == ROLE_UDP_SENDER ||
	    ((r->role == ROLE_TCP_CLIENT || r->role == ROLE_UDP_CONNECT) && any_local))
		printf("use %s %s %s", rules_transport_name(r->transport), rules_role_name(r->role),
		       remote);
	else if (r->role == ROLE_TCP_CLIENT || r->role == ROLE_UDP_CONNECT)
		printf("use %s %s %s:%s", rules_transport_name(r->transport),
		       rules_role_name(r->role), remote, local);
	else
		printf("use %s %s %s", rules_transport_name(r->transport), rules_role_name(r->role),
		       local);
}

int accel_check(const char *path)
{
	struct rules_set *set;
	const char *source;
	if (load(path, &set, &source) < 0)
		return 1;
	struct policy_table *t;
	if (policy_compile(set, &t) < 0) {
		fprintf(stderr, "accel: out of memory compiling %s\n", source);
		rules_free(set);
		return 1;
	}
	size_t total = 0, shadowed = 0;
	for (size_t b = 0; b < set->nblocks; b++)
		total += set->blocks[b].nrules;
	printf("rules: %s: %zu rule%s in %zu block%s\n", source, total, total == 1 ? "" : "s",
	       set->nblocks, set->nblocks == 1 ? "" : "s");
	for (size_t b = 0; b < set->nblocks; b++) {
		const struct rule_block *blk = &set->blocks[b];
		if (blk->line)
			printf("\nblock %zu: application-id %s %s (line %d)\n", b + 1, blk->program,
			       blk->app_id, blk->line);
		else
			printf("\nblock %zu: every process no application-id block matches\n",
			       b + 1);
		for (size_t i = 0; i < blk->nrules; i++) {
			printf("  %s:%d: ", blk->rules[i].file, blk->rules[i].line);
			print_rule(&blk->rules[i]);
			putchar('\n');
		}
		for (int role = 0; role < ROLE_COUNT; role++) {
			struct policy_stats st;
			policy_block_stats(t, (int)b, (enum rule_role)role, &st);
			if (st.rules)
				printf("  %s: %u rule%s, table of %u nodes, depth %u\n",
				       rules_role_name((enum rule_role)role), st.rules,
				       st.rules == 1 ? "" : "s", st.nodes, st.max_depth);
		}
		for (size_t i = 0; i < blk->nrules; i++) {
			const struct rule *by = policy_shadowing_rule(blk, i);
			if (!by)
				continue;
			shadowed++;
			fprintf(stderr, "%s:%d: warning: ", blk->rules[i].file, blk->rules[i].line);
			fflush(stdout);
			fprintf(stderr, "this rule can never match: line %d covers it\n", by->line);
		}
	}
	printf("\n%s: OK%s\n", source, shadowed ? " (with rules that can never match)" : "");
	policy_free(t);
	rules_free(set);
	return 0;
}

/* "ADDR:PORT" (IPv6 in brackets) to an endpoint, with the rules' own parser. */
static int parse_point(const char *text, struct rule_endpoint *e)
{
	char line[512];
	struct rules_set *set;
	struct rules_error err;
	snprintf(line, sizeof(line), "use accel tcp_server %s\n", text);
	if (rules_parse_string(line, strlen(line), "argument", &set, &err) < 0) {
		fprintf(stderr, "accel: '%s': %s\n", text, err.msg);
		return -1;
	}
	*e = set->blocks[0].rules[0].local;
	rules_free(set);
	int full = e->addr.prefix == 128 || (e->addr.prefix == 0 && !e->addr.is_v4);
	if (!full || e->ports.lo != e->ports.hi) {
		fprintf(stderr, "accel: '%s': give one address (or *) and one port\n", text);
		return -1;
	}
	return 0;
}

static int parse_role(const char *text, enum rule_role *role)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (strcmp(text, rules_role_name((enum rule_role)r)) == 0) {
			*role = (enum rule_role)r;
			return 0;
		}
	fprintf(stderr, "accel: unknown role '%s': expected tcp_server, tcp_client, "
			"udp_receiver, udp_sender or udp_connect\n", text);
	return -1;
}

int accel_explain(const char *path, int argc, char **argv, int offloaded_sockets,
		  const char *app_id)
{
	const char *app = "", *id = app_id, *pos[3];
	int npos = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--app") && i + 1 < argc)
			app = argv[++i];
		else if (!strncmp(argv[i], "--app=", 6))
			app = argv[i] + 6;
		else if (!strcmp(argv[i], "--id") && i + 1 < argc)
			id = argv[++i];
		else if (!strncmp(argv[i], "--id=", 5))
			id = argv[i] + 5;
		else if (npos < 3 && argv[i][0] != '-')
			pos[npos++] = argv[i];
		else {
			fprintf(stderr, "accel: --explain: unexpected '%s'\n", argv[i]);
			return 2;
		}
	}
	if (npos < 2) {
		fprintf(stderr, "usage: accel --explain ROLE ADDR:PORT [ADDR:PORT] [--app NAME] "
				"[--id ID]\n");
		return 2;
	}
	enum rule_role role;
	struct rule_endpoint first, second;
	memset(&second, 0, sizeof(second));
	if (parse_role(pos[0], &role) < 0 || parse_point(pos[1], &first) < 0 ||
	    (npos == 3 && parse_point(pos[2], &second) < 0))
		return 2;
	int client = role == ROLE_TCP_CLIENT || role == ROLE_UDP_CONNECT;
	int remote_first = client || role == ROLE_UDP_SENDER;
	if (npos == 3 && !client) {
		fprintf(stderr, "accel: %s takes one ADDR:PORT (its %s)\n", pos[0],
			role == ROLE_UDP_SENDER ? "destination" : "local end");
		return 2;
	}
	/* A local end not given is unbound: the unspecified address of the
	 * remote's family, port 0, as the library sees such a socket. */
	if (remote_first && npos == 2 && first.addr.is_v4) {
		second.addr.addr[10] = second.addr.addr[11] = 0xff;
		second.addr.is_v4 = 1;
	}
	struct policy_query q = { .role = role };
	const struct rule_endpoint *local = remote_first ? &second : &first;
	const struct rule_endpoint *remote = remote_first ? &first : &second;
	memcpy(q.local, local->addr.addr, 16);
	q.lport = local->ports.lo;
	memcpy(q.remote, remote->addr.addr, 16);
	q.rport = remote->ports.lo;

	struct rules_set *set;
	const char *source;
	if (load(path, &set, &source) < 0) {
		printf("os: the rules file is rejected, every socket stays on the kernel\n");
		return 1;
	}
	struct policy_table *t;
	if (policy_compile(set, &t) < 0) {
		rules_free(set);
		return 1;
	}
	int block = policy_select_block(t, app, id);
	const struct rule *r = policy_match(t, block, &q);
	if (block < 0)
		printf("no block of %s applies to program '%s' id '%s'\n", source, app, id);
	else if (set->blocks[block].line)
		printf("block: application-id %s %s (%s:%d)\n", set->blocks[block].program,
		       set->blocks[block].app_id, set->file, set->blocks[block].line);
	if (r) {
		printf("%s: %s:%d: ", rules_transport_name(r->transport), r->file, r->line);
		print_rule(r);
		putchar('\n');
	} else {
		printf("%s: no rule matched (ACCEL_OFFLOADED_SOCKETS=%d)\n",
		       offloaded_sockets ? "accel" : "os", offloaded_sockets);
	}
	policy_free(t);
	rules_free(set);
	return 0;
}
