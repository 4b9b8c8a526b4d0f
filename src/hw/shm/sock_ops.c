/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The calls on one end of a same-host connection: data through the rings,
 * and what a TCP socket answers about itself (names, options, ioctls),
 * since the fd is really a unix socket. Hot path (send/recv with room or
 * data): no locks, no allocation, no system calls.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "shm_sock.h"
#include "sys.h"

static struct shm_sock *sock_of(struct accel_sock *s)
{
	return engine_link(s)->state;
}

void *shm_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void shm_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

struct shm_sock *shm_sock_new(int domain, int fd, int memfd, int side)
{
	struct shm_sock *ss = shm_alloc(sizeof(*ss));
	if (!ss)
		return NULL;
	if (shm_conn_attach(&ss->c, memfd, fd, side) < 0) {
		shm_free(ss, sizeof(*ss));
		return NULL;
	}
	ss->domain = domain;
	ss->reserve_fd = -1;
	return ss;
}

void shm_sock_free(struct shm_sock *ss)
{
	shm_conn_detach(&ss->c);
	shm_free(ss, sizeof(*ss));
}

socklen_t shm_sock_addr(int domain, const struct sockaddr_in6 *in, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (domain == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)out;
		a->sin_family = AF_INET;
		a->sin_port = in->sin6_port;
		memcpy(&a->sin_addr, &in->sin6_addr.s6_addr[12], 4);
		return sizeof(*a);
	}
	memcpy(out, in, sizeof(*in));
	return sizeof(*in);
}

/* --- data ----------------------------------------------------------- */

static long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static int ring_ready(void *ctx, int with_kernel)
{
	(void)with_kernel;
	return (shm_conn_poll(ctx) & (POLLIN | POLLERR)) != 0;
}

/*
 * Before a blocking receive sleeps: ACCEL_RX_POLL, look at the ring
 * without a pause (a signal meanwhile runs its handler without ending the
 * call); then ACCEL_WAIT_YIELD, look between sched_yield calls (core's
 * yield_wait, which ends on a signal as the sleep would), so that a peer
 * on this CPU runs at once and a quick reply needs no kernel wake-up on
 * either side. 0 or -EINTR.
 */
static int spin_for_data(struct shm_conn *c)
{
	int rc = 0;
	/* Counted as a waiter: a close by another thread keeps the rings. */
	__atomic_fetch_add(&c->waiters, 1, __ATOMIC_SEQ_CST);
	if (shm_params.rx_poll_us > 0) {
		long until = now_us() + shm_params.rx_poll_us;
		for (unsigned int i = 1; !ring_ready(c, 0); i++) {
			if (!(i & 255) && now_us() >= until)
				break;
			__builtin_ia32_pause();
		}
	}
	/* With SO_RCVTIMEO a signal ends the call even under SA_RESTART, as
	 * the kernel does; and the wait stays within the timeout. */
	if (shm_params.yield_us > 0 && shm_params.yield_wait && !ring_ready(c, 0))
		rc = shm_params.yield_wait(c->rcvtimeo_ms ? now_us() * 1000LL +
							    c->rcvtimeo_ms * 1000000LL
							  : -1,
					   ring_ready, c, !c->rcvtimeo_ms);
	__atomic_fetch_sub(&c->waiters, 1, __ATOMIC_SEQ_CST);
	return rc < 0 ? rc : 0;
}

static ssize_t conn_recvmsg(struct accel_sock *s, struct msghdr *msg, int flags)
{
	struct shm_sock *ss = sock_of(s);
	if (flags & (MSG_OOB | MSG_ERRQUEUE))
		return flags & MSG_OOB ? -EINVAL : -EAGAIN; /* nothing urgent, no error queue */
	if ((shm_params.rx_poll_us > 0 || shm_params.yield_us > 0) && !ss->c.nonblock &&
	    !(flags & MSG_DONTWAIT) && !ring_ready(&ss->c, 0) && spin_for_data(&ss->c) < 0)
		return -EINTR;
	ssize_t n = shm_conn_recv(&ss->c, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (n >= 0) {
		msg->msg_namelen = 0;
		msg->msg_controllen = 0;
		msg->msg_flags = 0;
	}
	return n;
}

static ssize_t conn_sendmsg(struct accel_sock *s, const struct msghdr *msg, int flags)
{
	struct shm_sock *ss = sock_of(s);
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	ssize_t n = shm_conn_send(&ss->c, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (n == -EPIPE && !(flags & MSG_NOSIGNAL))
		syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGPIPE);
	return n;
}

static int conn_shutdown(struct accel_sock *s, int how)
{
	struct shm_sock *ss = sock_of(s);
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (shm_conn_closed(&ss->c))
		return -ENOTCONN;
	/* Writing side first: the read side's shutdown wakes sleepers in this
	 * process, who must find both done (POLLHUP). */
	if (how != SHUT_RD)
		shm_conn_shutdown_write(&ss->c);
	if (how != SHUT_WR)
		shm_conn_shutdown_read(&ss->c);
	return 0;
}

/* --- readiness ------------------------------------------------------ */

static unsigned int conn_poll(struct accel_sock *s, int fd)
{
	(void)fd;
	return shm_conn_poll(&sock_of(s)->c);
}

static unsigned int conn_arm(struct accel_sock *s, unsigned int events)
{
	return shm_conn_arm(&sock_of(s)->c, events);
}

static void conn_disarm(struct accel_sock *s)
{
	shm_conn_disarm(&sock_of(s)->c);
}

static int conn_wait_fds(struct accel_sock *s, int fd, int *fds)
{
	(void)s;
	fds[0] = fd;
	return 1;
}

static int conn_woken(struct accel_sock *s)
{
	struct shm_conn *c = &sock_of(s)->c;
	shm_conn_drain(c);
	return c->peer_gone;
}

static unsigned long conn_progress(struct accel_sock *s, unsigned int events)
{
	/* Only what the events watch for: room appearing is no news to a
	 * reader (the kernel's write-space wake-up skips an EPOLLIN item). */
	struct shm_conn *c = &sock_of(s)->c;
	unsigned long p = (shm_ring_flags(c->rx.r) & (SHM_RING_EOF | SHM_RING_RESET)) +
			  (unsigned long)c->peer_gone + (unsigned long)c->rst;
	if (events & (POLLIN | POLLRDHUP))
		p += __atomic_load_n(&c->rx.r->head, __ATOMIC_ACQUIRE);
	if (events & POLLOUT)
		p += __atomic_load_n(&c->tx.r->tail, __ATOMIC_ACQUIRE) << 1;
	return p;
}

/* --- names, options, ioctls ----------------------------------------- */

static int conn_getname(struct accel_sock *s, int fd, int peer, struct sockaddr *addr,
			socklen_t *len)
{
	struct shm_sock *ss = sock_of(s);
	(void)fd;
	if (peer && shm_conn_closed(&ss->c))
		return -ENOTCONN; /* TCP has left the connected states */
	struct sockaddr_storage out;
	socklen_t n = shm_sock_addr(ss->domain, peer ? &ss->peer : &ss->local, &out);
	if (!addr || !len)
		return -EFAULT;
	memcpy(addr, &out, *len < n ? *len : n);
	*len = n;
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	if (!val || !len)
		return -EFAULT;
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

static struct shm_opt *find_opt(struct shm_sock *ss, int level, int name)
{
	for (int i = 0; i < ss->n_opts; i++)
		if (ss->opts[i].level == level && ss->opts[i].name == name)
			return &ss->opts[i];
	return NULL;
}

/* TCP and IP options a connection answers, with Linux's defaults. */
static int opt_default(int level, int name, int *v)
{
	static const struct shm_opt known[] = {
		{ IPPROTO_TCP, TCP_NODELAY, 0 },     { IPPROTO_TCP, TCP_CORK, 0 },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 7200 }, { IPPROTO_TCP, TCP_KEEPINTVL, 75 },
		{ IPPROTO_TCP, TCP_KEEPCNT, 9 },     { IPPROTO_TCP, TCP_QUICKACK, 1 },
		{ IPPROTO_TCP, TCP_USER_TIMEOUT, 0 }, { IPPROTO_TCP, TCP_MAXSEG, 65483 },
		{ IPPROTO_TCP, TCP_NOTSENT_LOWAT, 0 }, { IPPROTO_TCP, TCP_DEFER_ACCEPT, 0 },
		{ IPPROTO_TCP, TCP_SYNCNT, 6 },      { IPPROTO_TCP, TCP_LINGER2, 60 },
		{ IPPROTO_IP, IP_TOS, 0 },           { IPPROTO_IP, IP_TTL, 64 },
		{ IPPROTO_IPV6, IPV6_TCLASS, 0 },    { IPPROTO_IPV6, IPV6_UNICAST_HOPS, 64 },
		{ IPPROTO_IPV6, IPV6_V6ONLY, 0 },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (known[i].level == level && known[i].name == name) {
			*v = known[i].value;
			return 0;
		}
	return -ENOPROTOOPT;
}

#define TCP_CA_NAME_MAX_ 16

/* The system's congestion control, as a new TCP socket would get it. */
static void default_congestion(char *out, size_t size)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/sys/net/ipv4/tcp_congestion_control",
			      O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : syscall(SYS_read, fd, out, size - 1);
	if (fd >= 0)
		shm_sys_close(fd);
	if (n <= 0)
		n = 0;
	out[n] = '\0';
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = '\0';
	if (!out[0])
		snprintf(out, size, "cubic");
}

static int conn_getsockopt(struct accel_sock *s, int fd, int level, int name, void *val,
			   socklen_t *len)
{
	struct shm_sock *ss = sock_of(s);
	(void)fd;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_DOMAIN:
			return put_int(val, len, ss->domain);
		case SO_PROTOCOL:
			return put_int(val, len, IPPROTO_TCP);
		case SO_ERROR:
			return put_int(val, len, shm_conn_take_error(&ss->c));
		case SO_RCVBUF:
		case SO_SNDBUF:
			return put_int(val, len, (int)ss->ring_size);
		default:
			return -ENOSYS; /* the socket's own answer */
		}
	}
	if (level == IPPROTO_TCP && name == TCP_INFO) {
		struct tcp_info info;
		if (!val || !len)
			return -EFAULT;
		memset(&info, 0, sizeof(info));
		info.tcpi_state = 1; /* TCP_ESTABLISHED */
		info.tcpi_snd_mss = info.tcpi_rcv_mss = 65483;
		socklen_t n = *len < sizeof(info) ? *len : (socklen_t)sizeof(info);
		memcpy(val, &info, n);
		*len = n;
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		char cc[TCP_CA_NAME_MAX_] = "";
		if (!val || !len)
			return -EFAULT;
		if (ss->cc[0])
			memcpy(cc, ss->cc, sizeof(cc));
		else
			default_congestion(cc, sizeof(cc));
		/* As Linux: the name, NUL-padded to the length asked for. */
		socklen_t n = *len < sizeof(cc) ? *len : (socklen_t)sizeof(cc);
		memcpy(val, cc, n);
		*len = n;
		return 0;
	}
	if (level != IPPROTO_TCP && level != IPPROTO_IP && level != IPPROTO_IPV6)
		return -EOPNOTSUPP;
	int v;
	struct shm_opt *o = find_opt(ss, level, name);
	if (o)
		return put_int(val, len, o->value);
	int rc = opt_default(level, name, &v);
	return rc < 0 ? rc : put_int(val, len, v);
}

static int conn_setsockopt(struct accel_sock *s, int fd, int level, int name, const void *val,
			   socklen_t len)
{
	struct shm_sock *ss = sock_of(s);
	(void)fd;
	if (level == SOL_SOCKET) {
		if (name == SO_SNDTIMEO || name == SO_SNDTIMEO_NEW || name == SO_RCVTIMEO ||
		    name == SO_RCVTIMEO_NEW) {
			struct timeval tv;
			if (!val || len < sizeof(tv))
				return -EINVAL;
			memcpy(&tv, val, sizeof(tv));
			if (name == SO_SNDTIMEO || name == SO_SNDTIMEO_NEW)
				ss->c.sndtimeo_ms = shm_timeout_ms(&tv);
			else
				ss->c.rcvtimeo_ms = shm_timeout_ms(&tv);
		}
		if (name == SO_RCVBUF || name == SO_SNDBUF)
			return 0; /* the rings keep the size they were made with */
		return -ENOSYS; /* the socket keeps it (SO_RCVTIMEO, SO_LINGER ...) */
	}
	if (level != IPPROTO_TCP && level != IPPROTO_IP && level != IPPROTO_IPV6)
		return -ENOPROTOOPT;
	if (!val || len < sizeof(int))
		return len < sizeof(int) ? -EINVAL : -EFAULT;
	int v, dflt;
	memcpy(&v, val, sizeof(v));
	if (name == TCP_CONGESTION && level == IPPROTO_TCP) {
		/* Kept for getsockopt: no congestion on a ring. */
		socklen_t n = len < sizeof(ss->cc) - 1 ? len : (socklen_t)sizeof(ss->cc) - 1;
		memset(ss->cc, 0, sizeof(ss->cc));
		memcpy(ss->cc, val, n);
		return 0;
	}
	if (opt_default(level, name, &dflt) < 0)
		return 0; /* accepted: nothing on this path depends on it */
	struct shm_opt *o = find_opt(ss, level, name);
	if (!o && ss->n_opts < SHM_SOCK_OPTS)
		o = &ss->opts[ss->n_opts++];
	if (o) {
		o->level = level;
		o->name = name;
		o->value = (name == TCP_NODELAY || name == TCP_CORK) ? !!v : v;
	}
	return 0;
}

static int conn_ioctl(struct accel_sock *s, int fd, unsigned long req, void *arg)
{
	struct shm_sock *ss = sock_of(s);
	(void)fd;
	int v;
	switch (req) {
	case SIOCINQ: /* FIONREAD */
		v = (int)shm_ring_readable(&ss->c.rx);
		break;
	case SIOCOUTQ:
	case SIOCOUTQNSD:
		/* What the ring holds is in the peer's receive buffer: delivered
		 * and acknowledged, as loopback TCP reports it at once. */
		v = 0;
		break;
	case FIONBIO:
		if (!arg)
			return -EFAULT;
		memcpy(&v, arg, sizeof(v));
		ss->c.nonblock = !!v;
		return -ENOSYS; /* the socket takes the flag too */
	default:
		return -ENOSYS;
	}
	if (!arg)
		return -EFAULT;
	memcpy(arg, &v, sizeof(v));
	return 0;
}

static void conn_fd_moved(struct accel_sock *s, int fd, int other)
{
	struct shm_sock *ss = sock_of(s);
	if (ss->c.fd == fd)
		__atomic_store_n(&ss->c.fd, other, __ATOMIC_RELEASE);
}

static void conn_set_nonblock(struct accel_sock *s, int on)
{
	sock_of(s)->c.nonblock = on;
}

static void graveyard_forked_child(void);

static void conn_forked(struct accel_sock *s, int child)
{
	struct shm_sock *ss = sock_of(s);
	ss->c.shared = 1;
	if (child) {
		shm_conn_forked_child(&ss->c);
		graveyard_forked_child();
	}
}

static int conn_handover(struct accel_sock *s, const int *fds, int nfds, int keep_state);

static void conn_closing(struct accel_sock *s, int fd)
{
	struct shm_sock *ss = sock_of(s);
	struct linger l;
	socklen_t len = sizeof(l);
	/* SO_LINGER with a zero timeout: close aborts, as TCP's RST. */
	if (!ss->c.shared && shm_sys_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) == 0 &&
	    l.l_onoff && !l.l_linger) {
		shm_ring_set_flag(ss->c.rx.r, SHM_RING_RESET);
		shm_ring_set_flag(ss->c.tx.r, SHM_RING_RESET);
	}
	/* The number may name another file soon: a thread still inside a call
	 * on this connection must not drain or ring through it. */
	__atomic_store_n(&ss->c.fd, -1, __ATOMIC_RELEASE);
}

/*
 * Closed connections wait here before their memory goes: a thread of the
 * program may still be inside a call on the socket (blocked in recv when
 * another thread closed it, as the kernel allows). A connection is freed
 * once nobody sleeps on it and a second has passed.
 */
static struct {
	int lock;
	struct shm_sock *list;
} graveyard;

static void graveyard_lock(void)
{
	while (__atomic_exchange_n(&graveyard.lock, 1, __ATOMIC_ACQUIRE))
		syscall(SYS_sched_yield);
}

static void graveyard_unlock(void)
{
	__atomic_store_n(&graveyard.lock, 0, __ATOMIC_RELEASE);
}

/* Only the forking thread lives on in a child: nobody holds the lock. */
static void graveyard_forked_child(void)
{
	__atomic_store_n(&graveyard.lock, 0, __ATOMIC_RELEASE);
}

void shm_sock_reap(int all)
{
	long now = now_us();
	struct shm_sock *dead = NULL;
	graveyard_lock();
	for (struct shm_sock **pp = &graveyard.list; *pp;) {
		struct shm_sock *ss = *pp;
		if (all || (now - ss->released_us > 1000000 &&
			    !__atomic_load_n(&ss->c.waiters, __ATOMIC_ACQUIRE))) {
			*pp = ss->next_dead;
			ss->next_dead = dead;
			dead = ss;
		} else {
			pp = &ss->next_dead;
		}
	}
	graveyard_unlock();
	while (dead) {
		struct shm_sock *next = dead->next_dead;
		shm_sock_free(dead);
		dead = next;
	}
}

static void conn_release(struct accel_sock *s)
{
	struct shm_sock *ss = sock_of(s);
	/* The fd may be closed already (and its number reused): the kernel's
	 * close of the socket is the peer's doorbell, the flags its meaning. */
	shm_conn_mark_closed(&ss->c, 0);
	__atomic_store_n(&ss->c.fd, -1, __ATOMIC_RELEASE);
	if (ss->reserve_fd >= 0)
		shm_sys_close(ss->reserve_fd);
	ss->reserve_fd = -1;
	ss->released_us = now_us();
	graveyard_lock();
	ss->next_dead = graveyard.list;
	graveyard.list = ss;
	graveyard_unlock();
	shm_sock_reap(0);
}

const struct engine_ops shm_conn_ops = {
	.name = "shm",
	.recvmsg = conn_recvmsg,
	.sendmsg = conn_sendmsg,
	.shutdown = conn_shutdown,
	.poll = conn_poll,
	.arm = conn_arm,
	.disarm = conn_disarm,
	.wait_fds = conn_wait_fds,
	.woken = conn_woken,
	.progress = conn_progress,
	.accept = NULL,
	.getname = conn_getname,
	.getsockopt = conn_getsockopt,
	.setsockopt = conn_setsockopt,
	.ioctl = conn_ioctl,
	.fd_moved = conn_fd_moved,
	.set_nonblock = conn_set_nonblock,
	.forked = conn_forked,
	.handover = conn_handover,
	.closing = conn_closing,
	.release = conn_release,
};

int shm_handover(struct shm_sock *ss, const int *fds, int nfds);

static int conn_handover(struct accel_sock *s, const int *fds, int nfds, int keep_state)
{
	struct shm_sock *ss = sock_of(s);
	int known = 0;
	for (int i = 0; i < nfds; i++)
		known |= fds[i] == ss->c.fd;
	if (!known && nfds)
		ss->c.fd = fds[0];
	int rc = shm_handover(ss, fds, nfds);
	if (rc < 0)
		return rc;
	if (keep_state) {
		/* The parent's copy: the proxy owns the rings now. */
		ss->c.shared = 1;
		return 0;
	}
	/* The proxy carries the connection now: let go of it here, telling
	 * the peer nothing. */
	shm_conn_detach(&ss->c);
	if (ss->reserve_fd >= 0)
		shm_sys_close(ss->reserve_fd);
	shm_free(ss, sizeof(*ss));
	return 0;
}
