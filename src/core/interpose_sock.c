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
#include "decide.h"
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
	if (rc == 0 && s && s->type == SOCK_STREAM)
		decide_socket(s, fd, ROLE_TCP_SERVER, NULL, NULL);
	return rc;
}

static void register_accepted(int listen_fd, int fd)
{
	struct accel_sock *l = fd_table_get(listen_fd);
	if (l && !core_in_vfork_child()) {
		sock_register(fd, l->domain, l->type, l->protocol);
		decide_inherit(fd_table_get(fd), l);
	}
}

ACCEL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	int nfd = accel_next.accept(fd, addr, len);
	if (nfd >= 0)
		register_accepted(fd, nfd);
	return nfd;
}

ACCEL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	int nfd = accel_next.accept4(fd, addr, len, flags);
	if (nfd >= 0)
		register_accepted(fd, nfd);
	return nfd;
}

ACCEL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct accel_sock *s = fd_table_get(fd);
	struct sockaddr_storage ss;
	/* Read the address only as the kernel would: a bad pointer or length
	 * gets the kernel's error, not a crash, and no decision. */
	if (s && !s->decided && decide_copy_addr(&ss, addr, len) == 0)
		decide_socket(s, fd, s->type == SOCK_STREAM ? ROLE_TCP_CLIENT : ROLE_UDP_CONNECT,
			      NULL, (struct sockaddr *)&ss);
	return accel_next.connect(fd, addr, len);
}

ACCEL_EXPORT int shutdown(int fd, int how)
{
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!sock_offloaded(s)))
		return accel_next.shutdown(fd, how);
	return (int)libc_ret(s->ops->shutdown(s, how));
}

ACCEL_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return accel_next.getsockname(fd, addr, len);
}

ACCEL_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return accel_next.getpeername(fd, addr, len);
}

ACCEL_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct accel_sock *s;
	if (unlikely(level == SOL_ACCEL) && (s = fd_table_get(fd)) != NULL && !core_in_vfork_child())
		return (int)libc_ret(decide_getsockopt(s, name, val, len));
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
	if (unlikely(level == SOL_ACCEL) && (s = fd_table_get(fd)) != NULL && !core_in_vfork_child())
		return (int)libc_ret(decide_setsockopt(s, name, val, len));
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
	return accel_next.ioctl(fd, request, arg);
}
