/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The fd table: an array indexed by fd, sized once from RLIMIT_NOFILE,
 * mapping each fd libaccel knows to its socket object. Reads are a bounds
 * check and one load, with no lock; an fd beyond the table (or any fd
 * before the table exists) simply passes through to libc.
 */
#ifndef ACCEL_CORE_FD_TABLE_H
#define ACCEL_CORE_FD_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct accel_sock;

/* Largest table: beyond this many fds, sockets pass through untracked. */
#define FD_TABLE_MAX (1u << 20)

struct fd_table {
	struct accel_sock **slots;
	unsigned int size; /* 0 until initialised; published after slots */
};

extern struct fd_table fd_table;

/*
 * Low bit of a slot: the fd is being closed (close() has marked it and is
 * in the kernel). The object is still the fd's until the kernel is done.
 */
#define FD_TABLE_CLOSING ((uintptr_t)1)

static inline int fd_table_closing(const struct accel_sock *raw)
{
	return ((uintptr_t)raw & FD_TABLE_CLOSING) != 0;
}

/* The object for fd, or NULL: hot path, one branch and one load. */
static inline struct accel_sock *fd_table_get(int fd)
{
	unsigned int size = __atomic_load_n(&fd_table.size, __ATOMIC_ACQUIRE);
	if (__builtin_expect((unsigned int)fd >= size, 0))
		return NULL;
	uintptr_t v = (uintptr_t)__atomic_load_n(&fd_table.slots[fd], __ATOMIC_ACQUIRE);
	return (struct accel_sock *)(v & ~FD_TABLE_CLOSING);
}

/* Create the table, sized from RLIMIT_NOFILE; idempotent and thread-safe. */
int fd_table_init(void);
/* Same with an explicit size (tests); the first successful call wins. */
int fd_table_init_size(unsigned int size);
/* Number of slots, 0 before init. */
unsigned int fd_table_size(void);
/* Put s at fd and return what was there, as stored (it may carry
 * FD_TABLE_CLOSING); NULL s clears. Out of range: returns NULL. */
struct accel_sock *fd_table_exchange(int fd, struct accel_sock *s);
/* Whether fd is inside the table. */
int fd_table_covers(int fd);
/* Release the table (tests only). */
void fd_table_destroy(void);

#endif
