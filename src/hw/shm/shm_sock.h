/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The shm engine's state for one socket: a listener that also advertises a
 * rendezvous, or one end of a connection over rings. Shared by the files
 * of the engine (setup.c: listen, connect, accept; sock_ops.c: the calls
 * on a connection).
 */
#ifndef ACCEL_HW_SHM_SHM_SOCK_H
#define ACCEL_HW_SHM_SHM_SOCK_H

#include <netinet/in.h>

#include "../../core/engine.h"
#include "conn.h"

/* Socket options a connection keeps for getsockopt (TCP and IP levels). */
#define SHM_SOCK_OPTS 12

struct shm_opt {
	int level, name, value;
};

struct shm_listener {
	int rv_fd; /* the rendezvous: listening unix socket */
	int domain;
};

struct shm_sock {
	struct shm_conn c;
	int domain;
	int reserve_fd; /* client: the TCP socket holding the local port; -1 */
	struct sockaddr_in6 local, peer; /* IPv4 as v4-mapped */
	unsigned int ring_size;
	struct shm_opt opts[SHM_SOCK_OPTS];
	int n_opts;
	char cc[17];               /* TCP_CONGESTION as set (empty: the system's) */
	long released_us;          /* closed: when (see shm_sock_reap) */
	struct shm_sock *next_dead;
};

extern const struct engine_ops shm_conn_ops;
extern const struct engine_ops shm_listener_ops;
extern struct engine_params shm_params;

struct shm_sock *shm_sock_new(int domain, int fd, int memfd, int side);
void shm_sock_free(struct shm_sock *ss);
/* Free closed connections nobody can be using any more (all: every one). */
void shm_sock_reap(int all);
/* The address in the socket's family (v4-mapped kept for AF_INET6). */
socklen_t shm_sock_addr(int domain, const struct sockaddr_in6 *in, struct sockaddr_storage *out);
/* Memory for engine state, from mmap: connect and accept may run in a
 * signal handler, where malloc is not safe. Zeroed. */
void *shm_alloc(size_t size);
void shm_free(void *p, size_t size);

#endif
