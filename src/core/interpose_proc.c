/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process events: fork, vfork, daemon. vfork becomes fork: a vfork child
 * shares our memory, so its close() before exec would edit the parent's
 * fd table (libvma and XLIO do the same). Programs that use vfork as
 * POSIX allows (exec or _exit at once) cannot tell the difference.
 */
#include "config.h"

#include "../config/log.h"
#include "interpose.h"

void core_after_fork_child(void)
{
	log_after_fork();
}

ACCEL_EXPORT pid_t fork(void)
{
	pid_t pid = accel_next.fork();
	if (pid == 0)
		core_after_fork_child();
	return pid;
}

ACCEL_EXPORT pid_t vfork(void)
{
	return fork();
}

ACCEL_EXPORT int daemon(int nochdir, int noclose)
{
	int rc = accel_next.daemon(nochdir, noclose);
	if (rc == 0)
		core_after_fork_child(); /* only the child returns */
	return rc;
}
