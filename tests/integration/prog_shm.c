/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Programs of shm_apps.sh that need more than a standard tool: each prints
 * what carries its connections (SO_ACCEL_ENGINE: "shm", "kernel", or
 * "none" without libaccel) next to what it did. Every wait is bounded.
 *
 *   prog_shm serve ADDR PORT N
 *	echo server for N connections, one after the other; one line each:
 *	"conn I: ENGINE, B bytes echoed".
 *   prog_shm stream-listen ADDR PORT poll|block
 *   prog_shm stream ADDR PORT poll|block
 *	one connection (accepted, or connected) on which both ends send and
 *	receive without pause until the other end goes: "engine ENGINE",
 *	"streaming", then "ended: ..." with what ended each direction. poll:
 *	one thread, non-blocking I/O under poll(2); block: a blocking reader
 *	thread and a blocking writer thread.
 *   prog_shm many-serve ADDR PORT N
 *	epoll server: accepts N connections and echoes what they send; once N
 *	bytes came back it prints its RSS, and it exits when all N are closed.
 *   prog_shm many-connect ADDR PORT N DONEFILE
 *	opens N connections (at most 128 not yet echoed at a time), sends one
 *	byte on each and reads it back, prints its RSS, keeps them all open
 *	until DONEFILE exists, then closes them.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "../../include/accel/socket.h"
#include "prog_util.h"

enum { DEADLINE_S = 120 };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What carries fd: libaccel's answer, or "none" without libaccel. */
static const char *engine_of(int fd)
{
	static char name[32];
	socklen_t len = sizeof(name);
	memset(name, 0, sizeof(name));
	if (getsockopt(fd, SOL_ACCEL, SO_ACCEL_ENGINE, name, &len) < 0)
		return "none";
	return name;
}

/* "VmRSS N kB, RssAnon N kB, RssShmem N kB" of this process. */
static const char *rss(void)
{
	static char out[160];
	char line[256];
	long vm = -1, anon = -1, shmem = -1;
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return "unknown";
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", &vm);
		sscanf(line, "RssAnon: %ld", &anon);
		sscanf(line, "RssShmem: %ld", &shmem);
	}
	fclose(f);
	snprintf(out, sizeof(out), "VmRSS %ld kB, RssAnon %ld kB, RssShmem %ld kB", vm, anon, shmem);
	return out;
}

static int listen_on(const char *host, const char *port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(host, port, &ss);
	int one = 1;
	int l = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("socket");
	if (bind(l, (struct sockaddr *)&ss, len) < 0 || listen(l, backlog) < 0)
		die("bind/listen %s:%s", host, port);
	return l;
}

static int connect_to(const char *host, const char *port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(host, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	while (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINTR)
			die("connect %s:%s", host, port);
	}
	return fd;
}

/* ---- serve ------------------------------------------------------------- */

static int serve(const char *host, const char *port, int n)
{
	static char buf[65536];
	int l = listen_on(host, port, 16);
	for (int i = 1; i <= n; i++) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		const char *engine = engine_of(fd);
		long bytes = 0;
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof(buf), 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				die("recv");
			if (r == 0)
				break;
			write_all(fd, buf, (size_t)r);
			bytes += r;
		}
		close(fd);
		say("conn %d: %s, %ld bytes echoed", i, engine, bytes);
	}
	close(l);
	return 0;
}

/* ---- stream: a connection whose other end may be killed ------------------ */

/* How a direction ended: "EOF", an errno name, or "timeout". */
static const char *ending(ssize_t r)
{
	return r == 0 ? "EOF" : errname(errno);
}

static int end_is_expected(const char *e)
{
	return !strcmp(e, "EOF") || !strcmp(e, "ECONNRESET") || !strcmp(e, "EPIPE");
}

static int stream_poll(int fd)
{
	static char out[16384], in[65536];
	const char *rd = NULL, *wr = NULL;
	long got = 0, sent = 0;
	double deadline = now() + DEADLINE_S;
	memset(out, 'x', sizeof(out));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
	while (!rd && now() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (wr ? 0 : POLLOUT) };
		int n = poll(&p, 1, 200);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("poll");
		if (!wr && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = send(fd, out, sizeof(out), MSG_NOSIGNAL);
			if (w > 0)
				sent += w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				wr = errname(errno);
		}
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t r = recv(fd, in, sizeof(in), 0);
			if (r > 0)
				got += r;
			else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				rd = ending(r);
		}
	}
	say("ended: reader %s, writer %s", rd ? rd : "timeout", wr ? wr : "still writing");
	fprintf(stderr, "stream: %ld bytes in, %ld bytes out\n", got, sent);
	return rd && end_is_expected(rd) && (!wr || end_is_expected(wr)) ? 0 : 1;
}

struct writer {
	int fd;
	const char *how;
	long sent;
};

static void *write_until_error(void *arg)
{
	struct writer *w = arg;
	static char out[16384];
	memset(out, 'y', sizeof(out));
	for (;;) {
		ssize_t n = send(w->fd, out, sizeof(out), MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->how = n == 0 ? "0" : errname(errno);
			return NULL;
		}
		w->sent += n;
	}
}

static int stream_block(int fd)
{
	static char in[65536];
	struct timeval tv = { .tv_sec = DEADLINE_S };
	/* A bound on each wait of the reader; the test's timeout bounds the
	 * writer, which must never be stuck once the peer is gone. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		die("SO_RCVTIMEO");
	struct writer w = { .fd = fd };
	pthread_t t;
	if (pthread_create(&t, NULL, write_until_error, &w) != 0)
		die("pthread_create");
	long got = 0;
	const char *rd;
	for (;;) {
		ssize_t r = recv(fd, in, sizeof(in), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rd = r < 0 && errno == EAGAIN ? "timeout" : ending(r);
			break;
		}
		got += r;
	}
	/* The writer ends by itself: the peer is gone (EPIPE, ECONNRESET). */
	pthread_join(t, NULL);
	say("ended: reader %s, writer %s", rd, w.how);
	fprintf(stderr, "stream: %ld bytes in, %ld bytes out\n", got, w.sent);
	return end_is_expected(rd) && end_is_expected(w.how) ? 0 : 1;
}

static int stream(int listening, const char *host, const char *port, const char *how)
{
	int fd;
	if (listening) {
		int l = listen_on(host, port, 4);
		fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		close(l);
	} else {
		fd = connect_to(host, port);
	}
	say("engine %s", engine_of(fd));
	say("streaming");
	return !strcmp(how, "block") ? stream_block(fd) : stream_poll(fd);
}

/* ---- many: idle connections on one listener ------------------------------ */

static int many_serve(const char *host, const char *port, int n)
{
	int l = listen_on(host, port, 1024);
	if (fcntl(l, F_SETFL, O_NONBLOCK) < 0)
		die("fcntl");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		die("epoll");
	say("before: %s", rss());
	int accepted = 0, closed = 0, shm = 0, kernel = 0, other = 0;
	long echoed = 0;
	double deadline = now() + DEADLINE_S, t0 = 0;
	struct epoll_event evs[256];
	while (closed < n && now() < deadline) {
		int k = epoll_wait(ep, evs, 256, 1000);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			if (fd == l) {
				for (int j = 0; j < 64 && accepted < n; j++) {
					int c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (c < 0 && (errno == EAGAIN || errno == EINTR))
						break;
					if (c < 0)
						die("accept4 (connection %d)", accepted + 1);
					if (!accepted)
						t0 = now();
					accepted++;
					const char *e = engine_of(c);
					shm += !strcmp(e, "shm");
					kernel += !strcmp(e, "kernel");
					other += strcmp(e, "shm") && strcmp(e, "kernel");
					struct epoll_event cev = { .events = EPOLLIN, .data.fd = c };
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev) < 0)
						die("epoll_ctl add %d", c);
				}
				continue;
			}
			char b[64];
			ssize_t r = recv(fd, b, sizeof(b), 0);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r > 0) {
				write_all(fd, b, (size_t)r);
				echoed += r;
				if (echoed == n)
					say("with %d connections: %s (all accepted and echoed in %.2f s)", n,
					    rss(), now() - t0);
				continue;
			}
			if (r < 0 && errno != ECONNRESET)
				die("recv fd %d", fd);
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			closed++;
		}
	}
	say("accepted %d: shm %d, kernel %d, other %d", accepted, shm, kernel, other);
	say("echoed %ld bytes, %d closed", echoed, closed);
	return closed == n ? 0 : 1;
}

static int many_connect(const char *host, const char *port, int n, const char *donefile)
{
	enum { BATCH = 128 };
	int *fds = calloc((size_t)n, sizeof(*fds));
	if (!fds)
		die("calloc");
	say("before: %s", rss());
	int shm = 0, kernel = 0, other = 0;
	double t0 = now();
	for (int i = 0; i < n; i += BATCH) {
		int m = n - i < BATCH ? n - i : BATCH;
		for (int j = i; j < i + m; j++) {
			fds[j] = connect_to(host, port);
			const char *e = engine_of(fds[j]);
			shm += !strcmp(e, "shm");
			kernel += !strcmp(e, "kernel");
			other += strcmp(e, "shm") && strcmp(e, "kernel");
			write_all(fds[j], "x", 1);
		}
		for (int j = i; j < i + m; j++) {
			char b;
			if (read_full(fds[j], &b, 1) != 1 || b != 'x')
				die("no echo on connection %d", j + 1);
		}
	}
	say("connected %d: shm %d, kernel %d, other %d", n, shm, kernel, other);
	say("with %d connections: %s (connected and echoed in %.2f s)", n, rss(), now() - t0);
	struct stat st;
	double deadline = now() + DEADLINE_S;
	while (stat(donefile, &st) < 0 && now() < deadline)
		usleep(20000);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	say("closed %d", n);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 5 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3], atoi(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "stream-listen"))
		return stream(1, argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "stream"))
		return stream(0, argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "many-serve"))
		return many_serve(argv[2], argv[3], atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "many-connect"))
		return many_connect(argv[2], argv[3], atoi(argv[4]), argv[5]);
	fprintf(stderr, "usage: prog_shm serve|stream-listen|stream|many-serve|many-connect ...\n");
	return 2;
}
