/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll and select over kernel and offloaded fds (see mux.h). With data
 * waiting on an offloaded socket the answer costs no system call (none at
 * all when every fd is offloaded); sleeping costs one ppoll.
 */
#include "config.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "interpose.h"
#include "mux.h"

int mux_offloaded;

void mux_count(int delta)
{
	__atomic_fetch_add(&mux_offloaded, delta, __ATOMIC_RELAXED);
}

static int sleep_lock;
static int sleepers;

static void sleep_lock_take(void)
{
	while (__atomic_exchange_n(&sleep_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

void mux_after_fork_child(void)
{
	/* Only the forking thread lives on: nobody holds the lock or sleeps. */
	__atomic_store_n(&sleep_lock, 0, __ATOMIC_RELEASE);
	sleepers = 0;
}

void mux_sleep_begin(void)
{
	sleep_lock_take();
	sleepers++;
	__atomic_store_n(&sleep_lock, 0, __ATOMIC_RELEASE);
	/* Counted before the sets are read for arming: a thread adding a
	 * member after this sees us (mux_sleeping), or we see the member. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int mux_sleeping(void)
{
	return __atomic_load_n(&sleepers, __ATOMIC_SEQ_CST);
}

void mux_sleep_end(void (*disarm)(void *ctx), void *ctx)
{
	sleep_lock_take();
	/* Under the lock: nobody can arm between our count and our clearing. */
	if (--sleepers == 0)
		disarm(ctx);
	__atomic_store_n(&sleep_lock, 0, __ATOMIC_RELEASE);
}

long long mux_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long mux_deadline(const struct timespec *tmo)
{
	if (!tmo)
		return -1;
	if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || (!tmo->tv_sec && !tmo->tv_nsec))
		return 0;
	if (tmo->tv_sec > 100000000L)
		return -1; /* about three years: as good as forever */
	return mux_now_ns() + tmo->tv_sec * 1000000000LL + tmo->tv_nsec;
}

long long mux_deadline_ms(int ms)
{
	return ms < 0 ? -1 : ms == 0 ? 0 : mux_now_ns() + ms * 1000000LL;
}

static void left_of(long long deadline, struct timespec *ts)
{
	long long left = deadline - mux_now_ns();
	if (left < 0)
		left = 0;
	ts->tv_sec = (time_t)(left / 1000000000LL);
	ts->tv_nsec = (long)(left % 1000000000LL);
}

static struct accel_sock *offloaded_at(int fd)
{
	struct accel_sock *s = fd >= 0 ? fd_table_get(fd) : NULL;
	return sock_offloaded(s) ? s : NULL;
}

/* What poll reports for an offloaded entry. */
static short revents_of(struct accel_sock *s, int fd, short events)
{
	unsigned int rev = s->ops->poll(s, fd) & ((unsigned int)(unsigned short)events | POLLERR | POLLHUP);
	s->ctr[rev ? ACCEL_STAT_poll_hit : ACCEL_STAT_poll_miss]++;
	return (short)rev;
}

/*
 * One look at every entry without sleeping: offloaded entries from their
 * engine, kernel entries with one poll(0) on k (a copy where offloaded
 * entries are -1), every `os_every` calls. Returns the count ready.
 */
static int look(struct pollfd *fds, nfds_t n, struct pollfd *k, int n_kernel, int ask_kernel)
{
	int ready = 0;
	if (n_kernel && ask_kernel) {
		int rc = libc.poll(k, n, 0);
		if (rc < 0)
			return -errno;
	}
	for (nfds_t i = 0; i < n; i++) {
		struct accel_sock *s = offloaded_at(fds[i].fd);
		if (s)
			fds[i].revents = revents_of(s, fds[i].fd, fds[i].events);
		else if (n_kernel && ask_kernel)
			fds[i].revents = k[i].revents;
		else
			fds[i].revents = 0;
		ready += fds[i].revents != 0;
	}
	return ready;
}

struct yield_ctx {
	struct pollfd *fds;
	nfds_t n;
	struct pollfd *k;
	int n_kernel;
};

static int yield_look(void *ctx, int with_kernel)
{
	struct yield_ctx *y = ctx;
	return look(y->fds, y->n, y->k, y->n_kernel, with_kernel);
}

/* Arm every offloaded entry; 1 if one is ready already. */
static int arm_all(struct pollfd *fds, nfds_t n)
{
	int ready = 0;
	for (nfds_t i = 0; i < n; i++) {
		struct accel_sock *s = offloaded_at(fds[i].fd);
		if (s && s->ops->arm(s, (unsigned int)(unsigned short)fds[i].events &
						(POLLIN | POLLOUT | POLLRDHUP | POLLPRI)))
			ready = 1;
	}
	return ready;
}

struct poll_set {
	struct pollfd *fds;
	nfds_t n;
};

static void disarm_set(void *ctx)
{
	struct poll_set *ps = ctx;
	for (nfds_t i = 0; i < ps->n; i++) {
		struct accel_sock *s = offloaded_at(ps->fds[i].fd);
		if (s && s->ops->disarm)
			s->ops->disarm(s);
	}
}

/* The kernel's view while sleeping: kernel entries as they are, offloaded
 * ones replaced by their wait fds (appended), POLLIN on each. */
static nfds_t build_sleep_set(struct pollfd *fds, nfds_t n, struct pollfd *k, nfds_t cap,
			      unsigned char *gone)
{
	nfds_t m = n;
	for (nfds_t i = 0; i < n; i++) {
		struct accel_sock *s = offloaded_at(fds[i].fd);
		k[i].fd = fds[i].fd;
		k[i].events = fds[i].events;
		k[i].revents = 0;
		if (!s)
			continue;
		int w[ENGINE_WAIT_FDS];
		int nw = s->ops->wait_fds(s, fds[i].fd, w);
		k[i].fd = gone[i] ? -1 : w[0];
		k[i].events = POLLIN;
		for (int j = 1; j < nw && m < cap; j++, m++) {
			k[m].fd = gone[i] ? -1 : w[j];
			k[m].events = POLLIN;
			k[m].revents = 0;
		}
	}
	return m;
}

/* After sleeping: let the engines consume their doorbells. */
static void after_sleep(struct pollfd *fds, nfds_t n, struct pollfd *k, unsigned char *gone)
{
	for (nfds_t i = 0; i < n; i++) {
		struct accel_sock *s = offloaded_at(fds[i].fd);
		if (s && k[i].revents && s->ops->woken(s))
			gone[i] = 1; /* its doorbell fd stays readable: stop sleeping on it */
	}
}

static int count_offloaded(const struct pollfd *fds, nfds_t n, nfds_t *extra)
{
	int found = 0;
	*extra = 0;
	for (nfds_t i = 0; i < n; i++) {
		struct accel_sock *s = offloaded_at(fds[i].fd);
		if (s) {
			int w[ENGINE_WAIT_FDS];
			found++;
			*extra += (nfds_t)(s->ops->wait_fds(s, fds[i].fd, w) - 1);
		}
	}
	return found;
}

int mux_poll(struct pollfd *fds, nfds_t n, long long deadline, const sigset_t *mask,
	     int *handled)
{
	nfds_t extra;
	*handled = 0;
	if (!fds || !n || !mux_active() || n > (1u << 20))
		return 0;
	int n_off = count_offloaded(fds, n, &extra);
	if (!n_off)
		return 0;
	*handled = 1;
	int n_kernel = (int)n - n_off;
	struct pollfd stack_k[64];
	unsigned char stack_gone[64];
	nfds_t cap = n + extra;
	struct pollfd *k = cap <= 64 ? stack_k : malloc(cap * sizeof(*k));
	unsigned char *gone = n <= 64 ? stack_gone : calloc(n, 1);
	if (!k || !gone) {
		if (k != stack_k)
			free(k);
		if (gone != stack_gone)
			free(gone);
		return -ENOMEM;
	}
	if (n <= 64)
		memset(gone, 0, n);
	for (nfds_t i = 0; i < n; i++) {
		k[i] = fds[i];
		if (offloaded_at(fds[i].fd))
			k[i].fd = -1;
	}
	long long spin_until = accel_params.select_poll ? mux_now_ns() + accel_params.select_poll * 1000LL : 0;
	int rc;
	for (unsigned int round = 0;; round++) {
		rc = look(fds, n, k, n_kernel, 1);
		if (rc != 0 || deadline == 0)
			break;
		if (spin_until) {
			/* Spin on the rings; the kernel fds every 16th look. */
			for (unsigned int i = 1; (rc = look(fds, n, k, n_kernel, !(i & 15))) == 0; i++)
				if (!(i & 63) && (mux_now_ns() >= spin_until ||
						  (deadline > 0 && mux_now_ns() >= deadline)))
					break;
			spin_until = 0;
			if (rc)
				break;
		}
		struct yield_ctx yc = { fds, n, k, n_kernel };
		if (round == 0 && (rc = mux_yield_wait(deadline, yield_look, &yc, 0)) != 0)
			break;
		struct poll_set ps = { fds, n };
		mux_sleep_begin();
		if (arm_all(fds, n)) {
			mux_sleep_end(disarm_set, &ps);
			continue;
		}
		nfds_t m = build_sleep_set(fds, n, k, cap, gone);
		struct timespec ts;
		if (deadline >= 0)
			left_of(deadline, &ts);
		int slept = libc.ppoll(k, m, deadline < 0 ? NULL : &ts, mask);
		if (slept < 0) {
			rc = -errno;
			mux_sleep_end(disarm_set, &ps);
			break;
		}
		after_sleep(fds, n, k, gone);
		mux_sleep_end(disarm_set, &ps);
		for (nfds_t i = 0; i < n; i++) { /* back to the looking copy */
			k[i] = fds[i];
			if (offloaded_at(fds[i].fd))
				k[i].fd = -1;
		}
		if (slept == 0) {
			rc = look(fds, n, k, n_kernel, 1);
			break; /* timed out */
		}
	}
	if (k != stack_k)
		free(k);
	if (gone != stack_gone)
		free(gone);
	return rc;
}

/* fd_set bits by hand: glibc's macros stop (or abort, fortified) at
 * FD_SETSIZE, and a program may pass bigger sets. */
static int bit_isset(const fd_set *set, int fd)
{
	const unsigned long *w = (const unsigned long *)(const void *)set;
	return (w[fd / (8 * sizeof(long))] >> (fd % (8 * sizeof(long)))) & 1;
}

static void bit_set(fd_set *set, int fd, int on)
{
	unsigned long *w = (unsigned long *)(void *)set;
	unsigned long m = 1UL << (fd % (8 * sizeof(long)));
	if (on)
		w[fd / (8 * sizeof(long))] |= m;
	else
		w[fd / (8 * sizeof(long))] &= ~m;
}

int mux_select(int nfds, fd_set *r, fd_set *w, fd_set *e, long long deadline,
	       const sigset_t *mask, int *handled, struct timespec *remaining)
{
	*handled = 0;
	/* nfds past FD_SETSIZE: the program allocated bigger sets (glibc's
	 * macros do not check); they are read the same way. */
	if (nfds <= 0 || nfds > (1 << 20) || !mux_active())
		return 0;
	int any = 0;
	for (int fd = 0; fd < nfds && !any; fd++)
		if (((r && bit_isset(r, fd)) || (w && bit_isset(w, fd)) || (e && bit_isset(e, fd))) &&
		    offloaded_at(fd))
			any = 1;
	if (!any)
		return 0;
	struct pollfd stack_p[256];
	struct pollfd *p = stack_p;
	int n_set = 0;
	for (int fd = 0; fd < nfds; fd++)
		n_set += (r && bit_isset(r, fd)) || (w && bit_isset(w, fd)) || (e && bit_isset(e, fd));
	if (n_set > 256 && !(p = malloc((size_t)n_set * sizeof(*p)))) {
		*handled = 1;
		return -ENOMEM;
	}
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && bit_isset(r, fd) ? POLLIN : 0) |
				   (w && bit_isset(w, fd) ? POLLOUT : 0) |
				   (e && bit_isset(e, fd) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	int rc = mux_poll(p, n, deadline, mask, handled);
	if (remaining && deadline > 0)
		left_of(deadline, remaining);
	for (nfds_t i = 0; rc >= 0 && i < n; i++)
		if (p[i].revents & POLLNVAL)
			rc = -EBADF;
	if (rc < 0) {
		if (p != stack_p)
			free(p);
		return rc;
	}
	for (int fd = 0; fd < nfds; fd++) { /* FD_ZERO stops at FD_SETSIZE */
		if (r)
			bit_set(r, fd, 0);
		if (w)
			bit_set(w, fd, 0);
		if (e)
			bit_set(e, fd, 0);
	}
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		short ev = p[i].revents;
		if (r && (p[i].events & POLLIN) && (ev & (POLLIN | POLLHUP | POLLERR))) {
			bit_set(r, p[i].fd, 1);
			count++;
		}
		if (w && (p[i].events & POLLOUT) && (ev & (POLLOUT | POLLERR))) {
			bit_set(w, p[i].fd, 1);
			count++;
		}
		if (e && (p[i].events & POLLPRI) && (ev & POLLPRI)) {
			bit_set(e, p[i].fd, 1);
			count++;
		}
	}
	if (p != stack_p)
		free(p);
	return count;
}
