/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench/ring_pingpong: the limits a same-host engine can reach. Two
 * processes bounce a 64-byte message over a pair of shared-memory rings
 * (busy polling, one CPU each; and both on one CPU, a waiting side giving
 * the CPU away with sched_yield), and, in the same run, over kernel TCP on
 * loopback (blocking, TCP_NODELAY, both on one CPU: on this kind of VM a
 * wake-up across CPUs costs tens of microseconds, so this is the kernel's
 * best case); prints the round-trip time of each and the ratio. Then one
 * process streams 64-byte messages to the other (one CPU each) through a
 * bare ring: the message rate no engine on these rings can pass.
 * Usage: ring_pingpong [ROUND_TRIPS [MESSAGES]]
 *        ring_pingpong busy [ROUND_TRIPS]  (the polled ping-pong only)
 *        ring_pingpong stream [MESSAGES]   (the stream only)
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw/shm/conn.h"
#include "hw/shm/ring.h"

enum { MSG = 64, RING = 64 * 1024 };

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Spin (or, with `yield`, give the CPU away) until a whole message is
 * in, or give up at `deadline`. */
static int ring_recv(struct shm_ring_end *e, char *buf, double deadline, int yield)
{
	size_t got = 0;
	unsigned int spins = 0;
	while (got < MSG) {
		struct iovec iov = { buf + got, MSG - got };
		size_t n = shm_ring_read(e, &iov, 1, 0);
		got += n;
		if (n)
			continue;
		if (yield)
			sched_yield();
		if (++spins % (yield ? 64 : 4096) == 0 && now_ns() > deadline)
			return -1;
	}
	return 0;
}

static int ring_send(struct shm_ring_end *e, const char *buf)
{
	size_t put = 0;
	while (put < MSG) {
		struct iovec iov = { (char *)buf + put, MSG - put };
		put += shm_ring_write(e, &iov, 1);
	}
	return 0;
}

static void pin(int cpu);
static int last_cpu(cpu_set_t *all);

/* Round trips over two bare rings; `yield`: both ends on one CPU, a
 * waiting end calls sched_yield (two context switches per round trip, and
 * no signal, doorbell or sleep: the floor of any blocking wait there). */
static double bench_rings(long n, int yield)
{
	size_t one = shm_ring_bytes(RING);
	char *m = mmap(NULL, 2 * one, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	shm_ring_init((struct shm_ring *)m, RING);
	shm_ring_init((struct shm_ring *)(m + one), RING);
	struct shm_ring_end ping_tx, ping_rx, pong_tx, pong_rx;
	shm_ring_attach(&ping_tx, (struct shm_ring *)m, one);
	shm_ring_attach(&pong_rx, (struct shm_ring *)m, one);
	shm_ring_attach(&pong_tx, (struct shm_ring *)(m + one), one);
	shm_ring_attach(&ping_rx, (struct shm_ring *)(m + one), one);
	char buf[MSG] = "ping";
	double deadline = now_ns() + 60e9;
	cpu_set_t all;
	if (yield)
		pin(last_cpu(&all));
	pid_t pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n + 1000; i++)
			if (ring_recv(&pong_rx, buf, deadline, yield) < 0 ||
			    ring_send(&pong_tx, buf) < 0)
				_exit(1);
		_exit(0);
	}
	double t0 = 0;
	for (long i = 0; i < n + 1000; i++) {
		if (i == 1000)
			t0 = now_ns(); /* after a warm-up */
		ring_send(&ping_tx, buf);
		if (ring_recv(&ping_rx, buf, deadline, yield) < 0) {
			kill(pid, SIGKILL);
			break;
		}
	}
	double rtt = (now_ns() - t0) / (double)n;
	int status;
	waitpid(pid, &status, 0);
	munmap(m, 2 * one);
	if (yield)
		sched_setaffinity(0, sizeof(all), &all);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? rtt : -1;
}

/* Messages per second: one process writes `n` 64-byte messages into a bare
 * ring (spinning while it is full), the other reads whatever is there into
 * a 64 KiB buffer, each on a CPU of its own (the first and the last
 * allowed, as the sockperf throughput runs place them). */
static double bench_stream(long n)
{
	enum { STREAM_RING = 256 * 1024, READ_BUF = 64 * 1024 };
	size_t one = shm_ring_bytes(STREAM_RING);
	struct shm_ring *r =
		mmap(NULL, one, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	shm_ring_init(r, STREAM_RING);
	struct shm_ring_end tx, rx;
	shm_ring_attach(&tx, r, one);
	shm_ring_attach(&rx, r, one);
	cpu_set_t all;
	int last = last_cpu(&all), first = last;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			first = c;
			break;
		}
	double deadline = now_ns() + 60e9;
	pid_t pid = fork();
	if (pid == 0) {
		static char in[READ_BUF];
		pin(first);
		uint64_t want = (uint64_t)n * MSG, got = 0;
		unsigned int spins = 0;
		while (got < want) {
			struct iovec iov = { in, sizeof(in) };
			size_t k = shm_ring_read(&rx, &iov, 1, 0);
			got += k;
			if (!k && ++spins % 4096 == 0 && now_ns() > deadline)
				_exit(1);
		}
		_exit(0);
	}
	pin(last);
	char msg[MSG] = "stream";
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		struct iovec iov = { msg, MSG };
		unsigned int spins = 0;
		while (!shm_ring_write(&tx, &iov, 1))
			if (++spins % 4096 == 0 && now_ns() > deadline)
				break;
	}
	int status;
	waitpid(pid, &status, 0);
	double secs = (now_ns() - t0) / 1e9;
	munmap(r, one);
	sched_setaffinity(0, sizeof(all), &all);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (double)n / secs : -1;
}

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* The last CPU this process may use. */
static int last_cpu(cpu_set_t *all)
{
	int cpu = 0;
	sched_getaffinity(0, sizeof(*all), all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, all))
			cpu = c;
	return cpu;
}

/* The same over a connection (src/hw/shm/conn.c) whose calls block: a
 * waiting side sleeps in the kernel and is woken by a doorbell byte. */
static int conn_full(struct shm_conn *c, char *buf, int out)
{
	size_t done = 0;
	while (done < MSG) {
		struct iovec iov = { buf + done, MSG - done };
		ssize_t r = out ? shm_conn_send(c, &iov, 1, 0) : shm_conn_recv(c, &iov, 1, 0);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static double bench_conn(long n)
{
	int sv[2];
	int memfd = shm_conn_memfd(RING);
	if (memfd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	char buf[MSG] = "ping";
	cpu_set_t all;
	pin(last_cpu(&all)); /* like the kernel's run: both on one CPU */
	pid_t pid = fork();
	if (pid == 0) {
		struct shm_conn c;
		close(sv[0]);
		if (shm_conn_attach(&c, memfd, sv[1], 1) < 0)
			_exit(1);
		for (long i = 0; i < n + 100; i++)
			if (conn_full(&c, buf, 0) < 0 || conn_full(&c, buf, 1) < 0)
				_exit(1);
		_exit(0);
	}
	close(sv[1]);
	struct shm_conn c;
	if (shm_conn_attach(&c, memfd, sv[0], 0) < 0)
		return -1;
	double t0 = 0;
	for (long i = 0; i < n + 100; i++) {
		if (i == 100)
			t0 = now_ns();
		if (conn_full(&c, buf, 1) < 0 || conn_full(&c, buf, 0) < 0)
			break;
	}
	double rtt = (now_ns() - t0) / (double)n;
	int status;
	waitpid(pid, &status, 0);
	shm_conn_detach(&c);
	close(sv[0]);
	close(memfd);
	sched_setaffinity(0, sizeof(all), &all);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? rtt : -1;
}

static int full(int fd, char *buf, int out)
{
	size_t done = 0;
	while (done < MSG) {
		ssize_t r = out ? send(fd, buf + done, MSG - done, 0) : recv(fd, buf + done, MSG - done, 0);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static double bench_tcp(long n)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		return -1;
	char buf[MSG] = "ping";
	cpu_set_t all;
	sched_getaffinity(0, sizeof(all), &all);
	int cpu = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all))
			cpu = c; /* the last allowed CPU */
	pin(cpu);
	pid_t pid = fork();
	if (pid == 0) {
		int s = accept(l, NULL, NULL);
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (long i = 0; i < n + 100; i++)
			if (full(s, buf, 0) < 0 || full(s, buf, 1) < 0)
				_exit(1);
		_exit(0);
	}
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	double t0 = 0;
	for (long i = 0; i < n + 100; i++) {
		if (i == 100)
			t0 = now_ns();
		if (full(c, buf, 1) < 0 || full(c, buf, 0) < 0)
			break;
	}
	double rtt = (now_ns() - t0) / (double)n;
	int status;
	waitpid(pid, &status, 0);
	close(c);
	close(l);
	sched_setaffinity(0, sizeof(all), &all);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? rtt : -1;
}

int main(int argc, char **argv)
{
	/* One figure alone: the polled ping-pong or the stream. */
	int busy = argc > 1 && !strcmp(argv[1], "busy");
	if (busy || (argc > 1 && !strcmp(argv[1], "stream"))) {
		long count = argc > 2 ? atol(argv[2]) : busy ? 200000 : 10000000;
		if (count < 1)
			count = 1;
		double v = busy ? bench_rings(count, 0) : bench_stream(count);
		if (v < 0) {
			fprintf(stderr, "ring_pingpong: the %s failed\n", argv[1]);
			return 1;
		}
		if (busy)
			printf("  shared-memory rings (busy polling)    %8.0f ns   (%ld round trips)\n",
			       v, count);
		else
			printf("  rings, stream                         %8.0f msg/s (%ld messages)\n", v,
			       count);
		return 0;
	}
	long n = argc > 1 ? atol(argv[1]) : 200000;
	long msgs = argc > 2 ? atol(argv[2]) : 10000000;
	if (n < 1)
		n = 1;
	if (msgs < 1)
		msgs = 1;
	long tenth = n / 10 > 0 ? n / 10 : 1;
	double tcp = bench_tcp(tenth);
	double ring = bench_rings(n, 0);
	double yield = bench_rings(tenth, 1);
	double conn = bench_conn(tenth);
	double stream = bench_stream(msgs);
	if (tcp < 0 || ring < 0 || yield < 0 || conn < 0 || stream < 0) {
		fprintf(stderr, "ring_pingpong: a run failed\n");
		return 1;
	}
	printf("64-byte ping-pong between two processes, round-trip time\n");
	printf("  kernel TCP loopback (blocking, 1 CPU) %8.0f ns   (%ld round trips)\n", tcp,
	       n / 10);
	printf("  shared-memory rings (busy polling)    %8.0f ns   (%ld round trips)\n", ring, n);
	printf("  ratio rings/kernel                    %8.3f\n", ring / tcp);
	printf("  rings, yielding (1 CPU)               %8.0f ns   (%ld round trips, ratio %.3f)\n",
	       yield, tenth, yield / tcp);
	printf("  rings, blocking (doorbell, 1 CPU)     %8.0f ns   (%ld round trips, ratio %.3f)\n",
	       conn, tenth, conn / tcp);
	printf("64-byte messages streamed through a ring, one CPU each\n");
	printf("  rings, stream                         %8.0f msg/s (%ld messages)\n", stream, msgs);
	return 0;
}
