/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-socket decision: rules compiled into an immutable match table,
 * asked once per socket when its role becomes known. Tables are never
 * changed after compilation; a new rule means a new table swapped in, so
 * threads deciding meanwhile need no lock. Knows nothing of data paths.
 */
#ifndef ACCEL_POLICY_POLICY_H
#define ACCEL_POLICY_POLICY_H

#include <stdint.h>

#include "../config/rules.h"

/* One socket's side of the question: addresses as 16 bytes, IPv4 mapped. */
struct policy_query {
	enum rule_role role;
	uint8_t local[16];
	uint16_t lport;     /* 0: not bound yet */
	uint8_t remote[16]; /* all zero: none */
	uint16_t rport;
};

struct policy_table;

/*
 * Compile every block of `set` (which must outlive the table: rules point
 * into it). Returns 0 and *out, or -ENOMEM.
 */
int policy_compile(const struct rules_set *set, struct policy_table **out);
void policy_free(struct policy_table *t);

/* The block a process uses: first explicit block whose program glob and
 * application id match, else the implicit block; -1 if none. */
int policy_select_block(const struct policy_table *t, const char *program, const char *app_id);

/* The block as compiled (the rules_set's own), or NULL. */
const struct rule_block *policy_block(const struct policy_table *t, int block);

/* First rule of block `block` that matches q, or NULL. */
const struct rule *policy_match(const struct policy_table *t, int block,
				const struct policy_query *q);

/*
 * The first rule before rule `index` of block b, of the same role, that
 * matches everything rule `index` matches (so that rule can never be the
 * first match), or NULL.
 */
const struct rule *policy_shadowing_rule(const struct rule_block *b, size_t index);

/* Fill q's address fields from socket addresses (AF_INET or AF_INET6; NULL: none). */
struct sockaddr;
void policy_query_set_local(struct policy_query *q, const struct sockaddr *sa);
void policy_query_set_remote(struct policy_query *q, const struct sockaddr *sa);

/* Statistics of a compiled block (for accel --check and the bench). */
struct policy_stats {
	unsigned int rules, nodes, leaves, max_depth, max_leaf;
	unsigned long rule_refs;
};
void policy_block_stats(const struct policy_table *t, int block, enum rule_role role,
			struct policy_stats *st);

#endif
