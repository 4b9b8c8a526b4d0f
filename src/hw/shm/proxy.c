/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Handing a ring connection over to the kernel when its fd leaves
 * libaccel's sight (exec, SCM_RIGHTS): the fd becomes one end of a kernel
 * stream socket pair, and a small detached process carries the bytes
 * between the other end and the rings, both ways, until both directions
 * are closed. The peer keeps its rings and notices nothing; whoever holds
 * the fd now has a plain kernel socket. Slower, never broken.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "shm_sock.h"
#include "sys.h"

enum { PROXY_BUF = 65536 };

/* One direction's bytes read but not yet written on. */
struct pending {
	size_t off, len;
	char buf[PROXY_BUF];
};

static void close_all_but(const int *keep, int n)
{
	/* keep[] sorted ascending: close the gaps between them. */
	unsigned int from = 0;
	for (int i = 0; i < n; i++) {
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0u, 0);
}

/* Write what is pending on y; 0 when all went (or it would block), -1 on error. */
static int flush_stream(int y, struct pending *p)
{
	while (p->off < p->len) {
		ssize_t n = shm_sys_send(y, p->buf + p->off, p->len - p->off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		p->off += (size_t)n;
	}
	p->off = p->len = 0;
	return 0;
}

static int flush_ring(struct shm_conn *c, struct pending *p)
{
	while (p->off < p->len) {
		struct iovec iov = { p->buf + p->off, p->len - p->off };
		ssize_t n = shm_conn_send(c, &iov, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0)
			return n == -EAGAIN ? 0 : -1;
		p->off += (size_t)n;
	}
	p->off = p->len = 0;
	return 0;
}

/* The proxy's life: pump until both directions are closed, then go. */
static void __attribute__((noreturn)) pump(struct shm_conn *c, int y)
{
	static struct pending to_stream, to_ring;
	int ring_eof = 0, stream_eof = 0, failed = 0, shut = 0;
	shm_conn_forked_child(c);
	c->nonblock = 1;
	c->shared = 0; /* the only user now: closing tells the peer */
	while (!failed && !(ring_eof && stream_eof && !to_stream.len && !to_ring.len)) {
		/* rings -> stream */
		if (!ring_eof && !to_stream.len) {
			struct iovec iov = { to_stream.buf, sizeof(to_stream.buf) };
			ssize_t n = shm_conn_recv(c, &iov, 1, MSG_DONTWAIT);
			if (n > 0)
				to_stream.len = (size_t)n;
			else if (n == 0)
				ring_eof = 1;
			else if (n != -EAGAIN)
				failed = 1;
		}
		if (flush_stream(y, &to_stream) < 0)
			failed = 1;
		if (ring_eof && !to_stream.len && !shut) {
			syscall(SYS_shutdown, y, SHUT_WR);
			shut = 1;
		}
		/* stream -> rings */
		if (!stream_eof && !to_ring.len) {
			ssize_t n = shm_sys_recv(y, to_ring.buf, sizeof(to_ring.buf), MSG_DONTWAIT);
			if (n > 0)
				to_ring.len = (size_t)n;
			else if (n == 0) {
				stream_eof = 1;
				shm_conn_shutdown_write(c);
			} else if (errno != EAGAIN && errno != EINTR)
				failed = 1;
		}
		if (flush_ring(c, &to_ring) < 0)
			failed = 1;
		if (failed)
			break;
		/* Sleep until either side moves. */
		unsigned int want = (!ring_eof && !to_stream.len ? POLLIN : 0) |
				    (to_ring.len ? POLLOUT : 0);
		if (want && shm_conn_arm(c, want))
			continue;
		struct pollfd p[2] = {
			{ .fd = c->fd, .events = POLLIN },
			{ .fd = y, .events = (short)((!stream_eof && !to_ring.len ? POLLIN : 0) |
						     (to_stream.len ? POLLOUT : 0)) },
		};
		if (!want && !p[1].events)
			continue;
		if (shm_sys_poll(p, 2, c->peer_gone ? 100 : -1) > 0 && p[0].revents)
			shm_conn_drain(c);
	}
	shm_conn_close(c, failed);
	syscall(SYS_exit_group, 0);
	__builtin_unreachable();
}

/* A child that tells nobody of its end (no SIGCHLD), or -1. */
static pid_t quiet_fork(void)
{
	return (pid_t)syscall(SYS_clone, 0UL, 0UL, 0UL, 0UL, 0UL);
}

int shm_handover(struct shm_sock *ss, const int *fds, int nfds);
int shm_handover(struct shm_sock *ss, const int *fds, int nfds)
{
	int sv[2];
	if (syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t mid = quiet_fork();
	if (mid < 0) {
		int err = errno;
		shm_sys_close(sv[0]);
		shm_sys_close(sv[1]);
		return -err;
	}
	if (mid == 0) {
		/* The middle process: make the proxy, then go, so that the proxy
		 * is nobody's child in the program. */
		if (quiet_fork() == 0) {
			sigset_t all;
			sigfillset(&all);
			syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(long));
			int keep[3] = { ss->c.fd, sv[1], ss->reserve_fd };
			int n = ss->reserve_fd >= 0 ? 3 : 2;
			for (int i = 1; i < n; i++) /* sort the few */
				for (int j = i; j > 0 && keep[j] < keep[j - 1]; j--) {
					int t = keep[j];
					keep[j] = keep[j - 1];
					keep[j - 1] = t;
				}
			close_all_but(keep, n);
			pump(&ss->c, sv[1]);
		}
		syscall(SYS_exit_group, 0);
	}
	syscall(SYS_wait4, mid, NULL, __WCLONE, NULL);
	shm_sys_close(sv[1]);
	/* Every fd of the connection now names our end of the pair, each with
	 * its own close-on-exec flag. */
	int rc = 0;
	for (int i = 0; i < nfds; i++) {
		int fdfl = shm_sys_fcntl(fds[i], F_GETFD, 0);
		int fl = shm_sys_fcntl(fds[i], F_GETFL, 0);
		if (fdfl < 0 || fl < 0 || shm_sys_fcntl(sv[0], F_SETFL, fl & O_NONBLOCK) < 0 ||
		    shm_sys_dup3(sv[0], fds[i], (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
			rc = -errno;
	}
	shm_sys_close(sv[0]);
	return rc;
}
