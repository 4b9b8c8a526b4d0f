/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A single-producer single-consumer byte ring in memory shared by two
 * processes: one direction of a same-host connection. The producer owns
 * `head`, the consumer `tail`; each sits on its own cache line, and each
 * side keeps a private copy of the other's counter so that a busy
 * connection touches the shared line only when it must. Hot path: no
 * locks, no allocation, no system calls.
 */
#ifndef ACCEL_HW_SHM_RING_H
#define ACCEL_HW_SHM_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SHM_RING_MIN (4u << 10)
#define SHM_RING_MAX (1u << 30)

/* Flags a side raises for the other (bits of shm_ring.flags). */
enum {
	SHM_RING_EOF = 1u << 0,      /* producer: no more data (shutdown(SHUT_WR), close) */
	SHM_RING_RESET = 1u << 1,    /* either: connection reset (closed with data unread) */
	SHM_RING_SLEEPING = 1u << 2, /* consumer: waiting in the kernel, wake it on the next push */
	SHM_RING_GONE = 1u << 3,     /* consumer: closed; the producer's sends fail with EPIPE */
	SHM_RING_FULL_WAIT = 1u << 4, /* producer: waiting for room, wake it on the next pop */
	/* The same two for a poll, select or epoll_wait about to sleep. Only the
	 * producer (or consumer) that rings clears them: another thread of the
	 * process may still sleep on them. */
	SHM_RING_POLL_IN = 1u << 5,  /* consumer: wake on the next push */
	SHM_RING_POLL_OUT = 1u << 6, /* producer: wake on the next pop */
	SHM_RING_ACCEPTED = 1u << 7, /* the server's side: its program accepted the connection */
};

/* The shared part: placed at the start of the mapping, data follows. */
struct shm_ring {
	_Alignas(64) uint64_t head;  /* bytes ever written (producer) */
	_Alignas(64) uint64_t tail;  /* bytes ever consumed (consumer) */
	_Alignas(64) uint32_t flags; /* SHM_RING_* */
	uint32_t size;               /* data bytes, a power of two */
	uint32_t magic;
	uint32_t prod_lock;          /* futex words: producers / consumers of this ring */
	uint32_t cons_lock;          /* in different processes after a fork */
	_Alignas(64) unsigned char data[];
};

/* One process's handle on one ring, as producer or consumer. */
struct shm_ring_end {
	struct shm_ring *r;
	uint64_t mask;  /* size - 1, read once at attach: the peer cannot change it */
	uint64_t other; /* last value seen of the other side's counter */
	int broken;     /* the peer's counter was impossible: treat as a reset */
};

/* Bytes of mapping needed for a ring of `size` data bytes. */
size_t shm_ring_bytes(uint32_t size);
/* Round a wanted capacity to what a ring holds (power of two, in bounds). */
uint32_t shm_ring_size_for(size_t wanted);
/* Initialise a ring in fresh (zeroed) memory. 0 or -EINVAL. */
int shm_ring_init(struct shm_ring *r, uint32_t size);
/* Attach to an initialised ring; -EINVAL if it does not look like one. */
int shm_ring_attach(struct shm_ring_end *e, struct shm_ring *r, size_t mapped);

/* Producer: copy up to the free space from iov; returns bytes copied. */
size_t shm_ring_write(struct shm_ring_end *e, const struct iovec *iov, int iovcnt);
/* Consumer: copy up to what is there (as far as the copy of the producer's
 * counter knows, unless it says nothing) into iov; peek leaves it in the ring. */
size_t shm_ring_read(struct shm_ring_end *e, const struct iovec *iov, int iovcnt, int peek);
/* Consumer: drop up to n bytes without copying them (MSG_TRUNC); with peek,
 * only count them. */
size_t shm_ring_skip(struct shm_ring_end *e, size_t n, int peek);
/* Consumer: bytes waiting. Producer: bytes of free space. */
size_t shm_ring_readable(struct shm_ring_end *e);
/* Consumer: whether a byte waits; reads the producer's counter only when
 * the copy of it says none (readiness checks, which come often). */
int shm_ring_has_data(struct shm_ring_end *e);
size_t shm_ring_writable(struct shm_ring_end *e);
/* Producer: bytes written and not yet consumed (SIOCOUTQ). */
size_t shm_ring_unread(const struct shm_ring_end *e);

static inline uint32_t shm_ring_flags(const struct shm_ring *r)
{
	return __atomic_load_n(&r->flags, __ATOMIC_ACQUIRE);
}

static inline void shm_ring_set_flag(struct shm_ring *r, uint32_t flag)
{
	__atomic_fetch_or(&r->flags, flag, __ATOMIC_SEQ_CST);
}

static inline void shm_ring_clear_flag(struct shm_ring *r, uint32_t flag)
{
	__atomic_fetch_and(&r->flags, ~flag, __ATOMIC_SEQ_CST);
}

#endif
