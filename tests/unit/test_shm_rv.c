/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the same-host rendezvous (src/hw/shm/rendezvous.c): a
 * client finds a libaccel listener only with valid proof. Exact, wildcard,
 * dual-stack and v4-mapped addresses; no listener; a squatter that shows
 * a socket which does not listen, or listens elsewhere; one that never
 * answers; and a name already taken.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/shm/conn.h"
#include "hw/shm/rendezvous.h"

static int tcp_listen(int family, const char *ip, int v6only, struct sockaddr_storage *out)
{
	int fd = socket(family, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, ip, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
		len = sizeof(*a);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(fd, 8), 0);
	len = sizeof(*out);
	assert_int_equal(getsockname(fd, (struct sockaddr *)out, &len), 0);
	return fd;
}

static void set_dst(struct sockaddr_storage *dst, int family, const char *ip,
		    const struct sockaddr_storage *port_of)
{
	unsigned short port = port_of->ss_family == AF_INET
				      ? ((const struct sockaddr_in *)port_of)->sin_port
				      : ((const struct sockaddr_in6 *)port_of)->sin6_port;
	memset(dst, 0, sizeof(*dst));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)dst;
		a->sin_family = AF_INET;
		a->sin_port = port;
		inet_pton(AF_INET, ip, &a->sin_addr);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)dst;
		a->sin6_family = AF_INET6;
		a->sin6_port = port;
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	}
}

/* A child looks for dst; the parent answers with proof_fd. Child's result. */
static int find_from_child(const struct sockaddr_storage *dst, int rv_fd, int proof_fd)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		int memfd = -1;
		int c = shm_rv_find((const struct sockaddr *)dst, sizeof(*dst), 2000, &memfd);
		if (c < 0)
			_exit(-c);
		struct stat st;
		/* the memfd arrived and is the connection's mapping */
		_exit(fstat(memfd, &st) == 0 && st.st_size > 0 ? 0 : 99);
	}
	int memfd = shm_conn_memfd(SHM_RING_MIN);
	assert_true(memfd >= 0);
	if (rv_fd >= 0) {
		struct pollfd p = { .fd = rv_fd, .events = POLLIN };
		if (poll(&p, 1, 3000) == 1) {
			int c = shm_rv_answer(rv_fd, proof_fd, memfd);
			if (c >= 0)
				close(c);
		}
	}
	close(memfd);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_exact_and_wildcard(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET, "127.0.0.1", 0, &la);
	int rv = shm_rv_advertise(l);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv, l), 0);
	/* the same listener, reached as ::ffff:127.0.0.1 from an IPv6 socket */
	set_dst(&dst, AF_INET6, "::ffff:127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv, l), 0);
	/* the name is taken while rv lives */
	assert_int_equal(shm_rv_advertise(l), -EADDRINUSE);
	close(rv);
	close(l);

	l = tcp_listen(AF_INET, "0.0.0.0", 0, &la);
	rv = shm_rv_advertise(l);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET, "127.0.0.2", &la);
	assert_int_equal(find_from_child(&dst, rv, l), 0);
	close(rv);
	close(l);
}

static void test_ipv6_and_dual_stack(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET6, "::", 0, &la);
	int rv = shm_rv_advertise(l);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET6, "::1", &la);
	assert_int_equal(find_from_child(&dst, rv, l), 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la); /* IPv4 client, dual-stack listener */
	assert_int_equal(find_from_child(&dst, rv, l), 0);
	close(rv);
	close(l);
	/* an IPv6-only listener does not take IPv4 clients: no valid proof */
	l = tcp_listen(AF_INET6, "::", 1, &la);
	rv = shm_rv_advertise(l);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv, l), EPERM);
	close(rv);
	close(l);
}

static void test_nobody(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET, "127.0.0.1", 0, &la); /* listens, advertises nothing */
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, -1, -1), ENOENT);
	close(l);
}

/* Someone binds the listener's rendezvous name and shows the wrong socket. */
static void test_squatters(void **state)
{
	(void)state;
	struct sockaddr_storage la, other, dst;
	int l = tcp_listen(AF_INET, "127.0.0.1", 0, &la);     /* the real server */
	int fake_rv = shm_rv_advertise(l);                    /* squatting its name */
	assert_true(fake_rv >= 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	/* a TCP socket that does not listen */
	int idle = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(find_from_child(&dst, fake_rv, idle), EPERM);
	/* a listener on another port */
	int elsewhere = tcp_listen(AF_INET, "127.0.0.1", 0, &other);
	assert_int_equal(find_from_child(&dst, fake_rv, elsewhere), EPERM);
	/* a UDP socket bound to the port */
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(find_from_child(&dst, fake_rv, udp), EPERM);
	/* the real server cannot advertise while the name is taken */
	assert_int_equal(shm_rv_advertise(l), -EADDRINUSE);
	/* one that never answers: the client gives up in time */
	assert_int_equal(find_from_child(&dst, -1, -1), ENOENT);
	close(udp);
	close(elsewhere);
	close(idle);
	close(fake_rv);
	close(l);
}

static void test_names(void **state)
{
	(void)state;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	inet_pton(AF_INET, "10.1.2.3", &a.sin_addr);
	char path[108];
	int n = shm_rv_name((struct sockaddr *)&a, path, sizeof(path));
	assert_true(n > 0);
	assert_int_equal(path[0], '\0');
	assert_string_equal(path + 1, "libaccel/tcp/10.1.2.3/80");
	struct sockaddr_in6 b = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	inet_pton(AF_INET6, "2001:db8::1", &b.sin6_addr);
	n = shm_rv_name((struct sockaddr *)&b, path, sizeof(path));
	assert_string_equal(path + 1, "libaccel/tcp/2001:db8::1/443");
	struct sockaddr un = { .sa_family = AF_UNIX };
	assert_int_equal(shm_rv_name(&un, path, sizeof(path)), -EAFNOSUPPORT);
	int memfd;
	assert_int_equal(shm_rv_find((struct sockaddr *)&a, 4, 10, &memfd), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_exact_and_wildcard),
		cmocka_unit_test(test_ipv6_and_dual_stack),
		cmocka_unit_test(test_nobody),
		cmocka_unit_test(test_squatters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
