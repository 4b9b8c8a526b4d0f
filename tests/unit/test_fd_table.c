/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the fd table (src/core/fd_table.c) and the socket-object
 * pool (src/core/sock.c): bounds, exchange, initialisation from many
 * threads, reference counting across dup() and close_range(), reuse.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "core/fd_table.h"
#include "core/sock.h"

#define SIZE 64
#define THREADS 8

/* Stand-ins for socket objects in the plain fd-table tests: never dereferenced. */
static struct accel_sock fake_a, fake_b;

/* An engine that only counts releases. */
static int released;
static struct accel_sock *last_released;

static void count_release(struct accel_sock *s)
{
	released++;
	last_released = s;
}

static const struct engine_ops counting_ops = { .name = "counting", .release = count_release };

static int setup_empty(void **state)
{
	(void)state;
	sock_pool_reset();
	fd_table_destroy();
	released = 0;
	last_released = NULL;
	return fd_table_size() == 0 ? 0 : -1;
}

static int setup_table(void **state)
{
	setup_empty(state);
	return fd_table_init_size(SIZE);
}

static int teardown(void **state)
{
	(void)state;
	sock_pool_reset();
	fd_table_destroy();
	return 0;
}

/* A socket at fd with the counting engine attached. */
static struct accel_sock *register_counted(int fd)
{
	sock_register(fd, AF_INET, SOCK_STREAM, 0);
	struct accel_sock *s = fd_table_get(fd);
	assert_non_null(s);
	s->ops = &counting_ops;
	return s;
}

/* ---- the table ---- */

static void test_before_init(void **state)
{
	(void)state;
	assert_int_equal(fd_table_size(), 0);
	assert_null(fd_table_get(0));
	assert_null(fd_table_get(5));
	assert_null(fd_table_get(-1));
	assert_false(fd_table_covers(0));
	assert_null(fd_table_exchange(0, &fake_a));
	assert_int_equal(fd_table_size(), 0);
	assert_null(fd_table_get(0));
	fd_table_destroy(); /* harmless without a table */
	assert_int_equal(fd_table_size(), 0);
}

static void test_init_size(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(16), 0);
	assert_int_equal(fd_table_size(), 16);
	assert_true(fd_table_covers(0));
	assert_true(fd_table_covers(15));
	assert_false(fd_table_covers(16));
	assert_false(fd_table_covers(-1));
	assert_false(fd_table_covers(INT_MIN));
	for (int fd = 0; fd < 16; fd++)
		assert_null(fd_table_get(fd));
	/* Out of range: NULL, and no read outside the array. */
	assert_null(fd_table_get(16));
	assert_null(fd_table_get(-1));
	assert_null(fd_table_get(INT_MAX));
	assert_null(fd_table_get(INT_MIN));
}

static void test_init_zero(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(0), -EINVAL);
	assert_int_equal(fd_table_size(), 0);
	/* Once a table exists, any later call is a no-op that succeeds. */
	assert_int_equal(fd_table_init_size(8), 0);
	assert_int_equal(fd_table_init_size(0), 0);
	assert_int_equal(fd_table_size(), 8);
}

static void test_init_idempotent(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(16), 0);
	assert_null(fd_table_exchange(3, &fake_a));
	assert_int_equal(fd_table_init_size(64), 0);
	assert_int_equal(fd_table_init(), 0);
	assert_int_equal(fd_table_size(), 16);
	assert_ptr_equal(fd_table_get(3), &fake_a);
}

static void test_init_clamped(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(UINT_MAX), 0);
	assert_int_equal(fd_table_size(), FD_TABLE_MAX);
	assert_true(fd_table_covers(FD_TABLE_MAX - 1));
	assert_false(fd_table_covers(FD_TABLE_MAX));
	assert_null(fd_table_exchange(FD_TABLE_MAX - 1, &fake_a));
	assert_ptr_equal(fd_table_get(FD_TABLE_MAX - 1), &fake_a);
}

static unsigned int expected_rlimit_size(void)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_TABLE_MAX)
		return FD_TABLE_MAX;
	return (unsigned int)rl.rlim_max;
}

static void test_init_from_rlimit(void **state)
{
	(void)state;
	struct rlimit rl, low;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	/* Sized from the hard limit: the program may raise its soft limit later. */
	low = rl;
	low.rlim_cur = 32;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	int rc = fd_table_init();
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(fd_table_size(), expected_rlimit_size());
	assert_true(fd_table_size() > 32);
}

static void test_exchange(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(16), 0);
	assert_null(fd_table_exchange(3, &fake_a));
	assert_ptr_equal(fd_table_get(3), &fake_a);
	assert_ptr_equal(fd_table_exchange(3, &fake_b), &fake_a);
	assert_ptr_equal(fd_table_get(3), &fake_b);
	/* Neighbours untouched. */
	assert_null(fd_table_get(2));
	assert_null(fd_table_get(4));
	assert_ptr_equal(fd_table_exchange(3, NULL), &fake_b);
	assert_null(fd_table_get(3));
	assert_null(fd_table_exchange(3, NULL));

	/* The edges of the table. */
	assert_null(fd_table_exchange(0, &fake_a));
	assert_null(fd_table_exchange(15, &fake_b));
	assert_ptr_equal(fd_table_get(0), &fake_a);
	assert_ptr_equal(fd_table_get(15), &fake_b);

	/* Out of range: nothing stored, NULL returned. */
	assert_null(fd_table_exchange(16, &fake_a));
	assert_null(fd_table_exchange(-1, &fake_a));
	assert_null(fd_table_exchange(INT_MAX, &fake_a));
	assert_null(fd_table_get(16));
	assert_ptr_equal(fd_table_get(15), &fake_b);
}

static void test_destroy_and_reinit(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(8), 0);
	fd_table_exchange(5, &fake_a);
	fd_table_destroy();
	assert_int_equal(fd_table_size(), 0);
	assert_null(fd_table_get(5));
	assert_false(fd_table_covers(5));
	assert_int_equal(fd_table_init_size(32), 0);
	assert_int_equal(fd_table_size(), 32);
	assert_null(fd_table_get(5)); /* a fresh table */
	fd_table_destroy();
	fd_table_destroy();
	assert_int_equal(fd_table_size(), 0);
}

struct init_race {
	pthread_barrier_t *start;
	unsigned int want;
	int rc;
	unsigned int seen_size;
	struct accel_sock **seen_slots;
	struct accel_sock *seen_get;
};

static void *race_init(void *arg)
{
	struct init_race *r = arg;
	pthread_barrier_wait(r->start);
	r->rc = fd_table_init_size(r->want);
	/* On return the table must be complete, whoever created it. */
	r->seen_size = fd_table_size();
	r->seen_slots = __atomic_load_n(&fd_table.slots, __ATOMIC_ACQUIRE);
	r->seen_get = fd_table_get((int)r->seen_size - 1);
	return NULL;
}

static void test_init_many_threads(void **state)
{
	(void)state;
	for (int round = 0; round < 300; round++) {
		pthread_barrier_t start;
		pthread_t th[THREADS];
		struct init_race r[THREADS];
		assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
		for (int i = 0; i < THREADS; i++) {
			r[i] = (struct init_race){ .start = &start, .want = 100u + 10u * (unsigned)i };
			assert_int_equal(pthread_create(&th[i], NULL, race_init, &r[i]), 0);
		}
		for (int i = 0; i < THREADS; i++)
			assert_int_equal(pthread_join(th[i], NULL), 0);
		pthread_barrier_destroy(&start);

		unsigned int size = fd_table_size();
		int winner = -1;
		for (int i = 0; i < THREADS; i++)
			if (r[i].want == size)
				winner = i;
		assert_true(winner >= 0);
		for (int i = 0; i < THREADS; i++) {
			assert_int_equal(r[i].rc, 0);
			assert_int_equal(r[i].seen_size, size);
			assert_ptr_equal(r[i].seen_slots, fd_table.slots);
			assert_null(r[i].seen_get);
		}
		/* The one table is fully usable. */
		assert_null(fd_table_exchange((int)size - 1, &fake_a));
		assert_ptr_equal(fd_table_get((int)size - 1), &fake_a);
		fd_table_destroy();
	}
}

/* ---- socket objects ---- */

static void test_tracked_kind(void **state)
{
	(void)state;
	assert_true(sock_is_tracked_kind(AF_INET, SOCK_STREAM, 0));
	assert_true(sock_is_tracked_kind(AF_INET, SOCK_DGRAM, 0));
	assert_true(sock_is_tracked_kind(AF_INET6, SOCK_STREAM, 0));
	assert_true(sock_is_tracked_kind(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0));
	assert_true(sock_is_tracked_kind(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	assert_false(sock_is_tracked_kind(AF_UNIX, SOCK_STREAM, 0));
	assert_false(sock_is_tracked_kind(AF_UNIX, SOCK_DGRAM, 0));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_RAW, 0));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_SEQPACKET, 0));
	assert_false(sock_is_tracked_kind(AF_NETLINK, SOCK_DGRAM, 0));
	assert_false(sock_is_tracked_kind(AF_PACKET, SOCK_RAW, 0));
	assert_true(sock_is_tracked_kind(AF_INET, SOCK_STREAM, IPPROTO_TCP));
	assert_true(sock_is_tracked_kind(AF_INET6, SOCK_DGRAM, IPPROTO_UDP));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_STREAM, IPPROTO_SCTP));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_STREAM, 262 /* MPTCP */));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE));
	assert_false(sock_is_tracked_kind(AF_INET, SOCK_DGRAM, IPPROTO_ICMP));
}

static void test_register_forget(void **state)
{
	(void)state;
	assert_int_equal(sock_in_use(), 0);
	sock_register(5, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 6);
	assert_int_equal(sock_in_use(), 1);
	struct accel_sock *s = fd_table_get(5);
	assert_non_null(s);
	assert_int_equal(s->domain, AF_INET6);
	assert_int_equal(s->type, SOCK_STREAM);
	assert_int_equal(s->protocol, 6);
	assert_int_equal(s->refs, 1);
	assert_null(s->ops);
	assert_null(s->engine);
	assert_false(sock_offloaded(s));
	assert_false(sock_offloaded(NULL));

	sock_register(6, AF_INET, SOCK_DGRAM, 17);
	assert_int_equal(sock_in_use(), 2);
	assert_ptr_not_equal(fd_table_get(6), s);
	assert_int_equal(fd_table_get(6)->type, SOCK_DGRAM);

	sock_forget(5);
	assert_null(fd_table_get(5));
	assert_int_equal(sock_in_use(), 1);
	/* Forgetting again, or an fd never seen, changes nothing. */
	sock_forget(5);
	sock_forget(7);
	sock_forget(-1);
	sock_forget(SIZE);
	sock_forget(INT_MAX);
	assert_int_equal(sock_in_use(), 1);
	assert_non_null(fd_table_get(6));
	sock_forget(6);
	assert_int_equal(sock_in_use(), 0);
}

static void test_register_keeps_errno(void **state)
{
	(void)state;
	errno = EINPROGRESS;
	sock_register(3, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(errno, EINPROGRESS);
	errno = EAGAIN;
	sock_register(SIZE + 1, AF_INET, SOCK_STREAM, 0); /* out of the table */
	assert_int_equal(errno, EAGAIN);
}

static void test_offloaded(void **state)
{
	(void)state;
	struct accel_sock *s = register_counted(3);
	assert_true(sock_offloaded(s));
	sock_forget(3);
	assert_int_equal(released, 1);
	assert_ptr_equal(last_released, s);
	/* A released object no longer claims an engine. */
	assert_null(s->ops);
}

static void test_register_without_table(void **state)
{
	(void)state;
	assert_int_equal(fd_table_size(), 0);
	sock_register(3, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(fd_table_size(), expected_rlimit_size());
	assert_non_null(fd_table_get(3));
	assert_int_equal(sock_in_use(), 1);
	sock_forget(3);
	assert_int_equal(sock_in_use(), 0);
}

static void test_register_out_of_table(void **state)
{
	(void)state;
	sock_register(SIZE, AF_INET, SOCK_STREAM, 0);
	sock_register(SIZE + 100, AF_INET, SOCK_STREAM, 0);
	sock_register(-1, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), 0);
	assert_int_equal(fd_table_size(), SIZE);
	assert_null(fd_table_get(SIZE));
	/* The last slot is inside. */
	sock_register(SIZE - 1, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), 1);
	assert_non_null(fd_table_get(SIZE - 1));
}

/* close(): the entry is marked while the kernel closes, then cleared. */
static void test_close_mark(void **state)
{
	(void)state;
	sock_register(5, AF_INET, SOCK_STREAM, 0);
	struct accel_sock *s = fd_table_get(5);
	assert_non_null(s);
	assert_ptr_equal(sock_close_begin(5), s);
	assert_ptr_equal(fd_table_get(5), s);     /* still the fd's while closing */
	assert_null(sock_close_begin(5));         /* a second close: not ours */
	assert_null(sock_close_begin(6));         /* nothing known */
	sock_close_end(5, s);
	assert_null(fd_table_get(5));
	assert_int_equal(sock_in_use(), 0);
}

/* A dup that got the closing fd's number back keeps its entry. */
static void test_close_then_dup_same_number(void **state)
{
	(void)state;
	sock_register(5, AF_INET, SOCK_STREAM, 0);
	struct accel_sock *s = sock_ref(5);        /* dup: reference first */
	assert_non_null(s);
	assert_ptr_equal(sock_close_begin(5), s);  /* another thread's close */
	sock_install(5, s);                        /* the dup returned 5 */
	sock_close_end(5, s);
	assert_ptr_equal(fd_table_get(5), s);
	assert_int_equal(s->refs, 1);
	assert_int_equal(sock_in_use(), 1);
	sock_forget(5);
	assert_int_equal(sock_in_use(), 0);
}

/* A socket() that reuses the number keeps its own, new entry. */
static void test_close_then_new_socket(void **state)
{
	(void)state;
	sock_register(5, AF_INET, SOCK_STREAM, 0);
	struct accel_sock *old = sock_close_begin(5);
	assert_non_null(old);
	sock_register(5, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(sock_in_use(), 2);        /* the old one is close()'s to drop */
	sock_close_end(5, old);
	assert_int_equal(sock_in_use(), 1);
	assert_int_equal(fd_table_get(5)->domain, AF_INET6);
	sock_forget(5);
	assert_int_equal(sock_in_use(), 0);
}

static void test_register_over_stale(void **state)
{
	(void)state;
	struct accel_sock *old = register_counted(7);
	/* fd 7 was closed behind libaccel's back and a new socket got the number. */
	sock_register(7, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(released, 1);
	assert_ptr_equal(last_released, old);
	struct accel_sock *s = fd_table_get(7);
	assert_non_null(s);
	/* The released object may be the one reused: it must come back clean. */
	assert_int_equal(s->domain, AF_INET6);
	assert_int_equal(s->refs, 1);
	assert_null(s->ops);
	assert_int_equal(sock_in_use(), 1);
}

static void test_register_over_stale_full_pool(void **state)
{
	(void)state;
	/* Every slot holds a live object and fd 0 is registered again over a
	 * stale entry: the stale object is released first, so the pool (sized to
	 * the table) has one for the new socket. */
	for (int fd = 0; fd < SIZE; fd++)
		sock_register(fd, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), SIZE);
	struct accel_sock *old = fd_table_get(0);
	old->ops = &counting_ops;
	sock_register(0, AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(sock_in_use(), SIZE);
	assert_non_null(fd_table_get(0));
	assert_int_equal(released, 1);
	assert_int_equal(fd_table_get(0)->domain, AF_INET6);
	sock_forget_range(0, ~0u);
	assert_int_equal(sock_in_use(), 0);
}

static void test_reuse_after_release(void **state)
{
	(void)state;
	sock_register(3, AF_INET, SOCK_STREAM, 0);
	struct accel_sock *a = fd_table_get(3);
	sock_forget(3);
	sock_register(4, AF_INET6, SOCK_DGRAM, 0);
	assert_ptr_equal(fd_table_get(4), a);
	assert_int_equal(a->domain, AF_INET6);
	assert_int_equal(a->refs, 1);
	sock_forget(4);

	/* Far more registrations than the pool holds objects: all tracked. */
	for (int i = 0; i < 50 * SIZE; i++) {
		int fd = i % SIZE;
		sock_register(fd, AF_INET, SOCK_STREAM, 0);
		assert_non_null(fd_table_get(fd));
		if (i % 3 == 0)
			sock_forget(fd);
	}
	unsigned int live = 0;
	for (int fd = 0; fd < SIZE; fd++)
		live += fd_table_get(fd) != NULL;
	assert_int_equal(sock_in_use(), live);
	sock_forget_range(0, SIZE - 1);
	assert_int_equal(sock_in_use(), 0);
}

static void test_dup_refcount(void **state)
{
	(void)state;
	struct accel_sock *s = register_counted(3);
	sock_dup(3, 4);
	sock_dup(4, 5);
	assert_ptr_equal(fd_table_get(4), s);
	assert_ptr_equal(fd_table_get(5), s);
	assert_int_equal(s->refs, 3);
	assert_int_equal(sock_in_use(), 1);

	sock_forget(3);
	assert_int_equal(s->refs, 2);
	assert_int_equal(released, 0);
	sock_forget(5);
	assert_int_equal(released, 0);
	assert_int_equal(sock_in_use(), 1);
	sock_forget(4);
	assert_int_equal(released, 1);
	assert_ptr_equal(last_released, s);
	assert_int_equal(sock_in_use(), 0);
}

static void test_dup_onto_tracked(void **state)
{
	(void)state;
	struct accel_sock *a = register_counted(3);
	struct accel_sock *b = register_counted(4);
	/* dup2(3, 4) closes what 4 was. */
	sock_dup(3, 4);
	assert_int_equal(released, 1);
	assert_ptr_equal(last_released, b);
	assert_ptr_equal(fd_table_get(4), a);
	assert_int_equal(a->refs, 2);
	assert_int_equal(sock_in_use(), 1);
}

static void test_dup_from_untracked(void **state)
{
	(void)state;
	struct accel_sock *b = register_counted(4);
	/* dup2(untracked, 4): 4 no longer is the socket. */
	sock_dup(9, 4);
	assert_null(fd_table_get(4));
	assert_int_equal(released, 1);
	assert_ptr_equal(last_released, b);
	assert_int_equal(sock_in_use(), 0);
	/* An old fd beyond the table is untracked too. */
	register_counted(5);
	sock_dup(SIZE + 3, 5);
	assert_null(fd_table_get(5));
	assert_int_equal(released, 2);
	assert_int_equal(sock_in_use(), 0);
	/* Nothing onto nothing. */
	sock_dup(10, 11);
	assert_null(fd_table_get(11));
	assert_int_equal(sock_in_use(), 0);
}

static void test_dup_out_of_table(void **state)
{
	(void)state;
	struct accel_sock *s = register_counted(3);
	sock_dup(3, SIZE);
	sock_dup(3, SIZE + 1000);
	sock_dup(3, -1);
	sock_dup(3, INT_MAX);
	assert_int_equal(s->refs, 1);
	assert_int_equal(sock_in_use(), 1);
	sock_forget(3);
	assert_int_equal(released, 1);
	assert_int_equal(sock_in_use(), 0);
}

static void test_dup_onto_itself(void **state)
{
	(void)state;
	struct accel_sock *s = register_counted(3);
	sock_dup(3, 3);
	assert_ptr_equal(fd_table_get(3), s);
	assert_int_equal(s->refs, 1);
	assert_int_equal(released, 0);
	assert_int_equal(sock_in_use(), 1);
}

static void test_forget_range(void **state)
{
	(void)state;
	for (int fd = 2; fd <= 10; fd++)
		sock_register(fd, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), 9);

	sock_forget_range(4, 6);
	assert_int_equal(sock_in_use(), 6);
	assert_non_null(fd_table_get(3));
	assert_null(fd_table_get(4));
	assert_null(fd_table_get(6));
	assert_non_null(fd_table_get(7));

	/* Reversed or beyond the table: nothing. */
	sock_forget_range(9, 8);
	sock_forget_range(SIZE, SIZE + 10);
	sock_forget_range(SIZE + 10, ~0u);
	assert_int_equal(sock_in_use(), 6);

	/* closefrom(8). */
	sock_forget_range(8, ~0u);
	assert_int_equal(sock_in_use(), 3);
	assert_non_null(fd_table_get(7));
	assert_null(fd_table_get(8));
	assert_null(fd_table_get(10));

	/* The last slot. */
	sock_register(SIZE - 1, AF_INET, SOCK_STREAM, 0);
	sock_forget_range(SIZE - 1, SIZE - 1);
	assert_null(fd_table_get(SIZE - 1));
	assert_int_equal(sock_in_use(), 3);

	sock_forget_range(0, ~0u);
	assert_int_equal(sock_in_use(), 0);
	for (int fd = 0; fd < SIZE; fd++)
		assert_null(fd_table_get(fd));
}

static void test_forget_range_shared(void **state)
{
	(void)state;
	struct accel_sock *s = register_counted(20);
	sock_dup(20, 30);
	sock_forget_range(15, 25);
	assert_int_equal(s->refs, 1);
	assert_int_equal(released, 0);
	assert_ptr_equal(fd_table_get(30), s);
	sock_forget_range(25, 40);
	assert_int_equal(released, 1);
	assert_int_equal(sock_in_use(), 0);
}

static void test_forget_range_without_table(void **state)
{
	(void)state;
	sock_forget_range(0, ~0u);
	sock_forget_range(0, 0);
	assert_int_equal(fd_table_size(), 0);
	assert_int_equal(sock_in_use(), 0);
}

static void test_pool_reset(void **state)
{
	(void)state;
	sock_register(3, AF_INET, SOCK_STREAM, 0);
	sock_register(4, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), 2);
	sock_pool_reset();
	fd_table_destroy();
	assert_int_equal(sock_in_use(), 0);
	assert_int_equal(fd_table_init_size(SIZE), 0);
	sock_register(3, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), 1);
}

/* ---- many threads ---- */

#define STRESS_SIZE 256
#define STRESS_ROUNDS 20000

struct stress {
	pthread_barrier_t *start;
	int first, count; /* fds this thread may touch */
	unsigned int seed;
};

static void *stress_own_range(void *arg)
{
	struct stress *t = arg;
	pthread_barrier_wait(t->start);
	for (int i = 0; i < STRESS_ROUNDS; i++) {
		int fd = t->first + (int)(rand_r(&t->seed) % (unsigned)t->count);
		int other = t->first + (int)(rand_r(&t->seed) % (unsigned)t->count);
		switch (rand_r(&t->seed) % 5) {
		case 0:
		case 1:
			sock_register(fd, AF_INET, SOCK_STREAM, 0);
			break;
		case 2:
			sock_forget(fd);
			break;
		case 3:
			sock_dup(fd, other);
			break;
		default:
			sock_forget_range((unsigned)fd, (unsigned)fd + 2);
			break;
		}
	}
	return NULL;
}

static void *stress_shared(void *arg)
{
	struct stress *t = arg;
	pthread_barrier_wait(t->start);
	for (int i = 0; i < STRESS_ROUNDS; i++) {
		int fd = (int)(rand_r(&t->seed) % 8u);
		if (rand_r(&t->seed) % 2)
			sock_register(fd, AF_INET, SOCK_DGRAM, 0);
		else
			sock_forget(fd);
	}
	return NULL;
}

/* Every live object is counted once and its refs match the slots using it. */
static void assert_pool_consistent(void)
{
	struct accel_sock *seen[STRESS_SIZE];
	unsigned int distinct = 0;
	for (int fd = 0; fd < STRESS_SIZE; fd++) {
		struct accel_sock *s = fd_table_get(fd);
		if (!s)
			continue;
		int known = 0;
		for (unsigned int k = 0; k < distinct; k++)
			known |= seen[k] == s;
		if (known)
			continue;
		seen[distinct++] = s;
		int refs = 0;
		for (int g = 0; g < STRESS_SIZE; g++)
			refs += fd_table_get(g) == s;
		assert_int_equal(s->refs, refs);
	}
	assert_int_equal(sock_in_use(), distinct);
}

static void run_stress(void *(*fn)(void *), int per_thread)
{
	pthread_barrier_t start;
	pthread_t th[THREADS];
	struct stress t[THREADS];
	assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++) {
		/* forget_range may reach two fds past the range: leave a gap. */
		t[i] = (struct stress){ .start = &start, .first = i * per_thread,
					.count = per_thread > 2 ? per_thread - 2 : per_thread,
					.seed = 12345u + (unsigned)i };
		assert_int_equal(pthread_create(&th[i], NULL, fn, &t[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);
}

static void test_threads_own_fds(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(STRESS_SIZE), 0);
	run_stress(stress_own_range, STRESS_SIZE / THREADS);
	assert_pool_consistent();
	assert_true(sock_in_use() > 0);
	sock_forget_range(0, ~0u);
	assert_int_equal(sock_in_use(), 0);
}

static void test_threads_shared_fds(void **state)
{
	(void)state;
	assert_int_equal(fd_table_init_size(STRESS_SIZE), 0);
	run_stress(stress_shared, 0);
	assert_pool_consistent();
	sock_forget_range(0, ~0u);
	assert_int_equal(sock_in_use(), 0);
	/* Objects still come back after the storm. */
	for (int fd = 0; fd < STRESS_SIZE; fd++)
		sock_register(fd, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_in_use(), STRESS_SIZE);
}

#define T_EMPTY(fn) cmocka_unit_test_setup_teardown(fn, setup_empty, teardown)
#define T_TABLE(fn) cmocka_unit_test_setup_teardown(fn, setup_table, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_EMPTY(test_before_init),
		T_EMPTY(test_init_size),
		T_EMPTY(test_init_zero),
		T_EMPTY(test_init_idempotent),
		T_EMPTY(test_init_clamped),
		T_EMPTY(test_init_from_rlimit),
		T_EMPTY(test_exchange),
		T_EMPTY(test_destroy_and_reinit),
		T_EMPTY(test_init_many_threads),
		T_EMPTY(test_tracked_kind),
		T_TABLE(test_register_forget),
		T_TABLE(test_register_keeps_errno),
		T_TABLE(test_offloaded),
		T_EMPTY(test_register_without_table),
		T_TABLE(test_register_out_of_table),
		T_TABLE(test_register_over_stale),
		T_TABLE(test_close_mark),
		T_TABLE(test_close_then_dup_same_number),
		T_TABLE(test_close_then_new_socket),
		T_TABLE(test_register_over_stale_full_pool),
		T_TABLE(test_reuse_after_release),
		T_TABLE(test_dup_refcount),
		T_TABLE(test_dup_onto_tracked),
		T_TABLE(test_dup_from_untracked),
		T_TABLE(test_dup_out_of_table),
		T_TABLE(test_dup_onto_itself),
		T_TABLE(test_forget_range),
		T_TABLE(test_forget_range_shared),
		T_EMPTY(test_forget_range_without_table),
		T_TABLE(test_pool_reset),
		T_EMPTY(test_threads_own_fds),
		T_EMPTY(test_threads_shared_fds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
