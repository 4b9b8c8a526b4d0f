/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The rendezvous: abstract unix names, the hello with the connection's
 * memfd, and the ownership check: the kernel tells the client who answers
 * (SO_PEERCRED) and who owns the TCP listener (/proc/net/tcp*). Runs on
 * connect, listen and accept only, never on a data path.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "rendezvous.h"
#include "sys.h"

/*
 * "\0libaccel/tcp/ADDR/PORT": one name per listening address and port;
 * an IPv6-only listener on :: is "libaccel/tcp6only/::/PORT", which IPv4
 * clients never look for (the kernel would refuse them).
 */
static int name_of(int family, const void *ip, unsigned int port, int v6only, char *path,
		   size_t size)
{
	char text[INET6_ADDRSTRLEN];
	if (!inet_ntop(family, ip, text, sizeof(text)))
		return -EINVAL;
	int n = snprintf(path + 1, size - 1, "libaccel/%s/%s/%u", v6only ? "tcp6only" : "tcp",
			 text, port);
	if (n < 0 || (size_t)n + 1 >= size)
		return -ENAMETOOLONG;
	path[0] = '\0';
	return n + 1;
}

int shm_rv_name(const struct sockaddr *addr, char *path, size_t size)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
		return name_of(AF_INET, &in->sin_addr, ntohs(in->sin_port), 0, path, size);
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
		return name_of(AF_INET6, &in6->sin6_addr, ntohs(in6->sin6_port), 0, path, size);
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

int shm_rv_advertise(int listen_fd, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char path[108];
	struct sockaddr_un un;
	socklen_t un_len;
	if (shm_sys_getsockname(listen_fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	int n = shm_rv_name((struct sockaddr *)&ss, path, sizeof(path));
	int v6only = 0;
	socklen_t olen = sizeof(v6only);
	if (n > 0 && ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr) &&
	    shm_sys_getsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 && v6only)
		n = name_of(AF_INET6, &in6addr_any, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port),
			    1, path, sizeof(path));
	if (n < 0)
		return n;
	int rc = unix_addr(path, n, &un, &un_len);
	if (rc < 0)
		return rc;
	int fd = shm_sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (shm_sys_bind(fd, (struct sockaddr *)&un, un_len) < 0 ||
	    shm_sys_listen(fd, backlog) < 0) {
		int err = errno;
		shm_sys_close(fd);
		return -err;
	}
	return fd;
}

static int send_hello(int fd, const struct shm_rv_hello *h, int memfd)
{
	struct iovec iov = { (void *)h, sizeof(*h) };
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
	ssize_t n;
	while ((n = shm_sys_sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*h) ? 0 : -(n < 0 ? errno : EIO);
}

static void put_addr(struct sockaddr_in6 *out, const struct sockaddr *in)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (in->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)in;
		out->sin6_port = a->sin_port;
		out->sin6_addr.s6_addr[10] = 0xff;
		out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &a->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)in;
		out->sin6_port = a->sin6_port;
		out->sin6_addr = a->sin6_addr;
		out->sin6_scope_id = a->sin6_scope_id;
	}
}

int shm_rv_send_hello(int fd, int memfd, const struct sockaddr *client,
		      const struct sockaddr *server)
{
	struct shm_rv_hello h = { .version = SHM_RV_VERSION };
	put_addr(&h.client, client);
	put_addr(&h.server, server);
	return send_hello(fd, &h, memfd);
}

/* Read one hello (waiting at most timeout_ms): 0 and *memfd, or -errno. */
static int read_hello(int fd, struct shm_rv_hello *h, int *memfd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct iovec iov = { h, sizeof(*h) };
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	ssize_t got = -1;
	if (shm_sys_poll(&p, 1, timeout_ms) == 1)
		got = shm_sys_recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int mfd = -1;
	struct cmsghdr *cm = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(&mfd, CMSG_DATA(cm), sizeof(int));
		for (size_t i = 1; i < nfds; i++) {
			int extra;
			memcpy(&extra, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			shm_sys_close(extra);
		}
	}
	if (got != (ssize_t)sizeof(*h) || (msg.msg_flags & MSG_CTRUNC) ||
	    h->version != SHM_RV_VERSION || mfd < 0 || h->client.sin6_family != AF_INET6 ||
	    h->server.sin6_family != AF_INET6) {
		if (mfd >= 0)
			shm_sys_close(mfd);
		return -EPROTO;
	}
	*memfd = mfd;
	return 0;
}

int shm_rv_accept(int rv_fd, int *memfd, struct shm_rv_hello *h)
{
	/* A client that vanished between connect and hello is skipped;
	 * bounded, so a stream of them cannot hold the caller. */
	for (int tries = 0; tries < 16; tries++) {
		int c = shm_sys_accept4(rv_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (read_hello(c, h, memfd, 1000) == 0)
			return c;
		shm_sys_close(c);
	}
	return -EAGAIN;
}

/*
 * Whether a process of user `uid` holds a TCP socket listening where a
 * connection to dst lands, in this network namespace: read from
 * /proc/net/tcp and tcp6, which belong to the reader's namespace. The
 * kernel, not the peer, says who owns the listener.
 */
/*
 * Lines of a /proc file without stdio: this runs in connect(), which a
 * program may call from a signal handler, where malloc is not safe.
 */
struct line_reader {
	int fd;
	size_t len, pos;
	char buf[4096];
};

static int read_line(struct line_reader *r, char *line, size_t size)
{
	size_t n = 0;
	for (;;) {
		if (r->pos == r->len) {
			ssize_t got;
			while ((got = syscall(SYS_read, r->fd, r->buf, sizeof(r->buf))) < 0 &&
			       errno == EINTR)
				;
			if (got <= 0)
				break;
			r->len = (size_t)got;
			r->pos = 0;
		}
		char ch = r->buf[r->pos++];
		if (ch == '\n')
			break;
		if (n + 1 < size)
			line[n++] = ch;
	}
	line[n] = '\0';
	return n > 0;
}

static int owns_listener(uid_t uid, const struct sockaddr *dst)
{
	static const char *const files[2] = { "/proc/net/tcp", "/proc/net/tcp6" };
	unsigned int port;
	uint32_t want[4] = { 0, 0, 0, 0 };
	int v4 = dst->sa_family == AF_INET;
	if (v4) {
		const struct sockaddr_in *d = (const struct sockaddr_in *)dst;
		port = ntohs(d->sin_port);
		want[0] = d->sin_addr.s_addr;
	} else {
		const struct sockaddr_in6 *d = (const struct sockaddr_in6 *)dst;
		port = ntohs(d->sin6_port);
		memcpy(want, &d->sin6_addr, 16);
	}
	int found = 0;
	for (int f = 0; f < 2 && !found; f++) {
		if (v4 == 0 && f == 0)
			continue; /* an IPv6 destination has only IPv6 listeners */
		struct line_reader r = { .fd = (int)syscall(SYS_openat, AT_FDCWD, files[f],
							      O_RDONLY | O_CLOEXEC) };
		if (r.fd < 0)
			continue;
		char line[512];
		if (!read_line(&r, line, sizeof(line))) { /* header */
			shm_sys_close(r.fd);
			continue;
		}
		while (!found && read_line(&r, line, sizeof(line))) {
			uint32_t a[4] = { 0, 0, 0, 0 };
			unsigned int lport, state, owner;
			int ok;
			if (f == 0)
				ok = sscanf(line, " %*d: %8x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %u", &a[0],
					    &lport, &state, &owner) == 4;
			else
				ok = sscanf(line, " %*d: %8x%8x%8x%8x:%x %*x:%*x %x %*x:%*x %*x:%*x %*x %u",
					    &a[0], &a[1], &a[2], &a[3], &lport, &state, &owner) == 7;
			if (!ok || state != 0x0A || lport != port || owner != uid)
				continue;
			if (f == 0) /* an IPv4 listener: exact or 0.0.0.0 */
				found = a[0] == want[0] || a[0] == 0;
			else if (v4) /* dual-stack: :: or ::ffff:a.b.c.d */
				found = (!a[0] && !a[1] && !a[2] && !a[3]) ||
					(!a[0] && !a[1] && a[2] == htonl(0xffff) && a[3] == want[0]);
			else
				found = (!a[0] && !a[1] && !a[2] && !a[3]) || !memcmp(a, want, 16);
		}
		shm_sys_close(r.fd);
	}
	return found;
}

/* Connect to one name and check what answers: fd, -ENOENT or -EPERM. */
static int try_name(const char *path, int n, const struct sockaddr *dst)
{
	struct sockaddr_un un;
	socklen_t un_len;
	int rc = unix_addr(path, n, &un, &un_len);
	if (rc < 0)
		return rc;
	/* Non-blocking: a full backlog at the name must not hold us. */
	int c = shm_sys_socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	if (shm_sys_connect(c, (struct sockaddr *)&un, un_len) < 0) {
		shm_sys_close(c);
		return -ENOENT; /* nobody advertises this name, or it is jammed */
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (shm_sys_getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    !owns_listener(cred.uid, dst)) {
		shm_sys_close(c);
		return -EPERM; /* whoever answers does not own the listener */
	}
	return c;
}

int shm_rv_find(const struct sockaddr *dst, socklen_t len)
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
	rc = try_name(path, n, dst);
	if (rc != -ENOENT)
		return rc;
	memset(&any, 0, sizeof(any));
	if (dst->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&any;
		a->sin_family = AF_INET;
		a->sin_port = ((const struct sockaddr_in *)dst)->sin_port;
		n = shm_rv_name((struct sockaddr *)a, path, sizeof(path));
		rc = try_name(path, n, dst);
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
	rc = try_name(path, n, dst);
	if (rc != -ENOENT || dst->sa_family != AF_INET6)
		return rc;
	n = name_of(AF_INET6, &in6addr_any, ntohs(((struct sockaddr_in6 *)&any)->sin6_port), 1,
		    path, sizeof(path));
	return try_name(path, n, dst);
}
