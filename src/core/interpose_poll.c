/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Readiness calls: poll, ppoll, select, pselect and the epoll family. While
 * no engine carries a socket of this process they are the libc calls
 * unchanged; otherwise mux.c and epoll.c answer for offloaded fds and
 * sleep in the kernel, so timeouts and EINTR stay the kernel's.
 */
#include "config.h"

#include "interpose.h"
#include "mux.h"

ACCEL_EXPORT int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	int handled = 0, rc;
	if (unlikely(mux_active()) && !core_in_vfork_child()) {
		rc = mux_poll(fds, nfds, mux_deadline_ms(timeout), NULL, &handled);
		if (handled)
			OFFLOAD_RETURN(int, poll, rc, fds, nfds, timeout);
	}
	return accel_next.poll(fds, nfds, timeout);
}

ACCEL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
	if (unlikely(mux_active()) && fdslen / sizeof(*fds) >= nfds)
		return poll(fds, nfds, timeout);
	return accel_next.__poll_chk(fds, nfds, timeout, fdslen);
}

ACCEL_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
		       const sigset_t *mask)
{
	int handled = 0, rc;
	if (unlikely(mux_active()) && !core_in_vfork_child()) {
		struct timespec t;
		if (tmo && core_copy_in(&t, tmo, sizeof(t)) < 0)
			OFFLOAD_RETURN(int, ppoll, -EFAULT, fds, nfds, tmo, mask);
		if (tmo && (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L))
			OFFLOAD_RETURN(int, ppoll, -EINVAL, fds, nfds, tmo, mask);
		rc = mux_poll(fds, nfds, mux_deadline(tmo ? &t : NULL), mask, &handled);
		if (handled)
			OFFLOAD_RETURN(int, ppoll, rc, fds, nfds, tmo, mask);
	}
	return accel_next.ppoll(fds, nfds, tmo, mask);
}

ACCEL_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo,
			     const sigset_t *mask, size_t fdslen)
{
	if (unlikely(mux_active()) && fdslen / sizeof(*fds) >= nfds)
		return ppoll(fds, nfds, tmo, mask);
	return accel_next.__ppoll_chk(fds, nfds, tmo, mask, fdslen);
}

ACCEL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tmo)
{
	int handled = 0, rc;
	if (unlikely(mux_active()) && !core_in_vfork_child()) {
		struct timeval tv;
		struct timespec ts, left;
		if (tmo && core_copy_in(&tv, tmo, sizeof(tv)) < 0)
			OFFLOAD_RETURN(int, select, -EFAULT, nfds, r, w, e, tmo);
		if (tmo && (tv.tv_sec < 0 || tv.tv_usec < 0))
			OFFLOAD_RETURN(int, select, -EINVAL, nfds, r, w, e, tmo);
		if (tmo) {
			ts.tv_sec = tv.tv_sec + tv.tv_usec / 1000000;
			ts.tv_nsec = (tv.tv_usec % 1000000) * 1000;
		}
		rc = mux_select(nfds, r, w, e, mux_deadline(tmo ? &ts : NULL), NULL, &handled,
				tmo ? &left : NULL);
		if (handled) {
			if (tmo) { /* Linux reports the time not slept */
				tmo->tv_sec = left.tv_sec;
				tmo->tv_usec = left.tv_nsec / 1000;
			}
			OFFLOAD_RETURN(int, select, rc, nfds, r, w, e, tmo);
		}
	}
	return accel_next.select(nfds, r, w, e, tmo);
}

ACCEL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *tmo,
			 const sigset_t *mask)
{
	int handled = 0, rc;
	if (unlikely(mux_active()) && !core_in_vfork_child()) {
		struct timespec t;
		if (tmo && core_copy_in(&t, tmo, sizeof(t)) < 0)
			OFFLOAD_RETURN(int, pselect, -EFAULT, nfds, r, w, e, tmo, mask);
		if (tmo && (t.tv_sec < 0 || t.tv_nsec < 0 || t.tv_nsec >= 1000000000L))
			OFFLOAD_RETURN(int, pselect, -EINVAL, nfds, r, w, e, tmo, mask);
		rc = mux_select(nfds, r, w, e, mux_deadline(tmo ? &t : NULL), mask, &handled, NULL);
		if (handled)
			OFFLOAD_RETURN(int, pselect, rc, nfds, r, w, e, tmo, mask);
	}
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
	struct accel_sock *s = fd_table_get(fd);
	if (likely(!s) || core_in_vfork_child())
		return accel_next.epoll_ctl(epfd, op, fd, ev);
	if (s->ops)
		OFFLOAD_RETURN(int, epoll_ctl, mux_epoll_ctl(epfd, op, fd, s, ev), epfd, op, fd, ev);
	int rc = accel_next.epoll_ctl(epfd, op, fd, ev);
	/* The kernel read ev: it is a valid pointer. */
	if (rc == 0 && s->type == SOCK_STREAM && !s->decided)
		mux_epoll_record(s, epfd, op, ev);
	return rc;
}

/* An epoll fd with offloaded members, or NULL: pass through. */
static struct accel_sock *emulated_epoll(int epfd)
{
	struct accel_sock *o = fd_table_get(epfd);
	return unlikely(o && o->ep) && !core_in_vfork_child() ? o : NULL;
}

ACCEL_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	struct accel_sock *o = emulated_epoll(epfd);
	if (likely(!o) || max <= 0 || !ev)
		return accel_next.epoll_wait(epfd, ev, max, timeout);
	OFFLOAD_RETURN(int, epoll_wait, mux_epoll_wait(o, epfd, ev, max, mux_deadline_ms(timeout), NULL), epfd, ev, max, timeout);
}

ACCEL_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
			     const sigset_t *mask)
{
	struct accel_sock *o = emulated_epoll(epfd);
	if (likely(!o) || max <= 0 || !ev)
		return accel_next.epoll_pwait(epfd, ev, max, timeout, mask);
	OFFLOAD_RETURN(int, epoll_pwait, mux_epoll_wait(o, epfd, ev, max, mux_deadline_ms(timeout), mask), epfd, ev, max, timeout, mask);
}

ACCEL_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			      const struct timespec *tmo, const sigset_t *mask)
{
	struct accel_sock *o = emulated_epoll(epfd);
	struct timespec t;
	if (likely(!o) || max <= 0 || !ev || (tmo && core_copy_in(&t, tmo, sizeof(t)) < 0))
		return accel_next.epoll_pwait2(epfd, ev, max, tmo, mask);
	OFFLOAD_RETURN(int, epoll_pwait2, mux_epoll_wait(o, epfd, ev, max, mux_deadline(tmo ? &t : NULL), mask), epfd, ev, max, tmo, mask);
}
