/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What sock.c needs of the statistics (src/core/stats.c) when the socket
 * pool is tested alone: every socket counts in its own object, no segment.
 */
#include "config.h"

#include <string.h>

#include "core/sock.h"

void stats_sock_open(struct accel_sock *s, int fd)
{
	memset(&s->local_slot, 0, sizeof(s->local_slot));
	s->local_slot.fd = fd;
	s->slot = &s->local_slot;
	s->ctr = s->local_slot.counters;
}

void stats_sock_close(struct accel_sock *s)
{
	s->slot = NULL;
}

void stats_sock_offloaded(struct accel_sock *s)
{
	(void)s;
}
