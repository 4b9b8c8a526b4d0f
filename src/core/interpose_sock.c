/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Socket life and control calls: creation, addressing, options. Creating
 * an internet socket records it in the fd table; the rest passes through
 * until an engine carries the socket.
 */
#include "config.h"

#include <stdarg.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include "../../include/accel/socket.h"
#include <string.h>

#include "decide.h"
#include "mux.h"
#include "interpose.h"

ACCEL_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = accel_next.socket(domain, type, protocol);
	if (fd >= 0 && sock_is_tracked_kind(domain, type, protocol) && !core_in_vfork_child())
		sock_register(fd, domain, type, protocol);
	return fd;
}

ACCEL_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	return accel_next.socketpair(domain, type, protocol, sv);
}

ACCEL_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int rc = accel_next.bind(fd, addr, len);
	struct accel_sock *s = fd_table_get(fd);
	if (rc == 0 && s && s->type == SOCK_DGRAM)
		decide_socket(s, fd, ROLE_UDP_RECEIVER, NULL, NULL);
	return rc;
}

ACCEL_EXPORT int listen(int fd, int backlog)
{
	int rc = accel_next.listen(fd, backlog);
	struct accel_sock *s = fd_table_get(fd);
	if (rc == 0 && s && s->type == SOCK_STREAM && !s->decided) {
		decide_socket(s, fd, ROLE_TCP_SERVER, NULL, NULL);
		decide_offer_listener(s, fd, backlog);
		if (s->ops)
			sock_attached(s);
	}
	return rc;
}

static void register_accepted(int listen_fd, int fd)
{
	struct accel_sock *l = fd_table_get(listen_fd);
	if (l && !core_in_vfork_child()) {
		struct accel_sock *s = sock_register(fd, l->domain, l->type, l->protocol);
		decide_inherit(s, l);
		if (s)
			stats_sock_update(s, fd, ACCEL_STATE_ESTABLISHED);
	}
}

/* A listener an engine advertises: the engine accepts from either path. */
static int engine_accept(struct accel_sock *l, int fd, struct sockaddr *addr, socklen_t *len,
			 int flags)
{
	const struct engine_ops *ops;
	void *state;
	struct sockaddr_storage ss;
	socklen_t want = 0;
	if (addr && (!len || core_copy_in(&want, len, sizeof(want)) < 0))
		return -EFAULT;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	socklen_t got = sizeof(ss);
	int nfd = l->ops->accept(l, fd, addr ? (struct sockaddr *)&ss : NULL, addr ? &got : NULL,
				 flags, &ops, &state);
	if (nfd < 0)
		return nfd;
	if (addr) {
		memcpy(addr, &ss, want < got ? want : got);
		*len = got;
	}
	struct accel_sock *s = sock_register(nfd, l->domain, l->type, l->protocol);
	decide_inherit(s, l);
	if (ops) {
		if (!s) { /* no object for it: the fd cannot stay usable */
			struct accel_sock tmp = { .ops = ops, .engine = state };
			ops->release(&tmp);
			libc.close(nfd);
			return -ENOMEM;
		}
		s->engine = state;
		__atomic_store_n(&s->ops, ops, __ATOMIC_RELEASE);
		sock_attached(s);
		l->ctr[ACCEL_STAT_accepts]++;
	} else {
		l->ctr[ACCEL_STAT_accepts_kernel]++;
		if (s)
			stats_sock_reason(s, ACCEL_REASON_client_no_accel);
	}
	if (s)
		stats_sock_update(s, nfd, ACCEL_STATE_ESTABLISHED);
	return nfd;
}

ACCEL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct accel_sock *l = fd_table_get(fd);
	if (unlikely(sock_offloaded(l) && l->ops->accept) && !core_in_vfork_child())
		OFFLOAD_RETURN(int, accept, engine_accept(l, fd, addr, len, 0), fd, addr, len);
	int nfd = accel_next.accept(fd, addr, len);
	if (nfd >= 0)
		register_accepted(fd, nfd);
	return nfd;
}

ACCEL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct accel_sock *l = fd_table_get(fd);
	if (unlikely(sock_offloaded(l) && l->ops->accept) && !core_in_vfork_child())
		OFFLOAD_RETURN(int, accept4, engine_accept(l, fd, addr, len, flags), fd, addr, len, flags);
	int nfd = accel_next.accept4(fd, addr, len, flags);
	if (nfd >= 0)
		register_accepted(fd, nfd);
	return nfd;
}

ACCEL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct accel_sock *s = fd_table_get(fd);
	struct sockaddr_storage ss;
	if (unlikely(sock_offloaded(s)) && !s->ops->accept) {
		/* As TCP: after EINPROGRESS, the next connect reports the
		 * connection made (0); any later one, EISCONN. */
		if (__atomic_exchange_n(&s->connect_pending, 0, __ATOMIC_ACQ_REL))
			return 0;
		errno = EISCONN;
		return -1;
	}
	/* Read the address only as the kernel would: a bad pointer or length
	 * gets the kernel's error, not a crash, and no decision. */
	if (s && !s->decided && decide_copy_addr(&ss, addr, len) == 0) {
		decide_socket(s, fd, s->type == SOCK_STREAM ? ROLE_TCP_CLIENT : ROLE_UDP_CONNECT,
			      NULL, (struct sockaddr *)&ss);
		int rc;
		if (decide_offer_connect(s, fd, (struct sockaddr *)&ss, len, &rc)) {
			s->connect_pending = rc == -EINPROGRESS;
			sock_attached(s);
			mux_epoll_moved(s, fd);
			OFFLOAD_RETURN(int, connect, rc, fd, addr, len);
		}
	}
	return accel_next.connect(fd, addr, len);
}

ACCEL_EXPORT int shutdown(int fd, int how)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)) || !s->ops->shutdown)
		return accel_next.shutdown(fd, how);
	int rc = s->ops->shutdown(s, how);
	if (rc == 0 && how != SHUT_RD)
		stats_sock_shutdown(s, how);
	OFFLOAD_RETURN(int, shutdown, rc, fd, how);
}

static int engine_getname(int fd, int peer, struct sockaddr *addr, socklen_t *len)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)) || core_in_vfork_child() || !s->ops->getname)
		return -ENOSYS;
	struct sockaddr_storage ss;
	socklen_t want, got = sizeof(ss);
	if (!len || core_copy_in(&want, len, sizeof(want)) < 0)
		return -EFAULT;
	if ((int)want < 0)
		return -EINVAL;
	int rc = s->ops->getname(s, fd, peer, (struct sockaddr *)&ss, &got);
	if (rc < 0)
		return rc;
	if (want && !addr)
		return -EFAULT;
	memcpy(addr, &ss, want < got ? want : got);
	*len = got;
	return 0;
}

ACCEL_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int rc = engine_getname(fd, 0, addr, len);
	if (rc == -ENOSYS)
		return accel_next.getsockname(fd, addr, len);
	OFFLOAD_RETURN(int, getsockname, rc, fd, addr, len);
}

ACCEL_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	int rc = engine_getname(fd, 1, addr, len);
	if (rc == -ENOSYS)
		return accel_next.getpeername(fd, addr, len);
	OFFLOAD_RETURN(int, getpeername, rc, fd, addr, len);
}

ACCEL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!s) || core_in_vfork_child() || !s->type)
		return accel_next.getsockopt(fd, level, name, val, len);
	if (unlikely(level == SOL_ACCEL))
		OFFLOAD_RETURN(int, getsockopt, decide_getsockopt(s, name, val, len), fd, level, name, val, len);
	if (sock_offloaded(s) && s->ops->getsockopt) {
		socklen_t n;
		if (!len || core_copy_in(&n, len, sizeof(n)) < 0)
			OFFLOAD_RETURN(int, getsockopt, -EFAULT, fd, level, name, val, len);
		int rc = s->ops->getsockopt(s, fd, level, name, val, len);
		if (rc != -ENOSYS)
			OFFLOAD_RETURN(int, getsockopt, rc, fd, level, name, val, len);
	}
	return accel_next.getsockopt(fd, level, name, val, len);
}

static int is_group_join(int level, int name)
{
	return (level == IPPROTO_IP && (name == IP_ADD_MEMBERSHIP ||
					name == IP_ADD_SOURCE_MEMBERSHIP)) ||
	       (level == IPPROTO_IPV6 && name == IPV6_JOIN_GROUP) ||
	       ((level == IPPROTO_IP || level == IPPROTO_IPV6) &&
		(name == MCAST_JOIN_GROUP || name == MCAST_JOIN_SOURCE_GROUP));
}

ACCEL_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct accel_sock *s;
	if (unlikely(level == SOL_ACCEL) && (s = fd_table_get(fd)) != NULL && s->type &&
	    !core_in_vfork_child())
		OFFLOAD_RETURN(int, setsockopt, decide_setsockopt(s, name, val, len), fd, level, name, val, len);
	s = fd_table_get(fd);
	if (unlikely(sock_offloaded(s)) && s->ops->setsockopt && !core_in_vfork_child() &&
	    len <= 256) {
		char copy[256];
		if (val && len && core_copy_in(copy, val, len) < 0)
			OFFLOAD_RETURN(int, setsockopt, -EFAULT, fd, level, name, val, len);
		int rc = s->ops->setsockopt(s, fd, level, name, val ? copy : NULL, len);
		if (rc != -ENOSYS)
			OFFLOAD_RETURN(int, setsockopt, rc, fd, level, name, val, len);
		return accel_next.setsockopt(fd, level, name, val, len);
	}
	int rc = accel_next.setsockopt(fd, level, name, val, len);
	if (rc == 0 && is_group_join(level, name) && (s = fd_table_get(fd)) != NULL &&
	    s->type == SOCK_DGRAM)
		decide_socket(s, fd, ROLE_UDP_RECEIVER, NULL, NULL);
	return rc;
}

/*
 * The third argument is an int or a pointer depending on the request; both
 * travel in the same register on every Linux ABI we build for, so it is
 * passed on as a pointer, as glibc itself does.
 */
ACCEL_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	struct accel_sock *s = fd_table_get(fd);
	if (unlikely(sock_offloaded(s)) && s->ops->ioctl && !core_in_vfork_child()) {
		int rc = s->ops->ioctl(s, fd, request, arg);
		if (rc != -ENOSYS)
			OFFLOAD_RETURN(int, ioctl, rc, fd, request, arg);
	}
	return accel_next.ioctl(fd, request, arg);
}
