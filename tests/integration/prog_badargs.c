/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Socket calls with bad pointers and short lengths, where libaccel reads
 * the program's arguments to decide a socket or to trace the call: each
 * must give the kernel's error, never a crash. Prints one line per call.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog_util.h"

static void show(const char *what, long rc)
{
	printf("%-44s %ld %s\n", what, rc, rc < 0 ? errname(errno) : "");
	fflush(stdout);
}

int main(void)
{
	/* A readable page followed by an unmapped one. */
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		die("mmap");
	munmap(page + 4096, 4096);
	sa_family_t *edge = (sa_family_t *)(page + 4096 - sizeof(sa_family_t));
	*edge = AF_INET;
	struct sockaddr *bad = (struct sockaddr *)8;
	struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	six.sin6_addr = in6addr_loopback;

	show("sendto, address at a bad pointer", sendto(socket(AF_INET, SOCK_DGRAM, 0), "x", 1, 0,
							 bad, sizeof(struct sockaddr_in)));
	show("connect, address at a bad pointer",
	     connect(socket(AF_INET, SOCK_DGRAM, 0), bad, sizeof(struct sockaddr_in)));
	show("connect, 2-byte address at a page's end",
	     connect(socket(AF_INET, SOCK_DGRAM, 0), (struct sockaddr *)edge, 2));
	show("connect, AF_INET address with length 4",
	     connect(socket(AF_INET, SOCK_STREAM, 0), (struct sockaddr *)edge, 4));
	show("connect, AF_INET6 address with length 16",
	     connect(socket(AF_INET6, SOCK_DGRAM, 0), (struct sockaddr *)&six, 16));
	show("sendmsg, msghdr at a bad pointer",
	     sendmsg(socket(AF_INET, SOCK_DGRAM, 0), (struct msghdr *)8, 0));
	struct msghdr m = { .msg_name = bad, .msg_namelen = sizeof(struct sockaddr_in) };
	show("sendmsg, name at a bad pointer", sendmsg(socket(AF_INET, SOCK_DGRAM, 0), &m, 0));
	show("sendmmsg, vector at a bad pointer",
	     sendmmsg(socket(AF_INET, SOCK_DGRAM, 0), (struct mmsghdr *)8, 1, 0));
	show("bind, address at a bad pointer",
	     bind(socket(AF_INET, SOCK_DGRAM, 0), bad, sizeof(struct sockaddr_in)));
	show("bind, 2-byte address at a page's end",
	     bind(socket(AF_INET, SOCK_DGRAM, 0), (struct sockaddr *)edge, 2));
	show("sendto, AF_INET6 address of length 3",
	     sendto(socket(AF_INET6, SOCK_DGRAM, 0), "x", 1, 0, (struct sockaddr *)&six, 3));
	int lite = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = htons(9) };
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	show("UDP-Lite sendto to 127.0.0.1:9",
	     lite < 0 ? -1 : sendto(lite, "x", 1, 0, (struct sockaddr *)&lo, sizeof(lo)));
	return 0;
}
