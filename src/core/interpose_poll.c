/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Readiness calls: poll, ppoll, select, pselect and the epoll family. With
 * no engine attached to any socket they are the libc calls unchanged, so
 * blocking, timeouts and EINTR are exactly the kernel's.
 */
#include "config.h"

#include "interpose.h"

ACCEL_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return accel_next.poll(fds, nfds, timeout);
}

ACCEL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	return accel_next.__poll_chk(fds, nfds, timeout, fdslen);
}

ACCEL_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		       const sigset_t *mask)
{
	return accel_next.ppoll(fds, nfds, tmo, mask);
}

ACCEL_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			     const sigset_t *mask, size_t fdslen)
{
	return accel_next.__ppoll_chk(fds, nfds, tmo, mask, fdslen);
}

ACCEL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tmo)
{
	return accel_next.select(nfds, r, w, e, tmo);
}

ACCEL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo,
			 const sigset_t *mask)
{
	return accel_next.pselect(nfds, r, w, e, tmo, mask);
}

ACCEL_EXPORT int epoll_create(int size)
{
	return accel_next.epoll_create(size);
}

ACCEL_EXPORT int epoll_create1(int flags)
{
	return accel_next.epoll_create1(flags);
}

ACCEL_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	return accel_next.epoll_ctl(epfd, op, fd, ev);
}

ACCEL_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	return accel_next.epoll_wait(epfd, ev, max, timeout);
}

ACCEL_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
			     const sigset_t *mask)
{
	return accel_next.epoll_pwait(epfd, ev, max, timeout, mask);
}

ACCEL_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			      const struct timespec *tmo, const sigset_t *mask)
{
	return accel_next.epoll_pwait2(epfd, ev, max, tmo, mask);
}
