/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What sock.c needs of the readiness code (src/core/mux.c, epoll.c) when
 * the socket pool is tested alone: nothing is ever offloaded there.
 */
#include "config.h"

#include "core/mux.h"

int mux_offloaded;

void mux_count(int delta)
{
	__atomic_fetch_add(&mux_offloaded, delta, __ATOMIC_RELAXED);
}
