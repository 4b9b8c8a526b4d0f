/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Echo server for the threaded and IPv6 tests, one thread per TCP
 * connection. prog_echo tcp ADDR PORT N: serve N connections, then exit;
 * prog_echo udp ADDR PORT: echo datagrams until one says "QUIT".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "prog_util.h"

static long total_bytes;

static void *serve_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[65536];
	long bytes = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recv");
		if (n == 0)
			break;
		write_all(fd, buf, (size_t)n);
		bytes += n;
	}
	close(fd);
	__atomic_add_fetch(&total_bytes, bytes, __ATOMIC_RELAXED);
	return NULL;
}

static int serve_tcp(struct sockaddr_storage *ss, socklen_t len, int count)
{
	int l = socket(ss->ss_family, SOCK_STREAM, 0);
	int one = 1;
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("socket");
	if (bind(l, (struct sockaddr *)ss, len) < 0 || listen(l, 64) < 0)
		die("bind/listen");
	pthread_t *threads = calloc((size_t)count, sizeof(*threads));
	if (!threads)
		die("calloc");
	for (int i = 0; i < count; i++) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0)
			die("accept");
		if (pthread_create(&threads[i], NULL, serve_conn, (void *)(long)fd) != 0)
			die("pthread_create");
	}
	close(l);
	for (int i = 0; i < count; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	say("echo: served %d connections, %ld bytes", count, total_bytes);
	return 0;
}

static int serve_udp(struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, len) < 0)
		die("udp bind");
	static char buf[65536];
	for (;;) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("recvfrom");
		if (n == 4 && !memcmp(buf, "QUIT", 4))
			break;
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen) != n)
			die("sendto");
	}
	close(fd);
	say("echo: udp done");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp")) ||
	    (!strcmp(argv[1], "tcp") && argc != 5)) {
		fprintf(stderr, "usage: prog_echo tcp ADDR PORT N | prog_echo udp ADDR PORT\n");
		return 2;
	}
	struct sockaddr_storage ss;
	socklen_t len = parse_addr(argv[2], argv[3], &ss);
	if (!strcmp(argv[1], "tcp"))
		return serve_tcp(&ss, len, atoi(argv[4]));
	return serve_udp(&ss, len);
}
