/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Benchmark helper for bench/passthrough.sh: N non-blocking recv() calls on a
 * socket with nothing queued, so each one is a pure pass-through that returns
 * EAGAIN. Run under callgrind with and without libaccel; must stay C11 + POSIX.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr, "usage: recv_loop udp|tcp|unix N\n"
			"  udp   connected UDP socket on 127.0.0.1 (tracked by libaccel)\n"
			"  tcp   connected TCP socket on 127.0.0.1 (tracked by libaccel)\n"
			"  unix  AF_UNIX socketpair (not tracked by libaccel)\n");
}

static int fail(const char *what)
{
	fprintf(stderr, "recv_loop: %s: %s\n", what, strerror(errno));
	return -1;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail("fcntl(O_NONBLOCK)");
	return fd;
}

static int bind_loopback(int fd, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = 0;
	if (bind(fd, (struct sockaddr *)sin, sizeof(*sin)) < 0)
		return fail("bind(127.0.0.1:0)");
	if (getsockname(fd, (struct sockaddr *)sin, &len) < 0)
		return fail("getsockname");
	return 0;
}

/* A UDP socket connected to itself: nothing is ever sent, so recv() waits. */
static int open_udp(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return fail("socket(AF_INET, SOCK_DGRAM)");
	if (bind_loopback(fd, &sin) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return fail("connect(udp)");
	return set_nonblock(fd);
}

/* The client end of an idle loopback TCP connection. */
static int open_tcp(void)
{
	struct sockaddr_in sin;
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || cfd < 0)
		return fail("socket(AF_INET, SOCK_STREAM)");
	if (bind_loopback(lfd, &sin) < 0)
		return -1;
	if (listen(lfd, 1) < 0)
		return fail("listen");
	if (connect(cfd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return fail("connect(tcp)");
	if (accept(lfd, NULL, NULL) < 0)
		return fail("accept");
	return set_nonblock(cfd);
}

static int open_unix(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return fail("socketpair(AF_UNIX)");
	return set_nonblock(sv[0]);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		usage();
		return 2;
	}
	char *end;
	errno = 0;
	unsigned long n = strtoul(argv[2], &end, 10);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "recv_loop: N must be a count, not '%s'\n", argv[2]);
		return 2;
	}

	int fd;
	if (!strcmp(argv[1], "udp"))
		fd = open_udp();
	else if (!strcmp(argv[1], "tcp"))
		fd = open_tcp();
	else if (!strcmp(argv[1], "unix"))
		fd = open_unix();
	else {
		usage();
		return 2;
	}
	if (fd < 0)
		return 1;

	/* The measured loop: the same instructions with and without libaccel. */
	char buf[64];
	unsigned long unexpected = 0;
	for (unsigned long i = 0; i < n; i++) {
		if (recv(fd, buf, sizeof(buf), 0) != -1 || errno != EAGAIN)
			unexpected++;
	}
	if (unexpected) {
		fprintf(stderr, "recv_loop: %lu of %lu recv() calls did not fail with EAGAIN\n",
			unexpected, n);
		return 1;
	}
	return 0;
}
