/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The rendezvous: abstract unix names, the proof exchange, and the
 * checks on the listening socket a server shows. Runs on connect, listen
 * and accept only, never on a data path.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "rendezvous.h"

struct rv_hello {
	unsigned int version;
	unsigned int nfds; /* listen fd, memfd */
};

/* "\0libaccel/tcp/ADDR/PORT": one name per listening address and port. */
static int name_of(int family, const void *ip, unsigned int port, char *path, size_t size)
{
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, ip, text, sizeof(text)))
		return -EINVAL;
	int n = snprintf(path + 1, size - 1, "libaccel/tcp/%s/%u", text, port);
	if (n < 0 || (size_t)n + 1 >= size)
		return -ENAMETOOLONG;
	path[0] = '\0';
	return n + 1;
}

int shm_rv_name(const struct sockaddr *addr, char *path, size_t size)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		return name_of(AF_INET, &in->sin_addr, ntohs(in->sin_port), path, size);
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		return name_of(AF_INET6, &in6->sin6_addr, ntohs(in6->sin6_port), path, size);
	}
	return -EAFNOSUPPORT;
}

static int unix_addr(const char *path, int len, struct sockaddr_un *un, socklen_t *un_len)
{
	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	if ((size_t)len > sizeof(un->sun_path))
		return -ENAMETOOLONG;
	memcpy(un->sun_path, path, (size_t)len);
	*un_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len);
	return 0;
}

int shm_rv_advertise(int listen_fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char path[108];
	struct sockaddr_un un;
	socklen_t un_len;
	if (getsockname(listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	int n = shm_rv_name((struct sockaddr *)&ss, path, sizeof(path));
	if (n < 0)
		return n;
	int rc = unix_addr(path, n, &un, &un_len);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&un, un_len) < 0 || listen(fd, 128) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int shm_rv_answer(int rv_fd, int listen_fd, int memfd)
{
	int c = accept4(rv_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -errno;
	struct rv_hello hello = { SHM_RV_VERSION, 2 };
	struct iovec iov = { &hello, sizeof(hello) };
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = { listen_fd, memfd };
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(c, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(hello)) {
		int err = errno;
		close(c);
		return -(err ? err : EIO);
	}
	return c;
}

static int sockopt_int(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

/* Whether fd is a TCP socket listening where a connection to dst lands. */
static int proves(int fd, const struct sockaddr *dst)
{
	if (sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN) != 1 ||
	    sockopt_int(fd, SOL_SOCKET, SO_TYPE) != SOCK_STREAM ||
	    sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL) != IPPROTO_TCP)
		return 0;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET && dst->sa_family == AF_INET) {
		const struct sockaddr_in *l = (struct sockaddr_in *)&ss;
		const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
		return l->sin_port == d->sin_port &&
		       (l->sin_addr.s_addr == htonl(INADDR_ANY) ||
			l->sin_addr.s_addr == d->sin_addr.s_addr);
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *l = (struct sockaddr_in6 *)&ss;
		struct in6_addr want;
		unsigned short port;
		if (dst->sa_family == AF_INET6) {
			want = ((const struct sockaddr_in6 *)dst)->sin6_addr;
			port = ((const struct sockaddr_in6 *)dst)->sin6_port;
		} else {
			/* an IPv4 client reaches a dual-stack listener as ::ffff:a.b.c.d */
			const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
			memset(&want, 0, sizeof(want));
			want.s6_addr[10] = want.s6_addr[11] = 0xff;
			memcpy(&want.s6_addr[12], &d->sin_addr, 4);
			port = d->sin_port;
		}
		int mapped = IN6_IS_ADDR_V4MAPPED(&want);
		if (l->sin6_port != port)
			return 0;
		if (IN6_IS_ADDR_UNSPECIFIED(&l->sin6_addr))
			return !mapped || sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0;
		return !memcmp(&l->sin6_addr, &want, sizeof(want));
	}
	return 0;
}

/* Connect to one name and check what answers: fd, -ENOENT or -EPERM. */
static int try_name(const char *path, int n, const struct sockaddr *dst, int timeout_ms,
		    int *memfd)
{
	struct sockaddr_un un;
	socklen_t un_len;
	int rc = unix_addr(path, n, &un, &un_len);
	if (rc < 0)
		return rc;
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	if (connect(c, (struct sockaddr *)&un, un_len) < 0) {
		close(c);
		return -ENOENT; /* nobody advertises this name */
	}
	struct pollfd p = { .fd = c, .events = POLLIN };
	struct rv_hello hello;
	struct iovec iov = { &hello, sizeof(hello) };
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	ssize_t got = -1;
	if (poll(&p, 1, timeout_ms) == 1)
		got = recvmsg(c, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int fds[2] = { -1, -1 };
	struct cmsghdr *cm = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), (nfds < 2 ? nfds : 2) * sizeof(int));
		for (size_t i = 2; i < nfds; i++) {
			int extra;
			memcpy(&extra, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(extra);
		}
	}
	int ok = got == (ssize_t)sizeof(hello) && !(msg.msg_flags & MSG_CTRUNC) &&
		 hello.version == SHM_RV_VERSION && fds[0] >= 0 && fds[1] >= 0 &&
		 proves(fds[0], dst);
	if (fds[0] >= 0)
		close(fds[0]); /* the proof has served */
	if (!ok) {
		if (fds[1] >= 0)
			close(fds[1]);
		close(c);
		return got > 0 ? -EPERM : -ENOENT;
	}
	*memfd = fds[1];
	return c;
}

int shm_rv_find(const struct sockaddr *dst, socklen_t len, int timeout_ms, int *memfd)
{
	char path[108];
	struct sockaddr_storage any;
	int n, rc = -ENOENT;
	struct sockaddr_in v4;
	if (len < sizeof(sa_family_t) ||
	    (dst->sa_family == AF_INET && len < sizeof(struct sockaddr_in)) ||
	    (dst->sa_family == AF_INET6 && len < sizeof(struct sockaddr_in6)))
		return -EINVAL;
	if (dst->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)dst)->sin6_addr)) {
		/* ::ffff:a.b.c.d reaches IPv4 listeners: look for those */
		const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *)dst;
		memset(&v4, 0, sizeof(v4));
		v4.sin_family = AF_INET;
		v4.sin_port = d6->sin6_port;
		memcpy(&v4.sin_addr, &d6->sin6_addr.s6_addr[12], 4);
		dst = (const struct sockaddr *)&v4;
	}
	/* The exact address first, then listeners on every address. */
	if ((n = shm_rv_name(dst, path, sizeof(path))) < 0)
		return n;
	rc = try_name(path, n, dst, timeout_ms, memfd);
	if (rc != -ENOENT)
		return rc;
	memset(&any, 0, sizeof(any));
	if (dst->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&any;
		a->sin_family = AF_INET;
		a->sin_port = ((const struct sockaddr_in *)dst)->sin_port;
		n = shm_rv_name((struct sockaddr *)a, path, sizeof(path));
		rc = try_name(path, n, dst, timeout_ms, memfd);
		if (rc != -ENOENT)
			return rc;
		/* a dual-stack IPv6 listener on :: also takes IPv4 clients */
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&any;
		memset(&any, 0, sizeof(any));
		a6->sin6_family = AF_INET6;
		a6->sin6_port = ((const struct sockaddr_in *)dst)->sin_port;
	} else {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&any;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = ((const struct sockaddr_in6 *)dst)->sin6_port;
	}
	n = shm_rv_name((struct sockaddr *)&any, path, sizeof(path));
	return try_name(path, n, dst, timeout_ms, memfd);
}
