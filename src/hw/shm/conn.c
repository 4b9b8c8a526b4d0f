/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stream semantics over a pair of rings. Waking is Dekker-style: the side
 * about to sleep raises a flag and re-checks; the side that made progress
 * publishes its counter, fences, and reads the flag. Either the sleeper
 * sees the progress or the other side sees the flag: no wake-up is lost.
 * A reader sleeps in poll() on the unix socket (woken by a doorbell byte);
 * a writer on a full ring sleeps on a futex in the shared mapping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "conn.h"

static struct shm_ring *ring_at(void *map, uint32_t size, int i)
{
	return (struct shm_ring *)((char *)map + (size_t)i * shm_ring_bytes(size));
}

int shm_conn_memfd(uint32_t size)
{
	size = shm_ring_size_for(size);
	int fd = (int)syscall(SYS_memfd_create, "libaccel-conn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	size_t len = 2 * shm_ring_bytes(size);
	void *map = MAP_FAILED;
	/* Sealed size: neither side can shrink the mapping under the other
	 * (its next access would fault with SIGBUS). */
	if (ftruncate(fd, (off_t)len) == 0 &&
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int err = errno;
		close(fd);
		return -err;
	}
	shm_ring_init(ring_at(map, size, 0), size);
	shm_ring_init(ring_at(map, size, 1), size);
	munmap(map, len);
	return fd;
}

int shm_conn_attach(struct shm_conn *c, int memfd, int fd, int side)
{
	struct stat st;
	memset(c, 0, sizeof(*c));
	if (fstat(memfd, &st) < 0)
		return -errno;
	/* Only a memfd whose size nobody can change again. */
	int seals = fcntl(memfd, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		return -EINVAL;
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (map == MAP_FAILED)
		return -errno;
	struct shm_ring *first = map;
	uint32_t size = len >= sizeof(*first) ? first->size : 0;
	if (len < 2 * sizeof(*first) || len != 2 * shm_ring_bytes(size) ||
	    shm_ring_attach(&c->tx, ring_at(map, size, side ? 1 : 0), len / 2) < 0 ||
	    shm_ring_attach(&c->rx, ring_at(map, size, side ? 0 : 1), len / 2) < 0) {
		munmap(map, len);
		return -EINVAL;
	}
	c->fd = fd;
	c->map = map;
	c->map_len = len;
	return 0;
}

void shm_conn_detach(struct shm_conn *c)
{
	if (c->map)
		munmap(c->map, c->map_len);
	c->map = NULL;
}

static void doorbell(struct shm_conn *c)
{
	char b = 1;
	/* The socket's own buffer holds thousands of doorbells; if it is full,
	 * the peer has plenty to wake up to already. */
	while (send(c->fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* After our producer or consumer counter moved: wake a peer that sleeps. */
static void wake_reader(struct shm_conn *c)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct shm_ring *r = c->tx.r;
	if (shm_ring_flags(r) & SHM_RING_SLEEPING) {
		shm_ring_clear_flag(r, SHM_RING_SLEEPING);
		doorbell(c);
	}
}

static void wake_writer(struct shm_conn *c)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct shm_ring *r = c->rx.r;
	if (shm_ring_flags(r) & SHM_RING_FULL_WAIT) {
		shm_ring_clear_flag(r, SHM_RING_FULL_WAIT);
		__atomic_fetch_add(&r->room_seq, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &r->room_seq, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
	}
}

static void drain_doorbells(struct shm_conn *c)
{
	char buf[64];
	while (recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT) == (ssize_t)sizeof(buf))
		;
}

static int reset(const struct shm_conn *c)
{
	return ((shm_ring_flags(c->rx.r) | shm_ring_flags(c->tx.r)) & SHM_RING_RESET) ||
	       c->rx.broken || c->tx.broken;
}

/* Sleep until the peer may have written, or an error. 0, -EINTR, -ECONNRESET. */
static int wait_readable(struct shm_conn *c)
{
	struct shm_ring *r = c->rx.r;
	shm_ring_set_flag(r, SHM_RING_SLEEPING);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* flag before re-check: Dekker */
	if (shm_ring_readable(&c->rx) || (shm_ring_flags(r) & (SHM_RING_EOF | SHM_RING_RESET))) {
		shm_ring_clear_flag(r, SHM_RING_SLEEPING);
		return 0;
	}
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int rc = poll(&p, 1, -1);
	int err = errno;
	shm_ring_clear_flag(r, SHM_RING_SLEEPING);
	if (rc < 0)
		return -err;
	if (p.revents & (POLLHUP | POLLERR)) {
		/* The peer's process is gone. Bytes it wrote stay readable; then
		 * a clean end if it had shut down, else a reset. */
		if (!shm_ring_readable(&c->rx) && !(shm_ring_flags(r) & SHM_RING_EOF))
			return -ECONNRESET;
	}
	drain_doorbells(c);
	return 0;
}

/* Sleep until the peer may have made room. 0, -EINTR, -EPIPE. */
static int wait_writable(struct shm_conn *c)
{
	struct shm_ring *r = c->tx.r;
	uint32_t seq = __atomic_load_n(&r->room_seq, __ATOMIC_SEQ_CST);
	shm_ring_set_flag(r, SHM_RING_FULL_WAIT);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (shm_ring_writable(&c->tx) || (shm_ring_flags(r) & (SHM_RING_GONE | SHM_RING_RESET))) {
		shm_ring_clear_flag(r, SHM_RING_FULL_WAIT);
		return 0;
	}
	/* Also woken by the peer's death: poll the socket for HUP with a futex
	 * timeout, so a killed peer is noticed within 100 ms. */
	struct timespec t = { 0, 100 * 1000 * 1000 };
	long rc = syscall(SYS_futex, &r->room_seq, FUTEX_WAIT, seq, &t, NULL, 0);
	int err = errno;
	shm_ring_clear_flag(r, SHM_RING_FULL_WAIT);
	if (rc < 0 && err == EINTR)
		return -EINTR;
	struct pollfd p = { .fd = c->fd, .events = 0 };
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		return -EPIPE;
	return 0;
}

static int iov_sum(const struct iovec *iov, int iovcnt, size_t *total)
{
	size_t n = 0;
	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > (size_t)SSIZE_MAX - n)
			return -EINVAL;
		n += iov[i].iov_len;
	}
	*total = n;
	return 0;
}

/* The part of iov after the first `skip` bytes (at most 64 entries). */
static int iov_advance(const struct iovec *iov, int iovcnt, size_t skip, struct iovec *out)
{
	int n = 0;
	for (int i = 0; i < iovcnt && n < 64; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[n].iov_base = (char *)iov[i].iov_base + skip;
		out[n].iov_len = iov[i].iov_len - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* As a blocking TCP send: all of it, unless an error or a signal comes
 * after some bytes went, then the count so far. */
ssize_t shm_conn_send(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want, done = 0;
	struct iovec rest[64];
	if (iov_sum(iov, iovcnt, &want) < 0)
		return -EINVAL;
	int block = !c->nonblock && !(flags & MSG_DONTWAIT);
	for (;;) {
		uint32_t f = shm_ring_flags(c->tx.r);
		int err = reset(c) ? -ECONNRESET : (f & (SHM_RING_GONE | SHM_RING_EOF)) ? -EPIPE : 0;
		if (err)
			return done ? (ssize_t)done : err;
		int n_iov = done ? iov_advance(iov, iovcnt, done, rest) : iovcnt;
		size_t n = shm_ring_write(&c->tx, done ? rest : iov, n_iov);
		if (n)
			wake_reader(c);
		done += n;
		if (done == want || (!block && (done || !want)))
			return (ssize_t)done;
		if (!block)
			return -EAGAIN;
		if (n)
			continue;
		int rc = wait_writable(c);
		if (rc < 0)
			return done ? (ssize_t)done : rc;
	}
}

ssize_t shm_conn_recv(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want;
	if (iov_sum(iov, iovcnt, &want) < 0)
		return -EINVAL;
	if (!want)
		return 0; /* as TCP: a zero-length read returns 0 at once */
	for (;;) {
		if (c->rx.broken || c->tx.broken)
			return -ECONNRESET;
		/* Bytes already here are delivered before a reset is reported. */
		size_t n = shm_ring_read(&c->rx, iov, iovcnt, flags & MSG_PEEK);
		if (n) {
			if (!(flags & MSG_PEEK))
				wake_writer(c);
			return (ssize_t)n;
		}
		if (reset(c))
			return -ECONNRESET;
		if (shm_ring_flags(c->rx.r) & SHM_RING_EOF)
			return 0;
		if (c->nonblock || (flags & MSG_DONTWAIT))
			return -EAGAIN;
		int rc = wait_readable(c);
		if (rc < 0)
			return rc;
	}
}

void shm_conn_shutdown_write(struct shm_conn *c)
{
	shm_ring_set_flag(c->tx.r, SHM_RING_EOF);
	wake_reader(c);
}

void shm_conn_close(struct shm_conn *c)
{
	if (shm_ring_readable(&c->rx)) {
		/* Unread data: the peer sees a reset, as with TCP. */
		shm_ring_set_flag(c->rx.r, SHM_RING_RESET);
		shm_ring_set_flag(c->tx.r, SHM_RING_RESET);
	}
	shm_ring_set_flag(c->rx.r, SHM_RING_GONE);
	shm_conn_shutdown_write(c);
	/* A writer waiting for room must hear that nobody will read. */
	shm_ring_set_flag(c->rx.r, SHM_RING_FULL_WAIT);
	wake_writer(c);
	doorbell(c);
	shm_conn_detach(c);
}

short shm_conn_poll(struct shm_conn *c)
{
	short ev = 0;
	uint32_t in = shm_ring_flags(c->rx.r), out = shm_ring_flags(c->tx.r);
	size_t readable = shm_ring_readable(&c->rx), writable = shm_ring_writable(&c->tx);
	if (((in | out) & SHM_RING_RESET) || c->rx.broken || c->tx.broken)
		return POLLIN | POLLOUT | POLLERR | POLLHUP;
	if (readable || (in & SHM_RING_EOF))
		ev |= POLLIN;
	/* A closed peer still looks writable: the send reports the error. */
	if (writable || (out & SHM_RING_GONE))
		ev |= POLLOUT;
	/* Hang-up only when both directions are shut, ours included (TCP). */
	if ((in & SHM_RING_EOF) && (out & SHM_RING_EOF))
		ev |= POLLHUP;
	return ev;
}
