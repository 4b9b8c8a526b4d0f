/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Data calls on an offloaded socket, reduced to the engine's recvmsg and
 * sendmsg. Hot path: no locks, no allocation; sendfile reads through a
 * stack buffer.
 */
#include "config.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "interpose.h"
#include "stats.h"

/* Counters: plain increments of the socket's own slot, no atomics (two
 * threads in one socket at once may lose a count, never corrupt one). */
static inline ssize_t engine_recv(struct accel_sock *s, struct msghdr *msg, int flags)
{
	ssize_t rc = s->ops->recvmsg(s, msg, flags);
	uint64_t *c = s->ctr;
	if (likely(rc > 0)) {
		if (likely(!(flags & MSG_PEEK))) { /* peeked bytes are still queued */
			c[ACCEL_STAT_rx_bytes] += (uint64_t)rc;
			c[ACCEL_STAT_rx_msgs]++;
		}
	} else if (rc == -EAGAIN) {
		c[ACCEL_STAT_rx_eagain]++;
	} else if (rc == 0) {
		stats_rx_zero(s, msg);
	} else if (rc != -EINTR) {
		c[ACCEL_STAT_errors]++;
	}
	return rc;
}

static inline ssize_t engine_send(struct accel_sock *s, const struct msghdr *msg, int flags)
{
	ssize_t rc = s->ops->sendmsg(s, msg, flags);
	uint64_t *c = s->ctr;
	if (likely(rc > 0)) {
		c[ACCEL_STAT_tx_bytes] += (uint64_t)rc;
		c[ACCEL_STAT_tx_msgs]++;
	} else if (rc == -EAGAIN) {
		c[ACCEL_STAT_tx_eagain]++;
	} else if (rc < 0 && rc != -EINTR) {
		c[ACCEL_STAT_errors]++;
	}
	return rc;
}

ssize_t sock_recvmsg(struct accel_sock *s, struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	if (msg->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	return engine_recv(s, msg, flags);
}

ssize_t sock_sendmsg(struct accel_sock *s, const struct msghdr *msg, int flags)
{
	if (!msg)
		return -EFAULT;
	if (msg->msg_iovlen > IOV_MAX)
		return -EMSGSIZE;
	return engine_send(s, msg, flags);
}

ssize_t sock_recv_iov(struct accel_sock *s, const struct iovec *iov, int iovcnt, int flags,
		      struct sockaddr *addr, socklen_t *addrlen)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	struct msghdr msg = {
		.msg_name = addr,
		.msg_namelen = addrlen ? *addrlen : 0,
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};
	ssize_t rc = engine_recv(s, &msg, flags);
	if (rc >= 0 && addrlen)
		*addrlen = msg.msg_namelen;
	return rc;
}

ssize_t sock_send_iov(struct accel_sock *s, const struct iovec *iov, int iovcnt, int flags,
		      const struct sockaddr *addr, socklen_t addrlen)
{
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	struct msghdr msg = {
		.msg_name = (void *)addr,
		.msg_namelen = addrlen,
		.msg_iov = (struct iovec *)iov,
		.msg_iovlen = (size_t)iovcnt,
	};
	return engine_send(s, &msg, flags);
}

/* As the kernel: the count done if any, else the first error. */
int sock_recvmmsg(struct accel_sock *s, struct mmsghdr *vec, unsigned int vlen, int flags,
		  struct timespec *tmo)
{
	unsigned int i;
	(void)tmo; /* an engine that blocks applies its own timeout per message */
	for (i = 0; i < vlen; i++) {
		ssize_t rc = engine_recv(s, &vec[i].msg_hdr, flags);
		if (rc < 0)
			return i ? (int)i : (int)rc;
		vec[i].msg_len = (unsigned int)rc;
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
	}
	return (int)i;
}

int sock_sendmmsg(struct accel_sock *s, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	unsigned int i;
	for (i = 0; i < vlen; i++) {
		ssize_t rc = engine_send(s, &vec[i].msg_hdr, flags);
		if (rc < 0)
			return i ? (int)i : (int)rc;
		vec[i].msg_len = (unsigned int)rc;
	}
	return (int)i;
}

ssize_t sock_sendfile(struct accel_sock *s, int in_fd, off_t *off, size_t n)
{
	char buf[16384];
	size_t done = 0;
	while (done < n) {
		size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
		ssize_t got = off ? pread(in_fd, buf, want, *off) : libc.read(in_fd, buf, want);
		if (got < 0)
			return done ? (ssize_t)done : -errno;
		if (got == 0)
			break;
		struct iovec iov = { buf, (size_t)got };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		/* Blocking as the socket is: sendfile on a blocking socket sends
		 * it all unless a signal or an error comes. */
		ssize_t sent = engine_send(s, &msg, 0);
		if (sent <= 0) {
			if (!off && got > 0)
				lseek(in_fd, -(off_t)got, SEEK_CUR);
			return done ? (ssize_t)done : sent;
		}
		if (off)
			*off += sent;
		else if (sent < got)
			lseek(in_fd, sent - got, SEEK_CUR);
		done += (size_t)sent;
		if (sent < got)
			break;
	}
	return (ssize_t)done;
}
