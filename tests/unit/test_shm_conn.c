/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for a same-host connection over two rings and a doorbell
 * socket (src/hw/shm/conn.c), between two real processes: blocking
 * ping-pong (a lost wake-up would hang: every wait is bounded by alarm()),
 * a stream through a small ring that keeps the writer waiting, end of
 * stream, reset on close with unread data, a peer killed while we wait,
 * non-blocking calls and readiness.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/shm/conn.h"

struct pair {
	struct shm_conn c;
	int peer_fd; /* the child's socket end */
	int memfd;
	pid_t child;
};

/* Set up both ends; the child runs fn on side 1 and exits with its result. */
static void start(struct pair *p, uint32_t size, int (*fn)(struct shm_conn *))
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->memfd = shm_conn_memfd(size);
	assert_true(p->memfd >= 0);
	p->peer_fd = sv[1];
	p->child = fork();
	assert_true(p->child >= 0);
	if (p->child == 0) {
		alarm(30);
		close(sv[0]);
		struct shm_conn c;
		if (shm_conn_attach(&c, p->memfd, sv[1], 1) < 0)
			_exit(100);
		shm_ring_set_flag(c.tx.r, SHM_RING_ACCEPTED); /* as the engine's accept does */
		_exit(fn(&c));
	}
	close(sv[1]);
	assert_int_equal(shm_conn_attach(&p->c, p->memfd, sv[0], 0), 0);
	close(p->memfd);
}

/* Wait for the child; our end stays usable until done(). */
static int finish(struct pair *p)
{
	int status;
	assert_int_equal(waitpid(p->child, &status, 0), p->child);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void done(struct pair *p)
{
	close(p->c.fd);
	shm_conn_detach(&p->c);
}

static ssize_t send_all(struct shm_conn *c, const void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		struct iovec iov = { (char *)buf + done, n - done };
		ssize_t r = shm_conn_send(c, &iov, 1, 0);
		if (r <= 0)
			return r;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static ssize_t recv_all(struct shm_conn *c, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		struct iovec iov = { (char *)buf + done, n - done };
		ssize_t r = shm_conn_recv(c, &iov, 1, 0);
		if (r <= 0)
			return r;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

enum { ROUNDS = 20000 };

static int echo_child(struct shm_conn *c)
{
	char buf[64];
	for (int i = 0; i < ROUNDS; i++)
		if (recv_all(c, buf, sizeof(buf)) != sizeof(buf) ||
		    send_all(c, buf, sizeof(buf)) != sizeof(buf))
			return 1;
	return 0;
}

static void test_blocking_pingpong(void **state)
{
	(void)state;
	struct pair p;
	alarm(60);
	start(&p, SHM_RING_MIN, echo_child);
	char buf[64], back[64];
	for (int i = 0; i < ROUNDS; i++) {
		memset(buf, i & 0xff, sizeof(buf));
		assert_int_equal(send_all(&p.c, buf, sizeof(buf)), sizeof(buf));
		assert_int_equal(recv_all(&p.c, back, sizeof(back)), sizeof(back));
		assert_memory_equal(buf, back, sizeof(buf));
	}
	assert_int_equal(finish(&p), 0);
	done(&p);
	alarm(0);
}

enum { STREAM = 8 << 20 };

static int stream_child(struct shm_conn *c)
{
	/* one blocking send larger than the ring: all of it, as TCP */
	static unsigned char big[1 << 20];
	memset(big, 0x5a, sizeof(big));
	struct iovec one = { big, sizeof(big) };
	if (shm_conn_send(c, &one, 1, 0) != (ssize_t)sizeof(big))
		return 2;
	static unsigned char buf[70000];
	uint32_t x = 1;
	size_t sent = 0;
	while (sent < STREAM) {
		size_t n = 1 + (x * 2654435761u) % sizeof(buf);
		if (n > STREAM - sent)
			n = STREAM - sent;
		for (size_t i = 0; i < n; i++)
			buf[i] = (unsigned char)(sent + i);
		if (send_all(c, buf, n) != (ssize_t)n)
			return 1;
		sent += n;
		x++;
	}
	shm_conn_shutdown_write(c);
	return 0;
}

/* A 4 KiB ring and a slow-ish reader: the writer waits for room often. */
static void test_stream_small_ring(void **state)
{
	(void)state;
	struct pair p;
	alarm(60);
	start(&p, SHM_RING_MIN, stream_child);
	static unsigned char buf[3000];
	size_t got = 0, bad = 0;
	static unsigned char big[1 << 20];
	assert_int_equal(recv_all(&p.c, big, sizeof(big)), sizeof(big));
	assert_int_equal(big[0], 0x5a);
	assert_int_equal(big[sizeof(big) - 1], 0x5a);
	struct iovec none = { NULL, 0 };
	assert_int_equal(shm_conn_recv(&p.c, &none, 1, 0), 0); /* zero-length: 0 at once */
	for (;;) {
		struct iovec iov = { buf, 1 + got % sizeof(buf) };
		ssize_t n = shm_conn_recv(&p.c, &iov, 1, 0);
		assert_true(n >= 0);
		if (n == 0)
			break; /* end of stream after everything */
		for (ssize_t i = 0; i < n; i++)
			bad += buf[i] != (unsigned char)(got + (size_t)i);
		got += (size_t)n;
	}
	assert_int_equal(got, STREAM);
	assert_int_equal(bad, 0);
	assert_int_equal(finish(&p), 0);
	done(&p);
	alarm(0);
}

static int close_unread_child(struct shm_conn *c)
{
	char buf[10];
	if (send_all(c, "last", 4) != 4)
		return 3;
	/* wait for the parent's 10 bytes, read 4, close with 6 unread */
	struct iovec iov = { buf, 4 };
	if (shm_conn_recv(c, &iov, 1, MSG_PEEK) < 0)
		return 1;
	while (shm_ring_readable(&c->rx) < 10)
		usleep(1000);
	if (shm_conn_recv(c, &iov, 1, 0) != 4)
		return 2;
	shm_conn_close(c, 0);
	return 0;
}

static void test_reset_on_unread_close(void **state)
{
	(void)state;
	struct pair p;
	alarm(30);
	start(&p, SHM_RING_MIN, close_unread_child);
	assert_int_equal(send_all(&p.c, "0123456789", 10), 10);
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	while (!(shm_ring_flags(p.c.rx.r) & SHM_RING_RESET))
		usleep(1000);
	/* bytes already delivered come before the reset, as with TCP */
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), 4);
	assert_memory_equal(buf, "last", 4);
	/* the error is reported once (as the kernel's sk_err): then reads end
	 * and sends fail with EPIPE */
	assert_true(shm_conn_poll(&p.c) & POLLERR);
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), -ECONNRESET);
	assert_false(shm_conn_poll(&p.c) & POLLERR);
	assert_true(shm_conn_poll(&p.c) & POLLHUP);
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), 0);
	assert_int_equal(shm_conn_send(&p.c, &iov, 1, 0), -EPIPE);
	assert_int_equal(shm_conn_take_error(&p.c), 0);
	assert_int_equal(finish(&p), 0);
	done(&p);
	alarm(0);
}

static int clean_close_child(struct shm_conn *c)
{
	if (send_all(c, "bye", 3) != 3)
		return 1;
	shm_conn_close(c, 0);
	return 0;
}

static void test_clean_close(void **state)
{
	(void)state;
	struct pair p;
	alarm(30);
	start(&p, SHM_RING_MIN, clean_close_child);
	char buf[8];
	assert_int_equal(recv_all(&p.c, buf, 3), 3);
	assert_memory_equal(buf, "bye", 3);
	struct iovec iov = { buf, sizeof(buf) };
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), 0);  /* end of stream */
	assert_int_equal(finish(&p), 0);
	/* nobody reads: as TCP, the first send is taken (the peer's answer is a
	 * reset, pending as SO_ERROR while reads still see the end), the next
	 * fails */
	assert_int_equal(shm_conn_send(&p.c, &iov, 1, 0), sizeof(buf));
	assert_int_equal(shm_conn_send(&p.c, &iov, 1, 0), -EPIPE);
	assert_true(shm_conn_poll(&p.c) & POLLERR);
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), 0);
	assert_int_equal(shm_conn_take_error(&p.c), ECONNRESET);
	assert_int_equal(shm_conn_take_error(&p.c), 0);
	assert_false(shm_conn_poll(&p.c) & POLLERR);
	done(&p);
	alarm(0);
}

static int sleeper_child(struct shm_conn *c)
{
	(void)c;
	pause();
	return 0;
}

/* A process that SIGKILLs pid 100 ms from now (to be reaped). */
static pid_t kill_later(pid_t pid)
{
	pid_t killer = fork();
	assert_true(killer >= 0);
	if (killer == 0) {
		usleep(100 * 1000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	return killer;
}

static void test_peer_killed(void **state)
{
	(void)state;
	struct pair p;
	alarm(30);
	start(&p, SHM_RING_MIN, sleeper_child);
	/* blocked reader: the killed peer's socket hangs up; it left nothing
	 * of ours unread, so this is an end of stream, as TCP's FIN */
	pid_t killer = kill_later(p.child);
	char buf[8];
	struct iovec iov = { buf, sizeof(buf) };
	assert_int_equal(shm_conn_recv(&p.c, &iov, 1, 0), 0);
	waitpid(killer, NULL, 0);
	/* nobody reads any more: one send taken, then EPIPE */
	static char big[SHM_RING_MIN * 2];
	struct iovec out = { big, sizeof(big) };
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), sizeof(big));
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), -EPIPE);
	assert_int_equal(finish(&p), 128 + SIGKILL);
	done(&p);
	alarm(0);
}

static void test_peer_killed_while_writing(void **state)
{
	(void)state;
	struct pair p;
	alarm(30);
	start(&p, SHM_RING_MIN, sleeper_child);
	pid_t killer = kill_later(p.child);
	/* the ring fills, the writer sleeps, the peer dies with our bytes
	 * unread: the count so far, then a reset */
	static char big[SHM_RING_MIN * 2];
	struct iovec out = { big, sizeof(big) };
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), SHM_RING_MIN);
	waitpid(killer, NULL, 0);
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), -ECONNRESET);
	char b;
	struct iovec in = { &b, 1 };
	assert_int_equal(shm_conn_recv(&p.c, &in, 1, 0), 0); /* reported already */
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), -EPIPE);
	assert_int_equal(finish(&p), 128 + SIGKILL);
	done(&p);
	alarm(0);
}

static int idle_child(struct shm_conn *c)
{
	char b;
	struct iovec iov = { &b, 1 };
	return shm_conn_recv(c, &iov, 1, 0) == 1 ? 0 : 1;
}

static void test_nonblocking_and_poll(void **state)
{
	(void)state;
	struct pair p;
	alarm(30);
	start(&p, SHM_RING_MIN, idle_child);
	char buf[SHM_RING_MIN + 10];
	memset(buf, 'x', sizeof(buf));
	struct iovec in = { buf, 10 }, out = { buf, sizeof(buf) };
	assert_int_equal(shm_conn_recv(&p.c, &in, 1, MSG_DONTWAIT), -EAGAIN);
	assert_int_equal(shm_conn_poll(&p.c), POLLOUT);
	p.c.nonblock = 1;
	assert_int_equal(shm_conn_recv(&p.c, &in, 1, 0), -EAGAIN);
	/* the child reads one byte of these: the rest fills the ring */
	assert_int_equal(shm_conn_send(&p.c, &out, 1, 0), SHM_RING_MIN);
	assert_int_equal(finish(&p), 0);
	assert_int_equal(shm_conn_poll(&p.c) & POLLOUT, POLLOUT); /* one byte of room */
	struct iovec two = { buf, 2 };
	assert_int_equal(shm_conn_send(&p.c, &two, 1, 0), 1);
	assert_int_equal(shm_conn_send(&p.c, &two, 1, 0), -EAGAIN);
	assert_int_equal(shm_conn_poll(&p.c) & POLLOUT, 0);
	done(&p);
	alarm(0);
}

static void test_bad_memfd(void **state)
{
	(void)state;
	struct shm_conn c;
	int fd = (int)shm_conn_memfd(SHM_RING_MIN);
	assert_true(fd >= 0);
	/* sealed: nobody can shrink it under the other side */
	assert_int_equal(ftruncate(fd, 4096), -1);
	assert_int_equal(errno, EPERM);
	close(fd);
	/* an unsealed file of the right size is refused */
	fd = (int)syscall(SYS_memfd_create, "plain", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(2 * shm_ring_bytes(SHM_RING_MIN))), 0);
	assert_int_equal(shm_conn_attach(&c, fd, -1, 0), -EINVAL);
	close(fd);
	assert_true(shm_conn_attach(&c, -1, -1, 0) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_pingpong),
		cmocka_unit_test(test_stream_small_ring),
		cmocka_unit_test(test_reset_on_unread_close),
		cmocka_unit_test(test_clean_close),
		cmocka_unit_test(test_peer_killed),
		cmocka_unit_test(test_peer_killed_while_writing),
		cmocka_unit_test(test_nonblocking_and_poll),
		cmocka_unit_test(test_bad_memfd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
