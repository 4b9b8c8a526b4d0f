/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Socket objects and their pool. Allocation and release are lock-free
 * (a tagged free list) so that close() stays async-signal-safe; the pool's
 * memory is one lazily touched mapping, never unmapped.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mux.h"
#include "sock.h"

static struct {
	struct accel_sock *objs;
	uint32_t cap;
	uint32_t bump;      /* objects handed out from fresh memory */
	uint64_t free_head; /* (tag << 32) | (index + 1) */
	unsigned int in_use;
} pool;

static int pool_init(void)
{
	if (__atomic_load_n(&pool.cap, __ATOMIC_ACQUIRE))
		return 0;
	if (!fd_table_size() && fd_table_init() < 0)
		return -ENOMEM;
	uint32_t cap = fd_table_size();
	size_t bytes = (size_t)cap * sizeof(struct accel_sock);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	struct accel_sock *expected = NULL;
	if (!__atomic_compare_exchange_n(&pool.objs, &expected, (struct accel_sock *)mem, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		munmap(mem, bytes);
		while (!__atomic_load_n(&pool.cap, __ATOMIC_ACQUIRE))
			sched_yield();
		return 0;
	}
	__atomic_store_n(&pool.cap, cap, __ATOMIC_RELEASE);
	return 0;
}

static struct accel_sock *pool_pop_free(void)
{
	uint64_t head = __atomic_load_n(&pool.free_head, __ATOMIC_ACQUIRE);
	while ((uint32_t)head) {
		struct accel_sock *o = &pool.objs[(uint32_t)head - 1];
		uint32_t next = __atomic_load_n(&o->next_free, __ATOMIC_RELAXED);
		uint64_t new_head = (((head >> 32) + 1) << 32) | next;
		if (__atomic_compare_exchange_n(&pool.free_head, &head, new_head, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return o;
	}
	return NULL;
}

static struct accel_sock *pool_get(void)
{
	if (pool_init() < 0)
		return NULL;
	struct accel_sock *o = pool_pop_free();
	if (!o) {
		uint32_t i = __atomic_fetch_add(&pool.bump, 1, __ATOMIC_RELAXED);
		if (i >= pool.cap) {
			__atomic_fetch_sub(&pool.bump, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		o = &pool.objs[i];
	}
	__atomic_fetch_add(&pool.in_use, 1, __ATOMIC_RELAXED);
	return o;
}

static void pool_put(struct accel_sock *o)
{
	uint32_t idx1 = (uint32_t)(o - pool.objs) + 1;
	uint64_t head = __atomic_load_n(&pool.free_head, __ATOMIC_ACQUIRE);
	uint64_t new_head;
	do {
		__atomic_store_n(&o->next_free, (uint32_t)head, __ATOMIC_RELAXED);
		new_head = (((head >> 32) + 1) << 32) | idx1;
	} while (!__atomic_compare_exchange_n(&pool.free_head, &head, new_head, 0,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_fetch_sub(&pool.in_use, 1, __ATOMIC_RELAXED);
}

static void sock_put(struct accel_sock *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	stats_sock_close(s);
	if (s->ops) {
		if (s->ops->release)
			s->ops->release(s);
		mux_count(-1);
	}
	__atomic_store_n(&s->ops, NULL, __ATOMIC_RELEASE);
	pool_put(s);
}

/*
 * Drop the reference of an entry taken out of the table. An entry marked
 * closing still belongs to its close(), which drops it in sock_close_end.
 */
static void put_replaced(struct accel_sock *old)
{
	if (!fd_table_closing(old))
		sock_put(old);
}

int sock_is_tracked_kind(int domain, int type, int protocol)
{
	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (domain != AF_INET && domain != AF_INET6)
		return 0;
	/* TCP and UDP only: not SCTP, MPTCP, UDP-Lite or ICMP sockets. */
	return (type == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
	       (type == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP));
}

void sock_attached(struct accel_sock *s)
{
	if (s->type)
		stats_sock_offloaded(s);
	mux_count(1);
}

struct accel_sock *sock_register(int fd, int domain, int type, int protocol)
{
	int saved = errno;
	struct accel_sock *s = NULL;
	if (!fd_table_covers(fd) && (fd_table_size() || fd_table_init() < 0 || !fd_table_covers(fd)))
		goto out;
	/* A stale entry means the fd was closed behind our back (close_range in a
	 * library we do not see, say): drop it first, its object may be the one
	 * this socket needs. */
	put_replaced(fd_table_exchange(fd, NULL));
	s = pool_get();
	if (!s)
		goto out; /* out of objects: the kernel carries it, untracked */
	s->ops = NULL;
	s->engine = NULL;
	s->domain = domain;
	s->type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	s->protocol = protocol;
	s->decided = 0;
	s->role = 0;
	s->decision = 0;
	s->no_accel = -1;
	s->connect_pending = 0;
	s->rule = NULL;
	s->reason = ACCEL_REASON_undecided;
	s->ep = NULL;
	s->ep_hint = 0;
	memset(s->ep_regs, 0, sizeof(s->ep_regs));
	stats_sock_open(s, fd);
	__atomic_add_fetch(&s->gen, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->refs, 1, __ATOMIC_RELEASE);
	put_replaced(fd_table_exchange(fd, s));
out:
	errno = saved;
	return s;
}

int sock_fds(const struct accel_sock *s, int *fds, int max)
{
	int n = 0;
	unsigned int size = fd_table_size();
	for (unsigned int fd = 0; fd < size && n < max; fd++)
		if (fd_table_get((int)fd) == s)
			fds[n++] = (int)fd;
	return n;
}

void sock_fd_leaving(int fd)
{
	struct accel_sock *s = fd_table_get(fd);
	int fds[2];
	if (!s || !s->ops || !s->ops->fd_moved || __atomic_load_n(&s->refs, __ATOMIC_ACQUIRE) < 2)
		return;
	/* the first two fds of s: fd itself is at most one of them */
	int n = sock_fds(s, fds, 2);
	for (int i = 0; i < n; i++)
		if (fds[i] != fd) {
			s->ops->fd_moved(s, fd, fds[i]);
			return;
		}
}

void sock_forget(int fd)
{
	put_replaced(fd_table_exchange(fd, NULL));
}

struct accel_sock *sock_close_begin(int fd)
{
	if (!fd_table_covers(fd))
		return NULL;
	struct accel_sock *v = __atomic_load_n(&fd_table.slots[fd], __ATOMIC_ACQUIRE);
	while (v && !fd_table_closing(v)) {
		struct accel_sock *marked = (struct accel_sock *)((uintptr_t)v | FD_TABLE_CLOSING);
		if (__atomic_compare_exchange_n(&fd_table.slots[fd], &v, marked, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return v;
	}
	return NULL; /* nothing known, or another thread is closing it */
}

void sock_close_end(int fd, struct accel_sock *s)
{
	struct accel_sock *marked = (struct accel_sock *)((uintptr_t)s | FD_TABLE_CLOSING);
	/* Still our mark: clear it. Otherwise a dup or socket() that got this
	 * number after the kernel freed it has put its own entry there. */
	__atomic_compare_exchange_n(&fd_table.slots[fd], &marked, NULL, 0, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	sock_put(s);
}

void sock_forget_range(unsigned int first, unsigned int last)
{
	unsigned int size = fd_table_size();
	if (last >= size)
		last = size ? size - 1 : 0;
	for (unsigned int fd = first; size && fd <= last; fd++)
		if (fd_table.slots[fd]) {
			sock_fd_leaving((int)fd);
			sock_forget((int)fd);
		}
}

struct accel_sock *sock_ref(int fd)
{
	/* Bounded: the slot changes only while other threads close or dup fd. */
	for (int tries = 0; tries < 64; tries++) {
		struct accel_sock *s = fd_table_get(fd);
		if (!s)
			return NULL;
		int refs = __atomic_load_n(&s->refs, __ATOMIC_ACQUIRE);
		while (refs > 0 && !__atomic_compare_exchange_n(&s->refs, &refs, refs + 1, 0,
								 __ATOMIC_ACQ_REL,
								 __ATOMIC_ACQUIRE))
			;
		if (refs <= 0)
			continue; /* being released: look again */
		if (fd_table_get(fd) == s)
			return s;
		sock_put(s); /* the fd moved on to another object meanwhile */
	}
	return NULL;
}

void sock_unref(struct accel_sock *s)
{
	sock_put(s);
}

void sock_install(int newfd, struct accel_sock *s)
{
	if (!fd_table_covers(newfd)) {
		sock_put(s);
		return;
	}
	put_replaced(fd_table_exchange(newfd, s));
}

void sock_dup(int oldfd, int newfd)
{
	sock_install(newfd, sock_ref(oldfd));
}

unsigned int sock_in_use(void)
{
	return __atomic_load_n(&pool.in_use, __ATOMIC_RELAXED);
}

void sock_pool_reset(void)
{
	if (pool.objs)
		munmap(pool.objs, (size_t)pool.cap * sizeof(struct accel_sock));
	memset(&pool, 0, sizeof(pool));
}
