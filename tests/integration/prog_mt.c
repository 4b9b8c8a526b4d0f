/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Threads on one connection, as the kernel allows them: four threads each
 * sending 4 KiB records on one socket (under libaccel each arrives whole), one
 * thread sending while another receives (a 64 MiB echo, checksummed), four
 * threads blocked in accept on one listener, a shutdown or a close by one
 * thread while another is blocked in recv or epoll_wait, and a member added
 * to or changed in an epoll set while another thread sleeps on it. The transcript
 * depends only on kernel semantics. On stderr: the engine of each
 * connection (SOL_ACCEL), for the script to check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <sys/time.h>

#include "prog_util.h"

#define SOL_ACCEL_ 0x0acc
#define SO_ACCEL_ENGINE_ 3

static void engine(const char *what, int fd)
{
	char name[16] = "";
	socklen_t len = sizeof(name);
	if (getsockopt(fd, SOL_ACCEL_, SO_ACCEL_ENGINE_, name, &len) < 0)
		strcpy(name, "-");
	fprintf(stderr, "engine %s: %s\n", what, name);
}

/* ---- four senders, one receiver: records stay whole ---------------------- */

enum { SENDERS = 4, RECORDS = 400, RECORD = 4096 };

struct sender {
	int fd;
	int id;
};

static void *send_records(void *arg)
{
	struct sender *s = arg;
	char rec[RECORD];
	for (int i = 0; i < RECORDS; i++) {
		memset(rec, 'A' + s->id, sizeof(rec));
		memcpy(rec, &i, sizeof(i));
		if (send(s->fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec))
			die("send record");
	}
	return NULL;
}

static void records(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	engine("records", sv[0]);
	pthread_t t[SENDERS];
	struct sender s[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		s[i] = (struct sender){ sv[0], i };
		pthread_create(&t[i], NULL, send_records, &s[i]);
	}
	int whole = 0, next[SENDERS] = { 0 }, in_order = 1;
	char rec[RECORD];
	for (int i = 0; i < SENDERS * RECORDS; i++) {
		if (read_full(sv[1], rec, sizeof(rec)) != sizeof(rec))
			die("short stream");
		int id = rec[RECORD - 1] - 'A', seq;
		memcpy(&seq, rec, sizeof(seq));
		int ok = id >= 0 && id < SENDERS;
		for (size_t k = sizeof(seq); ok && k < sizeof(rec); k++)
			ok = rec[k] == 'A' + id;
		whole += ok;
		if (ok && seq != next[id]++)
			in_order = 0;
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_join(t[i], NULL);
	/* The kernel may interleave concurrent sends (it lets go of the socket
	 * while one waits for room); libaccel keeps each send whole: the counts
	 * go to stderr, for the script to judge per mode. */
	say("4 threads x %d records of %d B on one socket: all %d B arrived", RECORDS, RECORD,
	    SENDERS * RECORDS * RECORD);
	fprintf(stderr, "records whole: %d, each thread's in order: %s\n", whole,
		in_order ? "yes" : "no");
	close(sv[0]);
	close(sv[1]);
}

/* ---- one thread sends while another receives ----------------------------- */

enum { ECHO_BYTES = 64 << 20 };

static void *echo_server(void *arg)
{
	int fd = *(int *)arg;
	static char buf[65536];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		write_all(fd, buf, (size_t)n);
	}
	shutdown(fd, SHUT_WR);
	return NULL;
}

static unsigned long sum_update(unsigned long h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211UL;
	return h;
}

static void *echo_sender(void *arg)
{
	int fd = *(int *)arg;
	static unsigned char buf[65536];
	unsigned long *h = malloc(sizeof(*h));
	*h = 1469598103934665603UL;
	for (size_t done = 0; done < ECHO_BYTES; done += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)((done + i) * 7 + (done >> 16));
		*h = sum_update(*h, buf, sizeof(buf));
		write_all(fd, buf, sizeof(buf));
	}
	shutdown(fd, SHUT_WR);
	return h;
}

static void duplex(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	engine("duplex", sv[0]);
	pthread_t srv, snd;
	pthread_create(&srv, NULL, echo_server, &sv[1]);
	pthread_create(&snd, NULL, echo_sender, &sv[0]);
	static unsigned char buf[65536];
	unsigned long h = 1469598103934665603UL;
	size_t got = 0;
	for (;;) {
		ssize_t n = recv(sv[0], buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		h = sum_update(h, buf, (size_t)n);
		got += (size_t)n;
	}
	void *sent;
	pthread_join(snd, &sent);
	pthread_join(srv, NULL);
	say("one thread sends 64 MiB while another receives the echo: %zu bytes back, checksum %s",
	    got, h == *(unsigned long *)sent ? "equal" : "DIFFERENT");
	free(sent);
	close(sv[0]);
	close(sv[1]);
}

/* ---- accept from several threads ------------------------------------------ */

enum { ACCEPTERS = 4, CLIENTS = 40 };

static int accepted_total;

static void *acceptor(void *arg)
{
	int l = *(int *)arg;
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			break; /* the listener was shut down */
		}
		char b;
		if (read(c, &b, 1) == 1 && b == 'q') {
			close(c);
			break;
		}
		__atomic_fetch_add(&accepted_total, 1, __ATOMIC_RELAXED);
		close(c);
	}
	return NULL;
}

static void accept_threads(void)
{
	int l = tcp_listener(AF_INET, 0);
	engine("listener", l);
	pthread_t t[ACCEPTERS];
	for (int i = 0; i < ACCEPTERS; i++)
		pthread_create(&t[i], NULL, acceptor, &l);
	for (int i = 0; i < CLIENTS + ACCEPTERS; i++) {
		int c = tcp_connect_to(l, AF_INET, 0);
		write_all(c, i < CLIENTS ? "x" : "q", 1); /* then one "quit" per thread */
		char b;
		(void)!read(c, &b, 1); /* until the acceptor closed it */
		close(c);
	}
	for (int i = 0; i < ACCEPTERS; i++)
		pthread_join(t[i], NULL);
	say("%d threads accepting on one listener: %d of %d clients taken", ACCEPTERS,
	    accepted_total, CLIENTS);
	close(l);
}

/* ---- shutdown or close while another thread is blocked --------------------- */

struct blocked {
	int fd;
	int ep;
	long rc;
	int err;
	unsigned int events;
};

static void *blocked_recv(void *arg)
{
	struct blocked *b = arg;
	char buf[16];
	b->rc = recv(b->fd, buf, sizeof(buf), 0);
	b->err = errno;
	return NULL;
}

static void *blocked_epoll(void *arg)
{
	struct blocked *b = arg;
	struct epoll_event ev;
	b->rc = epoll_wait(b->ep, &ev, 1, 5000);
	b->err = errno;
	b->events = b->rc == 1 ? ev.events : 0;
	return NULL;
}

static const char *evs(unsigned int e)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%s%s%s%s", e & EPOLLIN ? "IN" : "", e & EPOLLOUT ? "|OUT" : "",
		 e & EPOLLRDHUP ? "|RDHUP" : "", e & EPOLLHUP ? "|HUP" : "");
	return buf;
}

static void interrupted(void)
{
	int sv[2];
	pthread_t t;
	struct blocked b;

	/* shutdown(SHUT_RD) wakes a thread blocked in recv with an end of stream */
	tcp_pair(AF_INET, 0, sv);
	engine("shutdown", sv[0]);
	b = (struct blocked){ .fd = sv[0] };
	pthread_create(&t, NULL, blocked_recv, &b);
	usleep(100 * 1000);
	shutdown(sv[0], SHUT_RD);
	pthread_join(t, NULL);
	say("recv blocked, another thread shuts it down (RD): recv -> %s", b.rc < 0 ? errname(b.err) : res(b.rc));
	close(sv[0]);
	close(sv[1]);

	/* shutdown(SHUT_RDWR) wakes epoll_wait in another thread */
	tcp_pair(AF_INET, 0, sv);
	b = (struct blocked){ .fd = sv[0], .ep = epoll_create1(0) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = sv[0] };
	epoll_ctl(b.ep, EPOLL_CTL_ADD, sv[0], &ev);
	pthread_create(&t, NULL, blocked_epoll, &b);
	usleep(100 * 1000);
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	say("epoll_wait blocked, another thread shuts it down (RDWR): %ld event %s", b.rc,
	    evs(b.events));
	close(b.ep);
	close(sv[0]);
	close(sv[1]);

	/* close() does not wake a blocked recv (the kernel keeps the socket
	 * while the call runs); the peer's data does */
	tcp_pair(AF_INET, 0, sv);
	b = (struct blocked){ .fd = sv[0] };
	int keep = dup(sv[0]);
	pthread_create(&t, NULL, blocked_recv, &b);
	usleep(100 * 1000);
	close(sv[0]);
	usleep(100 * 1000);
	write_all(sv[1], "late", 4);
	pthread_join(t, NULL);
	say("recv blocked, another thread closes one of its fds, the peer sends: recv -> %s",
	    b.rc < 0 ? errname(b.err) : res(b.rc));
	close(keep);
	close(sv[1]);
}

/* ---- review findings, kept as checks --------------------------------------- */

struct poller {
	int fd;
	int timeout;
	int rc;
	short revents;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pf = { .fd = p->fd, .events = POLLIN };
	p->rc = poll(&pf, 1, p->timeout);
	p->revents = pf.revents;
	return NULL;
}

struct torn_count {
	int fd;
	long got, p, c, bad;
};

/* Read 100-byte records to the end; count whole ones of each writer. */
static void *count_records(void *arg)
{
	struct torn_count *tc = arg;
	char in[100];
	while (read_full(tc->fd, in, sizeof(in)) == sizeof(in)) {
		int k = in[0] == 'P' ? 0 : in[0] == 'C' ? 1 : -1;
		for (size_t j = 1; k >= 0 && j < sizeof(in); j++)
			if (in[j] != in[0])
				k = -1;
		if (k < 0)
			tc->bad++;
		else if (k == 0)
			tc->p++;
		else
			tc->c++;
		tc->got++;
	}
	return NULL;
}

struct ep_sleeper {
	int ep;
	int rc;
	int fd; /* the data.fd reported */
	unsigned int events;
};

static void *ep_sleep(void *arg)
{
	struct ep_sleeper *w = arg;
	struct epoll_event ev;
	w->rc = epoll_wait(w->ep, &ev, 1, -1);
	w->fd = w->rc == 1 ? ev.data.fd : -1;
	w->events = w->rc == 1 ? ev.events : 0;
	return NULL;
}

/*
 * A member added to (or changed in) an epoll set by one thread while
 * another sleeps in epoll_wait on it wakes the sleeper, as on the kernel:
 * how = 0, data comes after the ADD; 1, data was there before it; 2, a MOD
 * adds EPOLLOUT. A sleeper still asleep 5 s later is said so, then woken by
 * data on the set's first member.
 */
static void added_while_sleeping(int how)
{
	static const char *what[] = { "data after the ADD", "data before the ADD",
				      "a MOD adding EPOLLOUT", "a nested set ready before, by an ADD" };
	int first[2], second[2];
	tcp_pair(AF_INET, 0, first);
	tcp_pair(AF_INET, 0, second);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = first[0] };
	epoll_ctl(ep, EPOLL_CTL_ADD, first[0], &ev);
	if (how == 2) {
		ev.data.fd = second[0];
		epoll_ctl(ep, EPOLL_CTL_ADD, second[0], &ev);
	}
	int inner = -1;
	if (how == 3) {
		/* Another set, ready before anyone sleeps (a member with data),
		 * is added later. First a blocking recv that a write ends:
		 * nothing is left behind for the socket (under libaccel: no
		 * doorbell byte, no flag up for a sleeper). */
		struct blocked b = { .fd = second[0] };
		pthread_t r;
		pthread_create(&r, NULL, blocked_recv, &b);
		usleep(100 * 1000);
		write_all(second[1], "w", 1);
		pthread_join(r, NULL);
		inner = epoll_create1(EPOLL_CLOEXEC);
		ev.data.fd = second[0];
		epoll_ctl(inner, EPOLL_CTL_ADD, second[0], &ev);
		write_all(second[1], "d", 1);
		usleep(50 * 1000);
	}
	struct ep_sleeper w = { .ep = ep, .rc = -2 };
	pthread_t t;
	pthread_create(&t, NULL, ep_sleep, &w);
	usleep(200 * 1000); /* asleep by now (past any yield phase) */
	ev.data.fd = second[0];
	if (how == 3) {
		ev.data.fd = inner;
		epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev);
	}
	if (how == 1) {
		write_all(second[1], "d", 1);
		usleep(50 * 1000);
	}
	if (how == 2) {
		ev.events = EPOLLIN | EPOLLOUT;
		epoll_ctl(ep, EPOLL_CTL_MOD, second[0], &ev);
	} else if (how != 3) {
		epoll_ctl(ep, EPOLL_CTL_ADD, second[0], &ev);
	}
	if (how == 0)
		write_all(second[1], "d", 1);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	int late = pthread_timedjoin_np(t, NULL, &until) != 0;
	if (late) {
		write_all(first[1], "x", 1);
		pthread_join(t, NULL);
	}
	say("epoll_wait asleep, %s by another thread: %s, %d event(s), %s%s", what[how],
	    late ? "STILL ASLEEP 5 s later" : "woken", w.rc,
	    w.fd == second[0] ? "the new member " : w.fd == first[0] ? "the first member "
	    : w.fd == inner && inner >= 0 ? "the nested set " : "",
	    evs(w.events));
	if (how == 3 && !late) {
		/* Its member read directly: neither set is ready any more. */
		char c;
		struct epoll_event e;
		long got = recv(second[0], &c, 1, 0);
		say("  then its data read (%ld byte), epoll_wait on the outer set for 200 ms: %d event(s)", got,
		    epoll_wait(ep, &e, 1, 200));
	}
	if (inner >= 0)
		close(inner);
	close(ep);
	close(first[0]);
	close(first[1]);
	close(second[0]);
	close(second[1]);
}

static void regressions(void)
{
	for (int how = 0; how < 4; how++)
		added_while_sleeping(how);

	int sv[2];
	pthread_t t;

	/* two threads poll one socket; one times out; then data comes: the
	 * other must wake (it used to sleep on, its wake-up cancelled) */
	tcp_pair(AF_INET, 0, sv);
	struct poller a = { sv[0], 5000, -2, 0 }, b = { sv[0], 100, -2, 0 };
	pthread_create(&t, NULL, poll_thread, &a);
	usleep(50 * 1000);
	poll_thread(&b);
	write_all(sv[1], "d", 1);
	pthread_join(t, NULL);
	say("two threads poll one socket, one times out, data comes: %d then %d %s", b.rc, a.rc,
	    a.revents & POLLIN ? "IN" : "-");
	close(sv[0]);
	close(sv[1]);

	/* SO_RCVTIMEO and TCP_NODELAY set before connect stay with the socket */
	int l = tcp_listener(AF_INET, 0);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	getsockname(l, (struct sockaddr *)&ss, &len);
	int c = socket(AF_INET, SOCK_STREAM, 0), one = 1, v = 0;
	struct timeval tv = { 0, 200 * 1000 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c, (struct sockaddr *)&ss, len) < 0)
		die("connect");
	int acc = accept(l, NULL, NULL);
	char buf[8];
	long rc = recv(c, buf, sizeof(buf), 0);
	int err = errno;
	socklen_t vlen = sizeof(v);
	getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vlen);
	say("SO_RCVTIMEO set before connect: recv -> %s; TCP_NODELAY reads %d",
	    rc < 0 ? errname(err) : "data", v);

	/* SO_RCVTIMEO on the listener bounds a blocking accept */
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	rc = accept(l, NULL, NULL);
	say("accept with SO_RCVTIMEO and nobody coming: %s", rc < 0 ? errname(errno) : "a connection");
	close(acc);
	close(c);
	close(l);

	/* after fork, parent and child both write one connection: every
	 * 100-byte record arrives whole (one writer at a time across both) */
	tcp_pair(AF_INET, 0, sv);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	char rec[100];
	memset(rec, pid ? 'P' : 'C', sizeof(rec));
	if (pid == 0) {
		close(sv[1]);
		for (int i = 0; i < 2000; i++)
			write_all(sv[0], rec, sizeof(rec));
		_exit(0);
	}
	struct torn_count tc = { .fd = sv[1] };
	pthread_create(&t, NULL, count_records, &tc);
	for (int i = 0; i < 2000; i++)
		write_all(sv[0], rec, sizeof(rec));
	close(sv[0]); /* the child still holds it */
	int status;
	waitpid(pid, &status, 0);
	pthread_join(t, NULL);
	long got = tc.got, bad = tc.bad, counts[2] = { tc.p, tc.c };
	say("after fork, parent and child write one connection: %ld records, %ld + %ld whole, %ld torn",
	    got, counts[0], counts[1], bad);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	records();
	duplex();
	accept_threads();
	interrupted();
	regressions();
	say("== done");
	return 0;
}
