/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What libaccel knows of one socket (shared by every fd that dup() made of
 * it). Objects come from a pool whose memory is never returned, so a
 * thread that loaded a pointer just before another thread closed the fd
 * still reads valid memory.
 */
#ifndef ACCEL_CORE_SOCK_H
#define ACCEL_CORE_SOCK_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "fd_table.h"
#include "stats.h"

struct rule;
struct mux_ep;

/* epoll sets a not yet connected stream socket is in (see mux.h). */
#define SOCK_EP_REGS 2
struct sock_ep_reg {
	int used;
	int epfd;
	uint32_t events;
	uint64_t data;
};

struct accel_sock {
	/* First, in the order of struct engine_link (engine.h). */
	const struct engine_ops *ops; /* NULL: the kernel carries this socket */
	void *engine;                 /* the engine's private state */
	int refs;                     /* fds referring to this object */
	int domain;
	int type;                     /* without SOCK_NONBLOCK / SOCK_CLOEXEC */
	int protocol;
	/* The policy's answer, asked once when the role becomes known. */
	uint8_t decided;
	uint8_t role;                 /* enum rule_role */
	uint8_t decision;             /* enum rule_transport */
	int8_t no_accel;              /* SO_ACCEL_NO_ACCEL: -1 unset, 0 opted in, 1 out */
	uint8_t connect_pending;      /* an engine's connect said EINPROGRESS, not yet 0 */
	const struct rule *rule;      /* the rule that decided, or NULL */
	uint8_t reason;               /* why the kernel carries it (enum accel_stats_reason) */
	uint32_t next_free;           /* pool link (index + 1), 0: end */
	uint32_t gen;                 /* bumped each time the object is handed out */
	struct mux_ep *ep;            /* an epoll fd with offloaded members */
	uint32_t ep_hint;             /* index + 1 of its node in the last epoll set
				       * it joined (a hint, checked before use) */
	struct sock_ep_reg ep_regs[SOCK_EP_REGS];
	/* Counters, bumped on the data path: slot->counters. */
	uint64_t *ctr;
	/* Its slot in the statistics segment, or local_slot when it has none
	 * (no segment, or a full one). */
	struct accel_stats_sock *slot;
	struct accel_stats_sock local_slot;
};

_Static_assert(offsetof(struct accel_sock, ops) == offsetof(struct engine_link, ops) &&
		       offsetof(struct accel_sock, engine) == offsetof(struct engine_link, state),
	       "struct accel_sock must start as struct engine_link");

static inline int sock_offloaded(const struct accel_sock *s)
{
	return s && s->ops;
}

/* Start tracking a new internet socket at fd (socket(), accept()); an
 * epoll fd has domain AF_UNSPEC and type 0. Returns the object or NULL. */
struct accel_sock *sock_register(int fd, int domain, int type, int protocol);
/* An engine now carries s (ops and engine set): count it. */
void sock_attached(struct accel_sock *s);
/* The fds naming s, ascending (at most max): a scan of the table. */
int sock_fds(const struct accel_sock *s, int *fds, int max);
/* fd is about to stop naming its object while other fds still do: tell
 * the engine which (ops->fd_moved). */
void sock_fd_leaving(int fd);
/* fd is about to be closed or replaced: drop its reference. */
void sock_forget(int fd);
/*
 * close(): mark fd's entry as closing before the kernel call and return
 * its object (NULL: none, or another close is under way); after the kernel
 * call, sock_close_end clears the mark unless a dup or socket() reusing
 * the number has replaced it, and drops the reference. A dup racing the
 * close still finds the object while the kernel fd exists.
 */
struct accel_sock *sock_close_begin(int fd);
void sock_close_end(int fd, struct accel_sock *s);
/* Forget every fd in [first, last]. */
void sock_forget_range(unsigned int first, unsigned int last);
/* newfd now refers to what oldfd refers to (dup family). */
void sock_dup(int oldfd, int newfd);
/*
 * A reference on fd's object, or NULL: taken before the kernel dup so that
 * a close of fd meanwhile cannot free it. Give it to sock_install (the new
 * fd) or back with sock_unref.
 */
struct accel_sock *sock_ref(int fd);
void sock_unref(struct accel_sock *s);
/* newfd now refers to s (NULL: to nothing); takes over the reference. */
void sock_install(int newfd, struct accel_sock *s);
/* Whether this is a socket libaccel tracks: TCP or UDP over IPv4 or IPv6. */
int sock_is_tracked_kind(int domain, int type, int protocol);
/* Objects in use (tests, statistics). */
unsigned int sock_in_use(void);
/* Reset the pool (tests only). */
void sock_pool_reset(void);

#endif
