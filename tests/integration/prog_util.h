/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Helpers of the prog_*.c test programs: loopback socket pairs, exact I/O
 * and errno names, so that each program prints a transcript that depends
 * only on kernel semantics (no ports, pids or timings in it).
 */
#ifndef PROG_UTIL_H
#define PROG_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Print the transcript line at once: a crash later must not lose it. */
__attribute__((format(printf, 1, 2))) static inline void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

__attribute__((noreturn, format(printf, 1, 2))) static inline void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;
	fflush(stdout);
	fprintf(stderr, "FATAL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %d: %s)\n", err, strerror(err));
	exit(2);
}

/* A symbolic name for the errnos a transcript may show. */
static inline const char *errname(int err)
{
	static char buf[32];
	switch (err) {
	case 0: return "0";
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case ENOTSOCK: return "ENOTSOCK";
	case EPIPE: return "EPIPE";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ENOTCONN: return "ENOTCONN";
	case EISCONN: return "EISCONN";
	case ENETUNREACH: return "ENETUNREACH";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EDESTADDRREQ: return "EDESTADDRREQ";
	case ESPIPE: return "ESPIPE";
	case ENOENT: return "ENOENT";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EINPROGRESS: return "EINPROGRESS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EEXIST: return "EEXIST";
	case ELOOP: return "ELOOP";
	case ENOSYS: return "ENOSYS";
	}
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* "rc" or "-1 ENAME" for a call's result, errno read at once. */
static inline const char *res(long rc)
{
	static char buf[64];
	if (rc < 0)
		snprintf(buf, sizeof(buf), "-1 %s", errname(errno));
	else
		snprintf(buf, sizeof(buf), "%ld", rc);
	return buf;
}

/* The loopback address of family, with port (network order). */
static inline socklen_t loopback(int family, unsigned short port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = port;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = port;
	return sizeof(*a);
}

/* ADDR (IPv4 or IPv6 literal) and PORT from the command line, or exit. */
static inline socklen_t parse_addr(const char *host, const char *port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)atoi(port));
		return sizeof(*a6);
	}
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)atoi(port));
		return sizeof(*a4);
	}
	fprintf(stderr, "bad address %s\n", host);
	exit(2);
}

/* A listening TCP socket on the loopback of family, on a free port. */
static inline int tcp_listener(int family, int type_flags)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM | type_flags, 0);
	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind");
	if (listen(fd, 16) < 0)
		die("listen");
	return fd;
}

/* Connect a new TCP socket of family to listener l. */
static inline int tcp_connect_to(int l, int family, int type_flags)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(l, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	int fd = socket(family, SOCK_STREAM | type_flags, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	return fd;
}

/*
 * A connected TCP pair over the loopback of family: sv[0] the connecting
 * end, sv[1] the accepted end. type_flags (SOCK_CLOEXEC...) apply to both.
 */
static inline void tcp_pair(int family, int type_flags, int sv[2])
{
	int l = tcp_listener(family, type_flags);
	sv[0] = tcp_connect_to(l, family, type_flags);
	sv[1] = accept4(l, NULL, NULL, type_flags & (SOCK_CLOEXEC | SOCK_NONBLOCK));
	if (sv[1] < 0)
		die("accept4");
	close(l);
}

/* Write all of buf or die. */
static inline void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("write fd %d", fd);
		p += w;
		n -= (size_t)w;
	}
}

/* Read exactly n bytes; returns what was read before EOF. */
static inline size_t read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read fd %d", fd);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return got;
}

#endif
