/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Finding the real libc functions. Until libc_resolve() has run, each
 * pointer in accel_next is a lazy stub that resolves everything and then
 * calls through, so a call from another library's constructor (before ours)
 * works. While dlsym itself runs, a re-entered call (an allocator that reads
 * /proc during its own start, say) goes straight to the system call.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libc.h"

extern int accel_tracing; /* trace.c */

#define NOSYS (-1L)
#define ARGS_AFTER_COMMA(...) , ##__VA_ARGS__

struct libc_fns libc;
static _Thread_local int resolving;
static int trace_on;

#define SYM(ret, name, params, args, sysnr, ...)                                \
	static ret lazy_##name params                                           \
	{                                                                       \
		if (resolving) {                                                \
			if ((sysnr) < 0) {                                      \
				errno = ENOSYS;                                 \
				return (ret)-1;                                 \
			}                                                       \
			return (ret)syscall(sysnr ARGS_AFTER_COMMA args);       \
		}                                                               \
		libc_resolve();                                                 \
		return accel_next.name args;                                    \
	}                                                                       \
	static ret missing_##name params                                        \
	{                                                                       \
		errno = ENOSYS;                                                 \
		return (ret)-1;                                                 \
	}
#include "symbols.def"
#undef SYM

static void lazy_closefrom(int lowfd)
{
	libc_resolve();
	accel_next.closefrom(lowfd);
}

static void missing_closefrom(int lowfd)
{
	/* Older glibc: close what close_range would have, one by one. */
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = lowfd; fd < max; fd++)
		syscall(SYS_close, (int)fd);
}

__attribute__((noreturn)) static void missing_chk_fail(void)
{
	/* glibc always has __chk_fail; this is only for a libc without it. */
	for (;;)
		syscall(SYS_exit_group, 127);
}

struct libc_fns accel_next = {
#define SYM(ret, name, ...) .name = lazy_##name,
#include "symbols.def"
#undef SYM
	.closefrom = lazy_closefrom,
	.chk_fail = missing_chk_fail,
};

/* Only RTLD_NEXT: RTLD_DEFAULT would find our own wrapper when the C
 * library lacks a function (close_range before glibc 2.34, say). */
static void *find(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define STORE(dst, val) __atomic_store_n(&(dst), (val), __ATOMIC_RELEASE)

static void route(void)
{
	if (trace_on) {
		trace_install(&accel_next);
		return;
	}
#define SYM(ret, name, ...) STORE(accel_next.name, libc.name);
#include "symbols.def"
#undef SYM
	STORE(accel_next.closefrom, libc.closefrom);
	STORE(accel_next.chk_fail, libc.chk_fail);
}

void libc_resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
#define SYM(ret, name, ...)                                    \
	{                                                      \
		void *p = find(#name);                         \
		STORE(libc.name, p ? (__typeof__(libc.name))p  \
				   : missing_##name);          \
	}
#include "symbols.def"
#undef SYM
	{
		void *p = find("closefrom");
		STORE(libc.closefrom, p ? (__typeof__(libc.closefrom))p : missing_closefrom);
		p = find("__chk_fail");
		STORE(libc.chk_fail, p ? (__typeof__(libc.chk_fail))p : missing_chk_fail);
	}
	resolving = 0;
	route();
}

void libc_set_trace(int on)
{
	trace_on = on;
	accel_tracing = on;
	if (libc.close)
		route();
}
