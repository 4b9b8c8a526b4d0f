/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --trace (ACCEL_TRACE_CALLS=1): a shim per interposed function that calls
 * libc, then logs the call with its arguments, result and errno, like
 * strace. Installed by swapping the pointers in accel_next, so tracing off
 * costs the wrappers nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "../config/log.h"
#include "interpose.h"
#include "libc.h"

const char *trace_addr(const struct sockaddr *addr, socklen_t len)
{
	static _Thread_local char buf[INET6_ADDRSTRLEN + 120];
	char ip[INET6_ADDRSTRLEN];
	struct sockaddr_storage ss;
	if (!addr)
		return "NULL";
	/* Read no more than len, and only what is readable: the call being
	 * traced may be the one that fails with EFAULT. */
	size_t n = len < sizeof(ss) ? len : sizeof(ss);
	if (n < sizeof(sa_family_t) || core_copy_in(&ss, addr, n) < 0) {
		snprintf(buf, sizeof(buf), "%p", (const void *)addr);
		return buf;
	}
	switch (ss.ss_family) {
	case AF_INET:
		if (n < sizeof(struct sockaddr_in))
			break;
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s:%u", ip, ntohs(((struct sockaddr_in *)&ss)->sin_port));
		return buf;
	case AF_INET6:
		if (n < sizeof(struct sockaddr_in6))
			break;
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "[%s]:%u", ip,
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		return buf;
	case AF_UNIX: {
		size_t plen = n - sizeof(sa_family_t);
		const char *path = ((struct sockaddr_un *)&ss)->sun_path;
		if (plen && !path[0]) /* abstract: NUL first, not a C string */
			snprintf(buf, sizeof(buf), "unix:@%.*s", (int)(plen - 1 < 100 ? plen - 1 : 100),
				 path + 1);
		else
			snprintf(buf, sizeof(buf), "unix:%.*s", (int)(plen < 100 ? plen : 100), path);
		return buf;
	}
	}
	snprintf(buf, sizeof(buf), "{family %d, %u bytes}", ss.ss_family, (unsigned int)len);
	return buf;
}

static void trace_result(const char *call, long rc, int err)
{
	if (rc < 0)
		log_always("TRACE", "%s = %ld %s (%s)", call, rc, strerrorname_np(err) ?: "?",
			   strerror(err));
	else
		log_always("TRACE", "%s = %ld", call, rc);
}

#define TRACE_ADDR(addr, len) trace_addr((addr), (len))
#define SYM(ret, name, params, args, sysnr, fmt, ...)                        \
	static ret trace_##name params                                       \
	{                                                                    \
		ret trace_rc_ = libc.name args;                              \
		int trace_err_ = errno;                                      \
		char trace_call_[512];                                       \
		snprintf(trace_call_, sizeof(trace_call_), #name "(" fmt ")", \
			 __VA_ARGS__);                                       \
		trace_result(trace_call_, (long)trace_rc_, trace_err_);      \
		errno = trace_err_;                                          \
		return trace_rc_;                                            \
	}
#include "symbols.def"
#undef SYM

int accel_tracing;
static _Thread_local long pending_rc;
static _Thread_local int pending_err;

void trace_pending(long rc, int err)
{
	pending_rc = rc;
	pending_err = err;
}

/* The same lines for calls an engine answered (OFFLOAD_RETURN). */
#define SYM(ret, name, params, args, sysnr, fmt, ...)                        \
	void trace_done_##name params                                        \
	{                                                                    \
		char trace_call_[512];                                       \
		snprintf(trace_call_, sizeof(trace_call_), #name "(" fmt ")", \
			 __VA_ARGS__);                                       \
		trace_result(trace_call_, pending_rc, pending_err);          \
		errno = pending_err;                                         \
	}
#include "symbols.def"
#undef SYM

static void trace_closefrom(int lowfd)
{
	libc.closefrom(lowfd);
	log_always("TRACE", "closefrom(%d)", lowfd);
}

void trace_install(struct libc_fns *next)
{
#define SYM(ret, name, ...) __atomic_store_n(&next->name, trace_##name, __ATOMIC_RELEASE);
#include "symbols.def"
#undef SYM
	__atomic_store_n(&next->closefrom, trace_closefrom, __ATOMIC_RELEASE);
	__atomic_store_n(&next->chk_fail, libc.chk_fail, __ATOMIC_RELEASE);
}
