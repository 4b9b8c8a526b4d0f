/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IPv6 on ::1: TCP and UDP exchanges with the addresses each side sees,
 * ancillary data (IPV6_PKTINFO, IPV6_HOPLIMIT), MSG_TRUNC, v4-mapped
 * addresses on a dual-stack socket, and the errors of mismatched families.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <net/if.h>

#include "prog_util.h"

static const char *addr_str(const struct sockaddr_storage *ss)
{
	static char buf[INET6_ADDRSTRLEN + 16];
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
	else if (ss->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), "%s %s", ss->ss_family == AF_INET6 ? "AF_INET6" : "AF_INET", ip);
	return buf;
}

static unsigned short port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					 : ((const struct sockaddr_in *)ss)->sin_port;
}

static void name_of(int fd, int peer, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	int rc = peer ? getpeername(fd, (struct sockaddr *)ss, &len)
		      : getsockname(fd, (struct sockaddr *)ss, &len);
	if (rc < 0)
		die("get%sname", peer ? "peer" : "sock");
}

/* Exchange a patterned block each way over a connected stream pair. */
static void exchange(int a, int b, size_t n)
{
	unsigned char *out = malloc(n), *in = malloc(n);
	if (!out || !in)
		die("malloc");
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(i * 7 + 3);
	write_all(a, out, n);
	size_t got = read_full(b, in, n);
	int ab = got == n && !memcmp(in, out, n);
	write_all(b, out, n);
	got = read_full(a, in, n);
	int ba = got == n && !memcmp(in, out, n);
	say("  %zu bytes each way: %s", n, ab && ba ? "equal" : "DIFFERENT");
	free(out);
	free(in);
}

static void tcp_v6(void)
{
	say("== TCP on ::1");
	int l = tcp_listener(AF_INET6, 0);
	int v6only = -1;
	socklen_t len = sizeof(v6only);
	getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len);
	say("  listener IPV6_V6ONLY: %d", v6only);
	int c = tcp_connect_to(l, AF_INET6, 0);
	struct sockaddr_storage from, cname, lname, peer;
	len = sizeof(from);
	int s = accept(l, (struct sockaddr *)&from, &len);
	if (s < 0)
		die("accept");
	name_of(c, 0, &cname);
	name_of(l, 0, &lname);
	name_of(c, 1, &peer);
	say("  accept() peer: %s, len %u, port is the client's: %s", addr_str(&from), len,
	    port_of(&from) == port_of(&cname) ? "yes" : "no");
	say("  client getpeername: %s, port is the listener's: %s", addr_str(&peer),
	    port_of(&peer) == port_of(&lname) ? "yes" : "no");
	exchange(c, s, 60000);
	shutdown(c, SHUT_WR);
	char x;
	say("  read after the peer's shutdown: %s", res(read(s, &x, 1)));
	close(c);
	close(s);
	close(l);
}

static void udp_v6(void)
{
	say("== UDP on ::1");
	struct sockaddr_storage ua, va, from;
	socklen_t len = loopback(AF_INET6, 0, &ua);
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	int v = socket(AF_INET6, SOCK_DGRAM, 0);
	int one = 1;
	if (u < 0 || v < 0 || bind(u, (struct sockaddr *)&ua, len) < 0)
		die("udp6");
	setsockopt(u, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	setsockopt(u, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one));
	name_of(u, 0, &ua);
	len = sizeof(struct sockaddr_in6);
	ssize_t n = sendto(v, "unconnected", 11, 0, (struct sockaddr *)&ua, len);
	say("  sendto: %s", res(n));
	name_of(v, 0, &va);

	char buf[256], cbuf[256];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	n = recvmsg(u, &msg, 0);
	say("  recvmsg: %s \"%.*s\" from %s, port is the sender's: %s", res(n), (int)(n > 0 ? n : 0),
	    buf, addr_str(&from), port_of(&from) == port_of(&va) ? "yes" : "no");
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			char ip[INET6_ADDRSTRLEN];
			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			inet_ntop(AF_INET6, &pi.ipi6_addr, ip, sizeof(ip));
			say("  cmsg IPV6_PKTINFO: to %s on lo: %s", ip,
			    pi.ipi6_ifindex == if_nametoindex("lo") ? "yes" : "no");
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT) {
			int hops;
			memcpy(&hops, CMSG_DATA(cm), sizeof(hops));
			say("  cmsg IPV6_HOPLIMIT: %d", hops);
		} else {
			say("  cmsg level %d type %d", cm->cmsg_level, cm->cmsg_type);
		}
	}
	say("  msg_flags: %#x", msg.msg_flags);

	/* Connected socket, and a datagram bigger than the buffer. */
	if (connect(v, (struct sockaddr *)&ua, sizeof(struct sockaddr_in6)) < 0)
		die("connect udp6");
	char big[100];
	memset(big, 'b', sizeof(big));
	say("  send 100 bytes on the connected socket: %s", res(send(v, big, sizeof(big), 0)));
	msg.msg_name = NULL;
	msg.msg_namelen = 0;
	msg.msg_control = NULL;
	msg.msg_controllen = 0;
	iov.iov_len = 10;
	n = recvmsg(u, &msg, MSG_TRUNC);
	say("  recvmsg into 10 bytes with MSG_TRUNC: %s, MSG_TRUNC set: %s", res(n),
	    msg.msg_flags & MSG_TRUNC ? "yes" : "no");
	say("  recv with MSG_DONTWAIT on the empty socket: %s",
	    res(recv(u, buf, sizeof(buf), MSG_DONTWAIT)));
	close(u);
	close(v);
}

static void mapped(void)
{
	say("== v4-mapped addresses");
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &a.sin6_addr);
	int zero = 0, one = 1;
	int l = socket(AF_INET6, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		die("socket");
	say("  bind dual-stack socket to ::ffff:127.0.0.1: %s",
	    res(bind(l, (struct sockaddr *)&a, sizeof(a))));
	if (listen(l, 4) < 0)
		die("listen");
	struct sockaddr_storage lname, from;
	name_of(l, 0, &lname);
	struct sockaddr_storage v4;
	socklen_t len = loopback(AF_INET, port_of(&lname), &v4);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	say("  AF_INET connect to 127.0.0.1: %s", res(connect(c, (struct sockaddr *)&v4, len)));
	len = sizeof(from);
	int s = accept(l, (struct sockaddr *)&from, &len);
	if (s < 0)
		die("accept");
	say("  accepted peer: %s", addr_str(&from));
	exchange(c, s, 50000);
	close(c);
	close(s);

	int only = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	a.sin6_port = port_of(&lname);
	say("  IPV6_V6ONLY socket connect to ::ffff:127.0.0.1: %s",
	    res(connect(only, (struct sockaddr *)&a, sizeof(a))));
	close(only);
	close(l);

	int v4sock = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_storage six;
	len = loopback(AF_INET6, port_of(&lname), &six);
	say("  AF_INET socket connect to a sockaddr_in6: %s",
	    res(connect(v4sock, (struct sockaddr *)&six, len)));
	close(v4sock);

	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	int u4 = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage u4a;
	len = loopback(AF_INET, 0, &u4a);
	if (u6 < 0 || u4 < 0 || bind(u4, (struct sockaddr *)&u4a, len) < 0)
		die("udp");
	name_of(u4, 0, &u4a);
	a.sin6_port = port_of(&u4a);
	say("  AF_INET6 UDP sendto ::ffff:127.0.0.1: %s",
	    res(sendto(u6, "mapped", 6, 0, (struct sockaddr *)&a, sizeof(a))));
	char buf[16];
	len = sizeof(from);
	ssize_t n = recvfrom(u4, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len);
	say("  AF_INET receiver got %s \"%.*s\" from %s", res(n), (int)(n > 0 ? n : 0), buf,
	    addr_str(&from));
	close(u6);
	close(u4);
}

int main(void)
{
	tcp_v6();
	udp_v6();
	mapped();
	say("== done");
	return 0;
}
