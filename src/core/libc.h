/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The real libc functions behind every interposed name. `libc` holds what
 * dlsym(RTLD_NEXT) found; `accel_next` is what the wrappers call when a
 * socket is not offloaded: libc itself, or the --trace shims. Both are
 * plain loads on the hot path: no locks, no checks.
 */
#ifndef ACCEL_CORE_LIBC_H
#define ACCEL_CORE_LIBC_H

#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

struct libc_fns {
#define SYM(ret, name, params, args, sysnr, ...) ret(*name) params;
#include "symbols.def"
#undef SYM
	void (*closefrom)(int lowfd);
	void (*chk_fail)(void) __attribute__((noreturn));
};

/* What dlsym found (NULL until resolved). */
extern struct libc_fns libc;
/* What pass-through calls go to: lazy resolvers, then libc or trace shims. */
extern struct libc_fns accel_next;

/* Resolve every libc function; safe to call again and from any thread. */
void libc_resolve(void);
/* Route accel_next through the trace shims (on) or straight to libc (off). */
void libc_set_trace(int on);
/* Point next at the trace shims (trace.c). */
void trace_install(struct libc_fns *next);
/* Printable "addr:port" of a socket address, for trace lines (per thread). */
const char *trace_addr(const struct sockaddr *addr, socklen_t len);

#endif
