/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/policy: compile time and nanoseconds per decision of the policy
 * match table for 10, 1,000 and 10,000 random rules (random IPv4/IPv6
 * prefixes and port ranges), next to a linear first-match scan.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "../tests/unit/policy_gen.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

enum { NQUERIES = 4096 };

static void run(size_t nrules, long rounds, int dense)
{
	struct rules_set *set = gen_rules(12345 + nrules, nrules, dense);
	struct policy_query *q = calloc(NQUERIES, sizeof(*q));
	uint64_t s = 99;
	for (int i = 0; i < NQUERIES; i++)
		gen_query(&s, set, &q[i], dense);

	struct policy_table *t;
	double t0 = now_ns();
	if (policy_compile(set, &t) != 0) {
		fprintf(stderr, "compile failed\n");
		exit(1);
	}
	double compile_ms = (now_ns() - t0) / 1e6;

	size_t matched = 0, mismatched = 0;
	t0 = now_ns();
	for (long r = 0; r < rounds; r++)
		for (int i = 0; i < NQUERIES; i++)
			matched += policy_match(t, 0, &q[i]) != NULL;
	double table_ns = (now_ns() - t0) / ((double)rounds * NQUERIES);

	long lrounds = rounds / (long)(1 + nrules / 100);
	if (lrounds < 1)
		lrounds = 1;
	t0 = now_ns();
	for (long r = 0; r < lrounds; r++)
		for (int i = 0; i < NQUERIES; i++)
			mismatched += gen_linear_match(set, &q[i]) != policy_match(t, 0, &q[i]);
	double linear_ns = (now_ns() - t0) / ((double)lrounds * NQUERIES);

	struct policy_stats st;
	unsigned long nodes = 0, refs = 0;
	unsigned int depth = 0;
	for (int role = 0; role < ROLE_COUNT; role++) {
		policy_block_stats(t, 0, (enum rule_role)role, &st);
		nodes += st.nodes;
		refs += st.rule_refs;
		if (st.max_depth > depth)
			depth = st.max_depth;
	}
	printf("%6zu rules  compile %8.2f ms  decision %7.1f ns  (linear scan %9.1f ns)"
	       "  matched %4.1f%%  nodes %lu  refs %lu  depth %u%s\n",
	       nrules, compile_ms, table_ns, linear_ns,
	       100.0 * (double)matched / ((double)rounds * NQUERIES), nodes, refs, depth,
	       mismatched ? "  MISMATCH" : "");
	policy_free(t);
	gen_free(set);
	free(q);
	if (mismatched)
		exit(1);
}

int main(void)
{
	printf("policy match table: %d random queries per round; targets <= 100 ns per decision"
	       " and <= 50 ms compile at 10,000 rules\n", NQUERIES);
	printf("rules spread over the address and port spaces (as in real files):\n");
	run(10, 2000, 0);
	run(1000, 500, 0);
	run(10000, 200, 0);
	printf("dense rules, crowded into 10.0.0.0/14 and ports 1-2500 (heavy overlap):\n");
	run(10, 2000, 1);
	run(1000, 500, 1);
	run(10000, 200, 1);
	return 0;
}
