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
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rendezvous.h"

struct rv_hello {
	unsigned int version;
	unsigned int nfds; /* listen fd, memfd */
};

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
	int v6only = 0;
	socklen_t olen = sizeof(v6only);
	if (n > 0 && ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr) &&
	    getsockopt(listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &olen) == 0 && v6only)
		n = name_of(AF_INET6, &in6addr_any, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port),
			    1, path, sizeof(path));
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

int shm_rv_answer(int rv_fd, int memfd)
{
	int c = accept4(rv_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return -errno;
	struct rv_hello hello = { SHM_RV_VERSION, 1 };
	struct iovec iov = { &hello, sizeof(hello) };
	char ctl[CMSG_SPACE(sizeof(int))];
	memset(ctl, 0, sizeof(ctl));
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &memfd, sizeof(int));
	if (sendmsg(c, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(hello)) {
		int err = errno;
		close(c);
		return -(err ? err : EIO);
	}
	return c;
}

/*
 * Whether a process of user `uid` holds a TCP socket listening where a
 * connection to dst lands, in this network namespace: read from
 * /proc/net/tcp and tcp6, which belong to the reader's namespace. The
 * kernel, not the peer, says who owns the listener.
 */
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
		FILE *fp = fopen(files[f], "re");
		if (!fp)
			continue;
		char line[512];
		if (!fgets(line, sizeof(line), fp)) { /* header */
			fclose(fp);
			continue;
		}
		while (!found && fgets(line, sizeof(line), fp)) {
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
		fclose(fp);
	}
	return found;
}

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Connect to one name and check what answers: fd, -ENOENT or -EPERM. */
static int try_name(const char *path, int n, const struct sockaddr *dst, long deadline,
		    int *memfd)
{
	struct sockaddr_un un;
	socklen_t un_len;
	int rc = unix_addr(path, n, &un, &un_len);
	if (rc < 0)
		return rc;
	/* Non-blocking: a full backlog at the name must not hold us. */
	int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c < 0)
		return -errno;
	if (connect(c, (struct sockaddr *)&un, un_len) < 0 && errno != EINPROGRESS) {
		close(c);
		return -ENOENT; /* nobody advertises this name, or it is jammed */
	}
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    !owns_listener(cred.uid, dst)) {
		close(c);
		return -EPERM; /* whoever answers does not own the listener */
	}
	struct pollfd p = { .fd = c, .events = POLLIN };
	struct rv_hello hello;
	struct iovec iov = { &hello, sizeof(hello) };
	char ctl[CMSG_SPACE(2 * sizeof(int))];
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			      .msg_controllen = sizeof(ctl) };
	ssize_t got = -1;
	long left = deadline - now_ms();
	if (left > 0 && poll(&p, 1, (int)left) == 1)
		got = recvmsg(c, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int fd = -1;
	struct cmsghdr *cm = got > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		for (size_t i = 1; i < nfds; i++) {
			int extra;
			memcpy(&extra, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(extra);
		}
	}
	int ok = got == (ssize_t)sizeof(hello) && !(msg.msg_flags & MSG_CTRUNC) &&
		 hello.version == SHM_RV_VERSION && fd >= 0;
	if (!ok) {
		if (fd >= 0)
			close(fd);
		close(c);
		return -ENOENT;
	}
	*memfd = fd;
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
	long deadline = now_ms() + timeout_ms;
	rc = try_name(path, n, dst, deadline, memfd);
	if (rc != -ENOENT)
		return rc;
	memset(&any, 0, sizeof(any));
	if (dst->sa_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&any;
		a->sin_family = AF_INET;
		a->sin_port = ((const struct sockaddr_in *)dst)->sin_port;
		n = shm_rv_name((struct sockaddr *)a, path, sizeof(path));
		rc = try_name(path, n, dst, deadline, memfd);
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
	rc = try_name(path, n, dst, deadline, memfd);
	if (rc != -ENOENT || dst->sa_family != AF_INET6)
		return rc;
	n = name_of(AF_INET6, &in6addr_any, ntohs(((struct sockaddr_in6 *)&any)->sin6_port), 1,
		    path, sizeof(path));
	return try_name(path, n, dst, deadline, memfd);
}
