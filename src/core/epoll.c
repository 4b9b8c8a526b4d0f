/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * epoll over kernel and offloaded fds. Kernel fds stay in the program's
 * epoll set as they are. An offloaded fd is a node of that set instead; its
 * wait fds (doorbells, or a listener's two kernel fds) sit in the program's
 * set too, under a key only libaccel uses (a tag no user pointer carries,
 * and the node's index). epoll_wait scans the nodes' readiness from memory,
 * then asks the kernel; it sleeps only after arming every node, so a
 * doorbell wakes it. A member added or changed while a thread sleeps is
 * armed for it at once, as the kernel would wake that thread. Nesting depth
 * is the program's own. Control calls take a lock; epoll_wait takes none.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "interpose.h"
#include "mux.h"

struct ep_node {
	struct accel_sock *s;
	uint32_t gen;          /* s->gen when added: a reused object is not ours */
	int fd;
	uint32_t events;       /* what the program asked */
	uint64_t data;
	int active;            /* registered (DEL clears it; the node is reused) */
	int fired;             /* EPOLLONESHOT reported: silent until EPOLL_CTL_MOD */
	int gone;              /* its wait fds left the set (peer gone) */
	int kicked;            /* its doorbell watched for EPOLLOUT too, to wake a sleeper */
	int registered;        /* its wait fds are in the kernel set (see watch) */
	unsigned int last_rev; /* for edge-triggered: last readiness seen */
	unsigned long last_prog;
};

#define EP_CHUNK 256
#define EP_CHUNKS 4096 /* at most a million offloaded fds in one set */

struct mux_ep {
	uint64_t tag;          /* high 32 bits of our keys in the kernel set */
	int lock;
	int epfd;              /* the program's epoll fd (the last one it used) */
	unsigned int n_nodes;  /* nodes ever made (indexes below are valid) */
	struct ep_node *chunks[EP_CHUNKS];
};

static struct ep_node *node_at(struct mux_ep *ep, unsigned int i)
{
	return &ep->chunks[i / EP_CHUNK][i % EP_CHUNK];
}

static unsigned int ep_nodes(struct mux_ep *ep)
{
	return __atomic_load_n(&ep->n_nodes, __ATOMIC_ACQUIRE);
}

/* The key of node i in the kernel set. */
static uint64_t key_of(struct mux_ep *ep, unsigned int i)
{
	return ep->tag | i;
}

/* Our node for a key the kernel returned, or NULL: the program's own. */
static struct ep_node *node_of_key(struct mux_ep *ep, uint64_t key)
{
	if ((key & 0xffffffff00000000ULL) != ep->tag || (uint32_t)key >= ep_nodes(ep))
		return NULL;
	return node_at(ep, (uint32_t)key);
}

static void ep_lock(struct mux_ep *ep)
{
	while (__atomic_exchange_n(&ep->lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void ep_unlock(struct mux_ep *ep)
{
	__atomic_store_n(&ep->lock, 0, __ATOMIC_RELEASE);
}

static int node_valid(const struct ep_node *n)
{
	return __atomic_load_n(&n->active, __ATOMIC_ACQUIRE) && n->s->gen == n->gen &&
	       sock_offloaded(n->s);
}

static const struct engine_ops epoll_ops;

/* The epoll object of epfd, or NULL if there is none yet. */
static struct mux_ep *ep_find(int epfd)
{
	struct accel_sock *o = fd_table_get(epfd);
	return o ? o->ep : NULL;
}

static struct mux_ep *ep_new(void)
{
	struct mux_ep *ep = calloc(1, sizeof(*ep));
	if (!ep)
		return NULL;
	/* 0xacce in the top bits: no user-space pointer looks like that. */
	static uint32_t serial;
	uint32_t low = (uint32_t)(uintptr_t)ep >> 4 ^ __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
	ep->tag = (uint64_t)(0xacce0000u | (low & 0xffff)) << 32;
	return ep;
}

/* epfd took its first offloaded member: from now on it is carried too. */
static int ep_attach(int epfd, struct mux_ep *ep)
{
	struct accel_sock *o = sock_register(epfd, AF_UNSPEC, 0, 0);
	if (!o)
		return -ENOMEM;
	o->ep = ep;
	o->engine = ep;
	__atomic_store_n(&o->ops, &epoll_ops, __ATOMIC_RELEASE);
	sock_attached(o);
	return 0;
}

/* Programs like redis's event loop DEL and ADD a socket per request: the
 * socket's hint finds its node (or the one it left) without a scan. */
static struct ep_node *hinted(struct mux_ep *ep, const struct accel_sock *s)
{
	uint32_t h = __atomic_load_n(&s->ep_hint, __ATOMIC_RELAXED);
	return h && h - 1 < ep_nodes(ep) ? node_at(ep, h - 1) : NULL;
}

static struct ep_node *find_node(struct mux_ep *ep, struct accel_sock *s, int fd)
{
	struct ep_node *h = hinted(ep, s);
	if (h && node_valid(h) && h->s == s && h->fd == fd)
		return h;
	for (unsigned int i = 0; i < ep_nodes(ep); i++) {
		struct ep_node *n = node_at(ep, i);
		if (node_valid(n) && n->s == s && n->fd == fd)
			return n;
	}
	return NULL;
}

/* A free node (reused, or new), or NULL; *index gets its index. s's own
 * last node first. */
static struct ep_node *free_node(struct mux_ep *ep, const struct accel_sock *s,
				 unsigned int *index)
{
	unsigned int n = ep_nodes(ep);
	struct ep_node *h = hinted(ep, s);
	if (h && !__atomic_load_n(&h->active, __ATOMIC_ACQUIRE)) {
		*index = s->ep_hint - 1;
		return h;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct ep_node *node = node_at(ep, i);
		if (!__atomic_load_n(&node->active, __ATOMIC_ACQUIRE) || !node_valid(node)) {
			/* a socket gone without a DEL: the kernel dropped it too */
			__atomic_store_n(&node->active, 0, __ATOMIC_RELEASE);
			*index = i;
			return node;
		}
	}
	if (n / EP_CHUNK >= EP_CHUNKS)
		return NULL;
	if (!ep->chunks[n / EP_CHUNK] &&
	    !(ep->chunks[n / EP_CHUNK] = calloc(EP_CHUNK, sizeof(struct ep_node))))
		return NULL;
	*index = n;
	return node_at(ep, n);
}

/* What the kernel watches for a node: POLLIN on doorbells, or the
 * program's own events on a listener's fds (kernel readiness). */
static uint32_t kernel_events(const struct accel_sock *s, uint32_t events)
{
	if (!s->ops->kernel_readiness)
		return EPOLLIN;
	return (events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLET)) | EPOLLIN;
}

/* Put a node's wait fds in the program's set (op), under the node's key. */
static int kernel_ctl(int epfd, struct mux_ep *ep, int op, struct ep_node *n, unsigned int index,
		     uint32_t events)
{
	int w[ENGINE_WAIT_FDS];
	int nw = n->s->ops->wait_fds(n->s, n->fd, w);
	for (int i = 0; i < nw; i++) {
		struct epoll_event ev = { .events = events, .data.u64 = key_of(ep, index) };
		if (libc.epoll_ctl(epfd, op, w[i], &ev) < 0 && op != EPOLL_CTL_DEL) {
			int err = errno;
			for (int j = 0; j < i && op == EPOLL_CTL_ADD; j++)
				libc.epoll_ctl(epfd, EPOLL_CTL_DEL, w[j], &ev);
			return -err;
		}
	}
	return 0;
}

static unsigned int index_of(struct mux_ep *ep, const struct ep_node *n)
{
	for (unsigned int c = 0; c < EP_CHUNKS && ep->chunks[c]; c++)
		if (n >= ep->chunks[c] && n < ep->chunks[c] + EP_CHUNK)
			return c * EP_CHUNK + (unsigned int)(n - ep->chunks[c]);
	return 0;
}

/*
 * A ring node's doorbell goes into the kernel set only when a thread is
 * about to sleep on the set: until then its readiness is read from memory,
 * so an event loop that DELs and ADDs a socket per request (redis's ae)
 * makes no system call for it. Under the set's lock. 0, or -errno (the
 * kernel's limit on watches): then the node cannot wake a sleeper.
 */
static int watch(int epfd, struct mux_ep *ep, struct ep_node *n, unsigned int index, uint32_t ev)
{
	if (n->registered || n->gone)
		return 0;
	int rc = kernel_ctl(epfd, ep, EPOLL_CTL_ADD, n, index, ev);
	if (rc == -EEXIST) /* a fork child's registration in the shared set */
		rc = kernel_ctl(epfd, ep, EPOLL_CTL_MOD, n, index, ev);
	if (rc == 0)
		n->registered = 1;
	return rc;
}

/* A member (not a listener) that makes its set readable now, as epoll_wait
 * would report it (edges and one-shots applied, nothing consumed). */
static int member_ready(struct ep_node *n)
{
	if (!node_valid(n) || n->s->ops->kernel_readiness || n->fired)
		return 0;
	uint32_t want = __atomic_load_n(&n->events, __ATOMIC_RELAXED);
	unsigned int rev = n->s->ops->poll(n->s, n->fd) & (want | EPOLLERR | EPOLLHUP);
	return rev && (!(want & EPOLLET) || (rev & ~n->last_rev) ||
		       n->s->ops->progress(n->s, n->events) != n->last_prog);
}

/*
 * A nested set, ready already, was added to a set (or changed in it) while
 * a thread may sleep on that set: an epoll fd never reports EPOLLOUT, so
 * the sleeper is woken through a ready ring member of the nested set,
 * kicked in the nested set's own kernel part (the nested fd then reads
 * ready). Under the outer set's lock; takes the nested set's (an inner
 * set's lock is always taken after its outer one's: the kernel refuses
 * loops).
 */
static void kick_nested(struct mux_ep *ep)
{
	ep_lock(ep);
	unsigned int count = ep_nodes(ep);
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(ep, i);
		if (!member_ready(n))
			continue;
		if (n->s->ops == &epoll_ops) {
			if (n->s->ep)
				kick_nested(n->s->ep);
			break;
		}
		if (n->kicked)
			break;
		if (n->registered && !n->gone &&
		    kernel_ctl(ep->epfd, ep, EPOLL_CTL_MOD, n, i, EPOLLIN | EPOLLOUT) == 0) {
			n->kicked = 1;
			break;
		}
	}
	ep_unlock(ep);
}

/*
 * A nested set's fd woke a sleeper on its outer set: members kicked for
 * such a wake-up that are no longer ready go back to plain doorbells, or
 * the nested fd would stay ready in the kernel until someone waits on the
 * nested set itself. (One still ready stays kicked: a sleeper on the
 * nested set may still be on its way to it.)
 */
static void unkick_drained(struct mux_ep *ep)
{
	ep_lock(ep);
	unsigned int count = ep_nodes(ep);
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(ep, i);
		if (node_valid(n) && n->kicked && !n->gone && !member_ready(n) &&
		    kernel_ctl(ep->epfd, ep, EPOLL_CTL_MOD, n, i, EPOLLIN) == 0)
			n->kicked = 0;
	}
	ep_unlock(ep);
}

/*
 * A ring node was added or changed while a thread of the process may sleep
 * armed (in this set, or in one it is nested in): the kernel would wake
 * that thread for the node, so arm the node for it, and if it is ready
 * already, wake the sleeper: its doorbell, always writable, is watched for
 * EPOLLOUT too until an epoll_wait sees that (kernel_part puts it back).
 * Under the set's lock.
 */
static void wake_sleepers_for(int epfd, struct mux_ep *ep, struct ep_node *n, unsigned int index)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* pairs with mux_sleep_begin */
	if (!mux_sleeping() || n->gone || n->kicked || n->s->ops->kernel_readiness)
		return;
	uint32_t want = n->events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI);
	if (watch(epfd, ep, n, index, EPOLLIN) < 0)
		return; /* the sleepers' next round finds it (they poll: see arm_all) */
	if (!n->s->ops->arm(n->s, want))
		return; /* its next push or pop rings the doorbell */
	if (n->s->ops == &epoll_ops) {
		if (n->s->ep)
			kick_nested(n->s->ep);
	} else if (kernel_ctl(epfd, ep, EPOLL_CTL_MOD, n, index, EPOLLIN | EPOLLOUT) == 0) {
		n->kicked = 1;
	}
}

int mux_epoll_ctl(int epfd, int op, int fd, struct accel_sock *s, struct epoll_event *ev)
{
	struct epoll_event e = { 0 };
	if (op != EPOLL_CTL_DEL && (!ev || core_copy_in(&e, ev, sizeof(e)) < 0))
		return -EFAULT;
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	if (epfd == fd)
		return -EINVAL;
	struct mux_ep *ep = ep_find(epfd), *fresh_ep = NULL;
	if (!ep) {
		struct accel_sock *o = fd_table_get(epfd);
		if (o && o->type)
			return -EINVAL; /* a socket, not an epoll fd */
		if (op != EPOLL_CTL_ADD) /* the kernel's answer: EBADF, EINVAL or ENOENT */
			return libc.epoll_ctl(epfd, op, fd, &e) < 0 ? -errno : -ENOENT;
		if (!(ep = fresh_ep = ep_new()))
			return -ENOMEM;
	}
	ep_lock(ep);
	struct ep_node *n = find_node(ep, s, fd);
	unsigned int index = n ? index_of(ep, n) : 0;
	int rc = 0;
	if (op == EPOLL_CTL_ADD) {
		if (n) {
			rc = -EEXIST;
			goto out;
		}
		if (!(n = free_node(ep, s, &index))) {
			rc = -ENOMEM;
			goto out;
		}
		n->s = s;
		n->gen = s->gen;
		n->fd = fd;
		n->events = e.events;
		n->data = e.data.u64;
		n->fired = n->gone = n->kicked = n->registered = 0;
		n->last_rev = 0;
		n->last_prog = s->ops->progress(s, e.events);
		/* A set's first member: the kernel checks epfd here (EBADF, EINVAL).
		 * A listener's readiness is the kernel's; a nested set's fd is
		 * checked for loops (ELOOP). Ring sockets wait for a sleeper (watch). */
		if (fresh_ep || s->ops->kernel_readiness || s->ops == &epoll_ops) {
			rc = kernel_ctl(epfd, ep, EPOLL_CTL_ADD, n, index, kernel_events(s, e.events));
			if (rc < 0)
				goto out;
			n->registered = 1;
		}
		ep->epfd = epfd;
		if (fresh_ep && (rc = ep_attach(epfd, ep)) < 0) {
			kernel_ctl(epfd, ep, EPOLL_CTL_DEL, n, index, 0);
			goto out;
		}
		fresh_ep = NULL;
		__atomic_store_n(&n->active, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&s->ep_hint, index + 1, __ATOMIC_RELAXED);
		if (index == ep->n_nodes)
			__atomic_store_n(&ep->n_nodes, index + 1, __ATOMIC_RELEASE);
		wake_sleepers_for(epfd, ep, n, index);
	} else if (!n) {
		rc = -ENOENT;
	} else if (op == EPOLL_CTL_MOD) {
		uint32_t was = kernel_events(s, n->events);
		int refire = n->fired && s->ops->kernel_readiness; /* its kernel side was disarmed */
		__atomic_store_n(&n->events, e.events, __ATOMIC_RELAXED);
		__atomic_store_n(&n->data, e.data.u64, __ATOMIC_RELAXED);
		n->last_rev = 0;
		__atomic_store_n(&n->fired, 0, __ATOMIC_RELEASE);
		/* A ring node's kernel side is always the doorbell: nothing to tell
		 * the kernel (redis flips EPOLLOUT on and off all the time). */
		if (!n->gone && (refire || kernel_events(s, e.events) != was))
			kernel_ctl(epfd, ep, EPOLL_CTL_MOD, n, index, kernel_events(s, e.events));
		wake_sleepers_for(epfd, ep, n, index);
	} else {
		if (!n->gone && n->registered)
			kernel_ctl(epfd, ep, EPOLL_CTL_DEL, n, index, 0);
		n->registered = 0;
		__atomic_store_n(&n->active, 0, __ATOMIC_RELEASE);
	}
out:
	ep_unlock(ep);
	if (fresh_ep) {
		for (unsigned int c = 0; c < EP_CHUNKS && fresh_ep->chunks[c]; c++)
			free(fresh_ep->chunks[c]);
		free(fresh_ep);
	}
	return rc;
}

/* A stream socket not yet connected remembers its epoll sets: if an engine
 * takes it at connect, the registrations move over (mux_epoll_moved). */
void mux_epoll_record(struct accel_sock *s, int epfd, int op, const struct epoll_event *ev)
{
	int free_slot = -1;
	for (int i = 0; i < SOCK_EP_REGS; i++) {
		struct sock_ep_reg *r = &s->ep_regs[i];
		if (r->used && r->epfd == epfd) {
			if (op == EPOLL_CTL_DEL) {
				r->used = 0;
			} else {
				r->events = ev->events;
				r->data = ev->data.u64;
			}
			return;
		}
		if (!r->used && free_slot < 0)
			free_slot = i;
	}
	if (op == EPOLL_CTL_ADD && free_slot >= 0) {
		struct sock_ep_reg *r = &s->ep_regs[free_slot];
		r->epfd = epfd;
		r->events = ev->events;
		r->data = ev->data.u64;
		r->used = 1;
	}
}

void mux_epoll_moved(struct accel_sock *s, int fd)
{
	for (int i = 0; i < SOCK_EP_REGS; i++) {
		struct sock_ep_reg *r = &s->ep_regs[i];
		if (!r->used)
			continue;
		struct epoll_event ev = { .events = r->events, .data.u64 = r->data };
		r->used = 0;
		/* The kernel dropped the old TCP socket from the set with its file. */
		mux_epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, s, &ev);
	}
}

/* Readiness of a node as epoll reports it now, edges and one-shots applied. */
static unsigned int node_events(struct ep_node *n)
{
	struct accel_sock *s = n->s;
	uint32_t want = __atomic_load_n(&n->events, __ATOMIC_RELAXED);
	unsigned int rev = s->ops->poll(s, n->fd) & (want | EPOLLERR | EPOLLHUP);
	s->ctr[rev ? ACCEL_STAT_poll_hit : ACCEL_STAT_poll_miss]++;
	if (want & EPOLLET) {
		unsigned long prog = s->ops->progress(s, want);
		unsigned int fresh = rev & ~n->last_rev;
		int moved = prog != n->last_prog;
		n->last_rev = rev;
		n->last_prog = prog;
		if (!fresh && !moved)
			return 0;
	}
	return rev;
}

static int scan(struct mux_ep *ep, struct epoll_event *out, int max)
{
	int k = 0;
	unsigned int count = ep_nodes(ep);
	for (unsigned int i = 0; i < count && k < max; i++) {
		struct ep_node *n = node_at(ep, i);
		if (!node_valid(n) || n->s->ops->kernel_readiness ||
		    __atomic_load_n(&n->fired, __ATOMIC_ACQUIRE))
			continue;
		unsigned int rev = node_events(n);
		if (!rev)
			continue;
		if ((n->events & EPOLLONESHOT) && __atomic_exchange_n(&n->fired, 1, __ATOMIC_ACQ_REL))
			continue; /* another thread reported it */
		out[k].events = rev;
		out[k].data.u64 = __atomic_load_n(&n->data, __ATOMIC_RELAXED);
		k++;
	}
	return k;
}

enum { ARM_READY = 1, ARM_UNWATCHED = 2 };

/* Before sleeping on the set (epfd, or -1: the one it was last used by):
 * every ring node watched by the kernel and armed. Returns ARM_READY if one
 * is ready already, ARM_UNWATCHED if one could not be watched (the kernel's
 * limit on watches: then the caller may sleep only briefly, and looks
 * again). */
static int arm_all(struct mux_ep *ep, int epfd)
{
	int ready = 0;
	unsigned int count = ep_nodes(ep);
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(ep, i);
		if (!node_valid(n) || n->s->ops->kernel_readiness || n->fired)
			continue;
		if (!n->registered && !n->gone) {
			ep_lock(ep);
			if (node_valid(n) && watch(epfd >= 0 ? epfd : ep->epfd, ep, n, i, EPOLLIN) < 0)
				ready |= ARM_UNWATCHED;
			ep_unlock(ep);
		}
		if (n->s->ops->arm(n->s, n->events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI)))
			ready |= ARM_READY;
	}
	return ready;
}

static void disarm_all(void *ctx)
{
	struct mux_ep *ep = ctx;
	unsigned int count = ep_nodes(ep);
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(ep, i);
		if (node_valid(n) && n->s->ops->disarm)
			n->s->ops->disarm(n->s);
	}
}

/* A listener's event from the kernel, as the program sees it. */
static int kernel_node_event(int epfd, struct mux_ep *ep, struct ep_node *n, uint32_t kev,
			     struct epoll_event *out, int k)
{
	uint64_t data = __atomic_load_n(&n->data, __ATOMIC_RELAXED);
	uint32_t rev = kev & (n->events | EPOLLERR | EPOLLHUP);
	for (int i = 0; i < k; i++)
		if (out[i].data.u64 == data) { /* its other fd fired too */
			out[i].events |= rev;
			return k;
		}
	if (__atomic_load_n(&n->fired, __ATOMIC_ACQUIRE))
		return k;
	if (n->events & EPOLLONESHOT) {
		if (__atomic_exchange_n(&n->fired, 1, __ATOMIC_ACQ_REL))
			return k;
		ep_lock(ep);
		if (node_valid(n))
			kernel_ctl(epfd, ep, EPOLL_CTL_MOD, n, index_of(ep, n), 0);
		ep_unlock(ep);
	}
	out[k].events = rev;
	out[k].data.u64 = data;
	return k + 1;
}

/*
 * The kernel's part: epoll_pwait on the program's set. Our keys are taken
 * out: a doorbell is consumed, a listener's event becomes the program's.
 * Returns the program's events or -errno. A sleeper ends its sleep as soon
 * as the kernel returns (awake != NULL: mux_sleep_end), before it drains
 * doorbells: peers writing a burst to several of its sockets stop ringing
 * the others as early as can be.
 */
static int kernel_part(struct mux_ep *ep, int epfd, struct epoll_event *out, int max,
		       int timeout_ms, const sigset_t *mask, void (*awake)(struct mux_ep *ep))
{
	int r = libc.epoll_pwait(epfd, out, max, timeout_ms, mask);
	if (awake)
		awake(ep);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	int k = 0;
	for (int i = 0; i < r; i++) {
		struct ep_node *n = node_of_key(ep, out[i].data.u64);
		if (!n) {
			out[k++] = out[i];
			continue;
		}
		if (!node_valid(n))
			continue;
		if (n->s->ops->kernel_readiness) {
			k = kernel_node_event(epfd, ep, n, out[i].events, out, k);
			continue;
		}
		if (n->s->ops == &epoll_ops) {
			if (n->s->ep)
				unkick_drained(n->s->ep);
			continue; /* its members are looked at by the scan */
		}
		if (out[i].events & EPOLLOUT) { /* woken for a member added or changed */
			ep_lock(ep);
			if (node_valid(n) && n->kicked && !n->gone &&
			    kernel_ctl(epfd, ep, EPOLL_CTL_MOD, n, index_of(ep, n), EPOLLIN) == 0)
				n->kicked = 0;
			ep_unlock(ep);
		}
		if (!(out[i].events & ~EPOLLOUT))
			continue; /* no doorbell byte to take */
		if (n->s->ops->woken(n->s) && !n->gone) {
			/* The doorbell fd stays readable (peer gone): stop waking on it. */
			ep_lock(ep);
			if (node_valid(n) && !n->gone) {
				kernel_ctl(epfd, ep, EPOLL_CTL_DEL, n, index_of(ep, n), 0);
				n->gone = 1;
				n->registered = 0;
			}
			ep_unlock(ep);
		}
	}
	return k;
}

static void sleep_over(struct mux_ep *ep)
{
	mux_sleep_end(disarm_all, ep);
}

static int ms_left(long long deadline)
{
	if (deadline < 0)
		return -1;
	long long left = deadline - mux_now_ns();
	if (left <= 0)
		return 0;
	long long ms = (left + 999999) / 1000000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

struct yield_ctx {
	struct mux_ep *ep;
	int epfd;
	struct epoll_event *out;
	int max;
};

/* One look for mux_yield_wait: the rings, and the kernel's fds when asked. */
static int yield_look(void *ctx, int with_kernel)
{
	struct yield_ctx *y = ctx;
	int n = scan(y->ep, y->out, y->max);
	if (n < y->max && with_kernel) {
		int k = kernel_part(y->ep, y->epfd, y->out + n, y->max - n, 0, NULL, NULL);
		if (k < 0)
			return n ? n : k;
		n += k;
	}
	return n;
}

int mux_epoll_wait(struct accel_sock *o, int epfd, struct epoll_event *out, int max,
		   long long deadline, const sigset_t *mask)
{
	struct mux_ep *ep = o->ep;
	long long spin_until = accel_params.select_poll
				       ? mux_now_ns() + accel_params.select_poll * 1000LL
				       : 0;
	int yielded = 0;
	for (unsigned int round = 0;; round++) {
		int n = scan(ep, out, max);
		/* The kernel's fds too, without waiting; while spinning, every 16th. */
		if (n < max && (!spin_until || !(round & 15))) {
			int k = kernel_part(ep, epfd, out + n, max - n, 0, NULL, NULL);
			if (k < 0)
				return n ? n : k;
			n += k;
		}
		if (n || deadline == 0)
			return n;
		if (spin_until) {
			long long now = mux_now_ns();
			if (now < spin_until && (deadline < 0 || now < deadline))
				continue;
			spin_until = 0;
		}
		if (!yielded) {
			struct yield_ctx yc = { ep, epfd, out, max };
			yielded = 1;
			n = mux_yield_wait(deadline, yield_look, &yc, 0);
			if (n)
				return n;
		}
		/* Armed, yet ready: report it, unless an edge was reported already
		 * (then only something new counts: sleep for it). */
		mux_sleep_begin();
		int armed = arm_all(ep, epfd);
		if (armed && (n = scan(ep, out, max)) > 0) {
			mux_sleep_end(disarm_all, ep);
			return n;
		}
		int ms = ms_left(deadline);
		if ((armed & ARM_UNWATCHED) && (ms < 0 || ms > 1))
			ms = 1;
		int k = kernel_part(ep, epfd, out, max, ms, mask, sleep_over);
		if (k != 0)
			return k;
		if (deadline >= 0 && mux_now_ns() >= deadline)
			return scan(ep, out, max);
	}
}

void mux_epoll_after_fork_child(struct accel_sock *o)
{
	if (o->ep)
		__atomic_store_n(&o->ep->lock, 0, __ATOMIC_RELEASE);
}

void mux_epoll_release(struct accel_sock *o)
{
	struct mux_ep *ep = o->ep;
	o->ep = NULL;
	if (!ep)
		return;
	for (unsigned int c = 0; c < EP_CHUNKS && ep->chunks[c]; c++)
		free(ep->chunks[c]);
	free(ep);
}

/*
 * An epoll set with offloaded members, as a member of poll, select or
 * another epoll set (nested): readable when a member is ready (level view)
 * or the kernel says so.
 */
static unsigned int set_poll(struct accel_sock *o, int fd)
{
	struct mux_ep *ep = o->ep;
	if (!ep)
		return 0;
	unsigned int count = ep_nodes(ep);
	int kicked = 0;
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(ep, i);
		if (member_ready(n))
			return POLLIN;
		if (node_valid(n))
			kicked |= __atomic_load_n(&n->kicked, __ATOMIC_RELAXED);
	}
	/* A kick is not the kernel's readiness: gone before it is asked. */
	if (kicked)
		unkick_drained(ep);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return libc.poll(&p, 1, 0) == 1 ? (unsigned int)p.revents : 0;
}

static unsigned int set_arm(struct accel_sock *o, unsigned int events)
{
	(void)events;
	if (o->ep && arm_all(o->ep, -1))
		return POLLIN;
	return 0;
}

static int set_wait_fds(struct accel_sock *o, int fd, int *fds)
{
	(void)o;
	fds[0] = fd;
	return 1;
}

static int set_woken(struct accel_sock *o)
{
	(void)o;
	return 0;
}

static unsigned long set_progress(struct accel_sock *o, unsigned int events)
{
	(void)events;
	unsigned long sum = 0;
	if (!o->ep)
		return 0;
	unsigned int count = ep_nodes(o->ep);
	for (unsigned int i = 0; i < count; i++) {
		struct ep_node *n = node_at(o->ep, i);
		if (node_valid(n))
			sum += n->s->ops->progress(n->s, n->events);
	}
	return sum;
}

/* Data calls get the kernel's answers for an epoll fd; shutdown, options
 * and the rest are the kernel's (NULL ops). */
static ssize_t set_recvmsg(struct accel_sock *o, struct msghdr *m, int f)
{
	(void)o, (void)m, (void)f;
	return -EINVAL;
}

static ssize_t set_sendmsg(struct accel_sock *o, const struct msghdr *m, int f)
{
	(void)o, (void)m, (void)f;
	return -EINVAL;
}

static int set_handover(struct accel_sock *o, const int *fds, int nfds, int keep_state)
{
	(void)o, (void)fds, (void)nfds, (void)keep_state;
	return -ENOSYS; /* an epoll set is the kernel's already */
}

static void set_forked(struct accel_sock *o, int child)
{
	if (child)
		mux_epoll_after_fork_child(o);
}

static const struct engine_ops epoll_ops = {
	.name = "epoll",
	.recvmsg = set_recvmsg,
	.sendmsg = set_sendmsg,
	.poll = set_poll,
	.arm = set_arm,
	.wait_fds = set_wait_fds,
	.woken = set_woken,
	.progress = set_progress,
	.forked = set_forked,
	.handover = set_handover,
	.release = mux_epoll_release,
};
