/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared helpers of the exported wrappers (interpose_*.c). A wrapper is
 * one fd-table lookup; with nothing offloaded behind the fd it calls
 * accel_next (libc, or the trace shims) and returns exactly what libc
 * returned, errno included.
 */
#ifndef ACCEL_CORE_INTERPOSE_H
#define ACCEL_CORE_INTERPOSE_H

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libc.h"
#include "sock.h"

#define ACCEL_EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Internal 0/count/-errno to the libc convention. */
static inline long libc_ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

/*
 * --trace of calls an engine answered (trace.c): the pass-through calls
 * are traced by the shims behind accel_next, these by the wrapper itself.
 */
extern int accel_tracing;
void trace_pending(long rc, int err);
#define SYM(ret, name, params, ...) void trace_done_##name params;
#include "symbols.def"
#undef SYM

/* Return an engine's 0/count/-errno as libc would, traced under --trace. */
#define OFFLOAD_RETURN(type, name, expr, ...)                        \
	do {                                                         \
		long offload_rc_ = libc_ret(expr);                   \
		if (unlikely(accel_tracing)) {                        \
			trace_pending(offload_rc_, errno);           \
			trace_done_##name(__VA_ARGS__);              \
		}                                                    \
		return (type)offload_rc_;                            \
	} while (0)

/* Data calls on an offloaded socket (sock_io.c). */
ssize_t sock_recv_iov(struct accel_sock *s, const struct iovec *iov, int iovcnt, int flags,
		      struct sockaddr *addr, socklen_t *addrlen);
ssize_t sock_send_iov(struct accel_sock *s, const struct iovec *iov, int iovcnt, int flags,
		      const struct sockaddr *addr, socklen_t addrlen);
ssize_t sock_recvmsg(struct accel_sock *s, struct msghdr *msg, int flags);
ssize_t sock_sendmsg(struct accel_sock *s, const struct msghdr *msg, int flags);
int sock_recvmmsg(struct accel_sock *s, struct mmsghdr *vec, unsigned int vlen, int flags,
		  struct timespec *tmo);
int sock_sendmmsg(struct accel_sock *s, struct mmsghdr *vec, unsigned int vlen, int flags);
ssize_t sock_sendfile(struct accel_sock *s, int in_fd, off_t *off, size_t n);

/* glibc's fortified entry points have no public prototypes. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *addr, socklen_t *len);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		const sigset_t *mask, size_t fdslen);

/* sendmsg passing fds: offloaded ones become kernel sockets first. */
void core_before_send_fds(const struct msghdr *msg);

/* Process events (interpose_proc.c). */
void core_after_fork_child(void);

/*
 * Copy n bytes from a program's pointer without faulting: 0, or -EFAULT
 * if any of it is not readable (or the copy cannot be checked here).
 */
int core_copy_in(void *dst, const void *src, size_t n);

/* Raised while a vfork child borrows this process's memory (vfork.S). */
extern int accel_vfork_active;
/* This process's pid (set at start-up and in a fork child). */
extern pid_t core_pid;

/*
 * Whether the caller is a vfork child, which shares the parent's memory
 * but has its own fds: it must not touch libaccel's tables. One load when
 * no vfork is under way; a getpid() only while one is.
 */
static inline int core_in_vfork_child(void)
{
	if (likely(!__atomic_load_n(&accel_vfork_active, __ATOMIC_ACQUIRE)))
		return 0;
	return (pid_t)syscall(SYS_getpid) != core_pid;
}

#endif
