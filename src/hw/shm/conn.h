/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One end of a same-host connection: two byte rings in one shared mapping
 * (a memfd, never a name in /dev/shm) and a connected unix stream socket
 * to the peer. The rings carry the bytes; the socket carries a one-byte
 * doorbell, sent only when the other side said it is about to sleep, so a
 * busy connection makes no system call and a sleeping one wakes in the
 * kernel (poll, epoll and select on the socket see it readable).
 * Hot path (ring has room / data): no locks, no allocation, no syscalls.
 */
#ifndef ACCEL_HW_SHM_CONN_H
#define ACCEL_HW_SHM_CONN_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "ring.h"

struct shm_conn {
	struct shm_ring_end tx; /* we produce into it */
	struct shm_ring_end rx; /* we consume from it */
	int fd;                 /* unix stream socket to the peer */
	int nonblock;           /* O_NONBLOCK as the program set it */
	int sndtimeo_ms;        /* SO_SNDTIMEO (0: none) */
	int rcvtimeo_ms;        /* SO_RCVTIMEO as set (0: none): the socket applies it
				 * to the sleep; this is for the waits before it */
	int peer_gone;          /* the socket said every holder of the peer's end is gone */
	int rd_shut;            /* shutdown(SHUT_RD) */
	int client;             /* the connecting end (side 0) */
	int shared;             /* a fork copied this end: close only unmaps */
	int rst;                /* we sent after the peer closed: it "answered" a reset */
	int reset_seen;         /* a reset was noticed (and err_pending set once) */
	int err_pending;        /* the socket error not yet reported (SO_ERROR) */
	unsigned int waiters;   /* threads asleep on this connection */
	int leader;             /* a thread sleeps on the socket for all */
	uint32_t wake_seq;      /* futex word: bumped when the leader wakes */
	int tx_lock, rx_lock;   /* one sender, one receiver at a time (futex words) */
	unsigned int idle_checks;
	void *map;
	size_t map_len;
};

/*
 * Create the shared memory for a connection whose rings hold `size` bytes
 * each: returns a memfd (to pass to the peer) or -errno.
 */
int shm_conn_memfd(uint32_t size);
/*
 * Attach to the memfd over the connected unix socket fd. `side` is 0 for
 * the end that created it and 1 for the other: side 0 produces into ring 0.
 */
int shm_conn_attach(struct shm_conn *c, int memfd, int fd, int side);
void shm_conn_detach(struct shm_conn *c);

/* Like send/recv on a stream: a count, 0 at end of stream (recv), or
 * -EAGAIN, -EPIPE, -ECONNRESET, -EINTR. flags: MSG_DONTWAIT, MSG_PEEK,
 * MSG_WAITALL. Blocking follows c->nonblock; SO_RCVTIMEO set on the socket
 * and c->sndtimeo_ms bound the waits (then -EAGAIN). */
ssize_t shm_conn_send(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags);
ssize_t shm_conn_recv(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags);
/* In a fork child: the locks other threads held are nobody's now. */
void shm_conn_forked_child(struct shm_conn *c);
/* shutdown(SHUT_WR) and (SHUT_RD). */
void shm_conn_shutdown_write(struct shm_conn *c);
void shm_conn_shutdown_read(struct shm_conn *c);
/* We are gone: the peer gets ECONNRESET if we leave data unread, or when
 * abort is set (SO_LINGER with a zero timeout). Unmaps. Does not touch the
 * socket: closing it is what wakes the peer. */
void shm_conn_close(struct shm_conn *c, int abort);
/* The same without unmapping (another thread may still be inside a call). */
void shm_conn_mark_closed(struct shm_conn *c, int abort);

/* The pending socket error (SO_ERROR), cleared by reading it. */
int shm_conn_take_error(struct shm_conn *c);
/* Whether TCP would be out of its connected states (ENOTCONN). */
int shm_conn_closed(struct shm_conn *c);
/* Readiness now, as poll would report it: POLLIN, POLLOUT, POLLRDHUP,
 * POLLHUP, POLLERR. No system call. */
unsigned int shm_conn_poll(struct shm_conn *c);
/*
 * About to sleep in the kernel on c->fd for `events` (POLLIN, POLLOUT): ask
 * the peer to ring the doorbell on its next push or pop. Returns the events
 * already true (then do not sleep).
 */
unsigned int shm_conn_arm(struct shm_conn *c, unsigned int events);
/* Clear what shm_conn_arm raised; only when no thread of the process still
 * sleeps armed (core's mux decides that). */
void shm_conn_disarm(struct shm_conn *c);
/*
 * After EINTR in a wait that is not one system call on one fd: whether the
 * kernel would have restarted the call, judged by every installed handler
 * of an asynchronous signal having SA_RESTART (when they disagree, EINTR).
 */
int shm_sys_restarts(void);
/* Consume doorbells after a wake-up; notices the peer's end closing. */
void shm_conn_drain(struct shm_conn *c);

#endif
