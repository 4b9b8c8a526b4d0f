/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for accel-stat's reader and views (src/tools/accel_stat_*.c):
 * fake segments made with the layout header in a temporary directory (a
 * live one, a stale one, one of another version, a truncated one), slots
 * being changed, pairing, the kernel's view from a /proc/net file, rates,
 * filters, and the table and JSON output.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc_util.h"

#include "tools/accel_stat.h"

struct fixture {
	char dir[64];
};

/* A slot ready to publish: in use, seq even. */
static struct accel_stats_sock slot_make(int fd, int proto, int state, const char *engine,
					 const char *local, uint16_t lport, const char *peer,
					 uint16_t pport)
{
	struct accel_stats_sock s;
	memset(&s, 0, sizeof(s));
	s.seq = 2;
	s.in_use = 1;
	s.fd = fd;
	s.family = strchr(local, ':') ? AF_INET6 : AF_INET;
	s.proto = (uint8_t)proto;
	s.state = (uint8_t)state;
	snprintf(s.engine, sizeof(s.engine), "%s", engine);
	inet_pton(s.family, local, s.local_addr);
	inet_pton(s.family, peer, s.peer_addr);
	s.local_port = lport;
	s.peer_port = pport;
	return s;
}

static uint64_t own_start_time(void)
{
	char line[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	assert_true(n > 0);
	line[n] = '\0';
	char *p = strrchr(line, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	assert_non_null(p);
	return strtoull(p + 1, NULL, 10);
}

static uint64_t own_pidns(void)
{
	struct stat st;
	assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
	return (uint64_t)st.st_ino;
}

static void head_make(struct accel_stats_head *h, pid_t pid, uint32_t nslots, uint32_t high,
		      const char *program)
{
	memset(h, 0, sizeof(*h));
	h->magic = ACCEL_STATS_MAGIC;
	h->version = ACCEL_STATS_VERSION;
	h->head_size = sizeof(*h);
	h->slot_size = sizeof(struct accel_stats_sock);
	h->nslots = nslots;
	h->high = high;
	h->pid = pid;
	h->uid = (uint32_t)getuid();
	h->start_time = own_start_time();
	h->pidns = own_pidns();
	snprintf(h->program, sizeof(h->program), "%s", program);
}

static void path_of(const struct fixture *f, unsigned int uid, pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u/%d" ACCEL_STATS_FILE_SUFFIX,
		 f->dir, uid, (int)pid);
}

/* Write head, then nslots slots (the first n from slots, the rest free),
 * truncated to size bytes if size is not 0, as the segment of pid. */
static void segment_write_as(const struct fixture *f, unsigned int uid, pid_t pid,
			     const struct accel_stats_head *h,
			     const struct accel_stats_sock *slots, size_t n, size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u", f->dir, uid);
	mkdir(path, 0700);
	path_of(f, uid, pid, path, sizeof(path));
	size_t full = sizeof(*h) + (size_t)h->nslots * sizeof(*slots);
	unsigned char *buf = calloc(1, full);
	assert_non_null(buf);
	memcpy(buf, h, sizeof(*h));
	if (n)
		memcpy(buf + sizeof(*h), slots, n * sizeof(*slots));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	size_t len = size ? size : full;
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* The same, as the segment of the pid in its header. */
static void segment_write(const struct fixture *f, unsigned int uid,
			  const struct accel_stats_head *h, const struct accel_stats_sock *slots,
			  size_t n, size_t size)
{
	segment_write_as(f, uid, h->pid, h, slots, n, size);
}

static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		unlink(path);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		remove_tree(sub);
	}
	closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/accel-stat-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	remove_tree(f->dir);
	free(f);
	return 0;
}

enum { FD_A = 7, FD_ODD = 8, FD_B = 9, FD_UDP = 10, FD_ALONE = 11, FD_V6 = 12 };

/* This process's own, live segment: two shm sockets that are each
 * other's peer, a kernel UDP socket, one with no peer, one IPv6, a free
 * slot, one being changed, one being torn down (in use, fd -1) and one
 * taken but not filled yet (all zero). */
static void own_segment(const struct fixture *f, const char *program)
{
	struct accel_stats_sock s[9];
	s[0] = slot_make(FD_A, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 5000,
			 "127.0.0.1", 40000);
	s[0].counters[ACCEL_STAT_rx_bytes] = 200;
	s[0].counters[ACCEL_STAT_tx_bytes] = 1000;
	s[1] = slot_make(99, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "10.0.0.1", 1, "10.0.0.2",
			 2);
	s[1].in_use = 0; /* free */
	s[2] = slot_make(FD_ODD, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "10.0.0.1", 1,
			 "10.0.0.2", 2);
	s[2].seq = 5; /* a writer stopped mid-change */
	s[3] = slot_make(FD_B, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 40000,
			 "127.0.0.1", 5000);
	s[3].counters[ACCEL_STAT_rx_bytes] = 900;
	s[3].counters[ACCEL_STAT_tx_bytes] = 350;
	s[4] = slot_make(FD_UDP, IPPROTO_UDP, ACCEL_STATE_NONE, "kernel", "0.0.0.0", 5353,
			 "0.0.0.0", 0);
	s[4].reason = ACCEL_REASON_rule_os;
	s[4].inode = 4000000000u; /* in no /proc/net table */
	s[5] = slot_make(FD_ALONE, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 6000,
			 "127.0.0.1", 6001);
	s[6] = slot_make(FD_V6, IPPROTO_TCP, ACCEL_STATE_CLOSE_WAIT, "shm", "::1", 7000, "::1",
			 7001);
	s[7] = slot_make(FD_A, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "127.0.0.1", 5001,
			 "127.0.0.1", 40001);
	s[7].fd = -1;
	memset(&s[8], 0, sizeof(s[8]));
	s[8].in_use = 1;
	struct accel_stats_head h;
	head_make(&h, getpid(), 16, 9, program);
	h.sockets = 9;
	h.offloaded = 6;
	h.unpublished = 1;
	h.reasons[ACCEL_REASON_rule_os] = 2;
	h.reasons[ACCEL_REASON_no_peer] = 1;
	segment_write(f, (unsigned int)getuid(), &h, s, 9, 0);
}

static const struct astat_sock *by_fd(const struct astat_snapshot *snap, int fd)
{
	return astat_find(snap, getpid(), fd);
}

static void test_segments(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "server");
	char stale[256], older[256], reused[256], v2[256], v2gone[256], shortf[256], other[256];

	struct accel_stats_head h;
	head_make(&h, reaped_pid(), 4, 0, "gone");
	segment_write(f, 4241, &h, NULL, 0, 0);
	path_of(f, 4241, h.pid, stale, sizeof(stale));

	head_make(&h, reaped_pid(), 4, 0, "older"); /* a writer that says no namespace */
	h.pidns = 0;
	segment_write(f, 4241, &h, NULL, 0, 0);
	path_of(f, 4241, h.pid, older, sizeof(older));

	head_make(&h, getpid(), 4, 0, "reused"); /* same pid, started earlier */
	h.start_time -= 1;
	segment_write(f, 4242, &h, NULL, 0, 0);
	path_of(f, 4242, h.pid, reused, sizeof(reused));

	head_make(&h, getpid(), 4, 0, "newer"); /* alive: this very process */
	h.version = ACCEL_STATS_VERSION + 1;
	segment_write(f, 4243, &h, NULL, 0, 0);
	path_of(f, 4243, h.pid, v2, sizeof(v2));

	head_make(&h, reaped_pid(), 4, 0, "gone, other version");
	h.version = ACCEL_STATS_VERSION + 1;
	segment_write(f, 4243, &h, NULL, 0, 0);
	path_of(f, 4243, h.pid, v2gone, sizeof(v2gone));

	head_make(&h, getpid(), 4, 0, "short");
	segment_write(f, 4244, &h, NULL, 0, 100);
	path_of(f, 4244, h.pid, shortf, sizeof(shortf));

	snprintf(other, sizeof(other), "%s/" ACCEL_STATS_USER_DIR_PREFIX "4244/x.stat.tmp", f->dir);
	close(open(other, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));

	char *errtext = NULL;
	size_t errlen = 0;
	FILE *err = open_memstream(&errtext, &errlen);
	assert_non_null(err);
	struct astat_snapshot snap;
	assert_int_equal(astat_snapshot_read(&snap, f->dir, err), 0);
	fclose(err);

	/* Stale segments go; the others stay, reported. */
	assert_false(exists(stale));
	assert_false(exists(older));
	assert_false(exists(reused));
	assert_true(exists(v2));
	assert_false(exists(v2gone)); /* the identity is readable in any version */
	assert_true(exists(shortf));
	assert_true(exists(other));
	char want[512];
	snprintf(want, sizeof(want),
		 "accel-stat: %s: statistics segment version %d, this accel-stat reads version %d; "
		 "skipped\n",
		 v2, ACCEL_STATS_VERSION + 1, ACCEL_STATS_VERSION);
	assert_non_null(strstr(errtext, want));
	snprintf(want, sizeof(want), "accel-stat: %s: truncated", shortf);
	assert_non_null(strstr(errtext, want));
	assert_null(strstr(errtext, "x.stat.tmp"));
	free(errtext);

	/* One process; its slots in fd order, without the free one, the one
	 * being changed, the one on no descriptor and the one not filled. */
	assert_int_equal(snap.nprocs, 1);
	const struct astat_proc *p = &snap.procs[0];
	assert_int_equal(p->head.pid, getpid());
	assert_string_equal(p->head.program, "server");
	assert_int_equal(p->nsocks, 5);
	const int fds[] = { FD_A, FD_B, FD_UDP, FD_ALONE, FD_V6 };
	for (size_t i = 0; i < p->nsocks; i++) {
		assert_int_equal(p->socks[i].pub.fd, fds[i]);
		assert_ptr_equal(p->socks[i].proc, p);
	}
	assert_null(by_fd(&snap, FD_ODD));
	assert_null(by_fd(&snap, 99));

	/* The pair derives each other's queues. */
	const struct astat_sock *a = by_fd(&snap, FD_A), *b = by_fd(&snap, FD_B);
	assert_ptr_equal(a->peer, b);
	assert_ptr_equal(b->peer, a);
	assert_int_equal(a->recv_q, 350 - 200);
	assert_int_equal(a->send_q, 1000 - 900);
	assert_int_equal(b->recv_q, 1000 - 900);
	assert_int_equal(b->send_q, 350 - 200);
	/* No peer: unknown. The kernel's socket not in /proc/net: zero. */
	assert_int_equal(by_fd(&snap, FD_ALONE)->recv_q, -1);
	assert_null(by_fd(&snap, FD_ALONE)->peer);
	const struct astat_sock *u = by_fd(&snap, FD_UDP);
	assert_false(u->from_kernel);
	assert_int_equal(u->recv_q, 0);
	assert_int_equal(u->send_q, 0);
	astat_snapshot_free(&snap);

	/* A directory that is not there is an error. */
	snprintf(want, sizeof(want), "%s/none", f->dir);
	assert_int_equal(astat_snapshot_read(&snap, want, stderr), -ENOENT);
}

/* Everything the reader said on err about dir, NUL-terminated; free it. */
static char *read_dir(const struct fixture *f, struct astat_snapshot *snap)
{
	char *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len);
	assert_non_null(err);
	assert_int_equal(astat_snapshot_read(snap, f->dir, err), 0);
	fclose(err);
	return text;
}

/* A segment from another pid namespace (pid 1 of `unshare --pid --fork`):
 * its pid and start time mean nothing here, so it is shown and never
 * removed, whatever that pid is here. */
static void test_pidns(void **state)
{
	struct fixture *f = *state;
	struct accel_stats_sock s = slot_make(5, IPPROTO_TCP, ACCEL_STATE_LISTEN, "shm",
					      "0.0.0.0", 80, "0.0.0.0", 0);
	struct accel_stats_head h;
	char init[256], gone[256], ours[256];
	head_make(&h, 1, 4, 1, "container"); /* here, pid 1 started at another time */
	h.pidns = own_pidns() + 1;
	segment_write(f, 4250, &h, &s, 1, 0);
	path_of(f, 4250, 1, init, sizeof(init));
	assert_true(astat_head_alive(&h));

	head_make(&h, reaped_pid(), 4, 1, "container2"); /* a pid that is gone here */
	h.pidns = own_pidns() + 1;
	segment_write(f, 4250, &h, &s, 1, 0);
	path_of(f, 4250, h.pid, gone, sizeof(gone));

	head_make(&h, reaped_pid(), 4, 1, "dead"); /* of our namespace, gone: stale */
	segment_write(f, 4250, &h, &s, 1, 0);
	path_of(f, 4250, h.pid, ours, sizeof(ours));
	assert_false(astat_head_alive(&h));

	struct astat_snapshot snap;
	char *errtext = read_dir(f, &snap);
	assert_string_equal(errtext, "");
	free(errtext);
	assert_true(exists(init));
	assert_true(exists(gone));
	assert_false(exists(ours));
	assert_int_equal(snap.nprocs, 2);
	assert_int_equal(snap.procs[0].head.pid, 1);
	assert_string_equal(snap.procs[0].head.program, "container");
	assert_int_equal(snap.procs[0].nsocks, 1);
	assert_string_equal(snap.procs[1].head.program, "container2");
	astat_snapshot_free(&snap);
}

/* Set the modification time of path seconds back. */
static void age(const char *path, int seconds)
{
	struct timespec t[2];
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= seconds;
	t[1] = t[0];
	assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* A header not whole yet is skipped without a word and left alone: being
 * made (an empty file, magic 0), or a fork child's still holding its
 * parent's (a pid other than its name's); unless it has stayed so for
 * minutes and the pid of its name is gone (killed while making it). */
static void test_unfinished(void **state)
{
	struct fixture *f = *state;
	enum { FORK_CHILD, MISMATCH, MISMATCH_OLD, MAKING, MAKING_OLD, EMPTY, EMPTY_OLD,
	       MAKING_OLD_ALIVE, NCASES };
	static const int old[NCASES] = { [MISMATCH_OLD] = 1, [MAKING_OLD] = 1, [EMPTY_OLD] = 1,
					  [MAKING_OLD_ALIVE] = 1 };
	static const int removed[NCASES] = { [MISMATCH_OLD] = 1, [MAKING_OLD] = 1,
					      [EMPTY_OLD] = 1 };
	const unsigned int uid = 4260;
	char path[NCASES][256];
	struct accel_stats_head h, making;
	memset(&making, 0, sizeof(making)); /* magic 0: the rest is not written yet */
	making.nslots = 4;
	for (int c = 0; c < NCASES; c++) {
		pid_t pid = c == FORK_CHILD || c == MAKING_OLD_ALIVE ? getpid() : reaped_pid();
		path_of(f, uid, pid, path[c], sizeof(path[c]));
		if (c == FORK_CHILD)
			head_make(&h, getppid(), 4, 0, "parent");
		else
			head_make(&h, getpid(), 4, 0, "other");
		if (c == EMPTY || c == EMPTY_OLD)
			close(open(path[c], O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		else
			segment_write_as(f, uid, pid, c >= MAKING ? &making : &h, NULL, 0, 0);
		if (old[c])
			age(path[c], 300);
		if (c == FORK_CHILD) { /* our own pid's name is taken again below */
			struct astat_snapshot snap;
			char *errtext = read_dir(f, &snap);
			assert_string_equal(errtext, "");
			free(errtext);
			assert_int_equal(snap.nprocs, 0);
			assert_true(exists(path[c]));
			unlink(path[c]);
		}
	}
	struct astat_snapshot snap;
	char *errtext = read_dir(f, &snap);
	assert_string_equal(errtext, "");
	free(errtext);
	assert_int_equal(snap.nprocs, 0);
	for (int c = FORK_CHILD + 1; c < NCASES; c++)
		if (exists(path[c]) != !removed[c])
			fail_msg("case %d: %s %s", c, path[c],
				 removed[c] ? "left behind" : "removed");
	astat_snapshot_free(&snap);
}

/* The owner of a segment truncates it while it is read: the reader never
 * maps it, so it cannot die of SIGBUS; the segment is shown or not. */
static void test_truncated_meanwhile(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "shrinking");
	char path[256];
	path_of(f, (unsigned int)getuid(), getpid(), path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	static unsigned char whole[sizeof(struct accel_stats_head) +
				   16 * sizeof(struct accel_stats_sock)];
	assert_int_equal(pread(fd, whole, sizeof(whole), 0), (ssize_t)sizeof(whole));
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* Bounded, should the parent fail and not kill it. */
		for (time_t end = time(NULL) + 5; time(NULL) < end;) {
			if (ftruncate(fd, 0) < 0 ||
			    pwrite(fd, whole, sizeof(whole), 0) != (ssize_t)sizeof(whole))
				_exit(1);
		}
		_exit(0);
	}
	close(fd);
	FILE *null = fopen("/dev/null", "w");
	assert_non_null(null);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int shown = 0, reads = 0;
	do {
		struct astat_snapshot snap;
		assert_int_equal(astat_snapshot_read(&snap, f->dir, null), 0);
		assert_true(snap.nprocs <= 1);
		if (snap.nprocs) {
			assert_true(snap.procs[0].nsocks <= 5);
			shown++;
		}
		astat_snapshot_free(&snap);
		reads++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 1 && reads < 5000);
	fclose(null);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	print_message("%d reads, %d with the segment whole\n", reads, shown);
}

/* Slots that never settle (a writer killed mid-change, or a segment made
 * of them) cost bounded time: 65,536 of them took 4 s at 100 yields each. */
static void test_odd_slots(void **state)
{
	struct fixture *f = *state;
	enum { N = 65536 };
	struct accel_stats_sock *s = calloc(N, sizeof(*s));
	assert_non_null(s);
	for (int i = 0; i < N; i++) {
		s[i] = slot_make(3 + i, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "10.0.0.1",
				 1, "10.0.0.2", 2);
		s[i].seq = 7;
	}
	s[N - 1].seq = 8; /* one settled */
	struct accel_stats_head h;
	head_make(&h, getpid(), N, N, "odd");
	segment_write(f, (unsigned int)getuid(), &h, s, N, 0);
	free(s);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct astat_snapshot snap;
	assert_int_equal(astat_snapshot_read(&snap, f->dir, stderr), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("%d odd slots read in %.3f s\n", N - 1, seconds);
	assert_true(seconds < 2.0);
	assert_int_equal(snap.nprocs, 1);
	assert_int_equal(snap.procs[0].nsocks, 1);
	assert_int_equal(snap.procs[0].socks[0].slot, N - 1);
	astat_snapshot_free(&snap);
}

/* A stale segment is unlinked only if its name still holds the file judged:
 * the new owner of a reused pid may have made its own meanwhile. */
static void test_unlink_judged(void **state)
{
	struct fixture *f = *state;
	int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	int fd = openat(dfd, "7.stat", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	struct stat judged, now;
	assert_int_equal(fstat(fd, &judged), 0);
	close(fd);
	close(openat(dfd, "new", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	assert_int_equal(renameat(dfd, "new", dfd, "7.stat"), 0); /* judged is gone */
	assert_int_equal(astat_segment_unlink(dfd, "7.stat", &judged), -ESTALE);
	assert_int_equal(fstatat(dfd, "7.stat", &now, 0), 0);
	assert_int_equal(astat_segment_unlink(dfd, "7.stat", &now), 0);
	assert_int_equal(fstatat(dfd, "7.stat", &now, 0), -1);
	assert_int_equal(astat_segment_unlink(dfd, "7.stat", &now), -ENOENT);
	close(dfd);
}

static void test_start_time(void **state)
{
	(void)state;
	uint64_t t = 0;
	/* Fields 3 to 21, then 22 (123456): the name holds ") (" and spaces. */
	const char *line = "42 (a) (b c) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 123456 "
			   "20\n";
	assert_int_equal(astat_parse_start_time(line, &t), 0);
	assert_int_equal(t, 123456);
	assert_int_equal(astat_parse_start_time("42 (x) R 1 2\n", &t), -EINVAL);
	assert_int_equal(astat_parse_start_time("no name", &t), -EINVAL);
	assert_true(astat_proc_alive(getpid(), own_start_time()));
	assert_false(astat_proc_alive(getpid(), own_start_time() + 1));
	assert_false(astat_proc_alive(reaped_pid(), 0));
}

static void test_proc_net(void **state)
{
	struct fixture *f = *state;
	char path[256];
	snprintf(path, sizeof(path), "%s/tcp", f->dir);
	FILE *t = fopen(path, "w");
	assert_non_null(t);
	fputs("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	      "timeout inode\n"
	      "   0: 0100007F:1388 00000000:0000 0A 00000000:00000003 00:00000000 00000000     0   "
	      "     0 111 1 0000000000000000 100 0 0 10 0\n"
	      "   1: 0100007F:1389 0200007F:9C40 01 00000010:00000020 00:00000000 00000000  1000   "
	      "     0 222 1 0000000000000000 20 4 30 10 -1\n",
	      t);
	fclose(t);
	struct astat_sock s[3];
	struct accel_stats_sock pub;
	pub = slot_make(3, IPPROTO_TCP, ACCEL_STATE_LISTEN, "shm", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 111;
	memset(s, 0, sizeof(s));
	s[0].pub = pub;
	pub = slot_make(4, IPPROTO_TCP, ACCEL_STATE_NONE, "kernel", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 222;
	s[1].pub = pub;
	pub = slot_make(5, IPPROTO_TCP, ACCEL_STATE_ESTABLISHED, "shm", "0.0.0.0", 0, "0.0.0.0", 0);
	pub.inode = 222; /* an engine's connection: not the kernel's to show */
	s[2].pub = pub;
	s[0].recv_q = s[1].recv_q = s[2].recv_q = -1;
	assert_int_equal(astat_proc_net_apply(path, AF_INET, IPPROTO_TCP, s, 3), 0);

	char buf[64];
	assert_true(s[0].from_kernel);
	assert_int_equal(s[0].state, ACCEL_STATE_LISTEN);
	astat_endpoint_format(&s[0].local, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.1:5000");
	astat_endpoint_format(&s[0].foreign, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0:*");
	assert_int_equal(s[0].recv_q, 3);
	assert_true(s[1].from_kernel);
	assert_int_equal(s[1].state, ACCEL_STATE_ESTABLISHED);
	astat_endpoint_format(&s[1].foreign, buf, sizeof(buf));
	assert_string_equal(buf, "127.0.0.2:40000");
	assert_int_equal(s[1].recv_q, 0x20);
	assert_int_equal(s[1].send_q, 0x10);
	assert_false(s[2].from_kernel);
	assert_int_equal(s[2].recv_q, -1);

	/* IPv6: four 32-bit words, each in memory order. */
	snprintf(path, sizeof(path), "%s/udp6", f->dir);
	t = fopen(path, "w");
	assert_non_null(t);
	fputs("  sl  local_address                         remote_address                        "
	      "st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
	      "  5: 00000000000000000000000001000000:14E9 00000000000000000000000000000000:0000 07 "
	      "00000000:00000000 00:00000000 00000000     0        0 333 2 0000000000000000 0\n",
	      t);
	fclose(t);
	memset(s, 0, sizeof(s));
	s[0].pub = slot_make(6, IPPROTO_UDP, ACCEL_STATE_NONE, "kernel", "::", 0, "::", 0);
	s[0].pub.inode = 333;
	assert_int_equal(astat_proc_net_apply(path, AF_INET6, IPPROTO_UDP, s, 1), 0);
	assert_true(s[0].from_kernel);
	assert_int_equal(s[0].state, ACCEL_STATE_NONE); /* 07: not connected */
	astat_endpoint_format(&s[0].local, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:5353");
	assert_string_equal(astat_proto_name(&s[0]), "udp6");
}

/* Everything the stream wrote, NUL-terminated; free it. */
static char *render(void (*print)(FILE *, const struct astat_snapshot *, const struct astat_view *),
		    const struct astat_snapshot *snap, const struct astat_view *v)
{
	static char *text; /* static: it outlives the call; the caller frees it */
	static size_t len;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	print(out, snap, v);
	fclose(out);
	return text;
}

static void print_socket(FILE *out, const struct astat_snapshot *snap, const struct astat_view *v)
{
	assert_int_equal(astat_print_socket(out, snap, v), 0);
}

static void test_views(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "we\"ird\\prog\nname\x01\xff");
	struct astat_snapshot snap;
	assert_int_equal(astat_snapshot_read(&snap, f->dir, stderr), 0);
	struct astat_view v = { .filter = { .fd = -1 } };

	char *text = render(astat_print_table, &snap, &v);
	assert_non_null(strstr(text, "Proto  Recv-Q  Send-Q  Local Address"));
	assert_non_null(strstr(text, "127.0.0.1:5000   127.0.0.1:40000  ESTABLISHED  shm\n"));
	assert_non_null(strstr(text, "udp         0       0  0.0.0.0:5353     0.0.0.0:*"
				     "                     kernel (a rule says os)\n"));
	assert_non_null(strstr(text, "tcp         -       -  127.0.0.1:6000"));
	assert_non_null(strstr(text, "[::1]:7000"));
	assert_non_null(strstr(text, "CLOSE_WAIT"));
	free(text);

	/* -e: the program's name made printable. -c: no unconnected UDP. */
	v.extended = 1;
	v.filter.connected = 1;
	text = render(astat_print_table, &snap, &v);
	char want[128];
	snprintf(want, sizeof(want), "  %d:%d ", (int)getpid(), FD_A);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, "  we\"ird\\prog?name??  shm\n"));
	assert_null(strstr(text, ":5353"));
	free(text);

	/* -l -u: only the bound UDP socket. */
	memset(&v, 0, sizeof(v));
	v.filter.fd = -1;
	v.filter.listening = 1;
	v.filter.udp = 1;
	text = render(astat_print_table, &snap, &v);
	assert_non_null(strstr(text, ":5353"));
	assert_null(strstr(text, ":5000"));
	free(text);

	/* -T: totals and reasons. */
	memset(&v, 0, sizeof(v));
	v.filter.fd = -1;
	text = render(astat_print_totals, &snap, &v);
	assert_non_null(strstr(text, "rule_os=2 no_peer=1\n"));
	assert_non_null(strstr(text, "9          6            1     5  "));
	free(text);

	/* JSON: strings escaped, queues null when unknown. */
	text = render(astat_print_json, &snap, &v);
	assert_non_null(strstr(text, "\"program\":\"we\\\"ird\\\\prog\\nname\\u0001\\ufffd\""));
	assert_non_null(strstr(text, "\"tracked\":9,\"offloaded\":6,\"unpublished\":1"));
	assert_non_null(strstr(text, "\"rule_os\":2"));
	snprintf(want, sizeof(want), "\"fd\":%d,", FD_ALONE);
	char *alone = strstr(text, want);
	assert_non_null(alone);
	assert_non_null(strstr(alone, "\"recv_q\":null,\"send_q\":null"));
	assert_non_null(strstr(text, "\"recv_q\":150,\"send_q\":100"));
	assert_non_null(strstr(text, "\"reason\":\"rule_os\""));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
	free(text);

	/* -s PID:FD: every counter, with its doc. */
	v.filter.pid = getpid();
	v.filter.fd = FD_A;
	text = render(print_socket, &snap, &v);
	assert_non_null(strstr(text, "Engine      shm\n"));
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++) {
		assert_non_null(strstr(text, astat_counter_name(c)));
		assert_non_null(strstr(text, astat_counter_doc(c)));
	}
	free(text);
	v.filter.fd = 1000;
	FILE *null = fopen("/dev/null", "w");
	assert_int_equal(astat_print_socket(null, &snap, &v), -ENOENT);
	fclose(null);
	astat_snapshot_free(&snap);
}

static void test_json_string(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	astat_json_string(out, "caf\xc3\xa9 \xe2\x82\xac\t\x7f\xc3", SIZE_MAX);
	astat_json_string(out, "cut here", 3);
	fclose(out);
	assert_string_equal(text, "\"caf\xc3\xa9 \xe2\x82\xac\\t\\u007f\\ufffd\"\"cut\"");
	free(text);
}

static void test_rates(void **state)
{
	struct fixture *f = *state;
	own_segment(f, "rates");
	struct astat_snapshot prev, cur;
	assert_int_equal(astat_snapshot_read(&prev, f->dir, stderr), 0);
	assert_int_equal(astat_snapshot_read(&cur, f->dir, stderr), 0);
	cur.taken_ns = prev.taken_ns + 2000000000ull; /* two seconds later */
	struct astat_sock *a = (struct astat_sock *)by_fd(&cur, FD_A);
	a->pub.counters[ACCEL_STAT_tx_bytes] += 4000;
	a->pub.counters[ACCEL_STAT_tx_msgs] += 10;
	/* The same slot, another socket since: counts from zero. */
	struct astat_sock *b = (struct astat_sock *)by_fd(&cur, FD_B);
	b->pub.inode = 77;
	/* No inode (an engine's connection): other ports tell it. */
	struct astat_sock *was = (struct astat_sock *)astat_find(&prev, getpid(), FD_V6);
	was->pub.counters[ACCEL_STAT_rx_bytes] = 8;
	struct astat_sock *c = (struct astat_sock *)by_fd(&cur, FD_V6);
	c->pub.peer_port = 7002;
	c->pub.counters[ACCEL_STAT_rx_bytes] = 10;
	astat_snapshot_rates(&cur, &prev);
	assert_true(a->has_rates);
	assert_true(a->rates[ASTAT_RATE_OUT_BYTES] == 2000.0);
	assert_true(a->rates[ASTAT_RATE_OUT_MSGS] == 5.0);
	assert_true(a->rates[ASTAT_RATE_IN_BYTES] == 0.0);
	assert_true(b->rates[ASTAT_RATE_IN_BYTES] == 900 / 2.0);
	assert_true(c->rates[ASTAT_RATE_IN_BYTES] == 10 / 2.0);
	c->pub.peer_port = 7001; /* the same socket: since the last reading */
	astat_snapshot_rates(&cur, &prev);
	assert_true(c->rates[ASTAT_RATE_IN_BYTES] == (10 - 8) / 2.0);

	struct astat_view v = { .filter = { .fd = -1 }, .rates = 1, .interval = 2 };
	char *text = render(astat_print_table, &cur, &v);
	assert_non_null(strstr(text, "In msg/s  In B/s  Out msg/s  Out B/s  Engine"));
	assert_non_null(strstr(text, "0       0          5     2000  shm"));
	free(text);
	text = render(astat_print_json, &cur, &v);
	assert_non_null(strstr(text, "\"rates\":{\"in_msgs\":0.000,\"in_bytes\":0.000,"
				     "\"out_msgs\":5.000,\"out_bytes\":2000.000}"));
	free(text);
	astat_snapshot_free(&prev);
	astat_snapshot_free(&cur);
}

/* text with '-' as groff's "\-" */
static void man_escape(const char *text, char *buf, size_t size)
{
	size_t n = 0;
	for (; *text && n + 3 < size; text++) {
		if (*text == '-')
			buf[n++] = '\\';
		buf[n++] = *text;
	}
	buf[n] = '\0';
}

/* The man page lists every counter (in the order -s shows them) and reason
 * of the layout header, with the text the tool prints (run by make check,
 * which says where it is). */
static void test_man_page(void **state)
{
	(void)state;
	const char *src = getenv("LIBACCEL_SRCDIR");
	if (!src)
		skip();
	char path[512];
	snprintf(path, sizeof(path), "%s/man/accel-stat.1", src);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char page[65536];
	size_t len = fread(page, 1, sizeof(page) - 1, f);
	fclose(f);
	page[len] = '\0';
	char want[256], text[200];
	const char *after = page;
	for (unsigned int c = 0; c < ACCEL_STATS_NCOUNTERS; c++) {
		man_escape(astat_counter_doc(c), text, sizeof(text));
		snprintf(want, sizeof(want), "\n.B %s\n%s\n", astat_counter_name(c), text);
		const char *at = strstr(page, want);
		if (!at)
			fail_msg("man/accel-stat.1 lacks counter %s (\"%s\")",
				 astat_counter_name(c), astat_counter_doc(c));
		if (at < after)
			fail_msg("man/accel-stat.1 lists counter %s before %s", astat_counter_name(c),
				 astat_counter_name(c - 1));
		after = at;
	}
	for (unsigned int r = ACCEL_REASON_none + 1; r < ACCEL_STATS_NREASONS; r++) {
		man_escape(astat_reason_text(r), text, sizeof(text));
		snprintf(want, sizeof(want), "\n.B %s\n%s\n", astat_reason_name(r), text);
		if (!strstr(page, want))
			fail_msg("man/accel-stat.1 lacks reason %s (\"%s\")", astat_reason_name(r),
				 astat_reason_text(r));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_judged, setup, teardown),
		cmocka_unit_test(test_start_time),
		cmocka_unit_test_setup_teardown(test_proc_net, setup, teardown),
		cmocka_unit_test_setup_teardown(test_views, setup, teardown),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test_setup_teardown(test_rates, setup, teardown),
		cmocka_unit_test(test_man_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
