/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The byte ring: copies in and out with one release store of the moving
 * counter per call. The peer's counter is re-read only when the private
 * copy says there is no room (producer) or nothing to read (consumer).
 * Hot path: no locks, no allocation, no system calls.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ring.h"

#define SHM_RING_MAGIC 0x61636372u /* "accr" */

size_t shm_ring_bytes(uint32_t size)
{
	return sizeof(struct shm_ring) + size;
}

uint32_t shm_ring_size_for(size_t wanted)
{
	uint32_t size = SHM_RING_MIN;
	while (size < wanted && size < SHM_RING_MAX)
		size <<= 1;
	return size;
}

int shm_ring_init(struct shm_ring *r, uint32_t size)
{
	if (size < SHM_RING_MIN || size > SHM_RING_MAX || (size & (size - 1)))
		return -EINVAL;
	r->head = 0;
	r->tail = 0;
	r->flags = 0;
	r->size = size;
	__atomic_store_n(&r->magic, SHM_RING_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int shm_ring_attach(struct shm_ring_end *e, struct shm_ring *r, size_t mapped)
{
	if (mapped < sizeof(*r) || __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) != SHM_RING_MAGIC)
		return -EINVAL;
	uint32_t size = r->size;
	if (size < SHM_RING_MIN || size > SHM_RING_MAX || (size & (size - 1)) ||
	    mapped < shm_ring_bytes(size))
		return -EINVAL;
	e->r = r;
	e->mask = size - 1;
	e->other = 0;
	e->broken = 0;
	return 0;
}

/* Free space, re-reading the consumer's counter only if the copy says
 * there is less than `want`. */
static size_t room(struct shm_ring_end *e, size_t want)
{
	uint64_t head = e->r->head; /* ours */
	uint64_t size = e->mask + 1;
	if (size - (head - e->other) < want || head - e->other > size)
		e->other = __atomic_load_n(&e->r->tail, __ATOMIC_ACQUIRE);
	/* The peer writes tail: never trust it past what we wrote. (A stale
	 * copy is re-read first: after a fork another process may have moved
	 * head a long way.) */
	if (head - e->other > size) {
		e->broken = 1;
		return 0;
	}
	return (size_t)(size - (head - e->other));
}

/* Bytes waiting, re-reading the producer's counter only if the copy says
 * there are fewer than `want`. */
static size_t avail(struct shm_ring_end *e, size_t want)
{
	uint64_t tail = e->r->tail; /* ours */
	if (e->other - tail < want || e->other - tail > e->mask + 1)
		e->other = __atomic_load_n(&e->r->head, __ATOMIC_ACQUIRE);
	/* The peer writes head: more than a ring's worth is corruption, and
	 * reading it would run past the ring. */
	if (e->other - tail > e->mask + 1) {
		e->broken = 1;
		return 0;
	}
	return (size_t)(e->other - tail);
}

size_t shm_ring_writable(struct shm_ring_end *e)
{
	return room(e, (size_t)-1);
}

size_t shm_ring_readable(struct shm_ring_end *e)
{
	return avail(e, (size_t)-1);
}

int shm_ring_has_data(struct shm_ring_end *e)
{
	return avail(e, 1) != 0;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

size_t shm_ring_unread(const struct shm_ring_end *e)
{
	uint64_t n = e->r->head - __atomic_load_n(&e->r->tail, __ATOMIC_ACQUIRE);
	return n > e->mask + 1 ? 0 : (size_t)n; /* the peer writes tail */
}

/* Copy n bytes between a flat buffer and the ring at position pos. */
static void copy_in(struct shm_ring_end *e, uint64_t pos, const unsigned char *src, size_t n)
{
	size_t off = (size_t)(pos & e->mask), first = e->mask + 1 - off;
	if (first > n)
		first = n;
	memcpy(e->r->data + off, src, first);
	memcpy(e->r->data, src + first, n - first);
}

static void copy_out(struct shm_ring_end *e, uint64_t pos, unsigned char *dst, size_t n)
{
	size_t off = (size_t)(pos & e->mask), first = e->mask + 1 - off;
	if (first > n)
		first = n;
	memcpy(dst, e->r->data + off, first);
	memcpy(dst + first, e->r->data, n - first);
}

/* Copy up to `limit` bytes between iov and the ring from position pos. */
static size_t copy_iov(struct shm_ring_end *e, uint64_t pos, const struct iovec *iov, int iovcnt,
		       size_t limit, int into_ring)
{
	size_t done = 0;
	for (int i = 0; i < iovcnt && done < limit; i++) {
		size_t n = iov[i].iov_len < limit - done ? iov[i].iov_len : limit - done;
		if (!n)
			continue; /* an empty entry may have a NULL base */
		if (into_ring)
			copy_in(e, pos + done, iov[i].iov_base, n);
		else
			copy_out(e, pos + done, iov[i].iov_base, n);
		done += n;
	}
	return done;
}

size_t shm_ring_write(struct shm_ring_end *e, const struct iovec *iov, int iovcnt)
{
	uint64_t head = e->r->head;
	size_t done = copy_iov(e, head, iov, iovcnt, room(e, iov_total(iov, iovcnt)), 1);
	if (done)
		__atomic_store_n(&e->r->head, head + done, __ATOMIC_RELEASE);
	return done;
}

size_t shm_ring_skip(struct shm_ring_end *e, size_t n, int peek)
{
	uint64_t tail = e->r->tail;
	size_t done = avail(e, n);
	if (done > n)
		done = n;
	if (done && !peek)
		__atomic_store_n(&e->r->tail, tail + done, __ATOMIC_RELEASE);
	return done;
}

/*
 * What the copy of the producer's counter shows is read first; the counter
 * itself only when the copy says the ring is empty. Each read of it takes
 * its cache line from the producer, whose next store has to take it back:
 * a reader keeping up with a stream of small messages would do that twice
 * a call (readiness, then the read) and hold the producer back. Bytes that
 * came meanwhile are for the next call, as if they had come a moment later.
 * A peek looks afresh: it leaves the copy as it was, and a program peeking
 * until enough has come must see it come.
 */
size_t shm_ring_read(struct shm_ring_end *e, const struct iovec *iov, int iovcnt, int peek)
{
	uint64_t tail = e->r->tail;
	size_t want = iov_total(iov, iovcnt);
	size_t done = copy_iov(e, tail, iov, iovcnt, avail(e, peek ? want : 1), 0);
	if (done && !peek)
		__atomic_store_n(&e->r->tail, tail + done, __ATOMIC_RELEASE);
	return done;
}
