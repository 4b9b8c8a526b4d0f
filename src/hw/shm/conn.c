/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Stream semantics over a pair of rings. Waking is Dekker-style: the side
 * about to sleep raises a flag and re-checks; the side that made progress
 * publishes its counter, fences, and reads the flag. Either the sleeper
 * sees the progress or the other side sees the flag: no wake-up is lost.
 * Both a reader waiting for data and a writer waiting for room sleep on the
 * unix socket, woken by a doorbell byte; the socket's end of stream tells
 * that every process of the peer has closed it or died.
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
#include "sys.h"

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
	    shm_sys_fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
		map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		int err = errno;
		shm_sys_close(fd);
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
	int seals = shm_sys_fcntl(memfd, F_GET_SEALS, 0);
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
	c->client = side == 0;
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
	while (shm_sys_send(c->fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

/* After our producer counter moved: wake a peer that sleeps for data. */
static void wake_reader(struct shm_conn *c)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct shm_ring *r = c->tx.r;
	if (shm_ring_flags(r) & (SHM_RING_SLEEPING | SHM_RING_POLL_IN)) {
		shm_ring_clear_flag(r, SHM_RING_SLEEPING | SHM_RING_POLL_IN);
		doorbell(c);
	}
}

/* After our consumer counter moved: wake a peer that waits for room. */
static void wake_writer(struct shm_conn *c)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct shm_ring *r = c->rx.r;
	if (shm_ring_flags(r) & (SHM_RING_FULL_WAIT | SHM_RING_POLL_OUT)) {
		shm_ring_clear_flag(r, SHM_RING_FULL_WAIT | SHM_RING_POLL_OUT);
		doorbell(c);
	}
}

void shm_conn_drain(struct shm_conn *c)
{
	char buf[64];
	for (;;) {
		ssize_t n = shm_sys_recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == (ssize_t)sizeof(buf))
			continue;
		/* End of stream or a reset on the socket: every process holding
		 * the peer's end has closed it (or died), unless it is our own
		 * SHUT_RD that ends the socket's reading. */
		if ((n == 0 && !c->rd_shut) || (n < 0 && errno != EAGAIN && errno != EINTR))
			c->peer_gone = 1;
		return;
	}
}

/* The peer's processes are all gone: as TCP after its FIN, or its RST when
 * it left bytes of ours unread. */
static int gone_reset(struct shm_conn *c)
{
	/* A client the listener never accepted is reset when it goes, too. */
	uint32_t in = shm_ring_flags(c->rx.r);
	return c->peer_gone && !(in & SHM_RING_EOF) &&
	       (shm_ring_unread(&c->tx) || (c->client && !(in & SHM_RING_ACCEPTED)));
}

/*
 * After our SHUT_RD the socket reads as ended for good: a sleeper on it
 * would return at once. Sleep in short slices instead (the peer's
 * doorbells can no longer reach us through it anyway).
 */
static int sleep_slice(int timeout_ms)
{
	int ms = timeout_ms < 0 || timeout_ms > 10 ? 10 : timeout_ms;
	struct timespec ts = { 0, ms * 1000000L };
	if (syscall(SYS_nanosleep, &ts, NULL) < 0 && errno == EINTR && !shm_sys_restarts())
		return -EINTR;
	return 0;
}

/*
 * Sleep until the peer rings (a doorbell on the socket, or its end
 * closing), a signal, or the timeout (ms, -1: none). One thread of the
 * process, the leader, sleeps on the socket; without a timeout in a
 * blocking recv, so SA_RESTART and SO_RCVTIMEO act as on a socket read.
 * Other threads waiting on the same connection (a reader and a writer, say)
 * sleep on a futex that the leader bumps each time it wakes: a doorbell
 * the leader drains wakes them all, and each looks at the rings again.
 * 0, -EINTR, -EAGAIN (timed out).
 */
static int conn_sleep(struct shm_conn *c, int timeout_ms)
{
	int rc = 0;
	/* Shared by processes (after a fork): another process's leader may
	 * drain the doorbell we wait for. Sleep in slices and look again. */
	int sliced = c->shared && (timeout_ms < 0 || timeout_ms > 10);
	if (sliced)
		timeout_ms = 10;
	__atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST);
	uint32_t seq = __atomic_load_n(&c->wake_seq, __ATOMIC_ACQUIRE);
	if (c->rd_shut) {
		rc = sleep_slice(timeout_ms);
	} else if (__atomic_exchange_n(&c->leader, 1, __ATOMIC_ACQ_REL) == 0) {
		if (timeout_ms < 0) {
			char b;
			if (shm_sys_recv(c->fd, &b, 1, MSG_PEEK) < 0 && errno != ECONNRESET)
				rc = -errno;
		} else {
			struct pollfd p = { .fd = c->fd, .events = POLLIN };
			int n = shm_sys_poll(&p, 1, timeout_ms);
			rc = n < 0 ? -errno : n == 0 ? (sliced ? 0 : -EAGAIN) : 0;
		}
		if (rc == 0)
			shm_conn_drain(c);
		__atomic_store_n(&c->leader, 0, __ATOMIC_RELEASE);
		__atomic_add_fetch(&c->wake_seq, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &c->wake_seq, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
	} else {
		struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
		long r = syscall(SYS_futex, &c->wake_seq, FUTEX_WAIT_PRIVATE, seq,
				 timeout_ms < 0 ? NULL : &ts, NULL, 0);
		if (r < 0 && errno == ETIMEDOUT)
			rc = sliced ? 0 : -EAGAIN;
		else if (r < 0 && errno == EINTR && !shm_sys_restarts())
			rc = -EINTR;
	}
	__atomic_fetch_sub(&c->waiters, 1, __ATOMIC_SEQ_CST);
	return rc == -EWOULDBLOCK ? -EAGAIN : rc;
}

int shm_sys_restarts(void)
{
	for (int sig = 1; sig < 65; sig++) {
		/* Faults are raised by an instruction, never while a system call
		 * waits: their handlers (a sanitizer's, say) do not count. */
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE || sig == SIGILL ||
		    sig == SIGTRAP || sig == SIGSYS)
			continue;
		struct {
			void *handler;
			unsigned long flags;
			void *restorer;
			unsigned long mask;
		} act;
		if (syscall(SYS_rt_sigaction, sig, NULL, &act, sizeof(act.mask)) < 0)
			continue;
		if (act.handler != (void *)SIG_DFL && act.handler != (void *)SIG_IGN &&
		    !(act.flags & SA_RESTART))
			return 0;
	}
	return 1;
}

/* Reset by the peer (closed with our bytes unread, SO_LINGER 0, killed
 * with them unread) or by a peer that broke the rings. */
static int reset(struct shm_conn *c)
{
	int r = ((shm_ring_flags(c->rx.r) | shm_ring_flags(c->tx.r)) & SHM_RING_RESET) ||
		c->rx.broken || c->tx.broken || gone_reset(c);
	if (r && !c->reset_seen) {
		/* As the kernel's sk_err: reported once, by a receive, a send or
		 * SO_ERROR; afterwards reads end and sends fail with EPIPE. */
		c->reset_seen = 1;
		c->err_pending = ECONNRESET;
	}
	return r;
}

int shm_conn_take_error(struct shm_conn *c)
{
	reset(c);
	int err = c->err_pending;
	c->err_pending = 0;
	return err;
}

static int rx_ended(const struct shm_conn *c)
{
	return (shm_ring_flags(c->rx.r) & SHM_RING_EOF) || c->peer_gone;
}

unsigned int shm_conn_arm(struct shm_conn *c, unsigned int events)
{
	if (events & (POLLIN | POLLRDHUP))
		shm_ring_set_flag(c->rx.r, SHM_RING_POLL_IN);
	if (events & POLLOUT)
		shm_ring_set_flag(c->tx.r, SHM_RING_POLL_OUT);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* flag before re-check: Dekker */
	return shm_conn_poll(c) & (events | POLLERR | POLLHUP);
}

void shm_conn_disarm(struct shm_conn *c)
{
	/* A write only where the flag is up: the line stays shared otherwise. */
	if (shm_ring_flags(c->rx.r) & SHM_RING_POLL_IN)
		shm_ring_clear_flag(c->rx.r, SHM_RING_POLL_IN);
	if (shm_ring_flags(c->tx.r) & SHM_RING_POLL_OUT)
		shm_ring_clear_flag(c->tx.r, SHM_RING_POLL_OUT);
}

/* Sleep until the peer may have written, or an error. 0, -EINTR, -EAGAIN. */
static int wait_readable(struct shm_conn *c)
{
	struct shm_ring *r = c->rx.r;
	shm_ring_set_flag(r, SHM_RING_SLEEPING);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* flag before re-check: Dekker */
	int rc = 0;
	if (!shm_ring_has_data(&c->rx) && !(shm_ring_flags(r) & (SHM_RING_EOF | SHM_RING_RESET)) &&
	    !c->peer_gone)
		rc = conn_sleep(c, -1);
	return rc;
}

/* Sleep until the peer may have made room. 0, -EINTR, -EAGAIN. */
static int wait_writable(struct shm_conn *c, long deadline_ms)
{
	struct shm_ring *r = c->tx.r;
	shm_ring_set_flag(r, SHM_RING_FULL_WAIT);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (shm_ring_writable(&c->tx) || (shm_ring_flags(r) & (SHM_RING_GONE | SHM_RING_RESET)) ||
	    c->peer_gone)
		return 0;
	int timeout = -1;
	if (deadline_ms >= 0) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		long left = deadline_ms - (ts.tv_sec * 1000L + ts.tv_nsec / 1000000L);
		if (left <= 0)
			return -EAGAIN;
		timeout = (int)left;
	}
	int rc = conn_sleep(c, timeout);
	/* A blocking recv on the socket ends at SO_RCVTIMEO, which is not ours. */
	return rc == -EAGAIN && deadline_ms < 0 ? 0 : rc;
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

/*
 * One sender and one receiver at a time per end, as the kernel's socket
 * lock gives: the rings have a single producer and a single consumer, and
 * a blocking send's bytes must stay together. Uncontended, a lock is one
 * atomic exchange; a waiter sleeps on a futex (0 free, 1 held, 2 waited
 * for).
 */
static void lock(int *l, int op_private)
{
	int wait = op_private ? FUTEX_WAIT_PRIVATE : FUTEX_WAIT;
	int v = 0;
	if (__atomic_compare_exchange_n(l, &v, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (v != 2)
		v = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	while (v != 0) {
		syscall(SYS_futex, l, wait, 2, NULL, NULL, 0);
		v = __atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE);
	}
}

static void unlock(int *l, int op_private)
{
	if (__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, l, op_private ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE, 1, NULL, NULL, 0);
}

/*
 * The lock of one direction: this process's own, or, once a fork has made
 * the connection shared, the one in the ring's header, which every process
 * holding this end sees (two processes writing one connection stay one
 * writer at a time, as on the kernel).
 */
static int *direction_lock(struct shm_conn *c, int tx, int *private_op)
{
	*private_op = !c->shared;
	if (!c->shared)
		return tx ? &c->tx_lock : &c->rx_lock;
	return (int *)(tx ? &c->tx.r->prod_lock : &c->rx.r->cons_lock);
}

static long deadline_after(int ms)
{
	if (ms <= 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L + ms;
}

/* As a blocking TCP send: all of it, unless an error, a signal or the send
 * timeout comes after some bytes went, then the count so far. */
static ssize_t send_locked(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want, done = 0;
	struct iovec rest[64];
	if (iov_sum(iov, iovcnt, &want) < 0)
		return -EINVAL;
	int block = !c->nonblock && !(flags & MSG_DONTWAIT);
	long deadline = -1;
	for (;;) {
		uint32_t f = shm_ring_flags(c->tx.r);
		int err = 0;
		if (reset(c)) {
			err = c->err_pending ? -c->err_pending : -EPIPE;
			if (!done)
				c->err_pending = 0;
		} else if ((f & SHM_RING_EOF) || c->rst) {
			err = -EPIPE;
		} else if ((f & SHM_RING_GONE) || c->peer_gone) {
			/* As TCP: the first send after the peer closed is accepted
			 * (its answer is a reset, pending until read); the next fails. */
			c->rst = 1;
			c->err_pending = ECONNRESET;
			return done ? (ssize_t)done : (ssize_t)want;
		}
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
		if (deadline < 0 && c->sndtimeo_ms > 0)
			deadline = deadline_after(c->sndtimeo_ms);
		int rc = wait_writable(c, deadline);
		if (rc < 0)
			return done ? (ssize_t)done : rc;
	}
}

static ssize_t recv_locked(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	size_t want, done = 0;
	struct iovec rest[64];
	if (iov_sum(iov, iovcnt, &want) < 0)
		return -EINVAL;
	int waitall = (flags & (MSG_WAITALL | MSG_PEEK)) == MSG_WAITALL;
	int nonblock = c->nonblock || (flags & MSG_DONTWAIT);
	for (;;) {
		/* Bytes already here are delivered before a reset is reported. */
		size_t n;
		if (!want)
			n = 0;
		else if (flags & MSG_TRUNC) /* TCP: drop them, copy nothing */
			n = shm_ring_skip(&c->rx, want - done, flags & MSG_PEEK);
		else
			n = shm_ring_read(&c->rx, done ? rest : iov,
					  done ? iov_advance(iov, iovcnt, done, rest) : iovcnt,
					  flags & MSG_PEEK);
		if (n && !(flags & MSG_PEEK))
			wake_writer(c);
		done += n;
		if (done && (!waitall || done == want))
			return (ssize_t)done;
		if (n)
			continue;
		if (reset(c)) {
			if (done || !c->err_pending)
				return (ssize_t)done; /* reported already: the stream has ended */
			c->err_pending = 0;
			return -ECONNRESET;
		}
		if (rx_ended(c) || c->rd_shut)
			return (ssize_t)done;
		/* As TCP: a zero-length read returns 0, or EAGAIN if it would wait. */
		if (!want)
			return nonblock ? -EAGAIN : 0;
		if (nonblock) {
			/* Now and then ask the kernel whether the peer is still there:
			 * a program that only polls this way must see it go. */
			if (!(++c->idle_checks & 63))
				shm_conn_drain(c);
			return done ? (ssize_t)done : -EAGAIN;
		}
		int rc = wait_readable(c);
		if (rc < 0)
			return done ? (ssize_t)done : rc;
	}
}

ssize_t shm_conn_send(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	int priv;
	int *l = direction_lock(c, 1, &priv);
	lock(l, priv);
	ssize_t n = send_locked(c, iov, iovcnt, flags);
	unlock(l, priv);
	return n;
}

ssize_t shm_conn_recv(struct shm_conn *c, const struct iovec *iov, int iovcnt, int flags)
{
	int priv;
	int *l = direction_lock(c, 0, &priv);
	lock(l, priv);
	ssize_t n = recv_locked(c, iov, iovcnt, flags);
	unlock(l, priv);
	return n;
}

void shm_conn_forked_child(struct shm_conn *c)
{
	/* Only the forking thread lives on: nobody holds a lock or sleeps. */
	c->tx_lock = c->rx_lock = 0;
	c->waiters = 0;
	c->leader = 0;
}

void shm_conn_shutdown_write(struct shm_conn *c)
{
	shm_ring_set_flag(c->tx.r, SHM_RING_EOF);
	wake_reader(c);
	doorbell(c); /* a peer in poll for POLLRDHUP alone sleeps unarmed */
}

void shm_conn_shutdown_read(struct shm_conn *c)
{
	/* As Linux TCP: reads end once the ring is empty; the peer may still
	 * send until the ring is full. The socket's own SHUT_RD wakes a thread
	 * asleep in recv or poll on it, as the kernel wakes TCP's. */
	c->rd_shut = 1;
	syscall(SYS_shutdown, c->fd, SHUT_RD);
}

void shm_conn_mark_closed(struct shm_conn *c, int abort)
{
	/* Shared: another process may still use this end, and the kernel tells
	 * the peer when the last one closes the socket. */
	if (c->shared)
		return;
	if (abort || shm_ring_readable(&c->rx)) {
		/* Unread data (or SO_LINGER 0): the peer sees a reset, as with TCP. */
		shm_ring_set_flag(c->rx.r, SHM_RING_RESET);
		shm_ring_set_flag(c->tx.r, SHM_RING_RESET);
	}
	shm_ring_set_flag(c->rx.r, SHM_RING_GONE);
	shm_ring_set_flag(c->tx.r, SHM_RING_EOF);
	/* No doorbell: the socket may be closed already. The kernel's close of
	 * it wakes the peer, which then reads these flags. */
}

void shm_conn_close(struct shm_conn *c, int abort)
{
	shm_conn_mark_closed(c, abort);
	shm_conn_detach(c);
}

unsigned int shm_conn_poll(struct shm_conn *c)
{
	unsigned int ev = 0;
	uint32_t in = shm_ring_flags(c->rx.r), out = shm_ring_flags(c->tx.r);
	unsigned int err = c->err_pending ? POLLERR : 0;
	if (reset(c))
		return POLLIN | POLLOUT | POLLHUP | POLLRDHUP | (c->err_pending ? POLLERR : 0);
	int ended = (in & SHM_RING_EOF) || c->peer_gone;
	if (shm_ring_has_data(&c->rx) || ended || c->rd_shut)
		ev |= POLLIN;
	if (ended || c->rd_shut)
		ev |= POLLRDHUP;
	/* A closed peer still looks writable: the send reports the error. */
	if (shm_ring_writable(&c->tx) || (out & (SHM_RING_GONE | SHM_RING_EOF)) || c->peer_gone)
		ev |= POLLOUT;
	/* Hang-up when both directions are shut, ours included, or after the
	 * reset our send drew from a closed peer (TCP). */
	if (((ended || c->rd_shut) && (out & SHM_RING_EOF)) || c->rst)
		ev |= POLLHUP;
	return ev | err;
}

int shm_conn_closed(struct shm_conn *c)
{
	/* TCP has left the connected states: both directions finished, or reset. */
	uint32_t in = shm_ring_flags(c->rx.r), out = shm_ring_flags(c->tx.r);
	return reset(c) || c->rst || (((in & SHM_RING_EOF) || c->peer_gone) && (out & SHM_RING_EOF));
}
