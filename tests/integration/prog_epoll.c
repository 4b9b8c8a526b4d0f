/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * epoll as programs use it: one socket in two sets (level, edge, one-shot),
 * sets nested two deep, registrations outliving close() through a dup,
 * poll/select on an epoll fd, ctl errors; prints every readiness seen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "prog_util.h"

static const char *names[] = { "?", "s", "c", "ep1", "ep2", "s2", "u", "mid" };

static const char *evname(uint32_t ev)
{
	static char buf[64];
	static const struct {
		uint32_t bit;
		const char *name;
	} bits[] = {
		{ EPOLLIN, "IN" },   { EPOLLPRI, "PRI" }, { EPOLLOUT, "OUT" },
		{ EPOLLERR, "ERR" }, { EPOLLHUP, "HUP" }, { EPOLLRDHUP, "RDHUP" },
	};
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (ev & bits[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, bits[i].name);
		}
	ev &= ~(uint32_t)(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDHUP);
	if (ev)
		sprintf(buf + strlen(buf), "|%#x", ev);
	return buf[0] ? buf : "-";
}

static int by_tag(const void *a, const void *b)
{
	const struct epoll_event *x = a, *y = b;
	return (x->data.u64 > y->data.u64) - (x->data.u64 < y->data.u64);
}

/* What ep reports now (timeout 0), sorted, as one transcript line. */
static void show(const char *what, int ep, int use_pwait)
{
	struct epoll_event ev[8];
	sigset_t none;
	sigemptyset(&none);
	int n = use_pwait ? epoll_pwait(ep, ev, 8, 0, &none) : epoll_wait(ep, ev, 8, 0);
	if (n < 0) {
		say("%-44s -> %s", what, res(n));
		return;
	}
	qsort(ev, (size_t)n, sizeof(ev[0]), by_tag);
	char line[256] = "";
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s:%s",
			 tag < sizeof(names) / sizeof(names[0]) ? names[tag] : "??",
			 evname(ev[i].events));
	}
	say("%-44s -> %d%s", what, n, line);
}

/* Wait (2 s at most) until fd shows events, so that what follows is settled. */
static void settle(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	if (poll(&p, 1, 2000) != 1)
		die("fd %d never became ready for %#x", fd, events);
}

static void ctl(const char *what, int ep, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };
	int rc = epoll_ctl(ep, op, fd, &ev);
	say("%-44s -> %s", what, res(rc));
}

static void drain(int fd, const char *what)
{
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		say("%-44s -> %s", what, res(n));
	else
		say("%-44s -> %zd \"%.*s\"", what, n, (int)n, buf);
}

static void two_sets(int s, int c, int ep1, int ep2)
{
	say("== one socket in two epoll sets");
	ctl("ep1 add s IN (level)", ep1, EPOLL_CTL_ADD, s, EPOLLIN, 1);
	ctl("ep2 add s IN (level)", ep2, EPOLL_CTL_ADD, s, EPOLLIN, 1);
	ctl("ep1 add s again", ep1, EPOLL_CTL_ADD, s, EPOLLIN, 1);
	show("ep1 idle", ep1, 0);
	show("ep2 idle", ep2, 1);
	write_all(c, "ping", 4);
	settle(s, POLLIN);
	show("ep1 after c sends", ep1, 0);
	show("ep2 after c sends", ep2, 1);
	show("ep1 again (level: still ready)", ep1, 0);
	ctl("ep2 mod s IN|ET", ep2, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLET, 1);
	show("ep2 after mod (pending data reported)", ep2, 0);
	show("ep2 again (edge: nothing new)", ep2, 0);
	show("ep1 still (level)", ep1, 0);
	drain(s, "recv s");
	show("ep1 after recv", ep1, 0);
	show("ep2 after recv", ep2, 0);
	write_all(c, "x", 1);
	settle(s, POLLIN);
	show("ep2 new data (edge fires once)", ep2, 0);
	show("ep2 again", ep2, 0);
	show("ep1 new data", ep1, 0);
	drain(s, "recv s");
	ctl("ep2 mod s IN|ONESHOT", ep2, EPOLL_CTL_MOD, s, EPOLLIN | EPOLLONESHOT, 1);
	write_all(c, "y", 1);
	settle(s, POLLIN);
	show("ep2 one-shot fires", ep2, 0);
	show("ep2 one-shot disarmed", ep2, 0);
	show("ep1 unaffected", ep1, 0);
	ctl("ep2 mod s IN (re-arm)", ep2, EPOLL_CTL_MOD, s, EPOLLIN, 1);
	show("ep2 re-armed", ep2, 0);
	drain(s, "recv s");
	ctl("ep1 add c OUT", ep1, EPOLL_CTL_ADD, c, EPOLLOUT, 2);
	show("ep1 c writable, s idle", ep1, 0);
	ctl("ep1 del c", ep1, EPOLL_CTL_DEL, c, 0, 2);
	ctl("ep1 del c again", ep1, EPOLL_CTL_DEL, c, 0, 2);
}

static void nested(int s, int c, int ep1)
{
	say("== nested epoll");
	int mid = epoll_create1(EPOLL_CLOEXEC);
	int top = epoll_create1(0);
	if (mid < 0 || top < 0)
		die("epoll_create1");
	ctl("mid add ep1 IN", mid, EPOLL_CTL_ADD, ep1, EPOLLIN, 3);
	ctl("top add mid IN", top, EPOLL_CTL_ADD, mid, EPOLLIN, 7);
	ctl("ep1 add top (a loop)", ep1, EPOLL_CTL_ADD, top, EPOLLIN, 9);
	ctl("top add top (itself)", top, EPOLL_CTL_ADD, top, EPOLLIN, 9);
	show("top idle", top, 0);
	show("mid idle", mid, 0);
	write_all(c, "nest", 4);
	settle(s, POLLIN);
	settle(ep1, POLLIN);
	show("top after c sends", top, 0);
	show("mid after c sends", mid, 1);
	show("ep1 after c sends", ep1, 0);

	struct pollfd p[2] = { { .fd = top, .events = POLLIN }, { .fd = ep1, .events = POLLIN } };
	int n = poll(p, 2, 0);
	say("%-44s -> %d top:%s ep1:%s", "poll top and ep1", n, evname(p[0].revents),
	    evname(p[1].revents));
	fd_set r;
	FD_ZERO(&r);
	FD_SET(mid, &r);
	struct timeval tv = { 0, 0 };
	n = select(mid + 1, &r, NULL, NULL, &tv);
	say("%-44s -> %d mid:%s", "select mid", n, FD_ISSET(mid, &r) ? "readable" : "-");

	drain(s, "recv s");
	show("top after recv", top, 0);
	n = poll(p, 2, 0);
	say("%-44s -> %d top:%s ep1:%s", "poll top and ep1", n, evname(p[0].revents),
	    evname(p[1].revents));
	close(top);
	close(mid);
}

static void dup_and_close(int s, int c, int ep1)
{
	say("== registration follows the file, not the fd number");
	int s2 = dup(s);
	if (s2 < 0)
		die("dup");
	close(s);
	write_all(c, "dup", 3);
	settle(s2, POLLIN);
	show("ep1 after close(s) with a dup open", ep1, 0);
	drain(s2, "recv s2 (the dup)");
	ctl("ep1 del s2 (never added)", ep1, EPOLL_CTL_DEL, s2, 0, 5);
	ctl("ep1 add s2", ep1, EPOLL_CTL_ADD, s2, EPOLLIN | EPOLLRDHUP, 5);
	show("ep1 idle", ep1, 0);
	shutdown(c, SHUT_WR);
	settle(s2, POLLRDHUP);
	show("ep1 after shutdown(c, WR)", ep1, 0);
	drain(s2, "recv s2");
	shutdown(s2, SHUT_WR);
	settle(s2, POLLHUP);
	show("ep1 after shutdown(s2, WR)", ep1, 0);
	close(s2);
	show("ep1 after the last close", ep1, 0);
	close(c);
}

static void udp(int ep2)
{
	say("== UDP in an epoll set");
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	int v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 0, &ss);
	if (u < 0 || v < 0 || bind(u, (struct sockaddr *)&ss, len) < 0)
		die("udp socket");
	len = sizeof(ss);
	getsockname(u, (struct sockaddr *)&ss, &len);
	ctl("ep2 add u IN", ep2, EPOLL_CTL_ADD, u, EPOLLIN, 6);
	show("ep2 idle (s is closed: gone from it)", ep2, 0);
	for (int i = 0; i < 3; i++)
		if (sendto(v, "dgram67", 5 + (size_t)i, 0, (struct sockaddr *)&ss, len) < 0)
			die("sendto");
	settle(u, POLLIN);
	show("ep2 after 3 datagrams", ep2, 0);
	for (int i = 0; i < 4; i++) {
		char what[32];
		snprintf(what, sizeof(what), "recv u #%d", i + 1);
		drain(u, what);
		if (i == 1)
			show("ep2 with one datagram left", ep2, 0);
	}
	show("ep2 after draining u", ep2, 0);
	close(u);
	close(v);
}

int main(void)
{
	int sv[2];
	tcp_pair(AF_INET, 0, sv);
	int c = sv[0], s = sv[1];
	int ep1 = epoll_create1(0);
	int ep2 = epoll_create(1);
	if (ep1 < 0 || ep2 < 0)
		die("epoll_create");
	two_sets(s, c, ep1, ep2);
	nested(s, c, ep1);
	dup_and_close(s, c, ep1);
	udp(ep2);
	close(ep1);
	close(ep2);
	say("== done");
	return 0;
}
