/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the shared-memory byte ring (src/hw/shm/ring.c): sizes,
 * wrap-around, partial writes, peek, reads of what the consumer saw,
 * accounting, flags, and a stream
 * between two processes checked byte for byte.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw/shm/ring.h"

static struct shm_ring *map_ring(uint32_t size)
{
	void *m = mmap(NULL, shm_ring_bytes(size), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(shm_ring_init(m, size), 0);
	return m;
}

/* A fresh ring of `size` bytes, with its producer's end and its consumer's. */
static struct shm_ring *map_pair(uint32_t size, struct shm_ring_end *p, struct shm_ring_end *c)
{
	struct shm_ring *m = map_ring(size);
	assert_int_equal(shm_ring_attach(p, m, shm_ring_bytes(size)), 0);
	assert_int_equal(shm_ring_attach(c, m, shm_ring_bytes(size)), 0);
	return m;
}

static void unmap_ring(struct shm_ring *r)
{
	munmap(r, shm_ring_bytes(r->size));
}

static void test_sizes(void **state)
{
	(void)state;
	struct shm_ring r;
	assert_int_equal(shm_ring_init(&r, 0), -EINVAL);
	assert_int_equal(shm_ring_init(&r, SHM_RING_MIN - 1), -EINVAL);
	assert_int_equal(shm_ring_init(&r, SHM_RING_MIN + 1), -EINVAL);
	assert_int_equal(shm_ring_init(&r, SHM_RING_MAX * 2u), -EINVAL);
	assert_int_equal(shm_ring_size_for(0), SHM_RING_MIN);
	assert_int_equal(shm_ring_size_for(SHM_RING_MIN + 1), SHM_RING_MIN * 2);
	assert_int_equal(shm_ring_size_for(65536), 65536);
	assert_int_equal(shm_ring_size_for((size_t)1 << 40), SHM_RING_MAX);
	struct shm_ring_end e;
	struct shm_ring *m = map_ring(SHM_RING_MIN);
	assert_int_equal(shm_ring_attach(&e, m, shm_ring_bytes(SHM_RING_MIN) - 1), -EINVAL);
	assert_int_equal(shm_ring_attach(&e, m, shm_ring_bytes(SHM_RING_MIN)), 0);
	m->magic = 0;
	assert_int_equal(shm_ring_attach(&e, m, shm_ring_bytes(SHM_RING_MIN)), -EINVAL);
	unmap_ring(m);
}

static void test_write_read_wrap(void **state)
{
	(void)state;
	const uint32_t size = SHM_RING_MIN;
	struct shm_ring_end p, c;
	struct shm_ring *m = map_pair(size, &p, &c);
	unsigned char out[3000], in[3000];
	uint8_t next = 0, want = 0;
	assert_int_equal(shm_ring_readable(&c), 0);
	assert_int_equal(shm_ring_writable(&p), size);
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(out); i++)
			out[i] = next++;
		struct iovec iov[2] = { { out, 1000 }, { out + 1000, 2000 } };
		assert_int_equal(shm_ring_write(&p, iov, 2), 3000);
		assert_int_equal(shm_ring_readable(&c), 3000);
		assert_int_equal(shm_ring_unread(&p), 3000);
		/* peek leaves the bytes in place */
		struct iovec pk = { in, 10 };
		assert_int_equal(shm_ring_read(&c, &pk, 1, 1), 10);
		assert_int_equal(in[0], want);
		assert_int_equal(shm_ring_readable(&c), 3000);
		struct iovec rd[3] = { { in, 7 }, { in + 7, 0 }, { in + 7, 2993 } };
		assert_int_equal(shm_ring_read(&c, rd, 3, 0), 3000);
		for (size_t i = 0; i < sizeof(in); i++)
			assert_int_equal(in[i], (uint8_t)(want + i));
		want = (uint8_t)(want + 3000);
		assert_int_equal(shm_ring_unread(&p), 0);
	}
	unmap_ring(m);
}

static void test_full_and_partial(void **state)
{
	(void)state;
	const uint32_t size = SHM_RING_MIN;
	struct shm_ring_end p, c;
	struct shm_ring *m = map_pair(size, &p, &c);
	static unsigned char big[3 * SHM_RING_MIN];
	memset(big, 0xab, sizeof(big));
	struct iovec iov = { big, sizeof(big) };
	assert_int_equal(shm_ring_write(&p, &iov, 1), size);   /* partial: ring full */
	assert_int_equal(shm_ring_writable(&p), 0);
	assert_int_equal(shm_ring_write(&p, &iov, 1), 0);      /* nothing fits */
	unsigned char in[100];
	struct iovec rd = { in, sizeof(in) };
	assert_int_equal(shm_ring_read(&c, &rd, 1, 0), 100);
	assert_int_equal(shm_ring_writable(&p), 100);           /* sees the consumer move */
	assert_int_equal(shm_ring_write(&p, &iov, 1), 100);
	struct iovec none = { NULL, 0 };
	assert_int_equal(shm_ring_write(&p, &none, 1), 0);
	assert_int_equal(shm_ring_read(&c, &none, 1, 0), 0);
	assert_int_equal(shm_ring_readable(&c), size);
	unmap_ring(m);
}

/* A peer that writes impossible counters gets nothing read or written
 * past the ring, and the end is marked broken. */
static void test_corrupt_counters(void **state)
{
	(void)state;
	const uint32_t size = SHM_RING_MIN;
	struct shm_ring_end p, c;
	struct shm_ring *m = map_pair(size, &p, &c);
	static unsigned char buf[4 * SHM_RING_MIN];
	struct iovec iov = { buf, sizeof(buf) };
	m->head = 3 * (uint64_t)size; /* the producer claims three rings' worth */
	assert_int_equal(shm_ring_read(&c, &iov, 1, 0), 0);
	assert_true(c.broken);
	m->head = 0;
	m->tail = 5 * (uint64_t)size; /* the consumer claims to have read ahead */
	assert_int_equal(shm_ring_write(&p, &iov, 1), 0);
	assert_true(p.broken);
	unmap_ring(m);
}

/* A read takes what the consumer last saw of the producer's counter, and
 * looks at the counter itself only when that is nothing; a peek and the
 * byte count (FIONREAD) look afresh, and what the count saw a read takes. */
static void test_reads_what_it_saw(void **state)
{
	(void)state;
	const uint32_t size = SHM_RING_MIN;
	struct shm_ring_end p, c;
	struct shm_ring *m = map_pair(size, &p, &c);
	unsigned char buf[1000], out[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)i;
	struct iovec w = { buf, 100 }, r = { out, sizeof(out) };
	assert_false(shm_ring_has_data(&c));
	assert_int_equal(shm_ring_write(&p, &w, 1), 100);
	assert_true(shm_ring_has_data(&c)); /* sees the first 100 */
	w.iov_base = buf + 100;
	w.iov_len = 50;
	assert_int_equal(shm_ring_write(&p, &w, 1), 50);
	assert_true(shm_ring_has_data(&c));
	assert_int_equal(shm_ring_read(&c, &r, 1, 0), 100); /* what it saw */
	assert_memory_equal(out, buf, 100);
	assert_true(shm_ring_has_data(&c)); /* nothing left seen: looks again */
	assert_int_equal(shm_ring_read(&c, &r, 1, 0), 50);
	assert_memory_equal(out, buf + 100, 50);
	assert_false(shm_ring_has_data(&c));
	/* A peek looks afresh, and a read then takes all it saw. */
	w.iov_len = 30;
	assert_int_equal(shm_ring_write(&p, &w, 1), 30);
	assert_true(shm_ring_has_data(&c));
	assert_int_equal(shm_ring_write(&p, &w, 1), 30);
	assert_int_equal(shm_ring_read(&c, &r, 1, 1), 60);
	assert_int_equal(shm_ring_read(&c, &r, 1, 0), 60);
	/* So does the byte count. */
	assert_int_equal(shm_ring_write(&p, &w, 1), 30);
	assert_true(shm_ring_has_data(&c));
	assert_int_equal(shm_ring_write(&p, &w, 1), 30);
	assert_int_equal(shm_ring_readable(&c), 60);
	assert_int_equal(shm_ring_read(&c, &r, 1, 0), 60);
	assert_int_equal(shm_ring_readable(&c), 0);
	unmap_ring(m);
}

static void test_flags(void **state)
{
	(void)state;
	struct shm_ring *m = map_ring(SHM_RING_MIN);
	assert_int_equal(shm_ring_flags(m), 0);
	shm_ring_set_flag(m, SHM_RING_EOF);
	shm_ring_set_flag(m, SHM_RING_SLEEPING);
	assert_int_equal(shm_ring_flags(m), SHM_RING_EOF | SHM_RING_SLEEPING);
	shm_ring_clear_flag(m, SHM_RING_SLEEPING);
	assert_int_equal(shm_ring_flags(m), SHM_RING_EOF);
	unmap_ring(m);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A child streams a pseudo-random byte sequence in random chunks; the
 * parent reads it back in other random chunks and checks every byte. */
static void test_two_processes(void **state)
{
	(void)state;
	const uint32_t size = 64 * 1024;
	const size_t total = 32u << 20;
	struct shm_ring *m = map_ring(size);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct shm_ring_end p;
		if (shm_ring_attach(&p, m, shm_ring_bytes(size)) < 0)
			_exit(2);
		static unsigned char buf[70000];
		uint64_t seq = 1, chunk = 7;
		size_t sent = 0;
		double deadline = now_s() + 60;
		while (sent < total) {
			size_t n = 1 + rnd(&chunk) % sizeof(buf);
			if (n > total - sent)
				n = total - sent;
			for (size_t i = 0; i < n; i++)
				buf[i] = (unsigned char)rnd(&seq);
			size_t off = 0;
			while (off < n) {
				struct iovec iov = { buf + off, n - off };
				size_t w = shm_ring_write(&p, &iov, 1);
				off += w;
				if (!w) {
					if (now_s() > deadline)
						_exit(3);
					sched_yield();
				}
			}
			sent += n;
		}
		shm_ring_set_flag(m, SHM_RING_EOF);
		_exit(0);
	}
	struct shm_ring_end c;
	assert_int_equal(shm_ring_attach(&c, m, shm_ring_bytes(size)), 0);
	static unsigned char buf[50000];
	uint64_t seq = 1, chunk = 99;
	size_t got = 0, bad = 0;
	double deadline = now_s() + 60;
	while (got < total && now_s() < deadline) {
		struct iovec iov = { buf, 1 + rnd(&chunk) % sizeof(buf) };
		size_t n = shm_ring_read(&c, &iov, 1, 0);
		if (!n) {
			sched_yield();
			continue;
		}
		for (size_t i = 0; i < n; i++)
			bad += buf[i] != (unsigned char)rnd(&seq);
		got += n;
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(got, total);
	assert_int_equal(bad, 0);
	assert_true(shm_ring_flags(m) & SHM_RING_EOF);
	assert_int_equal(shm_ring_readable(&c), 0);
	unmap_ring(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_write_read_wrap),
		cmocka_unit_test(test_full_and_partial),
		cmocka_unit_test(test_reads_what_it_saw),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_corrupt_counters),
		cmocka_unit_test(test_two_processes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
