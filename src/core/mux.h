/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * poll, select and epoll over a mix of kernel and offloaded fds. An
 * offloaded socket's readiness comes from its engine (rings in memory);
 * when nothing is ready, the caller spins for ACCEL_SELECT_POLL, then arms
 * every offloaded socket (its peer will ring a doorbell fd) and sleeps in
 * the kernel on the kernel fds and the doorbells together, so timeouts,
 * signals and EINTR stay the kernel's.
 */
#ifndef ACCEL_CORE_MUX_H
#define ACCEL_CORE_MUX_H

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#include "sock.h"

/* Sockets an engine carries in this process: 0 means every readiness call
 * passes straight to the kernel. */
extern int mux_offloaded;

static inline int mux_active(void)
{
	return __builtin_expect(__atomic_load_n(&mux_offloaded, __ATOMIC_RELAXED) != 0, 0);
}

/* A socket took an engine, or gave it back. */
void mux_count(int delta);

/*
 * Sleeping armed: mux_sleep_begin before arming, mux_sleep_end after
 * waking. The last thread of the process to wake disarms its sockets
 * (disarm(ctx)); while another still sleeps, flags stay up for it.
 */
void mux_sleep_begin(void);
/* In a fork child: locks other threads held are nobody's now. */
void mux_after_fork_child(void);
void mux_epoll_after_fork_child(struct accel_sock *o);
void mux_sleep_end(void (*disarm)(void *ctx), void *ctx);
/* Whether a thread of the process sleeps armed now (or is about to): a
 * socket added to a set, or changed, must then be armed for it. Read after
 * a full fence: a sleeper counts itself before it arms. */
int mux_sleeping(void);

/*
 * ACCEL_WAIT_YIELD: before sleeping in the kernel, look_once(ctx,
 * with_kernel) between sched_yield calls until it finds something (its
 * answer), the time is up (0), or a signal with a handler comes: -EINTR,
 * or 0 when `restartable` and the handler has SA_RESTART (the caller goes
 * on to sleep, as a restarted call would). Signals stay blocked while it
 * yields, so that none is handled unseen; the handler runs before it
 * returns. with_kernel: every 4th look also asks the kernel about its fds.
 */
int mux_yield_wait(long long deadline, engine_look_fn look_once, void *ctx, int restartable);

/* CLOCK_MONOTONIC in ns; timeouts as deadlines on it (-1: none). */
long long mux_now_ns(void);
long long mux_deadline(const struct timespec *tmo);
long long mux_deadline_ms(int ms);

/*
 * poll/ppoll over fds: returns the count or -errno, like the kernel.
 * *handled is 0 when no fd is offloaded: the caller does the kernel call.
 */
int mux_poll(struct pollfd *fds, nfds_t n, long long deadline, const sigset_t *mask,
	     int *handled);
/* select/pselect: the same over fd sets; *remaining gets the time left. */
int mux_select(int nfds, fd_set *r, fd_set *w, fd_set *e, long long deadline,
	       const sigset_t *mask, int *handled, struct timespec *remaining);

/* epoll (epoll.c): epoll_ctl on an offloaded fd, and epoll_wait. */
int mux_epoll_ctl(int epfd, int op, int fd, struct accel_sock *s, struct epoll_event *ev);
void mux_epoll_record(struct accel_sock *s, int epfd, int op, const struct epoll_event *ev);
void mux_epoll_moved(struct accel_sock *s, int fd);
int mux_epoll_wait(struct accel_sock *ep, int epfd, struct epoll_event *ev, int max,
		   long long deadline, const sigset_t *mask);
void mux_epoll_release(struct accel_sock *ep);

#endif
