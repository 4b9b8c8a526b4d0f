/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * libFuzzer target for the rules parser: any bytes either parse into a
 * consistent rules_set that prints back and parses again to the same
 * endpoints, or are rejected with a placed error, with nothing leaked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

/* An endpoint printed back parses to itself. */
static void check_endpoint(const struct rule_endpoint *e)
{
	char text[128], line[160];
	struct rules_set *set;
	struct rules_error err;
	const struct rule_endpoint *again;

	CHECK(e->addr.prefix <= 128);
	CHECK(!e->addr.is_v4 || e->addr.prefix >= 96);
	CHECK(rules_addr_match(&e->addr, e->addr.addr));
	CHECK(e->ports.lo <= e->ports.hi);
	rules_format_endpoint(e, text, sizeof(text));
	CHECK(strlen(text) < 64);
	snprintf(line, sizeof(line), "use os tcp_server %s", text);
	CHECK(rules_parse_string(line, strlen(line), "again", &set, &err) == 0);
	again = &set->blocks[0].rules[0].local;
	CHECK(memcmp(again->addr.addr, e->addr.addr, 16) == 0);
	CHECK(again->addr.prefix == e->addr.prefix);
	CHECK(again->addr.is_v4 == e->addr.is_v4 || e->addr.prefix == 0);
	CHECK(again->ports.lo == e->ports.lo && again->ports.hi == e->ports.hi);
	rules_free(set);
}

static void check_set(const struct rules_set *set)
{
	for (size_t i = 0; i < set->nblocks; i++) {
		const struct rule_block *b = &set->blocks[i];
		CHECK(b->program && b->app_id);
		CHECK(b->line > 0 || i == set->nblocks - 1);
		for (size_t j = 0; j < b->nrules; j++) {
			const struct rule *r = &b->rules[j];
			CHECK(r->file == set->file);
			CHECK(r->line >= 1 && r->col >= 1);
			CHECK((unsigned)r->role < ROLE_COUNT);
			CHECK(r->transport == RULE_ACCEL || r->transport == RULE_OS);
			check_endpoint(&r->local);
			check_endpoint(&r->remote);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_set *set = (struct rules_set *)&set;
	struct rules_error err;
	int rc = rules_parse_string((const char *)data, size, "fuzz.conf", &set, &err);

	if (rc == 0) {
		CHECK(set != NULL);
		check_set(set);
		rules_free(set);
	} else {
		CHECK(rc == -EINVAL && set == NULL);
		CHECK(err.line >= 1 && err.col >= 1 && err.msg[0] != '\0');
		CHECK(memchr(err.text, '\0', sizeof(err.text)) != NULL);
		CHECK(strcmp(err.file, "fuzz.conf") == 0);
	}
	return 0;
}
