/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The per-socket decision: when a socket's role becomes known, ask the
 * policy once, attach an engine if the answer is accel and one can carry
 * it, and otherwise leave it to the kernel with a reason. Also the
 * SOL_ACCEL socket options of <accel/socket.h>.
 */
#ifndef ACCEL_CORE_DECIDE_H
#define ACCEL_CORE_DECIDE_H

#include <sys/socket.h>

#include "../config/rules.h"
#include "sock.h"

/*
 * Decide s (no-op if already decided). local and remote may be NULL: the
 * local address is then read from the kernel, the remote is none.
 */
void decide_socket(struct accel_sock *s, int fd, enum rule_role role,
		   const struct sockaddr *local, const struct sockaddr *remote);
/*
 * Copy a program's socket address for a decision, as the kernel would read
 * it: -EFAULT if it is not readable, -EINVAL if it is too short or not an
 * internet address. Never faults.
 */
/* listen() succeeded on a socket decided accel: offer it to the engines. */
void decide_offer_listener(struct accel_sock *s, int fd, int backlog);
/*
 * connect() on a socket decided accel: offer it to the engines. Returns 1
 * when one took it (*rc: 0 or -EINPROGRESS, what connect returns), 0 when
 * the kernel should connect it.
 */
int decide_offer_connect(struct accel_sock *s, int fd, const struct sockaddr *dst, socklen_t len,
			 int *rc);
int decide_copy_addr(struct sockaddr_storage *dst, const struct sockaddr *addr, socklen_t len);

/* An accepted socket takes its listener's decision. */
void decide_inherit(struct accel_sock *s, const struct accel_sock *listener);

/* SOL_ACCEL options: 0 or -errno. */
int decide_setsockopt(struct accel_sock *s, int name, const void *val, socklen_t len);
int decide_getsockopt(struct accel_sock *s, int name, void *val, socklen_t *len);

#endif
