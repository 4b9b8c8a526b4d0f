/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * How two libaccel processes on one host find each other for a TCP
 * connection. A listener advertises on an abstract unix socket named after
 * its address and port (abstract names belong to the network namespace,
 * so another namespace never sees it). A client that connects there asks
 * the kernel who answered (SO_PEERCRED) and whether that user owns a TCP
 * socket listening where the connection lands, in the client's own
 * namespace (/proc/net/tcp and tcp6). A squatter of another user proves
 * nothing, and the client takes the kernel path. (A process of the same
 * user could answer instead of the server; it could also ptrace it.)
 */
#ifndef ACCEL_HW_SHM_RENDEZVOUS_H
#define ACCEL_HW_SHM_RENDEZVOUS_H

#include <stddef.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <stdint.h>

#define SHM_RV_VERSION 3

/* What a client sends with the connection's memfd: both TCP ends, IPv4 as
 * v4-mapped. */
struct shm_rv_hello {
	uint32_t version;
	uint32_t reserved;
	struct sockaddr_in6 client; /* the client's reserved local address */
	struct sockaddr_in6 server; /* the address it connected to */
};

/* The abstract name for a TCP listener address (sun_path bytes, first NUL). */
int shm_rv_name(const struct sockaddr *addr, char *path, size_t size);

/*
 * Advertise listen_fd (a listening TCP socket) with the program's backlog.
 * Returns the rendezvous socket (listening unix stream socket,
 * non-blocking, close-on-exec) or -errno: -EADDRINUSE when the name is
 * taken.
 */
int shm_rv_advertise(int listen_fd, int backlog);

/*
 * Find a proven listener for dst (AF_INET or AF_INET6, v4-mapped too).
 * Returns a unix socket connected to it (non-blocking, close-on-exec), as
 * soon as the listener's backlog holds it, like a TCP connect; -ENOENT
 * when no libaccel listener advertises dst or its backlog is full, -EPERM
 * when what answers is not a process of the listener's owner.
 */
int shm_rv_find(const struct sockaddr *dst, socklen_t len);
/* The client's first message on that socket: the memfd and both ends. */
int shm_rv_send_hello(int fd, int memfd, const struct sockaddr *client,
		      const struct sockaddr *server);

/*
 * Take one client from rv_fd: returns its socket (close-on-exec), its
 * memfd in *memfd and its hello, -EAGAIN when nobody waits, or -errno.
 */
int shm_rv_accept(int rv_fd, int *memfd, struct shm_rv_hello *h);

#endif
