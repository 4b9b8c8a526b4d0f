/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ACCEL_WAIT_YIELD: the last phase of a wait before the kernel's sleep,
 * for poll/select/epoll (mux.c, epoll.c) and for engines' blocking
 * receives. Waiting only: never on the path of a call that has its data.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "mux.h"

/* Faults come from an instruction, not from a wait: never blocked. */
#define FAULT_SIGNALS                                                                    \
	((1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1)) | (1ull << (SIGFPE - 1)) |       \
	 (1ull << (SIGILL - 1)) | (1ull << (SIGTRAP - 1)) | (1ull << (SIGSYS - 1)))

struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/*
 * Pending signals the wait was blocking: what the kernel would have done
 * had it been sleeping. 1: a handler interrupts the call (EINTR); 0: none
 * does (ignored or default signals; handlers with SA_RESTART when the call
 * restarts).
 */
static int interrupts(uint64_t pending, int restartable)
{
	for (int sig = 1; sig <= 64; sig++) {
		if (!(pending & (1ull << (sig - 1))))
			continue;
		struct ksigaction act;
		if (syscall(SYS_rt_sigaction, sig, NULL, &act, sizeof(act.mask)) < 0)
			continue;
		if (act.handler == (void *)SIG_DFL || act.handler == (void *)SIG_IGN)
			continue;
		if (!restartable || !(act.flags & SA_RESTART))
			return 1;
	}
	return 0;
}

int mux_yield_wait(long long deadline, engine_look_fn look_once, void *ctx, int restartable)
{
	if (!accel_params.wait_yield)
		return 0;
	long long until = mux_now_ns() + accel_params.wait_yield * 1000LL;
	if (deadline >= 0 && deadline < until)
		until = deadline;
	uint64_t block = ~FAULT_SIGNALS, old;
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, &old, sizeof(block)) < 0)
		return 0;
	int rc = 0;
	for (unsigned int i = 1;; i++) {
		int time_up = mux_now_ns() >= until;
		/* Signals every 4th round and at the end (a signal held back a few
		 * yields is still seen before anything sleeps). */
		uint64_t pending;
		if ((time_up || !(i & 3)) &&
		    syscall(SYS_rt_sigpending, &pending, sizeof(pending)) == 0 &&
		    (pending &= ~old & block)) {
			rc = interrupts(pending, restartable) ? -EINTR : 0;
			break;
		}
		if (time_up)
			break;
		syscall(SYS_sched_yield);
		if ((rc = look_once(ctx, !(i & 3))) != 0)
			break;
	}
	int saved = errno;
	/* A pending signal's handler runs here, as it would have in the sleep. */
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	errno = saved;
	return rc;
}
