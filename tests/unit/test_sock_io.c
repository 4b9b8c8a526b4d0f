/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the data calls on an offloaded socket (src/core/sock_io.c)
 * with a fake engine that stores bytes in memory: iovec handling, address
 * lengths, recvmmsg/sendmmsg counts and errors, and sendfile with and
 * without an offset, including a partial send.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/interpose.h"

/* sock_io.c reads files through libc.read; the real one will do here. */
struct libc_fns libc = { .read = read };

static struct {
	unsigned char buf[1 << 16];
	size_t len, cap, sends;
	int fail_next; /* -errno for the next call */
} fake;

static ssize_t fake_recvmsg(struct accel_sock *s, struct msghdr *msg, int flags)
{
	(void)s;
	if (fake.fail_next) {
		int rc = fake.fail_next;
		fake.fail_next = 0;
		return rc;
	}
	if (!fake.len)
		return -EAGAIN;
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen && done < fake.len; i++) {
		size_t n = msg->msg_iov[i].iov_len < fake.len - done ? msg->msg_iov[i].iov_len
								    : fake.len - done;
		memcpy(msg->msg_iov[i].iov_base, fake.buf + done, n);
		done += n;
	}
	if (!(flags & MSG_PEEK)) {
		memmove(fake.buf, fake.buf + done, fake.len - done);
		fake.len -= done;
	}
	msg->msg_namelen = 0;
	return (ssize_t)done;
}

static ssize_t fake_sendmsg(struct accel_sock *s, const struct msghdr *msg, int flags)
{
	(void)s;
	(void)flags;
	fake.sends++;
	if (fake.fail_next) {
		int rc = fake.fail_next;
		fake.fail_next = 0;
		return rc;
	}
	size_t done = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		size_t room = fake.cap - fake.len;
		size_t n = msg->msg_iov[i].iov_len < room ? msg->msg_iov[i].iov_len : room;
		memcpy(fake.buf + fake.len, msg->msg_iov[i].iov_base, n);
		fake.len += n;
		done += n;
	}
	return done ? (ssize_t)done : -EAGAIN;
}

static const struct engine_ops fake_ops = {
	.name = "fake",
	.recvmsg = fake_recvmsg,
	.sendmsg = fake_sendmsg,
};

static struct accel_sock sock = { .ops = &fake_ops };

/* stats.c's slow path for a receive of 0: end of stream unless nothing
 * was asked for. */
void stats_rx_zero(struct accel_sock *s, const struct msghdr *msg)
{
	size_t want = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		want += msg->msg_iov[i].iov_len;
	if (want)
		s->ctr[ACCEL_STAT_rx_eof]++;
}

static int reset(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.cap = sizeof(fake.buf);
	memset(&sock.local_slot, 0, sizeof(sock.local_slot));
	sock.slot = &sock.local_slot;
	sock.ctr = sock.local_slot.counters;
	return 0;
}

static void test_iov_send_recv(void **state)
{
	(void)state;
	struct iovec out[3] = { { "ab", 2 }, { "", 0 }, { "cdef", 4 } };
	assert_int_equal(sock_send_iov(&sock, out, 3, 0, NULL, 0), 6);
	char a[3] = { 0 }, b[8] = { 0 };
	struct iovec in[2] = { { a, 2 }, { b, sizeof(b) } };
	socklen_t alen = 16;
	struct sockaddr_in from;
	assert_int_equal(sock_recv_iov(&sock, in, 2, MSG_PEEK, (struct sockaddr *)&from, &alen), 6);
	assert_int_equal(alen, 0); /* the engine's answer is passed back */
	assert_int_equal(sock_recv_iov(&sock, in, 2, 0, NULL, NULL), 6);
	assert_memory_equal(a, "ab", 2);
	assert_memory_equal(b, "cdef", 4);
	assert_int_equal(sock_recv_iov(&sock, in, 2, 0, NULL, NULL), -EAGAIN);
	assert_int_equal(sock_recv_iov(&sock, in, -1, 0, NULL, NULL), -EINVAL);
	assert_int_equal(sock_send_iov(&sock, out, IOV_MAX + 1, 0, NULL, 0), -EINVAL);
}

static void test_mmsg(void **state)
{
	(void)state;
	char m1[] = "one", m2[] = "two!";
	struct iovec v[2] = { { m1, 3 }, { m2, 4 } };
	struct mmsghdr vec[2] = { { .msg_hdr = { .msg_iov = &v[0], .msg_iovlen = 1 } },
				  { .msg_hdr = { .msg_iov = &v[1], .msg_iovlen = 1 } } };
	assert_int_equal(sock_sendmmsg(&sock, vec, 2, 0), 2);
	assert_int_equal(vec[0].msg_len, 3);
	assert_int_equal(vec[1].msg_len, 4);
	/* an error after the first message: the count so far, as the kernel */
	fake.fail_next = -EPIPE;
	assert_int_equal(sock_sendmmsg(&sock, vec, 2, 0), -EPIPE);
	char r1[8], r2[8];
	struct iovec rv[2] = { { r1, 3 }, { r2, 8 } };
	struct mmsghdr rvec[2] = { { .msg_hdr = { .msg_iov = &rv[0], .msg_iovlen = 1 } },
				   { .msg_hdr = { .msg_iov = &rv[1], .msg_iovlen = 1 } } };
	assert_int_equal(sock_recvmmsg(&sock, rvec, 2, 0, NULL), 2);
	assert_int_equal(rvec[0].msg_len, 3);
	assert_int_equal(rvec[1].msg_len, 4);
	assert_memory_equal(r2, "two!", 4);
	assert_int_equal(sock_recvmmsg(&sock, rvec, 2, 0, NULL), -EAGAIN);
	fake.len = 0;
	memcpy(fake.buf, "x", 1);
	fake.len = 1;
	assert_int_equal(sock_recvmmsg(&sock, rvec, 2, MSG_WAITFORONE, NULL), 1);
}

static int temp_file(size_t n)
{
	char path[] = "/tmp/accel-sockio-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)(i * 7);
		assert_int_equal(write(fd, &c, 1), 1);
	}
	return fd;
}

static void test_sendfile(void **state)
{
	(void)state;
	int fd = temp_file(40000);
	/* with an offset: the file position stays, *off moves */
	off_t off = 100;
	lseek(fd, 5, SEEK_SET);
	assert_int_equal(sock_sendfile(&sock, fd, &off, 30000), 30000);
	assert_int_equal(off, 30100);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 5);
	for (size_t i = 0; i < 30000; i++)
		if (fake.buf[i] != (unsigned char)((i + 100) * 7))
			fail_msg("byte %zu differs", i);
	/* without: the file position moves by what was sent; a partial send
	 * puts the unsent bytes back */
	fake.len = 0;
	fake.cap = 20000;
	lseek(fd, 1000, SEEK_SET);
	assert_int_equal(sock_sendfile(&sock, fd, NULL, 39000), 20000);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 21000);
	assert_int_equal(fake.buf[0], (unsigned char)(1000 * 7));
	/* nothing fits: the engine's error, file position unchanged */
	assert_int_equal(sock_sendfile(&sock, fd, NULL, 100), -EAGAIN);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 21000);
	/* end of file: what there was */
	fake.len = 0;
	fake.cap = sizeof(fake.buf);
	lseek(fd, 39990, SEEK_SET);
	assert_int_equal(sock_sendfile(&sock, fd, NULL, 100), 10);
	/* a bad file */
	assert_int_equal(sock_sendfile(&sock, -1, NULL, 100), -EBADF);
	close(fd);
}

/* Every data call counts in the socket's slot: peeks and EINTR do not. */
static void test_counters(void **state)
{
	(void)state;
	uint64_t *c = sock.local_slot.counters;
	char buf[16];
	struct iovec out = { "abcdef", 6 }, in = { buf, sizeof(buf) }, none = { buf, 0 };
	assert_int_equal(sock_send_iov(&sock, &out, 1, 0, NULL, 0), 6);
	assert_int_equal(sock_recv_iov(&sock, &in, 1, MSG_PEEK, NULL, NULL), 6);
	assert_int_equal(sock_recv_iov(&sock, &in, 1, 0, NULL, NULL), 6);
	assert_int_equal(sock_recv_iov(&sock, &in, 1, 0, NULL, NULL), -EAGAIN);
	fake.fail_next = -ECONNRESET;
	assert_int_equal(sock_recv_iov(&sock, &in, 1, 0, NULL, NULL), -ECONNRESET);
	fake.fail_next = -EINTR;
	assert_int_equal(sock_send_iov(&sock, &out, 1, 0, NULL, 0), -EINTR);
	fake.fail_next = -EPIPE;
	assert_int_equal(sock_send_iov(&sock, &out, 1, 0, NULL, 0), -EPIPE);
	fake.cap = 6;
	assert_int_equal(sock_send_iov(&sock, &out, 1, 0, NULL, 0), 6);
	assert_int_equal(sock_send_iov(&sock, &out, 1, 0, NULL, 0), -EAGAIN);
	assert_int_equal(c[ACCEL_STAT_tx_bytes], 12);
	assert_int_equal(c[ACCEL_STAT_tx_msgs], 2);
	assert_int_equal(c[ACCEL_STAT_rx_bytes], 6);
	assert_int_equal(c[ACCEL_STAT_rx_msgs], 1);
	assert_int_equal(c[ACCEL_STAT_rx_eagain], 1);
	assert_int_equal(c[ACCEL_STAT_tx_eagain], 1);
	assert_int_equal(c[ACCEL_STAT_errors], 2);
	/* A zero-length read that returns 0 is not the end of the stream. */
	fake.fail_next = 0;
	struct msghdr empty = { .msg_iov = &none, .msg_iovlen = 1 };
	stats_rx_zero(&sock, &empty);
	assert_int_equal(c[ACCEL_STAT_rx_eof], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_iov_send_recv, reset),
		cmocka_unit_test_setup(test_mmsg, reset),
		cmocka_unit_test_setup(test_sendfile, reset),
		cmocka_unit_test_setup(test_counters, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
