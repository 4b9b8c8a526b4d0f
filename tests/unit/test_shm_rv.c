/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the same-host rendezvous (src/hw/shm/rendezvous.c): a
 * client takes an answer only from a process of the user that owns the
 * TCP listener. Exact, wildcard, dual-stack, IPv6-only and v4-mapped
 * addresses; no listener; a squatter of another user; a name advertised
 * for a port nobody listens on; a full backlog; a name taken.
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
#include <signal.h>
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

/*
 * A child looks for dst and sends its hello; the parent takes it from
 * rv_fd and checks the memfd and the addresses. The child's result.
 */
static int find_from_child(const struct sockaddr_storage *dst, int rv_fd)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		int c = shm_rv_find((const struct sockaddr *)dst, sizeof(*dst));
		if (c < 0)
			_exit(-c);
		int memfd = shm_conn_memfd(SHM_RING_MIN);
		struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(4242) };
		inet_pton(AF_INET, "127.0.0.9", &me.sin_addr);
		if (memfd < 0 ||
		    shm_rv_send_hello(c, memfd, (struct sockaddr *)&me, (const struct sockaddr *)dst) < 0)
			_exit(98);
		/* stay until the parent has read the hello */
		struct pollfd p = { .fd = c, .events = POLLIN };
		_exit(poll(&p, 1, 5000) == 1 ? 0 : 97);
	}
	if (rv_fd >= 0) {
		struct pollfd p = { .fd = rv_fd, .events = POLLIN };
		if (poll(&p, 1, 3000) == 1) {
			int memfd = -1;
			struct shm_rv_hello h;
			int c = shm_rv_accept(rv_fd, &memfd, &h);
			/* a refused child has connected and left without a hello */
			if (c == -EAGAIN)
				goto wait;
			assert_true(c >= 0);
			struct stat st;
			assert_int_equal(fstat(memfd, &st), 0);
			assert_true(st.st_size > 0);
			assert_int_equal(ntohs(h.client.sin6_port), 4242);
			assert_int_equal(h.client.sin6_addr.s6_addr[15], 9);
			assert_int_equal(h.client.sin6_addr.s6_addr[10], 0xff);
			close(memfd);
			close(c);
			assert_int_equal(shm_rv_accept(rv_fd, &memfd, &h), -EAGAIN);
		}
	}
wait:;
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
	int rv = shm_rv_advertise(l, 8);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv), 0);
	/* the same listener, reached as ::ffff:127.0.0.1 from an IPv6 socket */
	set_dst(&dst, AF_INET6, "::ffff:127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv), 0);
	/* the name is taken while rv lives */
	assert_int_equal(shm_rv_advertise(l, 8), -EADDRINUSE);
	close(rv);
	close(l);

	l = tcp_listen(AF_INET, "0.0.0.0", 0, &la);
	rv = shm_rv_advertise(l, 8);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET, "127.0.0.2", &la);
	assert_int_equal(find_from_child(&dst, rv), 0);
	close(rv);
	close(l);
}

static void test_ipv6_and_dual_stack(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET6, "::", 0, &la);
	int rv = shm_rv_advertise(l, 8);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET6, "::1", &la);
	assert_int_equal(find_from_child(&dst, rv), 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la); /* IPv4 client, dual-stack listener */
	assert_int_equal(find_from_child(&dst, rv), 0);
	close(rv);
	close(l);
	/* an IPv6-only listener: found by IPv6 clients, never by IPv4 ones
	 * (the kernel would refuse those) */
	l = tcp_listen(AF_INET6, "::", 1, &la);
	rv = shm_rv_advertise(l, 8);
	assert_true(rv >= 0);
	set_dst(&dst, AF_INET6, "::1", &la);
	assert_int_equal(find_from_child(&dst, rv), 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, rv), ENOENT);
	close(rv);
	close(l);
}

static void test_nobody(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET, "127.0.0.1", 0, &la); /* listens, advertises nothing */
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	assert_int_equal(find_from_child(&dst, -1), ENOENT);
	close(l);
}

/* Someone else binds the listener's rendezvous name. */
static void test_squatters(void **state)
{
	(void)state;
	struct sockaddr_storage la, dst;
	int l = tcp_listen(AF_INET, "127.0.0.1", 0, &la); /* the real server */
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	if (geteuid() == 0) {
		/* a process of another user squats the name: not the owner */
		int ready[2];
		assert_int_equal(pipe(ready), 0);
		pid_t sq = fork();
		if (sq == 0) {
			if (setgid(65534) < 0 || setuid(65534) < 0)
				_exit(1);
			int rv = shm_rv_advertise(l, 8);
			char b = rv >= 0 ? 'y' : 'n';
			if (write(ready[1], &b, 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
		char b = 0;
		assert_int_equal(read(ready[0], &b, 1), 1);
		assert_int_equal(b, 'y');
		assert_int_equal(find_from_child(&dst, -1), EPERM);
		/* and the real server cannot advertise while the name is taken */
		assert_int_equal(shm_rv_advertise(l, 8), -EADDRINUSE);
		kill(sq, SIGKILL);
		waitpid(sq, NULL, 0);
		close(ready[0]);
		close(ready[1]);
	}
	/* a name advertised for a port nobody listens on: refused */
	struct sockaddr_storage gone;
	int g = tcp_listen(AF_INET, "127.0.0.1", 0, &gone);
	int rv = shm_rv_advertise(g, 8);
	assert_true(rv >= 0);
	close(g); /* the TCP listener is gone, its name stays */
	set_dst(&dst, AF_INET, "127.0.0.1", &gone);
	assert_int_equal(find_from_child(&dst, rv), EPERM);
	close(rv);
	/* one whose backlog is full: the client takes the kernel path */
	rv = shm_rv_advertise(l, 0);
	set_dst(&dst, AF_INET, "127.0.0.1", &la);
	int waiting[4], n_waiting = 0;
	for (int i = 0; i < 4; i++) {
		waiting[i] = shm_rv_find((struct sockaddr *)&dst, sizeof(dst));
		if (waiting[i] >= 0)
			n_waiting++;
	}
	assert_true(n_waiting >= 1 && n_waiting < 4);
	assert_int_equal(find_from_child(&dst, -1), ENOENT);
	for (int i = 0; i < 4; i++)
		if (waiting[i] >= 0)
			close(waiting[i]);
	close(rv);
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
	assert_int_equal(shm_rv_find((struct sockaddr *)&a, 4), -EINVAL);
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
