/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A preloaded allocator that, like some real ones at start-up, makes
 * socket-layer calls from inside malloc/calloc: read() on a bad fd, and
 * close() of it. The first of them come while the C library and the
 * dynamic loader start, before libaccel's constructor, and reach libaccel
 * half-initialised; they must still give the kernel's answer (EBADF).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

static __thread int inside;
static int wrong;

static void touch_sockets(void)
{
	if (inside)
		return;
	inside = 1;
	errno = 0;
	if (read(-1, NULL, 0) != -1 || errno != EBADF)
		wrong++;
	if (close(-1) != -1 || errno != EBADF)
		wrong++;
	inside = 0;
}

void *malloc(size_t n)
{
	touch_sockets();
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	touch_sockets();
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	return __libc_realloc(p, n);
}

void free(void *p)
{
	__libc_free(p);
}

__attribute__((destructor)) static void report(void)
{
	dprintf(2, "malloc_spy: %s\n", wrong ? "WRONG ANSWERS" : "all answers as the kernel's");
}
