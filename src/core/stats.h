/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Statistics: each tracked socket has a slot in this process's segment
 * (stats_layout.h), read from outside by accel-stat. Counting is a plain
 * increment through s->ctr on the data path; everything else here runs at
 * socket creation, decisions, close, fork and exec, never per data call.
 */
#ifndef ACCEL_CORE_STATS_H
#define ACCEL_CORE_STATS_H

#include <stdint.h>

#include "stats_layout.h"

struct accel_sock;
struct msghdr;

/* stats_sock_update: leave the state as it is. */
#define STATS_STATE_KEEP 0x100u

/* Text of a reason, for the log. */
const char *stats_reason_text(unsigned int reason);

/* socket() or accept() created s at fd: give it a slot (async-signal-safe). */
void stats_sock_open(struct accel_sock *s, int fd);
/*
 * s changed engine, reason or addresses (a decision, connect, listen,
 * accept, a hand-over): publish them, with the connection state
 * (enum accel_stats_state, or STATS_STATE_KEEP). fd names s. Makes a few
 * system calls (getsockname, fstat): never on the data path.
 */
void stats_sock_update(struct accel_sock *s, int fd, unsigned int state);
/* Only the connection state changed (end of stream seen). */
void stats_sock_state(struct accel_sock *s, unsigned int state);
/* shutdown(how) succeeded: the state that follows. */
void stats_sock_shutdown(struct accel_sock *s, int how);
/* s now counts as carried by the kernel for `reason` (process totals). */
void stats_sock_reason(struct accel_sock *s, unsigned int reason);
/* An engine took s on (process totals). */
void stats_sock_offloaded(struct accel_sock *s);
/* The last fd of s is gone: ACCEL_STATS_FILE, then free the slot. */
void stats_sock_close(struct accel_sock *s);
/* A receive returned 0 (slow path of the data calls). */
void stats_rx_zero(struct accel_sock *s, const struct msghdr *msg);

/* In a fork child: publish under the child's pid (the parent keeps its
 * own segment). */
void stats_after_fork_child(void);
/* Before exec: the new image publishes its own segment (or none). */
void stats_before_exec(void);
/* The exec failed: publish again. */
void stats_exec_failed(void);
/* Process exit: write ACCEL_STATS_FILE for open sockets, remove the segment. */
void stats_exit(void);
/* Forget the segment without removing its file (tests only). */
void stats_reset(void);

#endif
