/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where accel-stat's Recv-Q and Send-Q come from: the kernel's tables in
 * /proc/PID/net for sockets the kernel carries and for listeners, and, for
 * an engine's connection, the counters of the peer's slot. /proc/net text
 * and slots are input from elsewhere: a line that does not parse is passed
 * over, never followed.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "accel_stat.h"

/* ---- the kernel's view ---- */

int astat_wants_kernel(const struct astat_sock *s)
{
	return strcmp(s->pub.engine, "kernel") == 0 || s->pub.state == ACCEL_STATE_LISTEN;
}

/* "0100007F:1F90" of /proc/net/tcp: the address is the in-memory bytes of
 * 32-bit words printed as numbers. */
static int parse_proc_endpoint(const char *text, int family, struct astat_endpoint *ep)
{
	size_t words = family == AF_INET ? 1 : 4;
	uint8_t addr[16] = { 0 };
	if (strlen(text) < 8 * words + 2)
		return -EINVAL;
	for (size_t w = 0; w < words; w++) {
		char hex[9];
		memcpy(hex, text + 8 * w, 8);
		hex[8] = '\0';
		char *end;
		uint32_t v = (uint32_t)strtoul(hex, &end, 16);
		if (end != hex + 8)
			return -EINVAL;
		memcpy(addr + 4 * w, &v, 4);
	}
	const char *colon = text + 8 * words;
	if (*colon != ':')
		return -EINVAL;
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 16);
	if (end == colon + 1 || port > 65535)
		return -EINVAL;
	astat_endpoint_set(ep, family, addr, (uint16_t)port);
	return 0;
}

int astat_proc_net_apply(const char *path, int family, int proto, struct astat_sock *socks,
			 size_t nsocks)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[512];
	if (!fgets(line, sizeof(line), f)) { /* the column titles */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char local[64], remote[64];
		unsigned int st;
		unsigned long txq, rxq;
		unsigned long long inode;
		if (sscanf(line, " %*u: %63s %63s %x %lx:%lx %*x:%*x %*x %*u %*d %llu", local,
			   remote, &st, &txq, &rxq, &inode) != 6 ||
		    inode == 0)
			continue;
		for (size_t i = 0; i < nsocks; i++) {
			struct astat_sock *s = &socks[i];
			if (s->from_kernel || s->pub.proto != proto || s->pub.inode != inode ||
			    !astat_wants_kernel(s))
				continue;
			struct astat_endpoint l, r;
			if (parse_proc_endpoint(local, family, &l) < 0 ||
			    parse_proc_endpoint(remote, family, &r) < 0)
				break;
			s->from_kernel = 1;
			s->proto = (uint8_t)proto;
			s->local = l;
			s->foreign = r;
			/* UDP's states are TCP's numbers: only "connected" means
			 * something; the rest is an unconnected socket. */
			if (proto == IPPROTO_UDP)
				s->state = st == ACCEL_STATE_ESTABLISHED ? ACCEL_STATE_ESTABLISHED
									 : ACCEL_STATE_NONE;
			else
				s->state = (uint8_t)st;
			s->recv_q = (int64_t)rxq;
			s->send_q = (int64_t)txq;
			break;
		}
	}
	fclose(f);
	return 0;
}

/* The process's own network namespace holds its sockets: /proc/PID/net. */
void astat_proc_kernel_view(struct astat_proc *p)
{
	static const struct {
		const char *file;
		int family, proto;
	} tables[] = {
		{ "tcp", AF_INET, IPPROTO_TCP },
		{ "tcp6", AF_INET6, IPPROTO_TCP },
		{ "udp", AF_INET, IPPROTO_UDP },
		{ "udp6", AF_INET6, IPPROTO_UDP },
	};
	int wants[2] = { 0, 0 }; /* TCP, UDP */
	for (size_t i = 0; i < p->nsocks; i++)
		if (astat_wants_kernel(&p->socks[i]))
			wants[p->socks[i].pub.proto == IPPROTO_UDP] = 1;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		if (!wants[tables[t].proto == IPPROTO_UDP])
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int)p->head.pid, tables[t].file);
		astat_proc_net_apply(path, tables[t].family, tables[t].proto, p->socks, p->nsocks);
	}
	/* Not found (closed meanwhile, or another namespace's /proc): the
	 * slot's values, and queues of zero. */
	for (size_t i = 0; i < p->nsocks; i++) {
		struct astat_sock *s = &p->socks[i];
		if (astat_wants_kernel(s) && !s->from_kernel)
			s->recv_q = s->send_q = 0;
	}
}

/* ---- pairing ---- */

/* The two ends of a connection, as a key: engine, protocol, then one end's
 * address and port, IPv4 as IPv4-mapped IPv6 so that both ends compare. */
struct pair_key {
	char engine[16];
	uint8_t proto;
	uint8_t a[16], b[16];
	uint16_t pa, pb;
	struct astat_sock *sock;
};

static void mapped(const struct astat_endpoint *ep, uint8_t out[16])
{
	if (ep->family == AF_INET) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, ep->addr, 4);
	} else {
		memcpy(out, ep->addr, 16);
	}
}

static void pair_key_set(struct pair_key *k, const struct astat_sock *s, int reversed)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->engine, s->pub.engine, sizeof(k->engine));
	k->proto = s->pub.proto;
	const struct astat_endpoint *x = reversed ? &s->foreign : &s->local;
	const struct astat_endpoint *y = reversed ? &s->local : &s->foreign;
	mapped(x, k->a);
	mapped(y, k->b);
	k->pa = x->port;
	k->pb = y->port;
}

static int pair_key_cmp(const void *x, const void *y)
{
	const struct pair_key *a = x, *b = y;
	int c = memcmp(a->engine, b->engine, sizeof(a->engine));
	if (!c)
		c = (int)a->proto - (int)b->proto;
	if (!c)
		c = memcmp(a->a, b->a, 16);
	if (!c)
		c = memcmp(a->b, b->b, 16);
	if (!c)
		c = (int)a->pa - (int)b->pa;
	if (!c)
		c = (int)a->pb - (int)b->pb;
	return c;
}

static int pairable(const struct astat_sock *s)
{
	return !astat_wants_kernel(s) && s->pub.state != ACCEL_STATE_NONE && s->foreign.port != 0;
}

static int64_t queued(uint64_t sent, uint64_t received)
{
	return sent > received ? (int64_t)(sent - received) : 0;
}

void astat_pair(struct astat_snapshot *snap)
{
	size_t n = 0;
	for (size_t p = 0; p < snap->nprocs; p++)
		for (size_t i = 0; i < snap->procs[p].nsocks; i++)
			n += pairable(&snap->procs[p].socks[i]);
	struct pair_key *keys = n ? calloc(n, sizeof(*keys)) : NULL;
	if (!keys)
		return;
	n = 0;
	for (size_t p = 0; p < snap->nprocs; p++)
		for (size_t i = 0; i < snap->procs[p].nsocks; i++)
			if (pairable(&snap->procs[p].socks[i])) {
				pair_key_set(&keys[n], &snap->procs[p].socks[i], 0);
				keys[n++].sock = &snap->procs[p].socks[i];
			}
	qsort(keys, n, sizeof(*keys), pair_key_cmp);
	for (size_t i = 0; i < n; i++) {
		struct astat_sock *s = keys[i].sock;
		struct pair_key want;
		pair_key_set(&want, s, 1);
		struct pair_key *hit = bsearch(&want, keys, n, sizeof(*keys), pair_key_cmp);
		if (!hit)
			continue;
		/* Two candidates (the same addresses in two network
		 * namespaces): no way to tell which, so no queues. */
		if ((hit > keys && pair_key_cmp(hit - 1, &want) == 0) ||
		    (hit + 1 < keys + n && pair_key_cmp(hit + 1, &want) == 0))
			continue;
		const uint64_t *mine = s->pub.counters, *theirs = hit->sock->pub.counters;
		s->peer = hit->sock;
		s->recv_q = queued(theirs[ACCEL_STAT_tx_bytes], mine[ACCEL_STAT_rx_bytes]);
		s->send_q = queued(mine[ACCEL_STAT_tx_bytes], theirs[ACCEL_STAT_rx_bytes]);
	}
	free(keys);
}
