/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fd numbers that change what they name: dup2 of a file onto a socket and of
 * a socket onto a socket or a file, dup/F_DUPFD/dup3, close_range, numbers
 * reused by new sockets, and the fortified read/recv/poll entry points.
 */
#if defined(__OPTIMIZE__) && !defined(_FORTIFY_SOURCE)
#define _FORTIFY_SOURCE 2 /* so that read, recv, recvfrom, poll become __*_chk */
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "prog_util.h"

static const char *path;

/* Sizes the compiler cannot see through, so the fortified __*_chk are used. */
static volatile size_t one = 1, eight = 8;

static int open_file(void)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open %s", path);
	return fd;
}

/* What a recv on fd gets now: data, EOF or an error (never blocks long). */
static const char *peek(int fd)
{
	static char out[96];
	char buf[32];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, one, 2000) != 1)
		return "nothing within 2 s";
	ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (r < 0)
		snprintf(out, sizeof(out), "%s", res(r));
	else if (r == 0)
		snprintf(out, sizeof(out), "EOF");
	else
		snprintf(out, sizeof(out), "\"%.*s\"", (int)r, buf);
	return out;
}

static void file_onto_socket(void)
{
	say("== dup2 a file onto a socket fd");
	int sv[2];
	char buf[32];
	int v;
	socklen_t len = sizeof(v);
	tcp_pair(AF_INET, 0, sv);
	int c = sv[0], s = sv[1], f = open_file();
	say("dup2(file, s) returns s: %s", dup2(f, s) == s ? "yes" : "no");
	say("peer of the replaced socket: %s", peek(c));
	say("write(s) goes to the file: %s", res(write(s, "file data", 9)));
	say("send(s): %s", res(send(s, "x", 1, 0)));
	say("recv(s): %s", res(recv(s, buf, sizeof(buf), MSG_DONTWAIT)));
	say("getsockopt(s, SO_TYPE): %s", res(getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len)));
	say("shutdown(s): %s", res(shutdown(s, SHUT_RDWR)));
	say("lseek(s, 0): %s", res(lseek(s, 0, SEEK_SET)));
	ssize_t r = read(s, buf, sizeof(buf));
	say("read(s): %s \"%.*s\"", res(r), (int)(r > 0 ? r : 0), buf);
	say("close(s): %s", res(close(s)));
	say("write(file) after close(s): %s", res(write(f, "!", 1)));
	say("send(c) to the closed peer: %s", res(send(c, "y", 1, MSG_NOSIGNAL)));
	close(f);
	close(c);
}

static void socket_onto_socket(void)
{
	say("== dup2 a socket onto another socket");
	int p1[2], p2[2];
	tcp_pair(AF_INET, 0, p1);
	tcp_pair(AF_INET, 0, p2);
	say("dup2(a2, a1): %s", dup2(p2[0], p1[0]) == p1[0] ? "a1" : "?");
	say("b1 (peer of the replaced a1): %s", peek(p1[1]));
	write_all(p1[0], "via a1", 6);
	say("b2 after write(a1): %s", peek(p2[1]));
	say("close(a2): %s", res(close(p2[0])));
	write_all(p1[0], "a1 alone", 8);
	say("b2 after write(a1), a2 closed: %s", peek(p2[1]));
	write_all(p2[1], "back", 4);
	say("a1 reads what b2 sent: %s", peek(p1[0]));
	say("close(a1): %s", res(close(p1[0])));
	say("b2 after the last close: %s", peek(p2[1]));
	close(p1[1]);
	close(p2[1]);
}

static void socket_onto_file(void)
{
	say("== dup2 a socket onto a file fd");
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	int f = open_file();
	say("dup2(a, file): %s", dup2(sv[0], f) == f ? "file fd" : "?");
	say("send(file fd): %s", res(send(f, "to peer", 7, 0)));
	say("peer: %s", peek(sv[1]));
	say("close(a): %s", res(close(sv[0])));
	say("write(file fd) after close(a): %s", res(write(f, "still", 5)));
	say("peer: %s", peek(sv[1]));
	close(f);
	say("peer after the last close: %s", peek(sv[1]));
	close(sv[1]);
}

static void dup_family(void)
{
	say("== dup, F_DUPFD, dup3");
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	int d = dup(sv[0]);
	say("close(original): %s", res(close(sv[0])));
	write_all(d, "dup", 3);
	say("peer after write(dup): %s", peek(sv[1]));
	int hi = fcntl(d, F_DUPFD, 100);
	say("F_DUPFD 100: >= 100: %s, cloexec: %d", hi >= 100 ? "yes" : "no",
	    fcntl(hi, F_GETFD) & FD_CLOEXEC);
	int hc = fcntl(d, F_DUPFD_CLOEXEC, 0);
	say("F_DUPFD_CLOEXEC: cloexec: %d", fcntl(hc, F_GETFD) & FD_CLOEXEC);
	int target = open_file();
	int rc = dup3(hi, target, O_CLOEXEC);
	say("dup3(hi, file fd, O_CLOEXEC): %s, cloexec: %d", rc == target ? "file fd" : "?",
	    fcntl(target, F_GETFD) & FD_CLOEXEC);
	say("dup3(x, x): %s", res(dup3(hc, hc, 0)));
	say("dup2(x, x): %s", dup2(hc, hc) == hc ? "x" : "?");
	int gone = dup(hc);
	close(gone);
	say("dup2(closed fd, y): %s", res(dup2(gone, target)));
	say("close(closed fd): %s", res(close(gone)));
	close(d);
	close(hi);
	write_all(target, "3rd", 3);
	close(target);
	write_all(hc, "last", 4);
	say("peer after writes through the last dups: %s", peek(sv[1]));
	int flags = fcntl(hc, F_GETFL);
	say("F_SETFL O_NONBLOCK: %s", res(fcntl(hc, F_SETFL, flags | O_NONBLOCK)));
	char c;
	say("recv on the empty non-blocking dup: %s", res(recv(hc, &c, 1, 0)));
	close(hc);
	say("peer after the last close: %s", peek(sv[1]));
	close(sv[1]);
}

/* The number the kernel hands out next: the lowest one not open. */
static int lowest_free(void)
{
	int fd = 0;
	while (fcntl(fd, F_GETFD) >= 0)
		fd++;
	return fd;
}

static void reuse(void)
{
	say("== fd numbers reused by new sockets");
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	close(sv[0]);
	close(sv[1]);
	int expected = lowest_free();
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	say("new UDP socket takes the lowest closed number: %s",
	    u == expected && (u == sv[0] || u == sv[1] || u < sv[0]) ? "yes" : "no");
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 0, &ss);
	bind(u, (struct sockaddr *)&ss, len);
	len = sizeof(ss);
	getsockname(u, (struct sockaddr *)&ss, &len);
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	sendto(v, "reused", 6, 0, (struct sockaddr *)&ss, len);
	say("datagram on the reused number: %s", peek(u));

	int fds[6];
	for (int i = 0; i < 3; i++)
		tcp_pair(AF_INET, 0, &fds[2 * i]);
	int lo = fds[0], hi = fds[0];
	for (int i = 1; i < 6; i++) {
		lo = fds[i] < lo ? fds[i] : lo;
		hi = fds[i] > hi ? fds[i] : hi;
	}
	say("close_range(CLOEXEC) over 3 pairs: %s", res(close_range((unsigned)lo, (unsigned)hi,
									CLOSE_RANGE_CLOEXEC)));
	write_all(fds[0], "cloexec", 7);
	say("still open, cloexec %d: %s", fcntl(fds[0], F_GETFD) & FD_CLOEXEC, peek(fds[1]));
	say("close_range over 3 pairs: %s", res(close_range((unsigned)lo, (unsigned)hi, 0)));
	say("send on a closed number: %s", res(send(fds[0], "x", 1, 0)));
	int again[2];
	tcp_pair(AF_INET, 0, again);
	say("a new pair reuses the range: %s",
	    again[0] >= lo && again[0] <= hi && again[1] >= lo && again[1] <= hi ? "yes" : "no");
	write_all(again[0], "fresh", 5);
	say("new pair works: %s", peek(again[1]));
	closefrom(again[0] < again[1] ? again[0] : again[1]);
	say("after closefrom, send: %s", res(send(again[0], "x", 1, 0)));
	close(u);
	close(v);
}

static void fortified(void)
{
	say("== fortified entry points");
	int sv[2];
	char buf[8];
	tcp_pair(AF_INET, 0, sv);
	write_all(sv[0], "0123456789", 10);
	size_t n = eight;
	say("read (__read_chk): %s", res(read(sv[1], buf, n)));
	say("recv (__recv_chk): %s", res(recv(sv[1], buf, n - 6, 0)));
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	say("recvfrom (__recvfrom_chk) on TCP: %s", res(recvfrom(sv[1], buf, n, MSG_DONTWAIT,
								     (struct sockaddr *)&from, &len)));
#if defined(_FORTIFY_SOURCE) && _FORTIFY_SOURCE > 0
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		write_all(sv[0], "overflow!", 9);
		ssize_t r = read(sv[1], buf, eight * 2);
		_exit(r >= 0 ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	say("read of 16 into 8 bytes: %s", WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT
						   ? "aborted (buffer overflow detected)"
						   : "NOT aborted");
#else
	say("read of 16 into 8 bytes: not checked in a build without _FORTIFY_SOURCE");
#endif
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: prog_dup SCRATCH_FILE\n");
		return 2;
	}
	path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	file_onto_socket();
	socket_onto_socket();
	socket_onto_file();
	dup_family();
	reuse();
	fortified();
	say("== done");
	return 0;
}
