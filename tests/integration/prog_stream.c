/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * TCP stream semantics over loopback, as a transcript that must not depend
 * on what carries the bytes (the kernel, or libaccel's shm engine): the data
 * calls blocking and non-blocking, MSG_PEEK/DONTWAIT/WAITALL/TRUNC/MORE/
 * NOSIGNAL, SIGPIPE, half and full shutdown, resets (close with unread data,
 * SO_LINGER 0), FIONREAD/SIOCINQ/SIOCOUTQ, SO_RCVTIMEO/SO_SNDTIMEO on full
 * buffers, TCP and socket options, sendfile, names on both ends, IPv6 and
 * v4-mapped peers of a dual-stack listener, accept4 flags, non-blocking
 * connect, poll/select/epoll readiness (level, edge, one-shot, RDHUP, HUP),
 * and a forked peer for MSG_WAITALL and blocking reads. Counts that depend
 * on buffer sizes, ports or timing are never printed.
 *
 * Usage: prog_stream ENGINES SCRATCH. ENGINES gets "label: engine" for each
 * socket (SOL_ACCEL/SO_ACCEL_ENGINE: "shm" under libaccel, an error plain),
 * outside the transcript; SCRATCH is a temporary file for sendfile.
 * One call with an effect per transcript line: C leaves the order in which
 * arguments are evaluated open.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "prog_util.h"

#ifndef SOL_ACCEL /* <accel/socket.h> */
#define SOL_ACCEL 0x0acc
#define SO_ACCEL_ENGINE 3
#endif
#define ALL (POLLIN | POLLOUT | POLLRDHUP) /* what most polls here ask */

static FILE *engines;
static const char *scratch;
static volatile sig_atomic_t sigpipes;
static char buf[256]; /* what the last receive got */

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* What carries fd, into the ENGINES file (not the transcript). */
static void engine(const char *label, const char *end, int fd)
{
	char name[16] = "";
	socklen_t len = sizeof(name);
	int rc = getsockopt(fd, SOL_ACCEL, SO_ACCEL_ENGINE, name, &len);
	fprintf(engines, "%s %s: %s\n", label, end, rc == 0 ? name : res(rc));
}

/* A receive's result, with the bytes it put in buf: 5 "hello". */
static const char *io(ssize_t r)
{
	static char out[160];
	if (r > 0)
		snprintf(out, sizeof(out), "%zd \"%.*s\"", r, (int)(r < 64 ? r : 64), buf);
	else
		snprintf(out, sizeof(out), "%s", res(r));
	return out;
}

static const char *rx(int fd, size_t n, int flags)
{
	return io(recv(fd, buf, n, flags));
}

static const char *yes(int cond)
{
	return cond ? "yes" : "no";
}

static const char *evnames(int ev)
{
	static char out[4][64];
	static int slot;
	char *o = out[slot++ & 3];
	snprintf(o, sizeof(out[0]), "%s%s%s%s%s", ev & POLLIN ? "|IN" : "",
		 ev & POLLOUT ? "|OUT" : "", ev & POLLRDHUP ? "|RDHUP" : "",
		 ev & POLLHUP ? "|HUP" : "", ev & POLLERR ? "|ERR" : "");
	return o[0] ? o + 1 : "0";
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* poll fd for events until all of want show, at most 2 s; the revents. */
static const char *ev(int fd, int events, int want)
{
	long long end = now_ms() + (want ? 2000 : 0);
	struct pollfd p = { .fd = fd, .events = (short)events };
	for (;;) {
		p.revents = 0;
		int left = (int)(end - now_ms());
		int n = poll(&p, 1, left > 0 ? left : 0);
		if (n < 0 && errno != EINTR)
			die("poll");
		if ((p.revents & want) == want || left <= 0)
			return evnames(p.revents);
		if (n > 0)
			usleep(1000); /* something else is ready: look again soon */
	}
}

/* Wait (at most 2 s) until n bytes are readable; FIONREAD then. */
static int inq(int fd, int n)
{
	int v = -1;
	for (long long end = now_ms() + 2000; now_ms() < end; usleep(1000))
		if (ioctl(fd, FIONREAD, &v) < 0 || v >= n)
			break;
	return v;
}

/* Whether SIOCOUTQ of fd comes to 0 within ms. */
static int outq_drains(int fd, int ms)
{
	int v = -1;
	for (long long end = now_ms() + ms; now_ms() < end; usleep(1000))
		if (ioctl(fd, SIOCOUTQ, &v) < 0 || v == 0)
			break;
	return v == 0;
}

static int getint(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	return getsockopt(fd, level, name, &v, &len) < 0 ? -errno : v;
}

static int setint(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v));
}

/* An option's value, the result of setting it to v, and its value then. */
static void option(const char *what, int fd, int level, int name, int v)
{
	int before = getint(fd, level, name);
	int rc = setint(fd, level, name, v);
	say("%s: %d, set %d: %s, then %d", what, before, v, res(rc), getint(fd, level, name));
}

static unsigned short port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
					: ((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* "AF_INET 127.0.0.1": the family and address, never the port. */
static const char *host_of(const struct sockaddr_storage *ss)
{
	static char out[4][80];
	static int slot;
	char *o = out[slot++ & 3], ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_in *a4 = (const void *)ss;
	const struct sockaddr_in6 *a6 = (const void *)ss;
	const void *a = ss->ss_family == AF_INET ? (const void *)&a4->sin_addr : &a6->sin6_addr;
	inet_ntop(ss->ss_family, a, ip, sizeof(ip));
	snprintf(o, sizeof(out[0]), "%s %s", ss->ss_family == AF_INET ? "AF_INET" : "AF_INET6", ip);
	return o;
}

static void name_of(int fd, int peer, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)ss, &len) < 0)
		die("get%sname", peer ? "peer" : "sock");
}

/* Every name of a connection from c to l, accepted as s with address acc. */
static void names(int l, int c, int s, const struct sockaddr_storage *acc)
{
	struct sockaddr_storage ln, cl, cp, sl, sp;
	name_of(l, 0, &ln);
	name_of(c, 0, &cl);
	name_of(c, 1, &cp);
	name_of(s, 0, &sl);
	name_of(s, 1, &sp);
	say("client name %s, peer %s", host_of(&cl), host_of(&cp));
	say("server name %s, peer %s; accept() gave %s", host_of(&sl), host_of(&sp), host_of(acc));
	say("client port == server's peer port == accept()'s port: %s",
	    yes(port_of(&cl) && port_of(&cl) == port_of(&sp) && port_of(&cl) == port_of(acc)));
	say("client's peer port == server's port == listener's port: %s",
	    yes(port_of(&cp) == port_of(&ln) && port_of(&sl) == port_of(&ln)));
}

/* Connect a new socket of family to listener l at address dst (*c), accept
 * it (*s) and show every name of the connection. */
static void connect_named(int l, int family, const char *dst, const char *label, int *c, int *s)
{
	struct sockaddr_storage ln, to, acc;
	char port[8];
	name_of(l, 0, &ln);
	snprintf(port, sizeof(port), "%u", ntohs(port_of(&ln)));
	socklen_t len = parse_addr(dst, port, &to);
	*c = socket(family, SOCK_STREAM, 0);
	say("connect(%s socket, %s): %s", family == AF_INET ? "AF_INET" : "AF_INET6", dst,
	    res(connect(*c, (struct sockaddr *)&to, len)));
	len = sizeof(acc);
	if ((*s = accept(l, (struct sockaddr *)&acc, &len)) < 0)
		die("accept");
	engine(label, "client", *c);
	engine(label, "server", *s);
	say("accept() addrlen %u", len);
	names(l, *c, *s, &acc);
}

/* A connected pair over 127.0.0.1: *c connects, *s is accepted.
 * bufsize: SO_SNDBUF of *c and SO_RCVBUF of the listener, or 0. */
static void pair(int *c, int *s, int bufsize, const char *label)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 0, &ss);
	int l = socket(AF_INET, SOCK_STREAM, 0);
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (bufsize && (setint(l, SOL_SOCKET, SO_RCVBUF, bufsize) < 0 ||
			setint(*c, SOL_SOCKET, SO_SNDBUF, bufsize) < 0))
		die("SO_RCVBUF, SO_SNDBUF");
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, 4) < 0)
		die("listen");
	name_of(l, 0, &ss);
	if (connect(*c, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	if ((*s = accept(l, NULL, NULL)) < 0)
		die("accept");
	engine(label, "client", *c);
	engine(label, "server", *s);
	close(l);
}

static void basic_io(void)
{
	say("== names and blocking I/O over 127.0.0.1");
	char b1[4], b2[4];
	struct sockaddr_storage to, from;
	int c, s, l = tcp_listener(AF_INET, 0);
	engine("v4", "listener", l);
	connect_named(l, AF_INET, "127.0.0.1", "v4", &c, &s);
	socklen_t len = 4;
	struct sockaddr_in small = { 0 };
	len = 4;
	int rc = getpeername(c, (struct sockaddr *)&small, &len);
	say("getpeername(client) into 4 bytes: %s, len %u, family AF_INET: %s", res(rc), len,
	    yes(small.sin_family == AF_INET));
	say("send: %s", res(send(c, "hello", 5, 0)));
	say("recv: %s", rx(s, sizeof(buf), 0));
	say("write: %s", res(write(s, "world!", 6)));
	say("read: %s", io(read(c, buf, sizeof(buf))));
	struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "f", 1 } };
	say("writev 2+3+1: %s", res(writev(c, wv, 3)));
	say("FIONREAD once 6 arrived: %d", inq(s, 6));
	struct iovec rv[2] = { { b1, 4 }, { b2, 4 } };
	ssize_t r = readv(s, rv, 2);
	say("readv 4+4: %s \"%.4s|%.*s\"", res(r), b1, (int)(r > 4 ? r - 4 : 0), b2);
	name_of(c, 1, &to);
	name_of(s, 1, &from);
	struct iovec mv[2] = { { "msg", 3 }, { "hdr", 3 } };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(struct sockaddr_in),
			    .msg_iov = mv, .msg_iovlen = 2 };
	say("sendmsg 3+3 with msg_name: %s", res(sendmsg(c, &m, 0)));
	struct iovec iv = { buf, sizeof(buf) };
	struct msghdr in = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iv,
			     .msg_iovlen = 1 };
	inq(s, 6);
	r = recvmsg(s, &in, 0);
	say("recvmsg: %s, namelen %u, flags %d", io(r), in.msg_namelen, in.msg_flags);
	say("sendto with an address: %s",
	    res(sendto(s, "to", 2, 0, (struct sockaddr *)&from, sizeof(struct sockaddr_in))));
	len = sizeof(from);
	r = recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	say("recvfrom: %s, addrlen %u", io(r), len);
	say("send of 0 bytes: %s", res(send(c, buf, 0, 0)));
	say("recv of 0 bytes MSG_DONTWAIT, nothing queued: %s", res(recv(s, buf, 0, MSG_DONTWAIT)));
	close(c);
	close(s);
	close(l);
}

static void nonblocking(void)
{
	say("== non-blocking calls");
	int c, s, one = 1, zero = 0;
	pair(&c, &s, 0, "nonblock");
	say("recv MSG_DONTWAIT, empty: %s", rx(s, sizeof(buf), MSG_DONTWAIT));
	struct msghdr m = { .msg_iov = &(struct iovec){ buf, 8 }, .msg_iovlen = 1 };
	say("recvmsg MSG_DONTWAIT, empty: %s", res(recvmsg(s, &m, MSG_DONTWAIT)));
	say("F_SETFL O_NONBLOCK: %s", res(fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)));
	say("recv, empty: %s", rx(s, sizeof(buf), 0));
	say("read, empty: %s", res(read(s, buf, sizeof(buf))));
	say("readv, empty: %s", res(readv(s, &(struct iovec){ buf, 8 }, 1)));
	say("recvmsg, empty: %s", res(recvmsg(s, &m, 0)));
	say("send: %s", res(send(s, "nb", 2, 0)));
	m.msg_iov = &(struct iovec){ "!", 1 };
	say("sendmsg: %s", res(sendmsg(s, &m, 0)));
	say("write: %s", res(write(s, "?", 1)));
	say("writev: %s", res(writev(s, &(struct iovec){ "$", 1 }, 1)));
	inq(c, 5);
	say("recv MSG_DONTWAIT: %s", rx(c, sizeof(buf), MSG_DONTWAIT));
	say("ioctl FIONBIO 1: %s", res(ioctl(c, FIONBIO, &one)));
	say("O_NONBLOCK now: %s", yes(fcntl(c, F_GETFL) & O_NONBLOCK));
	say("read, empty: %s", res(read(c, buf, sizeof(buf))));
	say("ioctl FIONBIO 0: %s", res(ioctl(c, FIONBIO, &zero)));
	say("O_NONBLOCK now: %s", yes(fcntl(c, F_GETFL) & O_NONBLOCK));
	write_all(s, "x", 1);
	say("blocking read: %s", io(read(c, buf, sizeof(buf))));
	close(c);
	close(s);
}

static void msg_flags(void)
{
	say("== MSG_PEEK, MSG_TRUNC, MSG_MORE, TCP_CORK");
	int c, s;
	pair(&c, &s, 0, "flags");
	write_all(c, "peekaboo", 8);
	say("FIONREAD: %d", inq(s, 8));
	say("recv 4 MSG_PEEK: %s", rx(s, 4, MSG_PEEK));
	say("recv 64 MSG_PEEK: %s", rx(s, 64, MSG_PEEK));
	say("recv 4: %s", rx(s, 4, 0));
	say("recv 64 MSG_PEEK|MSG_DONTWAIT: %s", rx(s, 64, MSG_PEEK | MSG_DONTWAIT));
	say("recv 64: %s", rx(s, 64, 0));
	say("recv MSG_PEEK|MSG_DONTWAIT, empty: %s", rx(s, 64, MSG_PEEK | MSG_DONTWAIT));
	write_all(c, "discard", 7);
	inq(s, 7);
	memset(buf, '.', sizeof(buf));
	say("recv 3 MSG_TRUNC: %s", res(recv(s, buf, 3, MSG_TRUNC)));
	say("the buffer untouched (TCP discards): %s", yes(!memcmp(buf, "...", 3)));
	say("then recv: %s", rx(s, 64, 0));
	say("send MSG_MORE: %s", res(send(c, "mo", 2, MSG_MORE)));
	say("send: %s", res(send(c, "re", 2, 0)));
	say("FIONREAD: %d", inq(s, 4));
	say("recv: %s", rx(s, 64, 0));
	say("TCP_CORK on: %s", res(setint(c, IPPROTO_TCP, TCP_CORK, 1)));
	say("TCP_CORK reads %d", getint(c, IPPROTO_TCP, TCP_CORK));
	write_all(c, "ab", 2);
	write_all(c, "cd", 2);
	say("TCP_CORK off: %s", res(setint(c, IPPROTO_TCP, TCP_CORK, 0)));
	say("FIONREAD: %d", inq(s, 4));
	say("recv: %s", rx(s, 64, 0));
	close(c);
	close(s);
}

static void options_ioctls(void)
{
	say("== options and ioctls");
	int c, s, v = -1;
	char cc[32] = "", sys_cc[32] = "";
	pair(&c, &s, 0, "options");
	option("TCP_NODELAY", c, IPPROTO_TCP, TCP_NODELAY, 1);
	option("SO_KEEPALIVE", c, SOL_SOCKET, SO_KEEPALIVE, 1);
	option("TCP_KEEPIDLE", c, IPPROTO_TCP, TCP_KEEPIDLE, 30);
	option("TCP_KEEPINTVL", s, IPPROTO_TCP, TCP_KEEPINTVL, 5);
	option("TCP_KEEPCNT", s, IPPROTO_TCP, TCP_KEEPCNT, 3);
	say("SO_TYPE %d, SO_DOMAIN %d, SO_PROTOCOL %d, SO_ACCEPTCONN %d, SO_ERROR %d",
	    getint(s, SOL_SOCKET, SO_TYPE), getint(s, SOL_SOCKET, SO_DOMAIN),
	    getint(s, SOL_SOCKET, SO_PROTOCOL), getint(s, SOL_SOCKET, SO_ACCEPTCONN),
	    getint(s, SOL_SOCKET, SO_ERROR));
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);
	say("TCP_INFO: %s", res(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len)));
	say("TCP_INFO state: %d", ti.tcpi_state);
	len = sizeof(cc);
	getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, cc, &len);
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_congestion_control", "r");
	if (f && fgets(sys_cc, sizeof(sys_cc), f))
		sys_cc[strcspn(sys_cc, "\n")] = '\0';
	if (f)
		fclose(f);
	say("TCP_CONGESTION is the system's default: %s", yes(!strcmp(cc, sys_cc)));
	say("SIOCINQ on a new connection: %s", res(ioctl(s, SIOCINQ, &v)));
	say("  = %d", v);
	say("SIOCOUTQ on a new connection: %s", res(ioctl(c, SIOCOUTQ, &v)));
	say("  = %d", v);
	say("send 10: %s", res(send(c, "0123456789", 10, 0)));
	say("poll for POLLIN: %s", ev(s, POLLIN, POLLIN));
	say("FIONREAD: %d", inq(s, 10));
	ioctl(s, SIOCINQ, &v);
	say("SIOCINQ: %d", v);
	say("SIOCOUTQ of the sender, the peer not reading: %s",
	    outq_drains(c, 1000) ? "0 within 1 s (all acknowledged)" : "stays above 0");
	say("recv 4: %s", rx(s, 4, 0));
	ioctl(s, FIONREAD, &v);
	say("FIONREAD: %d", v);
	say("recv: %s", rx(s, sizeof(buf), 0));
	ioctl(s, FIONREAD, &v);
	say("FIONREAD: %d", v);
	say("SIOCOUTQ after the peer read all: %s", outq_drains(c, 2000) ? "0" : "stays above 0");
	close(c);
	close(s);
}

static void sendfile_(void)
{
	say("== sendfile");
	int c, s;
	pair(&c, &s, 0, "sendfile");
	int f = open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f < 0)
		die("open %s", scratch);
	write_all(f, "0123456789abcdefghij", 20);
	off_t off = 0;
	say("sendfile 20 at offset 0: %s", res(sendfile(c, f, &off, 20)));
	say("  offset now %ld, peer: %s", (long)off, rx(s, 20, MSG_WAITALL));
	off = 5;
	say("sendfile 5 at offset 5: %s", res(sendfile(c, f, &off, 5)));
	say("  offset now %ld, peer: %s", (long)off, rx(s, 5, MSG_WAITALL));
	lseek(f, 2, SEEK_SET);
	say("sendfile 8 from the file position 2: %s", res(sendfile(c, f, NULL, 8)));
	say("  position now %ld, peer: %s", (long)lseek(f, 0, SEEK_CUR), rx(s, 8, MSG_WAITALL));
	off = 20;
	say("sendfile at the end of the file: %s", res(sendfile(c, f, &off, 8)));
	close(f);
	close(c);
	close(s);
}

static void shutdowns(void)
{
	say("== shutdown");
	int c, s;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	pair(&c, &s, 0, "shut_wr");
	write_all(c, "bye", 3);
	say("shutdown(client, SHUT_WR): %s", res(shutdown(c, SHUT_WR)));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	say("server poll: %s", ev(s, ALL, POLLRDHUP));
	say("client poll: %s", ev(c, ALL, 0));
	say("client send MSG_NOSIGNAL: %s", res(send(c, "x", 1, MSG_NOSIGNAL)));
	say("server send back: %s", res(send(s, "ack", 3, 0)));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	say("shutdown(server, SHUT_WR): %s", res(shutdown(s, SHUT_WR)));
	say("client poll: %s", ev(c, ALL, POLLHUP));
	say("server poll: %s", ev(s, ALL, POLLHUP));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	say("client getpeername after both FINs: %s",
	    res(getpeername(c, (struct sockaddr *)&ss, &len)));
	say("shutdown(client, SHUT_RDWR) after both FINs: %s", res(shutdown(c, SHUT_RDWR)));
	close(c);
	close(s);

	pair(&c, &s, 0, "shut_rd");
	say("shutdown(server, SHUT_RD): %s", res(shutdown(s, SHUT_RD)));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	say("server poll: %s", ev(s, POLLIN | POLLRDHUP, 0));
	say("client poll: %s", ev(c, ALL, 0));
	say("client send: %s", res(send(c, "late", 4, 0)));
	say("server FIONREAD: %d", inq(s, 4));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	say("server send: %s", res(send(s, "back", 4, 0)));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	close(c);
	close(s);

	pair(&c, &s, 0, "shut_rdwr");
	say("shutdown(client, SHUT_RDWR): %s", res(shutdown(c, SHUT_RDWR)));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	say("client send MSG_NOSIGNAL: %s", res(send(c, "x", 1, MSG_NOSIGNAL)));
	say("client poll: %s", ev(c, ALL, 0));
	say("server poll: %s", ev(s, ALL, POLLRDHUP));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	say("shutdown(client, 7): %s", res(shutdown(c, 7)));
	close(c);
	close(s);
}

/* What the peer of a reset sees: poll, SO_ERROR (first, if asked), recv, send. */
static void after_reset(int c, int so_error_first)
{
	say("poll: %s", ev(c, ALL, POLLERR));
	if (so_error_first)
		say("SO_ERROR: %s", errname(getint(c, SOL_SOCKET, SO_ERROR)));
	say("recv: %s", rx(c, sizeof(buf), 0));
	say("recv again: %s", rx(c, sizeof(buf), 0));
	say("send MSG_NOSIGNAL: %s", res(send(c, "x", 1, MSG_NOSIGNAL)));
	say("SO_ERROR: %s", errname(getint(c, SOL_SOCKET, SO_ERROR)));
}

static void resets(void)
{
	say("== close with unread data, SO_LINGER {1, 0}");
	int c, s;
	pair(&c, &s, 0, "unread");
	write_all(c, "unread", 6);
	inq(s, 6);
	say("server close with 6 bytes unread: %s", res(close(s)));
	after_reset(c, 0);
	close(c);

	pair(&c, &s, 0, "linger");
	struct linger lg = { 1, 0 };
	say("SO_LINGER {1, 0}: %s", res(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))));
	say("server close: %s", res(close(s)));
	after_reset(c, 1);
	close(c);
}

static void epipe(void)
{
	say("== send after the peer closed: EPIPE, SIGPIPE");
	int c, s;
	ssize_t r;
	pair(&c, &s, 0, "epipe");
	say("server close: %s", res(close(s)));
	say("client poll: %s", ev(c, ALL, POLLRDHUP));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	r = send(c, "1", 1, 0);
	say("first send after the peer's close: %s, SIGPIPEs %d", res(r), sigpipes);
	say("client poll: %s", ev(c, ALL, POLLERR));
	say("client recv: %s", rx(c, sizeof(buf), 0));
	r = send(c, "2", 1, MSG_NOSIGNAL);
	say("send MSG_NOSIGNAL: %s, SIGPIPEs %d", res(r), sigpipes);
	r = write(c, "3", 1);
	say("write: %s, SIGPIPEs %d", res(r), sigpipes);
	r = send(c, "4", 1, 0);
	say("send: %s, SIGPIPEs %d", res(r), sigpipes);
	struct msghdr m = { .msg_iov = &(struct iovec){ "5", 1 }, .msg_iovlen = 1 };
	r = sendmsg(c, &m, MSG_NOSIGNAL);
	say("sendmsg MSG_NOSIGNAL: %s, SIGPIPEs %d", res(r), sigpipes);
	close(c);
}

/* A pattern no two nearby offsets share, to check a long stream. */
static void fill(char *p, size_t n, size_t at)
{
	for (size_t k = 0; k < n; k++)
		p[k] = (char)((at + k) * 7 + (at + k) / 251);
}

static void full_buffers(void)
{
	say("== full buffers, SO_RCVTIMEO, SO_SNDTIMEO");
	static char chunk[16384], want[16384];
	int c, s;
	pair(&c, &s, 4096, "small buffers");
	struct timeval tv = { 0, 100000 };
	say("SO_RCVTIMEO 100 ms: %s", res(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))));
	say("recv, nothing comes: %s", rx(s, 1, 0));
	say("read, nothing comes: %s", res(read(s, buf, 1)));
	size_t sent = 0, got = 0;
	ssize_t r = 0;
	for (int i = 0; i < 4096; i++) {
		fill(chunk, sizeof(chunk), sent);
		if ((r = send(c, chunk, sizeof(chunk), MSG_DONTWAIT)) <= 0)
			break;
		sent += (size_t)r;
	}
	say("MSG_DONTWAIT sends until full: %s", res(r));
	say("POLLOUT now: %s", ev(c, POLLOUT, 0));
	say("SO_SNDTIMEO 100 ms: %s", res(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))));
	fill(chunk, sizeof(chunk), sent);
	r = send(c, chunk, sizeof(chunk), 0);
	say("blocking send on the full buffer: %s",
	    (r < 0 && errno == EAGAIN) || r > 0 ? "EAGAIN or a count" : res(r));
	sent += r > 0 ? (size_t)r : 0;
	tv.tv_usec = 0;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int intact = 1;
	while (got < sent) {
		size_t n = sent - got < sizeof(chunk) ? sent - got : sizeof(chunk);
		size_t k = read_full(s, chunk, n);
		fill(want, k, got);
		intact &= !memcmp(chunk, want, k);
		got += k;
		if (k < n)
			break;
	}
	say("the peer reads every byte sent: %s, intact: %s", yes(got == sent), yes(intact));
	say("POLLOUT after the peer read all: %s", ev(c, POLLOUT, POLLOUT));
	int v = -1;
	ioctl(s, FIONREAD, &v);
	say("FIONREAD of the peer: %d", v);
	close(c);
	close(s);
}

static void connect_accept(void)
{
	say("== non-blocking connect, accept4 flags");
	int l = tcp_listener(AF_INET, 0), rc;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(struct sockaddr_in);
	name_of(l, 0, &ss);
	fcntl(l, F_SETFL, O_NONBLOCK);
	say("accept4 on an O_NONBLOCK listener, nothing pending: %s",
	    res(accept4(l, NULL, NULL, SOCK_NONBLOCK)));
	fcntl(l, F_SETFL, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	rc = connect(c, (struct sockaddr *)&ss, len);
	say("non-blocking connect: %s",
	    rc == 0 || errno == EINPROGRESS ? "0 or EINPROGRESS" : res(rc));
	say("poll: %s", ev(c, POLLOUT, POLLOUT));
	say("SO_ERROR: %s", errname(getint(c, SOL_SOCKET, SO_ERROR)));
	say("connect again: %s", res(connect(c, (struct sockaddr *)&ss, len)));
	say("and again: %s", res(connect(c, (struct sockaddr *)&ss, len)));
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	engine("nonblocking connect", "client", c);
	engine("accept4", "server", s);
	say("accept4 SOCK_NONBLOCK|SOCK_CLOEXEC: O_NONBLOCK %s, FD_CLOEXEC %s",
	    yes(fcntl(s, F_GETFL) & O_NONBLOCK), yes(fcntl(s, F_GETFD) & FD_CLOEXEC));
	say("recv on it, empty: %s", rx(s, sizeof(buf), 0));
	say("send on the connected non-blocking client: %s", res(send(c, "nb connect", 10, 0)));
	say("server poll: %s", ev(s, POLLIN | POLLOUT, POLLIN));
	say("server recv: %s", rx(s, sizeof(buf), 0));
	close(c);
	close(s);
	c = tcp_connect_to(l, AF_INET, SOCK_CLOEXEC);
	s = accept(l, NULL, NULL);
	engine("SOCK_CLOEXEC", "client", c);
	engine("plain accept", "server", s);
	say("plain accept: O_NONBLOCK %s, FD_CLOEXEC %s", yes(fcntl(s, F_GETFL) & O_NONBLOCK),
	    yes(fcntl(s, F_GETFD) & FD_CLOEXEC));
	say("SOCK_CLOEXEC client: FD_CLOEXEC %s", yes(fcntl(c, F_GETFD) & FD_CLOEXEC));
	close(c);
	close(s);
	close(l);
}

/* A short exchange both ways, then close. */
static void talk(int c, int s)
{
	write_all(c, "ping", 4);
	say("server recv: %s", rx(s, sizeof(buf), 0));
	write_all(s, "pong", 4);
	say("client recv: %s", rx(c, sizeof(buf), 0));
	close(c);
	close(s);
}

static void ipv6(void)
{
	say("== IPv6: ::1, and a dual-stack [::] listener");
	int c, s, l = tcp_listener(AF_INET6, 0);
	engine("v6", "listener", l);
	connect_named(l, AF_INET6, "::1", "v6", &c, &s);
	talk(c, s);
	close(l);
	l = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	say("IPV6_V6ONLY 0: %s", res(setint(l, IPPROTO_IPV6, IPV6_V6ONLY, 0)));
	if (bind(l, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(l, 8) < 0)
		die("bind [::]");
	engine("dual-stack", "listener", l);
	connect_named(l, AF_INET6, "::1", "dual-stack ::1", &c, &s);
	talk(c, s);
	connect_named(l, AF_INET6, "::ffff:127.0.0.1", "dual-stack v4-mapped", &c, &s);
	talk(c, s);
	connect_named(l, AF_INET, "127.0.0.1", "dual-stack v4", &c, &s);
	talk(c, s);
	close(l);
}

/* One epoll_wait: "0", "1 IN|RDHUP", or an error. */
static const char *ep(int epfd, int ms)
{
	static char out[4][80];
	static int slot;
	char *o = out[slot++ & 3];
	struct epoll_event e[4];
	int n = epoll_wait(epfd, e, 4, ms);
	if (n == 1)
		snprintf(o, sizeof(out[0]), "1 %s", evnames((int)e[0].events));
	else
		snprintf(o, sizeof(out[0]), "%s", res(n));
	return o;
}

/* epoll_wait for up to 2 s, then once more at once: "1 IN, then 0". */
static const char *ep2(int epfd)
{
	static char out[160];
	const char *first = ep(epfd, 2000);
	snprintf(out, sizeof(out), "%s, then %s", first, ep(epfd, 0));
	return out;
}

static void readiness(void)
{
	say("== poll, select, epoll readiness");
	int c, s, n;
	pair(&c, &s, 0, "readiness");
	fd_set rd, wr;
	struct timeval zero = { 0, 0 };
	say("poll, new connection: %s", ev(c, ALL, 0));
	FD_ZERO(&rd);
	FD_SET(c, &rd);
	say("select readable, new connection: %d", select(c + 1, &rd, NULL, NULL, &zero));
	int lt = epoll_create1(0), et = epoll_create1(0), os = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN };
	epoll_ctl(lt, EPOLL_CTL_ADD, c, &e);
	e.events = EPOLLIN | EPOLLET;
	epoll_ctl(et, EPOLL_CTL_ADD, c, &e);
	e.events = EPOLLIN | EPOLLONESHOT;
	epoll_ctl(os, EPOLL_CTL_ADD, c, &e);
	say("epoll LT, nothing yet: %s", ep(lt, 0));
	say("epoll ET, nothing yet: %s", ep(et, 0));
	say("epoll ONESHOT, nothing yet: %s", ep(os, 0));
	write_all(s, "a", 1);
	say("poll after data: %s", ev(c, ALL, POLLIN));
	FD_ZERO(&rd);
	FD_SET(c, &rd);
	FD_ZERO(&wr);
	FD_SET(c, &wr);
	n = select(c + 1, &rd, &wr, NULL, &zero);
	say("select after data: %d, readable %s, writable %s", n, yes(FD_ISSET(c, &rd)),
	    yes(FD_ISSET(c, &wr)));
	say("epoll LT: %s", ep2(lt));
	say("epoll ET: %s", ep2(et));
	say("epoll ONESHOT: %s", ep2(os));
	write_all(s, "b", 1);
	inq(c, 2);
	say("more data: epoll ET: %s", ep2(et));
	say("more data: epoll ONESHOT, not re-armed: %s", ep(os, 0));
	e.events = EPOLLIN | EPOLLONESHOT;
	say("EPOLL_CTL_MOD re-arms: %s", res(epoll_ctl(os, EPOLL_CTL_MOD, c, &e)));
	say("epoll ONESHOT: %s", ep(os, 0));
	say("  again: %s", ep(os, 0));
	write_all(c, "z", 1);
	say("the peer reads what we sent: %s", rx(s, sizeof(buf), 0));
	say("then epoll ET (no new data for us): %s", ep(et, 0));
	say("recv: %s", rx(c, sizeof(buf), 0));
	say("drained: poll %s", ev(c, ALL, 0));
	say("drained: epoll LT %s", ep(lt, 0));
	say("drained: epoll ET %s", ep(et, 0));
	e.events = EPOLLIN | EPOLLRDHUP;
	epoll_ctl(lt, EPOLL_CTL_MOD, c, &e);
	say("peer shutdown(SHUT_WR): %s", res(shutdown(s, SHUT_WR)));
	say("poll: %s", ev(c, ALL, POLLRDHUP));
	say("epoll LT with EPOLLRDHUP: %s", ep(lt, 2000));
	say("epoll ET: %s", ep2(et));
	FD_ZERO(&rd);
	FD_SET(c, &rd);
	say("select readable at end of stream: %d", select(c + 1, &rd, NULL, NULL, &zero));
	say("our shutdown(SHUT_WR): %s", res(shutdown(c, SHUT_WR)));
	say("poll: %s", ev(c, ALL, POLLHUP));
	say("epoll LT: %s", ep(lt, 0));
	say("peer poll: %s", ev(s, ALL, POLLHUP));
	close(lt);
	close(et);
	close(os);
	close(c);
	close(s);
}

/* The forked peer: pieces for MSG_WAITALL, then replies in lock step. */
static void forked_peer(int l)
{
	alarm(10);
	int c = tcp_connect_to(l, AF_INET, 0);
	engine("forked", "client", c);
	close(l);
	write_all(c, "abc", 3);
	usleep(30000);
	write_all(c, "def", 3);
	usleep(30000);
	write_all(c, "ghij", 4);
	if (read_full(c, buf, 3) != 3) /* "ok!" */
		_exit(3);
	usleep(50000); /* the parent is (most likely) asleep in read by now */
	write_all(c, "late", 4);
	if (read_full(c, buf, 2) != 2) /* "go" */
		_exit(4);
	write_all(c, "xy", 2);
	close(c);
	_exit(0);
}

static void forked(void)
{
	say("== a forked peer: MSG_WAITALL, blocking reads");
	int l = tcp_listener(AF_INET, 0), status = 0;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		forked_peer(l);
	int s = accept(l, NULL, NULL);
	close(l);
	engine("forked", "server", s);
	say("recv 10 MSG_WAITALL, sent as 3+3+4: %s", rx(s, 10, MSG_WAITALL));
	say("send: %s", res(send(s, "ok!", 3, 0)));
	say("blocking read: %s", io(read(s, buf, sizeof(buf))));
	say("send: %s", res(send(s, "go", 2, 0)));
	say("recv 10 MSG_WAITALL, 2 come, then end of stream: %s", rx(s, 10, MSG_WAITALL));
	say("recv: %s", rx(s, sizeof(buf), 0));
	waitpid(pid, &status, 0);
	say("peer exit: %d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	close(s);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: prog_stream ENGINES SCRATCH\n");
		return 2;
	}
	engines = fopen(argv[1], "a");
	if (!engines)
		die("open %s", argv[1]);
	setvbuf(engines, NULL, _IONBF, 0);
	scratch = argv[2];
	struct sigaction sa = { .sa_handler = on_sigpipe, .sa_flags = SA_RESTART };
	sigaction(SIGPIPE, &sa, NULL);
	alarm(30);
	basic_io();
	nonblocking();
	msg_flags();
	options_ioctls();
	sendfile_();
	shutdowns();
	resets();
	epipe();
	full_buffers();
	connect_accept();
	ipv6();
	readiness();
	forked();
	say("== done");
	return 0;
}
