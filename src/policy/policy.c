/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rule compilation and matching. Each (block, role) gets a decision tree
 * over four dimensions (local address, local port, remote address, remote
 * port) built by cutting the space into equal parts (HiCuts), with rules
 * kept in file order in every node so the first match in a leaf is the
 * first match of the file. A rule covering a whole node hides the rules
 * after it there, which keeps wildcards from multiplying.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

typedef unsigned __int128 u128;

enum { DIM_LADDR, DIM_LPORT, DIM_RADDR, DIM_RPORT, NDIM };
enum {
	LEAF_RULES = 8,   /* stop cutting below this many rules */
	MAX_CUT_BITS = 6, /* at most 64 children per node */
	MAX_DEPTH = 32,
	SPACE_FACTOR = 4, /* children may hold this many times the parent's rules */
};

static const unsigned int dim_bits[NDIM] = { 128, 16, 128, 16 };

struct prule {
	u128 lo[NDIM], hi[NDIM];
	const struct rule *rule;
};

struct pnode {
	u128 lo;          /* inner: the node's low bound along dim */
	uint32_t first;   /* leaf: first rule index in refs; inner: first child in refs */
	uint32_t count;   /* leaf: rules; inner: children */
	uint32_t outside; /* inner: node for queries outside the cut span, or NO_NODE */
	uint8_t leaf, dim, shift;
};

#define NO_NODE UINT32_MAX

struct ptree {
	struct prule *rules;
	uint32_t nrules;
	struct pnode *nodes;
	uint32_t nnodes, node_cap;
	uint32_t *refs;
	size_t nrefs, ref_cap, ref_budget;
	unsigned int max_depth, max_leaf, leaves;
};

struct policy_table {
	const struct rules_set *set;
	size_t nblocks;
	struct ptree *trees; /* nblocks * ROLE_COUNT */
};

struct region {
	u128 lo[NDIM];
	unsigned int bits[NDIM]; /* width is 2^bits */
};

static u128 addr_value(const uint8_t a[16])
{
	uint64_t hi, lo;
	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return ((u128)be64toh(hi) << 64) | be64toh(lo);
}

static u128 span_hi(u128 lo, unsigned int bits)
{
	if (bits >= 128)
		return ~(u128)0;
	return lo + (((u128)1 << bits) - 1);
}

static void addr_interval(const struct rule_addr *a, u128 *lo, u128 *hi)
{
	*lo = addr_value(a->addr);
	*hi = span_hi(*lo, 128u - a->prefix);
}

static void rule_to_prule(const struct rule *r, struct prule *p)
{
	addr_interval(&r->local.addr, &p->lo[DIM_LADDR], &p->hi[DIM_LADDR]);
	addr_interval(&r->remote.addr, &p->lo[DIM_RADDR], &p->hi[DIM_RADDR]);
	p->lo[DIM_LPORT] = r->local.ports.lo;
	p->hi[DIM_LPORT] = r->local.ports.hi;
	p->lo[DIM_RPORT] = r->remote.ports.lo;
	p->hi[DIM_RPORT] = r->remote.ports.hi;
	p->rule = r;
}

static int push_refs(struct ptree *t, size_t n)
{
	if (t->nrefs + n <= t->ref_cap)
		return 0;
	size_t cap = t->ref_cap ? t->ref_cap : 1024;
	while (cap < t->nrefs + n)
		cap *= 2;
	uint32_t *r = realloc(t->refs, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	t->refs = r;
	t->ref_cap = cap;
	return 0;
}

static int new_node(struct ptree *t, uint32_t *idx)
{
	if (t->nnodes == t->node_cap) {
		uint32_t cap = t->node_cap ? t->node_cap * 2 : 64;
		struct pnode *n = realloc(t->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->nodes = n;
		t->node_cap = cap;
	}
	*idx = t->nnodes++;
	memset(&t->nodes[*idx], 0, sizeof(struct pnode));
	return 0;
}

static int covers(const struct prule *p, const struct region *rg)
{
	for (int d = 0; d < NDIM; d++)
		if (p->lo[d] > rg->lo[d] || p->hi[d] < span_hi(rg->lo[d], rg->bits[d]))
			return 0;
	return 1;
}

/* Child index range [a, b] that rule p occupies when cutting dim d. */
static void child_span(const struct prule *p, const struct region *rg, int d, unsigned int shift,
		       unsigned int nchild, uint32_t *a, uint32_t *b)
{
	u128 lo = p->lo[d] > rg->lo[d] ? p->lo[d] : rg->lo[d];
	u128 top = span_hi(rg->lo[d], rg->bits[d]);
	u128 hi = p->hi[d] < top ? p->hi[d] : top;
	*a = (uint32_t)((lo - rg->lo[d]) >> shift);
	*b = (uint32_t)((hi - rg->lo[d]) >> shift);
	if (*b >= nchild)
		*b = nchild - 1;
}

/*
 * Shrink the region, dimension by dimension, to a power-of-two span that
 * holds every rule's part of it, leaving out rules that span the whole
 * region there (wildcards): cuts then fall where the rules are (IPv4 rules
 * all sit in ::ffff:0:0/96). A query outside the span can only match the
 * spanning rules; the node keeps them in its `outside` subtree.
 */
static void shrink_to_rules(const struct ptree *t, struct region *rg, const uint32_t *ids,
			    uint32_t n)
{
	for (int d = 0; d < NDIM; d++) {
		u128 top = span_hi(rg->lo[d], rg->bits[d]);
		u128 lo = top, hi = rg->lo[d];
		for (uint32_t i = 0; i < n; i++) {
			const struct prule *p = &t->rules[ids[i]];
			u128 a = p->lo[d] > rg->lo[d] ? p->lo[d] : rg->lo[d];
			u128 b = p->hi[d] < top ? p->hi[d] : top;
			if (a == rg->lo[d] && b == top)
				continue; /* spans the region: in every part, and outside */
			if (a < lo)
				lo = a;
			if (b > hi)
				hi = b;
		}
		if (lo > hi)
			continue;
		unsigned int bits = 0;
		while (bits < rg->bits[d] && ((hi - lo) >> bits) != 0)
			bits++;
		/* keep the span inside the region: slide it back if it overflows */
		if (bits >= rg->bits[d])
			lo = rg->lo[d];
		else if (span_hi(lo, bits) > top || span_hi(lo, bits) < lo)
			lo = top - (((u128)1 << bits) - 1);
		rg->lo[d] = lo;
		rg->bits[d] = bits;
	}
}

struct cut {
	int dim;
	unsigned int bits;
	uint32_t max_child;
	size_t total;
	size_t nchild;
};

/* The cut (dimension, number of parts) that best splits the rules. */
static struct cut choose_cut(const struct ptree *t, const struct region *rg, const uint32_t *ids,
			     uint32_t n)
{
	struct cut best = { .dim = -1, .max_child = n };
	int32_t diff[(1 << MAX_CUT_BITS) + 1];
	for (int d = 0; d < NDIM; d++) {
		unsigned int maxc = rg->bits[d] < MAX_CUT_BITS ? rg->bits[d] : MAX_CUT_BITS;
		for (unsigned int c = 1; c <= maxc; c++) {
			unsigned int nchild = 1u << c, shift = rg->bits[d] - c;
			memset(diff, 0, sizeof(int32_t) * (nchild + 1));
			size_t total = 0;
			for (uint32_t i = 0; i < n; i++) {
				uint32_t a, b;
				child_span(&t->rules[ids[i]], rg, d, shift, nchild, &a, &b);
				diff[a]++;
				diff[b + 1]--;
				total += b - a + 1;
			}
			if (total > (size_t)SPACE_FACTOR * n + nchild && c > 1)
				break;
			uint32_t run = 0, max_child = 0;
			for (unsigned int k = 0; k < nchild; k++) {
				run += (uint32_t)diff[k];
				if (run > max_child)
					max_child = run;
			}
			/* Smallest average child: splits rules apart without copying
			 * the ones that span the cut (wildcards) into every part. */
			if (max_child < n &&
			    (best.dim < 0 || total * best.nchild < best.total * nchild))
				best = (struct cut){ d, c, max_child, total, nchild };
		}
	}
	return best;
}

static int make_leaf(struct ptree *t, uint32_t node, const uint32_t *ids, uint32_t n)
{
	if (push_refs(t, n) < 0)
		return -ENOMEM;
	struct pnode *nd = &t->nodes[node];
	nd->leaf = 1;
	nd->first = (uint32_t)t->nrefs;
	nd->count = n;
	if (n)
		memcpy(t->refs + t->nrefs, ids, n * sizeof(*ids));
	t->nrefs += n;
	t->leaves++;
	if (n > t->max_leaf)
		t->max_leaf = n;
	return 0;
}

static int build(struct ptree *t, uint32_t node, const struct region *rg, const uint32_t *ids,
		 uint32_t n, unsigned int depth)
{
	if (depth > t->max_depth)
		t->max_depth = depth;
	for (uint32_t i = 0; i < n; i++)
		if (covers(&t->rules[ids[i]], rg)) {
			n = i + 1; /* nothing after a covering rule can be first here */
			break;
		}
	if (n <= LEAF_RULES || depth >= MAX_DEPTH || t->nrefs > t->ref_budget)
		return make_leaf(t, node, ids, n);
	struct region box = *rg;
	shrink_to_rules(t, &box, ids, n);
	struct cut cut = choose_cut(t, &box, ids, n);
	if (cut.dim < 0 || cut.max_child >= n)
		return make_leaf(t, node, ids, n);

	int d = cut.dim;
	uint32_t outside = NO_NODE;
	if (box.bits[d] < rg->bits[d]) {
		/* Queries outside the span: only rules spanning the region on d. */
		uint32_t *span_ids = malloc((size_t)n * sizeof(*span_ids));
		uint32_t m = 0;
		if (!span_ids)
			return -ENOMEM;
		u128 top = span_hi(rg->lo[d], rg->bits[d]);
		for (uint32_t i = 0; i < n; i++) {
			const struct prule *p = &t->rules[ids[i]];
			if (p->lo[d] <= rg->lo[d] && p->hi[d] >= top)
				span_ids[m++] = ids[i];
		}
		int rc = m ? new_node(t, &outside) : 0;
		if (rc == 0 && m)
			rc = build(t, outside, rg, span_ids, m, depth + 1);
		free(span_ids);
		if (rc < 0)
			return rc;
	}
	/* Only the cut dimension shrinks: along the others, queries may still
	 * fall anywhere in the node's region. */
	struct region cutrg = *rg;
	cutrg.lo[d] = box.lo[d];
	cutrg.bits[d] = box.bits[d];
	rg = &cutrg;
	unsigned int nchild = 1u << cut.bits, shift = rg->bits[cut.dim] - cut.bits;
	uint32_t *child_ids = malloc((size_t)n * sizeof(*child_ids));
	uint32_t *prev_ids = malloc((size_t)n * sizeof(*prev_ids));
	if (!child_ids || !prev_ids || push_refs(t, nchild) < 0)
		goto oom;
	uint32_t first = (uint32_t)t->nrefs;
	t->nrefs += nchild;
	struct pnode *nd = &t->nodes[node];
	nd->dim = (uint8_t)cut.dim;
	nd->shift = (uint8_t)shift;
	nd->lo = rg->lo[cut.dim];
	nd->first = first;
	nd->count = nchild;
	nd->outside = outside;

	uint32_t prev_n = 0, prev_node = 0;
	int have_prev = 0;
	for (unsigned int k = 0; k < nchild; k++) {
		struct region sub = *rg;
		sub.lo[cut.dim] = rg->lo[cut.dim] + ((u128)k << shift);
		sub.bits[cut.dim] = shift;
		uint32_t m = 0;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t a, b;
			child_span(&t->rules[ids[i]], rg, cut.dim, shift, nchild, &a, &b);
			if (a <= k && k <= b)
				child_ids[m++] = ids[i];
		}
		for (uint32_t i = 0; i < m; i++)
			if (covers(&t->rules[child_ids[i]], &sub)) {
				m = i + 1;
				break;
			}
		/* Neighbouring leaves with the same rules share one node; inner
		 * nodes are never shared, since their cuts depend on the region. */
		int small = m <= LEAF_RULES;
		if (small && have_prev && m == prev_n &&
		    memcmp(child_ids, prev_ids, m * sizeof(*ids)) == 0) {
			t->refs[first + k] = prev_node;
			continue;
		}
		uint32_t child;
		if (new_node(t, &child) < 0)
			goto oom;
		t->refs[first + k] = child;
		if (build(t, child, &sub, child_ids, m, depth + 1) < 0)
			goto oom;
		have_prev = small;
		if (small) {
			memcpy(prev_ids, child_ids, m * sizeof(*ids));
			prev_n = m;
			prev_node = child;
		}
	}
	free(child_ids);
	free(prev_ids);
	return 0;
oom:
	free(child_ids);
	free(prev_ids);
	return -ENOMEM;
}

static int compile_tree(struct ptree *t, const struct rule_block *b, enum rule_role role)
{
	uint32_t n = 0;
	for (size_t i = 0; i < b->nrules; i++)
		n += b->rules[i].role == role;
	t->nrules = n;
	t->rules = calloc(n ? n : 1, sizeof(*t->rules));
	uint32_t *ids = malloc((n ? n : 1) * sizeof(*ids));
	uint32_t root;
	if (!t->rules || !ids || new_node(t, &root) < 0) {
		free(ids);
		return -ENOMEM;
	}
	for (size_t i = 0, j = 0; i < b->nrules; i++)
		if (b->rules[i].role == role) {
			rule_to_prule(&b->rules[i], &t->rules[j]);
			ids[j] = (uint32_t)j;
			j++;
		}
	t->ref_budget = (size_t)64 * n + 4096;
	struct region all;
	for (int d = 0; d < NDIM; d++) {
		all.lo[d] = 0;
		all.bits[d] = dim_bits[d];
	}
	int rc = build(t, root, &all, ids, n, 0);
	free(ids);
	return rc;
}

static void free_tree(struct ptree *t)
{
	free(t->rules);
	free(t->nodes);
	free(t->refs);
}

void policy_free(struct policy_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nblocks * ROLE_COUNT; i++)
		free_tree(&t->trees[i]);
	free(t->trees);
	free(t);
}

int policy_compile(const struct rules_set *set, struct policy_table **out)
{
	*out = NULL;
	struct policy_table *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->set = set;
	t->nblocks = set ? set->nblocks : 0;
	t->trees = calloc(t->nblocks * ROLE_COUNT + 1, sizeof(*t->trees));
	if (!t->trees) {
		free(t);
		return -ENOMEM;
	}
	for (size_t b = 0; b < t->nblocks; b++)
		for (int r = 0; r < ROLE_COUNT; r++)
			if (compile_tree(&t->trees[b * ROLE_COUNT + (size_t)r], &set->blocks[b],
					 (enum rule_role)r) < 0) {
				policy_free(t);
				return -ENOMEM;
			}
	*out = t;
	return 0;
}

int policy_select_block(const struct policy_table *t, const char *program, const char *app_id)
{
	if (!t)
		return -1;
	if (!program)
		program = "";
	if (!app_id)
		app_id = "";
	int implicit = -1;
	for (size_t i = 0; i < t->nblocks; i++) {
		const struct rule_block *b = &t->set->blocks[i];
		if (b->line == 0) {
			implicit = (int)i;
			continue;
		}
		if (fnmatch(b->program, program, 0) != 0)
			continue;
		if (strcmp(b->app_id, "*") != 0 && strcmp(b->app_id, app_id) != 0)
			continue;
		return (int)i;
	}
	return implicit;
}

static int contains(const struct rule_endpoint *outer, const struct rule_endpoint *inner)
{
	struct prule a, b;
	struct rule ra = { .local = *outer }, rb = { .local = *inner };
	rule_to_prule(&ra, &a);
	rule_to_prule(&rb, &b);
	return a.lo[DIM_LADDR] <= b.lo[DIM_LADDR] && a.hi[DIM_LADDR] >= b.hi[DIM_LADDR] &&
	       a.lo[DIM_LPORT] <= b.lo[DIM_LPORT] && a.hi[DIM_LPORT] >= b.hi[DIM_LPORT];
}

const struct rule *policy_shadowing_rule(const struct rule_block *b, size_t index)
{
	const struct rule *r = &b->rules[index];
	for (size_t i = 0; i < index; i++) {
		const struct rule *e = &b->rules[i];
		if (e->role == r->role && contains(&e->local, &r->local) &&
		    contains(&e->remote, &r->remote))
			return e;
	}
	return NULL;
}

const struct rule_block *policy_block(const struct policy_table *t, int block)
{
	if (!t || block < 0 || (size_t)block >= t->nblocks)
		return NULL;
	return &t->set->blocks[block];
}

static int prule_match(const struct prule *p, const u128 v[NDIM])
{
	for (int d = 0; d < NDIM; d++)
		if (v[d] < p->lo[d] || v[d] > p->hi[d])
			return 0;
	return 1;
}

const struct rule *policy_match(const struct policy_table *t, int block,
				const struct policy_query *q)
{
	if (!t || block < 0 || (size_t)block >= t->nblocks || q->role >= ROLE_COUNT)
		return NULL;
	const struct ptree *tr = &t->trees[(size_t)block * ROLE_COUNT + q->role];
	if (!tr->nrules)
		return NULL;
	u128 v[NDIM] = { addr_value(q->local), q->lport, addr_value(q->remote), q->rport };
	const struct pnode *nd = &tr->nodes[0];
	while (!nd->leaf) {
		u128 x = v[nd->dim];
		u128 k = (x - nd->lo) >> nd->shift;
		if (x < nd->lo || k >= nd->count) {
			if (nd->outside == NO_NODE)
				return NULL;
			nd = &tr->nodes[nd->outside];
			continue;
		}
		nd = &tr->nodes[tr->refs[nd->first + (uint32_t)k]];
	}
	for (uint32_t i = 0; i < nd->count; i++) {
		const struct prule *p = &tr->rules[tr->refs[nd->first + i]];
		if (prule_match(p, v))
			return p->rule;
	}
	return NULL;
}

static void set_addr(uint8_t out[16], uint16_t *port, const struct sockaddr *sa)
{
	memset(out, 0, 16);
	*port = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(out, &in6->sin6_addr, 16);
		*port = ntohs(in6->sin6_port);
	}
}

void policy_query_set_local(struct policy_query *q, const struct sockaddr *sa)
{
	set_addr(q->local, &q->lport, sa);
}

void policy_query_set_remote(struct policy_query *q, const struct sockaddr *sa)
{
	set_addr(q->remote, &q->rport, sa);
}

void policy_block_stats(const struct policy_table *t, int block, enum rule_role role,
			struct policy_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!t || block < 0 || (size_t)block >= t->nblocks || role >= ROLE_COUNT)
		return;
	const struct ptree *tr = &t->trees[(size_t)block * ROLE_COUNT + role];
	st->rules = tr->nrules;
	st->nodes = tr->nnodes;
	st->leaves = tr->leaves;
	st->max_depth = tr->max_depth;
	st->max_leaf = tr->max_leaf;
	st->rule_refs = tr->nrefs;
}
