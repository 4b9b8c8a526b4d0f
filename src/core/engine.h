/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The one interface between core and a data-path engine (shm, net). An
 * engine is a struct engine (how it takes a socket on) and a struct
 * engine_ops per kind of socket it carries, plus its private state hung
 * off the socket; core never asks which engine it has. Every function
 * returns 0 or a count, or -errno; core turns that into -1/errno at the
 * libc edge. Engines make their own system calls raw (the libc names are
 * libaccel's wrappers) and reach nothing of core but this header.
 */
#ifndef ACCEL_CORE_ENGINE_H
#define ACCEL_CORE_ENGINE_H

#include <sys/socket.h>
#include <sys/types.h>

struct accel_sock;
struct engine_ops;

/*
 * The part of a socket object that is the engine's: core's struct
 * accel_sock starts with these two fields, so an engine reaches its state
 * without knowing the rest.
 */
struct engine_link {
	const struct engine_ops *ops; /* NULL: the kernel carries the socket */
	void *state;
};

static inline struct engine_link *engine_link(struct accel_sock *s)
{
	return (struct engine_link *)(void *)s;
}

/* Kernel fds one socket may need to sleep on (its own fd first). */
#define ENGINE_WAIT_FDS 2

/*
 * recvmsg, sendmsg, poll, arm, wait_fds, woken, progress and release are
 * required; the others may be NULL: the kernel answers on the fd
 * (shutdown, getname, getsockopt, setsockopt, ioctl), or there is nothing
 * to do.
 */
struct engine_ops {
	const char *name;
	ssize_t (*recvmsg)(struct accel_sock *s, struct msghdr *msg, int flags);
	ssize_t (*sendmsg)(struct accel_sock *s, const struct msghdr *msg, int flags);
	int (*shutdown)(struct accel_sock *s, int how);
	/* Readiness now as poll(2) bits, without sleeping; a connection
	 * answers without a system call (a listener may ask the kernel). */
	unsigned int (*poll)(struct accel_sock *s, int fd);
	/*
	 * The caller is about to sleep in the kernel on wait_fds for `events`:
	 * make sure a change wakes one of them. Returns the events already
	 * true (then it must not sleep).
	 */
	unsigned int (*arm)(struct accel_sock *s, unsigned int events);
	/*
	 * Undo arm (optional): core calls it only when no thread of the process
	 * sleeps armed any more, so that peers stop ringing for nobody.
	 */
	void (*disarm)(struct accel_sock *s);
	/* The fds to sleep on (POLLIN on each): fills fds, returns how many. */
	int (*wait_fds)(struct accel_sock *s, int fd, int *fds);
	/*
	 * One of them woke: consume what woke it. Returns 1 when the wait fds
	 * will stay readable from now on (the peer is gone): sleepers must
	 * stop waiting on them.
	 */
	int (*woken)(struct accel_sock *s);
	/* A number that changes whenever data arrives or room appears (for
	 * edge-triggered epoll). */
	unsigned long (*progress)(struct accel_sock *s, unsigned int events);
	/*
	 * 1: the kernel itself tracks readiness on the wait fds (a listener
	 * and its rendezvous): epoll registers them with the program's events
	 * and reports what the kernel reports.
	 */
	int kernel_readiness;
	/*
	 * A listener: the next connection, from either path. Returns the new
	 * fd or -errno; *ops and *state are the engine's when it carries the
	 * connection, NULL when the kernel does.
	 */
	int (*accept)(struct accel_sock *s, int fd, struct sockaddr *addr, socklen_t *len,
		      int flags, const struct engine_ops **ops, void **state);
	/* getsockname (peer 0) and getpeername (peer 1). */
	int (*getname)(struct accel_sock *s, int fd, int peer, struct sockaddr *addr,
		       socklen_t *len);
	/* Socket options and ioctls; -ENOSYS: let the kernel answer on fd. */
	int (*getsockopt)(struct accel_sock *s, int fd, int level, int name, void *val,
			  socklen_t *len);
	int (*setsockopt)(struct accel_sock *s, int fd, int level, int name, const void *val,
			  socklen_t len);
	int (*ioctl)(struct accel_sock *s, int fd, unsigned long req, void *arg);
	/*
	 * fd is about to stop naming s (close, dup2 over it) while another fd,
	 * `other`, still does: an engine that keeps an fd number for its own
	 * system calls moves to `other`.
	 */
	void (*fd_moved)(struct accel_sock *s, int fd, int other);
	/* O_NONBLOCK changed on the fd (fcntl F_SETFL, FIONBIO). */
	void (*set_nonblock)(struct accel_sock *s, int on);
	/* A fork copied this process (child: 1 in the new process): both
	 * may now hold the socket. */
	void (*forked)(struct accel_sock *s, int child);
	/*
	 * The fd is about to leave libaccel's sight (exec, SCM_RIGHTS): make
	 * every fd of fds[] (all the fds of s) a plain kernel socket that
	 * carries the connection on, and drop the engine's state: on 0 core
	 * forgets the engine. -errno: nothing changed. keep_state: a vfork
	 * child, whose memory is its parent's: change no state but what the
	 * parent needs to know (it must not use the rings any more).
	 */
	int (*handover)(struct accel_sock *s, const int *fds, int nfds, int keep_state);
	/* close() of the last fd referring to s, before the kernel's close. */
	void (*closing)(struct accel_sock *s, int fd);
	/* The last fd referring to s is gone (it may be closed already). */
	void (*release)(struct accel_sock *s);
};

/* A look for engine_params.yield_wait: nonzero ends the wait. */
typedef int (*engine_look_fn)(void *ctx, int with_kernel);

/* Values engines read from the parameters (set before any socket). */
struct engine_params {
	long rx_poll_us;   /* spin this long in a blocking receive before sleeping */
	long yield_us;     /* then look between sched_yield calls this long: */
	/* core's way to do so (deadline in CLOCK_MONOTONIC ns, -1: none); see
	 * mux_yield_wait in mux.h */
	int (*yield_wait)(long long deadline, engine_look_fn look, void *ctx, int restartable);
	unsigned int ring_size;
	int shm;           /* ACCEL_SHM: the same-host engine may take sockets */
};

struct engine {
	const char *name;
	void (*configure)(const struct engine_params *p);
	/*
	 * A listening socket decided `accel`: take it on (set s->ops and
	 * s->engine) and return 0, or -errno and the kernel carries it alone.
	 */
	int (*listen)(struct accel_sock *s, int fd, int backlog);
	/*
	 * A client decided `accel` connects to dst (already read safely):
	 * carry it and return 0 (or -EINPROGRESS, as connect(2) would), or
	 * -ENOENT (or another -errno) and core hands the connect to the kernel.
	 */
	int (*connect)(struct accel_sock *s, int fd, const struct sockaddr *dst, socklen_t len);
};

/* Every engine core may offer a socket to, in order (engines.c). */
extern const struct engine *const core_engines[];

#endif
