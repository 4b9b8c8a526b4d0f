/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Multi-threaded echo client: each thread has its own socket to the echo
 * server and checks every byte it gets back. prog_threads tcp|udp ADDR PORT
 * THREADS ROUNDS; prints one line per thread, in thread order.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sys/time.h>

#include "prog_util.h"

static struct sockaddr_storage server;
static socklen_t server_len;
static int rounds;
static pthread_barrier_t start_line;

struct result {
	long bytes;
	int good;
	char error[128];
};

/* Size and content of a message are a function of (thread, round). */
static size_t msg_size(int t, int r, size_t max)
{
	return 1 + ((size_t)t * 7919 + (size_t)r * 104729) % max;
}

static void fill(unsigned char *buf, size_t n, int t, int r)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (unsigned char)(i * 31 + (size_t)t * 17 + (size_t)r * 13);
}

static void *tcp_thread(void *arg)
{
	int t = (int)(long)arg;
	struct result *res_ = calloc(1, sizeof(*res_));
	static const size_t max = 65536;
	unsigned char *out = malloc(max), *in = malloc(max);
	if (!res_ || !out || !in)
		die("malloc");
	pthread_barrier_wait(&start_line);
	int fd = socket(server.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server, server_len) < 0) {
		snprintf(res_->error, sizeof(res_->error), "connect: %s", errname(errno));
		goto out;
	}
	for (int r = 0; r < rounds; r++) {
		size_t n = msg_size(t, r, max);
		fill(out, n, t, r);
		write_all(fd, out, n);
		size_t got = read_full(fd, in, n);
		if (got != n || memcmp(in, out, n)) {
			snprintf(res_->error, sizeof(res_->error), "round %d: %zu of %zu bytes, %s", r,
				 got, n, got == n ? "different" : "short");
			break;
		}
		res_->bytes += (long)n;
		res_->good++;
	}
	if (!res_->error[0]) {
		char c;
		shutdown(fd, SHUT_WR);
		ssize_t e = read(fd, &c, 1);
		if (e != 0)
			snprintf(res_->error, sizeof(res_->error), "no EOF after shutdown: %s", res(e));
	}
	close(fd);
out:
	free(out);
	free(in);
	return res_;
}

static void *udp_thread(void *arg)
{
	int t = (int)(long)arg;
	struct result *res_ = calloc(1, sizeof(*res_));
	static const size_t max = 8192;
	unsigned char out[8192 + 8], in[8192 + 8];
	if (!res_)
		die("malloc");
	pthread_barrier_wait(&start_line);
	int fd = socket(server.ss_family, SOCK_DGRAM, 0);
	struct timeval tv = { 1, 0 };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&server, server_len) < 0) {
		snprintf(res_->error, sizeof(res_->error), "socket: %s", errname(errno));
		return res_;
	}
	for (int r = 0; r < rounds && !res_->error[0]; r++) {
		size_t n = msg_size(t, r, max);
		memcpy(out, &t, 4);
		memcpy(out + 4, &r, 4);
		fill(out + 8, n, t, r);
		int ok = 0;
		/* Stop and wait; a lost datagram is sent again (5 tries). */
		for (int attempt = 0; attempt < 5 && !ok; attempt++) {
			if (send(fd, out, n + 8, 0) != (ssize_t)(n + 8)) {
				snprintf(res_->error, sizeof(res_->error), "send: %s", errname(errno));
				break;
			}
			for (;;) {
				ssize_t got = recv(fd, in, sizeof(in), 0);
				if (got < 0)
					break; /* timeout: send again */
				if (got >= 8 && !memcmp(in, out, 8)) {
					ok = (size_t)got == n + 8 && !memcmp(in, out, n + 8);
					if (!ok)
						snprintf(res_->error, sizeof(res_->error),
							 "round %d: echo differs", r);
					break;
				}
			}
			if (res_->error[0])
				break;
		}
		if (ok) {
			res_->bytes += (long)n;
			res_->good++;
		} else if (!res_->error[0]) {
			snprintf(res_->error, sizeof(res_->error), "round %d: no echo", r);
		}
	}
	close(fd);
	return res_;
}

int main(int argc, char **argv)
{
	if (argc != 6 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp"))) {
		fprintf(stderr, "usage: prog_threads tcp|udp ADDR PORT THREADS ROUNDS\n");
		return 2;
	}
	int udp = !strcmp(argv[1], "udp");
	server_len = parse_addr(argv[2], argv[3], &server);
	int n = atoi(argv[4]);
	rounds = atoi(argv[5]);
	if (n < 1 || n > 256 || rounds < 1)
		die("bad thread or round count");
	pthread_t th[256];
	pthread_barrier_init(&start_line, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, udp ? udp_thread : tcp_thread, (void *)(long)i))
			die("pthread_create");
	int failed = 0;
	long total = 0;
	for (int i = 0; i < n; i++) {
		struct result *r;
		pthread_join(th[i], (void **)&r);
		if (r->error[0]) {
			failed++;
			say("thread %2d: FAILED after %d rounds: %s", i, r->good, r->error);
		} else {
			say("thread %2d: %d rounds, %ld bytes echoed equal", i, r->good, r->bytes);
		}
		total += r->bytes;
		free(r);
	}
	pthread_barrier_destroy(&start_line);
	say("%d of %d threads ok, %ld bytes", n - failed, n, total);
	return failed ? 1 : 0;
}
