/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fd table storage. The array is one anonymous mapping: untouched pages
 * cost no memory, so sizing it for a million fds is free until used.
 * Safe to initialise from any thread or constructor: the first mapping to
 * be published wins, the others are unmapped.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "fd_table.h"

struct fd_table fd_table;

int fd_table_init_size(unsigned int size)
{
	if (__atomic_load_n(&fd_table.size, __ATOMIC_ACQUIRE))
		return 0;
	if (size == 0)
		return -EINVAL;
	if (size > FD_TABLE_MAX)
		size = FD_TABLE_MAX;
	size_t bytes = (size_t)size * sizeof(struct accel_sock *);
	void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	struct accel_sock **expected = NULL;
	if (!__atomic_compare_exchange_n(&fd_table.slots, &expected, (struct accel_sock **)mem, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		munmap(mem, bytes);
		/* Another thread won; wait until its size is visible. */
		while (!__atomic_load_n(&fd_table.size, __ATOMIC_ACQUIRE))
			sched_yield();
		return 0;
	}
	__atomic_store_n(&fd_table.size, size, __ATOMIC_RELEASE);
	return 0;
}

int fd_table_init(void)
{
	struct rlimit rl;
	unsigned int size = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		/* The hard limit: the program may raise its soft limit later. */
		rlim_t lim = rl.rlim_max;
		if (lim == RLIM_INFINITY || lim > FD_TABLE_MAX)
			lim = FD_TABLE_MAX;
		if (lim < rl.rlim_cur && rl.rlim_cur <= FD_TABLE_MAX)
			lim = rl.rlim_cur;
		if (lim > 0)
			size = (unsigned int)lim;
	}
	return fd_table_init_size(size);
}

unsigned int fd_table_size(void)
{
	return __atomic_load_n(&fd_table.size, __ATOMIC_ACQUIRE);
}

int fd_table_covers(int fd)
{
	return fd >= 0 && (unsigned int)fd < fd_table_size();
}

struct accel_sock *fd_table_exchange(int fd, struct accel_sock *s)
{
	if (!fd_table_covers(fd))
		return NULL;
	return __atomic_exchange_n(&fd_table.slots[fd], s, __ATOMIC_ACQ_REL);
}

void fd_table_destroy(void)
{
	unsigned int size = fd_table_size();
	if (!size)
		return;
	munmap(fd_table.slots, (size_t)size * sizeof(struct accel_sock *));
	__atomic_store_n(&fd_table.size, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&fd_table.slots, NULL, __ATOMIC_RELEASE);
}
