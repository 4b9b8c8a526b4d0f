/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Blocking socket calls interrupted by a signal, with and without
 * SA_RESTART: which ones restart (recv, read, accept, recvfrom) and which
 * fail with EINTR anyway (SO_RCVTIMEO, poll, select, epoll_wait), per signal(7).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "prog_util.h"

static pthread_t main_thread;
static pid_t main_tid;
static int handled; /* atomic: set by the handler, read by the helper */
static int about_to_block;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_add_fetch(&handled, 1, __ATOMIC_SEQ_CST);
}

static void install(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		die("sigaction");
	__atomic_store_n(&handled, 0, __ATOMIC_SEQ_CST);
}

static void nap(void)
{
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
}

/* Whether the main thread sleeps in the kernel now. */
static int main_sleeps(void)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)main_tid);
	FILE *f = fopen(path, "r");
	if (!f)
		die("fopen %s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

/* Wait (5 s at most) until the main thread is asleep in its blocking call. */
static void wait_blocked(void)
{
	while (!__atomic_load_n(&about_to_block, __ATOMIC_ACQUIRE))
		nap();
	for (int i = 0; i < 5000; i++) {
		if (main_sleeps())
			return;
		nap();
	}
	die("the main thread never blocked");
}

struct plan {
	int restart;               /* expect the call to restart: wait for it, then act */
	void (*act)(void *);       /* what makes the restarted call return */
	void *arg;
};

static void *helper(void *p)
{
	struct plan *plan = p;
	/* PROG_EINTR_EARLY: 100 ms after the call starts, whether it sleeps in
	 * the kernel yet or still polls (libaccel's ACCEL_WAIT_YIELD). */
	if (getenv("PROG_EINTR_EARLY")) {
		while (!__atomic_load_n(&about_to_block, __ATOMIC_ACQUIRE))
			nap();
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
	} else {
		wait_blocked();
	}
	pthread_kill(main_thread, SIGUSR1);
	for (int i = 0; i < 5000 && !__atomic_load_n(&handled, __ATOMIC_SEQ_CST); i++)
		nap();
	if (plan->restart) {
		wait_blocked(); /* asleep again: the call was restarted */
		plan->act(plan->arg);
	}
	return NULL;
}

static pthread_t start(struct plan *plan)
{
	pthread_t t;
	__atomic_store_n(&about_to_block, 0, __ATOMIC_RELEASE);
	if (pthread_create(&t, NULL, helper, plan) != 0)
		die("pthread_create");
	return t;
}

static void blocking(void)
{
	__atomic_store_n(&about_to_block, 1, __ATOMIC_RELEASE);
}

static void finish(pthread_t t, const char *what, const char *result)
{
	pthread_join(t, NULL);
	int n = __atomic_load_n(&handled, __ATOMIC_SEQ_CST);
	say("%-36s -> %s (handler ran %d time%s)", what, result, n, n == 1 ? "" : "s");
}

static const char *got(ssize_t n, const char *buf)
{
	static char out[96];
	if (n < 0)
		snprintf(out, sizeof(out), "%s", res(n));
	else
		snprintf(out, sizeof(out), "%zd \"%.*s\"", n, (int)n, buf);
	return out;
}

static void send_later(void *arg)
{
	write_all(*(int *)arg, "later", 5);
}

static void stream_read(int restart, int use_read, int with_timeout)
{
	int sv[2];
	char buf[32], what[96];
	tcp_pair(AF_INET, 0, sv);
	if (with_timeout) {
		struct timeval tv = { 20, 0 };
		setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	install(restart);
	struct plan plan = { restart && !with_timeout, send_later, &sv[0] };
	pthread_t t = start(&plan);
	blocking();
	ssize_t n = use_read ? read(sv[1], buf, sizeof(buf)) : recv(sv[1], buf, sizeof(buf), 0);
	snprintf(what, sizeof(what), "%s, %s%s", use_read ? "read" : "recv",
		 restart ? "SA_RESTART" : "no SA_RESTART", with_timeout ? ", SO_RCVTIMEO" : "");
	finish(t, what, got(n, buf));
	if (n < 0) {
		/* The socket still works after the interruption. */
		write_all(sv[0], "after", 5);
		n = recv(sv[1], buf, sizeof(buf), 0);
		say("%-36s -> %s", "  then recv", got(n, buf));
	}
	close(sv[0]);
	close(sv[1]);
}

static void connect_later(void *arg)
{
	int fd = tcp_connect_to(*(int *)arg, AF_INET, 0);
	write_all(fd, "hi", 2);
	close(fd);
}

static void accept_call(int restart)
{
	int l = tcp_listener(AF_INET, 0);
	install(restart);
	struct plan plan = { restart, connect_later, &l };
	pthread_t t = start(&plan);
	blocking();
	int fd = accept(l, NULL, NULL);
	char result[64] = "";
	if (fd >= 0) {
		char buf[8];
		size_t n = read_full(fd, buf, 2);
		snprintf(result, sizeof(result), "a connection that sent \"%.*s\"", (int)n, buf);
		close(fd);
	} else {
		snprintf(result, sizeof(result), "%s", res(fd));
	}
	finish(t, restart ? "accept, SA_RESTART" : "accept, no SA_RESTART", result);
	close(l);
}

struct dgram_target {
	int fd;
	struct sockaddr_storage to;
	socklen_t len;
};

static void send_datagram(void *arg)
{
	struct dgram_target *d = arg;
	if (sendto(d->fd, "datagram", 8, 0, (struct sockaddr *)&d->to, d->len) != 8)
		die("sendto");
}

static void udp_recvfrom(int restart)
{
	struct dgram_target d;
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	d.fd = socket(AF_INET, SOCK_DGRAM, 0);
	d.len = loopback(AF_INET, 0, &d.to);
	if (u < 0 || d.fd < 0 || bind(u, (struct sockaddr *)&d.to, d.len) < 0)
		die("udp");
	d.len = sizeof(d.to);
	getsockname(u, (struct sockaddr *)&d.to, &d.len);
	install(restart);
	struct plan plan = { restart, send_datagram, &d };
	pthread_t t = start(&plan);
	blocking();
	char buf[32];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t n = recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	finish(t, restart ? "recvfrom UDP, SA_RESTART" : "recvfrom UDP, no SA_RESTART", got(n, buf));
	close(u);
	close(d.fd);
}

/* Multiplexers never restart (signal(7)): the helper only signals. */
static void mux(const char *which)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	install(1);
	struct plan plan = { 0, NULL, NULL };
	pthread_t t = start(&plan);
	long rc;
	char what[64];
	if (!strcmp(which, "poll")) {
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		blocking();
		rc = poll(&p, 1, 20000);
	} else if (!strcmp(which, "select")) {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(sv[1], &r);
		struct timeval tv = { 20, 0 };
		blocking();
		rc = select(sv[1] + 1, &r, NULL, NULL, &tv);
	} else {
		int ep = epoll_create1(0);
		struct epoll_event ev = { .events = EPOLLIN };
		epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
		blocking();
		rc = epoll_wait(ep, &ev, 1, 20000);
		close(ep);
	}
	snprintf(what, sizeof(what), "%s, SA_RESTART", which);
	finish(t, what, res(rc));
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	main_thread = pthread_self();
	main_tid = (pid_t)syscall(SYS_gettid);
	stream_read(1, 0, 0);
	stream_read(0, 0, 0);
	stream_read(1, 1, 0);
	stream_read(0, 1, 0);
	stream_read(1, 0, 1);
	accept_call(1);
	accept_call(0);
	udp_recvfrom(1);
	udp_recvfrom(0);
	mux("poll");
	mux("select");
	mux("epoll_wait");
	say("done");
	return 0;
}
