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

#define SHM_RV_VERSION 1

/* The abstract name for a TCP listener address (sun_path bytes, first NUL). */
int shm_rv_name(const struct sockaddr *addr, char *path, size_t size);

/*
 * Advertise listen_fd (a listening TCP socket). Returns the rendezvous
 * socket (listening unix stream socket, non-blocking, close-on-exec) or
 * -errno: -EADDRINUSE when the name is taken.
 */
int shm_rv_advertise(int listen_fd);

/*
 * Answer one pending client of rv_fd with the connection's memfd. Returns
 * the connected unix socket to that client, -EAGAIN when nobody waits, or
 * -errno. The listening socket itself never leaves the server.
 */
int shm_rv_answer(int rv_fd, int memfd);

/*
 * Find a proven listener for dst (AF_INET or AF_INET6, v4-mapped too).
 * Returns the connected unix socket and *memfd, -ENOENT when no libaccel
 * listener advertises dst, -EPERM when what answers is not a process of
 * the listener's owner, or another -errno. Waits at most timeout_ms in all.
 */
int shm_rv_find(const struct sockaddr *dst, socklen_t len, int timeout_ms, int *memfd);

#endif
