/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The compiled match table against a linear first-match over the same
 * rules: random rule sets of several sizes, wildcards, block selection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "policy_gen.h"

static void check_against_linear(uint64_t seed, size_t nrules, size_t nqueries, int dense)
{
	struct rules_set *set = gen_rules(seed, nrules, dense);
	struct policy_table *t;
	assert_int_equal(policy_compile(set, &t), 0);
	assert_int_equal(policy_select_block(t, "prog", ""), 0);
	uint64_t s = seed * 7 + 1;
	size_t hits = 0;
	for (size_t i = 0; i < nqueries; i++) {
		struct policy_query q;
		gen_query(&s, set, &q, dense);
		const struct rule *want = gen_linear_match(set, &q);
		const struct rule *got = policy_match(t, 0, &q);
		if (want != got)
			fail_msg("seed %llu, %zu rules, query %zu: table says line %d, linear says line %d",
				 (unsigned long long)seed, nrules, i, got ? got->line : 0,
				 want ? want->line : 0);
		hits += want != NULL;
	}
	/* the generator must exercise matches, not only misses */
	if (nrules >= 100)
		assert_true(hits > nqueries / 20);
	policy_free(t);
	gen_free(set);
}

static void test_random_small(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 50; seed++) {
		check_against_linear(seed, 1 + seed % 12, 2000, 0);
		check_against_linear(seed, 1 + seed % 12, 2000, 1);
	}
}

static void test_random_medium(void **state)
{
	(void)state;
	for (uint64_t seed = 100; seed < 103; seed++) {
		check_against_linear(seed, 1000, 20000, 0);
		check_against_linear(seed, 1000, 20000, 1);
	}
}

static void test_random_large(void **state)
{
	(void)state;
	check_against_linear(4242, 10000, 20000, 0);
	check_against_linear(4243, 10000, 20000, 1);
}

static void test_empty(void **state)
{
	(void)state;
	struct rules_set *set = gen_rules(1, 0, 0);
	struct policy_table *t;
	assert_int_equal(policy_compile(set, &t), 0);
	struct policy_query q = { .role = ROLE_TCP_SERVER };
	assert_null(policy_match(t, 0, &q));
	assert_null(policy_match(t, 5, &q));
	assert_null(policy_match(t, -1, &q));
	policy_free(t);
	gen_free(set);
}

/* A covering rule early hides the rest: first match must still be exact. */
static void test_wildcard_first(void **state)
{
	(void)state;
	struct rules_set *set = gen_rules(9, 300, 1);
	struct rule *r = &set->blocks[0].rules[150];
	r->role = ROLE_TCP_CLIENT;
	memset(&r->local, 0, sizeof(r->local));
	memset(&r->remote, 0, sizeof(r->remote));
	r->local.ports.hi = r->remote.ports.hi = 65535;
	struct policy_table *t;
	assert_int_equal(policy_compile(set, &t), 0);
	uint64_t s = 3;
	for (int i = 0; i < 5000; i++) {
		struct policy_query q;
		gen_query(&s, set, &q, 1);
		q.role = ROLE_TCP_CLIENT;
		const struct rule *got = policy_match(t, 0, &q);
		assert_ptr_equal(got, gen_linear_match(set, &q));
		assert_non_null(got);
		assert_true(got->line <= 151);
	}
	policy_free(t);
	gen_free(set);
}

static void test_query_from_sockaddr(void **state)
{
	(void)state;
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };
	inet_pton(AF_INET, "10.1.2.3", &in.sin_addr);
	struct policy_query q = { 0 };
	policy_query_set_local(&q, (struct sockaddr *)&in);
	assert_int_equal(q.lport, 8080);
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3 };
	assert_memory_equal(q.local, mapped, 16);

	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	policy_query_set_remote(&q, (struct sockaddr *)&in6);
	assert_int_equal(q.rport, 53);
	assert_memory_equal(q.remote, &in6.sin6_addr, 16);

	policy_query_set_remote(&q, NULL);
	static const uint8_t zero[16];
	assert_memory_equal(q.remote, zero, 16);
	assert_int_equal(q.rport, 0);
}

static struct rules_set *blocks_set(void)
{
	struct rules_set *set = gen_rules(5, 0, 0);
	free(set->blocks[0].program);
	free(set->blocks[0].app_id);
	free(set->blocks[0].rules);
	free(set->blocks);
	set->nblocks = 4;
	set->blocks = calloc(4, sizeof(*set->blocks));
	const char *prog[] = { "redis-*", "sockperf", "*", NULL };
	const char *id[] = { "*", "B1", "B2", NULL };
	for (int i = 0; i < 4; i++) {
		set->blocks[i].program = strdup(prog[i] ? prog[i] : "*");
		set->blocks[i].app_id = strdup(id[i] ? id[i] : "*");
		set->blocks[i].line = prog[i] ? 10 * (i + 1) : 0;
	}
	return set;
}

static void test_block_selection(void **state)
{
	(void)state;
	struct rules_set *set = blocks_set();
	struct policy_table *t;
	assert_int_equal(policy_compile(set, &t), 0);
	assert_int_equal(policy_select_block(t, "redis-server", ""), 0);
	assert_int_equal(policy_select_block(t, "redis-server", "B1"), 0);
	assert_int_equal(policy_select_block(t, "sockperf", "B1"), 1);
	assert_int_equal(policy_select_block(t, "sockperf", "B2"), 2);
	assert_int_equal(policy_select_block(t, "sockperf", ""), 3); /* implicit */
	assert_int_equal(policy_select_block(t, "nginx", "B2"), 2);
	assert_int_equal(policy_select_block(t, "nginx", "B3"), 3);
	policy_free(t);
	gen_free(set);
}

static void set_v4(struct rule_endpoint *e, uint8_t a, unsigned int len, uint16_t lo, uint16_t hi)
{
	memset(e, 0, sizeof(*e));
	if (len) {
		e->addr.addr[10] = e->addr.addr[11] = 0xff;
		e->addr.addr[12] = a;
		e->addr.prefix = (uint8_t)(96 + len);
		e->addr.is_v4 = 1;
	}
	e->ports.lo = lo;
	e->ports.hi = hi;
}

static void test_shadowing(void **state)
{
	(void)state;
	struct rule r[5];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 5; i++) {
		r[i].role = ROLE_TCP_SERVER;
		r[i].line = i + 1;
		set_v4(&r[i].remote, 0, 0, 0, 65535);
	}
	set_v4(&r[0].local, 10, 8, 80, 90);  /* 10.0.0.0/8:80-90 */
	set_v4(&r[1].local, 10, 16, 85, 85); /* inside rule 1: shadowed */
	set_v4(&r[2].local, 10, 8, 80, 100); /* wider ports: not shadowed */
	set_v4(&r[3].local, 10, 16, 85, 85);
	r[3].role = ROLE_TCP_CLIENT;          /* other role: not shadowed */
	set_v4(&r[4].local, 0, 0, 0, 65535);  /* the wildcard after them: not shadowed */
	struct rule_block b = { .rules = r, .nrules = 5 };
	assert_null(policy_shadowing_rule(&b, 0));
	assert_ptr_equal(policy_shadowing_rule(&b, 1), &r[0]);
	assert_null(policy_shadowing_rule(&b, 2));
	assert_null(policy_shadowing_rule(&b, 3));
	assert_null(policy_shadowing_rule(&b, 4));
	r[4].local.ports.hi = 90; /* *:0-90 */
	set_v4(&r[4].local, 10, 8, 80, 90);
	assert_ptr_equal(policy_shadowing_rule(&b, 4), &r[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_small),
		cmocka_unit_test(test_random_medium),
		cmocka_unit_test(test_random_large),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_wildcard_first),
		cmocka_unit_test(test_query_from_sockaddr),
		cmocka_unit_test(test_block_selection),
		cmocka_unit_test(test_shadowing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
