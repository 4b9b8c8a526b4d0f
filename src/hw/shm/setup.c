/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Taking sockets on: a listener advertises a rendezvous next to its kernel
 * listener; a client that finds one for a local destination reserves its
 * local port with the kernel and puts the connection's unix socket in
 * place of its TCP socket, under the same fd. Runs on listen, connect and
 * accept, never on a data path; every failure leaves the kernel in charge.
 */
#include "config.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "rendezvous.h"
#include "shm_sock.h"
#include "shm.h"
#include "sys.h"

struct engine_params shm_params = { .ring_size = 256u << 10, .shm = 1 };

static void shm_configure(const struct engine_params *p)
{
	shm_params = *p;
}

static int shm_listen(struct accel_sock *s, int fd, int backlog)
{
	if (!shm_params.shm)
		return -ENOENT;
	struct shm_listener *l = shm_alloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	int rv = shm_rv_advertise(fd, backlog);
	if (rv < 0) {
		shm_free(l, sizeof(*l));
		return rv; /* another process advertises this address already */
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	l->rv_fd = rv;
	l->domain = shm_sys_getsockname(fd, (struct sockaddr *)&ss, &len) == 0 ? ss.ss_family
										 : AF_INET;
	struct engine_link *link = engine_link(s);
	link->state = l;
	__atomic_store_n(&link->ops, &shm_listener_ops, __ATOMIC_RELEASE);
	return 0;
}

static int is_loopback(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) == 127;
	const struct in6_addr *ip = &((const struct sockaddr_in6 *)a)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(ip) || (IN6_IS_ADDR_V4MAPPED(ip) && ip->s6_addr[12] == 127);
}

static int same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return 0;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)b)->sin6_addr, 16);
}

/*
 * The source address the kernel would use towards dst (a connected UDP
 * socket asks the routing table), and whether dst is this host: loopback,
 * or an address of ours (then the kernel's source is dst itself).
 */
static int local_source(int domain, const struct sockaddr *dst, socklen_t len,
			struct sockaddr_storage *src)
{
	int u = shm_sys_socket(domain, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u < 0)
		return -errno;
	socklen_t slen = sizeof(*src);
	int rc = shm_sys_connect(u, dst, len) == 0 &&
			 shm_sys_getsockname(u, (struct sockaddr *)src, &slen) == 0
		 ? 0
		 : -ENOENT;
	shm_sys_close(u);
	if (rc == 0 && !is_loopback(dst) && !same_ip(dst, (struct sockaddr *)src))
		rc = -ENOENT; /* another host */
	return rc;
}

/* A TCP socket bound to src with a port of the kernel's choosing. */
static int reserve_port(int domain, struct sockaddr_storage *src)
{
	int r = shm_sys_socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r < 0)
		return -errno;
	socklen_t len = domain == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (domain == AF_INET)
		((struct sockaddr_in *)src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)src)->sin6_port = 0;
	if (shm_sys_bind(r, (struct sockaddr *)src, len) < 0 ||
	    shm_sys_getsockname(r, (struct sockaddr *)src, &len) < 0) {
		int err = errno;
		shm_sys_close(r);
		return -err;
	}
	return r;
}

static int is_unbound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (shm_sys_getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port == 0
				       : ((struct sockaddr_in6 *)&ss)->sin6_port == 0;
}

static unsigned int ring_size_for(int fd)
{
	unsigned int size = shm_params.ring_size;
	int v;
	socklen_t len = sizeof(v);
	/* SO_RCVBUF / SO_SNDBUF as the program set them (the kernel doubles). */
	if (shm_sys_getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 && v / 2 > (int)size)
		size = (unsigned int)v / 2;
	len = sizeof(v);
	if (shm_sys_getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v / 2 > (int)size)
		size = (unsigned int)v / 2;
	return shm_ring_size_for(size);
}

/*
 * What the program set on the TCP socket (or the listener, for an accepted
 * one), carried over: the socket-level options the unix socket keeps
 * itself (timeouts, linger, keepalive), and the TCP and IP ones the
 * connection answers for.
 */
static void inherit_options(int from, int to, struct shm_sock *ss)
{
	static const int sol[] = { SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER, SO_KEEPALIVE };
	static const struct { int level, name; } tcp[] = {
		{ IPPROTO_TCP, TCP_NODELAY }, { IPPROTO_TCP, TCP_CORK },
		{ IPPROTO_TCP, TCP_KEEPIDLE }, { IPPROTO_TCP, TCP_KEEPINTVL },
		{ IPPROTO_TCP, TCP_KEEPCNT }, { IPPROTO_TCP, TCP_USER_TIMEOUT },
		{ IPPROTO_IP, IP_TOS }, { IPPROTO_IPV6, IPV6_TCLASS },
	};
	char buf[32];
	for (size_t i = 0; i < sizeof(sol) / sizeof(sol[0]); i++) {
		socklen_t len = sizeof(buf);
		if (shm_sys_getsockopt(from, SOL_SOCKET, sol[i], buf, &len) == 0)
			shm_sys_setsockopt(to, SOL_SOCKET, sol[i], buf, len);
		if ((sol[i] == SO_SNDTIMEO || sol[i] == SO_RCVTIMEO) &&
		    len >= sizeof(struct timeval)) {
			struct timeval tv;
			memcpy(&tv, buf, sizeof(tv));
			*(sol[i] == SO_SNDTIMEO ? &ss->c.sndtimeo_ms : &ss->c.rcvtimeo_ms) =
				shm_timeout_ms(&tv);
		}
	}
	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]) && ss->n_opts < SHM_SOCK_OPTS; i++) {
		int v;
		socklen_t len = sizeof(v);
		if (shm_sys_getsockopt(from, tcp[i].level, tcp[i].name, &v, &len) == 0)
			ss->opts[ss->n_opts++] = (struct shm_opt){ tcp[i].level, tcp[i].name, v };
	}
}

/* Put the connection's socket c at the program's fd, with its flags. */
static int install(int c, int fd)
{
	int fl = shm_sys_fcntl(fd, F_GETFL, 0);
	int fdfl = shm_sys_fcntl(fd, F_GETFD, 0);
	if (fl < 0 || fdfl < 0)
		return -errno;
	if (shm_sys_fcntl(c, F_SETFL, fl & O_NONBLOCK) < 0 ||
	    shm_sys_dup3(c, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		return -errno;
	shm_sys_close(c);
	return fl & O_NONBLOCK;
}

static int shm_connect(struct accel_sock *s, int fd, const struct sockaddr *dst, socklen_t len)
{
	struct sockaddr_storage src;
	int domain = dst->sa_family;
	int sock_domain;
	socklen_t olen = sizeof(sock_domain);
	if (!shm_params.shm)
		return -ENOENT;
	if (shm_sys_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &sock_domain, &olen) < 0 ||
	    sock_domain != domain || !is_unbound(fd))
		return -ENOENT; /* the kernel gives its own answer, or binds */
	int rc = local_source(domain, dst, len, &src);
	if (rc < 0)
		return rc;
	int c = shm_rv_find(dst, len);
	if (c < 0)
		return c;
	int r = reserve_port(domain, &src);
	unsigned int size = ring_size_for(fd);
	int memfd = r < 0 ? r : shm_conn_memfd(size);
	rc = memfd < 0 ? memfd : shm_rv_send_hello(c, memfd, (struct sockaddr *)&src, dst);
	struct shm_sock *ss = rc < 0 ? NULL : shm_sock_new(domain, c, memfd, 0);
	if (memfd >= 0)
		shm_sys_close(memfd);
	if (ss)
		inherit_options(fd, c, ss);
	int nonblock = ss ? install(c, fd) : -ENOMEM;
	if (rc < 0 || !ss || nonblock < 0) {
		/* The listener sees a client that left: it skips it. */
		if (ss)
			shm_sock_free(ss);
		shm_sys_close(c);
		if (r >= 0)
			shm_sys_close(r);
		return rc < 0 ? rc : !ss ? -ENOMEM : nonblock;
	}
	ss->c.fd = fd;
	ss->c.nonblock = nonblock;
	ss->reserve_fd = r;
	ss->ring_size = size;
	struct sockaddr_storage tmp;
	memcpy(&tmp, dst, len < sizeof(tmp) ? len : sizeof(tmp));
	memset(&ss->local, 0, sizeof(ss->local));
	memset(&ss->peer, 0, sizeof(ss->peer));
	if (domain == AF_INET) {
		const struct sockaddr_in *l4 = (const struct sockaddr_in *)&src;
		const struct sockaddr_in *p4 = (const struct sockaddr_in *)dst;
		ss->local.sin6_family = ss->peer.sin6_family = AF_INET6;
		ss->local.sin6_port = l4->sin_port;
		ss->peer.sin6_port = p4->sin_port;
		ss->local.sin6_addr.s6_addr[10] = ss->local.sin6_addr.s6_addr[11] = 0xff;
		ss->peer.sin6_addr.s6_addr[10] = ss->peer.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&ss->local.sin6_addr.s6_addr[12], &l4->sin_addr, 4);
		memcpy(&ss->peer.sin6_addr.s6_addr[12], &p4->sin_addr, 4);
	} else {
		memcpy(&ss->local, &src, sizeof(ss->local));
		memcpy(&ss->peer, dst, sizeof(ss->peer));
	}
	struct engine_link *link = engine_link(s);
	link->state = ss;
	__atomic_store_n(&link->ops, &shm_conn_ops, __ATOMIC_RELEASE);
	/* As a non-blocking TCP connect: in progress, then writable. */
	return nonblock ? -EINPROGRESS : 0;
}

const struct engine shm_engine = {
	.name = "shm",
	.configure = shm_configure,
	.listen = shm_listen,
	.connect = shm_connect,
};

/* --- the listener --------------------------------------------------- */

static struct shm_listener *listener_of(struct accel_sock *s)
{
	return engine_link(s)->state;
}

/* Kernel readiness of the listener and its rendezvous. */
static unsigned int listener_poll(struct accel_sock *s, int fd)
{
	struct shm_listener *l = listener_of(s);
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = l->rv_fd, .events = POLLIN } };
	if (shm_sys_poll(p, 2, 0) <= 0)
		return 0;
	return (unsigned int)(p[0].revents | (p[1].revents & POLLIN));
}

static int take_shm(struct shm_listener *l, int fd, struct sockaddr *addr, socklen_t *len,
		    int flags, const struct engine_ops **ops, void **state)
{
	struct shm_rv_hello h;
	int memfd;
	int c = shm_rv_accept(l->rv_fd, &memfd, &h);
	if (c < 0)
		return c;
	struct shm_sock *ss = shm_sock_new(l->domain, c, memfd, 1);
	shm_sys_close(memfd);
	if (!ss || (flags & SOCK_NONBLOCK && shm_sys_fcntl(c, F_SETFL, O_NONBLOCK) < 0) ||
	    (!(flags & SOCK_CLOEXEC) && shm_sys_fcntl(c, F_SETFD, 0) < 0)) {
		if (ss)
			shm_sock_free(ss);
		shm_sys_close(c);
		return -ECONNABORTED;
	}
	ss->c.nonblock = !!(flags & SOCK_NONBLOCK);
	inherit_options(fd, c, ss); /* as TCP: an accepted socket takes the listener's */
	/* Tell the client it was accepted: if we go before the first byte, it
	 * is a connection that ended, not one the listener dropped. */
	shm_ring_set_flag(ss->c.tx.r, SHM_RING_ACCEPTED);
	ss->local = h.server;
	ss->peer = h.client;
	ss->ring_size = (unsigned int)(ss->c.map_len / 2);
	if (addr && len) {
		struct sockaddr_storage out;
		socklen_t n = shm_sock_addr(l->domain, &ss->peer, &out);
		memcpy(addr, &out, *len < n ? *len : n);
		*len = n;
	}
	*ops = &shm_conn_ops;
	*state = ss;
	return c;
}

static int listener_accept(struct accel_sock *s, int fd, struct sockaddr *addr, socklen_t *len,
			   int flags, const struct engine_ops **ops, void **state)
{
	struct shm_listener *l = listener_of(s);
	*ops = NULL;
	*state = NULL;
	int nonblock = shm_sys_fcntl(fd, F_GETFL, 0);
	if (nonblock < 0)
		return -errno;
	nonblock &= O_NONBLOCK;
	/* SO_RCVTIMEO bounds a blocking accept, as on TCP. */
	struct timeval tv = { 0, 0 };
	socklen_t tvlen = sizeof(tv);
	shm_sys_getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &tvlen);
	int timeout = tv.tv_sec || tv.tv_usec ? shm_timeout_ms(&tv) : -1;
	for (;;) {
		int c = take_shm(l, fd, addr, len, flags, ops, state);
		if (c != -EAGAIN)
			return c;
		struct pollfd p[2] = { { .fd = fd, .events = POLLIN },
				       { .fd = l->rv_fd, .events = POLLIN } };
		int n = shm_sys_poll(p, 2, nonblock ? 0 : timeout);
		if (n < 0 && errno == EINTR && timeout < 0 && shm_sys_restarts())
			continue;
		if (n < 0)
			return -errno;
		if (n == 0 && !nonblock)
			return -EAGAIN; /* SO_RCVTIMEO ran out */
		if (p[0].revents || nonblock) {
			c = shm_sys_accept4(fd, addr, len, flags);
			return c < 0 ? -errno : c;
		}
	}
}

static ssize_t listener_recvmsg(struct accel_sock *s, struct msghdr *msg, int flags)
{
	(void)s, (void)msg, (void)flags;
	return -ENOTCONN;
}

static ssize_t listener_sendmsg(struct accel_sock *s, const struct msghdr *msg, int flags)
{
	(void)s, (void)msg, (void)flags;
	return -EPIPE;
}

static unsigned int listener_arm(struct accel_sock *s, unsigned int events)
{
	(void)s, (void)events;
	return 0; /* the kernel wakes the sleeper on either fd by itself */
}

static int listener_wait_fds(struct accel_sock *s, int fd, int *fds)
{
	fds[0] = fd;
	fds[1] = listener_of(s)->rv_fd;
	return 2;
}

static int listener_woken(struct accel_sock *s)
{
	(void)s;
	return 0;
}

static unsigned long listener_progress(struct accel_sock *s, unsigned int events)
{
	(void)s, (void)events;
	return 0;
}

static int listener_handover(struct accel_sock *s, const int *fds, int nfds, int keep_state)
{
	(void)fds, (void)nfds;
	if (keep_state)
		return 0; /* the rendezvous is close-on-exec: the child never has it */
	/* A kernel listener already: stop advertising it, so that if the exec
	 * fails nobody waits on a rendezvous nobody answers. */
	struct shm_listener *l = listener_of(s);
	shm_sys_close(l->rv_fd);
	shm_free(l, sizeof(*l));
	return 0;
}

static void listener_release(struct accel_sock *s)
{
	struct shm_listener *l = listener_of(s);
	shm_sys_close(l->rv_fd);
	shm_free(l, sizeof(*l));
}

const struct engine_ops shm_listener_ops = {
	.name = "shm",
	.recvmsg = listener_recvmsg,
	.sendmsg = listener_sendmsg,
	.poll = listener_poll,
	.arm = listener_arm,
	.wait_fds = listener_wait_fds,
	.woken = listener_woken,
	.progress = listener_progress,
	.kernel_readiness = 1,
	.accept = listener_accept,
	.handover = listener_handover,
	.release = listener_release,
};
