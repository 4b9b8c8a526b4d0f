/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Random rule sets and queries for the policy tests and bench/policy:
 * random IPv4 and IPv6 prefixes and port ranges, and the linear first-match
 * that the compiled table must agree with.
 */
#ifndef ACCEL_TESTS_POLICY_GEN_H
#define ACCEL_TESTS_POLICY_GEN_H

#include <stdlib.h>
#include <string.h>

#include "config/rules.h"
#include "policy/policy.h"

static inline uint64_t gen_next(uint64_t *s)
{
	/* xorshift64*: deterministic for a given seed */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/*
 * dense: addresses crowd into 10.0.0.0/14 and ports into 1..2500, so rules
 * overlap heavily (the hard case for correctness); otherwise addresses and
 * ports spread over their whole space, as in real rule files.
 */
static inline void gen_addr(uint64_t *s, struct rule_addr *a, int v6, int dense)
{
	memset(a, 0, sizeof(*a));
	unsigned int len;
	if (gen_next(s) % (dense ? 8 : 20) == 0) { /* a wildcard now and then */
		a->prefix = 0;
		return;
	}
	if (v6) {
		for (int i = 0; i < 16; i++)
			a->addr[i] = (uint8_t)gen_next(s);
		len = dense ? 16 + (unsigned int)(gen_next(s) % 113)
			    : 32 + (unsigned int)(gen_next(s) % 97);
		a->prefix = (uint8_t)len;
	} else {
		a->addr[10] = a->addr[11] = 0xff;
		uint64_t r = gen_next(s);
		a->addr[12] = dense ? 10 : (uint8_t)r;
		a->addr[13] = dense ? (uint8_t)(r % 4) : (uint8_t)(r >> 8);
		a->addr[14] = (uint8_t)(r >> 16);
		a->addr[15] = (uint8_t)(r >> 24);
		len = dense ? 8 + (unsigned int)(gen_next(s) % 25) : 16 + (unsigned int)(gen_next(s) % 17);
		a->prefix = (uint8_t)(96 + len);
		a->is_v4 = 1;
	}
	for (unsigned int bit = a->prefix; bit < 128; bit++)
		a->addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
}

static inline void gen_ports(uint64_t *s, struct rule_ports *p, int dense)
{
	uint64_t r = gen_next(s) % 4;
	unsigned int space = dense ? 2000 : 65000;
	if (r == 0) {
		p->lo = 0;
		p->hi = 65535;
	} else if (r == 1) {
		p->lo = p->hi = (uint16_t)(1 + gen_next(s) % space);
	} else {
		p->lo = (uint16_t)(1 + gen_next(s) % space);
		p->hi = (uint16_t)(p->lo + gen_next(s) % 500);
	}
}

/* One block of n random rules over every role; caller frees with gen_free. */
static inline struct rules_set *gen_rules(uint64_t seed, size_t n, int dense)
{
	uint64_t s = seed | 1;
	struct rules_set *set = calloc(1, sizeof(*set));
	set->file = strdup("generated");
	set->blocks = calloc(1, sizeof(*set->blocks));
	set->nblocks = 1;
	struct rule_block *b = &set->blocks[0];
	b->program = strdup("*");
	b->app_id = strdup("*");
	b->rules = calloc(n ? n : 1, sizeof(*b->rules));
	b->nrules = n;
	for (size_t i = 0; i < n; i++) {
		struct rule *r = &b->rules[i];
		int v6 = gen_next(&s) % 4 == 0;
		r->transport = gen_next(&s) % 2 ? RULE_ACCEL : RULE_OS;
		r->role = (enum rule_role)(gen_next(&s) % ROLE_COUNT);
		/* Only what the language can say: one local pair for servers,
		 * receivers and senders; a remote pair and an optional local one
		 * for tcp_client and udp_connect. */
		int client = r->role == ROLE_TCP_CLIENT || r->role == ROLE_UDP_CONNECT;
		int remote_first = client || r->role == ROLE_UDP_SENDER;
		struct rule_endpoint *first = remote_first ? &r->remote : &r->local;
		r->remote.ports.hi = r->local.ports.hi = 65535;
		gen_addr(&s, &first->addr, v6, dense);
		gen_ports(&s, &first->ports, dense);
		if (client && gen_next(&s) % 4 == 0) {
			gen_addr(&s, &r->local.addr, v6, dense);
			gen_ports(&s, &r->local.ports, dense);
		}
		r->file = set->file;
		r->line = (int)i + 1;
		r->col = 1;
	}
	return set;
}

static inline void gen_free(struct rules_set *set)
{
	for (size_t i = 0; i < set->nblocks; i++) {
		free(set->blocks[i].program);
		free(set->blocks[i].app_id);
		free(set->blocks[i].rules);
	}
	free(set->blocks);
	free(set->file);
	free(set);
}

/* Set the bits of a beyond prefix `keep` at random. */
static inline void gen_host_bits(uint64_t *s, uint8_t a[16], unsigned int keep)
{
	for (unsigned int bit = keep; bit < 128; bit++)
		if (gen_next(s) & 1)
			a[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
}

static inline void gen_point(uint64_t *s, const struct rule_endpoint *near, int v6, int dense,
			     uint8_t addr[16], uint16_t *port)
{
	struct rule_addr a;
	if (near && gen_next(s) % 4 != 0) {
		/* inside (or just beside) the rule's prefix and ports */
		memcpy(addr, near->addr.addr, 16);
		unsigned int keep = near->addr.prefix;
		if (gen_next(s) % 8 == 0 && keep > 97)
			keep -= 1 + (unsigned int)(gen_next(s) % 4);
		gen_host_bits(s, addr, keep < 96 && near->addr.is_v4 ? 96 : keep);
		unsigned int span = (unsigned int)(near->ports.hi - near->ports.lo) + 1;
		*port = (uint16_t)(near->ports.lo + gen_next(s) % span);
		if (gen_next(s) % 8 == 0)
			*port = (uint16_t)(*port + 1);
		return;
	}
	gen_addr(s, &a, v6, dense);
	memcpy(addr, a.addr, 16);
	gen_host_bits(s, addr, a.prefix ? a.prefix : (v6 ? 0 : 96));
	if (!v6 && !a.prefix) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
	}
	*port = (uint16_t)(gen_next(s) % (dense ? 2600 : 65536));
}

/* A query near a random rule most of the time, anywhere otherwise. */
static inline void gen_query(uint64_t *s, const struct rules_set *set, struct policy_query *q,
			     int dense)
{
	memset(q, 0, sizeof(*q));
	q->role = (enum rule_role)(gen_next(s) % ROLE_COUNT);
	const struct rule_block *b = &set->blocks[0];
	const struct rule *near = b->nrules ? &b->rules[gen_next(s) % b->nrules] : NULL;
	int v6 = 0;
	if (near) {
		const struct rule_addr *a = near->role == ROLE_TCP_CLIENT ||
						    near->role == ROLE_UDP_CONNECT ||
						    near->role == ROLE_UDP_SENDER
					    ? &near->remote.addr
					    : &near->local.addr;
		v6 = a->prefix && !a->is_v4;
	}
	if (near)
		q->role = near->role;
	gen_point(s, near ? &near->local : NULL, v6, dense, q->local, &q->lport);
	gen_point(s, near ? &near->remote : NULL, v6, dense, q->remote, &q->rport);
}

/* Bit by bit on purpose: an independent check of the table's arithmetic. */
static inline int gen_addr_in(const struct rule_addr *p, const uint8_t addr[16])
{
	for (unsigned int bit = 0; bit < p->prefix; bit++) {
		unsigned int mask = 0x80u >> (bit % 8);
		if ((p->addr[bit / 8] & mask) != (addr[bit / 8] & mask))
			return 0;
	}
	return 1;
}

static inline int gen_in(const struct rule_endpoint *e, const uint8_t addr[16], uint16_t port)
{
	return gen_addr_in(&e->addr, addr) && port >= e->ports.lo && port <= e->ports.hi;
}

/* The reference: first rule of the block, in file order, that matches. */
static inline const struct rule *gen_linear_match(const struct rules_set *set,
						  const struct policy_query *q)
{
	const struct rule_block *b = &set->blocks[0];
	for (size_t i = 0; i < b->nrules; i++) {
		const struct rule *r = &b->rules[i];
		if (r->role == q->role && gen_in(&r->local, q->local, q->lport) &&
		    gen_in(&r->remote, q->remote, q->rport))
			return r;
	}
	return NULL;
}

#endif
