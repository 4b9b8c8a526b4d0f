/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Process events: fork, vfork, daemon. vfork stays a vfork (vfork.S on
 * x86_64): while its child borrows our memory, the wrappers skip every
 * change to libaccel's tables (core_in_vfork_child), so the child's close
 * or dup2 before exec cannot edit the parent's view of its sockets.
 */
#include "config.h"

#include "../config/log.h"
#include "interpose.h"
#include "mux.h"

#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int accel_vfork_active;
pid_t core_pid;

void core_after_fork_child(void)
{
	int saved = errno;
	core_pid = (pid_t)syscall(SYS_getpid);
	log_after_fork();
	mux_after_fork_child();
	stats_after_fork_child();
	errno = saved;
}

/*
 * Whether [src, src + n) lies in the live frames of this thread's callers:
 * at most 64 KiB above our own frame, where the stack is mapped for sure.
 * An epoll event or a timeout is usually a local variable of the caller,
 * and a system call per check would cost as much as the call itself.
 */
static int in_caller_frames(const void *src, size_t n)
{
	char here;
	uintptr_t lo = (uintptr_t)&here, p = (uintptr_t)src;
	return p > lo && n <= 65536 && p - lo <= 65536 - n;
}

int core_copy_in(void *dst, const void *src, size_t n)
{
	if (in_caller_frames(src, n)) {
		memcpy(dst, src, n);
		return 0;
	}
	/* process_vm_readv on ourselves: the kernel checks the source for us. */
	struct iovec local = { dst, n }, remote = { (void *)src, n };
	pid_t self = core_pid ? core_pid : (pid_t)syscall(SYS_getpid);
	long got = syscall(SYS_process_vm_readv, self, &local, 1UL, &remote, 1UL, 0UL);
	return got == (long)n ? 0 : -EFAULT;
}

/* vfork.S lands here when the system call fails. */
int core_vfork_failed(int err);
int core_vfork_failed(int err)
{
	errno = err;
	return -1;
}

/* After a fork both processes hold every connection: engines must not
 * assume they are its only user any more. */
static void mark_forked(int child)
{
	unsigned int size = fd_table_size();
	for (unsigned int fd = 0; size && mux_active() && fd < size; fd++) {
		struct accel_sock *s = fd_table_get((int)fd);
		if (sock_offloaded(s) && s->ops->forked)
			s->ops->forked(s, child);
	}
}

ACCEL_EXPORT pid_t fork(void)
{
	pid_t pid = accel_next.fork();
	if (pid == 0)
		core_after_fork_child();
	if (pid >= 0)
		mark_forked(pid == 0);
	return pid;
}

#if !defined(__x86_64__)
/*
 * No assembly vfork for this architecture yet: fork instead, as libvma and
 * XLIO do. A program that relies on the child sharing its memory can tell.
 */
ACCEL_EXPORT pid_t vfork(void)
{
	core_before_vfork();
	return fork();
}
#endif

ACCEL_EXPORT int daemon(int nochdir, int noclose)
{
	int rc = accel_next.daemon(nochdir, noclose);
	if (rc == 0) {
		core_after_fork_child(); /* only the child returns */
		mark_forked(1);
	}
	return rc;
}
