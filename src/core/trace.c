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
#include "libc.h"

const char *trace_addr(const struct sockaddr *addr, socklen_t len)
{
	static _Thread_local char buf[INET6_ADDRSTRLEN + 32];
	char ip[INET6_ADDRSTRLEN];
	if (!addr || len < sizeof(sa_family_t))
		return "NULL";
	switch (addr->sa_family) {
	case AF_INET:
		if (len < sizeof(struct sockaddr_in))
			break;
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s:%u", ip,
			 ntohs(((const struct sockaddr_in *)addr)->sin_port));
		return buf;
	case AF_INET6:
		if (len < sizeof(struct sockaddr_in6))
			break;
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "[%s]:%u", ip,
			 ntohs(((const struct sockaddr_in6 *)addr)->sin6_port));
		return buf;
	case AF_UNIX:
		snprintf(buf, sizeof(buf), "unix:%.*s", (int)(sizeof(buf) - 8),
			 len > sizeof(sa_family_t) ? ((const struct sockaddr_un *)addr)->sun_path : "");
		return buf;
	}
	snprintf(buf, sizeof(buf), "{family %d}", addr->sa_family);
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
