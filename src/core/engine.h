/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one interface between core and a data-path engine (shm, net). An
 * engine is a struct engine_ops plus its private state hung off the socket;
 * core never asks which engine it has. Every function returns 0 or a count,
 * or -errno; core turns that into -1/errno at the libc edge.
 */
#ifndef ACCEL_CORE_ENGINE_H
#define ACCEL_CORE_ENGINE_H

#include <sys/socket.h>
#include <sys/types.h>

struct accel_sock;

struct engine_ops {
	const char *name;
	ssize_t (*recvmsg)(struct accel_sock *s, struct msghdr *msg, int flags);
	ssize_t (*sendmsg)(struct accel_sock *s, const struct msghdr *msg, int flags);
	int (*shutdown)(struct accel_sock *s, int how);
	/* The last fd referring to s is being closed. */
	void (*release)(struct accel_sock *s);
};

#endif
