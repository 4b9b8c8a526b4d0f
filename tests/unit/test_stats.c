/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests for the statistics segment (src/core/stats.c), reached through
 * the socket pool with real kernel sockets and a fresh directory per test;
 * the segment is read back from its file as accel-stat reads it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "proc_util.h"

#include "config/log.h"
#include "config/params.h"
#include "core/core.h"
#include "core/fd_table.h"
#include "core/libc.h"
#include "core/sock.h"
#include "core/stats.h"

/* What init.c and libc.c define in the library. */
struct accel_params accel_params;
int accel_params_loaded;

/* glibc declares these with a transparent-union address argument. */
static int plain_getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	return getsockname(fd, addr, len);
}

static int plain_getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	return getpeername(fd, addr, len);
}

struct libc_fns libc = {
	.read = read,
	.write = write,
	.close = close,
	.getsockname = plain_getsockname,
	.getpeername = plain_getpeername,
};

#define TABLE_SIZE 256
#define NSLOTS 8
#define MAX_FDS 16

/* This test's directory and the kernel sockets it opened (closed in teardown). */
static struct {
	char dir[128];
	char user_dir[192];
	int fds[MAX_FDS];
} t;

/* ---- a fake engine: fixed addresses, counts releases ---- */

static int fake_released;

static int fake_getname(struct accel_sock *s, int fd, int peer, struct sockaddr *addr,
			socklen_t *len)
{
	(void)s;
	(void)fd;
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(peer ? 0x0a090807 : 0x0a010203); /* 10.9.8.7, 10.1.2.3 */
	a.sin_port = htons(peer ? 5000 : 4000);
	if (*len < sizeof(a))
		return -EINVAL;
	memcpy(addr, &a, sizeof(a));
	*len = sizeof(a);
	return 0;
}

static void fake_release(struct accel_sock *s)
{
	(void)s;
	fake_released++;
}

static const struct engine_ops fake_ops = {
	.name = "fake",
	.getname = fake_getname,
	.release = fake_release,
};

/* ---- helpers ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void seg_path(pid_t pid, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%d" ACCEL_STATS_FILE_SUFFIX, t.user_dir, (int)pid);
}

/* A kernel socket of this type, registered as socket() would. */
static struct accel_sock *open_sock(int type, int *fdp)
{
	int fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0 && fd < TABLE_SIZE);
	int i = 0;
	while (i < MAX_FDS && t.fds[i] >= 0)
		i++;
	assert_true(i < MAX_FDS);
	t.fds[i] = fd;
	struct accel_sock *s = sock_register(fd, AF_INET, type, 0);
	assert_non_null(s);
	assert_ptr_equal(fd_table_get(fd), s);
	*fdp = fd;
	return s;
}

/* close(): the last reference goes, then the kernel fd. */
static void drop_sock(int fd)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (t.fds[i] == fd)
			t.fds[i] = -1;
	sock_forget(fd);
	close(fd);
}

/* The file mapped read-only, as a reader outside the process maps it; NULL on failure
 * (no cmocka asserts: the fork child uses it too). */
static void *map_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *p = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return NULL;
	*size = (size_t)st.st_size;
	return p;
}

struct view {
	const struct accel_stats_head *head;
	const struct accel_stats_sock *slots;
	size_t size;
};

static struct view view_open(pid_t pid)
{
	char path[PATH_MAX];
	seg_path(pid, path, sizeof(path));
	struct view v = { 0 };
	void *p = map_file(path, &v.size);
	assert_non_null(p);
	v.head = p;
	v.slots = (const struct accel_stats_sock *)(v.head + 1);
	assert_int_equal(v.size, sizeof(*v.head) + (size_t)v.head->nslots * sizeof(*v.slots));
	return v;
}

static void view_close(struct view *v)
{
	munmap((void *)v->head, v->size);
	v->head = NULL;
}

/* The slot in use that names fd, or -1. */
static int slot_of(const struct accel_stats_sock *slots, uint32_t high, int fd)
{
	for (uint32_t i = 0; i < high; i++)
		if (slots[i].in_use && slots[i].fd == fd)
			return (int)i;
	return -1;
}

static int view_slot(const struct view *v, int fd)
{
	return slot_of(v->slots, v->head->high, fd);
}

/* Field 22 of /proc/self/stat, read independently of stats.c. */
static unsigned long long proc_start_time(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strrchr(buf, ')');
	unsigned long long v = 0;
	/* After the name: fields 3 to 21, then 22. */
	if (!p || sscanf(p + 2, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
				"%*s %*s %*s %*s %llu", &v) != 1)
		return 0;
	return v;
}

static void proc_comm(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, (int)size, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
}

/* Entries in a directory other than . and .. (-1: cannot open it). */
static int dir_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The whole text of a file ("" if it does not exist), malloc'd; NULL on
 * failure (no cmocka asserts: the fork child uses it too). */
static char *slurp_raw(const char *path)
{
	char *buf = calloc(1, 8192);
	if (!buf)
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, 8191);
		close(fd);
		if (n < 0) {
			free(buf);
			return NULL;
		}
	}
	return buf;
}

static char *slurp(const char *path)
{
	char *buf = slurp_raw(path);
	assert_non_null(buf);
	return buf;
}

static int count_lines(const char *text)
{
	int n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	(void)state;
	params_defaults(&accel_params);
	snprintf(t.dir, sizeof(t.dir), "/tmp/test_stats.XXXXXX");
	if (!mkdtemp(t.dir))
		return -1;
	snprintf(accel_params.stats_shmem_dir, sizeof(accel_params.stats_shmem_dir), "%s", t.dir);
	snprintf(t.user_dir, sizeof(t.user_dir), "%s/" ACCEL_STATS_USER_DIR_PREFIX "%u", t.dir,
		 (unsigned int)geteuid());
	accel_params.stats_fd_num = NSLOTS;
	accel_params.stats_file[0] = 0;
	accel_params_loaded = 1;
	/* The refused-directory tests warn by design. */
	accel_log_level = ACCEL_LOG_ERROR;
	for (int i = 0; i < MAX_FDS; i++)
		t.fds[i] = -1;
	fake_released = 0;
	return fd_table_init_size(TABLE_SIZE);
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < MAX_FDS; i++)
		if (t.fds[i] >= 0)
			drop_sock(t.fds[i]);
	sock_forget_range(0, ~0u);
	/* The pool's objects point into the segment: both go, and the table
	 * that points into the pool. */
	stats_reset();
	sock_pool_reset();
	fd_table_destroy();
	accel_params_loaded = 0;
	accel_params.stats_file[0] = 0;
	return nftw(t.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- 1. the segment and its first slots ---- */

static void test_first_socket_makes_segment(void **state)
{
	(void)state;
	/* An epoll fd (type 0) is tracked but is no socket: no segment yet. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	assert_true(ep >= 0);
	struct accel_sock *e = sock_register(ep, AF_UNSPEC, 0, 0);
	assert_non_null(e);
	assert_ptr_equal(e->ctr, e->local_slot.counters);
	struct stat st;
	assert_int_equal(stat(t.user_dir, &st), -1);
	assert_int_equal(errno, ENOENT);

	uint64_t before = now_ns();
	int fd;
	struct accel_sock *s = open_sock(SOCK_STREAM, &fd);
	uint64_t after = now_ns();

	assert_int_equal(stat(t.user_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	char path[PATH_MAX];
	seg_path(getpid(), path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(dir_entries(t.user_dir), 1);

	struct view v = view_open(getpid());
	const struct accel_stats_head *h = v.head;
	assert_true(h->magic == ACCEL_STATS_MAGIC);
	assert_memory_equal(&h->magic, "AELCAST1", 8);
	assert_int_equal(h->version, ACCEL_STATS_VERSION);
	assert_int_equal(h->head_size, sizeof(struct accel_stats_head));
	assert_int_equal(h->slot_size, sizeof(struct accel_stats_sock));
	assert_int_equal(h->nslots, NSLOTS);
	assert_int_equal(h->flags, 0);
	assert_int_equal(h->pid, getpid());
	assert_int_equal(h->uid, geteuid());
	unsigned long long start = proc_start_time();
	assert_true(start > 0);
	assert_true(h->start_time == start);
	assert_true(h->created_ns >= before && h->created_ns <= after);
	char comm[sizeof(h->program)];
	proc_comm(comm, sizeof(comm));
	assert_string_equal(h->program, comm);
	assert_int_equal(h->high, 1);
	assert_int_equal(h->sockets, 1);
	assert_int_equal(h->offloaded, 0);
	assert_int_equal(h->unpublished, 0);

	const struct accel_stats_sock *a = &v.slots[0];
	assert_int_equal(a->in_use, 1);
	assert_int_equal(a->fd, fd);
	assert_int_equal(a->family, AF_INET);
	assert_int_equal(a->proto, IPPROTO_TCP);
	assert_int_equal(a->state, ACCEL_STATE_NONE);
	assert_int_equal(a->reason, ACCEL_REASON_undecided);
	assert_string_equal(a->engine, "kernel");
	assert_int_equal(a->seq % 2, 0);
	assert_true(a->seq > 0);
	assert_int_equal(v.slots[1].in_use, 0);

	/* The data path's counters are the file's. */
	assert_ptr_equal(s->ctr, s->slot->counters);
	assert_ptr_not_equal(s->slot, &s->local_slot);
	s->ctr[ACCEL_STAT_rx_bytes] = 42;
	assert_int_equal(a->counters[ACCEL_STAT_rx_bytes], 42);

	int ufd;
	struct accel_sock *u = open_sock(SOCK_DGRAM, &ufd);
	assert_int_equal(h->sockets, 2);
	assert_int_equal(h->high, 2);
	int i = view_slot(&v, ufd);
	assert_int_equal(i, 1);
	assert_int_equal(v.slots[i].proto, IPPROTO_UDP);
	assert_string_equal(v.slots[i].engine, "kernel");
	assert_int_equal(v.slots[i].seq % 2, 0);
	assert_ptr_equal(u->ctr, u->slot->counters);
	/* Still one segment for the process. */
	assert_int_equal(dir_entries(t.user_dir), 1);

	sock_forget(ep);
	close(ep);
	view_close(&v);
}

/* ---- 2. stats_sock_update ---- */

static void test_update_listener(void **state)
{
	(void)state;
	int fd;
	struct accel_sock *s = open_sock(SOCK_STREAM, &fd);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);

	struct view v = view_open(getpid());
	int i = view_slot(&v, fd);
	assert_true(i >= 0);
	const struct accel_stats_sock *slot = &v.slots[i];
	assert_true(slot->inode == 0);
	uint32_t seq = slot->seq;

	errno = EINPROGRESS;
	stats_sock_update(s, fd, ACCEL_STATE_LISTEN);
	assert_int_equal(errno, EINPROGRESS);
	assert_true(slot->inode == st.st_ino);
	assert_int_equal(slot->state, ACCEL_STATE_LISTEN);
	assert_int_equal(slot->fd, fd);
	assert_string_equal(slot->engine, "kernel");
	assert_int_equal(slot->reason, ACCEL_REASON_undecided);
	/* accel-stat reads a kernel socket's addresses in /proc/net by inode. */
	assert_int_equal(slot->local_port, 0);
	assert_int_equal(slot->seq, seq + 2);

	stats_sock_update(s, fd, STATS_STATE_KEEP);
	assert_int_equal(slot->state, ACCEL_STATE_LISTEN);
	assert_true(slot->inode == st.st_ino);
	assert_int_equal(slot->seq, seq + 4);

	stats_sock_state(s, ACCEL_STATE_CLOSE);
	assert_int_equal(slot->state, ACCEL_STATE_CLOSE);
	assert_int_equal(slot->seq % 2, 0);

	/* No fd: nothing to publish. */
	stats_sock_update(s, -1, ACCEL_STATE_LISTEN);
	assert_int_equal(slot->state, ACCEL_STATE_CLOSE);

	/* An engine's listener listens in the kernel too: its inode is
	 * published; once it is a connection, the fd is the engine's. */
	s->ops = &fake_ops;
	stats_sock_update(s, fd, ACCEL_STATE_LISTEN);
	assert_string_equal(slot->engine, "fake");
	assert_int_equal(slot->reason, ACCEL_REASON_none);
	assert_true(slot->inode == st.st_ino);
	assert_int_equal(slot->local_port, 4000);
	stats_sock_update(s, fd, ACCEL_STATE_ESTABLISHED);
	assert_true(slot->inode == 0);
	view_close(&v);
}

/* ---- 3. release and reuse ---- */

static void test_release_and_reuse(void **state)
{
	(void)state;
	int fa, fb, fc, fd, fe, ff;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	struct accel_sock *b = open_sock(SOCK_DGRAM, &fb);
	open_sock(SOCK_STREAM, &fc);
	struct view v = view_open(getpid());
	assert_int_equal(v.head->high, 3);
	assert_int_equal(view_slot(&v, fb), 1);
	b->ctr[ACCEL_STAT_tx_bytes] = 9;
	a->ctr[ACCEL_STAT_tx_bytes] = 3;

	drop_sock(fb);
	assert_int_equal(v.slots[1].in_use, 0);
	assert_int_equal(v.slots[1].fd, -1);
	assert_int_equal(v.slots[1].seq % 2, 0);
	assert_int_equal(v.head->high, 3);
	assert_int_equal(view_slot(&v, fa), 0);
	assert_int_equal(view_slot(&v, fc), 2);
	assert_int_equal(v.slots[0].counters[ACCEL_STAT_tx_bytes], 3);

	/* The lowest free slot, with its counters at zero again. */
	struct accel_sock *d = open_sock(SOCK_STREAM, &fd);
	assert_int_equal(view_slot(&v, fd), 1);
	assert_int_equal(v.slots[1].proto, IPPROTO_TCP);
	assert_int_equal(v.slots[1].counters[ACCEL_STAT_tx_bytes], 0);
	assert_int_equal(d->ctr[ACCEL_STAT_tx_bytes], 0);
	assert_int_equal(v.head->high, 3);
	assert_int_equal(v.head->sockets, 4);

	drop_sock(fa);
	drop_sock(fd);
	assert_int_equal(v.slots[0].in_use, 0);
	assert_int_equal(v.slots[1].in_use, 0);
	open_sock(SOCK_DGRAM, &fe);
	assert_int_equal(view_slot(&v, fe), 0);
	open_sock(SOCK_DGRAM, &ff);
	assert_int_equal(view_slot(&v, ff), 1);
	assert_int_equal(v.head->high, 3);
	int fg;
	open_sock(SOCK_DGRAM, &fg);
	assert_int_equal(view_slot(&v, fg), 3);
	assert_int_equal(v.head->high, 4);
	assert_int_equal(v.head->sockets, 7);
	view_close(&v);
}

/* ---- 4. a full segment ---- */

static void test_full_segment(void **state)
{
	(void)state;
	accel_params.stats_fd_num = 2;
	int fa, fb, fc;
	open_sock(SOCK_STREAM, &fa);
	open_sock(SOCK_STREAM, &fb);
	struct view v = view_open(getpid());
	assert_int_equal(v.head->nslots, 2);
	assert_int_equal(v.size, sizeof(struct accel_stats_head) + 2 * sizeof(struct accel_stats_sock));
	size_t slots_size = 2 * sizeof(struct accel_stats_sock);
	void *before = malloc(slots_size);
	assert_non_null(before);
	memcpy(before, v.slots, slots_size);

	struct accel_sock *c = open_sock(SOCK_DGRAM, &fc);
	assert_int_equal(v.head->unpublished, 1);
	assert_int_equal(v.head->sockets, 3); /* every tracked socket, with a slot or not */
	assert_int_equal(v.head->high, 2);
	/* It counts in its own object. */
	assert_ptr_equal(c->slot, &c->local_slot);
	assert_ptr_equal(c->ctr, c->local_slot.counters);
	assert_int_equal(c->local_slot.in_use, 1);
	assert_int_equal(c->local_slot.fd, fc);
	assert_int_equal(c->local_slot.proto, IPPROTO_UDP);
	assert_string_equal(c->local_slot.engine, "kernel");
	c->ctr[ACCEL_STAT_rx_bytes] += 5;
	c->ctr[ACCEL_STAT_rx_msgs]++;
	assert_int_equal(c->local_slot.counters[ACCEL_STAT_rx_bytes], 5);
	stats_sock_state(c, ACCEL_STATE_ESTABLISHED);
	assert_int_equal(c->local_slot.state, ACCEL_STATE_ESTABLISHED);
	stats_sock_update(c, fc, STATS_STATE_KEEP);
	assert_memory_equal(v.slots, before, slots_size);

	drop_sock(fc);
	assert_null(c->slot);
	assert_memory_equal(v.slots, before, slots_size);
	struct stat st;
	char path[PATH_MAX];
	seg_path(getpid(), path, sizeof(path));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)v.size);

	/* A slot given back is published again. */
	drop_sock(fa);
	int fd;
	struct accel_sock *d = open_sock(SOCK_STREAM, &fd);
	assert_int_equal(view_slot(&v, fd), 0);
	assert_ptr_not_equal(d->slot, &d->local_slot);
	assert_int_equal(v.head->sockets, 4);
	assert_int_equal(v.head->unpublished, 1);
	free(before);
	view_close(&v);
}

/* ---- 5. a directory libaccel must not use ---- */

/* DIR/libaccel-UID exists but is refused: sockets count locally, nothing is made. */
static void check_refused(const char *inside)
{
	int fa, fb;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	struct accel_sock *b = open_sock(SOCK_DGRAM, &fb);
	assert_ptr_equal(a->slot, &a->local_slot);
	assert_ptr_equal(a->ctr, a->local_slot.counters);
	assert_ptr_equal(b->ctr, b->local_slot.counters);
	a->ctr[ACCEL_STAT_tx_bytes] += 11;
	assert_int_equal(a->local_slot.counters[ACCEL_STAT_tx_bytes], 11);
	assert_int_equal(a->local_slot.fd, fa);
	assert_int_equal(b->local_slot.proto, IPPROTO_UDP);
	assert_int_equal(dir_entries(inside), 0);
	assert_int_equal(dir_entries(t.dir), 1 + (strcmp(inside, t.user_dir) != 0));
	drop_sock(fa);
	assert_null(a->slot);
	assert_int_equal(dir_entries(inside), 0);
}

static void test_refused_world_open(void **state)
{
	(void)state;
	assert_int_equal(mkdir(t.user_dir, 0700), 0);
	assert_int_equal(chmod(t.user_dir, 0777), 0);
	check_refused(t.user_dir);
	struct stat st;
	assert_int_equal(stat(t.user_dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0777); /* left as found */
}

static void test_refused_other_owner(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* only root can give a directory away */
	assert_int_equal(mkdir(t.user_dir, 0700), 0);
	assert_int_equal(chown(t.user_dir, 65534, 65534), 0);
	check_refused(t.user_dir);
}

static void test_refused_symlink(void **state)
{
	(void)state;
	char other[PATH_MAX];
	snprintf(other, sizeof(other), "%s/elsewhere", t.dir);
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(symlink("elsewhere", t.user_dir), 0);
	check_refused(other);
}

/* A directory that does not exist: said (a warning), not silently ignored,
 * and sockets work on. */
static void test_missing_dir(void **state)
{
	(void)state;
	char missing[PATH_MAX];
	snprintf(missing, sizeof(missing), "%s/no/such/dir", t.dir);
	snprintf(accel_params.stats_shmem_dir, sizeof(accel_params.stats_shmem_dir), "%s", missing);
	char log_path[PATH_MAX];
	snprintf(log_path, sizeof(log_path), "%s/log", t.dir);
	struct log_settings ls = { .level = ACCEL_LOG_WARN, .file = log_path };
	log_configure(&ls);
	int fd;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fd);
	assert_ptr_equal(a->slot, &a->local_slot);
	struct log_settings quiet = { .level = ACCEL_LOG_ERROR };
	log_configure(&quiet);
	char *text = slurp(log_path);
	assert_non_null(strstr(text, "ACCEL_STATS_SHMEM_DIR="));
	assert_non_null(strstr(text, "no statistics segment (No such file or directory)"));
	free(text);
	assert_int_equal(access(missing, F_OK), -1);
}

/* ---- 6. ACCEL_STATS_FILE ---- */

static void test_stats_file(void **state)
{
	(void)state;
	snprintf(accel_params.stats_file, sizeof(accel_params.stats_file), "%s/counters.%%d.txt",
		 t.dir);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/counters.%d.txt", t.dir, (int)getpid());

	/* Kernel sockets are not reported: the file is not even made. */
	int fk;
	open_sock(SOCK_STREAM, &fk);
	drop_sock(fk);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);

	int fd;
	struct accel_sock *s = open_sock(SOCK_STREAM, &fd);
	s->ops = &fake_ops;
	sock_attached(s);
	stats_sock_update(s, fd, ACCEL_STATE_ESTABLISHED);
	struct view v = view_open(getpid());
	assert_int_equal(v.head->offloaded, 1);
	int i = view_slot(&v, fd);
	assert_true(i >= 0);
	const struct accel_stats_sock *slot = &v.slots[i];
	assert_string_equal(slot->engine, "fake");
	assert_int_equal(slot->reason, ACCEL_REASON_none);
	assert_int_equal(slot->state, ACCEL_STATE_ESTABLISHED);
	assert_memory_equal(slot->local_addr, "\x0a\x01\x02\x03", 4);
	assert_memory_equal(slot->peer_addr, "\x0a\x09\x08\x07", 4);
	assert_int_equal(slot->local_port, 4000);
	assert_int_equal(slot->peer_port, 5000);
	assert_true(slot->inode == 0); /* the engine's fd is not the connection */

	s->ctr[ACCEL_STAT_rx_bytes] = 1234;
	s->ctr[ACCEL_STAT_rx_msgs] = 3;
	s->ctr[ACCEL_STAT_tx_bytes] = 99;
	s->ctr[ACCEL_STAT_tx_msgs] = 2;
	s->ctr[ACCEL_STAT_handovers] = 1;
	drop_sock(fd);
	assert_int_equal(fake_released, 1);
	assert_int_equal(slot->in_use, 0);

	char *text = slurp(path);
	char want[512];
	snprintf(want, sizeof(want),
		 "libaccel pid=%d fd=%d proto=tcp local=10.1.2.3:4000 foreign=10.9.8.7:5000 "
		 "engine=fake rx_bytes=1234 rx_msgs=3 rx_eagain=0 rx_eof=0 poll_hit=0 poll_miss=0 "
		 "tx_bytes=99 tx_msgs=2 tx_eagain=0 ",
		 (int)getpid(), fd);
	assert_int_equal(count_lines(text), 1);
	assert_memory_equal(text, want, strlen(want));
	assert_non_null(strstr(text, " handovers=1\n"));
	size_t len = strlen(text);
	assert_int_equal(text[len - 1], '\n');
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Another kernel socket adds nothing. */
	open_sock(SOCK_DGRAM, &fk);
	drop_sock(fk);
	char *again = slurp(path);
	assert_string_equal(again, text);
	free(again);
	free(text);
	view_close(&v);
}

/* ---- 7. process totals per reason ---- */

static void test_reasons(void **state)
{
	(void)state;
	int fa, fb, fc, fd, fe;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	struct accel_sock *b = open_sock(SOCK_STREAM, &fb);
	struct accel_sock *c = open_sock(SOCK_DGRAM, &fc);
	struct accel_sock *d = open_sock(SOCK_STREAM, &fd);
	struct accel_sock *e = open_sock(SOCK_STREAM, &fe);
	struct view v = view_open(getpid());

	stats_sock_reason(a, ACCEL_REASON_rule_os);
	stats_sock_reason(b, ACCEL_REASON_rule_os);
	stats_sock_reason(c, ACCEL_REASON_no_engine);
	stats_sock_reason(d, ACCEL_REASON_undecided);
	stats_sock_reason(e, ACCEL_REASON_none);

	const uint64_t *r = v.head->reasons;
	assert_int_equal(r[ACCEL_REASON_rule_os], 2);
	assert_int_equal(r[ACCEL_REASON_no_engine], 1);
	assert_int_equal(r[ACCEL_REASON_undecided], 0);
	assert_int_equal(r[ACCEL_REASON_none], 0);
	uint64_t sum = 0;
	for (int k = 0; k < ACCEL_STATS_MAX_REASONS; k++)
		sum += r[k];
	assert_int_equal(sum, 3);

	assert_int_equal(a->reason, ACCEL_REASON_rule_os);
	assert_int_equal(v.slots[view_slot(&v, fa)].reason, ACCEL_REASON_rule_os);
	assert_int_equal(v.slots[view_slot(&v, fc)].reason, ACCEL_REASON_no_engine);
	assert_int_equal(v.slots[view_slot(&v, fe)].reason, ACCEL_REASON_none);
	/* A later update publishes the socket's reason, not undecided. */
	stats_sock_update(a, fa, STATS_STATE_KEEP);
	assert_int_equal(v.slots[view_slot(&v, fa)].reason, ACCEL_REASON_rule_os);
	/* Totals count decisions, not sockets alive: a close keeps them. */
	drop_sock(fb);
	assert_int_equal(r[ACCEL_REASON_rule_os], 2);

	assert_string_equal(stats_reason_text(ACCEL_REASON_rule_os), "a rule says os");
	assert_string_equal(stats_reason_text(ACCEL_REASON_none), "");
	assert_string_equal(stats_reason_text(ACCEL_STATS_NREASONS), "");
	view_close(&v);
}

/* ---- 8. fork ---- */

/* In the child: nonzero names the first check that failed. */
static int child_checks(struct accel_sock *a, int fa, int fo, const unsigned char *before,
			size_t size)
{
	char path[PATH_MAX];
	seg_path(getpid(), path, sizeof(path));
	size_t csize;
	const struct accel_stats_head *h = map_file(path, &csize);
	if (!h)
		return 10;
	const struct accel_stats_sock *slots = (const void *)(h + 1);
	if (csize != size || h->magic != ACCEL_STATS_MAGIC || h->pid != getpid())
		return 11;
	if (h->start_time != proc_start_time())
		return 12;
	/* The slots are the parent's, as they were at the fork. */
	uint32_t high = ((const struct accel_stats_head *)(const void *)before)->high;
	if (h->high != high || memcmp(slots, before + sizeof(*h), high * sizeof(*slots)) != 0)
		return 13;
	a->ctr[ACCEL_STAT_rx_bytes] += 10;
	int i = slot_of(slots, h->high, fa);
	if (i < 0 || slots[i].counters[ACCEL_STAT_rx_bytes] != 15)
		return 14;
	/* The parent's file does not see the child's counting. */
	seg_path(getppid(), path, sizeof(path));
	size_t psize;
	const struct accel_stats_head *ph = map_file(path, &psize);
	if (!ph)
		return 15;
	const struct accel_stats_sock *pslots = (const void *)(ph + 1);
	if (ph->pid != getppid() || pslots[i].counters[ACCEL_STAT_rx_bytes] != 5)
		return 16;
	/* ACCEL_STATS_FILE's "%d" is this process, not the parent's open file. */
	sock_forget(fo);
	snprintf(path, sizeof(path), "%s/counters.%d.txt", t.dir, (int)getpid());
	char *text = slurp_raw(path);
	char want[64];
	snprintf(want, sizeof(want), "libaccel pid=%d fd=%d ", (int)getpid(), fo);
	int bad = !text || count_lines(text) != 1 || strncmp(text, want, strlen(want)) != 0;
	free(text);
	return bad ? 17 : 0;
}

static void test_fork(void **state)
{
	(void)state;
	snprintf(accel_params.stats_file, sizeof(accel_params.stats_file), "%s/counters.%%d.txt",
		 t.dir);
	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s/counters.%d.txt", t.dir, (int)getpid());
	int fa, fb, fo, fp;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	open_sock(SOCK_DGRAM, &fb);
	a->ctr[ACCEL_STAT_rx_bytes] = 5;
	/* The parent has written a line (its file is open) and holds another
	 * offloaded socket, which the child releases. */
	struct accel_sock *p = open_sock(SOCK_STREAM, &fp);
	p->ops = &fake_ops;
	drop_sock(fp);
	struct accel_sock *o = open_sock(SOCK_STREAM, &fo);
	o->ops = &fake_ops;
	char *parent_text = slurp(file);
	assert_int_equal(count_lines(parent_text), 1);
	struct view v = view_open(getpid());
	unsigned char *before = malloc(v.size);
	assert_non_null(before);
	memcpy(before, v.head, v.size);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		stats_after_fork_child();
		int rc = child_checks(a, fa, fo, before, v.size);
		/* Nothing left behind for valgrind to count against the child. */
		free(before);
		free(parent_text);
		_exit(rc);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* The parent's file is as it was; the child's counts are in its own. */
	assert_memory_equal(v.head, before, v.size);
	struct view cv = view_open(child);
	assert_int_equal(cv.head->pid, child);
	int i = view_slot(&cv, fa);
	assert_true(i >= 0);
	assert_int_equal(cv.slots[i].counters[ACCEL_STAT_rx_bytes], 15);
	assert_int_equal(dir_entries(t.user_dir), 2);
	char *text = slurp(file);
	assert_string_equal(text, parent_text);
	free(text);
	free(parent_text);
	/* And the parent goes on counting in its own. */
	a->ctr[ACCEL_STAT_rx_bytes]++;
	assert_int_equal(v.slots[view_slot(&v, fa)].counters[ACCEL_STAT_rx_bytes], 6);
	assert_int_equal(cv.slots[i].counters[ACCEL_STAT_rx_bytes], 15);
	free(before);
	view_close(&cv);
	view_close(&v);
}

/* ---- 9. exec ---- */

static void test_exec_failed(void **state)
{
	(void)state;
	int fa, fb, fc;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	open_sock(SOCK_DGRAM, &fb);
	a->ctr[ACCEL_STAT_tx_bytes] = 7;
	stats_sock_reason(a, ACCEL_REASON_rule_os);
	char path[PATH_MAX];
	seg_path(getpid(), path, sizeof(path));
	struct view old = view_open(getpid());

	stats_before_exec();
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	a->ctr[ACCEL_STAT_tx_bytes]++; /* the counters stay valid meanwhile */

	errno = ENOEXEC;
	stats_exec_failed();
	assert_int_equal(errno, ENOEXEC);
	struct view v = view_open(getpid());
	assert_true(v.head->magic == ACCEL_STATS_MAGIC);
	assert_int_equal(v.head->pid, getpid());
	assert_int_equal(v.head->nslots, NSLOTS);
	assert_int_equal(v.head->high, 2);
	assert_int_equal(v.head->sockets, 2);
	assert_int_equal(v.head->reasons[ACCEL_REASON_rule_os], 1);
	assert_memory_equal(v.slots, old.slots, 2 * sizeof(struct accel_stats_sock));
	assert_int_equal(v.slots[view_slot(&v, fa)].counters[ACCEL_STAT_tx_bytes], 8);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* From now on the new file is the one written. */
	a->ctr[ACCEL_STAT_tx_bytes]++;
	assert_int_equal(v.slots[view_slot(&v, fa)].counters[ACCEL_STAT_tx_bytes], 9);
	assert_int_equal(old.slots[view_slot(&old, fa)].counters[ACCEL_STAT_tx_bytes], 8);
	drop_sock(fb);
	assert_int_equal(v.slots[1].in_use, 0);
	open_sock(SOCK_STREAM, &fc);
	assert_int_equal(view_slot(&v, fc), 1);
	assert_int_equal(v.head->sockets, 3);
	view_close(&old);
	view_close(&v);
}

/* ---- 10. exit ---- */

static void test_exit(void **state)
{
	(void)state;
	snprintf(accel_params.stats_file, sizeof(accel_params.stats_file), "%s/at-exit.txt",
		 t.dir);
	char file[PATH_MAX];
	snprintf(file, sizeof(file), "%s/at-exit.txt", t.dir);
	int fa, fk;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	a->ops = &fake_ops;
	sock_attached(a);
	stats_sock_update(a, fa, ACCEL_STATE_ESTABLISHED);
	a->ctr[ACCEL_STAT_tx_msgs] = 4;
	open_sock(SOCK_STREAM, &fk);
	/* A second fd of the same socket: reported once. */
	int fdup = dup(fa);
	assert_true(fdup >= 0 && fdup < TABLE_SIZE);
	sock_dup(fa, fdup);
	char path[PATH_MAX];
	seg_path(getpid(), path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);

	stats_exit();
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	char *text = slurp(file);
	assert_int_equal(count_lines(text), 1);
	char want[64];
	snprintf(want, sizeof(want), " fd=%d ", fa);
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, " engine=fake "));
	assert_non_null(strstr(text, " tx_msgs=4 "));
	free(text);
	sock_forget(fdup);
	close(fdup);
}

/* ---- 11. a receive of 0 ---- */

static void test_rx_zero(void **state)
{
	(void)state;
	int fa, fb, fc;
	struct accel_sock *a = open_sock(SOCK_STREAM, &fa);
	struct accel_sock *b = open_sock(SOCK_STREAM, &fb);
	struct accel_sock *c = open_sock(SOCK_STREAM, &fc);
	struct view v = view_open(getpid());
	const struct accel_stats_sock *sa = &v.slots[view_slot(&v, fa)];
	const struct accel_stats_sock *sb = &v.slots[view_slot(&v, fb)];
	const struct accel_stats_sock *sc = &v.slots[view_slot(&v, fc)];
	stats_sock_state(a, ACCEL_STATE_ESTABLISHED);
	stats_sock_state(b, ACCEL_STATE_FIN_WAIT2);
	assert_int_equal(sa->state, ACCEL_STATE_ESTABLISHED);

	char buf[16];
	struct iovec none = { buf, 0 };
	struct iovec some[2] = { { buf, 0 }, { buf, sizeof(buf) } };
	struct msghdr empty = { .msg_iov = &none, .msg_iovlen = 1 };
	struct msghdr asked = { .msg_iov = some, .msg_iovlen = 2 };

	/* Nothing asked for: a zero-length read, not the end of the stream. */
	stats_rx_zero(a, &empty);
	stats_rx_zero(a, NULL);
	assert_int_equal(sa->counters[ACCEL_STAT_rx_eof], 0);
	assert_int_equal(sa->state, ACCEL_STATE_ESTABLISHED);

	stats_rx_zero(a, &asked);
	assert_int_equal(sa->counters[ACCEL_STAT_rx_eof], 1);
	assert_int_equal(sa->state, ACCEL_STATE_CLOSE_WAIT);
	assert_int_equal(sa->seq % 2, 0);
	stats_rx_zero(a, &asked);
	assert_int_equal(sa->counters[ACCEL_STAT_rx_eof], 2);
	assert_int_equal(sa->state, ACCEL_STATE_CLOSE_WAIT);

	/* We had shut down writing: now both directions are. */
	stats_rx_zero(b, &asked);
	assert_int_equal(sb->counters[ACCEL_STAT_rx_eof], 1);
	assert_int_equal(sb->state, ACCEL_STATE_CLOSE);

	/* Not connected: counted, the state left alone. */
	stats_rx_zero(c, &asked);
	assert_int_equal(sc->counters[ACCEL_STAT_rx_eof], 1);
	assert_int_equal(sc->state, ACCEL_STATE_NONE);
	view_close(&v);
}

/* ---- 12. segments of dead processes, removed by the next process ---- */

static void write_segment(pid_t pid, uint64_t pidns)
{
	char path[PATH_MAX];
	seg_path(pid, path, sizeof(path));
	struct accel_stats_head h = { .magic = ACCEL_STATS_MAGIC, .version = ACCEL_STATS_VERSION,
				       .head_size = sizeof(h), .pid = pid, .pidns = pidns };
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
}

static void test_sweep_dead(void **state)
{
	(void)state;
	struct stat ns;
	assert_int_equal(stat("/proc/self/ns/pid", &ns), 0);
	assert_int_equal(mkdir(t.user_dir, 0700), 0);
	pid_t gone = reaped_pid(), foreign = reaped_pid(), alive = getppid();
	write_segment(gone, ns.st_ino);
	write_segment(foreign, ns.st_ino + 1); /* another pid namespace: not ours to judge */
	write_segment(alive, ns.st_ino);
	int fd;
	open_sock(SOCK_STREAM, &fd);
	char path[PATH_MAX];
	seg_path(gone, path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	seg_path(foreign, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	seg_path(alive, path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
	seg_path(getpid(), path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_first_socket_makes_segment),
		T(test_update_listener),
		T(test_release_and_reuse),
		T(test_full_segment),
		T(test_refused_world_open),
		T(test_refused_other_owner),
		T(test_refused_symlink),
		T(test_missing_dir),
		T(test_stats_file),
		T(test_reasons),
		T(test_fork),
		T(test_exec_failed),
		T(test_exit),
		T(test_rx_zero),
		T(test_sweep_dead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
